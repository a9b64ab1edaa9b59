/* bench_net.c: timing a network: forward passes, training steps, nodes. */
#include "bench/bench.h"

#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "nn/optim.h"
#include "train/loss.h"

static size_t numel(aoi_shape s)
{
	return (size_t)s.n * s.c * s.h * s.w;
}

double aoi_bench_net_flops(const aoi_net *net)
{
	double total = 0;
	aoi_node_info info;

	for (int i = 0; i < aoi_net_node_count(net); i++)
		if (aoi_net_node_info(net, i, &info) == 0)
			total += info.flops;
	return total;
}

/* A random input batch as planned, or NULL with err set. */
static float *random_input(const aoi_net *net, aoi_rng *rng, aoi_error *err)
{
	size_t n = numel(aoi_net_input_shape(net));
	float *x = malloc(n * sizeof *x);

	if (!x) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "no memory for a %zu-float input", n);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		x[i] = (float)aoi_rng_normal(rng);
	return x;
}

int aoi_bench_forward(aoi_net *net, int warmup, int runs, aoi_rng *rng,
		      double *seconds, aoi_error *err)
{
	float *x = random_input(net, rng, err);
	int rc = 0;

	if (!x)
		return -1;
	for (int r = -warmup; r < runs && rc == 0; r++) {
		double t0 = aoi_now();

		if (!aoi_net_forward(net, x, 0, rng, err))
			rc = -1;
		else if (r >= 0)
			seconds[r] = aoi_now() - t0;
	}
	free(x);
	return rc;
}

/* What a training step needs besides the input: targets, the output's
 * gradient, the optimiser. */
typedef struct train_bufs {
	float *x, *dout, *values;
	int *labels;
	aoi_optim *opt;
} train_bufs;

static void train_bufs_release(train_bufs *b)
{
	free(b->x), free(b->dout), free(b->values), free(b->labels);
	aoi_optim_free(b->opt);
}

static int train_bufs_init(train_bufs *b, aoi_net *net, enum aoi_task task,
			   aoi_rng *rng, aoi_error *err)
{
	aoi_shape o = aoi_net_output_shape(net);
	size_t n = numel(o), nlabels = (size_t)o.n * o.h * o.w;
	aoi_optim_opts oo;

	memset(b, 0, sizeof *b);
	aoi_optim_opts_init(&oo, AOI_OPTIM_SGD);
	oo.lr = 1e-3, oo.momentum = 0.9;
	b->x = random_input(net, rng, err);
	b->dout = malloc(n * sizeof *b->dout);
	b->values = malloc(n * sizeof *b->values);
	b->labels = malloc(nlabels * sizeof *b->labels);
	if (!b->x || !b->dout || !b->values || !b->labels) {
		train_bufs_release(b);
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "no memory for a training batch");
	}
	for (size_t i = 0; i < n; i++)
		b->values[i] = (float)aoi_rng_uniform(rng);
	for (size_t i = 0; i < nlabels; i++) /* classification: one per image */
		b->labels[i] = task == AOI_TASK_KEYPOINTS ? 0 : (int)aoi_rng_below(rng, (uint32_t)o.c);
	b->opt = aoi_optim_new_for(&oo, net, err);
	if (!b->opt) {
		train_bufs_release(b);
		return -1;
	}
	return 0;
}

static int train_step(aoi_net *net, enum aoi_task task, train_bufs *b, aoi_rng *rng,
		      aoi_bench_step *st, aoi_error *err)
{
	aoi_shape o = aoi_net_output_shape(net);
	double t0 = aoi_now(), t1, t2, t3, loss;
	const float *y;

	aoi_net_zero_grads(net);
	if (!(y = aoi_net_forward(net, b->x, 1, rng, err)))
		return -1;
	t1 = aoi_now();
	if (task == AOI_TASK_KEYPOINTS)
		loss = aoi_loss_mse(y, b->values, numel(o), b->dout);
	else
		loss = aoi_loss_softmax_ce(y, b->labels, o, NULL, b->dout, err);
	if (loss < 0)
		return -1;
	t2 = aoi_now();
	if (aoi_net_backward(net, b->dout, err) < 0)
		return -1;
	t3 = aoi_now();
	aoi_optim_step(b->opt, net);
	st->total = aoi_now() - t0;
	st->forward = t1 - t0, st->loss = t2 - t1, st->backward = t3 - t2;
	st->optim = st->total - (t3 - t0);
	return 0;
}

int aoi_bench_train(aoi_net *net, enum aoi_task task, int warmup, int runs,
		    aoi_rng *rng, aoi_bench_step *steps, aoi_error *err)
{
	train_bufs b;
	aoi_bench_step scratch;
	int rc = 0;

	if (train_bufs_init(&b, net, task, rng, err) < 0)
		return -1;
	for (int r = -warmup; r < runs && rc == 0; r++)
		rc = train_step(net, task, &b, rng, r >= 0 ? &steps[r] : &scratch, err);
	train_bufs_release(&b);
	return rc;
}

int aoi_bench_layers(aoi_net *net, int warmup, int runs, aoi_rng *rng,
		     double *node_seconds, aoi_error *err)
{
	int nodes = aoi_net_node_count(net), rc = 0;
	double *t = malloc((size_t)nodes * (size_t)(runs + 1) * sizeof *t);
	double *col = t ? t + (size_t)nodes * runs : NULL;
	float *x = random_input(net, rng, err);

	if (!t || !x) {
		free(t), free(x);
		return x ? aoi_error_set(err, AOI_ENOMEM, NULL, 0, "no memory for layer times") : -1;
	}
	for (int r = -warmup; r < runs && rc == 0; r++)
		if (!aoi_net_forward_profile(net, x, 0, rng, r >= 0 ? t + (size_t)r * nodes : t, err))
			rc = -1;
	for (int i = 0; i < nodes && rc == 0; i++) {
		aoi_bench_stats st;

		for (int r = 0; r < runs; r++) /* node i's time in each run */
			col[r] = t[(size_t)r * nodes + i];
		rc = aoi_bench_stats_compute(col, runs, &st, err);
		node_seconds[i] = st.median;
	}
	free(t), free(x);
	return rc;
}
