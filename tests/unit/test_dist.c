/* test_dist.c: the process group of dist.h.
 *
 * Run alone (make check), it is a group of one: every collective leaves
 * the buffers alone, the rows of a batch are all this process's, and a
 * launcher without MPI in the build is refused. The data-parallel identity
 * the trainer rests on is checked by running the shards one after the
 * other: the sum of the shard gradients, each the mean over its rows
 * scaled by 1 / size, is the gradient of the whole batch, and a few SGD
 * steps taken that way end at the single-process weights.
 *
 * Run under `mpirun -np N` (tests/cli/mpi.sh), the same checks go through
 * MPI: all-reduce (sum, max, float, double, sizes past one message),
 * broadcast, standard input shared by rank 0, and the sharded training
 * steps against a whole-batch reference that each rank also computes.
 *
 * Both ways, the training loop itself (train.c) is run with the group and
 * without it on the boards of testdata/train, for a network without batch
 * norm or dropout (whose statistics and masks are per replica): the
 * weights, the losses and the validation metrics must agree. */
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/rng.h"
#include "data/loader.h"
#include "nn/net.h"
#include "train/dist.h"
#include "train/train.h"

enum { BATCH = 4, CH = 2, H = 6, W = 5, OUT = 3, STEPS = 5 };

static aoi_net *small_net(int batch)
{
	aoi_error err;
	aoi_net *net = aoi_net_new(CH, &err);
	int x = 0;
	if (!net || aoi_net_set_input_size(net, H, W, &err) < 0)
		return NULL;
	x = aoi_net_conv(net, x, 4, 3, 1, 1, 1, 1, 1, &err);
	x = aoi_net_activation(net, x, AOI_ACT_RELU, 0, &err);
	x = aoi_net_maxpool(net, x, 2, 2, 0, &err);
	x = aoi_net_flatten(net, x, &err);
	x = aoi_net_dense(net, x, OUT, 1, &err);
	if (x < 0 || aoi_net_plan(net, batch, H, W, &err) < 0) {
		fprintf(stderr, "small_net: %s\n", err.msg);
		aoi_net_free(net);
		return NULL;
	}
	return net;
}

/* Inputs and targets of the global batch, the same on every rank. */
static void make_batch(float *x, float *t, int step)
{
	aoi_rng rng;
	aoi_rng_seed(&rng, 77 + (uint64_t)step);
	for (int i = 0; i < BATCH * CH * H * W; i++)
		x[i] = (float)aoi_rng_range(&rng, -1, 1);
	for (int i = 0; i < BATCH * OUT; i++)
		t[i] = (float)aoi_rng_range(&rng, -1, 1);
}

/* Gradients of the mean squared error over `rows` rows, scaled by
 * `scale`, added to the net's gradients. */
static int mse_backward(aoi_net *net, const float *x, const float *t, int rows,
			double scale)
{
	aoi_error err;
	float dout[BATCH * OUT];
	const float *y = aoi_net_forward(net, x, 1, NULL, &err);
	if (!y)
		return -1;
	for (int i = 0; i < rows * OUT; i++)
		dout[i] = (float)(scale * 2.0 * (y[i] - t[i]) / (rows * OUT));
	return aoi_net_backward(net, dout, &err);
}

/* The rows of this shard (rank, rank + size, ...) of the global batch. */
static void take_rows(const aoi_dist *d, int size, int rank, const float *x,
		      const float *t, float *lx, float *lt)
{
	int rows = BATCH / size;
	(void)d;
	for (int r = 0; r < rows; r++) {
		int g = r * size + rank;
		memcpy(lx + (size_t)r * CH * H * W, x + (size_t)g * CH * H * W,
		       sizeof(float) * CH * H * W);
		memcpy(lt + (size_t)r * OUT, t + (size_t)g * OUT, sizeof(float) * OUT);
	}
}

static void sgd(aoi_net *net, float lr)
{
	float *p = aoi_net_params(net);
	const float *g = aoi_net_grads(net);
	for (size_t i = 0; i < aoi_net_param_count(net); i++)
		p[i] -= lr * g[i];
}

static double max_rel_diff(const float *a, const float *b, size_t n)
{
	double worst = 0, scale = 1e-3;
	for (size_t i = 0; i < n; i++)
		scale = fmax(scale, fabs(a[i]));
	for (size_t i = 0; i < n; i++)
		worst = fmax(worst, fabs((double)a[i] - b[i]) / scale);
	return worst;
}

/* STEPS SGD steps on the whole batch (ref) and on shards whose summed
 * gradients are all-reduced (or, in a group of one, shards run one after
 * the other with `emulate` of them). The weights must agree within float
 * rounding. */
static void check_data_parallel(aoi_dist *d, int emulate)
{
	aoi_error err;
	int size = aoi_dist_size(d) > 1 ? aoi_dist_size(d) : emulate;
	int rows = BATCH / size;
	aoi_net *ref = small_net(BATCH), *rep = small_net(rows);
	float x[BATCH * CH * H * W], t[BATCH * OUT];
	float lx[BATCH * CH * H * W], lt[BATCH * OUT];
	CHECK(ref && rep);
	if (!ref || !rep)
		goto out;
	aoi_rng rng;
	aoi_rng_seed(&rng, 5);
	aoi_net_init_params(ref, &rng);
	size_t np = aoi_net_param_count(ref);
	CHECK_INT(aoi_net_param_count(rep), np);
	memcpy(aoi_net_params(rep), aoi_net_params(ref), np * sizeof(float));
	for (int step = 0; step < STEPS; step++) {
		make_batch(x, t, step);
		aoi_net_zero_grads(ref);
		CHECK(mse_backward(ref, x, t, BATCH, 1.0) == 0);
		sgd(ref, 0.1f);
		aoi_net_zero_grads(rep);
		int first = aoi_dist_size(d) > 1 ? aoi_dist_rank(d) : 0;
		int last = aoi_dist_size(d) > 1 ? first + 1 : size;
		for (int s = first; s < last; s++) {
			take_rows(d, size, s, x, t, lx, lt);
			CHECK(mse_backward(rep, lx, lt, rows, 1.0 / size) == 0);
		}
		CHECK(aoi_dist_allreduce_float(d, aoi_net_grads(rep), np, AOI_DIST_SUM, &err) == 0);
		sgd(rep, 0.1f);
	}
	double diff = max_rel_diff(aoi_net_params(ref), aoi_net_params(rep), np);
	CHECK_MSG(diff < 1e-5, "%d shards: weights differ by %g (relative)", size, diff);
	/* and something was learnt, or the comparison says nothing */
	aoi_net *init = small_net(BATCH);
	aoi_rng_seed(&rng, 5);
	aoi_net_init_params(init, &rng);
	CHECK(max_rel_diff(aoi_net_params(init), aoi_net_params(ref), np) > 1e-3);
	aoi_net_free(init);
out:
	aoi_net_free(ref);
	aoi_net_free(rep);
}

static void check_rows(const aoi_dist *d)
{
	int size = aoi_dist_size(d), rank = aoi_dist_rank(d);
	CHECK_INT(aoi_dist_local_rows(d, 8 * size), 8);
	CHECK_INT(aoi_dist_local_rows(d, 0), 0);
	if (size > 1)
		CHECK_INT(aoi_dist_local_rows(d, 8 * size + 1), 0);
	CHECK_INT(aoi_dist_global_row(d, 0), rank);
	CHECK_INT(aoi_dist_global_row(d, 3), 3 * size + rank);
}

static void check_group_of_one(aoi_dist *d)
{
	aoi_error err;
	float f[3] = { 1, 2, 3 };
	double g[2] = { -1, 4 };
	char b[4] = "abc";
	CHECK_INT(aoi_dist_rank(d), 0);
	CHECK_INT(aoi_dist_size(d), 1);
	CHECK_INT(aoi_dist_local_size(d), 1);
	CHECK_INT(aoi_dist_threads(d, 3), 3);
	CHECK_INT(aoi_dist_threads(d, 0), 0);
	CHECK(aoi_dist_allreduce_float(d, f, 3, AOI_DIST_SUM, &err) == 0);
	CHECK(f[0] == 1 && f[1] == 2 && f[2] == 3);
	CHECK(aoi_dist_allreduce_double(d, g, 2, AOI_DIST_MAX, &err) == 0);
	CHECK(g[0] == -1 && g[1] == 4);
	CHECK(aoi_dist_bcast(d, b, 4, &err) == 0);
	CHECK(strcmp(b, "abc") == 0);
	CHECK(aoi_dist_barrier(d, &err) == 0);
	CHECK(aoi_dist_share_stdin(d, &err) == 0);
	aoi_dist_stats st;
	aoi_dist_get_stats(d, &st);
	CHECK_INT(st.allreduces, 0);
	CHECK(st.allreduce_bytes == 0);
	/* a NULL handle is a group of one too */
	CHECK_INT(aoi_dist_size(NULL), 1);
	CHECK_INT(aoi_dist_rank(NULL), 0);
	CHECK(aoi_dist_allreduce_float(NULL, f, 3, AOI_DIST_SUM, &err) == 0);
	aoi_dist_free(NULL, 0);
}

/* A launcher that started two processes, and no MPI in the build: each
 * would train its own model into the same files, so it is refused. */
static void check_launcher_without_mpi(void)
{
	aoi_error err;
	if (strcmp(aoi_dist_backend(), "none") != 0)
		return;
	setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
	aoi_error_clear(&err);
	aoi_dist *d = aoi_dist_new(&err);
	CHECK(d == NULL);
	CHECK(strstr(err.msg, "built without MPI") != NULL);
	aoi_dist_free(d, 0);
	setenv("OMPI_COMM_WORLD_SIZE", "1", 1);
	d = aoi_dist_new(&err);
	CHECK(d != NULL && aoi_dist_size(d) == 1);
	aoi_dist_free(d, 0);
	unsetenv("OMPI_COMM_WORLD_SIZE");
}

/* The boards of testdata/train, labels (classification) or masks. */
static aoi_loader *boards(aoi_classes *cls, enum aoi_target target)
{
	aoi_loader_opts o;
	aoi_error err;
	aoi_loader_opts_init(&o);
	o.width = o.height = 32;
	o.gray = 1;
	o.target = target;
	o.classes = cls;
	o.augment = 1;
	CHECK(aoi_loader_parse_augment("flip,rot=10", &o.aug, &err) == 0);
	o.seed = 9;
	aoi_loader *l = aoi_loader_new(&o, &err);
	json_t *all = aoi_dataset_read("testdata/train/train.jsonl", NULL, &err);
	CHECK_MSG(all != NULL, "%s", err.msg);
	if (!all || !l)
		return l;
	size_t i;
	json_t *rec;
	json_array_foreach(all, i, rec) {
		if (target == AOI_TARGET_MASK)
			aoi_classes_from_record(cls, rec, NULL);
		else
			aoi_classes_add(cls, aoi_record_str(rec, "label"));
	}
	json_array_foreach(all, i, rec)
		CHECK(aoi_loader_add(l, rec, "testdata/train", "train.jsonl", (long)i + 1, &err) == 0);
	json_decref(all);
	aoi_norm norm;
	CHECK(aoi_loader_compute_norm(l, 0, &norm, NULL) == 0);
	aoi_loader_set_norm(l, &norm);
	return l;
}

/* No batch norm, no dropout: one process and N agree to rounding. */
static aoi_net *plain_net(int classes, int segmentation)
{
	aoi_error err;
	aoi_rng rng;
	aoi_net *net = aoi_net_new(1, &err);
	aoi_net_set_input_size(net, 32, 32, &err);
	int x = aoi_net_conv(net, 0, 6, 3, 1, 1, 1, 1, 1, &err);
	x = aoi_net_activation(net, x, AOI_ACT_RELU, 0, &err);
	if (segmentation) {
		x = aoi_net_conv(net, x, classes, 3, 1, 1, 1, 1, 1, &err);
	} else {
		x = aoi_net_maxpool(net, x, 2, 2, 0, &err);
		x = aoi_net_global_avgpool(net, x, &err);
		x = aoi_net_flatten(net, x, &err);
		x = aoi_net_dense(net, x, classes, 1, &err);
	}
	CHECK_MSG(x > 0, "%s", err.msg);
	aoi_rng_seed(&rng, 4);
	aoi_net_init_params(net, &rng);
	aoi_net_set_threads(net, 1);
	return net;
}

/* Train with the group d, or alone (d NULL); the last epoch's numbers. */
static aoi_net *train_boards(aoi_dist *d, enum aoi_task task, aoi_train_epoch *last)
{
	aoi_classes cls;
	aoi_error err;
	aoi_classes_init(&cls);
	int seg = task == AOI_TASK_SEGMENTATION;
	aoi_loader *l = boards(&cls, seg ? AOI_TARGET_MASK : AOI_TARGET_LABEL);
	aoi_net *net = plain_net(seg ? cls.n + 1 : cls.n, seg);
	aoi_train_opts o;
	aoi_train_opts_init(&o);
	o.epochs = 3;
	o.batch = 4;
	o.task = task;
	/* SGD for one: a gradient off by a constant factor would not show
	 * through Adam, which divides it out */
	if (task == AOI_TASK_CLASSIFICATION) {
		aoi_optim_opts_init(&o.optim, AOI_OPTIM_SGD);
		o.optim.lr = 0.1;
		o.optim.momentum = 0.9;
	} else {
		o.optim.lr = 0.01;
	}
	o.seed = 11;
	o.dist = d;
	aoi_trainer *t = l ? aoi_trainer_new(net, l, l, &o, &err) : NULL;
	CHECK_MSG(t != NULL, "%s", err.msg);
	if (t) {
		CHECK_MSG(aoi_trainer_run(t, &err) == 0, "%s", err.msg);
		*last = *aoi_trainer_last(t);
	}
	aoi_trainer_free(t);
	aoi_loader_free(l);
	aoi_classes_release(&cls);
	return net;
}

static void check_trainer(aoi_dist *d, enum aoi_task task)
{
	aoi_train_epoch one, many;
	if (access("testdata/train/train.jsonl", R_OK) != 0) {
		printf("skipped: testdata/train is not here (run from the top directory)\n");
		return;
	}
	memset(&one, 0, sizeof(one));
	memset(&many, 0, sizeof(many));
	aoi_net *a = train_boards(NULL, task, &one);
	aoi_net *b = train_boards(d, task, &many);
	size_t n = aoi_net_param_count(a);
	double diff = max_rel_diff(aoi_net_params(a), aoi_net_params(b), n);
	CHECK_MSG(diff < 1e-4, "task %d, %d processes: weights differ by %g", (int)task,
		  aoi_dist_size(d), diff);
	CHECK_INT(many.epoch, 3);
	CHECK_NEAR(many.loss, one.loss, 1e-4 * fabs(one.loss));
	CHECK_NEAR(many.val_loss, one.val_loss, 1e-4 * fabs(one.val_loss));
	CHECK_NEAR(many.metric, one.metric, 1e-9);
	aoi_net_free(a);
	aoi_net_free(b);
}

/* A net with batch norm: its running statistics are the state. */
static aoi_net *bn_net(void)
{
	aoi_error err;
	aoi_net *net = aoi_net_new(CH, &err);
	int x = aoi_net_conv(net, 0, 3, 3, 1, 1, 1, 1, 0, &err);
	x = aoi_net_batchnorm(net, x, &err);
	if (x < 0 || aoi_net_plan(net, 2, H, W, &err) < 0) {
		aoi_net_free(net);
		return NULL;
	}
	return net;
}

/* The trainer's helpers, with replicas that start apart on purpose. */
static void check_net_helpers(aoi_dist *d)
{
	aoi_error err;
	int size = aoi_dist_size(d), rank = aoi_dist_rank(d);
	aoi_net *net = bn_net();
	CHECK(net != NULL);
	if (!net)
		return;
	size_t np = aoi_net_param_count(net), ns = 0;
	float *p = aoi_net_params(net), *state = aoi_net_state(net, &ns);
	CHECK(ns > 0);
	aoi_rng rng;
	aoi_rng_seed(&rng, 100 + (uint64_t)rank);
	aoi_net_init_params(net, &rng);
	for (size_t i = 0; i < ns; i++)
		state[i] = (float)(rank + 1);
	float p0 = p[0];
	CHECK(aoi_dist_bcast(d, &p0, sizeof(p0), &err) == 0);  /* rank 0's */
	/* replicas differ: the check must say so (in a group of one, never) */
	if (size > 1)
		CHECK(aoi_dist_check_replicas(d, net, &err) < 0 &&
		      strstr(err.msg, "replicas differ") != NULL);
	CHECK(aoi_dist_average_state(d, net, &err) == 0);
	CHECK_NEAR(state[0], (size + 1) / 2.0, 1e-6);
	CHECK(aoi_dist_sync_net(d, net, &err) == 0);
	CHECK(p[0] == p0);
	CHECK(aoi_dist_check_replicas(d, net, &err) == 0);
	float *g = aoi_net_grads(net);
	for (size_t i = 0; i < np; i++)
		g[i] = (float)(rank + 1);
	CHECK(aoi_dist_reduce_grads(d, net, &err) == 0);
	CHECK_NEAR(g[np - 1], size * (size + 1) / 2.0, 0);
	double loss = rank;
	int halt = -1;
	CHECK(aoi_dist_agree(d, &loss, rank == size - 1, &halt, &err) == 0);
	CHECK_NEAR(loss, (size - 1) / 2.0, 1e-12);
	CHECK_INT(halt, 1);
	loss = 2;
	CHECK(aoi_dist_agree(d, &loss, 0, &halt, &err) == 0);
	CHECK_INT(halt, 0);
	CHECK_NEAR(loss, 2, 1e-12);
	char line[512];
	CHECK(aoi_dist_summary(d, line, sizeof(line), &err) == 0);
	CHECK_MSG(strstr(line, size == 1 ? "1 process x" : "processes x") &&
			  strstr(line, "peak memory per process"),
		  "%s", line);
	if (size > 1) {
		char want[64];
		snprintf(want, sizeof(want), "%.2f MB of gradients", np * 4 / 1e6);
		CHECK_MSG(strstr(line, want) != NULL, "%s", line);
	}
	aoi_net_free(net);
}

/* Collectives with values that tell the ranks apart. */
static void check_collectives(aoi_dist *d)
{
	aoi_error err;
	int size = aoi_dist_size(d), rank = aoi_dist_rank(d);
	float f[3] = { (float)rank, 1.0f, (float)(rank * rank) };
	CHECK(aoi_dist_allreduce_float(d, f, 3, AOI_DIST_SUM, &err) == 0);
	CHECK_NEAR(f[0], size * (size - 1) / 2.0, 0);
	CHECK_NEAR(f[1], size, 0);
	double g[2] = { (double)rank, -(double)rank };
	CHECK(aoi_dist_allreduce_double(d, g, 2, AOI_DIST_MAX, &err) == 0);
	CHECK_NEAR(g[0], size - 1, 0);
	CHECK_NEAR(g[1], 0, 0);
	/* a buffer of many messages' worth */
	size_t n = 3u << 20;
	float *big = malloc(n * sizeof(float));
	for (size_t i = 0; big && i < n; i++)
		big[i] = (float)(i % 1000) * (rank + 1);
	CHECK(big && aoi_dist_allreduce_float(d, big, n, AOI_DIST_SUM, &err) == 0);
	int bad = 0;
	for (size_t i = 0; big && i < n; i++)
		bad += big[i] != (float)(i % 1000) * (size * (size + 1) / 2);
	CHECK_INT(bad, 0);
	free(big);
	char msg[16];
	snprintf(msg, sizeof(msg), "from rank %d", rank);
	CHECK(aoi_dist_bcast(d, msg, sizeof(msg), &err) == 0);
	CHECK_MSG(strcmp(msg, "from rank 0") == 0, "%s", msg);
	CHECK(aoi_dist_barrier(d, &err) == 0);
	aoi_dist_stats st;
	aoi_dist_get_stats(d, &st);
	CHECK(st.allreduces >= 3);
	CHECK(st.allreduce_bytes >= 3 * 4 + 2 * 8 + n * 4.0);
	/* several on this machine: a share of its cores; alone: all (0) */
	CHECK(aoi_dist_threads(d, 0) >= (aoi_dist_local_size(d) > 1 ? 1 : 0));
}

/* Standard input as rank 0 got it, on every rank (mpi.sh sets
 * AOI_TEST_STDIN to what it pipes in). */
static void check_stdin(aoi_dist *d)
{
	aoi_error err;
	const char *want = getenv("AOI_TEST_STDIN");
	CHECK_MSG(aoi_dist_share_stdin(d, &err) == 0, "%s", err.msg);
	char got[4096];
	size_t n = fread(got, 1, sizeof(got) - 1, stdin);
	got[n] = '\0';
	if (want)
		CHECK_MSG(strcmp(got, want) == 0, "rank %d read '%s'", aoi_dist_rank(d), got);
}

int main(void)
{
	aoi_error err;
	aoi_dist *d = aoi_dist_new(&err);
	CHECK_MSG(d != NULL, "%s", err.msg);
	if (!d)
		return check_done();
	check_rows(d);
	check_net_helpers(d);
	if (aoi_dist_size(d) == 1) {
		check_group_of_one(d);
		check_data_parallel(d, 2);
		check_data_parallel(d, 4);
		check_launcher_without_mpi();
	} else {
		check_collectives(d);
		check_stdin(d);
		check_data_parallel(d, 0);
	}
	check_trainer(d, AOI_TASK_CLASSIFICATION);
	check_trainer(d, AOI_TASK_SEGMENTATION);
	/* every rank's verdict: one failing rank fails them all */
	double failed = check_failed;
	if (aoi_dist_allreduce_double(d, &failed, 1, AOI_DIST_MAX, &err) < 0)
		failed = 1;
	if (failed > check_failed && check_failed == 0)
		fprintf(stderr, "rank %d: another rank failed\n", aoi_dist_rank(d));
	int rc = check_done();
	aoi_dist_free(d, 0);
	return rc || failed > 0;
}
