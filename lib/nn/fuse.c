/* fuse.c: nodes that run as one (see fuse.h): a batch norm and its
 * activation in training, a convolution with its batch norm and
 * activation in inference. It knows the layers it fuses; plan.c decides
 * when. */
#include "nn/fuse.h"
#include "nn/layers/layers.h"

#include <stdlib.h>

/* The single consumer of node id, or -1. */
static int only_consumer(const aoi_net *net, int id)
{
	if (net->nodes[id].consumers != 1 || aoi_nn_is_output(net, id))
		return -1;
	for (int i = id + 1; i < net->nnodes; i++)
		for (int j = 0; j < net->nodes[i].ninputs; j++)
			if (net->nodes[i].inputs[j] == id)
				return i;
	return -1;
}

static int fuse_conv(aoi_net *net, int id, aoi_error *err)
{
	aoi_node *conv = &net->nodes[id];
	int next = only_consumer(net, id);

	if (next >= 0 && net->nodes[next].ops == &aoi_nn_batchnorm_ops) {
		int c = conv->out.c;
		float *scale = malloc(sizeof(float) * 2 * c);
		int rc;

		if (!scale)
			return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		aoi_nn_batchnorm_affine(net, &net->nodes[next], scale, scale + c);
		rc = aoi_nn_conv_fold(net, conv, scale, scale + c, err);
		free(scale);
		if (rc < 0)
			return -1;
		net->nodes[next].fused_into = id;
		next = only_consumer(net, next);
	}
	if (next >= 0 && net->nodes[next].ops == &aoi_nn_activation_ops) {
		enum aoi_act act;
		float alpha;

		aoi_nn_activation_get(&net->nodes[next], &act, &alpha);
		if (aoi_nn_conv_set_act(conv, act, alpha) == 0)
			net->nodes[next].fused_into = id;
	}
	return 0;
}

/* Undo the training fusion (net not fused for inference). */
static void unfuse_training(aoi_net *net)
{
	for (int i = 0; i < net->nnodes; i++) {
		net->nodes[i].fused_into = -1;
		net->nodes[i].absorbs = -1;
	}
}

void aoi_nn_fuse_for_training(aoi_net *net)
{
	unfuse_training(net);
	for (int i = 1; i < net->nnodes; i++) {
		int next = net->nodes[i].ops == &aoi_nn_batchnorm_ops ? only_consumer(net, i) : -1;

		if (next >= 0 && net->nodes[next].ops == &aoi_nn_activation_ops) {
			net->nodes[next].fused_into = i;
			net->nodes[i].absorbs = next;
		}
	}
}

int aoi_nn_fuse_for_inference(aoi_net *net, aoi_error *err)
{
	/* the training layout no longer holds once this starts */
	unfuse_training(net);
	net->planned = 0;
	for (int i = 1; i < net->nnodes; i++)
		if (net->nodes[i].ops == &aoi_nn_conv_ops && net->nodes[i].fused_into < 0)
			if (fuse_conv(net, i, err) < 0)
				return -1;
	net->fused = 1;
	return 0;
}
