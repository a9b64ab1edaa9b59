/* aoi-bench: how fast a network runs here and what an image costs:
 * inference latency and throughput over thread counts against the
 * machine's sgemm peak, per-layer times and pipeline stage cuts, training
 * steps, the whole inspection chain on a dataset. The measuring is in
 * lib/bench*.c; this file reads options,
 * builds or loads the net and prints JSON lines or tables. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <jansson.h>

#include "base/cli.h"
#include "base/rng.h"
#include "bench/bench.h"
#include "eval/rules.h"
#include "model/arch.h"
#include "model/model.h"
#include "nn/cpu.h"
#include "nn/net.h"

static const char *const prog = "aoi-bench";

static const char usage_text[] =
	"Usage: aoi-bench (-a NAME | -m MODEL) [OPTION]...\n"
	"Time a network on this machine: latency (median, p95, p99), images/s and\n"
	"GFLOP/s as a share of the machine's sgemm peak, per thread count.\n"
	"\n"
	"  -a, --arch NAME        a reference network with random weights (man aoi-model.5)\n"
	"  -m, --model FILE       a trained model file\n"
	"      --classes N        outputs of --arch (default: the network's)\n"
	"  -s, --size WxH         input size (default: the network's)\n"
	"  -b, --batch N          images per run (default: 1)\n"
	"  -t, --threads LIST     thread counts to scale over, e.g. 1,2 (default: all cores)\n"
	"  -r, --runs N           timed runs (default: 10)\n"
	"  -w, --warmup N         untimed runs first (default: 2)\n"
	"      --layers           time and FLOPs per layer, cumulative\n"
	"      --stages N         with --layers: cut into N pipeline stages of equal cost\n"
	"      --cut-by KIND      flops or time (default: flops)\n"
	"      --train            time training steps (forward, loss, backward, SGD)\n"
	"      --dataset-size N   with --train: also the time of an epoch of N images\n"
	"      --pipeline DATASET the whole chain on a dataset: decode, preprocess, infer,\n"
	"                         write mask, classify (segmentation nets, batch 1)\n"
	"      --rules FILE       with --pipeline: the decision rules (default: {})\n"
	"      --mask-dir DIR     with --pipeline: keep the masks here (default: a\n"
	"                         temporary directory, removed afterwards)\n"
	"      --limit N          with --pipeline: images at most (default: all)\n"
	"      --target RATE      images/s to reach (seed 004: 35); says whether it is met\n"
	"      --price-per-hour P machine price per hour: cost per million images\n"
	"      --peak-size N      sgemm peak on NxN matrices; 0 skips it (default: 2048)\n"
	"      --seed N           weights and inputs (default: 1)\n"
	"  -f, --format FMT       json (lines) or table (default: json)\n"
	"  -h, --help             show this help and exit\n"
	"      --version          show the version and exit\n";

#define MAX_THREADS 64

enum opt_id {
	O_CLASSES = 256, O_LAYERS, O_STAGES, O_CUT_BY, O_TRAIN, O_DATASET_SIZE,
	O_TARGET, O_PRICE, O_PEAK_SIZE, O_SEED, O_VERSION, O_PIPELINE, O_RULES,
	O_MASK_DIR, O_LIMIT
};

static const struct option long_options[] = {
	{ "arch", required_argument, NULL, 'a' },
	{ "model", required_argument, NULL, 'm' },
	{ "classes", required_argument, NULL, O_CLASSES },
	{ "size", required_argument, NULL, 's' },
	{ "batch", required_argument, NULL, 'b' },
	{ "threads", required_argument, NULL, 't' },
	{ "runs", required_argument, NULL, 'r' },
	{ "warmup", required_argument, NULL, 'w' },
	{ "layers", no_argument, NULL, O_LAYERS },
	{ "stages", required_argument, NULL, O_STAGES },
	{ "cut-by", required_argument, NULL, O_CUT_BY },
	{ "train", no_argument, NULL, O_TRAIN },
	{ "dataset-size", required_argument, NULL, O_DATASET_SIZE },
	{ "pipeline", required_argument, NULL, O_PIPELINE },
	{ "rules", required_argument, NULL, O_RULES },
	{ "mask-dir", required_argument, NULL, O_MASK_DIR },
	{ "limit", required_argument, NULL, O_LIMIT },
	{ "target", required_argument, NULL, O_TARGET },
	{ "price-per-hour", required_argument, NULL, O_PRICE },
	{ "peak-size", required_argument, NULL, O_PEAK_SIZE },
	{ "seed", required_argument, NULL, O_SEED },
	{ "format", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

typedef struct opts {
	const char *arch, *model, *pipeline, *rules, *mask_dir;
	long limit;
	long classes, batch, runs, warmup, stages, dataset_size, peak_size, seed;
	int width, height; /* 0: the network's */
	long threads[MAX_THREADS];
	int nthreads;
	int layers, train, table, cut_by_time;
	double target, price;
} opts;

/* What every report line shares. */
typedef struct bench_ctx {
	const opts *o;
	const char *name;  /* arch name */
	enum aoi_task task;
	aoi_net *net;
	aoi_model_info info; /* --model: normalisation and class names */
	aoi_rng rng;
	int threads;       /* this pass */
	double peak;       /* GFLOP/s; 0 when not measured */
	double base_rate;  /* images/s at the first thread count (speedup) */
	int first;         /* first pass: print the table's header */
} bench_ctx;

static int parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
	aoi_error err;

	if (aoi_cli_parse_int(opt, s, lo, hi, out, &err) < 0)
		return aoi_cli_usage_error(prog, "%s", err.msg);
	return 0;
}

static int parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
	aoi_error err;

	if (aoi_cli_parse_double(opt, s, lo, hi, out, &err) < 0)
		return aoi_cli_usage_error(prog, "%s", err.msg);
	return 0;
}

static int parse_other(opts *o, int c, const char *arg)
{
	aoi_error err;

	switch (c) {
	case 's':
		if (aoi_cli_parse_size("--size", arg, &o->width, &o->height, &err) < 0)
			return aoi_cli_usage_error(prog, "%s", err.msg);
		return 0;
	case 't':
		o->nthreads = aoi_cli_parse_int_list("--threads", arg, o->threads, MAX_THREADS, &err);
		if (o->nthreads < 0)
			return aoi_cli_usage_error(prog, "%s", err.msg);
		for (int i = 0; i < o->nthreads; i++)
			if (o->threads[i] < 1 || o->threads[i] > 1024)
				return aoi_cli_usage_error(prog, "--threads: %ld not in 1..1024",
							   o->threads[i]);
		return 0;
	case O_CUT_BY:
		if (strcmp(arg, "flops") && strcmp(arg, "time"))
			return aoi_cli_usage_error(prog, "--cut-by: '%s' is not flops or time", arg);
		o->cut_by_time = strcmp(arg, "time") == 0;
		return 0;
	case 'f':
		if (strcmp(arg, "json") && strcmp(arg, "table"))
			return aoi_cli_usage_error(prog, "--format: '%s' is not json or table", arg);
		o->table = strcmp(arg, "table") == 0;
		return 0;
	}
	return aoi_cli_usage_error(prog, "unknown option");
}

static int parse_option(opts *o, int c, const char *arg)
{
	switch (c) {
	case 'a': o->arch = arg; return 0;
	case 'm': o->model = arg; return 0;
	case O_CLASSES: return parse_long("--classes", arg, 1, 65536, &o->classes);
	case 'b': return parse_long("--batch", arg, 1, 4096, &o->batch);
	case 'r': return parse_long("--runs", arg, 1, 1000000, &o->runs);
	case 'w': return parse_long("--warmup", arg, 0, 1000000, &o->warmup);
	case O_LAYERS: o->layers = 1; return 0;
	case O_STAGES: return parse_long("--stages", arg, 1, 4096, &o->stages);
	case O_TRAIN: o->train = 1; return 0;
	case O_PIPELINE: o->pipeline = arg; return 0;
	case O_RULES: o->rules = arg; return 0;
	case O_MASK_DIR: o->mask_dir = arg; return 0;
	case O_LIMIT: return parse_long("--limit", arg, 1, 1L << 40, &o->limit);
	case O_DATASET_SIZE: return parse_long("--dataset-size", arg, 1, 1L << 40, &o->dataset_size);
	case O_TARGET: return parse_double("--target", arg, 1e-9, 1e12, &o->target);
	case O_PRICE: return parse_double("--price-per-hour", arg, 0, 1e9, &o->price);
	case O_PEAK_SIZE: return parse_long("--peak-size", arg, 0, 16384, &o->peak_size);
	case O_SEED: return parse_long("--seed", arg, 0, 0x7fffffffffffffffL, &o->seed);
	}
	return parse_other(o, c, arg);
}

static int check_options(const opts *o)
{
	if (!o->arch == !o->model)
		return aoi_cli_usage_error(prog, "give one of --arch NAME or --model FILE");
	if (o->model && o->classes)
		return aoi_cli_usage_error(prog, "--classes goes with --arch, not --model");
	if (o->layers + o->train + !!o->pipeline > 1)
		return aoi_cli_usage_error(prog, "--layers, --train and --pipeline do not go together");
	if ((o->rules || o->mask_dir || o->limit) && !o->pipeline)
		return aoi_cli_usage_error(prog, "--rules, --mask-dir and --limit go with --pipeline");
	if (o->pipeline && o->batch != 1)
		return aoi_cli_usage_error(prog, "--pipeline runs one image at a time: no --batch");
	if (o->stages && !o->layers)
		return aoi_cli_usage_error(prog, "--stages goes with --layers");
	if (o->dataset_size && !o->train)
		return aoi_cli_usage_error(prog, "--dataset-size goes with --train");
	if (o->arch && !aoi_arch_find(o->arch))
		return aoi_cli_usage_error(prog, "unknown architecture '%s' (man aoi-model.5 lists them)",
					   o->arch);
	return 0;
}

static int parse_args(opts *o, int argc, char **argv)
{
	int c, rc;

	memset(o, 0, sizeof *o);
	o->batch = 1, o->runs = 10, o->warmup = 2, o->peak_size = 2048, o->seed = 1;
	while ((c = getopt_long(argc, argv, "a:m:s:b:t:r:w:f:h", long_options, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return -1;
		}
		if (c == O_VERSION) {
			aoi_cli_version(prog);
			return -1;
		}
		if (c == '?')
			return AOI_EXIT_USAGE;
		if ((rc = parse_option(o, c, optarg)) != 0)
			return rc;
	}
	if (optind < argc)
		return aoi_cli_usage_error(prog, "unexpected argument '%s'", argv[optind]);
	return check_options(o);
}

/* The net of --arch (random weights) or --model, with its task and size. */
static aoi_net *open_net(bench_ctx *b, opts *o, aoi_error *err)
{
	aoi_net *net;

	if (o->model) {
		net = aoi_model_load(o->model, &b->info, err);
		if (net) {
			b->task = b->info.task;
			if (!o->width)
				o->width = b->info.opts.input_w, o->height = b->info.opts.input_h;
		}
		b->name = o->model;
		return net;
	}
	const aoi_arch_info *ai = aoi_arch_find(o->arch);
	aoi_arch_opts ao = {0};

	if (!o->width)
		o->width = ai->input_w, o->height = ai->input_h;
	ao.classes = (int)o->classes;
	ao.input_w = o->width, ao.input_h = o->height;
	b->task = ai->task;
	b->name = ai->name;
	if ((net = aoi_arch_build(o->arch, &ao, err)))
		aoi_net_init_params(net, &b->rng);
	return net;
}

static json_t *base_json(const bench_ctx *b, const char *mode)
{
	const opts *o = b->o;

	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:s}", "net", b->name, "mode",
			 mode, "task", aoi_task_name(b->task), "width", o->width, "height",
			 o->height, "batch", (int)o->batch, "threads", b->threads, "runs",
			 (int)o->runs, "kernels", aoi_nn_kernel_level());
}

static void put_real(json_t *j, const char *key, double v)
{
	if (isfinite(v))
		json_object_set_new(j, key, json_real(v));
}

static void print_json(json_t *j)
{
	if (j) {
		json_dumpf(j, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6));
		fputc('\n', stdout);
		json_decref(j);
	}
}

/* Rate-derived figures shared by inference and training lines. */
static void put_rate(const bench_ctx *b, json_t *j, double rate, double gflops)
{
	const opts *o = b->o;

	put_real(j, "images_per_s", rate);
	put_real(j, "images_per_day", aoi_bench_per_day(rate));
	put_real(j, "gflops", gflops);
	if (b->peak > 0) {
		put_real(j, "peak_gflops", b->peak);
		put_real(j, "peak_share", gflops / b->peak);
	}
	if (b->base_rate > 0) {
		put_real(j, "speedup", rate / b->base_rate);
		put_real(j, "efficiency", rate / b->base_rate * b->o->threads[0] / b->threads);
	}
	if (o->price > 0)
		put_real(j, "cost_per_million", aoi_bench_cost_per_million(rate, o->price));
	if (o->target > 0) {
		put_real(j, "target", o->target);
		json_object_set_new(j, "meets_target", json_boolean(rate >= o->target));
	}
}

static void table_rate_header(const opts *o, const char *first)
{
	printf("%-8s %10s %10s %10s %9s %9s %8s %8s", first, "median_ms", "p95_ms", "p99_ms",
	       "img/s", "GFLOP/s", "%peak", "speedup");
	if (o->price > 0)
		printf(" %12s", "cost/M_img");
	if (o->target > 0)
		printf(" %7s", "target");
	putchar('\n');
}

static void table_rate_row(const bench_ctx *b, const aoi_bench_stats *st, double rate,
			   double gflops)
{
	const opts *o = b->o;

	printf("%-8d %10.2f %10.2f %10.2f %9.2f %9.1f %7.1f%% %7.2fx", b->threads,
	       st->median * 1e3, st->p95 * 1e3, st->p99 * 1e3, rate, gflops,
	       b->peak > 0 ? 100 * gflops / b->peak : NAN,
	       b->base_rate > 0 ? rate / b->base_rate : 1.0);
	if (o->price > 0)
		printf(" %12.4f", aoi_bench_cost_per_million(rate, o->price));
	if (o->target > 0)
		printf(" %7s", rate >= o->target ? "met" : "missed");
	putchar('\n');
}

static void put_stats(json_t *j, const aoi_bench_stats *st)
{
	put_real(j, "median_s", st->median);
	put_real(j, "p95_s", st->p95);
	put_real(j, "p99_s", st->p99);
	put_real(j, "mean_s", st->mean);
	put_real(j, "min_s", st->min);
	put_real(j, "max_s", st->max);
	put_real(j, "stddev_s", st->stddev);
}

static int run_infer(bench_ctx *b, aoi_error *err)
{
	const opts *o = b->o;
	double *s = malloc((size_t)o->runs * sizeof *s), flops, rate, gflops;
	aoi_bench_stats st;
	int rc;

	if (!s)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	rc = aoi_bench_forward(b->net, (int)o->warmup, (int)o->runs, &b->rng, s, err);
	if (rc == 0)
		rc = aoi_bench_stats_compute(s, (int)o->runs, &st, err);
	free(s);
	if (rc < 0)
		return -1;
	flops = aoi_bench_net_flops(b->net);
	rate = aoi_bench_rate(st.median, (int)o->batch);
	gflops = flops / st.median / 1e9;
	if (b->base_rate == 0)
		b->base_rate = rate;
	if (o->table) {
		if (b->first)
			printf("%s inference, batch %ld, %dx%d, %.3f GFLOP a run, %ld runs, kernels %s\n",
			       b->name, o->batch, o->width, o->height, flops / 1e9, o->runs,
			       aoi_nn_kernel_level()),
			table_rate_header(o, "threads");
		table_rate_row(b, &st, rate, gflops);
		return 0;
	}
	json_t *j = base_json(b, "infer");
	put_real(j, "gflop", flops / 1e9);
	put_stats(j, &st);
	put_rate(b, j, rate, gflops);
	print_json(j);
	return 0;
}

/* The median of one phase over the steps. */
static double phase_median(const aoi_bench_step *steps, int n, size_t offset, double *scratch)
{
	aoi_bench_stats st;

	for (int i = 0; i < n; i++)
		scratch[i] = *(const double *)((const char *)&steps[i] + offset);
	return aoi_bench_stats_compute(scratch, n, &st, NULL) == 0 ? st.median : NAN;
}

static void report_train(bench_ctx *b, const aoi_bench_stats *st, const double ph[4])
{
	const opts *o = b->o;
	/* backward costs about twice the forward pass: 3x its FLOPs a step */
	double flops = 3 * aoi_bench_net_flops(b->net), rate = aoi_bench_rate(st->median, (int)o->batch);
	double gflops = flops / st->median / 1e9;
	double epoch = o->dataset_size ? ceil((double)o->dataset_size / o->batch) * st->median : 0;

	if (b->base_rate == 0)
		b->base_rate = rate;
	if (o->table) {
		if (b->first)
			printf("%s training step, batch %ld, %dx%d, %ld runs, kernels %s\n", b->name,
			       o->batch, o->width, o->height, o->runs, aoi_nn_kernel_level()),
			table_rate_header(o, "threads");
		table_rate_row(b, st, rate, gflops);
		printf("%8s forward %.1f ms, loss %.1f ms, backward %.1f ms, optimiser %.1f ms",
		       "", ph[0] * 1e3, ph[1] * 1e3, ph[2] * 1e3, ph[3] * 1e3);
		if (epoch > 0)
			printf("; epoch of %ld images: %.1f s", o->dataset_size, epoch);
		putchar('\n');
		return;
	}
	json_t *j = base_json(b, "train");
	put_real(j, "gflop", flops / 1e9);
	put_stats(j, st);
	put_real(j, "forward_s", ph[0]);
	put_real(j, "loss_s", ph[1]);
	put_real(j, "backward_s", ph[2]);
	put_real(j, "optim_s", ph[3]);
	if (epoch > 0) {
		json_object_set_new(j, "dataset_size", json_integer(o->dataset_size));
		put_real(j, "epoch_s", epoch);
	}
	put_rate(b, j, rate, gflops);
	print_json(j);
}

static int run_train(bench_ctx *b, aoi_error *err)
{
	const opts *o = b->o;
	int n = (int)o->runs;
	aoi_bench_step *steps = malloc((size_t)n * sizeof *steps);
	double *s = malloc((size_t)n * sizeof *s), ph[4];
	aoi_bench_stats st;
	int rc = -1;

	if (!steps || !s)
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	else if (aoi_bench_train(b->net, b->task, (int)o->warmup, n, &b->rng, steps, err) == 0) {
		ph[0] = phase_median(steps, n, offsetof(aoi_bench_step, forward), s);
		ph[1] = phase_median(steps, n, offsetof(aoi_bench_step, loss), s);
		ph[2] = phase_median(steps, n, offsetof(aoi_bench_step, backward), s);
		ph[3] = phase_median(steps, n, offsetof(aoi_bench_step, optim), s);
		for (int i = 0; i < n; i++)
			s[i] = steps[i].total;
		if ((rc = aoi_bench_stats_compute(s, n, &st, err)) == 0)
			report_train(b, &st, ph);
	}
	free(steps), free(s);
	return rc;
}


/* One row of --layers: node i's time and FLOPs, and both cumulated. */
static void report_layer(const bench_ctx *b, int i, const aoi_node_info *in, double t,
			 double f, const double cum[2], const double total[2])
{
	if (b->o->table) {
		char shape[48];

		snprintf(shape, sizeof shape, "%dx%dx%d", in->out.c, in->out.h, in->out.w);
		printf("%5d %-14.14s %-12.12s %15s %10.2f %9.3f %6.1f%% %6.1f%%\n", i, in->kind,
		       in->block, shape, f / 1e6, t * 1e3, 100 * cum[0] / total[0],
		       total[1] > 0 ? 100 * cum[1] / total[1] : 0);
		return;
	}
	json_t *j = json_pack("{s:s, s:s, s:i, s:i, s:s, s:s, s:[i,i,i,i]}", "net", b->name,
			      "mode", "layer", "threads", b->threads, "node", i, "kind", in->kind,
			      "block", in->block, "shape", in->out.n, in->out.c, in->out.h, in->out.w);
	put_real(j, "flops", f);
	put_real(j, "seconds", t);
	put_real(j, "cum_flops", cum[0]);
	put_real(j, "cum_flops_share", cum[0] / total[0]);
	put_real(j, "cum_seconds", cum[1]);
	put_real(j, "cum_seconds_share", total[1] > 0 ? cum[1] / total[1] : 0);
	print_json(j);
}

/* Stage k of `stages` runs nodes first[k] .. first[k+1]-1. */
static void report_stages(const bench_ctx *b, int stages, const int *first, int n,
			  const double *t, const double *f)
{
	json_t *jf = json_array(), *jn = json_array(), *jt = json_array(), *jc = json_array();
	double slowest = 0;

	if (b->o->table)
		printf("%d stages by %s:\n", stages, b->o->cut_by_time ? "time" : "flops");
	for (int k = 0; k < stages; k++) {
		int end = k + 1 < stages ? first[k + 1] : n;
		double sf = 0, st = 0;

		for (int i = first[k]; i < end; i++)
			sf += f[i], st += t[i];
		slowest = fmax(slowest, st);
		if (b->o->table)
			printf("  stage %d: nodes %d-%d (%d), %.1f MFLOP, %.2f ms\n", k + 1,
			       first[k], end - 1, end - first[k], sf / 1e6, st * 1e3);
		json_array_append_new(jc, json_integer(first[k]));
		json_array_append_new(jn, json_integer(end - first[k]));
		json_array_append_new(jf, json_real(sf));
		json_array_append_new(jt, json_real(st));
	}
	if (b->o->table) {
		printf("  pipelined: %.2f images/s (the slowest stage)\n",
		       aoi_bench_rate(slowest, (int)b->o->batch));
		json_decref(jf), json_decref(jn), json_decref(jt), json_decref(jc);
		return;
	}
	json_t *j = json_pack("{s:s, s:s, s:i, s:i, s:s, s:o, s:o, s:o, s:o}", "net", b->name,
			      "mode", "stages", "threads", b->threads, "stages", stages, "cut_by",
			      b->o->cut_by_time ? "time" : "flops", "first_node", jc, "nodes", jn,
			      "stage_flops", jf, "stage_seconds", jt);
	put_real(j, "pipeline_images_per_s", aoi_bench_rate(slowest, (int)b->o->batch));
	print_json(j);
}

/* Cut nodes 1..n-1 (the input costs nothing) into --stages stages, where
 * aoi-infer --stage and --nodes can cut (not inside a fused group). */
static int cut_stages(const bench_ctx *b, int n, const double *t, const double *f,
		      aoi_error *err)
{
	int stages = (int)b->o->stages, *first = malloc((size_t)(stages + 1) * sizeof *first);

	if (!first)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	if (aoi_net_stage_bounds(b->net, stages, b->o->cut_by_time ? t : f, first, NULL,
				 err) < 0) {
		free(first);
		return -1;
	}
	first[0] = 1;
	report_stages(b, stages, first, n, t, f);
	free(first);
	return 0;
}

static int run_layers(bench_ctx *b, aoi_error *err)
{
	int n = aoi_net_node_count(b->net), rc;
	double *t = malloc(2 * (size_t)n * sizeof *t), *f = t ? t + n : NULL;
	double total[2] = {0, 0}, cum[2] = {0, 0};
	aoi_node_info info;

	if (!t)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	rc = aoi_bench_layers(b->net, (int)b->o->warmup, (int)b->o->runs, &b->rng, t, err);
	for (int i = 0; i < n && rc == 0; i++) {
		aoi_net_node_info(b->net, i, &info);
		f[i] = info.flops;
		total[0] += f[i], total[1] += t[i];
	}
	if (rc == 0 && b->o->table)
		printf("%s layers, batch %ld, %dx%d, threads %d, kernels %s\n"
		       "%5s %-14s %-12s %15s %10s %9s %7s %7s\n",
		       b->name, b->o->batch, b->o->width, b->o->height, b->threads,
		       aoi_nn_kernel_level(), "node", "kind", "block", "output", "MFLOP", "ms",
		       "cumFL", "cumT");
	for (int i = 0; i < n && rc == 0; i++) {
		aoi_net_node_info(b->net, i, &info);
		cum[0] += f[i], cum[1] += t[i];
		report_layer(b, i, &info, t[i], f[i], cum, total);
	}
	if (rc == 0 && b->o->stages)
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

	if (b->task != AOI_TASK_SEGMENTATION || (ch != 1 && ch != 3) || b->info.template_input)
		return aoi_error_set(err, AOI_EINVAL, b->name, 0,
				     "--pipeline needs a segmentation net on 1- or 3-channel "
				     "images without a template");
	co->channels = co->norm.channels = ch;
	for (int c = 0; c < ch; c++) {
		co->norm.mean[c] = b->o->model ? b->info.mean[c] : ch == 3 ? imagenet_mean[c] : 0.5f;
		co->norm.std[c] = b->o->model ? b->info.std[c] : ch == 3 ? imagenet_std[c] : 0.25f;
	}
	for (int k = 1; k < b->info.nclasses; k++) /* index 0 is the background */
		if (aoi_classes_add(cls, b->info.classes[k]) < 0)
			return aoi_error_set(err, AOI_EINVAL, b->name, 0, "too many classes");
	co->classes = cls;
	co->limit = b->o->limit;
	return 0;
}

static aoi_rules *open_rules(const char *path, aoi_error *err)
{
	return path ? aoi_rules_load(path, err) : aoi_rules_parse("{}", 2, "default rules", err);
}

/* --mask-dir, or a new temporary directory (*tmp set) */
static const char *mask_dir(const opts *o, char *tmp, size_t size, aoi_error *err)
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

static void report_pipeline(const bench_ctx *b, const aoi_bench_chain *ch)
{
	double rate = ch->images / ch->wall;
	int slow = 0;

	for (int s = 1; s < AOI_BENCH_NSTAGES; s++)
		if (ch->seconds[s] > ch->seconds[slow])
			slow = s;
	if (b->o->table) {
		printf("%s pipeline on %s, %ld images at %dx%d, threads %d: %.2f images/s, "
		       "%ld rejected\n%-12s %10s %7s\n", b->name, b->o->pipeline, ch->images,
		       b->o->width, b->o->height, b->threads, rate, ch->rejected, "stage",
		       "ms/image", "share");
		for (int s = 0; s < AOI_BENCH_NSTAGES; s++)
			printf("%-12s %10.2f %6.1f%%\n", aoi_bench_stage_name(s),
			       1e3 * ch->seconds[s] / ch->images, 100 * ch->seconds[s] / ch->wall);
		if (b->o->target > 0)
			printf("target %.2f images/s: %s (%.0f images a day)\n", b->o->target,
			       rate >= b->o->target ? "met" : "missed", aoi_bench_per_day(rate));
		return;
	}
	json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:I, s:I, s:s}", "net", b->name,
			      "mode", "pipeline", "dataset", b->o->pipeline, "width", b->o->width,
			      "height", b->o->height, "threads", b->threads, "images",
			      (json_int_t)ch->images, "rejected", (json_int_t)ch->rejected,
			      "slowest_stage", aoi_bench_stage_name(slow));
	put_real(j, "wall_s", ch->wall);
	for (int s = 0; s < AOI_BENCH_NSTAGES; s++) {
		char key[32];

		snprintf(key, sizeof key, "%s_s", aoi_bench_stage_name(s));
		put_real(j, key, ch->seconds[s] / ch->images);
	}
	put_rate(b, j, rate, NAN);
	print_json(j);
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
	if (chain_setup(b, &co, &cls, err) == 0 && (rules = open_rules(b->o->rules, err)) &&
	    (co.mask_dir = mask_dir(b->o, tmp, sizeof tmp, err))) {
		co.rules = rules;
		rc = aoi_bench_pipeline(b->net, b->o->pipeline, &co, &ch, err);
		if (rc == 0)
			report_pipeline(b, &ch);
		if (tmp[0])
			remove_masks(tmp, ch.images + 1); /* + the one that failed */
	}
	aoi_rules_free(rules);
	aoi_classes_release(&cls);
	return rc;
}

static int one_pass(bench_ctx *b, aoi_error *err)
{
	const opts *o = b->o;
	aoi_bench_peak pk;

	aoi_net_set_threads(b->net, b->threads);
	if (aoi_net_plan(b->net, (int)o->batch, o->height, o->width, err) < 0)
		return -1;
	b->peak = 0;
	if (o->peak_size > 0) {
		if (aoi_bench_sgemm_peak((int)o->peak_size, b->threads, 3, &pk, err) < 0)
			return -1;
		b->peak = pk.gflops;
		aoi_net_set_threads(b->net, b->threads);
	}
	if (o->layers)
		return run_layers(b, err);
	if (o->pipeline)
		return run_pipeline(b, err);
	return o->train ? run_train(b, err) : run_infer(b, err);
}

static int run(opts *o, aoi_error *err)
{
	bench_ctx b = {0};
	int rc = 0;

	b.o = o;
	aoi_rng_seed(&b.rng, (uint64_t)o->seed);
	aoi_model_info_init(&b.info);
	if (!(b.net = open_net(&b, o, err))) {
		aoi_model_info_release(&b.info);
		return -1;
	}
	if (!o->train && aoi_net_fuse_for_inference(b.net, err) < 0)
		rc = -1;
	if (o->nthreads == 0)
		o->threads[o->nthreads++] = aoi_bench_cores();
	for (int i = 0; i < o->nthreads && rc == 0; i++) {
		b.threads = (int)o->threads[i];
		b.first = i == 0;
		rc = one_pass(&b, err);
		fflush(stdout);
	}
	aoi_net_free(b.net);
	aoi_model_info_release(&b.info);
	return rc;
}

int main(int argc, char **argv)
{
	opts o;
	aoi_error err;
	int rc;

	aoi_cli_calm_threads(argv);
	rc = parse_args(&o, argc, argv);
	if (rc < 0)
		return aoi_cli_close_stdout(prog, AOI_EXIT_OK);
	if (rc > 0)
		return rc;
	aoi_error_clear(&err);
	if (aoi_nn_kernel_env_check(&err) < 0 || run(&o, &err) < 0)
		return aoi_cli_close_stdout(prog, aoi_cli_fail(prog, &err));
	return aoi_cli_close_stdout(prog, AOI_EXIT_OK);
}
