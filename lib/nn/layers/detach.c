/* detach.c: the input as it is, but no gradient flows back through it
 * (PyTorch's tensor.detach()): a head that reads a prediction of the net
 * learns from it without teaching the net to bend the prediction towards
 * what suits the head. Its table says stops_grad: backward (run.c) counts
 * nothing upstream of it as needing a gradient for its sake and never
 * calls its backward. */
#include "nn/layers/layers.h"

#include <string.h>

static void detach_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	(void)training;
	(void)rng;
	memcpy(node->y, aoi_nn_in(net, node, 0)->y, sizeof(float) * aoi_nn_numel(node->out));
}

static void detach_backward(aoi_net *net, aoi_node *node, const aoi_bwd *b)
{
	(void)net;
	(void)node;
	(void)b; /* the gradient stops here */
}

const aoi_layer_ops aoi_nn_detach_ops = {
	.kind = "detach",
	.shape = aoi_nn_shape_as_input,
	.forward = detach_forward,
	.backward = detach_backward,
	.stops_grad = 1,
};

int aoi_net_detach(aoi_net *net, int in, aoi_error *err)
{
	return aoi_nn_add_node(net, &aoi_nn_detach_ops, 1, &in, NULL, 0, err);
}
