/* parallel.h: one function over every item of a list (records, files), in
 * parallel, failing as a loop in input order would. */
#ifndef AOI_PARALLEL_H
#define AOI_PARALLEL_H

#include <stddef.h>

#include "base/cli.h"
#include "base/error.h"

/* Item i: 0, or -1 with err filled. Items must not depend on each other. */
typedef int (*aoi_parallel_fn)(void *ctx, size_t i, aoi_error *err);

/* fn(ctx, i, err) for every i < n on OpenMP's threads, handed out `chunk`
 * items at a time; progress (may be NULL) steps once an item. Every item
 * runs, failed or not. Returns -1 when none failed; otherwise the index of
 * the first failing item in input order, with its error in err, so that
 * the error does not depend on which thread finished first. */
long aoi_parallel_each(size_t n, int chunk, aoi_parallel_fn fn, void *ctx,
		       aoi_progress *progress, aoi_error *err);

#endif
