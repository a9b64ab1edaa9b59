/* layers.h: private to lib/nn. What the layer files offer the files above
 * them (fuse.c, range.c) and one another: their tables, by which a node's
 * kind is known (node->ops == &aoi_nn_conv_ops), and the hooks of
 * inference fusion. The graph core (net.c) includes none of this. */
#ifndef AOI_NN_LAYERS_H
#define AOI_NN_LAYERS_H

#include "nn/layer.h"

extern const aoi_layer_ops aoi_nn_input_ops, aoi_nn_conv_ops,
	aoi_nn_conv_transpose_ops, aoi_nn_batchnorm_ops, aoi_nn_activation_ops,
	aoi_nn_softmax_ops, aoi_nn_maxpool_ops, aoi_nn_maxunpool_ops,
	aoi_nn_avgpool_ops, aoi_nn_adaptive_avgpool_ops, aoi_nn_upsample_ops,
	aoi_nn_concat_ops, aoi_nn_add_ops, aoi_nn_dense_ops, aoi_nn_dropout_ops,
	aoi_nn_flatten_ops, aoi_nn_global_maxpool_ops, aoi_nn_detach_ops;

/* An activation node's function (also read by a batch norm that applies
 * it in training). */
void aoi_nn_activation_get(const aoi_node *node, enum aoi_act *act, float *alpha);

/* Inference fusion: a batch norm as scale and shift per channel, folded
 * into the convolution before it; an activation in its epilogue
 * (set_act: -1 when it has one already). */
void aoi_nn_batchnorm_affine(const aoi_net *net, const aoi_node *bn,
			     float *scale, float *shift);
int aoi_nn_conv_fold(aoi_net *net, aoi_node *conv, const float *scale,
		     const float *shift, aoi_error *err);
int aoi_nn_conv_set_act(aoi_node *conv, enum aoi_act act, float alpha);

#endif
