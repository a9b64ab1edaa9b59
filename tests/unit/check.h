/* check.h: the unit tests' whole framework. A test file is a main() that
 * calls CHECK* and ends with `return check_done();`. */
#ifndef AOI_CHECK_H
#define AOI_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_total, check_failed;

#define CHECK(cond)                                                              \
	do {                                                                     \
		check_total++;                                                   \
		if (!(cond)) {                                                   \
			check_failed++;                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,  \
				__LINE__, #cond);                                \
		}                                                                \
	} while (0)

#define CHECK_MSG(cond, ...)                                                     \
	do {                                                                     \
		check_total++;                                                   \
		if (!(cond)) {                                                   \
			check_failed++;                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__,  \
				__LINE__, #cond);                                \
			fprintf(stderr, __VA_ARGS__);                            \
			fputc('\n', stderr);                                     \
		}                                                                \
	} while (0)

#define CHECK_STR(a, b) CHECK_MSG((a) && (b) && strcmp((a), (b)) == 0, "'%s' != '%s'", (a) ? (a) : "(null)", (b) ? (b) : "(null)")
#define CHECK_INT(a, b) CHECK_MSG((long long)(a) == (long long)(b), "%lld != %lld", (long long)(a), (long long)(b))
#define CHECK_NEAR(a, b, tol) CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol), "%.9g != %.9g (tol %g)", (double)(a), (double)(b), (double)(tol))

/* What a stream holds from its start, in buf (cut to size - 1 bytes);
 * the stream stays open. */
static inline const char *check_text_of(FILE *f, char *buf, size_t size)
{
	rewind(f);
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	return buf;
}

/* A test's temporary directory and all in it, removed. */
static inline int check_remove_dir(const char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd);
}

static inline int check_done(void)
{
	printf("%d checks, %d failed\n", check_total, check_failed);
	return check_failed ? 1 : 0;
}

#endif
