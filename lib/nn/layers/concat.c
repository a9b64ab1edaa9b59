/* concat.c: concatenation along channels (torch.cat(dim=1)). */
#include "nn/layers/layers.h"
#include "nn/kernels/kernels.h"

#include <string.h>

static int concat_shape(aoi_net *net, aoi_node *node, aoi_error *err)
{
	aoi_shape first = aoi_nn_in(net, node, 0)->out, s = first;

	s.c = 0;
	for (int j = 0; j < node->ninputs; j++) {
		aoi_shape in = aoi_nn_in(net, node, j)->out;
		if (in.h != first.h || in.w != first.w)
			return aoi_nn_shape_error(err, net, node,
						  "input %d is %dx%d, input 0 is %dx%d",
						  j, in.w, in.h, first.w, first.h);
		s.c += in.c;
	}
	node->out = s;
	return 0;
}

static void concat_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	aoi_shape s = node->out;
	size_t hw = (size_t)s.h * s.w;

	(void)training;
	(void)rng;
	for (int n = 0; n < s.n; n++) {
		float *dst = node->y + (size_t)n * s.c * hw;
		for (int j = 0; j < node->ninputs; j++) {
			const aoi_node *in = aoi_nn_in(net, node, j);
			size_t len = (size_t)in->out.c * hw;
			memcpy(dst, in->y + n * len, sizeof(float) * len);
			dst += len;
		}
	}
}

static void concat_backward(aoi_net *net, aoi_node *node, const aoi_bwd *b)
{
	aoi_shape s = node->out;
	size_t hw = (size_t)s.h * s.w;

	for (int n = 0; n < s.n; n++) {
		const float *src = node->dy + (size_t)n * s.c * hw;
		for (int j = 0; j < node->ninputs; j++) {
			aoi_node *in = aoi_nn_in(net, node, j);
			size_t len = (size_t)in->out.c * hw;
			if (aoi_nn_dx_assign(b, j))
				memcpy(in->dy + n * len, src, sizeof(float) * len);
			else if (aoi_nn_dx_wanted(b, j))
				aoi_nn_accumulate(in->dy + n * len, src, len);
			src += len;
		}
	}
}

const aoi_layer_ops aoi_nn_concat_ops = {
	.kind = "concat",
	.shape = concat_shape,
	.forward = concat_forward,
	.backward = concat_backward,
	.assigns_dx = 1,
};

int aoi_net_concat(aoi_net *net, int count, const int *ins, aoi_error *err)
{
	if (count < 1 || count > AOI_NN_MAX_INPUTS)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "concat takes 1 to %d inputs, not %d",
				     AOI_NN_MAX_INPUTS, count);
	return aoi_nn_add_node(net, &aoi_nn_concat_ops, count, ins, NULL, 0, err);
}
