/* parallel.c: a parallel loop over items that reports the first failure. */
#include "base/parallel.h"

/* Keep in err the error e of item i when it is the first failure in input
 * order so far (*bad, -1 at first). Called inside one critical section. */
static void first_error(long *bad, aoi_error *err, long i, const aoi_error *e)
{
	if (*bad >= 0 && i > *bad)
		return;
	*bad = i;
	if (err)
		*err = *e;
}

long aoi_parallel_each(size_t n, int chunk, aoi_parallel_fn fn, void *ctx,
		       aoi_progress *progress, aoi_error *err)
{
	long bad = -1;

#pragma omp parallel for schedule(dynamic, chunk)
	for (size_t i = 0; i < n; i++) {
		aoi_error e;
		aoi_error_clear(&e);
		int ok = fn(ctx, i, &e) == 0;
		if (progress) {
#pragma omp critical(aoi_parallel_progress)
			aoi_progress_step(progress, 1, NULL);
		}
		if (ok)
			continue;
#pragma omp critical(aoi_parallel_first_error)
		first_error(&bad, err, (long)i, &e);
	}
	return bad;
}
