/* activation.c: element-wise ReLU, ReLU6, leaky ReLU and sigmoid.
 * Backward uses only the output: ReLU and ReLU6 pass the gradient where the
 * output is strictly inside their linear part (as PyTorch's backward does),
 * sigmoid multiplies by y (1 - y). */
#include "nn/layers/layers.h"
#include "nn/kernels/kernels.h"

#include <string.h>

typedef struct act_priv {
	enum aoi_act act;
	float alpha;
} act_priv;

static const char *const act_names[AOI_ACT_COUNT] = {
	[AOI_ACT_NONE] = "identity",
	[AOI_ACT_RELU] = "relu",
	[AOI_ACT_RELU6] = "relu6",
	[AOI_ACT_LEAKY] = "leaky_relu",
	[AOI_ACT_SIGMOID] = "sigmoid",
};

static const char *act_name(const aoi_node *node)
{
	const act_priv *a = node->priv;
	return act_names[a->act];
}

static void act_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	const act_priv *a = node->priv;
	size_t n = aoi_nn_numel(node->out);

	(void)training;
	(void)rng;
	memcpy(node->y, aoi_nn_in(net, node, 0)->y, sizeof(float) * n);
	aoi_nn_act_forward(node->y, n, a->act, a->alpha);
}

static void act_backward(aoi_net *net, aoi_node *node, const aoi_bwd *b)
{
	const act_priv *a = node->priv;

	if (node->fused_into >= 0) /* its batch norm takes this gradient */
		return;
	if (aoi_nn_dx_wanted(b, 0))
		aoi_nn_act_backward(node->y, node->dy, aoi_nn_in(net, node, 0)->dy,
				    aoi_nn_numel(node->out), a->act, a->alpha);
}

const aoi_layer_ops aoi_nn_activation_ops = {
	.kind = "activation",
	.shape = aoi_nn_shape_as_input,
	.flops = aoi_nn_flops_numel,
	.forward = act_forward,
	.backward = act_backward,
	.name = act_name,
};

int aoi_net_activation(aoi_net *net, int in, enum aoi_act act, float alpha,
		       aoi_error *err)
{
	act_priv a = {act, alpha};

	if (aoi_nn_check_input(net, in, err) < 0)
		return -1;
	if ((int)act < 0 || act >= AOI_ACT_COUNT)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "unknown activation %d",
				     (int)act);
	return aoi_nn_add_node(net, &aoi_nn_activation_ops, 1, &in, &a, sizeof a, err);
}

void aoi_nn_activation_get(const aoi_node *node, enum aoi_act *act, float *alpha)
{
	const act_priv *a = node->priv;

	*act = a->act;
	*alpha = a->alpha;
}
