/* fuse.h: private to lib/nn. Fusing neighbouring nodes (fuse.c), for
 * plan.c.
 *
 * Training (decided at every plan of a net not fused for inference): a
 * batch norm whose only reader is an activation also applies it, in
 * place, and takes its gradient: one pass over memory less each way, and
 * no gradient buffer between the two. The activation node is marked
 * fused_into the batch norm (its output is the batch norm's y; its dy
 * stays its own) and does nothing; the batch norm `absorbs` it and has no
 * dy of its own.
 *
 * Inference: a convolution takes in the batch norm that only it reads
 * (folded into its weights) and the activation after them (its
 * epilogue); the net is then fused for good. */
#ifndef AOI_NN_FUSE_H
#define AOI_NN_FUSE_H

#include "nn/layer.h"

void aoi_nn_fuse_for_training(aoi_net *net);
/* Undoes the training fusion and folds; net->fused is set and the net
 * needs a new plan. */
int aoi_nn_fuse_for_inference(aoi_net *net, aoi_error *err);

#endif
