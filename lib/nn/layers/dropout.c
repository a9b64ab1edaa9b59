/* dropout.c: Dropout as PyTorch's: in training each value is kept with
 * probability 1 - p and scaled by 1 / (1 - p); in inference it passes
 * through. The mask (0 or the scale) is kept in aux for backward. */
#include "nn/layers/layers.h"

#include <string.h>

typedef struct dropout_priv {
	float p;
} dropout_priv;

static size_t dropout_aux(const aoi_net *net, const aoi_node *node)
{
	(void)net;
	return aoi_nn_numel(node->out);
}

static void dropout_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	const dropout_priv *d = node->priv;
	const float *x = aoi_nn_in(net, node, 0)->y;
	size_t n = aoi_nn_numel(node->out);
	float scale = d->p < 1.0f ? 1.0f / (1.0f - d->p) : 0.0f;

	if (!training || d->p <= 0.0f) {
		memcpy(node->y, x, sizeof(float) * n);
		for (size_t i = 0; i < n && training; i++)
			node->aux[i] = 1.0f;
		return;
	}
	/* one stream, drawn in order, so the same seed gives the same mask;
	 * the uniforms go into aux, which then becomes the mask */
	aoi_rng_uniform_floats(rng, node->aux, n);
	for (size_t i = 0; i < n; i++) {
		node->aux[i] = node->aux[i] >= d->p ? scale : 0.0f;
		node->y[i] = x[i] * node->aux[i];
	}
}

static void dropout_backward(aoi_net *net, aoi_node *node, const aoi_bwd *b)
{
	float *dx = aoi_nn_in(net, node, 0)->dy;
	size_t n = aoi_nn_numel(node->out);

	if (!aoi_nn_dx_wanted(b, 0))
		return;
	for (size_t i = 0; i < n; i++)
		dx[i] += node->dy[i] * node->aux[i];
}

const aoi_layer_ops aoi_nn_dropout_ops = {
	.kind = "dropout",
	.shape = aoi_nn_shape_as_input,
	.aux_floats = dropout_aux,
	.forward = dropout_forward,
	.backward = dropout_backward,
};

int aoi_net_dropout(aoi_net *net, int in, float p, aoi_error *err)
{
	dropout_priv d = {p};

	if (aoi_nn_check_input(net, in, err) < 0)
		return -1;
	if (!(p >= 0.0f && p < 1.0f))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "dropout probability %g is not in [0, 1)", p);
	return aoi_nn_add_node(net, &aoi_nn_dropout_ops, 1, &in, &d, sizeof d, err);
}
