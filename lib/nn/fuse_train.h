/* fuse_train.h: private to lib/nn. What the training passes add to
 * layer.h: which input gradients a backward call writes rather than adds
 * to, and the fusion of a batch norm and its
 * activation (run.c decides at plan time, on a net not fused for
 * inference): a batch norm whose only reader is an activation also applies
 * it, in place, and takes its gradient. The activation node is marked
 * fused_into the batch norm (as in inference fusion its output is the batch
 * norm's y; its dy stays its own) and does nothing; the batch norm's own dy
 * is then not needed (NULL). */
#ifndef AOI_NN_FUSE_TRAIN_H
#define AOI_NN_FUSE_TRAIN_H

#include "nn/layer.h"

void aoi_nn_fuse_for_training(aoi_net *net);
/* The activation node a batch norm computes, or -1 (set_act: -1 undoes). */
void aoi_nn_batchnorm_set_act(aoi_node *bn, int act);
int aoi_nn_batchnorm_act(const aoi_node *bn);

/* In a backward call, bit AOI_NN_ASSIGN_SHIFT + i of dx_mask says that
 * input i's gradient holds nothing yet: write it instead of adding (only
 * set for the layers run.c lists in assigns_dx, which write all of it). */
#define AOI_NN_ASSIGN_SHIFT 16

static inline int aoi_nn_dx_assign(const aoi_bwd *b, int i)
{
	return (b->dx_mask >> (AOI_NN_ASSIGN_SHIFT + i)) & 1u;
}

#endif
