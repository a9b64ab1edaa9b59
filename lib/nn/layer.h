/* layer.h: private to lib/nn. The graph core (net.c) and the table every
 * layer kind fills in: one file per kind (nn/layers/conv.c, pool.c, ...)
 * with its forward and backward side by side and its hyper-parameters in
 * a struct only that file knows (node->priv). Each node points at its
 * kind's table; nothing here names a kind.
 *
 * Who uses whom inside lib/nn, one way: net.c (building, parameters, node
 * information, freezing) knows no layer; layers/ stand on it and on
 * kernels/; fuse.c (inference and training fusion) and range.c know the
 * layers they fuse or cut (layers/layers.h); plan.c stands on fuse.c;
 * run.c runs what plan.c laid out.
 *
 * Buffers: every node owns an output y and its gradient dy in the arena
 * that aoi_net_plan() allocates, plus `aux` floats for what its backward
 * needs (argmax indices, dropout mask, batch statistics). Scratch that
 * lives only during one call (im2col columns) comes from net->work. */
#ifndef AOI_NN_LAYER_H
#define AOI_NN_LAYER_H

#include <stddef.h>

#include "nn/net.h"

#define AOI_NN_MAX_INPUTS 8
#define AOI_NN_BLOCK_LEN 64

typedef struct aoi_layer_ops aoi_layer_ops;

typedef struct aoi_node {
	const aoi_layer_ops *ops; /* its kind */
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
	/* fusion (fuse.c): this node's work is done by `fused_into`, its
	 * output is that node's output */
	int fused_into;   /* -1 if not fused */
	/* training fusion: the reader whose work this node does too (a batch
	 * norm its activation); this node then takes the gradient at that
	 * reader's output and has no dy of its own */
	int absorbs;      /* -1 if none */
	int consumers;
	/* inference arena sharing (plan.c) */
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
	int extra[AOI_NET_MAX_OUTPUTS]; /* outputs 1.. (aoi_net_add_output) */
	int nextra;
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

/* In a backward call, bit AOI_NN_ASSIGN_SHIFT + i of dx_mask says that
 * input i's gradient holds nothing yet: write it instead of adding (only
 * set for kinds with assigns_dx, which write all of it). */
#define AOI_NN_ASSIGN_SHIFT 16

struct aoi_layer_ops {
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
	/* What the passes ask of a kind (0: no). assigns_dx: backward can
	 * write, not add, a whole input gradient (aoi_nn_dx_assign).
	 * normalizes: each channel is normalised over the batch, so a bias
	 * just before it cancels out (a conv bias read only by it starts at
	 * 0). stops_grad: no gradient flows back through the node (a
	 * detach), so nothing upstream needs one for its sake. */
	int assigns_dx;
	int normalizes;
	int stops_grad;
};

/* Builder helpers for the layer files (net.c). */
/* A net of only its input node (layers/input.c). */
aoi_net *aoi_nn_new_net(int in_channels, const aoi_layer_ops *input, aoi_error *err);
/* Add a node of kind ops; priv_size bytes at priv (the layer's struct)
 * are copied for it. Returns its id, or -1 (shape or argument error). */
int aoi_nn_add_node(aoi_net *net, const aoi_layer_ops *ops, int ninputs,
		    const int *inputs, const void *priv, size_t priv_size,
		    aoi_error *err);
/* Check an input node id (aoi_nn_add_node checks them too: a builder
 * calls this first when the input's error should come before those of
 * its other arguments). */
int aoi_nn_check_input(const aoi_net *net, int in, aoi_error *err);
int aoi_nn_add_param(aoi_net *net, int node, const char *what, int ndim,
		     const int *shape, int decay, aoi_error *err);
int aoi_nn_add_state(aoi_net *net, int node, size_t count, aoi_error *err);
/* A weight (decayed) of the given shape and, with nbias > 0, a bias of
 * nbias (not decayed) for node id (-1: nothing to do). Returns id, or -1
 * with the node dropped. */
int aoi_nn_add_weight_bias(aoi_net *net, int id, int ndim, const int *shape,
			   int nbias, aoi_error *err);
/* Initialise those: U(-bound, bound) weights, then the bias the same way
 * unless zero_bias. */
void aoi_nn_init_weight_bias(aoi_net *net, aoi_node *node, double bound,
			     int zero_bias, aoi_rng *rng);
/* The node just added failed (its parameters): drop it; returns -1. */
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

/* Where tensor k's gradient goes, or NULL when it is not wanted (or the
 * node has no tensor k). */
static inline float *aoi_nn_grad_if(const aoi_net *net, const aoi_node *node,
				    const aoi_bwd *b, int k)
{
	return aoi_nn_grad_wanted(b, k) ? aoi_nn_grad(net, node, k) : NULL;
}

static inline int aoi_nn_dx_assign(const aoi_bwd *b, int i)
{
	return (b->dx_mask >> (AOI_NN_ASSIGN_SHIFT + i)) & 1u;
}

/* "node 3 (conv): " + the message, code AOI_ESHAPE. */
int aoi_nn_shape_error(aoi_error *err, const aoi_net *net, const aoi_node *node,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static inline int aoi_nn_id(const aoi_net *net, const aoi_node *node)
{
	return (int)(node - net->nodes);
}

/* Is node id one of the net's outputs? The highest output node. */
int aoi_nn_is_output(const aoi_net *net, int id);
int aoi_nn_last_output(const aoi_net *net);

/* Is node `id` read only by a node that normalizes (a batch norm)? */
int aoi_nn_followed_by_norm(const aoi_net *net, int id);

/* Shared by the layer files' tables: the output has input 0's shape; one
 * FLOP per output value. */
int aoi_nn_shape_as_input(aoi_net *net, aoi_node *node, aoi_error *err);
double aoi_nn_flops_numel(const aoi_net *net, const aoi_node *node);

#endif
