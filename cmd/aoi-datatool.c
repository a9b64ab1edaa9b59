/* aoi-datatool: datasets of JSON-lines records: import from other layouts,
 * validate, stats, split, filter, sample, hash, render, report, merge,
 * export. The work is in lib/ (import.h, export.h, dataset.h, hash.h,
 * render.h, report.h, review.h, corrections.h); this file reads options,
 * opens streams and returns the exit code. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/hash.h"
#include "data/dataset.h"
#include "data/record.h"
#include "data/render.h"
#include "formats/export.h"
#include "formats/import.h"
#include "queue/worker.h"
#include "report/corrections.h"
#include "report/report.h"
#include "report/review.h"

static const char *const prog = "aoi-datatool";

static const char usage_text[] =
	"Usage: aoi-datatool COMMAND [OPTION]... [DATASET]\n"
	"Datasets of JSON-lines records (man aoi-dataset.5). DATASET is a file or -\n"
	"(standard input, the default); records go to standard output.\n"
	"\n"
	"Commands:\n"
	"  import deeppcb DIR [--split trainval|test|all]   DeepPCB (default: all)\n"
	"  import yolo DIR                 images/, labels/ and data.yaml\n"
	"  import mask-dir --images DIR --masks DIR [--classes A,B,...]\n"
	"                                  same-stem mask PNGs (default class: defect)\n"
	"  import class-dirs DIR           one folder per class; label = folder\n"
	"  export yolo|mask-dir DIR [DATASET]   write the dataset out in that layout\n"
	"  validate [DATASET]              check records and decode every file\n"
	"  stats [--format json|table] [DATASET]           (default: json)\n"
	"  split [--val F] [--test F] [--seed N] [--stratify FIELD] [--by FIELD]\n"
	"                                  (defaults: --val 0.1 --test 0.1 --seed 1)\n"
	"  filter [--label L] [--class C] [--split S] [--source S] [--group G]\n"
	"                                  repeatable, comma lists; criteria AND'ed\n"
	"  sample -n N [--seed N] [--stratify FIELD]        (default: --seed 1)\n"
	"  sample --review N [--by score|prob] [--random F] [--seed N]\n"
	"                                  for people to review: the least certain,\n"
	"                                  plus a random share (defaults: --by score\n"
	"                                  --random 0.2)\n"
	"  hash [DATASET]                  SHA-256 of records and the files they name\n"
	"  render --out DIR [DATASET]      PNG of truth (and pred) per record\n"
	"  report --out DIR [--truth TRUTH] [--title T] [--thumb PX] RECORDS\n"
	"                                  a page to browse and review predictions,\n"
	"                                  opened from disk (DIR/index.html)\n"
	"  merge --corrections FILE [--reviewed-only] [DATASET]\n"
	"                                  fold the review's corrections in as labels\n"
	"  publish --amqp URL --queue Q [DATASET]   put each record on queue Q\n"
	"  consume --amqp URL --queue Q [-n N] [--idle SECONDS]\n"
	"                                  write records of queue Q to standard\n"
	"                                  output (default: until interrupted)\n"
	"\n"
	"Options:\n"
	"  --root DIR       base of relative paths in records read from standard\n"
	"                   input (default: the working directory; for a file: its\n"
	"                   directory)\n"
	"  --absolute       import: write absolute image paths (default: DIR as given)\n"
	"  --amqp URL       publish/consume: the broker, amqp://user:pass@host:port/vhost\n"
	"  --queue Q        publish/consume: the queue\n"
	"  --idle SECONDS   consume: stop after this long without a record (default: 0,\n"
	"                   never)\n"
	"  -h, --help       show this help and exit\n"
	"  --version        show the version and exit\n";

enum opt_id {
	O_ROOT = 256, O_ABSOLUTE, O_SPLIT, O_IMAGES, O_MASKS, O_CLASSES, O_FORMAT,
	O_VAL, O_TEST, O_SEED, O_STRATIFY, O_BY, O_LABEL, O_CLASS, O_SOURCE, O_GROUP,
	O_OUT, O_AMQP, O_QUEUE, O_IDLE, O_TRUTH, O_TITLE, O_THUMB, O_CORRECTIONS,
	O_REVIEWED_ONLY, O_REVIEW, O_RANDOM, O_N = 'n', O_HELP = 'h', O_VERSION = 320
};

static const struct option long_options[] = {
	{ "root", required_argument, NULL, O_ROOT },
	{ "absolute", no_argument, NULL, O_ABSOLUTE },
	{ "split", required_argument, NULL, O_SPLIT },
	{ "images", required_argument, NULL, O_IMAGES },
	{ "masks", required_argument, NULL, O_MASKS },
	{ "classes", required_argument, NULL, O_CLASSES },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "val", required_argument, NULL, O_VAL },
	{ "test", required_argument, NULL, O_TEST },
	{ "seed", required_argument, NULL, O_SEED },
	{ "stratify", required_argument, NULL, O_STRATIFY },
	{ "by", required_argument, NULL, O_BY },
	{ "label", required_argument, NULL, O_LABEL },
	{ "class", required_argument, NULL, O_CLASS },
	{ "source", required_argument, NULL, O_SOURCE },
	{ "group", required_argument, NULL, O_GROUP },
	{ "out", required_argument, NULL, O_OUT },
	{ "amqp", required_argument, NULL, O_AMQP },
	{ "queue", required_argument, NULL, O_QUEUE },
	{ "idle", required_argument, NULL, O_IDLE },
	{ "truth", required_argument, NULL, O_TRUTH },
	{ "title", required_argument, NULL, O_TITLE },
	{ "thumb", required_argument, NULL, O_THUMB },
	{ "corrections", required_argument, NULL, O_CORRECTIONS },
	{ "reviewed-only", no_argument, NULL, O_REVIEWED_ONLY },
	{ "review", required_argument, NULL, O_REVIEW },
	{ "random", required_argument, NULL, O_RANDOM },
	{ "help", no_argument, NULL, O_HELP },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

typedef struct opts {
	aoi_import_opts imp;
	const char *root, *format, *out;
	const char *amqp, *queue;
	const char *truth, *title, *corrections;
	double idle;
	aoi_review_opts review;
	long thumb;
	int given_review, reviewed_only;
	aoi_split_opts split;
	aoi_filter filter;
	long n, seed;
	int given_n;
	char **args; /* positional arguments after the command */
	int nargs;
} opts;

typedef struct command {
	const char *name;
	int (*run)(opts *o);
	const char *allowed; /* option letters/ids this command takes, see opt_name */
	int min_args, max_args;
} command;

/* ---- output helpers ---- */

static int write_records(const json_t *records)
{
	aoi_error err;
	size_t i;
	json_t *rec;

	aoi_error_clear(&err);
	json_array_foreach(records, i, rec)
		if (aoi_record_write(stdout, rec, &err) != 0)
			return aoi_cli_fail(prog, &err);
	return AOI_EXIT_OK;
}

static int write_json(const json_t *v)
{
	aoi_error err;

	aoi_error_clear(&err);
	return aoi_record_write(stdout, v, &err) == 0 ? AOI_EXIT_OK : aoi_cli_fail(prog, &err);
}

static const char *dataset_arg(const opts *o, int at)
{
	return o->nargs > at ? o->args[at] : "-";
}

static int load(aoi_dataset *ds, const opts *o, int at, aoi_error *err)
{
	return aoi_dataset_load(ds, dataset_arg(o, at), o->root, err);
}

/* ---- commands ---- */

static int cmd_import(opts *o)
{
	const char *kind = o->args[0], *dir = o->nargs > 1 ? o->args[1] : NULL;
	aoi_error err;
	json_t *recs = NULL;
	int need_dir = strcmp(kind, "mask-dir") != 0;

	aoi_progress progress;

	aoi_error_clear(&err);
	aoi_progress_init(&progress, "import", 0);
	o->imp.progress = &progress;
	if (need_dir != (o->nargs == 2))
		return aoi_cli_usage_error(prog, need_dir ? "import %s needs a directory"
							  : "import mask-dir takes --images and --masks, not a directory",
					   kind);
	if (strcmp(kind, "deeppcb") == 0)
		recs = aoi_import_deeppcb(dir, &o->imp, &err);
	else if (strcmp(kind, "yolo") == 0)
		recs = aoi_import_yolo(dir, &o->imp, &err);
	else if (strcmp(kind, "mask-dir") == 0)
		recs = aoi_import_mask_dir(&o->imp, &err);
	else if (strcmp(kind, "class-dirs") == 0)
		recs = aoi_import_class_dirs(dir, &o->imp, &err);
	else
		return aoi_cli_usage_error(prog, "unknown import format '%s' (deeppcb, yolo, "
					   "mask-dir, class-dirs)", kind);
	aoi_progress_end(&progress);
	if (!recs)
		return aoi_cli_fail(prog, &err);
	int rc = write_records(recs);
	json_decref(recs);
	return rc;
}

static int cmd_export(opts *o)
{
	const char *kind = o->args[0];
	aoi_dataset ds;
	aoi_export_summary sum = { 0 };
	aoi_error err;
	int rc;

	aoi_error_clear(&err);
	if (strcmp(kind, "yolo") != 0 && strcmp(kind, "mask-dir") != 0)
		return aoi_cli_usage_error(prog, "unknown export format '%s' (yolo, mask-dir)",
					   kind);
	if (load(&ds, o, 2, &err) != 0)
		return aoi_cli_fail(prog, &err);
	rc = strcmp(kind, "yolo") == 0 ? aoi_export_yolo(&ds, o->args[1], &sum, &err)
				       : aoi_export_mask_dir(&ds, o->args[1], &sum, &err);
	aoi_dataset_release(&ds);
	if (rc != 0)
		return aoi_cli_fail(prog, &err);
	json_t *v = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I}", "export", kind, "dir", o->args[1],
			      "images", (json_int_t)sum.images, "labels", (json_int_t)sum.labels,
			      "boxes", (json_int_t)sum.boxes, "polygons",
			      (json_int_t)sum.polygons);
	rc = write_json(v);
	json_decref(v);
	return rc;
}

static void report_problem(void *ctx, const aoi_error *problem)
{
	(void)ctx;
	aoi_cli_fail(prog, problem);
}

static int cmd_validate(opts *o)
{
	aoi_validate_summary sum;
	aoi_progress progress;
	aoi_error err;
	int rc;

	aoi_error_clear(&err);
	aoi_progress_init(&progress, "validate", 0);
	rc = aoi_dataset_validate(dataset_arg(o, 0), o->root, report_problem, NULL, &progress,
				  &sum, &err);
	aoi_progress_end(&progress);
	if (rc != 0)
		return aoi_cli_fail(prog, &err);
	json_t *v = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "records", (json_int_t)sum.records,
			      "valid", (json_int_t)sum.valid, "problems",
			      (json_int_t)sum.problems, "images", (json_int_t)sum.images,
			      "templates", (json_int_t)sum.templates, "masks",
			      (json_int_t)sum.masks);
	rc = write_json(v);
	json_decref(v);
	return rc != AOI_EXIT_OK ? rc : sum.problems ? AOI_EXIT_FAILURE : AOI_EXIT_OK;
}

static int cmd_stats(opts *o)
{
	aoi_dataset ds;
	aoi_error err;
	json_t *st;
	int rc;

	aoi_error_clear(&err);
	if (o->format && strcmp(o->format, "json") != 0 && strcmp(o->format, "table") != 0)
		return aoi_cli_usage_error(prog, "--format: expected json or table");
	if (load(&ds, o, 0, &err) != 0)
		return aoi_cli_fail(prog, &err);
	st = aoi_dataset_stats(&ds, &err);
	aoi_dataset_release(&ds);
	if (!st)
		return aoi_cli_fail(prog, &err);
	if (o->format && strcmp(o->format, "table") == 0)
		rc = aoi_stats_print_table(stdout, st, &err) == 0 ? AOI_EXIT_OK
								  : aoi_cli_fail(prog, &err);
	else
		rc = write_json(st);
	json_decref(st);
	return rc;
}

static int cmd_split(opts *o)
{
	aoi_dataset ds;
	aoi_error err;
	int rc;

	aoi_error_clear(&err);
	if (o->split.val + o->split.test > 1)
		return aoi_cli_usage_error(prog, "--val and --test add up to more than 1");
	o->split.seed = (uint64_t)o->seed;
	if (load(&ds, o, 0, &err) != 0)
		return aoi_cli_fail(prog, &err);
	rc = aoi_dataset_split(ds.records, &o->split, &err) == 0 ? write_records(ds.records)
								 : aoi_cli_fail(prog, &err);
	aoi_dataset_release(&ds);
	return rc;
}

static int cmd_filter(opts *o)
{
	aoi_reader *r;
	aoi_error err;
	json_t *rec;
	int got, rc = AOI_EXIT_OK;

	aoi_error_clear(&err);
	if (!(r = aoi_reader_open(dataset_arg(o, 0), o->root, &err)))
		return aoi_cli_fail(prog, &err);
	while (rc == AOI_EXIT_OK && (got = aoi_reader_next(r, &rec, &err)) > 0) {
		int hit = aoi_filter_match(&o->filter, rec, aoi_reader_base(r), &err);
		if (hit < 0) {
			aoi_dataset_place(&err, aoi_reader_name(r), aoi_reader_line(r));
			rc = aoi_cli_fail(prog, &err);
		} else if (hit && aoi_record_write(stdout, rec, &err) != 0) {
			rc = aoi_cli_fail(prog, &err);
		}
		json_decref(rec);
	}
	if (rc == AOI_EXIT_OK && got < 0)
		rc = aoi_cli_fail(prog, &err);
	aoi_reader_free(r);
	return rc;
}

static int cmd_sample(opts *o)
{
	aoi_dataset ds;
	aoi_error err;
	json_t *picked;

	aoi_error_clear(&err);
	if (o->given_n == o->given_review)
		return aoi_cli_usage_error(prog, "sample needs -n N or --review N (one of them)");
	if (!o->given_review && (o->split.by || o->review.random >= 0))
		return aoi_cli_usage_error(prog, "--by and --random go with --review");
	if (o->given_review && o->split.stratify)
		return aoi_cli_usage_error(prog, "--stratify goes with -n, not --review");
	if (o->given_review) {
		o->review.by = o->split.by ? o->split.by : "score";
		o->review.random = o->review.random >= 0 ? o->review.random : 0.2;
		o->review.seed = (uint64_t)o->seed;
		return aoi_review_sample_path(dataset_arg(o, 0), o->root, &o->review, stdout,
					      &err) == 0 ? AOI_EXIT_OK : aoi_cli_fail(prog, &err);
	}
	if (load(&ds, o, 0, &err) != 0)
		return aoi_cli_fail(prog, &err);
	picked = aoi_dataset_sample(ds.records, o->n, (uint64_t)o->seed, o->split.stratify,
				    &err);
	aoi_dataset_release(&ds);
	if (!picked)
		return aoi_cli_fail(prog, &err);
	int rc = write_records(picked);
	json_decref(picked);
	return rc;
}

static int cmd_hash(opts *o)
{
	aoi_dataset ds;
	aoi_fingerprint fp;
	aoi_error err;

	aoi_error_clear(&err);
	if (load(&ds, o, 0, &err) != 0)
		return aoi_cli_fail(prog, &err);
	aoi_progress progress;
	aoi_progress_init(&progress, "hash", (long)aoi_dataset_size(&ds));
	int rc = aoi_hash_dataset(ds.records, ds.base, &progress, &fp, &err);
	aoi_progress_end(&progress);
	if (rc != 0) {
		aoi_dataset_locate(&ds, (size_t)fp.failed, &err);
		aoi_dataset_release(&ds);
		return aoi_cli_fail(prog, &err);
	}
	aoi_dataset_release(&ds);
	printf("%s\n", fp.hex);
	return AOI_EXIT_OK;
}

static int cmd_render(opts *o)
{
	aoi_dataset ds;
	aoi_error err;
	int rc;

	aoi_error_clear(&err);
	if (!o->out)
		return aoi_cli_usage_error(prog, "render needs --out DIR");
	if (load(&ds, o, 0, &err) != 0)
		return aoi_cli_fail(prog, &err);
	aoi_progress progress;
	aoi_progress_init(&progress, "render", (long)aoi_dataset_size(&ds));
	rc = aoi_render_dataset(&ds, o->out, &progress, &err);
	aoi_progress_end(&progress);
	rc = rc == 0 ? write_records(ds.records) : aoi_cli_fail(prog, &err);
	aoi_dataset_release(&ds);
	return rc;
}

static int cmd_report(opts *o)
{
	aoi_report_opts ro = { .records = o->args[0], .truth = o->truth, .root = o->root,
			       .out = o->out, .title = o->title, .thumb = (int)o->thumb };
	aoi_error err;

	aoi_error_clear(&err);
	if (!o->out)
		return aoi_cli_usage_error(prog, "report needs --out DIR");
	if (strcmp(ro.records, "-") == 0 || (o->truth && strcmp(o->truth, "-") == 0))
		return aoi_cli_usage_error(prog, "report reads its inputs twice (records, then "
					   "metrics): give files, not -");
	return aoi_report_run(&ro, stdout, &err) == 0 ? AOI_EXIT_OK : aoi_cli_fail(prog, &err);
}

static int cmd_merge(opts *o)
{
	aoi_error err;

	aoi_error_clear(&err);
	if (!o->corrections)
		return aoi_cli_usage_error(prog, "merge needs --corrections FILE");
	return aoi_corrections_merge_path(dataset_arg(o, 0), o->root, o->corrections,
					  o->reviewed_only, stdout, &err) == 0
		       ? AOI_EXIT_OK
		       : aoi_cli_fail(prog, &err);
}

/* Options each command takes, as the long names' ids (see long_options). */
/* ---- queues (lib/worker.h) ---- */

/* consume: set by SIGTERM/SIGINT so that the record in hand is written
 * and acked before the program exits. */
static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int need_queue(const opts *o, const char *cmd)
{
	if (!o->amqp || !o->queue)
		return aoi_cli_usage_error(prog, "'%s' needs --amqp URL and --queue Q", cmd);
	return 0;
}

static int cmd_publish(opts *o)
{
	const char *path = dataset_arg(o, 0);
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	aoi_error err;
	long n = 0;
	int rc = need_queue(o, "publish");

	aoi_error_clear(&err);
	if (rc)
		return rc;
	if (!in) {
		aoi_error_errno(&err, path, "open");
		return aoi_cli_fail(prog, &err);
	}
	rc = aoi_worker_publish_file(o->amqp, o->queue, in, strcmp(path, "-") ? path : "stdin",
				     &n, &err);
	if (in != stdin)
		fclose(in);
	if (rc < 0)
		return aoi_cli_fail(prog, &err);
	fprintf(stderr, "%s: published %ld records to %s\n", prog, n, o->queue);
	return AOI_EXIT_OK;
}

static int cmd_consume(opts *o)
{
	struct sigaction sa = { .sa_handler = on_signal };
	aoi_consume_opts co;
	char prefix[300];
	aoi_error err;
	long n = 0;
	int rc = need_queue(o, "consume");

	aoi_error_clear(&err);
	if (rc)
		return rc;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	co.max = o->given_n ? o->n : 0;
	co.idle = o->idle;
	co.notes = stderr;
	co.prefix = prefix;
	co.stop = &stop_flag;
	snprintf(prefix, sizeof prefix, "%s: %s: dead letter", prog, o->queue);
	if (aoi_worker_consume_file(o->amqp, o->queue, stdout, &co, &n, &err) < 0)
		return aoi_cli_fail(prog, &err);
	return AOI_EXIT_OK;
}

static const command commands[] = {
	{ "import", cmd_import, "absolute split images masks classes", 1, 2 },
	{ "export", cmd_export, "root", 2, 3 },
	{ "validate", cmd_validate, "root", 0, 1 },
	{ "stats", cmd_stats, "root format", 0, 1 },
	{ "split", cmd_split, "root val test seed stratify by", 0, 1 },
	{ "filter", cmd_filter, "root label class split source group", 0, 1 },
	{ "sample", cmd_sample, "root n seed stratify review by random", 0, 1 },
	{ "hash", cmd_hash, "root", 0, 1 },
	{ "render", cmd_render, "root out", 0, 1 },
	{ "report", cmd_report, "root out truth title thumb", 1, 1 },
	{ "merge", cmd_merge, "root corrections reviewed-only", 0, 1 },
	{ "publish", cmd_publish, "amqp queue", 0, 1 },
	{ "consume", cmd_consume, "amqp queue n idle", 0, 0 },
};

static int takes(const command *c, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = c->allowed; (p = strstr(p, name)) != NULL; p += len)
		if ((p == c->allowed || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
			return 1;
	return 0;
}

static const char *opt_name(int id)
{
	if (id == O_N)
		return "n";
	for (const struct option *lo = long_options; lo->name; lo++)
		if (lo->val == id)
			return lo->name;
	return "?";
}

/* One option value into o; 0, or an exit code. */
static int set_option(opts *o, int id, const char *arg)
{
	aoi_error err;
	enum aoi_filter_field f = AOI_FILTER_NFIELDS;
	int bad = 0;

	aoi_error_clear(&err);
	switch (id) {
	case O_ROOT: o->root = arg; break;
	case O_ABSOLUTE: o->imp.absolute = 1; break;
	case O_SPLIT: o->imp.split = arg; f = AOI_FILTER_SPLIT; break;
	case O_IMAGES: o->imp.images = arg; break;
	case O_MASKS: o->imp.masks = arg; break;
	case O_CLASSES: o->imp.classes = arg; break;
	case O_FORMAT: o->format = arg; break;
	case O_VAL: bad = aoi_cli_parse_double("--val", arg, 0, 1, &o->split.val, &err); break;
	case O_TEST: bad = aoi_cli_parse_double("--test", arg, 0, 1, &o->split.test, &err); break;
	case O_SEED: bad = aoi_cli_parse_int("--seed", arg, 0, 0x7fffffffffffffffL, &o->seed, &err); break;
	case O_STRATIFY: o->split.stratify = arg; break;
	case O_BY: o->split.by = arg; break;
	case O_LABEL: f = AOI_FILTER_LABEL; break;
	case O_CLASS: f = AOI_FILTER_CLASS; break;
	case O_SOURCE: f = AOI_FILTER_SOURCE; break;
	case O_GROUP: f = AOI_FILTER_GROUP; break;
	case O_OUT: o->out = arg; break;
	case O_AMQP: o->amqp = arg; break;
	case O_QUEUE: o->queue = arg; break;
	case O_IDLE: bad = aoi_cli_parse_double("--idle", arg, 0, 1e9, &o->idle, &err); break;
	case O_TRUTH: o->truth = arg; break;
	case O_TITLE: o->title = arg; break;
	case O_THUMB: bad = aoi_cli_parse_int("--thumb", arg, 16, 1024, &o->thumb, &err); break;
	case O_CORRECTIONS: o->corrections = arg; break;
	case O_REVIEWED_ONLY: o->reviewed_only = 1; break;
	case O_REVIEW:
		o->given_review = 1;
		bad = aoi_cli_parse_int("--review", arg, 0, 0x7fffffffffffffffL, &o->review.n, &err);
		break;
	case O_RANDOM:
		bad = aoi_cli_parse_double("--random", arg, 0, 1, &o->review.random, &err);
		break;
	case O_N:
		o->given_n = 1;
		bad = aoi_cli_parse_int("-n", arg, 0, 0x7fffffffffffffffL, &o->n, &err);
		break;
	}
	if (!bad && f != AOI_FILTER_NFIELDS)
		bad = aoi_filter_add(&o->filter, f, arg, &err);
	return bad ? aoi_cli_usage_error(prog, "%s", err.msg) : 0;
}

static int parse_options(const command *c, int argc, char **argv, opts *o)
{
	int id, rc;

	optind = 1;
	opterr = 0; /* getopt would name the command, not the program */
	while ((id = getopt_long(argc, argv, ":hn:", long_options, NULL)) != -1) {
		if (id == '?')
			return aoi_cli_usage_error(prog, "'%s': unknown option '%s'", c->name,
						   argv[optind - 1]);
		if (id == ':')
			return aoi_cli_usage_error(prog, "'%s': option '%s' needs a value",
						   c->name, argv[optind - 1]);
		if (id == O_HELP || id == O_VERSION)
			return aoi_cli_usage_error(prog, "--%s goes before the command",
						   opt_name(id));
		if (!takes(c, opt_name(id)))
			return aoi_cli_usage_error(prog, "'%s' does not take %s%s", c->name,
						   id == O_N ? "-" : "--", opt_name(id));
		if ((rc = set_option(o, id, optarg)) != 0)
			return rc;
	}
	o->args = argv + optind;
	o->nargs = argc - optind;
	if (o->nargs < c->min_args || o->nargs > c->max_args)
		return aoi_cli_usage_error(prog, "'%s': wrong number of arguments", c->name);
	return 0;
}

static int run_command(const command *c, int argc, char **argv)
{
	opts o = { .split = { .val = 0.1, .test = 0.1 }, .seed = 1, .review = { .random = -1 } };
	int rc;

	aoi_filter_init(&o.filter);
	rc = parse_options(c, argc, argv, &o);
	if (rc == 0)
		rc = c->run(&o);
	aoi_filter_release(&o.filter);
	return rc;
}

int main(int argc, char **argv)
{
	aoi_cli_calm_threads(argv);
	if (argc < 2)
		return aoi_cli_usage_error(prog, "missing command");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return aoi_cli_close_stdout(prog, AOI_EXIT_OK);
	}
	if (strcmp(argv[1], "--version") == 0) {
		aoi_cli_version(prog);
		return aoi_cli_close_stdout(prog, AOI_EXIT_OK);
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return aoi_cli_close_stdout(prog,
						    run_command(&commands[i], argc - 1, argv + 1));
	if (argv[1][0] == '-')
		return aoi_cli_usage_error(prog, "unknown option '%s'", argv[1]);
	return aoi_cli_usage_error(prog, "unknown command '%s'", argv[1]);
}
