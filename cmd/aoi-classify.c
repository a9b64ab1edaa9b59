/* aoi-classify: the factory's decision. Reads predictions (JSON lines with
 * "pred"), applies a rules file (man/aoi-rules.5) to each record and
 * writes it back with "decision" and "reasons". */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/fileio.h"
#include "data/record.h"
#include "eval/rules.h"
#include "queue/worker.h"

static const char *prog = "aoi-classify";

static void usage(void)
{
	printf("Usage: %s --rules RULES.json [OPTION]... [FILE]...\n"
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
	       "Exit status: 0 ok, 1 bad input or rules, 2 usage error.\n",
	       prog);
}

typedef struct opts {
	const char *rules, *root, *output;
	const char *amqp, *consume, *publish;
	long prefetch;
	int quiet;
} opts;

enum { O_AMQP = 256, O_CONSUME, O_PUBLISH, O_PREFETCH };

static int parse_opts(int argc, char **argv, opts *o)
{
	static const struct option longopts[] = {
		{"rules", required_argument, NULL, 'r'}, {"root", required_argument, NULL, 'R'},
		{"output", required_argument, NULL, 'o'}, {"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},        {"version", no_argument, NULL, 'V'},
		{"amqp", required_argument, NULL, O_AMQP},
		{"consume", required_argument, NULL, O_CONSUME},
		{"publish", required_argument, NULL, O_PUBLISH},
		{"prefetch", required_argument, NULL, O_PREFETCH},
		{NULL, 0, NULL, 0}};
	aoi_error err;
	int c;

	while ((c = getopt_long(argc, argv, "r:o:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': o->rules = optarg; break;
		case 'R': o->root = optarg; break;
		case 'o': o->output = optarg; break;
		case 'q': o->quiet = 1; break;
		case 'h': usage(); return 0;
		case 'V': aoi_cli_version(prog); return 0;
		case O_AMQP: o->amqp = optarg; break;
		case O_CONSUME: o->consume = optarg; break;
		case O_PUBLISH: o->publish = optarg; break;
		case O_PREFETCH:
			if (aoi_cli_parse_int("--prefetch", optarg, 1, 65535, &o->prefetch, &err) < 0)
				return aoi_cli_usage_error(prog, "%s", err.msg);
			break;
		default: return aoi_cli_usage_error(prog, "unknown option");
		}
	}
	if (!o->rules)
		return aoi_cli_usage_error(prog, "--rules FILE is required");
	if (o->amqp && (!o->consume || !o->publish))
		return aoi_cli_usage_error(prog, "--amqp needs --consume and --publish");
	if (!o->amqp && (o->consume || o->publish))
		return aoi_cli_usage_error(prog, "--consume and --publish need --amqp");
	if (o->amqp && optind < argc)
		return aoi_cli_usage_error(prog, "--amqp takes no FILE");
	return -1; /* go on */
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

static int run(const opts *o, char **files, int nfiles, aoi_error *err)
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
	for (int i = 0; rc == 0 && i < (nfiles ? nfiles : 1); i++)
		rc = classify_file(rules, nfiles ? files[i] : "-", o->root, out, &n, err);
	if (o->output)
		rc = rc == 0 ? aoi_atomic_commit(&af, err) : (aoi_atomic_abort(&af), -1);
	if (rc == 0 && !o->quiet)
		fprintf(stderr, "%s: %ld accepted, %ld rejected\n", prog, n.accept, n.reject);
	aoi_rules_free(rules);
	return rc;
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
	aoi_rules *rules;
	const char *base;
} queue_ctx;

static int decide(void *ctx, json_t *rec, aoi_error *err)
{
	const queue_ctx *q = ctx;

	return aoi_rules_apply(q->rules, rec, q->base, err);
}

static int run_queue(const opts *o, aoi_error *err)
{
	aoi_worker_opts wo = { o->amqp, o->consume, o->publish, (int)o->prefetch, 0, &stop_flag };
	struct sigaction sa = { .sa_handler = on_signal };
	aoi_worker_stats st;
	queue_ctx q = { NULL, o->root ? o->root : "." };
	int rc;

	if (!(q.rules = aoi_rules_load(o->rules, err)))
		return -1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	rc = aoi_worker_run(&wo, decide, &q, &st, err);
	if (rc == 0 && !o->quiet)
		fprintf(stderr, "%s: %ld decided, %ld dead-lettered, %ld reconnects\n", prog,
			st.done, st.dead, st.reconnects);
	aoi_rules_free(q.rules);
	return rc;
}

int main(int argc, char **argv)
{
	opts o = {0};
	aoi_error err;
	int rc;

	aoi_cli_calm_threads(argv);
	rc = parse_opts(argc, argv, &o);
	if (rc >= 0)
		return rc == 0 ? aoi_cli_close_stdout(prog, AOI_EXIT_OK) : rc;
	aoi_error_clear(&err);
	if ((o.amqp ? run_queue(&o, &err) : run(&o, argv + optind, argc - optind, &err)) < 0) {
		aoi_cli_fail(prog, &err);
		return aoi_cli_close_stdout(prog, AOI_EXIT_FAILURE);
	}
	return aoi_cli_close_stdout(prog, AOI_EXIT_OK);
}
