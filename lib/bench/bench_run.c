/* bench_run.c: aoi-bench's whole run (bench.h): the net built or loaded,
 * one pass a thread count, each measurement handed to bench_report.c. */
#include "bench/bench.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "bench/bench_report.h"
#include "model/model.h"
#include "nn/cpu.h"

/* The run's state; o is the caller's options with the size and thread
 * counts filled in. */
typedef struct bench_ctx {
	aoi_bench_opts o;
	aoi_net *net;
	aoi_model_info info; /* --model: normalisation and class names */
	aoi_rng rng;
	aoi_bench_report rep;
} bench_ctx;

void aoi_bench_opts_init(aoi_bench_opts *o)
{
	memset(o, 0, sizeof *o);
	o->batch = 1, o->runs = 10, o->warmup = 2, o->peak_size = 2048, o->seed = 1;
}

/* The net of --arch (random weights) or --model, with its task and size. */
static aoi_net *open_net(bench_ctx *b, aoi_error *err)
{
	aoi_bench_opts *o = &b->o;
	aoi_net *net;

	if (o->model) {
		net = aoi_model_load(o->model, &b->info, err);
		if (net) {
			b->rep.task = b->info.task;
			if (!o->width)
				o->width = b->info.opts.input_w, o->height = b->info.opts.input_h;
		}
		b->rep.name = o->model;
		return net;
	}
	const aoi_arch_info *ai = aoi_arch_find(o->arch);
	aoi_arch_opts ao = {0};

	if (!ai)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "unknown architecture '%s'",
				     o->arch), NULL;
	if (!o->width)
		o->width = ai->input_w, o->height = ai->input_h;
	ao.classes = (int)o->classes;
	ao.input_w = o->width, ao.input_h = o->height;
	b->rep.task = ai->task;
	b->rep.name = ai->name;
	if ((net = aoi_arch_build(o->arch, &ao, err)))
		aoi_net_init_params(net, &b->rng);
	return net;
}

static int run_infer(bench_ctx *b, aoi_error *err)
{
	const aoi_bench_opts *o = &b->o;
	double *s = malloc((size_t)o->runs * sizeof *s);
	aoi_bench_stats st;
	int rc;

	if (!s)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	rc = aoi_bench_forward(b->net, (int)o->warmup, (int)o->runs, &b->rng, s, err);
	if (rc == 0)
		rc = aoi_bench_stats_compute(s, (int)o->runs, &st, err);
	free(s);
	if (rc == 0)
		aoi_bench_report_infer(&b->rep, &st, aoi_bench_net_flops(b->net));
	return rc;
}

/* The median of one phase over the steps. */
static double phase_median(const aoi_bench_step *steps, int n, size_t offset, double *scratch)
{
	aoi_bench_stats st;

	for (int i = 0; i < n; i++)
		scratch[i] = *(const double *)((const char *)&steps[i] + offset);
	return aoi_bench_stats_compute(scratch, n, &st, NULL) == 0 ? st.median : NAN;
}

static int run_train(bench_ctx *b, aoi_error *err)
{
	const aoi_bench_opts *o = &b->o;
	int n = (int)o->runs;
	aoi_bench_step *steps = malloc((size_t)n * sizeof *steps);
	double *s = malloc((size_t)n * sizeof *s), ph[4];
	aoi_bench_stats st;
	int rc = -1;

	if (!steps || !s)
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	else if (aoi_bench_train(b->net, b->rep.task, (int)o->warmup, n, &b->rng, steps, err) == 0) {
		ph[0] = phase_median(steps, n, offsetof(aoi_bench_step, forward), s);
		ph[1] = phase_median(steps, n, offsetof(aoi_bench_step, loss), s);
		ph[2] = phase_median(steps, n, offsetof(aoi_bench_step, backward), s);
		ph[3] = phase_median(steps, n, offsetof(aoi_bench_step, optim), s);
		for (int i = 0; i < n; i++)
			s[i] = steps[i].total;
		/* backward costs about twice the forward pass: 3x its FLOPs a step */
		if ((rc = aoi_bench_stats_compute(s, n, &st, err)) == 0)
			aoi_bench_report_train(&b->rep, &st, ph, 3 * aoi_bench_net_flops(b->net),
					       o->dataset_size);
	}
	free(steps), free(s);
	return rc;
}

/* Cut nodes 1..n-1 (the input costs nothing) into --stages stages, where
 * aoi-infer --stage and --nodes can cut (not inside a fused group). */
static int cut_stages(const bench_ctx *b, int n, const double *t, const double *f,
		      aoi_error *err)
{
	int stages = (int)b->o.stages, *first = malloc((size_t)(stages + 1) * sizeof *first);

	if (!first)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	if (aoi_net_stage_bounds(b->net, stages, b->o.cut_by_time ? t : f, first, NULL,
				 err) < 0) {
		free(first);
		return -1;
	}
	first[0] = 1;
	aoi_bench_report_stages(&b->rep, stages, first, n, t, f, b->o.cut_by_time);
	free(first);
	return 0;
}

static int run_layers(bench_ctx *b, aoi_error *err)
{
	int n = aoi_net_node_count(b->net), rc;
	double *t = malloc(2 * (size_t)n * sizeof *t), *f = t ? t + n : NULL;
	aoi_node_info info;

	if (!t)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	rc = aoi_bench_layers(b->net, (int)b->o.warmup, (int)b->o.runs, &b->rng, t, err);
	for (int i = 0; i < n && rc == 0; i++) {
		aoi_net_node_info(b->net, i, &info);
		f[i] = info.flops;
	}
	if (rc == 0)
		aoi_bench_report_layers(&b->rep, b->net, t, f, n);
	if (rc == 0 && b->o.stages)
		rc = cut_stages(b, n, t, f, err);
	free(t);
	return rc;
}

/* Normalisation and class names of the chain: the model's, or for --arch
 * ImageNet's mean and std (what the reference encoders were trained on). */
static int chain_setup(const bench_ctx *b, aoi_bench_chain_opts *co, aoi_classes *cls,
		       aoi_error *err)
{
	static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
	static const float imagenet_std[3] = {0.229f, 0.224f, 0.225f};
	int ch = aoi_net_input_shape(b->net).c;

	if (b->rep.task != AOI_TASK_SEGMENTATION || (ch != 1 && ch != 3) || b->info.template_input)
		return aoi_error_set(err, AOI_EINVAL, b->rep.name, 0,
				     "--pipeline needs a segmentation net on 1- or 3-channel "
				     "images without a template");
	co->channels = co->norm.channels = ch;
	for (int c = 0; c < ch; c++) {
		co->norm.mean[c] = b->o.model ? b->info.mean[c] : ch == 3 ? imagenet_mean[c] : 0.5f;
		co->norm.std[c] = b->o.model ? b->info.std[c] : ch == 3 ? imagenet_std[c] : 0.25f;
	}
	for (int k = 1; k < b->info.nclasses; k++) /* index 0 is the background */
		if (aoi_classes_add(cls, b->info.classes[k]) < 0)
			return aoi_error_set(err, AOI_EINVAL, b->rep.name, 0, "too many classes");
	co->classes = cls;
	co->limit = b->o.limit;
	return 0;
}

static aoi_rules *open_rules(const char *path, aoi_error *err)
{
	return path ? aoi_rules_load(path, err) : aoi_rules_parse("{}", 2, "default rules", err);
}

/* --mask-dir, or a new temporary directory (*tmp set) */
static const char *mask_dir(const aoi_bench_opts *o, char *tmp, size_t size, aoi_error *err)
{
	const char *base = getenv("TMPDIR");

	tmp[0] = 0;
	if (o->mask_dir) {
		if (mkdir(o->mask_dir, 0777) < 0 && errno != EEXIST) {
			aoi_error_errno(err, o->mask_dir, "cannot create the mask directory");
			return NULL;
		}
		return o->mask_dir;
	}
	snprintf(tmp, size, "%s/aoi-bench.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmp)) {
		aoi_error_errno(err, tmp, "cannot create a temporary directory");
		tmp[0] = 0;
		return NULL;
	}
	return tmp;
}

static void remove_masks(const char *dir, long n)
{
	char path[4200];

	for (long i = 0; i < n; i++)
		if (snprintf(path, sizeof path, "%s/%06ld.png", dir, i) < (int)sizeof path)
			unlink(path);
	rmdir(dir);
}

static int run_pipeline(bench_ctx *b, aoi_error *err)
{
	aoi_bench_chain_opts co = {0};
	aoi_bench_chain ch;
	aoi_classes cls;
	aoi_rules *rules = NULL;
	char tmp[4096];
	int rc = -1;

	aoi_classes_init(&cls);
	if (chain_setup(b, &co, &cls, err) == 0 && (rules = open_rules(b->o.rules, err)) &&
	    (co.mask_dir = mask_dir(&b->o, tmp, sizeof tmp, err))) {
		co.rules = rules;
		rc = aoi_bench_pipeline(b->net, b->o.pipeline, &co, &ch, err);
		if (rc == 0)
			aoi_bench_report_pipeline(&b->rep, b->o.pipeline, &ch);
		if (tmp[0])
			remove_masks(tmp, ch.images + 1); /* + the one that failed */
	}
	aoi_rules_free(rules);
	aoi_classes_release(&cls);
	return rc;
}

/* One thread count: the net planned, the sgemm peak, the measurement. */
static int one_pass(bench_ctx *b, int threads, aoi_error *err)
{
	const aoi_bench_opts *o = &b->o;
	aoi_bench_peak pk;

	b->rep.threads = threads;
	aoi_net_set_threads(b->net, threads);
	if (aoi_net_plan(b->net, (int)o->batch, o->height, o->width, err) < 0)
		return -1;
	b->rep.peak = 0;
	if (o->peak_size > 0) {
		if (aoi_bench_sgemm_peak((int)o->peak_size, threads, 3, &pk, err) < 0)
			return -1;
		b->rep.peak = pk.gflops;
		aoi_net_set_threads(b->net, threads);
	}
	if (o->layers)
		return run_layers(b, err);
	if (o->pipeline)
		return run_pipeline(b, err);
	return o->train ? run_train(b, err) : run_infer(b, err);
}

static void report_init(bench_ctx *b, FILE *out)
{
	const aoi_bench_opts *o = &b->o;
	aoi_bench_report *r = &b->rep;

	r->out = out;
	r->table = o->table;
	r->width = o->width, r->height = o->height;
	r->batch = (int)o->batch, r->runs = (int)o->runs;
	r->first_threads = (int)o->threads[0];
	r->price = o->price, r->target = o->target;
}

int aoi_bench_run(const aoi_bench_opts *opts, FILE *out, aoi_error *err)
{
	bench_ctx *b;
	int rc = 0;

	if (aoi_nn_kernel_env_check(err) < 0)
		return -1;
	if (!(b = calloc(1, sizeof *b)))
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	b->o = *opts;
	aoi_rng_seed(&b->rng, (uint64_t)b->o.seed);
	aoi_model_info_init(&b->info);
	if (!(b->net = open_net(b, err)))
		rc = -1;
	if (rc == 0 && !b->o.train && aoi_net_fuse_for_inference(b->net, err) < 0)
		rc = -1;
	if (b->o.nthreads == 0)
		b->o.threads[b->o.nthreads++] = aoi_bench_cores();
	report_init(b, out);
	for (int i = 0; i < b->o.nthreads && rc == 0; i++) {
		b->rep.first = i == 0;
		rc = one_pass(b, (int)b->o.threads[i], err);
		fflush(out);
	}
	aoi_net_free(b->net);
	aoi_model_info_release(&b->info);
	free(b);
	return rc;
}
