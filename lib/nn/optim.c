/* optim.c: SGD, Adam, AdamW with PyTorch's update rules; schedules. */
#include "nn/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

struct aoi_optim {
	aoi_optim_opts o;
	size_t nparams;
	int ntensors;
	size_t nstate;
	float *state; /* steps[ntensors], m[nparams], v[nparams] (Adam) */
};

/* This thread's share [lo, lo + len) of n elements, in contiguous blocks
 * of whole 64-byte lines where possible. */
static void thread_span(size_t n, size_t *lo, size_t *len)
{
	size_t nt = (size_t)omp_get_num_threads(), t = (size_t)omp_get_thread_num();
	size_t per = (n + nt - 1) / nt;

	per = (per + 15) & ~(size_t)15;
	*lo = t * per < n ? t * per : n;
	*len = *lo + per < n ? per : n - *lo;
}

static const char *const optim_names[AOI_OPTIM_COUNT] = {"sgd", "adam", "adamw"};
static const char *const sched_names[AOI_SCHED_COUNT] = {"const", "step", "cosine", "plateau"};

void aoi_optim_opts_init(aoi_optim_opts *o, enum aoi_optim_kind kind)
{
	memset(o, 0, sizeof *o);
	o->kind = kind;
	o->lr = kind == AOI_OPTIM_SGD ? 0.01 : 0.001;
	o->beta1 = 0.9;
	o->beta2 = 0.999;
	o->eps = 1e-8;
	o->weight_decay = kind == AOI_OPTIM_ADAMW ? 0.01 : 0.0;
}

const char *aoi_optim_kind_name(enum aoi_optim_kind kind)
{
	return (unsigned)kind < AOI_OPTIM_COUNT ? optim_names[kind] : "unknown";
}

static int parse_name(const char *name, const char *const *names, int count)
{
	for (int i = 0; name && i < count; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

int aoi_optim_kind_parse(const char *name)
{
	return parse_name(name, optim_names, AOI_OPTIM_COUNT);
}

static int check_opts(const aoi_optim_opts *o, aoi_error *err)
{
	if ((unsigned)o->kind >= AOI_OPTIM_COUNT)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "unknown optimiser %d", o->kind);
	if (!(o->lr >= 0.0) || !(o->weight_decay >= 0.0) || !(o->momentum >= 0.0))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "learning rate, momentum and weight decay must be >= 0");
	if (o->nesterov && (o->momentum <= 0.0 || o->dampening != 0.0))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "Nesterov momentum needs momentum > 0 and no dampening");
	if (o->kind != AOI_OPTIM_SGD &&
	    (!(o->beta1 >= 0.0 && o->beta1 < 1.0) || !(o->beta2 >= 0.0 && o->beta2 < 1.0) ||
	     !(o->eps >= 0.0)))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "Adam betas must be in [0, 1) and eps >= 0");
	return 0;
}

aoi_optim *aoi_optim_new(const aoi_optim_opts *o, size_t nparams, int ntensors,
			 aoi_error *err)
{
	aoi_optim *opt;
	size_t moments = o->kind == AOI_OPTIM_SGD ? (o->momentum > 0.0) : 2;

	if (check_opts(o, err) < 0)
		return NULL;
	opt = calloc(1, sizeof *opt);
	if (opt) {
		opt->o = *o;
		opt->nparams = nparams;
		opt->ntensors = ntensors;
		opt->nstate = (size_t)ntensors + moments * nparams;
		opt->state = calloc(opt->nstate ? opt->nstate : 1, sizeof *opt->state);
	}
	if (!opt || !opt->state) {
		aoi_optim_free(opt);
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory for optimiser state");
		return NULL;
	}
	return opt;
}

aoi_optim *aoi_optim_new_for(const aoi_optim_opts *o, const aoi_net *net, aoi_error *err)
{
	return aoi_optim_new(o, aoi_net_param_count(net), aoi_net_param_tensors(net), err);
}

void aoi_optim_free(aoi_optim *opt)
{
	if (!opt)
		return;
	free(opt->state);
	free(opt);
}

/* The update rules below are elementwise: each thread takes one span and
 * the span functions take restrict pointers and loop-invariant flags, so
 * that the compiler vectorises them (a loop reading the options through
 * a pointer that might alias p cannot be). Arithmetic stays in double,
 * in the same order, so results do not depend on the split and match
 * the scalar loops bit for bit. (Adam's loop stays scalar: sqrt() may set
 * errno, which GCC does not vectorise without -fno-math-errno.) */
#define OPTIM_PARALLEL_MIN 65536

typedef struct sgd_coefs {
	double lr, mu, damp, wd;
	int nesterov, first;
} sgd_coefs;

/* torch.optim.SGD: d = g + wd p; buf = d on the first step, else
 * momentum buf + (1 - dampening) d; p -= lr (nesterov ? d + momentum buf : buf). */
static void sgd_span_plain(const sgd_coefs *c, float *restrict p, const float *restrict g,
			   size_t n)
{
	const double lr = c->lr, wd = c->wd;

	for (size_t i = 0; i < n; i++)
		p[i] = (float)(p[i] - lr * (g[i] + wd * p[i]));
}

static void sgd_span_momentum(const sgd_coefs *c, float *restrict p,
			      const float *restrict g, float *restrict buf, size_t n)
{
	const double lr = c->lr, mu = c->mu, damp = c->damp, wd = c->wd;
	const int first = c->first, nesterov = c->nesterov;

	for (size_t i = 0; i < n; i++) {
		double d = g[i] + wd * p[i];
		double b = first ? d : mu * buf[i] + damp * d;
		buf[i] = (float)b;
		d = nesterov ? d + mu * b : b;
		p[i] = (float)(p[i] - lr * d);
	}
}

static void sgd_update(const aoi_optim_opts *o, float *p, const float *g, float *buf,
		       size_t n, double wd, int first)
{
	const sgd_coefs c = {o->lr, o->momentum, 1.0 - o->dampening, wd, o->nesterov, first};

#pragma omp parallel if (n > OPTIM_PARALLEL_MIN)
	{
		size_t lo, len;

		thread_span(n, &lo, &len);
		if (buf)
			sgd_span_momentum(&c, p + lo, g + lo, buf + lo, len);
		else
			sgd_span_plain(&c, p + lo, g + lo, len);
	}
}

typedef struct adam_coefs {
	double b1, b2, step, root_bc2, l2, shrink, eps;
} adam_coefs;

static void adam_span(const adam_coefs *c, float *restrict p, const float *restrict g,
		      float *restrict m, float *restrict v, size_t n)
{
	const double b1 = c->b1, b2 = c->b2, step = c->step, root_bc2 = c->root_bc2;
	const double l2 = c->l2, shrink = c->shrink, eps = c->eps;

	for (size_t i = 0; i < n; i++) {
		double d = g[i] + l2 * p[i];
		double mi = b1 * m[i] + (1.0 - b1) * d;
		double vi = b2 * v[i] + (1.0 - b2) * d * d;
		m[i] = (float)mi;
		v[i] = (float)vi;
		p[i] = (float)(p[i] * shrink - step * mi / (sqrt(vi) / root_bc2 + eps));
	}
}

/* torch.optim.Adam / AdamW: m, v moving averages; step lr / (1 - b1^t)
 * over sqrt(v) / sqrt(1 - b2^t) + eps. AdamW first shrinks p by lr wd. */
static void adam_update(const aoi_optim_opts *o, float *p, const float *g, float *m,
			float *v, size_t n, double wd, double t)
{
	double b1 = o->beta1, b2 = o->beta2, lr = o->lr;
	const adam_coefs c = {
		.b1 = b1, .b2 = b2,
		.step = lr / (1.0 - pow(b1, t)), .root_bc2 = sqrt(1.0 - pow(b2, t)),
		.l2 = o->kind == AOI_OPTIM_ADAM ? wd : 0.0,
		.shrink = o->kind == AOI_OPTIM_ADAMW ? 1.0 - lr * wd : 1.0,
		.eps = o->eps,
	};

#pragma omp parallel if (n > OPTIM_PARALLEL_MIN)
	{
		size_t lo, len;

		thread_span(n, &lo, &len);
		adam_span(&c, p + lo, g + lo, m + lo, v + lo, len);
	}
}

void aoi_optim_update_tensor(aoi_optim *opt, int tensor, const aoi_param_info *info,
			     float *params, const float *grads)
{
	float *steps = opt->state, *m = opt->state + opt->ntensors;
	size_t off = info->offset, n = info->count;
	double wd = info->decay ? opt->o.weight_decay : 0.0;

	if (info->frozen || tensor < 0 || tensor >= opt->ntensors || off + n > opt->nparams)
		return;
	steps[tensor] += 1.0f;
	if (opt->o.kind == AOI_OPTIM_SGD)
		sgd_update(&opt->o, params + off, grads + off,
			   opt->o.momentum > 0.0 ? m + off : NULL, n, wd, steps[tensor] == 1.0f);
	else
		adam_update(&opt->o, params + off, grads + off, m + off,
			    m + opt->nparams + off, n, wd, steps[tensor]);
}

void aoi_optim_step(aoi_optim *opt, aoi_net *net)
{
	float *params = aoi_net_params(net);
	const float *grads = aoi_net_grads(net);
	int n = aoi_net_param_tensors(net);

	for (int i = 0; i < n; i++)
		aoi_optim_update_tensor(opt, i, aoi_net_param_info(net, i), params, grads);
}

double aoi_optim_lr(const aoi_optim *opt)
{
	return opt->o.lr;
}

void aoi_optim_set_lr(aoi_optim *opt, double lr)
{
	opt->o.lr = lr;
}

const aoi_optim_opts *aoi_optim_options(const aoi_optim *opt)
{
	return &opt->o;
}

float *aoi_optim_state(aoi_optim *opt, size_t *count)
{
	*count = opt->nstate;
	return opt->state;
}

/* ---- schedules ---- */

void aoi_sched_init(aoi_sched *s, enum aoi_sched_kind kind, double lr0, int epochs)
{
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->lr0 = s->lr = lr0;
	s->step = 30;
	s->gamma = 0.1;
	s->epochs = epochs > 0 ? epochs : 1;
	s->factor = 0.1;
	s->patience = 5;
	s->min_lr = kind == AOI_SCHED_PLATEAU ? 1e-10 : 0.0;
	s->best = HUGE_VAL;
}

const char *aoi_sched_kind_name(enum aoi_sched_kind kind)
{
	return (unsigned)kind < AOI_SCHED_COUNT ? sched_names[kind] : "unknown";
}

int aoi_sched_kind_parse(const char *name)
{
	return parse_name(name, sched_names, AOI_SCHED_COUNT);
}

double aoi_sched_lr(const aoi_sched *s, int epoch)
{
	switch (s->kind) {
	case AOI_SCHED_STEP:
		return s->lr0 * pow(s->gamma, s->step > 0 ? epoch / s->step : 0);
	case AOI_SCHED_COSINE: {
		int e = epoch < s->epochs ? epoch : s->epochs;
		return s->min_lr + (s->lr0 - s->min_lr) * (1.0 + cos(M_PI * e / s->epochs)) / 2.0;
	}
	case AOI_SCHED_PLATEAU:
		return s->lr;
	default:
		return s->lr0;
	}
}

double aoi_sched_observe(aoi_sched *s, int epoch, double val_loss)
{
	if (s->kind != AOI_SCHED_PLATEAU)
		return aoi_sched_lr(s, epoch + 1);
	if (val_loss < s->best - s->min_delta) {
		s->best = val_loss;
		s->bad_epochs = 0;
	} else if (++s->bad_epochs >= s->patience) {
		double lr = s->lr * s->factor;
		s->lr = lr > s->min_lr ? lr : s->min_lr;
		s->bad_epochs = 0;
	}
	return s->lr;
}

void aoi_early_stop_init(aoi_early_stop *e, int patience)
{
	e->patience = patience;
	e->min_delta = 0.0;
	e->best = HUGE_VAL;
	e->best_epoch = -1;
	e->wait = 0;
}

int aoi_early_stop_observe(aoi_early_stop *e, int epoch, double val_loss)
{
	if (val_loss < e->best - e->min_delta) {
		e->best = val_loss;
		e->best_epoch = epoch;
		e->wait = 0;
		return 0;
	}
	return ++e->wait >= e->patience;
}
