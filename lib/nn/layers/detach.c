/* detach.c: the input as it is, but no gradient flows back through it
 * (PyTorch's tensor.detach()): a head that reads a prediction of the net
 * learns from it without teaching the net to bend the prediction towards
 * what suits the head. Backward (run.c) treats a detach as a node that
 * needs no gradient, so nothing upstream is reached through it. */
#include "nn/layer.h"

#include <string.h>

static int detach_shape(aoi_net *net, aoi_node *node, aoi_error *err)
{
	(void)err;
	node->out = aoi_nn_in(net, node, 0)->out;
	return 0;
}

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
	.shape = detach_shape,
	.forward = detach_forward,
	.backward = detach_backward,
};

int aoi_net_detach(aoi_net *net, int in, aoi_error *err)
{
	if (aoi_nn_check_input(net, in, err) < 0)
		return -1;
	return aoi_nn_add_node(net, AOI_LAYER_DETACH, 1, &in, NULL, err);
}
