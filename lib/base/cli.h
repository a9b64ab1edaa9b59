/* cli.h: what every program in cmd/ shares: exit codes, messages in one
 * form, --version, option value parsing, and a progress line on stderr.
 * Nothing here exits; the caller returns the code. */
#ifndef AOI_CLI_H
#define AOI_CLI_H

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
