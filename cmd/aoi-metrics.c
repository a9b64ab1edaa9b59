/* aoi-metrics: how good the model (and the people) are. Joins the truth,
 * the predictions and any further decision files by id and reports
 * segmentation, image, decision, keypoint and detection figures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/fileio.h"
#include "data/record.h"
#include "eval/evaluate.h"
#include "eval/metrics.h"

static const char *const prog = "aoi-metrics";

static const char usage_text[] =
	"Usage: aoi-metrics --truth TRUTH [OPTION]... PRED [INSPECTOR]...\n"
	"       aoi-metrics --log FILE --plot DIR\n"
	"Compare predictions PRED (and decision files of human INSPECTORs) with\n"
	"the annotated dataset TRUTH, joined by \"id\"; '-' reads standard input.\n"
	"\n"
	"  -t, --truth FILE     the annotated dataset (required with PRED)\n"
	"      --root DIR       base directory for relative paths of standard\n"
	"                       input (default: the working directory)\n"
	"  -f, --format FMT     json or table (default: json)\n"
	"      --iou T          detection: a match needs IoU > T (default: 0.33,\n"
	"                       DeepPCB's rule)\n"
	"      --good LABEL     the label of good images (default: good)\n"
	"      --recall R       image scores: the false-reject rate at this\n"
	"                       recall (default: 1)\n"
	"      --max-fpr F      anomaly maps: PRO up to this false-positive\n"
	"                       rate (default: 0.3)\n"
	"  -p, --plot DIR       write PNG charts into DIR\n"
	"  -l, --log FILE       aoi-train's log (JSON lines): learning curves\n"
	"                       into the --plot DIR\n"
	"  -o, --output FILE    write the report here, whole or not at all\n"
	"                       (default: stdout)\n"
	"  -h, --help           show this help and exit\n"
	"  -V, --version        show the version and exit\n"
	"\n"
	"Ids of TRUTH without a prediction and predictions not in TRUTH are\n"
	"reported as warnings on stderr and counted in the report.\n"
	"Exit status: 0 ok, 1 bad input, 2 usage error.\n";

typedef struct opts {
	aoi_eval_opts eval;
	const char *format, *plot, *log, *output;
	char **files; /* PRED and INSPECTORs */
	int nfiles;
} opts;

static int parse(void *ctx, int argc, char **argv)
{
	opts *o = ctx;
	const aoi_cli_opt table[] = {
		AOI_CLI_OPT_STR('t', "truth", &o->eval.truth),
		AOI_CLI_OPT_ROOT(&o->eval.root),
		AOI_CLI_OPT_STR('f', "format", &o->format),
		AOI_CLI_OPT_REAL(0, "iou", &o->eval.iou_min, 0, 1),
		AOI_CLI_OPT_STR(0, "good", &o->eval.good),
		AOI_CLI_OPT_REAL(0, "recall", &o->eval.recall, 1e-9, 1),
		AOI_CLI_OPT_REAL(0, "max-fpr", &o->eval.max_fpr, 1e-9, 1),
		AOI_CLI_OPT_STR('p', "plot", &o->plot),
		AOI_CLI_OPT_STR('l', "log", &o->log),
		AOI_CLI_OPT_STR('o', "output", &o->output),
		AOI_CLI_OPT_HELP_VERSION,
		AOI_CLI_OPT_END,
	};
	aoi_cli_parser p = { .prog = prog, .usage = usage_text, .opts = table,
			     .getopt_says = 1, .then = "unknown option" };
	int first, rc = aoi_cli_parse(&p, argc, argv, &first);

	if (rc != AOI_CLI_GO)
		return rc;
	o->files = argv + first;
	o->nfiles = argc - first;
	if (strcmp(o->format, "json") && strcmp(o->format, "table"))
		return aoi_cli_usage_error(prog, "--format must be json or table, not '%s'",
					   o->format);
	if (o->log && !o->plot)
		return aoi_cli_usage_error(prog, "--log needs --plot DIR");
	if (o->nfiles == 0 && !o->log)
		return aoi_cli_usage_error(prog, "missing PRED");
	if (o->nfiles > 0 && !o->eval.truth)
		return aoi_cli_usage_error(prog, "--truth FILE is required");
	if (o->nfiles > AOI_METRICS_MAXSRC)
		return aoi_cli_usage_error(prog, "at most %d inspector files",
					   AOI_METRICS_MAXSRC - 1);
	return AOI_CLI_GO;
}

static void warn_ids(const aoi_eval *e, const opts *o)
{
	const char *first;
	long n;

	if ((n = aoi_eval_missing(e, &first)) > 0)
		fprintf(stderr, "%s: warning: %ld id%s of %s ha%s no prediction (first: '%s')\n",
			prog, n, n == 1 ? "" : "s", o->eval.truth, n == 1 ? "s" : "ve",
			first ? first : "?");
	if ((n = aoi_eval_extra(e, &first)) > 0)
		fprintf(stderr, "%s: warning: %ld record%s not in %s (first: '%s')\n", prog,
			n, n == 1 ? " is" : "s are", o->eval.truth, first ? first : "?");
}

static int write_report(const aoi_eval *e, const opts *o, aoi_error *err)
{
	aoi_atomic_file af = {0};
	FILE *fp = stdout;
	json_t *rep;
	int rc;

	if (o->output && aoi_atomic_open(&af, o->output, err) < 0)
		return -1;
	if (o->output)
		fp = af.fp;
	if (strcmp(o->format, "table") == 0) {
		rc = aoi_eval_table(e, fp, err);
	} else {
		rep = aoi_eval_report(e);
		rc = json_dumpf(rep, fp, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) != 0 ||
				     fputc('\n', fp) == EOF
			     ? aoi_error_errno(err, o->output, "write failed")
			     : 0;
		json_decref(rep);
	}
	if (o->output)
		rc = rc == 0 ? aoi_atomic_commit(&af, err) : (aoi_atomic_abort(&af), -1);
	return rc;
}

static void progress(void *ctx, long done)
{
	aoi_progress *p = ctx;

	aoi_progress_step(p, done - p->done, NULL);
}

static int run(void *ctx, aoi_error *err)
{
	opts *o = ctx;
	aoi_progress p;
	aoi_eval *e;
	int written = 0, rc;

	if (o->nfiles == 0) /* learning curves only */
		return aoi_eval_plot_log(o->log, o->plot, &written, err);
	o->eval.pred = o->files[0];
	o->eval.inspectors = (const char *const *)o->files + 1;
	o->eval.ninspectors = o->nfiles - 1;
	aoi_progress_init(&p, "metrics", 0);
	o->eval.progress = progress;
	o->eval.progress_ctx = &p;
	e = aoi_eval_run(&o->eval, err);
	aoi_progress_end(&p);
	if (!e)
		return -1;
	warn_ids(e, o);
	rc = write_report(e, o, err);
	if (rc == 0 && o->plot)
		rc = aoi_eval_plots(e, o->plot, o->log, &written, err);
	aoi_eval_free(e);
	return rc;
}

int main(int argc, char **argv)
{
	const aoi_cli_prog program = { prog, parse, run };
	opts o = {.eval = {.iou_min = 0.33}, .format = "json"};

	return aoi_cli_main(&program, &o, argc, argv);
}
