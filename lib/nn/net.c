/* net.c: the graph (nodes in the order they were added, which is a
 * topological order since inputs must exist first), planning and the
 * activation arena, the flat parameter/gradient/state arrays, freezing and
 * introspection. Running it is in run.c; the layers are one file each. */
#include "nn/layer.h"
#include "nn/fuse_train.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

/* Without aoi_net_set_input_size() shapes are worked out at this size while
 * building; they are worked out again for the real size at plan time. */
#define AOI_NN_NOMINAL 512
/* Arena blocks start on 64-byte boundaries. */
#define AOI_NN_ALIGN_FLOATS 16

static const aoi_layer_ops *const layer_table[] = {
	[AOI_LAYER_INPUT] = &aoi_nn_input_ops,
	[AOI_LAYER_CONV] = &aoi_nn_conv_ops,
	[AOI_LAYER_CONV_TRANSPOSE] = &aoi_nn_conv_transpose_ops,
	[AOI_LAYER_BATCHNORM] = &aoi_nn_batchnorm_ops,
	[AOI_LAYER_ACTIVATION] = &aoi_nn_activation_ops,
	[AOI_LAYER_SOFTMAX] = &aoi_nn_softmax_ops,
	[AOI_LAYER_MAXPOOL] = &aoi_nn_maxpool_ops,
	[AOI_LAYER_MAXUNPOOL] = &aoi_nn_maxunpool_ops,
	[AOI_LAYER_AVGPOOL] = &aoi_nn_avgpool_ops,
	[AOI_LAYER_ADAPTIVE_AVGPOOL] = &aoi_nn_adaptive_avgpool_ops,
	[AOI_LAYER_UPSAMPLE] = &aoi_nn_upsample_ops,
	[AOI_LAYER_CONCAT] = &aoi_nn_concat_ops,
	[AOI_LAYER_ADD] = &aoi_nn_add_ops,
	[AOI_LAYER_DENSE] = &aoi_nn_dense_ops,
	[AOI_LAYER_DROPOUT] = &aoi_nn_dropout_ops,
	[AOI_LAYER_FLATTEN] = &aoi_nn_flatten_ops,
	[AOI_LAYER_PAD] = &aoi_nn_pad_ops,
};
_Static_assert(sizeof layer_table / sizeof layer_table[0] == AOI_LAYER_COUNT,
	       "one entry per layer kind");

const aoi_layer_ops *aoi_nn_ops(int kind)
{
	return layer_table[kind];
}

int aoi_nn_shape_error(aoi_error *err, const aoi_net *net, const aoi_node *node,
		       const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	const aoi_layer_ops *ops = aoi_nn_ops(node->kind);

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return aoi_error_set(err, AOI_ESHAPE, NULL, 0, "node %d (%s): %s",
			     aoi_nn_id(net, node),
			     ops->name ? ops->name(node) : ops->kind, msg);
}

aoi_net *aoi_net_new(int in_channels, aoi_error *err)
{
	aoi_net *net;

	if (in_channels < 1) {
		aoi_error_set(err, AOI_EINVAL, NULL, 0,
			      "input channels must be at least 1, not %d", in_channels);
		return NULL;
	}
	net = calloc(1, sizeof *net);
	if (!net || !(net->nodes = calloc(16, sizeof *net->nodes))) {
		free(net);
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory for a network");
		return NULL;
	}
	net->node_cap = 16;
	net->nnodes = 1;
	net->in_channels = in_channels;
	net->nominal_h = net->nominal_w = AOI_NN_NOMINAL;
	net->nodes[0] = (aoi_node){.kind = AOI_LAYER_INPUT, .first_tensor = -1,
				   .fused_into = -1,
				   .out = {1, in_channels, AOI_NN_NOMINAL, AOI_NN_NOMINAL}};
	return net;
}

void aoi_net_free(aoi_net *net)
{
	if (!net)
		return;
	for (int i = 0; i < net->nnodes; i++) {
		const aoi_layer_ops *ops = aoi_nn_ops(net->nodes[i].kind);
		if (ops->free_priv)
			ops->free_priv(net->nodes[i].priv);
		else
			free(net->nodes[i].priv);
	}
	free(net->nodes);
	free(net->tensors);
	free(net->params);
	free(net->grads);
	free(net->state);
	free(net->arena);
	free(net->work);
	free(net);
}

void aoi_net_set_block(aoi_net *net, const char *block)
{
	snprintf(net->block, sizeof net->block, "%s", block ? block : "");
}

int aoi_net_set_input_size(aoi_net *net, int height, int width, aoi_error *err)
{
	if (height < 1 || width < 1)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "input size %dx%d is not positive", width, height);
	if (net->nnodes > 1)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "the input size must be set before adding layers");
	net->nominal_h = height;
	net->nominal_w = width;
	net->size_set = 1;
	net->nodes[0].out.h = height;
	net->nodes[0].out.w = width;
	return 0;
}

int aoi_nn_check_input(const aoi_net *net, int in, aoi_error *err)
{
	if (in < 0 || in >= net->nnodes)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "input node %d does not exist (the net has %d)",
				     in, net->nnodes);
	if (net->fused)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "the net is fused for inference: no more layers");
	return 0;
}

static int grow_nodes(aoi_net *net)
{
	aoi_node *p;

	if (net->nnodes < net->node_cap)
		return 0;
	p = realloc(net->nodes, sizeof *p * net->node_cap * 2);
	if (!p)
		return -1;
	net->nodes = p;
	net->node_cap *= 2;
	return 0;
}

int aoi_nn_add_node(aoi_net *net, int kind, int ninputs, const int *inputs,
		    void *priv, aoi_error *err)
{
	aoi_node *node;
	int id = net->nnodes;

	if (ninputs > AOI_NN_MAX_INPUTS) {
		free(priv);
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "at most %d inputs to a node", AOI_NN_MAX_INPUTS);
	}
	for (int i = 0; i < ninputs; i++) {
		if (aoi_nn_check_input(net, inputs[i], err) < 0) {
			free(priv);
			return -1;
		}
	}
	if (grow_nodes(net) < 0) {
		free(priv);
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory for a node");
	}
	node = &net->nodes[id];
	*node = (aoi_node){.kind = kind, .ninputs = ninputs, .first_tensor = -1,
			   .priv = priv, .fused_into = -1, .fixed = 1};
	memcpy(node->inputs, inputs, sizeof *inputs * ninputs);
	snprintf(node->block, sizeof node->block, "%s", net->block);
	for (int i = 0; i < ninputs; i++)
		node->fixed &= net->nodes[inputs[i]].fixed;
	net->nnodes++;
	if (aoi_nn_ops(kind)->shape(net, node, err) < 0)
		return aoi_nn_fail_node(net, id);
	for (int i = 0; i < ninputs; i++)
		net->nodes[inputs[i]].consumers++;
	net->output = id;
	net->planned = 0;
	return id;
}

/* Only the last node can be dropped (a builder that failed half-way). */
int aoi_nn_fail_node(aoi_net *net, int id)
{
	aoi_node *node = &net->nodes[id];
	const aoi_layer_ops *ops = aoi_nn_ops(node->kind);

	if (node->first_tensor >= 0) {
		net->nparams = net->tensors[node->first_tensor].offset;
		net->ntensors = node->first_tensor;
	}
	if (ops->free_priv)
		ops->free_priv(node->priv);
	else
		free(node->priv);
	node->priv = NULL;
	net->nnodes = id;
	net->output = id - 1;
	return -1;
}

static int reserve_floats(float **a, float **b, size_t *cap, size_t need)
{
	size_t ncap = *cap ? *cap : 1024;
	float *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*a, sizeof *p * ncap);
	if (!p)
		return -1;
	*a = p;
	if (b) {
		p = realloc(*b, sizeof *p * ncap);
		if (!p)
			return -1;
		*b = p;
	}
	*cap = ncap;
	return 0;
}

static const char *node_kind(const aoi_node *node)
{
	const aoi_layer_ops *ops = aoi_nn_ops(node->kind);
	return ops->name ? ops->name(node) : ops->kind;
}

int aoi_nn_add_param(aoi_net *net, int id, const char *what, int ndim,
		     const int *shape, int decay, aoi_error *err)
{
	aoi_node *node = &net->nodes[id];
	aoi_param_info *t;
	size_t count = 1;

	for (int i = 0; i < ndim; i++)
		count *= (size_t)shape[i];
	if (net->ntensors == net->tensor_cap) {
		int ncap = net->tensor_cap ? net->tensor_cap * 2 : 32;
		aoi_param_info *p = realloc(net->tensors, sizeof *p * ncap);
		if (!p)
			return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		net->tensors = p;
		net->tensor_cap = ncap;
	}
	if (reserve_floats(&net->params, &net->grads, &net->param_cap,
			   net->nparams + count) < 0)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0,
				     "out of memory for %zu parameters", count);
	t = &net->tensors[net->ntensors];
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "%s%s%s%d.%s", node->block,
		 node->block[0] ? "/" : "", node_kind(node), id, what);
	t->offset = net->nparams;
	t->count = count;
	t->ndim = ndim;
	memcpy(t->shape, shape, sizeof *shape * ndim);
	t->node = id;
	t->decay = decay;
	memset(net->params + net->nparams, 0, sizeof(float) * count);
	memset(net->grads + net->nparams, 0, sizeof(float) * count);
	if (node->first_tensor < 0)
		node->first_tensor = net->ntensors;
	node->ntensors++;
	net->ntensors++;
	net->nparams += count;
	return 0;
}

int aoi_nn_add_state(aoi_net *net, int id, size_t count, aoi_error *err)
{
	if (reserve_floats(&net->state, NULL, &net->state_cap, net->nstate + count) < 0)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	net->nodes[id].state_off = net->nstate;
	memset(net->state + net->nstate, 0, sizeof(float) * count);
	net->nstate += count;
	return 0;
}

int aoi_nn_followed_by_bn(const aoi_net *net, int id)
{
	for (int i = id + 1; i < net->nnodes; i++) {
		const aoi_node *n = &net->nodes[i];
		for (int j = 0; j < n->ninputs; j++)
			if (n->inputs[j] == id)
				return n->kind == AOI_LAYER_BATCHNORM &&
				       net->nodes[id].consumers == 1;
	}
	return 0;
}

int aoi_net_set_output(aoi_net *net, int node, aoi_error *err)
{
	if (node < 0 || node >= net->nnodes)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "output node %d does not exist", node);
	net->output = node;
	/* the shared inference arena depends on which node is kept; a batch
	 * norm made the output must keep its own output, not its
	 * activation's */
	if (net->planned && (net->fused || (net->nodes[node].kind == AOI_LAYER_BATCHNORM &&
					    aoi_nn_batchnorm_act(&net->nodes[node]) >= 0)))
		return aoi_net_plan(net, net->batch, net->height, net->width, err);
	return 0;
}

static size_t round_up(size_t n)
{
	return (n + AOI_NN_ALIGN_FLOATS - 1) / AOI_NN_ALIGN_FLOATS * AOI_NN_ALIGN_FLOATS;
}

static int plan_shapes(aoi_net *net, int batch, int height, int width,
		       aoi_error *err)
{
	net->nodes[0].out = (aoi_shape){batch, net->in_channels, height, width};
	for (int i = 1; i < net->nnodes; i++)
		if (aoi_nn_ops(net->nodes[i].kind)->shape(net, &net->nodes[i], err) < 0)
			return -1;
	return 0;
}

/* Training: every node keeps its own output, gradient and aux, except
 * that an activation fused into its batch norm shares the batch norm's
 * output and the batch norm needs no gradient of its own (it reads the
 * activation's). Point the nodes at their slices; with arena NULL only
 * count. */
static size_t layout_training(aoi_net *net, float *arena)
{
	size_t off = 0;

	for (int i = 0; i < net->nnodes; i++) {
		aoi_node *node = &net->nodes[i];
		const aoi_layer_ops *ops = aoi_nn_ops(node->kind);
		size_t n = round_up(aoi_nn_numel(node->out));
		size_t aux = ops->aux_floats ? round_up(ops->aux_floats(net, node)) : 0;
		int shares_y = node->fused_into >= 0;
		int has_dy = !(node->kind == AOI_LAYER_BATCHNORM &&
			       aoi_nn_batchnorm_act(node) >= 0);

		if (shares_y) { /* an earlier node, already placed */
			node->y = arena ? net->nodes[node->fused_into].y : NULL;
		} else {
			node->y = arena ? arena + off : NULL;
			off += n;
		}
		node->dy = arena && has_dy ? arena + off : NULL;
		off += has_dy ? n : 0;
		node->aux = aux && arena ? arena + off : NULL;
		off += aux;
	}
	return off;
}

/* Inference: a node's output lives from the node to its last reader (the
 * readers of a node fused into it count; the output lives to the end). */
static void mark_last_use(aoi_net *net)
{
	for (int i = 0; i < net->nnodes; i++)
		net->nodes[i].last_use = i;
	for (int i = 1; i < net->nnodes; i++) {
		aoi_node *node = &net->nodes[i];
		for (int j = 0; j < node->ninputs; j++)
			if (aoi_nn_in(net, node, j)->last_use < i)
				aoi_nn_in(net, node, j)->last_use = i;
	}
	net->nodes[net->output].last_use = net->nnodes;
	for (int i = net->nnodes - 1; i >= 1; i--) {
		aoi_node *node = &net->nodes[i];
		aoi_node *f = node->fused_into >= 0 ? &net->nodes[node->fused_into] : NULL;
		if (f && f->last_use < node->last_use)
			f->last_use = node->last_use;
	}
}

/* Lowest offset for node i's output clear of every output placed before
 * that is still alive at i. */
static size_t first_fit(const aoi_net *net, int i, size_t n)
{
	size_t off = 0;
	int moved = 1;

	while (moved) {
		moved = 0;
		for (int j = 0; j < i; j++) {
			const aoi_node *o = &net->nodes[j];
			size_t on = round_up(aoi_nn_numel(o->out));

			if (o->fused_into >= 0 || o->last_use < i)
				continue;
			if (off < o->y_off + on && o->y_off < off + n) {
				off = o->y_off + on;
				moved = 1;
			}
		}
	}
	return off;
}

/* Inference: outputs whose lives do not overlap share memory; aux (max-pool
 * indices an unpool reads later) is kept apart. No gradients. */
static size_t layout_shared(aoi_net *net, float *arena)
{
	size_t top = 0, aux_off;

	mark_last_use(net);
	for (int i = 0; i < net->nnodes; i++) {
		aoi_node *node = &net->nodes[i];
		size_t n = round_up(aoi_nn_numel(node->out));

		if (node->fused_into >= 0)
			continue;
		node->y_off = first_fit(net, i, n);
		if (node->y_off + n > top)
			top = node->y_off + n;
	}
	aux_off = top;
	for (int i = 0; i < net->nnodes; i++) {
		aoi_node *node = &net->nodes[i];
		const aoi_layer_ops *ops = aoi_nn_ops(node->kind);
		size_t aux = ops->aux_floats && node->fused_into < 0
				     ? round_up(ops->aux_floats(net, node)) : 0;

		node->dy = NULL;
		node->aux = aux && arena ? arena + aux_off : NULL;
		aux_off += aux;
		if (node->fused_into < 0)
			node->y = arena ? arena + node->y_off : NULL;
		else /* fused_into is an earlier node, already placed */
			node->y = arena ? net->nodes[node->fused_into].y : NULL;
	}
	return aux_off;
}

static size_t layout_arena(aoi_net *net, float *arena)
{
	return net->fused ? layout_shared(net, arena) : layout_training(net, arena);
}

static size_t work_needed(const aoi_net *net)
{
	size_t most = 0;

	for (int i = 1; i < net->nnodes; i++) {
		const aoi_node *node = &net->nodes[i];
		const aoi_layer_ops *ops = aoi_nn_ops(node->kind);
		size_t w = ops->work_floats && node->fused_into < 0
				   ? ops->work_floats(net, node) : 0;
		if (w > most)
			most = w;
	}
	return most;
}

static float *alloc_floats(size_t n)
{
	size_t bytes = (n ? n : 1) * sizeof(float);

	bytes = (bytes + 63) / 64 * 64;
	return aligned_alloc(64, bytes);
}

int aoi_net_plan(aoi_net *net, int batch, int height, int width, aoi_error *err)
{
	size_t total;

	if (batch < 1 || height < 1 || width < 1)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "cannot plan batch %d of %dx%d", batch, width, height);
	net->planned = 0;
	free(net->arena);
	free(net->work);
	net->arena = net->work = NULL;
	if (plan_shapes(net, batch, height, width, err) < 0)
		return -1;
	if (!net->fused)
		aoi_nn_fuse_for_training(net);
	total = layout_arena(net, NULL);
	net->work_floats = work_needed(net);
	net->arena = alloc_floats(total);
	net->work = alloc_floats(net->work_floats);
	if (!net->arena || !net->work)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0,
				     "out of memory for %.1f MB of activations",
				     (double)(total + net->work_floats) * 4 / 1e6);
	layout_arena(net, net->arena);
	net->batch = batch;
	net->height = height;
	net->width = width;
	net->planned = 1;
	net->backward_done = 0;
	return 0;
}

aoi_shape aoi_net_input_shape(const aoi_net *net)
{
	return net->nodes[0].out;
}

aoi_shape aoi_net_output_shape(const aoi_net *net)
{
	return net->nodes[net->output].out;
}

int aoi_net_node_count(const aoi_net *net)
{
	return net->nnodes;
}

int aoi_net_node_info(const aoi_net *net, int id, aoi_node_info *info)
{
	const aoi_node *node;
	const aoi_layer_ops *ops;

	if (id < 0 || id >= net->nnodes)
		return -1;
	node = &net->nodes[id];
	ops = aoi_nn_ops(node->kind);
	memset(info, 0, sizeof *info);
	info->kind = node_kind(node);
	info->block = node->block;
	info->out = node->out;
	info->flops = ops->flops ? ops->flops(net, node) : 0.0;
	info->ninputs = node->ninputs;
	memcpy(info->inputs, node->inputs, sizeof(int) * node->ninputs);
	return 0;
}

size_t aoi_net_param_count(const aoi_net *net)
{
	return net->nparams;
}

float *aoi_net_params(aoi_net *net)
{
	return net->params;
}

float *aoi_net_grads(aoi_net *net)
{
	return net->grads;
}

int aoi_net_param_tensors(const aoi_net *net)
{
	return net->ntensors;
}

const aoi_param_info *aoi_net_param_info(const aoi_net *net, int i)
{
	if (i < 0 || i >= net->ntensors)
		return NULL;
	return &net->tensors[i];
}

float *aoi_net_state(aoi_net *net, size_t *count)
{
	if (count)
		*count = net->nstate;
	return net->state;
}

void aoi_net_zero_grads(aoi_net *net)
{
	if (net->nparams)
		memset(net->grads, 0, sizeof(float) * net->nparams);
}

void aoi_net_init_params(aoi_net *net, aoi_rng *rng)
{
	for (int i = 1; i < net->nnodes; i++) {
		const aoi_layer_ops *ops = aoi_nn_ops(net->nodes[i].kind);
		if (ops->init)
			ops->init(net, &net->nodes[i], rng);
	}
}

static int set_frozen(aoi_net *net, int id, int frozen)
{
	aoi_node *node = &net->nodes[id];
	int changed = 0;

	for (int k = 0; k < node->ntensors; k++) {
		aoi_param_info *t = &net->tensors[node->first_tensor + k];
		changed += t->frozen != (frozen != 0);
		t->frozen = frozen != 0;
	}
	return changed;
}

int aoi_net_freeze_block(aoi_net *net, const char *prefix, int frozen)
{
	size_t len = strlen(prefix ? prefix : "");
	int changed = 0;

	for (int i = 1; i < net->nnodes; i++)
		if (!len || strncmp(net->nodes[i].block, prefix, len) == 0)
			changed += set_frozen(net, i, frozen);
	return changed;
}

int aoi_net_freeze_nodes(aoi_net *net, int first, int last, int frozen)
{
	int changed = 0;

	if (first < 1)
		first = 1;
	if (last >= net->nnodes)
		last = net->nnodes - 1;
	for (int i = first; i <= last; i++)
		changed += set_frozen(net, i, frozen);
	return changed;
}

int aoi_nn_threads(const aoi_net *net)
{
	return net->threads > 0 ? net->threads : omp_get_num_procs();
}

/* The input node: plan sets its shape, forward copies the batch in. */
static int input_shape(aoi_net *net, aoi_node *node, aoi_error *err)
{
	(void)net;
	(void)node;
	(void)err;
	return 0;
}

static void input_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	(void)net;
	(void)node;
	(void)training;
	(void)rng;
}

static void input_backward(aoi_net *net, aoi_node *node, const aoi_bwd *b)
{
	(void)net;
	(void)node;
	(void)b;
}

const aoi_layer_ops aoi_nn_input_ops = {
	.kind = "input",
	.shape = input_shape,
	.forward = input_forward,
	.backward = input_backward,
};
