/* train.c: the training loop (see train.h). */
#include "train/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"

/* Validation numbers accumulated over batches. */
typedef struct metrics {
	double loss;
	long batches;
	int k;                 /* mask classes incl. background */
	long long *confusion;  /* k x k: truth row, prediction column */
	long correct, total;   /* classification */
	double centre_err;     /* keypoints: summed centre distance */
} metrics;

struct aoi_trainer {
	aoi_net *net;
	aoi_loader *train, *val;
	aoi_train_opts o;
	aoi_optim *opt;
	aoi_checkpoint st;
	aoi_train_epoch last;
	aoi_batch batch;
	float *grad;           /* d loss / d output */
	float *bce_target;     /* mask as 0/1 for a one-channel output */
	int *order;
	aoi_shape out;
	metrics m;
	int rows;              /* of each global batch on this process */
	int halt;              /* all processes agreed to stop (dist) */
};

void aoi_train_opts_init(aoi_train_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->epochs = 10;
	o->batch = 8;
	o->task = AOI_TASK_SEGMENTATION;
	aoi_loss_parse(&o->loss, "ce", NULL);
	aoi_optim_opts_init(&o->optim, AOI_OPTIM_ADAM);
	o->sched = AOI_SCHED_CONST;
}

static void state_init(aoi_checkpoint *st, const aoi_train_opts *o)
{
	memset(st, 0, sizeof(*st));
	st->best_metric = HUGE_VAL;
	aoi_rng_seed(&st->rng, o->seed);
	aoi_sched_init(&st->sched, o->sched, o->optim.lr, o->epochs);
	if (o->step_size > 0)
		st->sched.step = o->step_size;
	if (o->gamma > 0) {
		st->sched.gamma = o->gamma;
		st->sched.factor = o->gamma;
	}
	if (o->patience > 0)
		st->sched.patience = o->patience;
	if (o->min_lr > 0)
		st->sched.min_lr = o->min_lr;
	aoi_early_stop_init(&st->stop, o->early_stop);
}

static int check_output(const aoi_trainer *t, aoi_error *err)
{
	aoi_shape s = t->out;
	size_t per = (size_t)s.c * s.h * s.w;
	if (t->o.task == AOI_TASK_SEGMENTATION) {
		if (s.h != t->batch.h || s.w != t->batch.w)
			return aoi_error_set(err, AOI_ESHAPE, "", 0,
					     "network output %dx%d for input %dx%d", s.w, s.h,
					     t->batch.w, t->batch.h);
		return 0;
	}
	if (t->o.task == AOI_TASK_KEYPOINTS && per % 2)
		return aoi_error_set(err, AOI_ESHAPE, "", 0, "odd keypoint output %zu", per);
	return 0;
}

/* Batch norm over a single value per channel (a batch of one that reaches
 * 1x1) outputs its bias whatever the input: the net's output is constant
 * and nothing before it learns. PyTorch refuses it too. */
static int check_batchnorm(const aoi_trainer *t, aoi_error *err)
{
	aoi_node_info ni;
	for (int i = 0; i < aoi_net_node_count(t->net); i++)
		if (aoi_net_node_info(t->net, i, &ni) == 0 && strcmp(ni.kind, "batchnorm") == 0 &&
		    (long)ni.out.n * ni.out.h * ni.out.w < 2)
			return aoi_error_set(err, AOI_EINVAL, "", 0,
					     "batch norm in %s would normalise one value per channel (%d image%s of %dx%d at %dx%d there) and output a constant: use a batch of 2 or more or a larger input",
					     ni.block && *ni.block ? ni.block : "the net", t->rows,
					     t->rows == 1 ? "" : "s", t->batch.w, t->batch.h,
					     ni.out.w, ni.out.h);
	return 0;
}

static int alloc_buffers(aoi_trainer *t, aoi_error *err)
{
	aoi_shape s = t->out;
	size_t out = (size_t)s.n * s.c * s.h * s.w;
	int n = aoi_loader_count(t->train);
	t->grad = calloc(out, sizeof(float));
	t->bce_target = calloc(out, sizeof(float));
	t->order = calloc((size_t)(n > t->o.batch ? n : t->o.batch), sizeof(int));
	t->m.k = s.c == 1 ? 2 : s.c;
	if (t->o.task == AOI_TASK_SEGMENTATION)
		t->m.confusion = calloc((size_t)t->m.k * t->m.k, sizeof(long long));
	if (!t->grad || !t->bce_target || !t->order ||
	    (t->o.task == AOI_TASK_SEGMENTATION && !t->m.confusion))
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	return 0;
}

/* This process's rows of each batch; with several, only rank 0 writes. */
static int dist_setup(aoi_trainer *t, aoi_error *err)
{
	int size = aoi_dist_size(t->o.dist);
	t->rows = aoi_dist_local_rows(t->o.dist, t->o.batch);
	if (t->rows == 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "a batch of %d does not divide among %d processes",
				     t->o.batch, size);
	if (aoi_dist_rank(t->o.dist) > 0) {
		t->o.log = NULL;
		t->o.progress = 0;
		t->o.model_path = t->o.checkpoint_path = t->o.interrupt_path = NULL;
	}
	return 0;
}

aoi_trainer *aoi_trainer_new(aoi_net *net, aoi_loader *train, aoi_loader *val,
			     const aoi_train_opts *o, aoi_error *err)
{
	if (aoi_loader_count(train) == 0) {
		aoi_error_set(err, AOI_EINVAL, "", 0, "no training samples");
		return NULL;
	}
	aoi_trainer *t = calloc(1, sizeof(*t));
	if (!t) {
		aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
		return NULL;
	}
	t->net = net;
	t->train = train;
	t->val = val;
	t->o = *o;
	state_init(&t->st, o);
	if (dist_setup(t, err) < 0 || aoi_batch_alloc(&t->batch, train, t->rows, err) < 0 ||
	    aoi_net_plan(net, t->rows, t->batch.h, t->batch.w, err) < 0 ||
	    aoi_dist_sync_net(o->dist, net, err) < 0)
		goto fail;
	t->out = aoi_net_output_shape(net);
	/* seed 002's rectangle loss: squared errors of pixel coordinates */
	if (o->task == AOI_TASK_KEYPOINTS && !(t->o.loss.opts.pixels[0] > 0.0f)) {
		t->o.loss.opts.pixels[0] = (float)t->batch.w;
		t->o.loss.opts.pixels[1] = (float)t->batch.h;
	}
	if (check_output(t, err) < 0 || check_batchnorm(t, err) < 0 || alloc_buffers(t, err) < 0)
		goto fail;
	t->opt = aoi_optim_new_for(&o->optim, net, err);
	if (!t->opt)
		goto fail;
	return t;
fail:
	aoi_trainer_free(t);
	return NULL;
}

void aoi_trainer_free(aoi_trainer *t)
{
	if (!t)
		return;
	aoi_net_set_bn_momentum(t->net, AOI_BN_MOMENTUM);
	aoi_batch_release(&t->batch);
	aoi_optim_free(t->opt);
	free(t->grad);
	free(t->bce_target);
	free(t->order);
	free(t->m.confusion);
	free(t);
}

int aoi_trainer_resume(aoi_trainer *t, const aoi_checkpoint *ck, aoi_optim *opt,
		       aoi_error *err)
{
	size_t have, want;
	float *src = aoi_optim_state(opt, &have);
	float *dst = aoi_optim_state(t->opt, &want);
	if (have != want)
		return aoi_error_set(err, AOI_ESHAPE, "", 0,
				     "optimiser state of %zu values, this one needs %zu", have,
				     want);
	memcpy(dst, src, want * sizeof(float));
	t->st = *ck;
	return 0;
}

const aoi_checkpoint *aoi_trainer_progress(const aoi_trainer *t)
{
	return &t->st;
}

aoi_optim *aoi_trainer_optim(aoi_trainer *t)
{
	return t->opt;
}

aoi_net *aoi_trainer_net(aoi_trainer *t)
{
	return t->net;
}

const aoi_train_epoch *aoi_trainer_last(const aoi_trainer *t)
{
	return &t->last;
}

/* The loss of the first `rows` rows of the output; grad may be NULL. */
static double batch_loss(aoi_trainer *t, const float *out, int rows, float *grad,
			 aoi_error *err)
{
	aoi_shape s = t->out;
	s.n = rows;
	aoi_loss_target tg = { NULL, NULL };
	const aoi_batch *b = &t->batch;
	size_t per = (size_t)s.c * s.h * s.w;
	if (t->o.task == AOI_TASK_SEGMENTATION) {
		tg.labels = b->mask;
		if (s.c == 1) {
			for (size_t i = 0; i < (size_t)rows * per; i++)
				t->bce_target[i] = b->mask[i] != 0;
			tg.values = t->bce_target;
		}
	} else if (t->o.task == AOI_TASK_CLASSIFICATION) {
		tg.labels = b->label;
		if (s.c == 1) {
			for (int i = 0; i < rows; i++)
				t->bce_target[i] = (float)b->label[i];
			tg.values = t->bce_target;
		}
	} else {
		tg.values = b->points;
	}
	return aoi_loss_eval(&t->o.loss, out, s, &tg, grad, err);
}

/* Optimiser steps per epoch, the same in every epoch. */
static int epoch_steps(const aoi_trainer *t)
{
	int steps = (aoi_loader_count(t->train) + t->o.batch - 1) / t->o.batch;
	if (t->o.max_steps > 0 && steps > t->o.max_steps)
		steps = t->o.max_steps;
	return steps;
}

/* The order of training samples for an epoch; a short tail is filled up
 * from the start so that every batch is full. */
static int epoch_order(aoi_trainer *t, int epoch)
{
	int n = aoi_loader_count(t->train);
	aoi_rng base, rng;
	for (int i = 0; i < n; i++)
		t->order[i] = i;
	aoi_rng_seed(&base, t->o.seed ^ 0x7261696eULL);
	aoi_rng_fork(&base, (uint64_t)epoch, &rng);
	aoi_rng_shuffle(&rng, t->order, (size_t)n, sizeof(int));
	return epoch_steps(t);
}

/* Batch-norm running statistics start as mean 0, variance 1, a guess
 * that PyTorch's momentum of 0.1 keeps 0.9^t of after t steps; actual
 * variances are nearer 0.1, so after a short run the eval-mode outputs of
 * a deep net came out constant (mbv2-cls-s, mbv2-corners-s: the same in
 * PyTorch). The run's first steps therefore average their batches alike
 * (momentum 1/t at step t, a cumulative mean) until 1/t falls to 0.1.
 * t counts from the first epoch, so that a resumed run goes on exactly. */
static void bn_warmup(aoi_trainer *t, int epoch, int step)
{
	double m = 1.0 / ((double)epoch * epoch_steps(t) + step + 1);
	aoi_net_set_bn_momentum(t->net, m > AOI_BN_MOMENTUM ? m : AOI_BN_MOMENTUM);
}

static int train_step(aoi_trainer *t, int epoch, int step, aoi_rng *rng, double *loss,
		      aoi_error *err)
{
	int n = aoi_loader_count(t->train), b = t->o.batch, rows = t->rows;
	int idx[rows];
	for (int r = 0; r < rows; r++) /* this process's share of the batch */
		idx[r] = t->order[(step * b + aoi_dist_global_row(t->o.dist, r)) % n];
	if (aoi_loader_fill(t->train, &t->batch, idx, rows, epoch, 1, err) < 0)
		return -1;
	aoi_net_zero_grads(t->net);
	bn_warmup(t, epoch, step);
	const float *out = aoi_net_forward(t->net, t->batch.x, 1, rng, err);
	if (!out)
		return -1;
	*loss = batch_loss(t, out, rows, t->grad, err);
	if (*loss < 0 || !isfinite(*loss))
		return *loss < 0 ? -1
				 : aoi_error_set(err, AOI_EINVAL, "", 0,
						 "the loss is not finite at epoch %d step %d (learning rate too high?)",
						 epoch + 1, step + 1);
	aoi_dist_scale_loss_grad(t->o.dist, t->grad, (size_t)rows * t->out.c * t->out.h * t->out.w);
	if (aoi_net_backward(t->net, t->grad, err) < 0 ||
	    aoi_dist_reduce_grads(t->o.dist, t->net, err) < 0)
		return -1;
	aoi_optim_step(t->opt, t->net);
	return aoi_dist_agree(t->o.dist, loss, t->o.stop && *t->o.stop, &t->halt, err);
}

static int stopped(const aoi_trainer *t)
{
	if (aoi_dist_size(t->o.dist) > 1) /* what all agreed at the last step */
		return t->halt;
	return t->o.stop && *t->o.stop;
}

/* One pass over the training data; returns the mean loss, or -1 (error)
 * or -2 (stopped). */
static double train_epoch(aoi_trainer *t, int epoch, aoi_error *err)
{
	int steps = epoch_order(t, epoch);
	aoi_rng base, rng;
	aoi_rng_seed(&base, t->o.seed ^ 0x64726f70ULL);
	aoi_rng_fork(&base, (uint64_t)epoch, &rng);
	if (aoi_dist_rank(t->o.dist) > 0) { /* other rows, other dropout */
		base = rng;
		aoi_rng_fork(&base, (uint64_t)aoi_dist_rank(t->o.dist), &rng);
	}
	aoi_progress p;
	char label[64], extra[64];
	snprintf(label, sizeof(label), "epoch %d/%d", epoch + 1, t->o.epochs);
	aoi_progress_init(&p, label, steps);
	if (!t->o.progress)
		p.tty = 0;
	double sum = 0;
	for (int s = 0; s < steps; s++) {
		double loss;
		if (train_step(t, epoch, s, &rng, &loss, err) < 0) {
			aoi_progress_end(&p);
			return -1;
		}
		sum += loss;
		snprintf(extra, sizeof(extra), "loss %.4f", sum / (s + 1));
		aoi_progress_step(&p, 1, extra);
		if (stopped(t)) {
			aoi_progress_end(&p);
			return -2;
		}
	}
	aoi_progress_end(&p);
	return sum / steps;
}

static void metrics_reset(metrics *m)
{
	if (m->confusion)
		memset(m->confusion, 0, (size_t)m->k * m->k * sizeof(long long));
	m->loss = 0;
	m->batches = 0;
	m->correct = m->total = 0;
	m->centre_err = 0;
}

static int argmax(const float *v, size_t stride, int k)
{
	int best = 0;
	for (int c = 1; c < k; c++)
		if (v[c * stride] > v[best * stride])
			best = c;
	return best;
}

static void add_segmentation(metrics *m, const aoi_batch *b, const float *out,
			     aoi_shape s, int rows)
{
	size_t plane = (size_t)s.h * s.w;
	for (int r = 0; r < rows; r++) {
		const float *o = out + (size_t)r * s.c * plane;
		const int *truth = b->mask + (size_t)r * plane;
		for (size_t p = 0; p < plane; p++) {
			int pred = s.c == 1 ? o[p] > 0 : argmax(o + p, plane, s.c);
			int tr = truth[p] < m->k ? truth[p] : m->k - 1;
			m->confusion[(size_t)tr * m->k + pred]++;
		}
	}
}

static void add_classification(metrics *m, const aoi_batch *b, const float *out,
			       aoi_shape s, int rows)
{
	size_t per = (size_t)s.c * s.h * s.w;
	for (int r = 0; r < rows; r++) {
		int pred = per == 1 ? out[r] > 0 : argmax(out + r * per, 1, (int)per);
		m->correct += pred == b->label[r];
		m->total++;
	}
}

/* Distance between predicted and true centres, in original pixels. */
static void add_keypoints(metrics *m, const aoi_batch *b, const float *out, aoi_shape s,
			  int rows)
{
	int per = s.c * s.h * s.w, np = per / 2;
	for (int r = 0; r < rows; r++) {
		const float *o = out + (size_t)r * per, *tr = b->points + (size_t)r * per;
		const float *sc = b->scale + 4 * r;
		double dx = 0, dy = 0;
		for (int i = 0; i < np; i++) {
			dx += (o[2 * i] - tr[2 * i]) * b->w * sc[0];
			dy += (o[2 * i + 1] - tr[2 * i + 1]) * b->h * sc[1];
		}
		m->centre_err += hypot(dx / np, dy / np);
		m->total++;
	}
}

/* The sums of every process's share of the validation set, on each. */
static int merge_metrics(aoi_trainer *t, aoi_error *err)
{
	metrics *m = &t->m;
	size_t kk = m->confusion ? (size_t)m->k * m->k : 0;
	if (aoi_dist_size(t->o.dist) == 1)
		return 0;
	double *v = malloc((5 + kk) * sizeof(double));
	if (!v)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	double head[5] = { m->loss, (double)m->batches, (double)m->correct,
			   (double)m->total, m->centre_err };
	memcpy(v, head, sizeof(head));
	for (size_t i = 0; i < kk; i++)
		v[5 + i] = (double)m->confusion[i];
	int rc = aoi_dist_allreduce_double(t->o.dist, v, 5 + kk, AOI_DIST_SUM, err);
	m->loss = v[0];
	m->batches = (long)v[1];
	m->correct = (long)v[2];
	m->total = (long)v[3];
	m->centre_err = v[4];
	for (size_t i = 0; i < kk; i++)
		m->confusion[i] = (long long)v[5 + i];
	free(v);
	return rc;
}

static int validate(aoi_trainer *t, int epoch, aoi_error *err)
{
	metrics *m = &t->m;
	int n = aoi_loader_count(t->val), b = t->rows;
	int idx[b], size = aoi_dist_size(t->o.dist), rank = aoi_dist_rank(t->o.dist);
	metrics_reset(m);
	for (int i = rank * b; i < n; i += size * b) { /* every size-th batch */
		int rows = n - i < b ? n - i : b;
		for (int r = 0; r < rows; r++)
			idx[r] = i + r;
		if (aoi_loader_fill(t->val, &t->batch, idx, rows, epoch, 0, err) < 0)
			return -1;
		const float *out = aoi_net_forward(t->net, t->batch.x, 0, NULL, err);
		if (!out)
			return -1;
		double loss = batch_loss(t, out, rows, NULL, err);
		if (loss < 0)
			return -1;
		m->loss += loss * rows;
		m->batches += rows;
		if (t->o.task == AOI_TASK_SEGMENTATION)
			add_segmentation(m, &t->batch, out, t->out, rows);
		else if (t->o.task == AOI_TASK_CLASSIFICATION)
			add_classification(m, &t->batch, out, t->out, rows);
		else
			add_keypoints(m, &t->batch, out, t->out, rows);
		if (stopped(t))
			return -2;
	}
	if (merge_metrics(t, err) < 0)
		return -1;
	m->loss /= m->batches;
	return 0;
}

/* Mean IoU over the classes that occur (in truth or prediction). */
static double mean_iou(const metrics *m)
{
	double sum = 0;
	int count = 0;
	for (int c = 0; c < m->k; c++) {
		long long tp = m->confusion[(size_t)c * m->k + c], fp = 0, fn = 0;
		for (int o = 0; o < m->k; o++)
			if (o != c) {
				fp += m->confusion[(size_t)o * m->k + c];
				fn += m->confusion[(size_t)c * m->k + o];
			}
		if (tp + fp + fn > 0) {
			sum += (double)tp / (double)(tp + fp + fn);
			count++;
		}
	}
	return count ? sum / count : 0;
}

static double class_f1(const metrics *m, int c)
{
	long long tp = m->confusion[(size_t)c * m->k + c], fp = 0, fn = 0;
	for (int o = 0; o < m->k; o++)
		if (o != c) {
			fp += m->confusion[(size_t)o * m->k + c];
			fn += m->confusion[(size_t)c * m->k + o];
		}
	return tp ? 2.0 * tp / (double)(2 * tp + fp + fn) : 0;
}

static double round4(double v)
{
	return round(v * 1e4) / 1e4;
}

static double round6(double v)
{
	return round(v * 1e6) / 1e6;
}

/* The validation metrics of the epoch into the log line. */
static void metrics_json(const aoi_trainer *t, json_t *line)
{
	const metrics *m = &t->m;
	if (t->o.task == AOI_TASK_CLASSIFICATION) {
		json_object_set_new(line, "accuracy",
				    json_real(round4(m->total ? (double)m->correct / m->total : 0)));
		return;
	}
	if (t->o.task == AOI_TASK_KEYPOINTS) {
		json_object_set_new(line, "centre_mae",
				    json_real(round4(m->total ? m->centre_err / m->total : 0)));
		return;
	}
	json_object_set_new(line, "miou", json_real(round4(mean_iou(m))));
	const aoi_classes *cls = t->o.classes;
	json_t *f1 = json_object();
	for (int c = 1; c < m->k; c++) {
		char num[32];
		snprintf(num, sizeof(num), "%d", c);
		const char *name = cls && c <= cls->n ? cls->names[c - 1] : num;
		json_object_set_new(f1, name, json_real(round4(class_f1(m, c))));
	}
	json_object_set_new(line, "f1", f1);
}

static const char *metric_name(const aoi_trainer *t)
{
	return t->o.task == AOI_TASK_SEGMENTATION     ? "miou"
	       : t->o.task == AOI_TASK_CLASSIFICATION ? "accuracy"
						      : "centre_mae";
}

static double epoch_metric(const aoi_trainer *t)
{
	const metrics *m = &t->m;
	if (t->o.task == AOI_TASK_SEGMENTATION)
		return mean_iou(m);
	if (t->o.task == AOI_TASK_CLASSIFICATION)
		return m->total ? (double)m->correct / m->total : 0;
	return m->total ? m->centre_err / m->total : 0;
}

static int log_epoch(const aoi_trainer *t, aoi_error *err)
{
	if (!t->o.log)
		return 0;
	const aoi_train_epoch *e = &t->last;
	json_t *line = json_object();
	json_object_set_new(line, "epoch", json_integer(e->epoch));
	json_object_set_new(line, "loss", json_real(round6(e->loss)));
	if (t->val) {
		json_object_set_new(line, "val_loss", json_real(round6(e->val_loss)));
		metrics_json(t, line);
	}
	json_object_set_new(line, "lr", json_real(e->lr));
	json_object_set_new(line, "seconds", json_real(round(e->seconds * 100) / 100));
	int rc = aoi_record_write(t->o.log, line, err);
	json_decref(line);
	if (rc == 0 && fflush(t->o.log) != 0)
		rc = aoi_error_set(err, AOI_EIO, "", 0, "cannot write the training log");
	return rc;
}

/* The epoch's numbers into the provenance of the files written. */
static void note_provenance(aoi_trainer *t)
{
	aoi_model_info *info = t->o.info;
	if (!info->provenance)
		aoi_model_info_set_provenance(info, json_object());
	json_t *p = info->provenance;
	const aoi_train_epoch *e = &t->last;
	json_object_set_new(p, "epoch", json_integer(e->epoch));
	json_object_set_new(p, "loss", json_real(round6(e->loss)));
	if (t->val) {
		json_object_set_new(p, "val_loss", json_real(round6(e->val_loss)));
		json_object_set_new(p, metric_name(t), json_real(round4(e->metric)));
	}
}

static int save_best(aoi_trainer *t, aoi_error *err)
{
	if (!t->o.model_path)
		return 0;
	note_provenance(t);
	return aoi_model_save(t->o.model_path, t->o.info, t->net, err);
}

static int save_checkpoint(aoi_trainer *t, const char *path, aoi_error *err)
{
	if (!path)
		return 0;
	return aoi_checkpoint_save(path, t->o.info, t->net, t->opt, &t->st, err);
}

/* After an epoch: schedule, best model, early stopping. Returns 1 when
 * early stopping ends training. */
static int end_epoch(aoi_trainer *t, int epoch, aoi_error *err)
{
	aoi_checkpoint *st = &t->st;
	double monitored = t->last.val_loss;
	st->epoch = epoch + 1;
	if (st->sched.kind == AOI_SCHED_PLATEAU)
		aoi_sched_observe(&st->sched, epoch, monitored);
	int stop = t->o.early_stop > 0 && aoi_early_stop_observe(&st->stop, epoch, monitored);
	if (monitored < st->best_metric) {
		st->best_metric = monitored;
		st->best_epoch = epoch + 1;
		if (save_best(t, err) < 0)
			return -1;
	}
	if (log_epoch(t, err) < 0 || save_checkpoint(t, t->o.checkpoint_path, err) < 0)
		return -1;
	return stop;
}

static int run_epoch(aoi_trainer *t, int epoch, aoi_error *err)
{
	double started = aoi_now();
	double lr = aoi_sched_lr(&t->st.sched, epoch);
	aoi_optim_set_lr(t->opt, lr);
	double loss = train_epoch(t, epoch, err);
	if (loss < 0)
		return (int)loss;
	/* one set of batch-norm statistics for validation and the files */
	if (aoi_dist_average_state(t->o.dist, t->net, err) < 0 ||
	    aoi_dist_check_replicas(t->o.dist, t->net, err) < 0)
		return -1;
	t->last = (aoi_train_epoch){ epoch + 1, loss, loss, 0, lr, 0 };
	if (t->val) {
		int rc = validate(t, epoch, err);
		if (rc < 0)
			return rc;
		t->last.val_loss = t->m.loss;
		t->last.metric = epoch_metric(t);
	}
	t->last.seconds = aoi_now() - started;
	return end_epoch(t, epoch, err);
}

static const char *stop_path(const aoi_trainer *t)
{
	return t->o.checkpoint_path ? t->o.checkpoint_path : t->o.interrupt_path;
}

/* Would another epoch at the last one's pace end past the time limit? */
static int out_of_time(const aoi_trainer *t, double started)
{
	return t->o.time_limit > 0 && t->last.epoch > 0 &&
	       aoi_now() - started + t->last.seconds > t->o.time_limit;
}

int aoi_trainer_run(aoi_trainer *t, aoi_error *err)
{
	double started = aoi_now();
	for (int epoch = t->st.epoch; epoch < t->o.epochs && !out_of_time(t, started); epoch++) {
		int rc = run_epoch(t, epoch, err);
		if (rc == -2) /* stopped: the epoch will be run again */
			return save_checkpoint(t, stop_path(t), err) < 0 ? -1 : 1;
		if (rc < 0)
			return -1;
		if (rc == 1)
			break;
		if (stopped(t)) {
			/* with a checkpoint path the epoch's checkpoint is there */
			if (!t->o.checkpoint_path && save_checkpoint(t, stop_path(t), err) < 0)
				return -1;
			return 1;
		}
	}
	return 0;
}
