/* aoi-classify: the factory's decision. Reads predictions (JSON lines with
 * "pred"), applies a rules file (man/aoi-rules.5) to each record and
 * writes it back with "decision" and "reasons". */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fileio.h"
#include "record.h"
#include "rules.h"

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
	       "  -h, --help          show this help and exit\n"
	       "  -V, --version       show the version and exit\n"
	       "\n"
	       "Exit status: 0 ok, 1 bad input or rules, 2 usage error.\n",
	       prog);
}

typedef struct opts {
	const char *rules, *root, *output;
	int quiet;
} opts;

static int parse_opts(int argc, char **argv, opts *o)
{
	static const struct option longopts[] = {
		{"rules", required_argument, NULL, 'r'}, {"root", required_argument, NULL, 'R'},
		{"output", required_argument, NULL, 'o'}, {"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},        {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}};
	int c;

	while ((c = getopt_long(argc, argv, "r:o:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': o->rules = optarg; break;
		case 'R': o->root = optarg; break;
		case 'o': o->output = optarg; break;
		case 'q': o->quiet = 1; break;
		case 'h': usage(); return 0;
		case 'V': aoi_cli_version(prog); return 0;
		default: return aoi_cli_usage_error(prog, "unknown option");
		}
	}
	if (!o->rules)
		return aoi_cli_usage_error(prog, "--rules FILE is required");
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

int main(int argc, char **argv)
{
	opts o = {0};
	aoi_error err;
	int rc = parse_opts(argc, argv, &o);

	if (rc >= 0)
		return rc == 0 ? aoi_cli_close_stdout(prog, AOI_EXIT_OK) : rc;
	aoi_error_clear(&err);
	if (run(&o, argv + optind, argc - optind, &err) < 0) {
		aoi_cli_fail(prog, &err);
		return aoi_cli_close_stdout(prog, AOI_EXIT_FAILURE);
	}
	return aoi_cli_close_stdout(prog, AOI_EXIT_OK);
}
