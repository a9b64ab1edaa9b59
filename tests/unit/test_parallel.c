/* test_parallel.c: aoi_parallel_each runs every item, reports the first
 * failure in input order whichever thread meets it first, and steps the
 * progress once an item. */
#include "check.h"

#include <omp.h>
#include <stdlib.h>

#include "base/parallel.h"

enum { N = 1000 };

typedef struct job {
	int ran[N];
	const int *fails; /* indices that fail, ending in -1 */
	size_t slow;      /* the item that takes long */
} job;

static int item(void *ctx, size_t i, aoi_error *err)
{
	job *j = ctx;

	j->ran[i]++;
	if (i == j->slow) { /* work, so that later failures come first */
		volatile unsigned x = 1;
		for (int k = 0; k < 20000000; k++)
			x = x * 1664525u + 1013904223u;
	}
	for (const int *f = j->fails; *f >= 0; f++)
		if ((size_t)*f == i)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0, "item %zu", i);
	return 0;
}

static void check_run(const int *fails, size_t slow, long want_bad, const char *want_msg)
{
	job *j = calloc(1, sizeof *j);
	aoi_progress p;
	aoi_error err;
	int all_once = 1;

	aoi_progress_init(&p, "items", N);
	p.tty = 0;
	aoi_error_clear(&err);
	j->fails = fails;
	j->slow = slow;
	CHECK_INT(aoi_parallel_each(N, 3, item, j, &p, &err), want_bad);
	for (int i = 0; i < N; i++)
		all_once &= j->ran[i] == 1;
	CHECK(all_once);
	CHECK_INT(p.done, N);
	if (want_msg)
		CHECK_STR(err.msg, want_msg);
	else
		CHECK_INT(err.code, AOI_OK);
	free(j);
}

int main(void)
{
	static const int none[] = {-1};
	int *late = malloc(sizeof(int) * (N + 1));
	int k = 0;

	/* 417 fails first in input order but last in time: the other threads
	 * meet every later failure while it works */
	for (int i = 417; i < N; i++)
		late[k++] = i;
	late[k] = -1;
	omp_set_num_threads(4);
	check_run(none, N, -1, NULL);
	check_run(late, 417, 417, "item 417");
	CHECK_INT(aoi_parallel_each(0, 1, item, NULL, NULL, NULL), -1);
	free(late);
	return check_done();
}
