/* aoi-classify: the factory's decision. Reads predictions (JSON lines with
 * "pred"), applies a rules file (man/aoi-rules.5) to each record and
 * writes it back with "decision" and "reasons". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/fileio.h"
#include "data/record.h"
#include "eval/rules.h"
#include "queue/worker.h"

static const char *const prog = "aoi-classify";

static const char usage_text[] =
	"Usage: aoi-classify --rules RULES.json [OPTION]... [FILE]...\n"
	"Add \"decision\" (accept/reject) and \"reasons\" to every prediction\n"
	"record of FILE (standard input when none or '-').\n"
	"\n"
	"  -r, --rules FILE    the rules (JSON, see aoi-rules(5)); required\n"
	"      --root DIR      base directory for relative mask paths of\n"
	"                      standard input (default: the working directory;\n"
	"                      for a FILE, the FILE's directory)\n"
	"  -o, --output FILE   write here, whole or not at all (default: stdout)\n"
	"  -q, --quiet         no summary line on stderr\n"
	"      --amqp URL      work as a queue worker on this broker\n"
	"                      (amqp://user:pass@host:port/vhost) instead of\n"
	"                      reading FILEs: needs --consume and --publish\n"
	"      --consume QUEUE take prediction records from QUEUE\n"
	"      --publish QUEUE put decided records on QUEUE\n"
	"      --prefetch N    records the broker may send ahead (default: 1)\n"
	"  -h, --help          show this help and exit\n"
	"  -V, --version       show the version and exit\n"
	"\n"
	"Exit status: 0 ok, 1 bad input or rules, 2 usage error.\n";

typedef struct opts {
	const char *rules, *root, *output;
	aoi_worker_opts queue; /* --amqp, --consume, --publish, --prefetch */
	int quiet;
	char **files;
	int nfiles;
} opts;

static int parse(void *ctx, int argc, char **argv)
{
	opts *o = ctx;
	const aoi_cli_opt table[] = {
		AOI_CLI_OPT_STR('r', "rules", &o->rules),
		AOI_CLI_OPT_ROOT(&o->root),
		AOI_CLI_OPT_STR('o', "output", &o->output),
		AOI_CLI_OPT_FLAG('q', "quiet", &o->quiet),
		AOI_CLI_OPT_HELP_VERSION,
		AOI_WORKER_CLI_OPTS(&o->queue),
		AOI_CLI_OPT_END,
	};
	aoi_cli_parser p = { .prog = prog, .usage = usage_text, .opts = table,
			     .getopt_says = 1, .then = "unknown option" };
	int first, rc = aoi_cli_parse(&p, argc, argv, &first);
	aoi_error err;

	if (rc != AOI_CLI_GO)
		return rc;
	o->files = argv + first;
	o->nfiles = argc - first;
	if (!o->rules)
		return aoi_cli_usage_error(prog, "--rules FILE is required");
	if (aoi_worker_check_opts(&o->queue, o->nfiles, "FILE", &err) < 0)
		return aoi_cli_usage_error(prog, "%s", err.msg);
	return AOI_CLI_GO;
}

typedef struct counts {
	long accept, reject;
} counts;

/* Place a record's error at its line, keeping a file the error already
 * names (a mask PNG) in the message. */
static void locate(aoi_error *err, const char *name, long line)
{
	char msg[sizeof err->msg + sizeof err->where + 2];
	size_t n;

	if (err->where[0]) {
		snprintf(msg, sizeof msg, "%s: %s", err->where, err->msg);
		n = strnlen(msg, sizeof err->msg - 1);
		memcpy(err->msg, msg, n);
		err->msg[n] = '\0';
	}
	aoi_error_locate(err, name, line);
}

static int classify_file(const aoi_rules *rules, const char *path, const char *root,
			 FILE *out, counts *n, aoi_error *err)
{
	aoi_reader *r = aoi_reader_open(path, root, err);
	aoi_progress p;
	json_t *rec;
	int got;

	if (!r)
		return -1;
	aoi_progress_init(&p, "classify", 0);
	while ((got = aoi_reader_next(r, &rec, err)) > 0) {
		int rc = aoi_rules_apply(rules, rec, aoi_reader_base(r), err);

		if (rc < 0)
			locate(err, aoi_reader_name(r), aoi_reader_line(r));
		else
			rc = aoi_record_write(out, rec, err);
		if (rc == 0) {
			const char *d = aoi_record_str(rec, "decision");

			n->reject += d && strcmp(d, "reject") == 0;
			n->accept += d && strcmp(d, "accept") == 0;
		}
		json_decref(rec);
		if (rc < 0) {
			got = -1;
			break;
		}
		aoi_progress_step(&p, 1, NULL);
	}
	aoi_progress_end(&p);
	aoi_reader_free(r);
	return got < 0 ? -1 : 0;
}

static int run_files(const opts *o, aoi_error *err)
{
	aoi_rules *rules = aoi_rules_load(o->rules, err);
	aoi_atomic_file af = {0};
	FILE *out = stdout;
	counts n = {0};
	int rc = 0;

	if (!rules)
		return -1;
	if (o->output) {
		if (aoi_atomic_open(&af, o->output, err) < 0) {
			aoi_rules_free(rules);
			return -1;
		}
		out = af.fp;
	}
	for (int i = 0; rc == 0 && i < (o->nfiles ? o->nfiles : 1); i++)
		rc = classify_file(rules, o->nfiles ? o->files[i] : "-", o->root, out, &n, err);
	if (o->output)
		rc = rc == 0 ? aoi_atomic_commit(&af, err) : (aoi_atomic_abort(&af), -1);
	if (rc == 0 && !o->quiet)
		fprintf(stderr, "%s: %ld accepted, %ld rejected\n", prog, n.accept, n.reject);
	aoi_rules_free(rules);
	return rc;
}

typedef struct queue_ctx {
	aoi_rules *rules;
	const char *base;
} queue_ctx;

static int decide(void *ctx, json_t *rec, aoi_error *err)
{
	const queue_ctx *q = ctx;

	return aoi_rules_apply(q->rules, rec, q->base, err);
}

static int run_queue(opts *o, aoi_error *err)
{
	aoi_worker_stats st;
	queue_ctx q = { NULL, o->root ? o->root : "." };
	int rc;

	if (!(q.rules = aoi_rules_load(o->rules, err)))
		return -1;
	o->queue.stop = aoi_cli_stop_on_signals(0);
	rc = aoi_worker_run(&o->queue, decide, &q, &st, err);
	if (rc == 0 && !o->quiet)
		fprintf(stderr, "%s: %ld decided, %ld dead-lettered, %ld reconnects\n", prog,
			st.done, st.dead, st.reconnects);
	aoi_rules_free(q.rules);
	return rc;
}

static int run(void *ctx, aoi_error *err)
{
	opts *o = ctx;

	return o->queue.url ? run_queue(o, err) : run_files(o, err);
}

int main(int argc, char **argv)
{
	const aoi_cli_prog program = { prog, parse, run };
	opts o = {0};

	return aoi_cli_main(&program, &o, argc, argv);
}
