/* cli.h: what every program in cmd/ shares: exit codes, messages in one
 * form, --version, option tables and value parsing, main()'s frame, the
 * stop flag of SIGTERM, and a progress line on stderr. This is the one
 * module of lib/ that writes to stderr: programs' messages go through it.
 * Nothing here exits; the caller returns the code. */
#ifndef AOI_CLI_H
#define AOI_CLI_H

#include <limits.h>
#include <signal.h>
#include <stdio.h>

#include "base/error.h"

enum aoi_exit { AOI_EXIT_OK = 0, AOI_EXIT_FAILURE = 1, AOI_EXIT_USAGE = 2 };

/* "prog: error (at file:line): msg" on stderr; returns AOI_EXIT_FAILURE. */
int aoi_cli_fail(const char *prog, const aoi_error *err);
int aoi_cli_failf(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "prog: msg" then "Try 'prog --help'."; returns AOI_EXIT_USAGE. */
int aoi_cli_usage_error(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Run the program again, once, with GOMP_SPINCOUNT=AOI_CLI_SPINCOUNT
 * unless the environment already sets it or OMP_WAIT_POLICY. OpenMP
 * threads that spin long between parallel regions (libgomp's default,
 * 300000 pauses, milliseconds on CPUs with a slow pause) make a run several
 * times slower when other processes share the cores (five training steps:
 * 48 s instead of 6 s at load 11 on two cores); threads that go to sleep at
 * once (OMP_WAIT_POLICY=passive, what this did before) have to be woken
 * for every region, a futex and an interrupt to another core each time,
 * and that wake-up time varies from run to run. A short spin covers the
 * gap between back-to-back regions and then sleeps. libgomp reads these
 * when it loads, before main: so the only way to change them is a new
 * process image. Call it first thing in main; it returns when the
 * variable is set or exec fails. */
#define AOI_CLI_SPINCOUNT "10000"
void aoi_cli_calm_threads(char **argv);

/* "prog (aoi) VERSION" on stdout. */
void aoi_cli_version(const char *prog);

/* Flush and close stdout, reporting a write error (full disk, closed pipe)
 * as a failure; returns `status` when stdout is fine. */
int aoi_cli_close_stdout(const char *prog, int status);

/* Option values. Each returns 0, or -1 with err naming the option. */
int aoi_cli_parse_int(const char *opt, const char *s, long lo, long hi, long *out,
		      aoi_error *err);
int aoi_cli_parse_double(const char *opt, const char *s, double lo, double hi,
			 double *out, aoi_error *err);
/* "WxH", e.g. 512x256 */
int aoi_cli_parse_size(const char *opt, const char *s, int *w, int *h, aoi_error *err);
/* "LO:HI" or a single value V meaning -V:V */
int aoi_cli_parse_range(const char *opt, const char *s, double *lo, double *hi,
			aoi_error *err);
/* "1,2,4": at most max values; returns the count, or -1 */
int aoi_cli_parse_int_list(const char *opt, const char *s, long *out, int max,
			   aoi_error *err);

/* ---- main() ----
 *
 * What every program's main() does around its own work: aoi_cli_calm_threads,
 * parse the command line, run, report a failure, check standard output. */
enum { AOI_CLI_GO = -1 };

typedef struct aoi_cli_prog {
	const char *name;  /* "aoi-infer": the messages' prefix */
	/* AOI_CLI_GO to run, else an exit status: AOI_EXIT_OK when --help or
	 * --version answered (stdout is then checked), AOI_EXIT_USAGE after
	 * the message (see aoi_cli_parse) */
	int (*parse)(void *ctx, int argc, char **argv);
	/* 0; -1 with err, reported here as "prog: error ..." (exit 1); or an
	 * exit status whose message run gave itself */
	int (*run)(void *ctx, aoi_error *err);
} aoi_cli_prog;

int aoi_cli_main(const aoi_cli_prog *p, void *ctx, int argc, char **argv);

/* The stop flag: 0 until SIGINT or SIGTERM arrives (with
 * AOI_CLI_STOP_USR1, SIGUSR1 too: mpirun passes it on to every process and
 * waits, while it kills them a second after SIGINT or SIGTERM), then 1.
 * Long runs poll it to finish the record or epoch in hand and stop cleanly;
 * with AOI_CLI_STOP_ONCE a second signal kills as usual. A signal handler
 * can reach nothing else, hence the one file-scope flag of the library. */
enum { AOI_CLI_STOP_ONCE = 1, AOI_CLI_STOP_USR1 = 2 };
volatile sig_atomic_t *aoi_cli_stop_on_signals(int flags);

/* ---- Option tables ----
 *
 * A program's options as one table: each entry names the option, the kind
 * of its value, where the value goes and its bounds. aoi_cli_parse() makes
 * getopt_long's tables from it, parses each value into place (out of range:
 * "prog: --batch: 0 is out of range 1..4096" as a usage error) and answers
 * --help and --version. Write entries with the AOI_CLI_OPT_ macros; the
 * table ends with AOI_CLI_OPT_END. */
enum aoi_cli_kind {
	AOI_CLI_END, AOI_CLI_FLAG, AOI_CLI_STR, AOI_CLI_INT, AOI_CLI_LONG, AOI_CLI_REAL, AOI_CLI_SIZE,
	AOI_CLI_RANGE, AOI_CLI_INT_RANGE, AOI_CLI_CALL, AOI_CLI_HELP, AOI_CLI_VERSION
};

typedef struct aoi_cli_opt aoi_cli_opt;

/* AOI_CLI_CALL: the program's own handling of one option (arg is NULL for
 * an option without a value): 0; -1 with err, a usage error; or
 * AOI_CLI_DONE when the option answered the program's question (--list),
 * so that it exits 0. */
enum { AOI_CLI_DONE = 1 };
typedef int (*aoi_cli_call)(void *ctx, const aoi_cli_opt *opt, const char *arg,
			    aoi_error *err);

struct aoi_cli_opt {
	const char *name;      /* long name without "--"; NULL: a letter only */
	int key;               /* short letter; 0: a long name only */
	enum aoi_cli_kind kind;
	int has_arg;           /* CALL: takes a value (the other kinds know) */
	void *out, *out2;      /* FLAG int *, STR const char **, INT int *, LONG long *,
				* REAL double *, SIZE int * (width) and int * (height),
				* RANGE double * (low) and double * (high), INT_RANGE the
				* same as int * */
	long lo, hi;           /* INT, LONG, INT_RANGE bounds; SIZE bounds of each side
				* (0, 0: any); FLAG the value set; CALL a parameter */
	double dlo, dhi;       /* REAL bounds */
	aoi_cli_call call;
};

/* p, checked to be a T * at compile time */
#define AOI_CLI_PTR(T, p) ((void *)(1 ? (p) : (T *)0))
#define AOI_CLI_OPT_SET(k, n, p, v) \
	{ .name = (n), .key = (k), .kind = AOI_CLI_FLAG, .out = AOI_CLI_PTR(int, p), .lo = (v) }
#define AOI_CLI_OPT_FLAG(k, n, p) AOI_CLI_OPT_SET(k, n, p, 1)
#define AOI_CLI_OPT_STR(k, n, p) \
	{ .name = (n), .key = (k), .kind = AOI_CLI_STR, .out = AOI_CLI_PTR(const char *, p) }
/* p an int * or a long * */
#define AOI_CLI_OPT_INT(k, n, p, l, h) \
	{ .name = (n), .key = (k), .kind = _Generic((p), int *: AOI_CLI_INT, long *: AOI_CLI_LONG), \
	  .out = (p), .lo = (l), .hi = (h) }
#define AOI_CLI_OPT_REAL(k, n, p, l, h) \
	{ .name = (n), .key = (k), .kind = AOI_CLI_REAL, .out = AOI_CLI_PTR(double, p), \
	  .dlo = (l), .dhi = (h) }
/* "WxH"; the _IN form with each side in l..h ("--size: from 16x16 to
 * 16384x16384" otherwise) */
#define AOI_CLI_OPT_SIZE_IN(k, n, w, h, l, hh) \
	{ .name = (n), .key = (k), .kind = AOI_CLI_SIZE, .out = AOI_CLI_PTR(int, w), \
	  .out2 = AOI_CLI_PTR(int, h), .lo = (l), .hi = (hh) }
#define AOI_CLI_OPT_SIZE(k, n, w, h) AOI_CLI_OPT_SIZE_IN(k, n, w, h, 0, 0)
/* "LO:HI" or V for -V:V (aoi_cli_parse_range) into two doubles */
#define AOI_CLI_OPT_RANGE(k, n, pl, ph) \
	{ .name = (n), .key = (k), .kind = AOI_CLI_RANGE, .out = AOI_CLI_PTR(double, pl), \
	  .out2 = AOI_CLI_PTR(double, ph) }
/* "LO:HI", whole numbers with l <= LO <= HI <= h, into two ints */
#define AOI_CLI_OPT_INT_RANGE(k, n, pl, ph, l, h) \
	{ .name = (n), .key = (k), .kind = AOI_CLI_INT_RANGE, .out = AOI_CLI_PTR(int, pl), \
	  .out2 = AOI_CLI_PTR(int, ph), .lo = (l), .hi = (h) }
/* fn(ctx, opt, value, err) with opt->lo = v */
#define AOI_CLI_OPT_CALL(k, n, fn, v) \
	{ .name = (n), .key = (k), .kind = AOI_CLI_CALL, .has_arg = 1, .call = (fn), .lo = (v) }
/* fn(ctx, opt, NULL, err): an option without a value */
#define AOI_CLI_OPT_ACTION(k, n, fn) \
	{ .name = (n), .key = (k), .kind = AOI_CLI_CALL, .call = (fn) }
#define AOI_CLI_OPT_HELP(k) { .name = "help", .key = (k), .kind = AOI_CLI_HELP }
#define AOI_CLI_OPT_VERSION(k) { .name = "version", .key = (k), .kind = AOI_CLI_VERSION }
/* -h, --help and -V, --version, as most programs answer them */
#define AOI_CLI_OPT_HELP_VERSION AOI_CLI_OPT_HELP('h'), AOI_CLI_OPT_VERSION('V')
#define AOI_CLI_OPT_END { .kind = AOI_CLI_END }

/* The options several programs share, with the same names, letters and
 * bounds in each. */
#define AOI_CLI_OPT_BATCH(p) AOI_CLI_OPT_INT('b', "batch", p, 1, 4096)
#define AOI_CLI_OPT_THREADS(p) AOI_CLI_OPT_INT('j', "threads", p, 0, 1024)
#define AOI_CLI_OPT_SEED(k, p) AOI_CLI_OPT_INT(k, "seed", p, 0, LONG_MAX)
#define AOI_CLI_OPT_ROOT(p) AOI_CLI_OPT_STR(0, "root", p)
#define AOI_CLI_OPT_INPUT_SIZE(w, h) AOI_CLI_OPT_SIZE(0, "size", w, h)

typedef struct aoi_cli_parser {
	const char *prog;
	const char *usage;          /* what --help prints */
	const aoi_cli_opt *opts;
	void *ctx;                  /* handed to CALL entries and to admit */
	/* NULL, or: may this option be given here (a subcommand's option
	 * elsewhere)? 0, or -1 with err (a usage error) */
	int (*admit)(void *ctx, const aoi_cli_opt *opt, aoi_error *err);
	/* Unknown options and missing values are usage errors: "unknown
	 * option '--x'", "option '--x' needs a value", after "'CONTEXT': "
	 * when context is set. With getopt_says, getopt's own message
	 * instead, then the usage error `then` (NULL: no more words). */
	const char *context;
	int getopt_says;
	const char *then;
	/* When set: more than max_operands operands are a usage error with
	 * this message (its %s, if any, the first operand too many). */
	const char *too_many;
	int max_operands;
} aoi_cli_parser;

/* Parse the options of argv; the operands are then argv[*first..argc-1]
 * (getopt_long moves them after the options). AOI_CLI_GO, or an exit
 * status: AOI_EXIT_OK when --help, --version or an AOI_CLI_DONE option
 * answered on stdout, AOI_EXIT_USAGE after the message on stderr. */
int aoi_cli_parse(const aoi_cli_parser *p, int argc, char **argv, int *first);

/* aoi_cli_parse for a program that reads one dataset: at most one operand
 * ("one dataset at most" otherwise), *dataset that one or NULL (standard
 * input). */
int aoi_cli_parse_dataset(const aoi_cli_parser *p, int argc, char **argv,
			  const char **dataset);

/* Programs of commands (PROG COMMAND [OPTION]...): the entry of the
 * program's command table (count entries of `size` bytes, each beginning
 * with its name as a const char *) that argv[1] names, into *cmd.
 * AOI_CLI_GO; AOI_EXIT_OK when argv[1] is --help, -h or --version and the
 * answer is on stdout; AOI_EXIT_USAGE after "missing command", "unknown
 * command 'x'" or "unknown option '-x'". */
int aoi_cli_command(const char *prog, const char *usage, int argc, char **argv,
		    const void *table, size_t count, size_t size, const void **cmd);

/* An option as its messages name it: "--batch", or "-n" without a long name. */
const char *aoi_cli_opt_name(const aoi_cli_opt *opt, char *buf, size_t size);
/* 1 when opt's long name (or, without one, its letter) is a word of the
 * space-separated list `names` (an admit callback's test), else 0. */
int aoi_cli_opt_in(const aoi_cli_opt *opt, const char *names);

/* A progress line on stderr, redrawn in place when stderr is a terminal and
 * silent otherwise (so that logs of cron jobs stay clean). */
typedef struct aoi_progress {
	const char *label;
	long total;    /* 0 when unknown */
	long done;
	double started;
	double last_draw;
	int tty;
} aoi_progress;

void aoi_progress_init(aoi_progress *p, const char *label, long total);
void aoi_progress_step(aoi_progress *p, long n, const char *extra);
void aoi_progress_end(aoi_progress *p);

/* Seconds from a monotonic clock. */
double aoi_now(void);

#endif
