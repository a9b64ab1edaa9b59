/* aoi-infer: run a trained model over dataset records; each record comes
 * out with a "pred" object. The model is opened by lib/infer/infer_load.c,
 * predicted by lib/infer/infer.c, records move through lib/infer/infer_io.c;
 * this file reads the options and wires the streams. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cli.h"
#include "base/fileio.h"
#include "infer/infer.h"
#include "infer/infer_io.h"
#include "infer/infer_load.h"
#include "infer/infer_stage.h"
#include "queue/worker.h"

static const char *const prog = "aoi-infer";

/* -m given again makes an ensemble of at most this many models */
#define MAX_MODELS 16

typedef struct args {
	const char *models[MAX_MODELS];
	int nmodels;
	const char *masks, *root, *dataset;
	long batch, threads, overlap, min_area;
	int tile;          /* -1: as the model says */
	int width, height; /* --size, 0: the model's input */
	int min_box_w, min_box_h;
	int flips;
	int keep_going;
	aoi_worker_opts queue; /* --amqp ...: queue worker mode */
	int stage, stages;    /* --stage K/N; 0: one process */
	int node_a, node_b;   /* --nodes A-B; -1: not given */
} args;

static const char usage_text[] =
	"Usage: aoi-infer -m MODEL [options] [DATASET] > RECORDS\n"
	"Predict every record of a JSON-lines dataset (standard input without\n"
	"DATASET); each record is written out with a \"pred\" object.\n\n"
	"  -m, --model FILE      model (or checkpoint) from aoi-train (required);\n"
	"                        again: an ensemble (the mean of their probabilities)\n"
	"      --masks DIR       write segmentation masks as DIR/ID.png, anomaly maps\n"
	"                        as DIR/ID.anomaly.png and DIR/ID.heat.png (none)\n"
	"      --root DIR        base of relative paths when reading standard input\n"
	"  -b, --batch N         network inputs per run (4)\n"
	"  -j, --threads N       threads (0: all cores)\n"
	"      --tile            cut large images into input-sized tiles at full\n"
	"                        resolution (the default for models trained on crops)\n"
	"      --resize          resize images to the input (default otherwise)\n"
	"      --size WxH        run a segmentation network at this input size\n"
	"                        instead of the model's (fewer, larger tiles)\n"
	"      --overlap N       tile overlap in pixels (a quarter of the input,\n"
	"                        32 at most)\n"
	"      --min-area N      components smaller than N pixels give no box (0)\n"
	"      --min-box WxH     nor boxes narrower than W or lower than H pixels\n"
	"                        (0x0)\n"
	"      --flips           segmentation: also predict each input mirrored\n"
	"                        three ways and average the four (4x the time)\n"
	"  -k, --keep-going      skip records whose image cannot be read, with a\n"
	"                        warning, instead of failing\n"
	"      --amqp URL        work as a queue worker on this broker\n"
	"                        (amqp://user:pass@host:port/vhost) instead of\n"
	"                        reading DATASET: needs --consume and --publish\n"
	"      --consume QUEUE   take records from QUEUE\n"
	"      --publish QUEUE   put predicted records on QUEUE\n"
	"      --prefetch N      records the broker may send ahead (1)\n"
	"      --stage K/N       run stage K of an N-stage pipeline: the network cut\n"
	"                        into N parts of about equal computation; stage 1\n"
	"                        reads records, stage N writes them, the others\n"
	"                        read and write a binary stream (man aoi-model)\n"
	"      --nodes A-B       as --stage, but run nodes A to B (numbered as in\n"
	"                        aoi-bench's layer table; A = 1 reads records,\n"
	"                        B = the last node writes them)\n"
	"  -h, --help            this help\n"
	"  -V, --version         version\n";

/* "K/N" (sep '/') or "A-B" (sep '-'): two integers >= lo. */
static int parse_pair(const char *opt, const char *v, char sep, int lo, int *a, int *b,
		      aoi_error *err)
{
	char *end;
	long x = strtol(v, &end, 10), y;
	if (end == v || *end != sep)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "%s '%s': want two numbers "
				     "separated by '%c'", opt, v, sep);
	const char *w = end + 1;
	y = strtol(w, &end, 10);
	if (end == w || *end || x < lo || y < lo || x > 1 << 20 || y > 1 << 20)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "%s '%s': want two numbers >= %d "
				     "separated by '%c'", opt, v, lo, sep);
	*a = (int)x;
	*b = (int)y;
	return 0;
}

/* --stage (lo 0) and --nodes (lo 1) */
static int set_part(void *ctx, const aoi_cli_opt *opt, const char *v, aoi_error *err)
{
	args *a = ctx;

	if (opt->lo)
		return parse_pair("--nodes", v, '-', 0, &a->node_a, &a->node_b, err);
	return parse_pair("--stage", v, '/', 1, &a->stage, &a->stages, err);
}

static int add_model(void *ctx, const aoi_cli_opt *opt, const char *v, aoi_error *err)
{
	args *a = ctx;

	(void)opt;
	if (a->nmodels == MAX_MODELS)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "at most %d models (-m)", MAX_MODELS);
	a->models[a->nmodels++] = v;
	return 0;
}

/* The options into a, the operand into a->dataset. */
static int parse_options(args *a, int argc, char **argv)
{
	const aoi_cli_opt table[] = {
		AOI_CLI_OPT_CALL('m', "model", add_model, 0),
		AOI_CLI_OPT_STR(0, "masks", &a->masks),
		AOI_CLI_OPT_ROOT(&a->root),
		AOI_CLI_OPT_BATCH(&a->batch),
		AOI_CLI_OPT_THREADS(&a->threads),
		AOI_CLI_OPT_SET(0, "tile", &a->tile, 1),
		AOI_CLI_OPT_SET(0, "resize", &a->tile, 0),
		AOI_CLI_OPT_INPUT_SIZE(&a->width, &a->height),
		AOI_CLI_OPT_INT(0, "overlap", &a->overlap, 0, 4096),
		AOI_CLI_OPT_INT(0, "min-area", &a->min_area, 0, 1L << 40),
		AOI_CLI_OPT_SIZE(0, "min-box", &a->min_box_w, &a->min_box_h),
		AOI_CLI_OPT_FLAG(0, "flips", &a->flips),
		AOI_CLI_OPT_FLAG('k', "keep-going", &a->keep_going),
		AOI_WORKER_CLI_OPTS(&a->queue),
		AOI_CLI_OPT_CALL(0, "stage", set_part, 0),
		AOI_CLI_OPT_CALL(0, "nodes", set_part, 1),
		AOI_CLI_OPT_HELP_VERSION,
		AOI_CLI_OPT_END,
	};
	aoi_cli_parser p = { .prog = prog, .usage = usage_text, .opts = table, .ctx = a };

	memset(a, 0, sizeof(*a));
	a->batch = 4;
	a->overlap = -1;
	a->tile = -1;
	a->node_a = a->node_b = -1;
	return aoi_cli_parse_dataset(&p, argc, argv, &a->dataset);
}

/* --stage and --nodes: AOI_CLI_GO, or the exit status. */
static int check_stage_args(const args *a)
{
	int staged = a->stages || a->node_a >= 0;
	if (a->stages && a->node_a >= 0)
		return aoi_cli_usage_error(prog, "--stage or --nodes, not both");
	if (a->stages && a->stage > a->stages)
		return aoi_cli_usage_error(prog, "--stage %d/%d: K is larger than N", a->stage,
					   a->stages);
	if (a->node_a > a->node_b)
		return aoi_cli_usage_error(prog, "--nodes %d-%d: A is larger than B", a->node_a,
					   a->node_b);
	if (staged && a->queue.url)
		return aoi_cli_usage_error(prog, "--stage and --nodes do not go with --amqp");
	int first = a->stages ? a->stage == 1 : a->node_a <= 1;
	if (staged && a->flips && !first)
		return aoi_cli_usage_error(prog, "--flips goes to the first stage (the others "
					   "follow its stream)");
	if (staged && !first && (a->dataset || a->root))
		return aoi_cli_usage_error(prog, "a stage after the first reads the stream on "
					   "standard input: no DATASET or --root");
	return AOI_CLI_GO;
}

static int parse(void *ctx, int argc, char **argv)
{
	args *a = ctx;
	aoi_error err;
	int rc = parse_options(a, argc, argv);

	if (rc != AOI_CLI_GO)
		return rc;
	if (!a->nmodels)
		return aoi_cli_usage_error(prog, "-m MODEL is required");
	if (a->nmodels > 1 && (a->stages || a->node_a >= 0))
		return aoi_cli_usage_error(prog, "an ensemble (several -m) cannot be cut into stages");
	if (aoi_worker_check_opts(&a->queue, !!a->dataset, "DATASET", &err) < 0)
		return aoi_cli_usage_error(prog, "%s", err.msg);
	return check_stage_args(a);
}

/* --stage / --nodes: one part of the pipeline. */
static int run_stage(const aoi_infer_io *io, const args *a, aoi_net *net, aoi_error *err)
{
	int first, end, count = aoi_net_node_count(net);

	if (aoi_infer_io_nodes(net, a->stage, a->stages, a->node_a, a->node_b, &first, &end,
			       err) < 0)
		return aoi_cli_usage_error(prog, "%s", err->msg);
	if (end < count && isatty(STDOUT_FILENO))
		return aoi_cli_usage_error(prog, "a stage before the last writes a binary "
					   "stream: pipe it into the next stage");
	if (first == 0 && end == count) /* the whole net: no stream */
		return aoi_infer_io_file(io, err);
	io->progress->label = "stage 1";
	aoi_infer_stage *st = aoi_infer_stage_new(io->inf, first, end, err);
	if (!st)
		return aoi_cli_usage_error(prog, "%s", err->msg);
	int rc = aoi_infer_io_stage(io, st, err);
	aoi_infer_stage_free(st);
	return rc;
}

/* Queue worker mode: SIGTERM lets the record in hand finish. */
static int run_queue(const aoi_infer_io *io, args *a, aoi_error *err)
{
	aoi_worker_stats st;

	a->queue.stop = aoi_cli_stop_on_signals(0);
	if (aoi_worker_run(&a->queue, aoi_infer_io_record, (void *)io, &st, err) < 0)
		return -1;
	fprintf(stderr, "%s: %ld predicted, %ld dead-lettered, %ld reconnects\n", prog, st.done,
		st.dead, st.reconnects);
	return 0;
}

/* The records' way: one process, a stage of several, or a queue. */
static int run_with(args *a, aoi_infer *inf, aoi_net *net, aoi_error *err)
{
	aoi_progress progress;
	aoi_infer_io io = { inf, (int)a->batch, a->dataset, a->root, a->keep_going, stdin,
			    "standard input", stdout, stderr, "aoi-infer: warning", &progress };
	int rc;

	if (a->queue.url)
		return run_queue(&io, a, err);
	aoi_progress_init(&progress, "infer", 0);
	rc = a->stages || a->node_a >= 0 ? run_stage(&io, a, net, err) : aoi_infer_io_file(&io, err);
	aoi_progress_end(&progress);
	return rc;
}

static int run(void *ctx, aoi_error *err)
{
	args *a = ctx;
	aoi_infer_loaded l[MAX_MODELS];
	aoi_infer_open_opts oo = { .width = a->width, .height = a->height,
				   .threads = (int)a->threads };
	aoi_infer *inf;
	int rc;

	if (a->threads > 0)
		omp_set_num_threads((int)a->threads);
	aoi_infer_opts_init(&oo.o);
	oo.o.batch = (int)a->batch;
	oo.o.tile = a->tile;
	oo.o.overlap = (int)a->overlap;
	oo.o.mask_dir = a->masks;
	oo.o.min_area = a->min_area;
	oo.o.min_box_w = a->min_box_w;
	oo.o.min_box_h = a->min_box_h;
	oo.o.flips = a->flips;
	inf = aoi_infer_open(l, a->models, a->nmodels, &oo, err);
	rc = inf ? 0 : -1;
	if (rc == 0 && a->masks)
		rc = aoi_mkdir_p(a->masks, err);
	if (rc == 0)
		rc = run_with(a, inf, l[0].net, err);
	aoi_infer_free(inf);
	for (int i = 0; i < a->nmodels; i++)
		aoi_infer_load_release(&l[i]);
	return rc;
}

int main(int argc, char **argv)
{
	const aoi_cli_prog program = { prog, parse, run };
	args a;

	return aoi_cli_main(&program, &a, argc, argv);
}
