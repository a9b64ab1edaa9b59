/* unpool.c: MaxUnpool2d with the indices of an earlier max pool: every
 * value goes back to where its max came from, the rest is zero. The output
 * has the pool's input size (MaxUnpool2d with output_size = that size, as
 * SegNet uses it). The pool node is kept as a second input for the
 * dependency; no gradient flows to it. */
#include "nn/layers/layers.h"

#include <stdint.h>
#include <string.h>

static int unpool_shape(aoi_net *net, aoi_node *node, aoi_error *err)
{
	const aoi_node *in = aoi_nn_in(net, node, 0), *pool = aoi_nn_in(net, node, 1);
	aoi_shape a = in->out, b = pool->out;

	if (a.c != b.c || a.h != b.h || a.w != b.w)
		return aoi_nn_shape_error(err, net, node,
					  "input %dx%dx%d does not match the pool's output %dx%dx%d",
					  a.c, a.h, a.w, b.c, b.h, b.w);
	node->out = aoi_nn_in(net, pool, 0)->out;
	node->out.n = a.n;
	return 0;
}

static void unpool_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	const aoi_node *in = aoi_nn_in(net, node, 0), *pool = aoi_nn_in(net, node, 1);
	size_t ihw = (size_t)in->out.h * in->out.w, ohw = (size_t)node->out.h * node->out.w;
	const int32_t *idx = (const int32_t *)pool->aux;

	(void)training;
	(void)rng;
#pragma omp parallel for schedule(static)
	for (int pl = 0; pl < node->out.n * node->out.c; pl++) {
		float *y = node->y + pl * ohw;
		memset(y, 0, sizeof(float) * ohw);
		for (size_t i = 0; i < ihw; i++)
			y[idx[pl * ihw + i]] = in->y[pl * ihw + i];
	}
}

static void unpool_backward(aoi_net *net, aoi_node *node, const aoi_bwd *b)
{
	aoi_node *in = aoi_nn_in(net, node, 0), *pool = aoi_nn_in(net, node, 1);
	size_t ihw = (size_t)in->out.h * in->out.w, ohw = (size_t)node->out.h * node->out.w;
	const int32_t *idx = (const int32_t *)pool->aux;

	if (!aoi_nn_dx_wanted(b, 0))
		return;
#pragma omp parallel for schedule(static)
	for (int pl = 0; pl < node->out.n * node->out.c; pl++)
		for (size_t i = 0; i < ihw; i++)
			in->dy[pl * ihw + i] += node->dy[pl * ohw + idx[pl * ihw + i]];
}

const aoi_layer_ops aoi_nn_maxunpool_ops = {
	.kind = "maxunpool",
	.shape = unpool_shape,
	.forward = unpool_forward,
	.backward = unpool_backward,
};

int aoi_net_maxunpool(aoi_net *net, int in, int pool_node, aoi_error *err)
{
	if (aoi_nn_check_input(net, in, err) < 0 ||
	    aoi_nn_check_input(net, pool_node, err) < 0)
		return -1;
	if (net->nodes[pool_node].ops != &aoi_nn_maxpool_ops)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "maxunpool: node %d is not a max pool", pool_node);
	return aoi_nn_add_node(net, &aoi_nn_maxunpool_ops, 2, (int[]){in, pool_node},
			       NULL, 0, err);
}
