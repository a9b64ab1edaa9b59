/* run.c: forward (whole, a range of nodes, or timed node by node),
 * backward (and the input gradient worked out on demand) and threads. */
#include "nn/layer.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <omp.h>

/* The profile clock: wall time; building with -DAOI_NN_PROFILE_CPU counts
 * the process's CPU time instead, which stays meaningful on a loaded
 * machine when running one thread. */
static double profile_clock(void)
{
#ifdef AOI_NN_PROFILE_CPU
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
#else
	return omp_get_wtime();
#endif
}

static void use_threads(const aoi_net *net)
{
	if (net->threads > 0)
		omp_set_num_threads(net->threads);
}

/* Nodes first..end-1 forward (the input node has nothing to do); with
 * seconds, each node's time is added to seconds[node] (nodes fused into
 * another take none). */
static void run_nodes(aoi_net *net, int first, int end, int training, aoi_rng *rng,
		      double *seconds)
{
	for (int i = first > 1 ? first : 1; i < end; i++) {
		aoi_node *node = &net->nodes[i];
		double t0;

		if (node->fused_into >= 0)
			continue;
		t0 = seconds ? profile_clock() : 0.0;
		node->ops->forward(net, node, training, rng);
		if (seconds)
			seconds[i] += profile_clock() - t0;
	}
}

static const float *forward(aoi_net *net, const float *input, int training,
			    aoi_rng *rng, double *seconds, aoi_error *err)
{
	aoi_node *in = &net->nodes[0];

	if (!net->planned) {
		aoi_error_set(err, AOI_EINVAL, NULL, 0, "forward before aoi_net_plan");
		return NULL;
	}
	if (training && net->fused) {
		aoi_error_set(err, AOI_EINVAL, NULL, 0,
			      "the net is fused for inference: it cannot train");
		return NULL;
	}
	use_threads(net);
	memcpy(in->y, input, sizeof(float) * aoi_nn_numel(in->out));
	run_nodes(net, 1, net->nnodes, training, rng, seconds);
	net->last_training = training;
	net->backward_done = 0;
	net->input_grad_ready = 0;
	return net->nodes[net->output].y;
}

const float *aoi_net_forward(aoi_net *net, const float *input, int training,
			     aoi_rng *rng, aoi_error *err)
{
	return forward(net, input, training, rng, net->profile, err);
}

/* aoi-bench --layers: the same forward, each node's time written to
 * seconds[] rather than added to the net's profile. */
const float *aoi_net_forward_profile(aoi_net *net, const float *input, int training,
				     aoi_rng *rng, double *seconds, aoi_error *err)
{
	memset(seconds, 0, sizeof(double) * net->nnodes);
	return forward(net, input, training, rng, seconds, err);
}

const float *aoi_net_forward_range(aoi_net *net, const float *input, int first,
				   int end, aoi_error *err)
{
	if (!net->planned) {
		aoi_error_set(err, AOI_EINVAL, NULL, 0, "forward before aoi_net_plan");
		return NULL;
	}
	if (first < 0 || end > net->nnodes || first >= end ||
	    (first > 0 && !aoi_net_cut_valid(net, first)) ||
	    (end < net->nnodes && !aoi_net_cut_valid(net, end)) || (first == 0 && !input)) {
		aoi_error_set(err, AOI_EINVAL, NULL, 0,
			      "cannot run nodes %d..%d of %d (not cuts, or no input)", first,
			      end - 1, net->nnodes);
		return NULL;
	}
	use_threads(net);
	if (first == 0)
		memcpy(net->nodes[0].y, input, sizeof(float) * aoi_nn_numel(net->nodes[0].out));
	run_nodes(net, first, end, 0, NULL, net->profile);
	net->last_training = 0; /* no backward after part of a forward */
	net->backward_done = 0;
	net->input_grad_ready = 0;
	return net->nodes[net->output].y;
}

static unsigned trainable_mask(const aoi_net *net, const aoi_node *node)
{
	unsigned mask = 0;

	for (int k = 0; k < node->ntensors; k++)
		if (!net->tensors[node->first_tensor + k].frozen)
			mask |= 1u << k;
	return mask;
}

/* A node needs its dy when a trainable parameter is at or upstream of it
 * (not across a detach, through which no gradient flows). */
static void mark_needs_grad(aoi_net *net)
{
	net->nodes[0].needs_grad = 0;
	for (int i = 1; i < net->nnodes; i++) {
		aoi_node *node = &net->nodes[i];

		node->needs_grad = trainable_mask(net, node) != 0;
		for (int j = 0; j < node->ninputs && !node->ops->stops_grad; j++)
			node->needs_grad |= aoi_nn_in(net, node, j)->needs_grad;
	}
}

static void zero_dy(aoi_node *node)
{
	if (node->dy) /* NULL: a batch norm that takes its activation's */
		memset(node->dy, 0, sizeof(float) * aoi_nn_numel(node->out));
}

/* The reader of node id that backward reaches first (the last one up to
 * the last output), or -1. */
static int first_writer(const aoi_net *net, int id)
{
	for (int i = aoi_nn_last_output(net); i > id; i--)
		for (int j = 0; j < net->nodes[i].ninputs; j++)
			if (net->nodes[i].inputs[j] == id)
				return i;
	return -1;
}

/* The inputs whose gradient node i should produce. Every reader of a node
 * that needs a gradient needs one too, so the first reader backward
 * reaches writes first: it assigns if it can, else the gradient is zeroed
 * just before (not all of them ahead: that was a pass over every
 * gradient). An input read twice is assigned once. */
static unsigned dx_mask_zeroing(aoi_net *net, int i)
{
	aoi_node *node = &net->nodes[i];
	unsigned mask = 0;

	for (int j = 0; j < node->ninputs; j++) {
		aoi_node *in = aoi_nn_in(net, node, j);
		int again = 0;

		if (!in->needs_grad)
			continue;
		mask |= 1u << j;
		for (int k = 0; k < j; k++)
			again |= node->inputs[k] == node->inputs[j];
		/* an output's gradient is seeded: its readers add to it */
		if (again || aoi_nn_is_output(net, node->inputs[j]) ||
		    first_writer(net, node->inputs[j]) != i)
			continue;
		if (node->ops->assigns_dx)
			mask |= 1u << (AOI_NN_ASSIGN_SHIFT + j);
		else
			zero_dy(in);
	}
	return mask;
}

int aoi_net_backward(aoi_net *net, const float *dout, aoi_error *err)
{
	const float *douts[AOI_NET_MAX_OUTPUTS] = { dout };

	return aoi_net_backward_outputs(net, douts, err);
}

/* Each output's dy from its gradient (zero without one). */
static void seed_outputs(aoi_net *net, const float *const *douts)
{
	for (int k = 0; k < aoi_net_output_count(net); k++) {
		aoi_node *out = &net->nodes[aoi_net_output_node(net, k)];
		if (!out->dy)
			continue;
		if (douts[k])
			memcpy(out->dy, douts[k], sizeof(float) * aoi_nn_numel(out->out));
		else
			zero_dy(out);
	}
}

int aoi_net_backward_outputs(aoi_net *net, const float *const *douts, aoi_error *err)
{
	int last = aoi_nn_last_output(net);

	if (!net->planned || !net->last_training)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "backward needs a forward in training mode first");
	use_threads(net);
	mark_needs_grad(net);
	seed_outputs(net, douts);
	for (int i = last; i >= 1; i--) {
		aoi_node *node = &net->nodes[i];
		aoi_bwd b = {0, 0};

		node->ran_backward = 0;
		if (!node->needs_grad)
			continue;
		double t0 = net->profile ? profile_clock() : 0.0;
		if (!aoi_nn_is_output(net, i) && first_writer(net, i) < 0)
			zero_dy(node); /* read by nothing that backward reaches */
		b.dx_mask = dx_mask_zeroing(net, i);
		b.pmask = trainable_mask(net, node);
		node->ops->backward(net, node, &b);
		if (net->profile)
			net->profile[net->nnodes + i] += profile_clock() - t0;
		node->ran_backward = 1;
	}
	/* nodes after the outputs do not contribute */
	for (int i = last + 1; i < net->nnodes; i++)
		net->nodes[i].ran_backward = 0;
	net->backward_done = 1;
	net->input_grad_ready = 0;
	return 0;
}

/* The second pass behind aoi_net_input_grad(): the first skipped whatever
 * leads only from the input to trainable parameters; send the gradient
 * down those edges now, without touching parameter gradients. */
static void input_grad_pass(aoi_net *net)
{
	for (int i = 0; i < net->nnodes; i++) {
		aoi_node *node = &net->nodes[i];

		node->on_path = i == 0;
		for (int j = 0; j < node->ninputs; j++)
			node->on_path |= aoi_nn_in(net, node, j)->on_path;
		if (node->on_path && !node->needs_grad && !aoi_nn_is_output(net, i))
			zero_dy(node);
	}
	for (int i = aoi_nn_last_output(net); i >= 1; i--) {
		aoi_node *node = &net->nodes[i];
		aoi_bwd b = {0, 0};

		if (!node->on_path)
			continue;
		for (int j = 0; j < node->ninputs; j++) {
			aoi_node *in = aoi_nn_in(net, node, j);
			if (in->on_path &&
			    (!node->ran_backward || !in->needs_grad))
				b.dx_mask |= 1u << j;
		}
		if (b.dx_mask)
			node->ops->backward(net, node, &b);
	}
}

const float *aoi_net_input_grad(const aoi_net *cnet)
{
	/* the net is never a const object: the gradient is worked out on the
	 * first call and kept */
	aoi_net *net = (aoi_net *)cnet;

	if (!net->backward_done)
		return NULL;
	if (!net->input_grad_ready) {
		input_grad_pass(net);
		net->input_grad_ready = 1;
	}
	return net->nodes[0].dy;
}

void aoi_net_set_profile(aoi_net *net, double *times)
{
	net->profile = times;
}

void aoi_net_set_threads(aoi_net *net, int threads)
{
	net->threads = threads > 0 ? threads : omp_get_num_procs();
	openblas_set_num_threads(net->threads);
}
