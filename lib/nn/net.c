/* net.c: the graph core: nodes in the order they were added (a
 * topological order, since inputs must exist first), the flat
 * parameter/gradient/state arrays, freezing and introspection, and the
 * small helpers the layer files share. It knows no layer: each node
 * carries its kind's table. Planning is in plan.c, running in run.c. */
#include "nn/layer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

/* Without aoi_net_set_input_size() shapes are worked out at this size while
 * building; they are worked out again for the real size at plan time. */
#define AOI_NN_NOMINAL 512

static const char *node_kind(const aoi_node *node)
{
	return node->ops->name ? node->ops->name(node) : node->ops->kind;
}

int aoi_nn_shape_error(aoi_error *err, const aoi_net *net, const aoi_node *node,
		       const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return aoi_error_set(err, AOI_ESHAPE, NULL, 0, "node %d (%s): %s",
			     aoi_nn_id(net, node), node_kind(node), msg);
}

aoi_net *aoi_nn_new_net(int in_channels, const aoi_layer_ops *input, aoi_error *err)
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
	net->nodes[0] = (aoi_node){.ops = input, .first_tensor = -1,
				   .fused_into = -1, .absorbs = -1,
				   .out = {1, in_channels, AOI_NN_NOMINAL, AOI_NN_NOMINAL}};
	return net;
}

static void free_priv(aoi_node *node)
{
	if (node->ops->free_priv)
		node->ops->free_priv(node->priv);
	else
		free(node->priv);
	node->priv = NULL;
}

void aoi_net_free(aoi_net *net)
{
	if (!net)
		return;
	for (int i = 0; i < net->nnodes; i++)
		free_priv(&net->nodes[i]);
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

int aoi_nn_add_node(aoi_net *net, const aoi_layer_ops *ops, int ninputs,
		    const int *inputs, const void *priv, size_t priv_size,
		    aoi_error *err)
{
	aoi_node *node;
	void *copy = NULL;
	int id = net->nnodes;

	if (ninputs > AOI_NN_MAX_INPUTS)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "at most %d inputs to a node", AOI_NN_MAX_INPUTS);
	for (int i = 0; i < ninputs; i++)
		if (aoi_nn_check_input(net, inputs[i], err) < 0)
			return -1;
	if (grow_nodes(net) < 0 || (priv_size && !(copy = malloc(priv_size))))
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory for a node");
	if (copy)
		memcpy(copy, priv, priv_size);
	node = &net->nodes[id];
	*node = (aoi_node){.ops = ops, .ninputs = ninputs, .first_tensor = -1,
			   .priv = copy, .fused_into = -1, .absorbs = -1, .fixed = 1};
	memcpy(node->inputs, inputs, sizeof *inputs * ninputs);
	snprintf(node->block, sizeof node->block, "%s", net->block);
	for (int i = 0; i < ninputs; i++)
		node->fixed &= net->nodes[inputs[i]].fixed;
	net->nnodes++;
	if (ops->shape(net, node, err) < 0)
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

	if (node->first_tensor >= 0) {
		net->nparams = net->tensors[node->first_tensor].offset;
		net->ntensors = node->first_tensor;
	}
	free_priv(node);
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

int aoi_nn_followed_by_norm(const aoi_net *net, int id)
{
	for (int i = id + 1; i < net->nnodes; i++) {
		const aoi_node *n = &net->nodes[i];
		for (int j = 0; j < n->ninputs; j++)
			if (n->inputs[j] == id)
				return n->ops->normalizes && net->nodes[id].consumers == 1;
	}
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

int aoi_net_output_count(const aoi_net *net)
{
	return 1 + net->nextra;
}

int aoi_net_output_node(const aoi_net *net, int k)
{
	return k == 0 ? net->output : k <= net->nextra ? net->extra[k - 1] : -1;
}

aoi_shape aoi_net_output_shape_at(const aoi_net *net, int k)
{
	int id = aoi_net_output_node(net, k);
	return id >= 0 ? net->nodes[id].out : (aoi_shape){ 0, 0, 0, 0 };
}

const float *aoi_net_output_at(const aoi_net *net, int k)
{
	int id = aoi_net_output_node(net, k);
	return id >= 0 ? net->nodes[id].y : NULL;
}

int aoi_nn_is_output(const aoi_net *net, int id)
{
	for (int k = 0; k < net->nextra; k++)
		if (net->extra[k] == id)
			return 1;
	return id == net->output;
}

int aoi_nn_last_output(const aoi_net *net)
{
	int last = net->output;
	for (int k = 0; k < net->nextra; k++)
		if (net->extra[k] > last)
			last = net->extra[k];
	return last;
}

int aoi_net_node_count(const aoi_net *net)
{
	return net->nnodes;
}

int aoi_net_node_info(const aoi_net *net, int id, aoi_node_info *info)
{
	const aoi_node *node;

	if (id < 0 || id >= net->nnodes)
		return -1;
	node = &net->nodes[id];
	memset(info, 0, sizeof *info);
	info->kind = node_kind(node);
	info->block = node->block;
	info->out = node->out;
	info->flops = node->ops->flops ? node->ops->flops(net, node) : 0.0;
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
	for (int i = 1; i < net->nnodes; i++)
		if (net->nodes[i].ops->init)
			net->nodes[i].ops->init(net, &net->nodes[i], rng);
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

int aoi_nn_add_weight_bias(aoi_net *net, int id, int ndim, const int *shape,
			   int nbias, aoi_error *err)
{
	if (id < 0)
		return -1;
	if (aoi_nn_add_param(net, id, "weight", ndim, shape, 1, err) < 0 ||
	    (nbias && aoi_nn_add_param(net, id, "bias", 1, &nbias, 0, err) < 0))
		return aoi_nn_fail_node(net, id);
	return id;
}

void aoi_nn_init_weight_bias(aoi_net *net, aoi_node *node, double bound,
			     int zero_bias, aoi_rng *rng)
{
	const aoi_param_info *t = &net->tensors[node->first_tensor];
	float *w = aoi_nn_param(net, node, 0);

	for (size_t i = 0; i < t->count; i++)
		w[i] = (float)aoi_rng_range(rng, -bound, bound);
	if (node->ntensors > 1) {
		float *b = aoi_nn_param(net, node, 1);
		for (size_t i = 0; i < t[1].count; i++)
			b[i] = zero_bias ? 0.0f : (float)aoi_rng_range(rng, -bound, bound);
	}
}

int aoi_nn_shape_as_input(aoi_net *net, aoi_node *node, aoi_error *err)
{
	(void)err;
	node->out = aoi_nn_in(net, node, 0)->out;
	return 0;
}

double aoi_nn_flops_numel(const aoi_net *net, const aoi_node *node)
{
	(void)net;
	return (double)aoi_nn_numel(node->out);
}
