/* train.c: the training loop (see train.h). */
#include "train/train_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"

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
	st->best_metric = st->best_loss = HUGE_VAL;
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
	aoi_shape s = t->out, d = aoi_net_output_shape_at(t->net, 1);
	size_t per = (size_t)s.c * s.h * s.w;
	if (t->decision && (size_t)d.c * d.h * d.w != 1)
		return aoi_error_set(err, AOI_ESHAPE, "", 0,
				     "a decision output of %d values per image, not 1", d.c * d.h * d.w);
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

/* Balanced epochs: the defective and the good training samples apart. */
static int split_kinds(aoi_trainer *t, aoi_error *err)
{
	int n = aoi_loader_count(t->train);
	for (int k = 0; k < 2; k++)
		if (!(t->kind[k] = malloc((size_t)n * sizeof(int))))
			return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	if (!(t->perm = malloc((size_t)n * sizeof(int))))
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	for (int i = 0; i < n; i++) {
		int k = !aoi_loader_defective(t->train, i);
		t->kind[k][t->nkind[k]++] = i;
	}
	return 0;
}

static int epoch_steps(const aoi_trainer *t);

static int alloc_buffers(aoi_trainer *t, aoi_error *err)
{
	aoi_shape s = t->out;
	size_t out = (size_t)s.n * s.c * s.h * s.w;
	int n = aoi_loader_count(t->train), rows = epoch_steps(t) * t->o.batch;
	t->grad = calloc(out, sizeof(float));
	t->bce_target = calloc(out, sizeof(float));
	t->dgrad = calloc((size_t)s.n, sizeof(float));
	t->dtarget = calloc((size_t)s.n, sizeof(float));
	t->order = calloc((size_t)(n > rows ? n : rows), sizeof(int));
	if (!t->grad || !t->bce_target || !t->order || !t->dgrad || !t->dtarget)
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	if (t->o.balance && t->o.task == AOI_TASK_SEGMENTATION && split_kinds(t, err) < 0)
		return -1;
	return aoi_train_val_alloc(t, err);
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
	t->decision = o->task == AOI_TASK_SEGMENTATION && aoi_net_output_count(net) > 1;
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
	free(t->dgrad);
	free(t->dtarget);
	free(t->order);
	free(t->kind[0]);
	free(t->kind[1]);
	free(t->perm);
	aoi_train_val_free(t);
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

double aoi_train_batch_loss(aoi_trainer *t, const float *out, int rows, float *grad,
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
				t->bce_target[i] = b->mask[i] > 0;
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

/* Balanced: rows alternate between defective and good samples, each kind
 * taken in turn from its own stream: its samples in an order shuffled anew
 * for every round through them (by seed, kind and round), so that across
 * epochs every sample of a kind comes as often. Epoch e starts where
 * epoch e - 1 left off: a pure function of (seed, epoch), for resuming. */
static void balanced_order(aoi_trainer *t, int epoch, int rows)
{
	for (int k = 0; k < 2; k++) {
		int nk = t->nkind[k], per = k == 0 ? (rows + 1) / 2 : rows / 2;
		long q = (long)epoch * per, round = -1;
		for (int j = k; j < rows; j += 2, q++) {
			if (q / nk != round) {
				aoi_rng base, rng;
				round = q / nk;
				memcpy(t->perm, t->kind[k], (size_t)nk * sizeof(int));
				aoi_rng_seed(&base, t->o.seed ^ 0x62616c61ULL);
				aoi_rng_fork(&base, ((uint64_t)round << 1) | (uint64_t)k, &rng);
				aoi_rng_shuffle(&rng, t->perm, (size_t)nk, sizeof(int));
			}
			t->order[j] = t->perm[q % nk];
		}
	}
}

/* The samples of an epoch's steps x batch rows: shuffled (by seed and
 * epoch), a short tail filled up from the start so that every batch is
 * full; or balanced between defective and good samples. */
static int epoch_order(aoi_trainer *t, int epoch)
{
	int n = aoi_loader_count(t->train), steps = epoch_steps(t), rows = steps * t->o.batch;
	aoi_rng base, rng;
	if (t->nkind[0] > 0 && t->nkind[1] > 0) {
		balanced_order(t, epoch, rows);
		return steps;
	}
	for (int i = 0; i < n; i++)
		t->order[i] = i;
	aoi_rng_seed(&base, t->o.seed ^ 0x7261696eULL);
	aoi_rng_fork(&base, (uint64_t)epoch, &rng);
	aoi_rng_shuffle(&rng, t->order, (size_t)n, sizeof(int));
	for (int i = n; i < rows; i++)
		t->order[i] = t->order[i % n];
	return steps;
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

/* The first o.warmup steps of the run raise the rate linearly to the
 * epoch's: Adam's first steps, taken on moments of a few batches, are
 * large, and with them a fresh net is easily thrown into predicting one
 * class everywhere. */
static void lr_warmup(aoi_trainer *t, int epoch, int step)
{
	double s = (double)epoch * epoch_steps(t) + step + 1;
	if (t->o.warmup <= 0 || s > t->o.warmup)
		return;
	aoi_optim_set_lr(t->opt, aoi_sched_lr(&t->st.sched, epoch) * s / t->o.warmup);
}

double aoi_train_decision_loss(aoi_trainer *t, int rows, float *grad)
{
	for (int r = 0; r < rows; r++)
		t->dtarget[r] = (float)t->batch.defect[r];
	return aoi_loss_bce(aoi_net_output_at(t->net, 1), t->dtarget, (size_t)rows, grad);
}

/* The weight of the segmentation loss in epoch e, the decision's taking
 * the rest (Bozic et al. 2021's dynamic balance): from 1 in the first
 * epoch down to 1/epochs in the last, so that the decision learns from
 * features and a segmentation that are already of use. */
static double seg_weight(const aoi_trainer *t, int epoch)
{
	return 1.0 - (double)epoch / t->o.epochs;
}

/* A training step's loss and the gradients of the outputs. */
static double step_loss(aoi_trainer *t, int epoch, const float *out, int rows,
			aoi_error *err)
{
	double seg = aoi_train_batch_loss(t, out, rows, t->grad, err);
	if (!t->decision || seg < 0)
		return seg;
	double w = seg_weight(t, epoch), dec = aoi_train_decision_loss(t, rows, t->dgrad);
	size_t n = (size_t)rows * t->out.c * t->out.h * t->out.w;
	for (size_t i = 0; i < n; i++)
		t->grad[i] *= (float)w;
	for (int r = 0; r < rows; r++)
		t->dgrad[r] *= (float)(1 - w);
	return w * seg + (1 - w) * dec;
}

static int train_step(aoi_trainer *t, int epoch, int step, aoi_rng *rng, double *loss,
		      aoi_error *err)
{
	int b = t->o.batch, rows = t->rows;
	int idx[rows];
	for (int r = 0; r < rows; r++) /* this process's share of the batch */
		idx[r] = t->order[step * b + aoi_dist_global_row(t->o.dist, r)];
	if (aoi_loader_fill(t->train, &t->batch, idx, rows, epoch, 1, err) < 0)
		return -1;
	aoi_net_zero_grads(t->net);
	bn_warmup(t, epoch, step);
	lr_warmup(t, epoch, step);
	const float *out = aoi_net_forward(t->net, t->batch.x, 1, rng, err);
	if (!out)
		return -1;
	*loss = step_loss(t, epoch, out, rows, err);
	if (*loss < 0 || !isfinite(*loss))
		return *loss < 0 ? -1
				 : aoi_error_set(err, AOI_EINVAL, "", 0,
						 "the loss is not finite at epoch %d step %d (learning rate too high?)",
						 epoch + 1, step + 1);
	aoi_dist_scale_loss_grad(t->o.dist, t->grad, (size_t)rows * t->out.c * t->out.h * t->out.w);
	aoi_dist_scale_loss_grad(t->o.dist, t->dgrad, (size_t)rows);
	const float *grads[AOI_NET_MAX_OUTPUTS] = { t->grad, t->decision ? t->dgrad : NULL };
	if (aoi_net_backward_outputs(t->net, grads, err) < 0 ||
	    aoi_dist_reduce_grads(t->o.dist, t->net, err) < 0)
		return -1;
	aoi_optim_step(t->opt, t->net);
	return aoi_dist_agree(t->o.dist, loss, t->o.stop && *t->o.stop, &t->halt, err);
}

int aoi_train_stopped(const aoi_trainer *t)
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
		if (aoi_train_stopped(t)) {
			aoi_progress_end(&p);
			return -2;
		}
	}
	aoi_progress_end(&p);
	return sum / steps;
}

static double round4(double v)
{
	return round(v * 1e4) / 1e4;
}

static double round6(double v)
{
	return round(v * 1e6) / 1e6;
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
		aoi_train_val_json(t, line);
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
		json_object_set_new(p, aoi_train_val_metric_name(t), json_real(round4(e->metric)));
	}
	if (t->m.image_ap >= 0) {
		json_object_set_new(p, "image_ap", json_real(round4(t->m.image_ap)));
		json_object_set_new(p, "image_auroc", json_real(round4(t->m.image_auroc)));
	}
}

static int save_best(aoi_trainer *t, aoi_error *err)
{
	if (t->decision) /* the threshold of the best F1 on validation */
		t->o.info->threshold = t->m.threshold;
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

/* What decides the best epoch (lower is better): minus the image-level
 * AP when the validation set has good and defective images (what an
 * inspection needs: the validation loss of a segmentation is mostly its
 * background, and falls as well for a net that marks no defect at all),
 * else the validation loss. */
static double monitored_value(const aoi_trainer *t)
{
	return t->m.image_ap >= 0 ? -t->m.image_ap : t->last.val_loss;
}

/* Better than the best so far: a lower monitored value, or (equal AP) a
 * lower validation loss. */
static int improved(const aoi_trainer *t, double monitored)
{
	const aoi_checkpoint *st = &t->st;
	if (monitored != st->best_metric)
		return monitored < st->best_metric;
	return t->last.val_loss < st->best_loss;
}

/* After an epoch: schedule, best model, early stopping. Returns 1 when
 * early stopping ends training. */
static int end_epoch(aoi_trainer *t, int epoch, aoi_error *err)
{
	aoi_checkpoint *st = &t->st;
	double monitored = monitored_value(t);
	st->epoch = epoch + 1;
	if (st->sched.kind == AOI_SCHED_PLATEAU)
		aoi_sched_observe(&st->sched, epoch, monitored);
	int stop = t->o.early_stop > 0 && aoi_early_stop_observe(&st->stop, epoch, monitored);
	if (improved(t, monitored)) {
		st->best_metric = monitored;
		st->best_loss = t->last.val_loss;
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
	t->last = (aoi_train_epoch){ epoch + 1, loss, loss, 0, -1, -1, lr, 0 };
	if (t->val) {
		int rc = aoi_train_validate(t, epoch, err);
		if (rc < 0)
			return rc;
		t->last.val_loss = t->m.loss;
		t->last.metric = aoi_train_val_metric(t);
		t->last.image_ap = t->m.image_ap;
		t->last.image_auroc = t->m.image_auroc;
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
		if (aoi_train_stopped(t)) {
			/* with a checkpoint path the epoch's checkpoint is there */
			if (!t->o.checkpoint_path && save_checkpoint(t, stop_path(t), err) < 0)
				return -1;
			return 1;
		}
	}
	return 0;
}
