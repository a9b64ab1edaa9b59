/* softmax.c: softmax over the channels of every pixel (dim 1 of NCHW).
 * Backward: dx = y (dy - sum_c y dy). */
#include "nn/layers/layers.h"

#include <math.h>

static double softmax_flops(const aoi_net *net, const aoi_node *node)
{
	(void)net;
	return 4.0 * aoi_nn_numel(node->out);
}

/* One image: channels are planes of hw, so walk pixels in the inner loop. */
static void softmax_image(const float *x, float *y, int c, size_t hw)
{
	for (size_t i = 0; i < hw; i++) {
		float mx = x[i], sum = 0.0f;

		for (int k = 1; k < c; k++)
			mx = fmaxf(mx, x[k * hw + i]);
		for (int k = 0; k < c; k++) {
			float e = expf(x[k * hw + i] - mx);
			y[k * hw + i] = e;
			sum += e;
		}
		for (int k = 0; k < c; k++)
			y[k * hw + i] /= sum;
	}
}

static void softmax_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	aoi_shape s = node->out;
	size_t hw = (size_t)s.h * s.w, img = hw * s.c;
	const float *x = aoi_nn_in(net, node, 0)->y;

	(void)training;
	(void)rng;
#pragma omp parallel for schedule(static)
	for (int n = 0; n < s.n; n++)
		softmax_image(x + n * img, node->y + n * img, s.c, hw);
}

static void softmax_backward(aoi_net *net, aoi_node *node, const aoi_bwd *b)
{
	aoi_shape s = node->out;
	size_t hw = (size_t)s.h * s.w, img = hw * s.c;
	float *dx = aoi_nn_in(net, node, 0)->dy;

	if (!aoi_nn_dx_wanted(b, 0))
		return;
#pragma omp parallel for schedule(static)
	for (int n = 0; n < s.n; n++) {
		const float *y = node->y + n * img, *dy = node->dy + n * img;
		float *d = dx + n * img;

		for (size_t i = 0; i < hw; i++) {
			float dot = 0.0f;
			for (int k = 0; k < s.c; k++)
				dot += y[k * hw + i] * dy[k * hw + i];
			for (int k = 0; k < s.c; k++)
				d[k * hw + i] += y[k * hw + i] * (dy[k * hw + i] - dot);
		}
	}
}

const aoi_layer_ops aoi_nn_softmax_ops = {
	.kind = "softmax",
	.shape = aoi_nn_shape_as_input,
	.flops = softmax_flops,
	.forward = softmax_forward,
	.backward = softmax_backward,
};

int aoi_net_softmax(aoi_net *net, int in, aoi_error *err)
{
	return aoi_nn_add_node(net, &aoi_nn_softmax_ops, 1, &in, NULL, 0, err);
}
