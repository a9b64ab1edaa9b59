/* aoi-metrics: how good the model (and the people) are. Joins the truth,
 * the predictions and any further decision files by id and reports
 * segmentation, image, decision, keypoint and detection figures. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/fileio.h"
#include "data/record.h"
#include "eval/evaluate.h"
#include "eval/metrics.h"

static const char *prog = "aoi-metrics";

static void usage(void)
{
	printf("Usage: %s --truth TRUTH [OPTION]... PRED [INSPECTOR]...\n"
	       "       %s --log FILE --plot DIR\n"
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
	       "Exit status: 0 ok, 1 bad input, 2 usage error.\n",
	       prog, prog);
}

typedef struct opts {
	aoi_eval_opts eval;
	const char *format, *plot, *log, *output;
} opts;

static int parse_opts(int argc, char **argv, opts *o)
{
	static const struct option longopts[] = {
		{"truth", required_argument, NULL, 't'}, {"root", required_argument, NULL, 'R'},
		{"format", required_argument, NULL, 'f'}, {"iou", required_argument, NULL, 'I'},
		{"plot", required_argument, NULL, 'p'},  {"log", required_argument, NULL, 'l'},
		{"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},     {"good", required_argument, NULL, 'G'},
		{"recall", required_argument, NULL, 'C'}, {"max-fpr", required_argument, NULL, 'F'},
		{NULL, 0, NULL, 0}};
	aoi_error err;
	int c;

	while ((c = getopt_long(argc, argv, "t:f:p:l:o:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 't': o->eval.truth = optarg; break;
		case 'R': o->eval.root = optarg; break;
		case 'f': o->format = optarg; break;
		case 'I':
			if (aoi_cli_parse_double("--iou", optarg, 0, 1, &o->eval.iou_min, &err) < 0)
				return aoi_cli_usage_error(prog, "%s", err.msg);
			break;
		case 'G': o->eval.good = optarg; break;
		case 'C':
			if (aoi_cli_parse_double("--recall", optarg, 1e-9, 1, &o->eval.recall, &err) < 0)
				return aoi_cli_usage_error(prog, "%s", err.msg);
			break;
		case 'F':
			if (aoi_cli_parse_double("--max-fpr", optarg, 1e-9, 1, &o->eval.max_fpr,
						 &err) < 0)
				return aoi_cli_usage_error(prog, "%s", err.msg);
			break;
		case 'p': o->plot = optarg; break;
		case 'l': o->log = optarg; break;
		case 'o': o->output = optarg; break;
		case 'h': usage(); return 0;
		case 'V': aoi_cli_version(prog); return 0;
		default: return aoi_cli_usage_error(prog, "unknown option");
		}
	}
	if (strcmp(o->format, "json") && strcmp(o->format, "table"))
		return aoi_cli_usage_error(prog, "--format must be json or table, not '%s'",
					   o->format);
	if (o->log && !o->plot)
		return aoi_cli_usage_error(prog, "--log needs --plot DIR");
	if (optind == argc && !o->log)
		return aoi_cli_usage_error(prog, "missing PRED");
	if (optind < argc && !o->eval.truth)
		return aoi_cli_usage_error(prog, "--truth FILE is required");
	if (argc - optind > AOI_METRICS_MAXSRC)
		return aoi_cli_usage_error(prog, "at most %d inspector files",
					   AOI_METRICS_MAXSRC - 1);
	return -1;
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

static int run(opts *o, char **files, int nfiles, aoi_error *err)
{
	aoi_progress p;
	aoi_eval *e;
	int written = 0, rc;

	if (nfiles == 0) /* learning curves only */
		return aoi_eval_plot_log(o->log, o->plot, &written, err);
	o->eval.pred = files[0];
	o->eval.inspectors = (const char *const *)files + 1;
	o->eval.ninspectors = nfiles - 1;
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
	opts o = {.eval = {.iou_min = 0.33}, .format = "json"};
	aoi_error err;
	int rc;

	aoi_cli_calm_threads(argv);
	rc = parse_opts(argc, argv, &o);
	if (rc >= 0)
		return rc == 0 ? aoi_cli_close_stdout(prog, AOI_EXIT_OK) : rc;
	aoi_error_clear(&err);
	if (run(&o, argv + optind, argc - optind, &err) < 0) {
		aoi_cli_fail(prog, &err);
		return aoi_cli_close_stdout(prog, AOI_EXIT_FAILURE);
	}
	return aoi_cli_close_stdout(prog, AOI_EXIT_OK);
}
