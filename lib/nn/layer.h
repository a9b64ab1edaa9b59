/* layer.h: private to lib/nn. The net's internals and the table every layer
 * kind fills in: one file per kind (nn/conv.c, nn/pool.c, ...) with its
 * forward and backward side by side and its hyper-parameters in a struct
 * only that file knows (node->priv).
 *
 * Buffers: every node owns an output y and its gradient dy in the arena
 * that aoi_net_plan() allocates, plus `aux` floats for what its backward
 * needs (argmax indices, dropout mask, batch statistics). Scratch that
 * lives only during one call (im2col columns) comes from net->work. */
#ifndef AOI_NN_LAYER_H
#define AOI_NN_LAYER_H

#include <stddef.h>

#include "nn/net.h"

enum aoi_layer_kind {
	AOI_LAYER_INPUT,
	AOI_LAYER_CONV,
	AOI_LAYER_CONV_TRANSPOSE,
	AOI_LAYER_BATCHNORM,
	AOI_LAYER_ACTIVATION,
	AOI_LAYER_SOFTMAX,
	AOI_LAYER_MAXPOOL,
	AOI_LAYER_MAXUNPOOL,
	AOI_LAYER_AVGPOOL,
	AOI_LAYER_ADAPTIVE_AVGPOOL,
	AOI_LAYER_UPSAMPLE,
	AOI_LAYER_CONCAT,
	AOI_LAYER_ADD,
	AOI_LAYER_DENSE,
	AOI_LAYER_DROPOUT,
	AOI_LAYER_FLATTEN,
	AOI_LAYER_PAD,
	AOI_LAYER_COUNT
};

#define AOI_NN_MAX_INPUTS 8
#define AOI_NN_BLOCK_LEN 64

typedef struct aoi_node {
	int kind;
	int ninputs;
	int inputs[AOI_NN_MAX_INPUTS];
	char block[AOI_NN_BLOCK_LEN];
	aoi_shape out;
	int fixed;        /* spatial size does not depend on the input size */
	int first_tensor; /* its parameter tensors, -1 if none */
	int ntensors;
	size_t state_off; /* batch-norm running stats in net->state */
	void *priv;       /* the layer file's own struct */
	/* set at plan time */
	float *y, *dy, *aux;
	/* training bookkeeping, set by aoi_net_backward */
	int needs_grad;   /* dy is wanted: some trainable parameter is upstream */
	int ran_backward;
	int on_path;      /* downstream of the input (input gradient pass) */
	/* inference fusion: this node's work is done by `fused_into`, its
	 * output is that node's output */
	int fused_into;   /* -1 if not fused */
	int consumers;
	/* inference arena sharing (net.c) */
	int last_use;     /* the last node that reads y */
	size_t y_off;
} aoi_node;

struct aoi_net {
	int in_channels;
	int nominal_h, nominal_w; /* size used for shapes while building */
	int size_set;             /* aoi_net_set_input_size() was called */
	char block[AOI_NN_BLOCK_LEN];
	aoi_node *nodes;
	int nnodes, node_cap;
	int output;
	aoi_param_info *tensors;
	int ntensors, tensor_cap;
	float *params, *grads;
	size_t nparams, param_cap;
	float *state;
	size_t nstate, state_cap;
	int planned;
	int batch, height, width;
	float *arena;
	float *work;
	size_t work_floats;
	int threads;
	int exact_conv;       /* aoi_net_set_winograd(net, 0) */
	int fused;
	int last_training;    /* the last forward was in training mode */
	int backward_done;
	int input_grad_ready;
	double *profile; /* per-node seconds, forward then backward */
};

/* What a backward call should produce. */
typedef struct aoi_bwd {
	unsigned dx_mask; /* bit i: add the gradient of input i to its dy */
	unsigned pmask;   /* bit k: add the gradient of tensor k (not frozen) */
} aoi_bwd;

typedef struct aoi_layer_ops {
	const char *kind;
	/* node->out from the inputs' shapes (input shapes are set); error on a
	 * mismatch. */
	int (*shape)(aoi_net *net, aoi_node *node, aoi_error *err);
	size_t (*aux_floats)(const aoi_net *net, const aoi_node *node);
	size_t (*work_floats)(const aoi_net *net, const aoi_node *node);
	double (*flops)(const aoi_net *net, const aoi_node *node);
	void (*init)(aoi_net *net, aoi_node *node, aoi_rng *rng);
	void (*forward)(aoi_net *net, aoi_node *node, int training, aoi_rng *rng);
	void (*backward)(aoi_net *net, aoi_node *node, const aoi_bwd *b);
	/* name for introspection when it depends on the node ("relu6") */
	const char *(*name)(const aoi_node *node);
	void (*free_priv)(void *priv);
} aoi_layer_ops;

extern const aoi_layer_ops aoi_nn_input_ops, aoi_nn_conv_ops,
	aoi_nn_conv_transpose_ops, aoi_nn_batchnorm_ops, aoi_nn_activation_ops,
	aoi_nn_softmax_ops, aoi_nn_maxpool_ops, aoi_nn_maxunpool_ops,
	aoi_nn_avgpool_ops, aoi_nn_adaptive_avgpool_ops, aoi_nn_upsample_ops,
	aoi_nn_concat_ops, aoi_nn_add_ops, aoi_nn_dense_ops, aoi_nn_dropout_ops,
	aoi_nn_flatten_ops, aoi_nn_pad_ops;

const aoi_layer_ops *aoi_nn_ops(int kind);

/* Builder helpers for the layer files (net.c). */
int aoi_nn_add_node(aoi_net *net, int kind, int ninputs, const int *inputs,
		    void *priv, aoi_error *err);
/* Check an input node id before allocating a layer's private struct. */
int aoi_nn_check_input(const aoi_net *net, int in, aoi_error *err);
int aoi_nn_add_param(aoi_net *net, int node, const char *what, int ndim,
		     const int *shape, int decay, aoi_error *err);
int aoi_nn_add_state(aoi_net *net, int node, size_t count, aoi_error *err);
/* Node creation failed after priv was allocated: drop the node. */
int aoi_nn_fail_node(aoi_net *net, int node);
/* The threads the net runs on (aoi_net_set_threads, else all cores). */
int aoi_nn_threads(const aoi_net *net);

static inline aoi_node *aoi_nn_in(const aoi_net *net, const aoi_node *node, int i)
{
	return &net->nodes[node->inputs[i]];
}

static inline float *aoi_nn_param(const aoi_net *net, const aoi_node *node, int k)
{
	return net->params + net->tensors[node->first_tensor + k].offset;
}

static inline float *aoi_nn_grad(const aoi_net *net, const aoi_node *node, int k)
{
	return net->grads + net->tensors[node->first_tensor + k].offset;
}

static inline size_t aoi_nn_numel(aoi_shape s)
{
	return (size_t)s.n * s.c * s.h * s.w;
}

static inline int aoi_nn_dx_wanted(const aoi_bwd *b, int i)
{
	return (b->dx_mask >> i) & 1u;
}

static inline int aoi_nn_grad_wanted(const aoi_bwd *b, int k)
{
	return (b->pmask >> k) & 1u;
}

/* "node 3 (conv): " + the message, code AOI_ESHAPE. */
int aoi_nn_shape_error(aoi_error *err, const aoi_net *net, const aoi_node *node,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static inline int aoi_nn_id(const aoi_net *net, const aoi_node *node)
{
	return (int)(node - net->nodes);
}

/* Is node `id`'s only consumer a batch norm? (conv bias initialised 0) */
int aoi_nn_followed_by_bn(const aoi_net *net, int id);

/* Fusion hooks between layer files (used by aoi_net_fuse_for_inference). */
void aoi_nn_batchnorm_affine(const aoi_net *net, const aoi_node *bn,
			     float *scale, float *shift);
int aoi_nn_conv_fold(aoi_net *net, aoi_node *conv, const float *scale,
		     const float *shift, aoi_error *err);
int aoi_nn_conv_set_act(aoi_node *conv, enum aoi_act act, float alpha);
void aoi_nn_activation_get(const aoi_node *node, enum aoi_act *act, float *alpha);

#endif
