/* aoi-datatool: datasets of JSON-lines records: import from other layouts,
 * validate, stats, split, filter, sample, hash, render, report, merge,
 * export, publish and consume. Each command is an entry of `commands` and
 * one call into lib/ (data/datatool.h, formats/formats.h, report/,
 * queue/worker.h); this file reads the options and returns the exit code. */
#include <stdio.h>
#include <string.h>

#include "base/cli.h"
#include "data/dataset.h"
#include "data/datatool.h"
#include "formats/formats.h"
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
	"  import class-dirs DIR           one folder per class; label = folder, or\n"
	"                                  with masks beside the images, the class\n"
	"                                  of the masks\n"
	"  export yolo|mask-dir DIR [DATASET]   write the dataset out in that layout\n"
	"  validate [DATASET]              check records and decode every file\n"
	"  stats [--format json|table] [DATASET]           (default: json)\n"
	"  split [--val F] [--test F] [--seed N] [--stratify FIELD] [--by FIELD]\n"
	"                                  (defaults: --val 0.1 --test 0.1 --seed 1)\n"
	"  filter [--label L] [--class C] [--split S] [--source S] [--group G]\n"
	"                                  repeatable, comma lists; criteria AND'ed\n"
	"  sample -n N [--seed N] [--stratify FIELD]        (default: --seed 1)\n"
	"  sample --review N [--by score|prob] [--random F] [--seed N]\n"
	"                                  the least certain and a random share, for\n"
	"                                  review (defaults: --by score --random 0.2)\n"
	"  hash [DATASET]                  SHA-256 of records and the files they name\n"
	"  render --out DIR [DATASET]      PNG of truth (and pred) per record\n"
	"  report --out DIR [--truth TRUTH] [--title T] [--thumb PX] RECORDS\n"
	"                                  a page to browse and review (DIR/index.html)\n"
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
	"  --mask-threshold N  import: a binary mask's pixel is a defect from N on\n"
	"                   (default: 128 if the mask has values above 127, else 1)\n"
	"  --amqp URL       publish/consume: the broker, amqp://user:pass@host:port/vhost\n"
	"  --queue Q        publish/consume: the queue\n"
	"  --idle SECONDS   consume: stop after this long without a record (default: 0,\n"
	"                   never)\n"
	"  -h, --help       show this help and exit\n"
	"  --version        show the version and exit\n";

typedef struct opts {
	aoi_import_opts imp;
	const char *root, *format, *out;
	const char *amqp, *queue;
	double idle;
	aoi_split_opts split;
	aoi_filter filter;
	aoi_report_opts report;
	aoi_review_opts review; /* n and random -1: not given */
	aoi_merge_opts merge;
	long n, seed;  /* n -1: not given */
	char **args;   /* operands after the command */
	int nargs;
	aoi_datatool io; /* the dataset operand, --root, stdout */
	const struct command *cmd;
} opts;

/* A command: its name, what it does, the options it takes (names of the
 * option table), how many operands. */
typedef struct command {
	const char *name;
	int (*run)(opts *o, aoi_error *err); /* 0; -1 with err; or an exit status */
	const char *takes;
	int min_args, max_args;
} command;

static int cmd_import(opts *o, aoi_error *err)
{
	const char *kind = o->args[0];
	const aoi_format *f = aoi_formats_find(kind, 0);
	int takes_dir = !f || f->takes_dir; /* an unknown one is named after this */
	char names[200];

	if (takes_dir != (o->nargs == 2))
		return aoi_cli_usage_error(prog, takes_dir ? "import %s needs a directory"
							   : "import %s takes --images and --masks, not a directory",
					   kind);
	if (!f)
		return aoi_cli_usage_error(prog, "unknown import format '%s' (%s)", kind,
					   aoi_formats_names(0, names, sizeof names));
	return aoi_formats_import(f, o->nargs > 1 ? o->args[1] : NULL, &o->imp, stdout, err);
}

static int cmd_export(opts *o, aoi_error *err)
{
	const aoi_format *f = aoi_formats_find(o->args[0], 1);
	char names[200];

	if (!f)
		return aoi_cli_usage_error(prog, "unknown export format '%s' (%s)", o->args[0],
					   aoi_formats_names(1, names, sizeof names));
	o->io.path = o->nargs > 2 ? o->args[2] : NULL;
	return aoi_formats_export(f, &o->io, o->args[1], err);
}

static void report_problem(void *ctx, const aoi_error *problem)
{
	(void)ctx;
	aoi_cli_fail(prog, problem);
}

static int cmd_validate(opts *o, aoi_error *err)
{
	long problems = 0;

	if (aoi_datatool_validate(&o->io, report_problem, NULL, &problems, err) < 0)
		return -1;
	return problems ? AOI_EXIT_FAILURE : AOI_EXIT_OK;
}

static int cmd_stats(opts *o, aoi_error *err)
{
	if (o->format && strcmp(o->format, "json") != 0 && strcmp(o->format, "table") != 0)
		return aoi_cli_usage_error(prog, "--format: expected json or table");
	return aoi_datatool_stats(&o->io, o->format && strcmp(o->format, "table") == 0, err);
}

static int cmd_split(opts *o, aoi_error *err)
{
	if (o->split.val + o->split.test > 1)
		return aoi_cli_usage_error(prog, "--val and --test add up to more than 1");
	o->split.seed = (uint64_t)o->seed;
	return aoi_datatool_split(&o->io, &o->split, err);
}

static int cmd_filter(opts *o, aoi_error *err)
{
	return aoi_datatool_filter(&o->io, &o->filter, err);
}

static int cmd_sample(opts *o, aoi_error *err)
{
	aoi_review_opts *r = &o->review;

	if ((o->n < 0) == (r->n < 0))
		return aoi_cli_usage_error(prog, "sample needs -n N or --review N (one of them)");
	if (o->n >= 0 ? o->split.by || r->random >= 0 : o->split.stratify != NULL)
		return aoi_cli_usage_error(prog, o->n >= 0 ? "--by and --random go with --review"
						       : "--stratify goes with -n, not --review");
	if (o->n >= 0)
		return aoi_datatool_sample(&o->io, o->n, (uint64_t)o->seed, o->split.stratify, err);
	r->by = o->split.by ? o->split.by : "score";
	r->random = r->random >= 0 ? r->random : 0.2;
	r->seed = (uint64_t)o->seed;
	return aoi_review_sample_run(&o->io, r, err);
}

static int cmd_hash(opts *o, aoi_error *err)
{
	return aoi_datatool_hash(&o->io, err);
}

static int cmd_render(opts *o, aoi_error *err)
{
	if (!o->out)
		return aoi_cli_usage_error(prog, "render needs --out DIR");
	return aoi_datatool_render(&o->io, o->out, err);
}

static int cmd_report(opts *o, aoi_error *err)
{
	if (!o->out)
		return aoi_cli_usage_error(prog, "report needs --out DIR");
	if (strcmp(o->args[0], "-") == 0 || (o->report.truth && !strcmp(o->report.truth, "-")))
		return aoi_cli_usage_error(prog, "report reads its inputs twice (records, then "
					   "metrics): give files, not -");
	o->report.out = o->out;
	return aoi_report_run(&o->io, &o->report, err);
}

static int cmd_merge(opts *o, aoi_error *err)
{
	if (!o->merge.corrections)
		return aoi_cli_usage_error(prog, "merge needs --corrections FILE");
	return aoi_corrections_merge_run(&o->io, &o->merge, err);
}

static int cmd_publish(opts *o, aoi_error *err)
{
	long n = 0;

	if (aoi_worker_publish_path(o->amqp, o->queue, o->io.path, &n, err) < 0)
		return -1;
	fprintf(stderr, "%s: published %ld records to %s\n", prog, n, o->queue);
	return AOI_EXIT_OK;
}

/* SIGTERM and SIGINT let the record in hand be written and acked. */
static int cmd_consume(opts *o, aoi_error *err)
{
	char prefix[300];
	aoi_consume_opts co = { o->n >= 0 ? o->n : 0, o->idle, stderr, prefix,
				aoi_cli_stop_on_signals(0) };
	long n = 0;

	snprintf(prefix, sizeof prefix, "%s: %s: dead letter", prog, o->queue);
	return aoi_worker_consume_file(o->amqp, o->queue, stdout, &co, &n, err);
}

static const command commands[] = {
	{ "import", cmd_import, "absolute split images masks classes mask-threshold", 1, 2 },
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

/* --split (import's split, and a filter) and the other filters; opt->lo
 * is the field. */
static int set_filter(void *ctx, const aoi_cli_opt *opt, const char *arg, aoi_error *err)
{
	opts *o = ctx;

	if (opt->lo == AOI_FILTER_SPLIT)
		o->imp.split = arg;
	return aoi_filter_add(&o->filter, (enum aoi_filter_field)opt->lo, arg, err);
}

static int misplaced(void *ctx, const aoi_cli_opt *opt, const char *arg, aoi_error *err)
{
	(void)ctx, (void)arg;
	return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--%s goes before the command", opt->name);
}

/* The options the command takes; --help and --version go before it. */
static int admit(void *ctx, const aoi_cli_opt *opt, aoi_error *err)
{
	const command *c = ((const opts *)ctx)->cmd;
	char name[64];

	if (opt->call == misplaced || aoi_cli_opt_in(opt, c->takes))
		return 0;
	return aoi_error_set(err, AOI_EINVAL, NULL, 0, "'%s' does not take %s", c->name,
			     aoi_cli_opt_name(opt, name, sizeof name));
}

static int parse_options(opts *o, int argc, char **argv, int *first)
{
	const aoi_cli_opt table[] = {
		AOI_CLI_OPT_ROOT(&o->root),
		AOI_CLI_OPT_FLAG(0, "absolute", &o->imp.absolute),
		AOI_CLI_OPT_CALL(0, "split", set_filter, AOI_FILTER_SPLIT),
		AOI_CLI_OPT_STR(0, "images", &o->imp.images),
		AOI_CLI_OPT_STR(0, "masks", &o->imp.masks),
		AOI_CLI_OPT_STR(0, "classes", &o->imp.classes),
		AOI_CLI_OPT_INT(0, "mask-threshold", &o->imp.mask_threshold, 1, 255),
		AOI_CLI_OPT_STR(0, "format", &o->format),
		AOI_CLI_OPT_REAL(0, "val", &o->split.val, 0, 1),
		AOI_CLI_OPT_REAL(0, "test", &o->split.test, 0, 1),
		AOI_CLI_OPT_SEED(0, &o->seed),
		AOI_CLI_OPT_STR(0, "stratify", &o->split.stratify),
		AOI_CLI_OPT_STR(0, "by", &o->split.by),
		AOI_CLI_OPT_CALL(0, "label", set_filter, AOI_FILTER_LABEL),
		AOI_CLI_OPT_CALL(0, "class", set_filter, AOI_FILTER_CLASS),
		AOI_CLI_OPT_CALL(0, "source", set_filter, AOI_FILTER_SOURCE),
		AOI_CLI_OPT_CALL(0, "group", set_filter, AOI_FILTER_GROUP),
		AOI_CLI_OPT_STR(0, "out", &o->out),
		AOI_CLI_OPT_STR(0, "amqp", &o->amqp),
		AOI_CLI_OPT_STR(0, "queue", &o->queue),
		AOI_CLI_OPT_REAL(0, "idle", &o->idle, 0, 1e9),
		AOI_CLI_OPT_INT('n', NULL, &o->n, 0, LONG_MAX),
		AOI_REPORT_CLI_OPTS(&o->report),
		AOI_REVIEW_CLI_OPTS(&o->review),
		AOI_MERGE_CLI_OPTS(&o->merge),
		AOI_CLI_OPT_ACTION('h', "help", misplaced),
		AOI_CLI_OPT_ACTION(0, "version", misplaced),
		AOI_CLI_OPT_END,
	};
	aoi_cli_parser p = { .prog = prog, .usage = usage_text, .opts = table, .ctx = o,
			     .admit = admit, .context = o->cmd->name };

	return aoi_cli_parse(&p, argc, argv, first);
}

/* COMMAND [OPTION]... [ARG]... */
static int parse(void *ctx, int argc, char **argv)
{
	opts *o = ctx;
	const void *cmd;
	int first, rc = aoi_cli_command(prog, usage_text, argc, argv, commands,
					sizeof commands / sizeof commands[0], sizeof commands[0], &cmd);

	if (rc != AOI_CLI_GO)
		return rc;
	o->cmd = cmd;
	if ((rc = parse_options(o, argc - 1, argv + 1, &first)) != AOI_CLI_GO)
		return rc;
	o->args = argv + 1 + first;
	o->nargs = argc - 1 - first;
	if (o->nargs < o->cmd->min_args || o->nargs > o->cmd->max_args)
		return aoi_cli_usage_error(prog, "'%s': wrong number of arguments", o->cmd->name);
	if (strstr(o->cmd->takes, "amqp") && (!o->amqp || !o->queue))
		return aoi_cli_usage_error(prog, "'%s' needs --amqp URL and --queue Q", o->cmd->name);
	o->io = (aoi_datatool){ o->nargs > 0 ? o->args[0] : NULL, o->root, stdout };
	return AOI_CLI_GO;
}

static int run(void *ctx, aoi_error *err)
{
	opts *o = ctx;

	return o->cmd->run(o, err);
}

int main(int argc, char **argv)
{
	const aoi_cli_prog program = { prog, parse, run };
	opts o = { .split = { .val = 0.1, .test = 0.1 }, .n = -1, .seed = 1,
		   .review = { .n = -1, .random = -1 } };
	int rc;

	aoi_filter_init(&o.filter);
	rc = aoi_cli_main(&program, &o, argc, argv);
	aoi_filter_release(&o.filter);
	return rc;
}
