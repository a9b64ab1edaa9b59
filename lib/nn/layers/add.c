/* add.c: element-wise sum of two tensors of one shape (residuals). */
#include "nn/layers/layers.h"
#include "nn/kernels/kernels.h"

#include <string.h>

static int add_shape(aoi_net *net, aoi_node *node, aoi_error *err)
{
	aoi_shape a = aoi_nn_in(net, node, 0)->out, b = aoi_nn_in(net, node, 1)->out;

	if (a.c != b.c || a.h != b.h || a.w != b.w)
		return aoi_nn_shape_error(err, net, node,
					  "cannot add %dx%dx%d to %dx%dx%d",
					  b.c, b.h, b.w, a.c, a.h, a.w);
	node->out = a;
	return 0;
}

static void add_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	const float *a = aoi_nn_in(net, node, 0)->y, *b = aoi_nn_in(net, node, 1)->y;
	size_t n = aoi_nn_numel(node->out);

	(void)training;
	(void)rng;
#pragma omp parallel for schedule(static) if (n > 1 << 17)
	for (size_t i = 0; i < n; i++)
		node->y[i] = a[i] + b[i];
}

static void add_backward(aoi_net *net, aoi_node *node, const aoi_bwd *b)
{
	size_t n = aoi_nn_numel(node->out);

	for (int j = 0; j < 2; j++)
		if (aoi_nn_dx_assign(b, j))
			memcpy(aoi_nn_in(net, node, j)->dy, node->dy, sizeof(float) * n);
		else if (aoi_nn_dx_wanted(b, j))
			aoi_nn_accumulate(aoi_nn_in(net, node, j)->dy, node->dy, n);
}

const aoi_layer_ops aoi_nn_add_ops = {
	.kind = "add",
	.shape = add_shape,
	.flops = aoi_nn_flops_numel,
	.forward = add_forward,
	.backward = add_backward,
	.assigns_dx = 1,
};

int aoi_net_add(aoi_net *net, int a, int b, aoi_error *err)
{
	return aoi_nn_add_node(net, &aoi_nn_add_ops, 2, (int[]){a, b}, NULL, 0, err);
}
