/* aoi-infer: run a trained model over dataset records; each record comes
 * out with a "pred" object (lib/infer.c does the work). */
#include <getopt.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cli.h"
#include "base/fileio.h"
#include "data/record.h"
#include "infer/infer.h"
#include "infer/infer_stage.h"
#include "model/model.h"
#include "queue/worker.h"

static const char *prog = "aoi-infer";

typedef struct args {
	const char *model, *masks, *root, *dataset;
	long batch, threads, overlap, min_area;
	int tile;          /* -1: as the model says */
	int width, height; /* --size, 0: the model's input */
	int min_box_w, min_box_h;
	int flips;
	int keep_going;
	const char *amqp, *consume, *publish; /* queue worker mode */
	long prefetch;
	int stage, stages;    /* --stage K/N; 0: one process */
	int node_a, node_b;   /* --nodes A-B; -1: not given */
} args;

static void usage(void)
{
	printf("Usage: %s -m MODEL [options] [DATASET] > RECORDS\n"
	       "Predict every record of a JSON-lines dataset (standard input without\n"
	       "DATASET); each record is written out with a \"pred\" object.\n\n"
	       "  -m, --model FILE      model (or checkpoint) from aoi-train (required)\n"
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
	       "  -V, --version         version\n",
	       prog);
}

enum { OPT_MASKS = 256, OPT_ROOT, OPT_TILE, OPT_RESIZE, OPT_SIZE, OPT_OVERLAP, OPT_MIN_AREA,
	OPT_MIN_BOX, OPT_FLIPS, OPT_AMQP, OPT_CONSUME, OPT_PUBLISH, OPT_PREFETCH, OPT_STAGE, OPT_NODES };

static const struct option options[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "masks", required_argument, NULL, OPT_MASKS },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "batch", required_argument, NULL, 'b' },
	{ "threads", required_argument, NULL, 'j' },
	{ "tile", no_argument, NULL, OPT_TILE },
	{ "resize", no_argument, NULL, OPT_RESIZE },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "overlap", required_argument, NULL, OPT_OVERLAP },
	{ "min-area", required_argument, NULL, OPT_MIN_AREA },
	{ "min-box", required_argument, NULL, OPT_MIN_BOX },
	{ "flips", no_argument, NULL, OPT_FLIPS },
	{ "keep-going", no_argument, NULL, 'k' },
	{ "amqp", required_argument, NULL, OPT_AMQP },
	{ "consume", required_argument, NULL, OPT_CONSUME },
	{ "publish", required_argument, NULL, OPT_PUBLISH },
	{ "prefetch", required_argument, NULL, OPT_PREFETCH },
	{ "stage", required_argument, NULL, OPT_STAGE },
	{ "nodes", required_argument, NULL, OPT_NODES },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

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

static int parse_value(args *a, int c, const char *v, aoi_error *err)
{
	switch (c) {
	case 'b': return aoi_cli_parse_int("--batch", v, 1, 4096, &a->batch, err);
	case 'j': return aoi_cli_parse_int("--threads", v, 0, 1024, &a->threads, err);
	case OPT_SIZE: return aoi_cli_parse_size("--size", v, &a->width, &a->height, err);
	case OPT_OVERLAP: return aoi_cli_parse_int("--overlap", v, 0, 4096, &a->overlap, err);
	case OPT_MIN_AREA: return aoi_cli_parse_int("--min-area", v, 0, 1L << 40, &a->min_area, err);
	case OPT_MIN_BOX: return aoi_cli_parse_size("--min-box", v, &a->min_box_w, &a->min_box_h, err);
	case OPT_PREFETCH: return aoi_cli_parse_int("--prefetch", v, 1, 65535, &a->prefetch, err);
	case OPT_STAGE: return parse_pair("--stage", v, '/', 1, &a->stage, &a->stages, err);
	case OPT_NODES: return parse_pair("--nodes", v, '-', 0, &a->node_a, &a->node_b, err);
	}
	return aoi_error_set(err, AOI_EINVAL, NULL, 0, "unhandled option");
}

/* --stage and --nodes: -1 to go on, or the exit status. */
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
	if (staged && a->amqp)
		return aoi_cli_usage_error(prog, "--stage and --nodes do not go with --amqp");
	int first = a->stages ? a->stage == 1 : a->node_a <= 1;
	if (staged && a->flips && !first)
		return aoi_cli_usage_error(prog, "--flips goes to the first stage (the others "
					   "follow its stream)");
	if (staged && !first && (a->dataset || a->root))
		return aoi_cli_usage_error(prog, "a stage after the first reads the stream on "
					   "standard input: no DATASET or --root");
	return -1;
}

/* -1 to go on, or the exit status. */
static int parse_args(args *a, int argc, char **argv)
{
	int c;
	aoi_error err;
	memset(a, 0, sizeof(*a));
	a->batch = 4;
	a->overlap = -1;
	a->tile = -1;
	a->node_a = a->node_b = -1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:b:j:khV", options, NULL)) != -1) {
		switch (c) {
		case 'm': a->model = optarg; break;
		case OPT_MASKS: a->masks = optarg; break;
		case OPT_ROOT: a->root = optarg; break;
		case OPT_TILE: a->tile = 1; break;
		case OPT_RESIZE: a->tile = 0; break;
		case OPT_FLIPS: a->flips = 1; break;
		case 'k': a->keep_going = 1; break;
		case OPT_AMQP: a->amqp = optarg; break;
		case OPT_CONSUME: a->consume = optarg; break;
		case OPT_PUBLISH: a->publish = optarg; break;
		case 'h': usage(); return aoi_cli_close_stdout(prog, AOI_EXIT_OK);
		case 'V': aoi_cli_version(prog); return aoi_cli_close_stdout(prog, AOI_EXIT_OK);
		case ':': return aoi_cli_usage_error(prog, "option '%s' needs a value", argv[optind - 1]);
		case '?': return aoi_cli_usage_error(prog, "unknown option '%s'", argv[optind - 1]);
		default:
			if (parse_value(a, c, optarg, &err) < 0)
				return aoi_cli_usage_error(prog, "%s", err.msg);
		}
	}
	if (optind + 1 < argc)
		return aoi_cli_usage_error(prog, "one dataset at most");
	a->dataset = optind < argc ? argv[optind] : NULL;
	if (!a->model)
		return aoi_cli_usage_error(prog, "-m MODEL is required");
	if (a->amqp && (!a->consume || !a->publish))
		return aoi_cli_usage_error(prog, "--amqp needs --consume and --publish");
	if (!a->amqp && (a->consume || a->publish))
		return aoi_cli_usage_error(prog, "--consume and --publish need --amqp");
	if (a->amqp && a->dataset)
		return aoi_cli_usage_error(prog, "--amqp takes no DATASET");
	return check_stage_args(a);
}

/* The model, fused, and what inference needs to know about it. */
typedef struct loaded {
	aoi_model_info info;
	aoi_net *net;
	aoi_classes classes;
	aoi_infer_model m;
	int crop;
} loaded;

static int load_model(const char *path, loaded *l, aoi_error *err)
{
	aoi_model_info_init(&l->info);
	aoi_classes_init(&l->classes);
	l->net = aoi_model_load(path, &l->info, err);
	if (!l->net || aoi_net_fuse_for_inference(l->net, err) < 0)
		return -1;
	const aoi_model_info *in = &l->info;
	aoi_infer_model *m = &l->m;
	m->task = in->task;
	m->width = in->opts.input_w;
	m->height = in->opts.input_h;
	m->use_template = in->template_input;
	m->gray = in->opts.in_channels / (in->template_input ? 2 : 1) == 1;
	if (in->opts.in_channels > AOI_NORM_MAX)
		return aoi_error_set(err, AOI_EFORMAT, path, 0, "%d input channels",
				     in->opts.in_channels);
	m->norm.channels = in->opts.in_channels;
	for (int c = 0; c < m->norm.channels; c++) {
		m->norm.mean[c] = in->mean[c];
		m->norm.std[c] = in->std[c];
	}
	int first = in->task == AOI_TASK_SEGMENTATION; /* skip "background" */
	for (int i = first; i < in->nclasses; i++)
		if (aoi_classes_add(&l->classes, in->classes[i]) < 0)
			return aoi_error_set(err, AOI_EFORMAT, path, 0, "too many classes");
	m->classes = &l->classes;
	m->info = &l->info;
	m->name = path;
	m->npoints = in->opts.classes / 2;
	const char *input = json_string_value(json_object_get(in->provenance, "input"));
	l->crop = input && !strcmp(input, "crop");
	m->scale = json_number_value(json_object_get(in->provenance, "scale"));
	return 0;
}

/* --size: another input size for a network that is not tied to one. */
static int resize_input(const char *path, loaded *l, int w, int h, aoi_error *err)
{
	const aoi_arch_info *ai = aoi_arch_find(l->info.arch);
	if (!ai || ai->fixed_size || l->m.task != AOI_TASK_SEGMENTATION)
		return aoi_error_set(err, AOI_EINVAL, path, 0,
				     "--size: %s runs only at its own input size", l->info.arch);
	if (w % ai->size_multiple || h % ai->size_multiple)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "--size %dx%d: %s needs multiples of %d", w, h, ai->name,
				     ai->size_multiple);
	l->m.width = w;
	l->m.height = h;
	return 0;
}

static void loaded_release(loaded *l)
{
	aoi_net_free(l->net);
	aoi_model_info_release(&l->info);
	aoi_classes_release(&l->classes);
}

/* Items of one chunk: records read but not yet written. */
typedef struct chunk {
	aoi_infer_item *items;
	int n, cap;
} chunk;

static void drop_chunk(chunk *c)
{
	for (int i = 0; i < c->n; i++)
		json_decref(c->items[i].rec);
	c->n = 0;
}

/* Write predicted records in order; a record that failed ends the run
 * unless keep_going, after the records before it. */
static int write_items(const aoi_infer_item *items, int n, int keep_going, aoi_error *err)
{
	for (int i = 0; i < n; i++) {
		char buf[1200];
		if (items[i].failed && !keep_going) {
			*err = items[i].err;
			return -1;
		}
		if (items[i].failed)
			fprintf(stderr, "%s: warning %s (skipped)\n", prog,
				aoi_error_text(&items[i].err, buf, sizeof(buf)));
		else if (aoi_record_write(stdout, items[i].rec, err) < 0)
			return -1;
	}
	return 0;
}

/* What to do with each chunk of records read: predict and write them, or
 * send them down a stage stream. */
typedef int (*chunk_fn)(void *ctx, chunk *c, aoi_error *err);

/* Read the dataset in chunks of --batch records and hand each to fn. */
static int read_chunks(const args *a, const char *what, chunk_fn fn, void *ctx,
		       aoi_error *err)
{
	aoi_reader *r = aoi_reader_open(a->dataset, a->root, err);
	if (!r)
		return -1;
	chunk c = { calloc((size_t)a->batch, sizeof(aoi_infer_item)), 0, (int)a->batch };
	int rc = c.items ? 0 : aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	aoi_progress p;
	aoi_progress_init(&p, what, 0);
	while (rc == 0) {
		json_t *rec;
		int got = aoi_reader_next(r, &rec, err);
		if (got < 0) {
			rc = -1;
			break;
		}
		if (got == 1) {
			c.items[c.n++] = (aoi_infer_item){ rec, aoi_reader_base(r),
							   aoi_reader_name(r),
							   aoi_reader_line(r), 0, { 0 } };
			if (c.n < c.cap)
				continue;
		}
		int n = c.n;
		if (n)
			rc = fn(ctx, &c, err);
		drop_chunk(&c);
		aoi_progress_step(&p, n, NULL);
		if (got == 0)
			break;
	}
	drop_chunk(&c);
	aoi_progress_end(&p);
	free(c.items);
	aoi_reader_free(r);
	return rc;
}

typedef struct predict_ctx {
	aoi_infer *inf;
	int keep_going;
} predict_ctx;

static int predict_chunk(void *ctx, chunk *c, aoi_error *err)
{
	predict_ctx *pc = ctx;
	if (aoi_infer_run(pc->inf, c->items, c->n, err) < 0)
		return -1;
	return write_items(c->items, c->n, pc->keep_going, err);
}

static int run(const args *a, aoi_infer *inf, aoi_error *err)
{
	predict_ctx pc = { inf, a->keep_going };
	return read_chunks(a, "infer", predict_chunk, &pc, err);
}

/* Queue worker mode: set by SIGTERM/SIGINT, read by the worker between
 * records so that the record in hand is finished. */
static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

typedef struct queue_ctx {
	aoi_infer *inf;
	const char *base;
} queue_ctx;

/* One record from the queue: its mask file (if any) is committed and
 * fsynced by lib/infer.c before this returns, so the worker may ack. */
static int predict_one(void *ctx, json_t *rec, aoi_error *err)
{
	const queue_ctx *q = ctx;
	aoi_infer_item it = { rec, q->base, NULL, 0, 0, { 0 } }; /* errors keep the file */

	if (aoi_infer_run(q->inf, &it, 1, err) < 0)
		return -2; /* the network failed: not the record's fault */
	if (it.failed) {
		*err = it.err;
		return -1;
	}
	return 0;
}

static int run_queue(const args *a, aoi_infer *inf, aoi_error *err)
{
	aoi_worker_opts wo = { a->amqp, a->consume, a->publish, (int)a->prefetch, 0, &stop_flag };
	struct sigaction sa = { .sa_handler = on_signal };
	queue_ctx q = { inf, a->root ? a->root : "." };
	aoi_worker_stats st;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (aoi_worker_run(&wo, predict_one, &q, &st, err) < 0)
		return -1;
	fprintf(stderr, "%s: %ld predicted, %ld dead-lettered, %ld reconnects\n", prog, st.done,
		st.dead, st.reconnects);
	return 0;
}

/* Stage mode: the stage's node range, or the exit status (2: usage). */
static int stage_nodes(const args *a, aoi_net *net, int *first, int *end, aoi_error *err)
{
	int n = aoi_net_node_count(net);
	if (a->stages)
		return aoi_infer_stage_nodes(net, a->stage, a->stages, first, end, err);
	if (a->node_b >= n)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--nodes %d-%d: the net has nodes "
				     "0-%d", a->node_a, a->node_b, n - 1);
	*first = a->node_a <= 1 ? 0 : a->node_a;
	*end = a->node_b + 1;
	return 0;
}

static int send_chunk(void *ctx, chunk *c, aoi_error *err)
{
	return aoi_infer_stage_send(ctx, c->items, c->n, stdout, err);
}

/* The first stage: records in chunks of --batch, as run() reads them, into
 * the stream. Failed records travel on: the last stage reports them. */
static int send_records(const args *a, aoi_infer_stage *st, aoi_error *err)
{
	if (read_chunks(a, "stage 1", send_chunk, st, err) < 0)
		return -1;
	return aoi_infer_stage_end(st, stdout, err);
}

/* The last stage: predicted records out, as run() writes them. */
static int receive_records(const args *a, aoi_infer_stage *st, aoi_error *err)
{
	aoi_infer_item *items;
	int n, got;
	while ((got = aoi_infer_stage_receive(st, stdin, &items, &n, err)) == 1)
		if (write_items(items, n, a->keep_going, err) < 0)
			return -1;
	return got;
}

/* --stage / --nodes: one part of the pipeline. */
static int run_stage(const args *a, aoi_infer *inf, aoi_net *net, aoi_error *err)
{
	int first, end;
	if (stage_nodes(a, net, &first, &end, err) < 0)
		return -2;
	if (end < aoi_net_node_count(net) && isatty(STDOUT_FILENO))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "a stage before the last writes a "
				     "binary stream: pipe it into the next stage"), -2;
	if (first == 0 && end == aoi_net_node_count(net)) /* the whole net: no stream */
		return run(a, inf, err);
	aoi_infer_stage *st = aoi_infer_stage_new(inf, first, end, err);
	if (!st)
		return -2;
	int rc = aoi_infer_stage_begin(st, stdin, "standard input", stdout, err);
	if (rc == 0 && aoi_infer_stage_first(st))
		rc = send_records(a, st, err);
	else if (rc == 0 && aoi_infer_stage_last(st))
		rc = receive_records(a, st, err);
	else
		while (rc == 0 && (rc = aoi_infer_stage_relay(st, stdin, stdout, err)) == 1)
			rc = 0;
	aoi_infer_stage_free(st);
	return rc < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	args a;
	loaded l;
	aoi_error err;
	aoi_cli_calm_threads(argv);
	aoi_error_clear(&err);
	memset(&l, 0, sizeof(l));
	int rc = parse_args(&a, argc, argv);
	if (rc >= 0)
		return rc;
	if (a.threads > 0)
		omp_set_num_threads((int)a.threads);
	aoi_infer *inf = NULL;
	rc = load_model(a.model, &l, &err);
	if (rc == 0 && a.width)
		rc = resize_input(a.model, &l, a.width, a.height, &err);
	if (rc == 0 && a.masks)
		rc = aoi_mkdir_p(a.masks, &err);
	if (rc == 0) {
		aoi_infer_opts o;
		aoi_infer_opts_init(&o);
		o.batch = (int)a.batch;
		o.tile = a.tile >= 0 ? a.tile : l.crop && !l.info.anomaly;
		o.overlap = (int)a.overlap;
		o.mask_dir = a.masks;
		o.min_area = a.min_area;
		o.min_box_w = a.min_box_w;
		o.min_box_h = a.min_box_h;
		o.flips = a.flips;
		if (a.threads > 0)
			aoi_net_set_threads(l.net, (int)a.threads);
		inf = aoi_infer_new(l.net, &l.m, &o, &err);
		rc = !inf ? -1
		     : a.stages || a.node_a >= 0 ? run_stage(&a, inf, l.net, &err)
		     : a.amqp ? run_queue(&a, inf, &err) : run(&a, inf, &err);
	}
	aoi_infer_free(inf);
	loaded_release(&l);
	if (rc == -2) /* a stage the model cannot have */
		return aoi_cli_usage_error(prog, "%s", err.msg);
	if (rc < 0)
		return aoi_cli_fail(prog, &err);
	return aoi_cli_close_stdout(prog, AOI_EXIT_OK);
}
