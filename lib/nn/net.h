/* net.h: a network as a graph of layers, built in code, run forward and
 * backward on NCHW float batches.
 *
 * Build: aoi_net_new(), then one call per layer; each returns its node id
 * (node 0 is the input) or -1 with err set (bad shape or argument). The
 * last node added is the output unless aoi_net_set_output() says otherwise.
 * Plan: aoi_net_plan() fixes batch and input size, works out every shape
 * and allocates the activation arena once; forward and backward then
 * allocate nothing.
 *
 * Parameters and their gradients live in two flat float arrays
 * (aoi_net_params(), aoi_net_grads()) that optimisers, checkpoints and
 * all-reduce walk as one vector; aoi_net_param_info() names each tensor in
 * them. Batch-norm running statistics live in a third array, the state,
 * saved with the model but not trained.
 *
 * Ownership: the net owns everything it returns; pointers stay valid until
 * the next aoi_net_plan() or aoi_net_free(). */
#ifndef AOI_NET_H
#define AOI_NET_H

#include <stddef.h>

#include "base/error.h"
#include "base/rng.h"

typedef struct aoi_net aoi_net;

typedef struct aoi_shape {
	int n, c, h, w;
} aoi_shape;

enum aoi_act {
	AOI_ACT_NONE,
	AOI_ACT_RELU,
	AOI_ACT_RELU6,
	AOI_ACT_LEAKY,   /* alpha = negative slope */
	AOI_ACT_SIGMOID,
	AOI_ACT_COUNT
};

aoi_net *aoi_net_new(int in_channels, aoi_error *err);
void aoi_net_free(aoi_net *net);

/* Nodes after this call belong to `block` ("encoder", "encoder.3",
 * "decoder.1", "head"): parameter names are "block/kind<node>.weight" and
 * freezing and transfer work by block prefix. */
void aoi_net_set_block(aoi_net *net, const char *block);

/* The input size the net is meant for, before adding layers. Shapes are
 * checked while building at this size (512x512 when not set) and again at
 * plan time. A dense layer whose input size depends on the image size (no
 * adaptive or global pool before it) needs it: it fixes the dense layer's
 * input features. */
int aoi_net_set_input_size(aoi_net *net, int height, int width, aoi_error *err);

int aoi_net_conv(aoi_net *net, int in, int out_channels, int kernel, int stride,
		 int pad, int dilation, int groups, int bias, aoi_error *err);
int aoi_net_conv_transpose(aoi_net *net, int in, int out_channels, int kernel,
			   int stride, int pad, int output_pad, int bias, aoi_error *err);
int aoi_net_batchnorm(aoi_net *net, int in, aoi_error *err); /* eps 1e-5, momentum 0.1 */
int aoi_net_activation(aoi_net *net, int in, enum aoi_act act, float alpha,
		       aoi_error *err);
int aoi_net_softmax(aoi_net *net, int in, aoi_error *err); /* over channels */
/* 2-D max pool that keeps argmax indices for aoi_net_maxunpool() */
int aoi_net_maxpool(aoi_net *net, int in, int kernel, int stride, int pad,
		    aoi_error *err);
int aoi_net_maxunpool(aoi_net *net, int in, int pool_node, aoi_error *err);
int aoi_net_avgpool(aoi_net *net, int in, int kernel, int stride, int pad,
		    aoi_error *err);
int aoi_net_global_avgpool(aoi_net *net, int in, aoi_error *err);
/* The largest value of each channel: N x C x 1 x 1 at any input size. */
int aoi_net_global_maxpool(aoi_net *net, int in, aoi_error *err);
/* The input unchanged, but no gradient flows back through it (a head that
 * reads a prediction without shaping it). */
int aoi_net_detach(aoi_net *net, int in, aoi_error *err);
int aoi_net_adaptive_avgpool(aoi_net *net, int in, int out_h, int out_w,
			     aoi_error *err);
/* factor x2, x4...; bilinear with align_corners = false (PyTorch default) */
int aoi_net_upsample(aoi_net *net, int in, int factor, int bilinear, aoi_error *err);
int aoi_net_concat(aoi_net *net, int count, const int *ins, aoi_error *err);
int aoi_net_add(aoi_net *net, int a, int b, aoi_error *err);
int aoi_net_dense(aoi_net *net, int in, int out_features, int bias, aoi_error *err);
int aoi_net_dropout(aoi_net *net, int in, float p, aoi_error *err);
int aoi_net_flatten(aoi_net *net, int in, aoi_error *err);
/* Constant padding: pads[4] = top, left, bottom, right (0 or more), the
 * new border filled with value (-INFINITY before a max pool). */
int aoi_net_pad(aoi_net *net, int in, const int pads[4], float value, aoi_error *err);
int aoi_net_set_output(aoi_net *net, int node, aoi_error *err);
/* More outputs (a segmentation's image decision beside its mask): output 0
 * is the one aoi_net_set_output() names, outputs 1, 2... are added here in
 * order. Forward computes them all; each can be read after it, and
 * aoi_net_backward_outputs() takes a gradient for each. Returns the new
 * output's number, or -1. */
#define AOI_NET_MAX_OUTPUTS 4
int aoi_net_add_output(aoi_net *net, int node, aoi_error *err);
int aoi_net_output_count(const aoi_net *net);
int aoi_net_output_node(const aoi_net *net, int k);
aoi_shape aoi_net_output_shape_at(const aoi_net *net, int k);
/* Output k of the last forward (owned by the net). */
const float *aoi_net_output_at(const aoi_net *net, int k);

/* Fix batch and input size; shapes are checked here (a dense layer after a
 * flatten needs the size it was built for). */
int aoi_net_plan(aoi_net *net, int batch, int height, int width, aoi_error *err);
aoi_shape aoi_net_input_shape(const aoi_net *net);
aoi_shape aoi_net_output_shape(const aoi_net *net);

/* Introspection, for aoi-bench --layers and pipeline stages. */
typedef struct aoi_node_info {
	const char *kind;  /* "conv", "batchnorm", "relu6", ... */
	const char *block;
	aoi_shape out;
	double flops;      /* per batch as planned, 2 per multiply-add */
	int ninputs;
	int inputs[8];
} aoi_node_info;
int aoi_net_node_count(const aoi_net *net);
int aoi_net_node_info(const aoi_net *net, int node, aoi_node_info *info);
/* aoi_net_forward() with each node timed: seconds[i] (aoi_net_node_count()
 * of them) gets node i's wall time, 0 for the input and for nodes fused
 * into the one before them (lib/nn/run.c). */
const float *aoi_net_forward_profile(aoi_net *net, const float *input, int training,
				     aoi_rng *rng, double *seconds, aoi_error *err);

/* Parameters. */
typedef struct aoi_param_info {
	char name[96];
	size_t offset, count; /* in aoi_net_params() */
	int ndim, shape[4];   /* conv: out, in/groups, kh, kw; dense: out, in */
	int node;
	int decay;            /* weights yes; biases and batch-norm no */
	int frozen;
} aoi_param_info;

size_t aoi_net_param_count(const aoi_net *net);
float *aoi_net_params(aoi_net *net);
float *aoi_net_grads(aoi_net *net);
int aoi_net_param_tensors(const aoi_net *net);
const aoi_param_info *aoi_net_param_info(const aoi_net *net, int i);
float *aoi_net_state(aoi_net *net, size_t *count); /* batch-norm running stats */
void aoi_net_zero_grads(aoi_net *net);
/* Kaiming-uniform weights as PyTorch initialises them, biases 0 for conv
 * followed by batch norm, batch norm gamma 1 beta 0. */
void aoi_net_init_params(aoi_net *net, aoi_rng *rng);
/* Freeze (1) or unfreeze (0) parameters whose block starts with prefix
 * ("" = all); returns how many tensors changed. */
int aoi_net_freeze_block(aoi_net *net, const char *prefix, int frozen);
int aoi_net_freeze_nodes(aoi_net *net, int first, int last, int frozen);

/* Run. input is batch x C x H x W as planned. training = 1 uses batch
 * statistics and dropout (drawing from rng) and keeps what backward
 * needs. Returns the output (owned by the net) or NULL. */
const float *aoi_net_forward(aoi_net *net, const float *input, int training,
			     aoi_rng *rng, aoi_error *err);
/* dout: gradient of the loss w.r.t. the output. Gradients of unfrozen
 * parameters are ADDED to aoi_net_grads(). */
int aoi_net_backward(aoi_net *net, const float *dout, aoi_error *err);
/* The same with a gradient for each output (douts[k] for output k; NULL
 * for one that the loss does not reach). */
int aoi_net_backward_outputs(aoi_net *net, const float *const *douts, aoi_error *err);
/* Gradient w.r.t. the input after backward (for gradient checks). Worked
 * out on the first call after aoi_net_backward(), which skips the part of
 * the graph where nothing trains; NULL before a backward. */
const float *aoi_net_input_grad(const aoi_net *net);

/* Momentum of every batch norm's running statistics from the next
 * training forward on: running = (1 - m) running + m batch.
 * AOI_BN_MOMENTUM (PyTorch's) unless set; 1 / t at step t averages the
 * first t batches alike. */
#define AOI_BN_MOMENTUM 0.1
void aoi_net_set_bn_momentum(aoi_net *net, double momentum);

/* Inference only from here on: fold batch norm into the convolution before
 * it and fuse activations into it; wide 3x3 convolutions then run by
 * Winograd F(2x2,3x3), and nodes' outputs share memory by lifetime (only
 * the output's stays; aoi_net_set_output() plans again). Training calls
 * fail after this. */
int aoi_net_fuse_for_inference(aoi_net *net, aoi_error *err);

/* ---- Part of the net: pipeline stages (lib/nn/range.c) ----
 * A cut p (1 <= p < aoi_net_node_count()) splits the net before node p:
 * nodes 0..p-1 on one side, p.. on the other. Every tensor made before p
 * that a node from p on reads crosses the cut (with skip connections,
 * several): outputs, and the argmax indices of a max pool that an unpool
 * after the cut reads; the net's output too when it comes before p.
 * A cut cannot fall inside a group aoi_net_fuse_for_inference() merged
 * (before a batch norm or activation folded into the convolution before
 * it): such groups run as one node. */
#define AOI_NET_MAX_LIVE 32

typedef struct aoi_live_tensor {
	int node;
	int indices;      /* 1: the max pool's int32 argmax indices; 0: its output */
	aoi_shape shape;  /* as planned, n = the batch */
	size_t per_row;   /* 4-byte values per batch row: c * h * w */
} aoi_live_tensor;

int aoi_net_cut_valid(const aoi_net *net, int p);
/* The tensors crossing cut p, by node, into live[max]: their count, or -1
 * (p not a valid cut, more than max tensors, or the net not planned). */
int aoi_net_cut_live(const aoi_net *net, int p, aoi_live_tensor *live, int max,
		     aoi_error *err);
/* Where a crossing tensor lives in the planned net's arena: batch x
 * per_row values (float, or int32 for indices); stage code reads it after
 * running up to the cut and fills it before running from the cut. */
void *aoi_net_live_data(aoi_net *net, const aoi_live_tensor *t);
/* The output of `node` (c x h x w per batch row, as aoi_net_node_info()
 * gives), read where the net keeps it: the node's own buffer, or that of
 * the node it was fused into. After aoi_net_forward_range() up to
 * node + 1 it holds this run's values (later nodes may reuse the memory
 * of a fused net). NULL when the net is not planned or node is out of
 * range. Feature taps of anomaly models read it (lib/anomaly). */
const float *aoi_net_node_output(aoi_net *net, int node);
/* Inference (training off) of nodes first..end-1 only. first = 0 copies
 * input into the input node; otherwise input is ignored and the tensors
 * crossing cut `first` must have been filled. Nodes from `end` on are not
 * touched. Returns the output's buffer (meaningful once the range has
 * reached the output) or NULL. Running 0..p then p..n equals
 * aoi_net_forward(), bit for bit, for any valid cut p. */
const float *aoi_net_forward_range(aoi_net *net, const float *input, int first,
				   int end, aoi_error *err);
/* Cut the net into `stages` node ranges of about equal cost at valid
 * cuts: bounds[0] = 0 < bounds[1] < ... < bounds[stages] = node count;
 * stage k (0-based) runs nodes bounds[k]..bounds[k+1]-1. node_cost[i] is
 * node i's cost (measured seconds, say); NULL: its FLOPs. stage_cost (may
 * be NULL) gets each stage's total. Fails when there are fewer valid cuts
 * than stages - 1. */
int aoi_net_stage_bounds(const aoi_net *net, int stages, const double *node_cost,
			 int *bounds, double *stage_cost, aoi_error *err);
/* The split behind it, on any costs: n items of cost[0..n-1] (>= 0) into
 * `stages` contiguous non-empty runs so that the most expensive run costs
 * as little as possible. cuts[k] (k < stages - 1) is the first item of run
 * k + 1; run_cost (may be NULL) gets each run's total. Among the splits
 * with the best bottleneck it takes the most even one (least sum of
 * squared costs), then the one with the last cut earliest (then the one
 * before it, and so on). Needs 1 <= stages <= n. */
int aoi_net_split_costs(const double *cost, int n, int stages, int *cuts,
			double *run_cost, aoi_error *err);

/* Profiling (aoi-bench --layers): while times is not NULL, forward ADDS
 * each node's wall-clock seconds to times[node] and backward to
 * times[aoi_net_node_count() + node]; times holds twice the node count. */
void aoi_net_set_profile(aoi_net *net, double *times);

/* Threads for this net's kernels and OpenBLAS (0 = all cores); forward and
 * backward set the calling thread's OpenMP thread count to it. */
void aoi_net_set_threads(aoi_net *net, int threads);

/* Winograd convolutions (3x3 and 5x5, stride 1, between 16 channels or
 * more; on by default) make four times fewer multiplies for results a few
 * units in the last place off the direct sums. Off, every convolution sums
 * its products directly, as PyTorch's do: for comparing against it where a
 * max pool's near-ties would otherwise break either way. A change takes a
 * new aoi_net_plan (forward refuses until then). */
void aoi_net_set_winograd(aoi_net *net, int on);

#endif
