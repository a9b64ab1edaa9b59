#include "base/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef AOI_VERSION
#define AOI_VERSION "unknown"
#endif

int aoi_cli_fail(const char *prog, const aoi_error *err)
{
	char buf[1200];

	/* "prog: error (at f:1): msg", but "prog: error: msg" with no place */
	fprintf(stderr, "%s: error%s %s\n", prog, err->where[0] ? "" : ":",
		aoi_error_text(err, buf, sizeof buf));
	return AOI_EXIT_FAILURE;
}

/* "prog: " head, the message, a newline: one line on stderr */
static void say(const char *prog, const char *head, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", prog, head);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int aoi_cli_failf(const char *prog, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(prog, "error: ", fmt, ap);
	va_end(ap);
	return AOI_EXIT_FAILURE;
}

int aoi_cli_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(prog, "", fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", prog);
	return AOI_EXIT_USAGE;
}

void aoi_cli_calm_threads(char **argv)
{
	if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT"))
		return;
	if (setenv("GOMP_SPINCOUNT", AOI_CLI_SPINCOUNT, 1) != 0)
		return;
	execv("/proc/self/exe", argv);
	/* exec failed (no /proc): go on with the default policy */
}

void aoi_cli_version(const char *prog)
{
	printf("%s (aoi) %s\n", prog, AOI_VERSION);
}

int aoi_cli_close_stdout(const char *prog, int status)
{
	int bad = fflush(stdout) != 0 || ferror(stdout);

	if (fclose(stdout) != 0)
		bad = 1;
	if (bad && errno != EPIPE) {
		fprintf(stderr, "%s: error: writing standard output: %s\n", prog,
			strerror(errno));
		return AOI_EXIT_FAILURE;
	}
	return bad ? AOI_EXIT_FAILURE : status;
}

int aoi_cli_main(const aoi_cli_prog *p, void *ctx, int argc, char **argv)
{
	aoi_error err;
	int rc;

	aoi_cli_calm_threads(argv);
	rc = p->parse(ctx, argc, argv);
	if (rc == AOI_CLI_GO) {
		aoi_error_clear(&err);
		rc = p->run(ctx, &err);
		if (rc < 0)
			rc = aoi_cli_fail(p->name, &err);
	} else if (rc != AOI_EXIT_OK) {
		return rc;
	}
	return aoi_cli_close_stdout(p->name, rc);
}

/* The one mutable global of lib/: a signal handler can set nothing else. */
static volatile sig_atomic_t stop_flag;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

volatile sig_atomic_t *aoi_cli_stop_on_signals(int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = flags & AOI_CLI_STOP_ONCE ? SA_RESETHAND : 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (flags & AOI_CLI_STOP_USR1)
		sigaction(SIGUSR1, &sa, NULL);
	return &stop_flag;
}

int aoi_cli_parse_int(const char *opt, const char *s, long lo, long hi, long *out,
		      aoi_error *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "%s: '%s' is not an integer", opt, s);
	if (v < lo || v > hi)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "%s: %ld is out of range %ld..%ld", opt, v, lo, hi);
	*out = v;
	return 0;
}

int aoi_cli_parse_double(const char *opt, const char *s, double lo, double hi,
			 double *out, aoi_error *err)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "%s: '%s' is not a number", opt, s);
	if (v < lo || v > hi)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "%s: %g is out of range %g..%g", opt, v, lo, hi);
	*out = v;
	return 0;
}

int aoi_cli_parse_size(const char *opt, const char *s, int *w, int *h, aoi_error *err)
{
	char *end;
	long a, b;

	errno = 0;
	a = strtol(s, &end, 10);
	if (errno || end == s || (*end != 'x' && *end != 'X'))
		goto bad;
	s = end + 1;
	b = strtol(s, &end, 10);
	if (errno || end == s || *end || a < 1 || b < 1 || a > 65536 || b > 65536)
		goto bad;
	*w = (int)a;
	*h = (int)b;
	return 0;
bad:
	return aoi_error_set(err, AOI_EINVAL, NULL, 0,
			     "%s: expected WIDTHxHEIGHT such as 512x512", opt);
}

int aoi_cli_parse_range(const char *opt, const char *s, double *lo, double *hi,
			aoi_error *err)
{
	char *end;
	double a, b;

	errno = 0;
	a = strtod(s, &end);
	if (errno || end == s || !isfinite(a))
		goto bad;
	if (*end == '\0') {
		*lo = -fabs(a);
		*hi = fabs(a);
		return 0;
	}
	if (*end != ':')
		goto bad;
	s = end + 1;
	b = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(b) || b < a)
		goto bad;
	*lo = a;
	*hi = b;
	return 0;
bad:
	return aoi_error_set(err, AOI_EINVAL, NULL, 0,
			     "%s: expected LO:HI or a single value, got '%s'", opt, s);
}

int aoi_cli_parse_int_list(const char *opt, const char *s, long *out, int max,
			   aoi_error *err)
{
	int n = 0;
	char *end;

	for (;;) {
		errno = 0;
		long v = strtol(s, &end, 10);
		if (errno || end == s || v < 1 || n == max)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0,
					     "%s: expected a list such as 1,2,4", opt);
		out[n++] = v;
		if (*end == '\0')
			return n;
		if (*end != ',')
			return aoi_error_set(err, AOI_EINVAL, NULL, 0,
					     "%s: expected a list such as 1,2,4", opt);
		s = end + 1;
	}
}

double aoi_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void aoi_progress_init(aoi_progress *p, const char *label, long total)
{
	p->label = label;
	p->total = total;
	p->done = 0;
	p->started = aoi_now();
	p->last_draw = 0;
	p->tty = isatty(STDERR_FILENO);
}

static void progress_draw(const aoi_progress *p, const char *extra, double now)
{
	double rate = p->done / fmax(now - p->started, 1e-9);

	if (p->total > 0) {
		int width = 30, fill = (int)(width * p->done / p->total);
		fprintf(stderr, "\r%s [%.*s%*s] %ld/%ld %.1f/s %s\033[K", p->label, fill,
			"##############################", width - fill, "", p->done,
			p->total, rate, extra ? extra : "");
	} else {
		fprintf(stderr, "\r%s %ld %.1f/s %s\033[K", p->label, p->done, rate,
			extra ? extra : "");
	}
}

void aoi_progress_step(aoi_progress *p, long n, const char *extra)
{
	double now;

	p->done += n;
	if (!p->tty)
		return;
	now = aoi_now();
	if (now - p->last_draw < 0.1 && p->done != p->total)
		return;
	p->last_draw = now;
	progress_draw(p, extra, now);
}

void aoi_progress_end(aoi_progress *p)
{
	if (p->tty && p->last_draw > 0)
		fputc('\n', stderr);
}
