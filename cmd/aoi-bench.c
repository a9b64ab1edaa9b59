/* aoi-bench: how fast a network runs here and what an image costs:
 * inference latency and throughput over thread counts against the
 * machine's sgemm peak, per-layer times and pipeline stage cuts, training
 * steps, the whole inspection chain on a dataset. The measuring and the
 * reports are in lib/bench/; this file reads the options. */
#include <stdio.h>
#include <string.h>

#include "base/cli.h"
#include "bench/bench.h"
#include "model/arch.h"

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

typedef aoi_bench_opts opts;

/* -t: thread counts to scale over, each 1..1024 */
static int set_threads(void *ctx, const aoi_cli_opt *opt, const char *arg, aoi_error *err)
{
	opts *o = ctx;

	(void)opt;
	o->nthreads = aoi_cli_parse_int_list("--threads", arg, o->threads, AOI_BENCH_MAX_THREADS,
					     err);
	if (o->nthreads < 0)
		return -1;
	for (int i = 0; i < o->nthreads; i++)
		if (o->threads[i] < 1 || o->threads[i] > 1024)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--threads: %ld not in 1..1024",
					     o->threads[i]);
	return 0;
}

/* --cut-by flops|time, -f json|table */
static int set_choice(void *ctx, const aoi_cli_opt *opt, const char *arg, aoi_error *err)
{
	static const char *const words[2][2] = { { "flops", "time" }, { "json", "table" } };
	const char *const *w = words[opt->lo];
	opts *o = ctx;

	if (strcmp(arg, w[0]) && strcmp(arg, w[1]))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--%s: '%s' is not %s or %s",
				     opt->name, arg, w[0], w[1]);
	*(opt->lo ? &o->table : &o->cut_by_time) = strcmp(arg, w[1]) == 0;
	return 0;
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
	return AOI_CLI_GO;
}

static int parse(void *ctx, int argc, char **argv)
{
	opts *o = ctx;
	const aoi_cli_opt table[] = {
		AOI_CLI_OPT_STR('a', "arch", &o->arch),
		AOI_CLI_OPT_STR('m', "model", &o->model),
		AOI_CLI_OPT_INT(0, "classes", &o->classes, 1, 65536),
		AOI_CLI_OPT_SIZE('s', "size", &o->width, &o->height),
		AOI_CLI_OPT_BATCH(&o->batch),
		AOI_CLI_OPT_CALL('t', "threads", set_threads, 0),
		AOI_CLI_OPT_INT('r', "runs", &o->runs, 1, 1000000),
		AOI_CLI_OPT_INT('w', "warmup", &o->warmup, 0, 1000000),
		AOI_CLI_OPT_FLAG(0, "layers", &o->layers),
		AOI_CLI_OPT_INT(0, "stages", &o->stages, 1, 4096),
		AOI_CLI_OPT_CALL(0, "cut-by", set_choice, 0),
		AOI_CLI_OPT_FLAG(0, "train", &o->train),
		AOI_CLI_OPT_INT(0, "dataset-size", &o->dataset_size, 1, 1L << 40),
		AOI_CLI_OPT_STR(0, "pipeline", &o->pipeline),
		AOI_CLI_OPT_STR(0, "rules", &o->rules),
		AOI_CLI_OPT_STR(0, "mask-dir", &o->mask_dir),
		AOI_CLI_OPT_INT(0, "limit", &o->limit, 1, 1L << 40),
		AOI_CLI_OPT_REAL(0, "target", &o->target, 1e-9, 1e12),
		AOI_CLI_OPT_REAL(0, "price-per-hour", &o->price, 0, 1e9),
		AOI_CLI_OPT_INT(0, "peak-size", &o->peak_size, 0, 16384),
		AOI_CLI_OPT_SEED(0, &o->seed),
		AOI_CLI_OPT_CALL('f', "format", set_choice, 1),
		AOI_CLI_OPT_HELP('h'),
		AOI_CLI_OPT_VERSION(0),
		AOI_CLI_OPT_END,
	};
	aoi_cli_parser p = { .prog = prog, .usage = usage_text, .opts = table, .ctx = o,
			     .getopt_says = 1, .too_many = "unexpected argument '%s'" };
	int first, rc;

	aoi_bench_opts_init(o);
	rc = aoi_cli_parse(&p, argc, argv, &first);
	return rc != AOI_CLI_GO ? rc : check_options(o);
}

static int run(void *ctx, aoi_error *err)
{
	return aoi_bench_run(ctx, stdout, err);
}

int main(int argc, char **argv)
{
	const aoi_cli_prog program = { prog, parse, run };
	opts o;

	return aoi_cli_main(&program, &o, argc, argv);
}
