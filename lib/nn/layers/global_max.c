/* global_max.c: the largest value of each channel over the whole plane
 * (PyTorch's AdaptiveMaxPool2d(1)); whatever the input size, the output
 * is N x C x 1 x 1. The position of each maximum (the first one met) is
 * kept for backward, which sends the gradient there alone. */
#include "nn/layers/layers.h"

#include <stdint.h>

static int global_max_shape(aoi_net *net, aoi_node *node, aoi_error *err)
{
	aoi_shape in = aoi_nn_in(net, node, 0)->out;

	(void)err;
	node->out = (aoi_shape){in.n, in.c, 1, 1};
	node->fixed = 1;
	return 0;
}

static size_t global_max_aux(const aoi_net *net, const aoi_node *node)
{
	(void)net;
	return (size_t)node->out.n * node->out.c; /* int32 positions */
}

static double global_max_flops(const aoi_net *net, const aoi_node *node)
{
	return (double)aoi_nn_numel(aoi_nn_in(net, node, 0)->out);
}

static void global_max_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	const aoi_node *in = aoi_nn_in(net, node, 0);
	size_t hw = (size_t)in->out.h * in->out.w;
	int32_t *idx = (int32_t *)node->aux;

	(void)training;
	(void)rng;
#pragma omp parallel for schedule(static)
	for (int pl = 0; pl < node->out.n * node->out.c; pl++) {
		const float *x = in->y + pl * hw;
		size_t best = 0;
		for (size_t i = 1; i < hw; i++)
			if (x[i] > x[best])
				best = i;
		node->y[pl] = x[best];
		idx[pl] = (int32_t)best;
	}
}

static void global_max_backward(aoi_net *net, aoi_node *node, const aoi_bwd *b)
{
	aoi_node *in = aoi_nn_in(net, node, 0);
	size_t hw = (size_t)in->out.h * in->out.w;
	const int32_t *idx = (const int32_t *)node->aux;

	if (!aoi_nn_dx_wanted(b, 0))
		return;
	for (int pl = 0; pl < node->out.n * node->out.c; pl++)
		in->dy[pl * hw + idx[pl]] += node->dy[pl];
}

const aoi_layer_ops aoi_nn_global_maxpool_ops = {
	.kind = "global_maxpool",
	.shape = global_max_shape,
	.aux_floats = global_max_aux,
	.flops = global_max_flops,
	.forward = global_max_forward,
	.backward = global_max_backward,
};

int aoi_net_global_maxpool(aoi_net *net, int in, aoi_error *err)
{
	return aoi_nn_add_node(net, &aoi_nn_global_maxpool_ops, 1, &in, NULL, 0, err);
}
