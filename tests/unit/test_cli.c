/* test_cli.c: option tables parse values into place, refuse bad ones with
 * one usage message, answer --help, leave the operands; the stop flag;
 * main()'s frame. */
#include "check.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "base/cli.h"

typedef struct opts {
	const char *model, *root;
	long batch, seed;
	double lr;
	int width, height, quiet, tile;
	long calls;
	const char *last;
} opts;

static int count_call(void *ctx, const aoi_cli_opt *opt, const char *arg, aoi_error *err)
{
	opts *o = ctx;

	if (arg && strcmp(arg, "bad") == 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--%s: bad", opt->name);
	o->calls += opt->lo;
	o->last = arg;
	return 0;
}

static int list_call(void *ctx, const aoi_cli_opt *opt, const char *arg, aoi_error *err)
{
	(void)ctx, (void)opt, (void)arg, (void)err;
	return AOI_CLI_DONE;
}

static int no_seed(void *ctx, const aoi_cli_opt *opt, aoi_error *err)
{
	(void)ctx;
	if (opt->name && strcmp(opt->name, "seed") == 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "'sub' does not take --seed");
	return 0;
}

/* stderr of one parse, and its argv after it */
static char errbuf[4096];
static char *argv[32];

static const char *err_text(void)
{
	return errbuf;
}

static int parse(opts *o, const char *const *words, int *first, int getopt_says,
		 int (*admit)(void *, const aoi_cli_opt *, aoi_error *))
{
	const aoi_cli_opt table[] = {
		AOI_CLI_OPT_STR('m', "model", &o->model),
		AOI_CLI_OPT_ROOT(&o->root),
		AOI_CLI_OPT_BATCH(&o->batch),
		AOI_CLI_OPT_SEED(0, &o->seed),
		AOI_CLI_OPT_REAL(0, "lr", &o->lr, 1e-9, 10),
		AOI_CLI_OPT_INPUT_SIZE(&o->width, &o->height),
		AOI_CLI_OPT_FLAG('q', "quiet", &o->quiet),
		AOI_CLI_OPT_SET(0, "tile", &o->tile, 1),
		AOI_CLI_OPT_SET(0, "resize", &o->tile, 0),
		AOI_CLI_OPT_CALL(0, "twice", count_call, 2),
		AOI_CLI_OPT_CALL('n', NULL, count_call, 1),
		AOI_CLI_OPT_ACTION(0, "list", list_call),
		AOI_CLI_OPT_HELP('h'),
		AOI_CLI_OPT_VERSION('V'),
		AOI_CLI_OPT_END,
	};
	aoi_cli_parser p = { .prog = "prog", .usage = "Usage: prog\n", .opts = table, .ctx = o,
			     .admit = admit, .getopt_says = getopt_says };
	int argc = 0, rc;

	for (; words[argc]; argc++)
		argv[argc] = (char *)words[argc];
	argv[argc] = NULL;
	memset(o, 0, sizeof *o);
	o->tile = -1;
	/* stderr into a file for the call */
	FILE *cap = tmpfile();
	int saved = dup(STDERR_FILENO);
	fflush(stderr);
	dup2(fileno(cap), STDERR_FILENO);
	rc = aoi_cli_parse(&p, argc, argv, first);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(cap);
	size_t n = fread(errbuf, 1, sizeof errbuf - 1, cap);
	errbuf[n] = '\0';
	fclose(cap);
	return rc;
}

static void check_values(void)
{
	opts o;
	int first;
	const char *w[] = { "prog", "-m", "a.aoim", "x.jsonl", "--root", "r", "-b", "8",
			    "--seed=9223372036854775807", "--lr", "0.5", "--size", "64x32", "-q",
			    "--resize", "--twice", "t", "-n", "5", "y.jsonl", NULL };

	CHECK_INT(parse(&o, w, &first, 0, NULL), AOI_CLI_GO);
	CHECK_STR(o.model, "a.aoim");
	CHECK_STR(o.root, "r");
	CHECK_INT(o.batch, 8);
	CHECK(o.seed == LONG_MAX);
	CHECK_NEAR(o.lr, 0.5, 0);
	CHECK_INT(o.width, 64);
	CHECK_INT(o.height, 32);
	CHECK_INT(o.quiet, 1);
	CHECK_INT(o.tile, 0);
	CHECK_INT(o.calls, 3);
	CHECK_STR(o.last, "5");
	CHECK_INT(first, 18); /* getopt_long moved the two operands last */
	CHECK_STR(argv[first], "x.jsonl");
	CHECK_STR(argv[first + 1], "y.jsonl");
	CHECK_STR(err_text(), "");
}

static void check_errors(void)
{
	opts o;
	int first;
	const char *range[] = { "prog", "-b", "0", NULL };
	const char *nan[] = { "prog", "--lr", "x", NULL };
	const char *size[] = { "prog", "--size", "64", NULL };
	const char *unknown[] = { "prog", "--nope", NULL };
	const char *novalue[] = { "prog", "--root", NULL };
	const char *call[] = { "prog", "--twice", "bad", NULL };
	const char *admit[] = { "prog", "-b", "2", "--seed", "1", NULL };

	CHECK_INT(parse(&o, range, &first, 0, NULL), AOI_EXIT_USAGE);
	CHECK_STR(err_text(), "prog: --batch: 0 is out of range 1..4096\n"
			  "Try 'prog --help' for more information.\n");
	CHECK_INT(parse(&o, nan, &first, 0, NULL), AOI_EXIT_USAGE);
	CHECK(strstr(errbuf, "prog: --lr: 'x' is not a number\n") == errbuf);
	CHECK_INT(parse(&o, size, &first, 0, NULL), AOI_EXIT_USAGE);
	CHECK(strstr(errbuf, "--size: expected WIDTHxHEIGHT") != NULL);
	CHECK_INT(parse(&o, unknown, &first, 0, NULL), AOI_EXIT_USAGE);
	CHECK(strstr(errbuf, "prog: unknown option '--nope'\n") == errbuf);
	CHECK_INT(parse(&o, novalue, &first, 0, NULL), AOI_EXIT_USAGE);
	CHECK(strstr(errbuf, "prog: option '--root' needs a value\n") == errbuf);
	CHECK_INT(parse(&o, call, &first, 0, NULL), AOI_EXIT_USAGE);
	CHECK(strstr(errbuf, "prog: --twice: bad\n") == errbuf);
	CHECK_INT(parse(&o, admit, &first, 0, no_seed), AOI_EXIT_USAGE);
	CHECK(strstr(errbuf, "prog: 'sub' does not take --seed\n") == errbuf);
	CHECK_INT(o.batch, 2); /* what came before the refused option */
	/* getopt's own words, and nothing after them */
	CHECK_INT(parse(&o, unknown, &first, 1, NULL), AOI_EXIT_USAGE);
	CHECK(strstr(errbuf, "--nope") != NULL && strstr(errbuf, "Try") == NULL);
}

static void check_answers(void)
{
	opts o;
	int first;
	const char *help[] = { "prog", "-b", "2", "--help", "-b", "0", NULL };
	const char *list[] = { "prog", "--list", NULL };
	char name[16];
	aoi_cli_opt n = AOI_CLI_OPT_CALL('n', NULL, count_call, 1);

	/* --help prints the usage on stdout: into a file here */
	FILE *cap = tmpfile();
	int saved = dup(STDOUT_FILENO);
	char out[64] = "";

	fflush(stdout);
	dup2(fileno(cap), STDOUT_FILENO);
	CHECK_INT(parse(&o, help, &first, 0, NULL), AOI_EXIT_OK); /* -b 0 never seen */
	CHECK_INT(parse(&o, list, &first, 0, NULL), AOI_EXIT_OK);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(cap);
	CHECK(fread(out, 1, sizeof out - 1, cap) == 12);
	CHECK(strcmp(out, "Usage: prog\n") == 0);
	fclose(cap);
	CHECK_STR(aoi_cli_opt_name(&n, name, sizeof name), "-n");
}

static void check_stop_flag(void)
{
	volatile sig_atomic_t *stop = aoi_cli_stop_on_signals(AOI_CLI_STOP_USR1);

	CHECK_INT(*stop, 0);
	raise(SIGUSR1);
	CHECK_INT(*stop, 1);
	*stop = 0;
	raise(SIGTERM);
	CHECK_INT(*stop, 1);
}

static void test_opt_in(void)
{
	aoi_cli_opt root = AOI_CLI_OPT_STR(0, "root", NULL), n = AOI_CLI_OPT_CALL('n', NULL, NULL, 0);

	CHECK(aoi_cli_opt_in(&root, "root out"));
	CHECK(aoi_cli_opt_in(&root, "out root"));
	CHECK(!aoi_cli_opt_in(&root, "roots out"));
	CHECK(!aoi_cli_opt_in(&root, ""));
	CHECK(aoi_cli_opt_in(&n, "root n seed"));
	CHECK(!aoi_cli_opt_in(&n, "root seed"));
}

/* main()'s frame in a child: the exit status and what it wrote to stderr */
static int frame_parse_rc;
static int frame_run_rc;

static int frame_parse(void *ctx, int argc, char **argv)
{
	(void)ctx, (void)argc, (void)argv;
	if (frame_parse_rc == AOI_EXIT_USAGE)
		return aoi_cli_usage_error("prog", "bad");
	return frame_parse_rc;
}

static int frame_run(void *ctx, aoi_error *err)
{
	(void)ctx;
	if (frame_run_rc < 0)
		return aoi_error_set(err, AOI_EINVAL, "f.jsonl", 3, "broken");
	return frame_run_rc;
}

static int run_frame(int parse_rc, int run_rc)
{
	const aoi_cli_prog p = { "prog", frame_parse, frame_run };
	char *argv[] = { "prog", NULL };
	FILE *cap = tmpfile();
	int status = -1;

	frame_parse_rc = parse_rc, frame_run_rc = run_rc;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fileno(cap), STDERR_FILENO);
		_exit(aoi_cli_main(&p, NULL, 1, argv));
	}
	waitpid(pid, &status, 0);
	rewind(cap);
	errbuf[fread(errbuf, 1, sizeof errbuf - 1, cap)] = '\0';
	fclose(cap);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_main_frame(void)
{
	setenv("OMP_WAIT_POLICY", "passive", 1); /* no re-exec of the test */
	CHECK_INT(run_frame(AOI_CLI_GO, 0), AOI_EXIT_OK);
	CHECK_STR(err_text(), "");
	CHECK_INT(run_frame(AOI_CLI_GO, -1), AOI_EXIT_FAILURE);
	CHECK_STR(err_text(), "prog: error (at f.jsonl:3): broken\n");
	CHECK_INT(run_frame(AOI_CLI_GO, AOI_EXIT_USAGE), AOI_EXIT_USAGE); /* run said why */
	CHECK_STR(err_text(), "");
	CHECK_INT(run_frame(AOI_EXIT_USAGE, 0), AOI_EXIT_USAGE);
	CHECK(strstr(err_text(), "prog: bad\nTry 'prog --help'") == err_text());
	CHECK_INT(run_frame(AOI_EXIT_OK, -1), AOI_EXIT_OK); /* --help: run is not called */
}

/* stderr (fd) into a file while a test calls; the text after */
static FILE *cap_file;
static int cap_saved;

static void capture(int fd)
{
	cap_file = tmpfile();
	fflush(NULL);
	cap_saved = dup(fd);
	dup2(fileno(cap_file), fd);
}

static const char *captured(int fd)
{
	fflush(NULL);
	dup2(cap_saved, fd);
	close(cap_saved);
	check_text_of(cap_file, errbuf, sizeof errbuf);
	fclose(cap_file);
	return errbuf;
}

static void test_commands(void)
{
	static const struct cmd { const char *name; int n; } cmds[] = { { "hash", 1 }, { "stats", 2 } };
	const void *c;
	char *stats[] = { "prog", "stats", "-x", NULL }, *none[] = { "prog", NULL };
	char *bad[] = { "prog", "nope", NULL }, *opt[] = { "prog", "-q", NULL };
	char *help[] = { "prog", "-h", NULL };

	CHECK_INT(aoi_cli_command("prog", "U\n", 3, stats, cmds, 2, sizeof cmds[0], &c), AOI_CLI_GO);
	CHECK(c == &cmds[1]);
	capture(STDERR_FILENO);
	CHECK_INT(aoi_cli_command("prog", "U\n", 1, none, cmds, 2, sizeof cmds[0], &c), 2);
	CHECK(strstr(captured(STDERR_FILENO), "prog: missing command\n") == errbuf);
	capture(STDERR_FILENO);
	CHECK_INT(aoi_cli_command("prog", "U\n", 2, bad, cmds, 2, sizeof cmds[0], &c), 2);
	CHECK(strstr(captured(STDERR_FILENO), "prog: unknown command 'nope'\n") == errbuf);
	CHECK(c == NULL);
	capture(STDERR_FILENO);
	CHECK_INT(aoi_cli_command("prog", "U\n", 2, opt, cmds, 2, sizeof cmds[0], &c), 2);
	CHECK(strstr(captured(STDERR_FILENO), "prog: unknown option '-q'\n") == errbuf);
	capture(STDOUT_FILENO);
	CHECK_INT(aoi_cli_command("prog", "U\n", 2, help, cmds, 2, sizeof cmds[0], &c), 0);
	captured(STDOUT_FILENO);
	CHECK_STR(err_text(), "U\n");
}

int main(void)
{
	check_values();
	check_errors();
	check_answers();
	check_stop_flag();
	test_opt_in();
	test_commands();
	test_main_frame();
	return check_done();
}
