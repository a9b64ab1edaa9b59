/* flatten.c: N x C x H x W to N x (C*H*W) x 1 x 1 in NCHW order, as
 * torch.flatten(x, 1) before a Linear. */
#include "nn/layers/layers.h"
#include "nn/kernels/kernels.h"

#include <string.h>

static int flatten_shape(aoi_net *net, aoi_node *node, aoi_error *err)
{
	aoi_shape in = aoi_nn_in(net, node, 0)->out;

	(void)err;
	node->out = (aoi_shape){in.n, in.c * in.h * in.w, 1, 1};
	return 0;
}

static void flatten_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	(void)training;
	(void)rng;
	memcpy(node->y, aoi_nn_in(net, node, 0)->y,
	       sizeof(float) * aoi_nn_numel(node->out));
}

static void flatten_backward(aoi_net *net, aoi_node *node, const aoi_bwd *b)
{
	if (aoi_nn_dx_wanted(b, 0))
		aoi_nn_accumulate(aoi_nn_in(net, node, 0)->dy, node->dy,
				  aoi_nn_numel(node->out));
}

const aoi_layer_ops aoi_nn_flatten_ops = {
	.kind = "flatten",
	.shape = flatten_shape,
	.forward = flatten_forward,
	.backward = flatten_backward,
};

int aoi_net_flatten(aoi_net *net, int in, aoi_error *err)
{
	return aoi_nn_add_node(net, &aoi_nn_flatten_ops, 1, &in, NULL, 0, err);
}
