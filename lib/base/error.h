/* error.h: the error value that lib/ fills and returns upward.
 *
 * Every lib/ function that can fail takes an `aoi_error *err` as its last
 * argument (it may be NULL), fills it where the problem is found, and
 * returns a failure value (-1 or NULL). Only programs in cmd/ print and exit.
 */
#ifndef AOI_ERROR_H
#define AOI_ERROR_H

#include <stddef.h>

enum aoi_status {
	AOI_OK = 0,
	AOI_EINVAL,   /* bad argument or option value */
	AOI_EIO,      /* a read, write or rename failed */
	AOI_ENOMEM,   /* an allocation failed */
	AOI_EFORMAT,  /* malformed input: JSON, PNG, JPEG, model file, ... */
	AOI_ESHAPE,   /* sizes or shapes that do not agree */
	AOI_ENOTFOUND /* a file, field or name that is not there */
};

typedef struct aoi_error {
	int code;        /* enum aoi_status; AOI_OK when nothing went wrong */
	char where[512]; /* the input named in the message ("" if none) */
	long line;       /* line in that input, 0 if it has none */
	char msg[512];
} aoi_error;

void aoi_error_clear(aoi_error *err);

/* Fill err (if not NULL) and return -1, so that callers can write
 * `return aoi_error_set(err, AOI_EFORMAT, path, 0, "bad %s", x);`. */
int aoi_error_set(aoi_error *err, int code, const char *where, long line,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Set the input name and line of an error already filled, when they are
 * known only higher up (a mask decoder does not know the dataset line). */
void aoi_error_locate(aoi_error *err, const char *where, long line);

/* "(at where:line): msg", or just "msg" when there is no place. */
const char *aoi_error_text(const aoi_error *err, char *buf, size_t size);

/* strerror(errno) prefixed message for a failed system call on path. */
int aoi_error_errno(aoi_error *err, const char *path, const char *what);

#endif
