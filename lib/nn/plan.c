/* plan.c: fixing batch and input size: every shape again, the training
 * fusion (fuse.c), and one arena for every node's output, gradient and
 * aux, laid out for training or, in a net fused for inference, shared by
 * outputs whose lives do not overlap. */
#include "nn/fuse.h"

#include <stdlib.h>

/* Arena blocks start on 64-byte boundaries. */
#define AOI_NN_ALIGN_FLOATS 16

static size_t round_up(size_t n)
{
	return (n + AOI_NN_ALIGN_FLOATS - 1) / AOI_NN_ALIGN_FLOATS * AOI_NN_ALIGN_FLOATS;
}

static int plan_shapes(aoi_net *net, int batch, int height, int width,
		       aoi_error *err)
{
	net->nodes[0].out = (aoi_shape){batch, net->in_channels, height, width};
	for (int i = 1; i < net->nnodes; i++)
		if (net->nodes[i].ops->shape(net, &net->nodes[i], err) < 0)
			return -1;
	return 0;
}

/* Training: every node keeps its own output, gradient and aux, except
 * that a node fused into another (an activation into its batch norm)
 * shares that node's output, and the node that absorbs it needs no
 * gradient of its own (it reads the activation's). Point the nodes at
 * their slices; with arena NULL only count. */
static size_t layout_training(aoi_net *net, float *arena)
{
	size_t off = 0;

	for (int i = 0; i < net->nnodes; i++) {
		aoi_node *node = &net->nodes[i];
		const aoi_layer_ops *ops = node->ops;
		size_t n = round_up(aoi_nn_numel(node->out));
		size_t aux = ops->aux_floats ? round_up(ops->aux_floats(net, node)) : 0;
		int shares_y = node->fused_into >= 0;
		int has_dy = node->absorbs < 0;

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
	for (int k = 0; k < net->nextra; k++)
		net->nodes[net->extra[k]].last_use = net->nnodes;
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
		const aoi_layer_ops *ops = node->ops;
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
		const aoi_layer_ops *ops = node->ops;
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

int aoi_net_set_output(aoi_net *net, int node, aoi_error *err)
{
	if (node < 0 || node >= net->nnodes)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "output node %d does not exist", node);
	net->output = node;
	/* the shared inference arena depends on which node is kept; a batch
	 * norm made the output must keep its own output, not that of the
	 * activation it absorbs */
	if (net->planned && (net->fused || net->nodes[node].absorbs >= 0))
		return aoi_net_plan(net, net->batch, net->height, net->width, err);
	return 0;
}

int aoi_net_add_output(aoi_net *net, int node, aoi_error *err)
{
	if (node < 1 || node >= net->nnodes)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "output node %d does not exist",
				     node);
	if (net->nextra + 1 >= AOI_NET_MAX_OUTPUTS)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "more than %d outputs",
				     AOI_NET_MAX_OUTPUTS);
	net->extra[net->nextra++] = node;
	if (net->planned) /* kept to the end of the inference arena */
		return aoi_net_plan(net, net->batch, net->height, net->width, err) < 0
			       ? -1 : net->nextra;
	return net->nextra;
}

int aoi_net_fuse_for_inference(aoi_net *net, aoi_error *err)
{
	int planned = net->planned;

	if (net->fused)
		return 0;
	if (aoi_nn_fuse_for_inference(net, err) < 0)
		return -1;
	if (planned)
		return aoi_net_plan(net, net->batch, net->height, net->width, err);
	return 0;
}
