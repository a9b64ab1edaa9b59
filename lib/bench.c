/* bench.c: timing statistics, the sgemm peak, stage cuts, cost. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>

#include "cli.h"

double aoi_bench_quantile(const double *sorted, int n, double p)
{
	double h;
	int lo;

	if (n <= 0)
		return NAN;
	if (p <= 0)
		return sorted[0];
	if (p >= 1)
		return sorted[n - 1];
	h = (n - 1) * p;
	lo = (int)floor(h);
	if (lo >= n - 1)
		return sorted[n - 1];
	return sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int aoi_bench_stats_compute(double *samples, int n, aoi_bench_stats *out,
			    aoi_error *err)
{
	double sum = 0, sq = 0;

	if (n <= 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "no samples to summarise");
	qsort(samples, (size_t)n, sizeof *samples, cmp_double);
	for (int i = 0; i < n; i++)
		sum += samples[i];
	out->n = n;
	out->mean = sum / n;
	for (int i = 0; i < n; i++)
		sq += (samples[i] - out->mean) * (samples[i] - out->mean);
	/* the sample standard deviation; 0 for a single run */
	out->stddev = n > 1 ? sqrt(sq / (n - 1)) : 0;
	out->min = samples[0];
	out->max = samples[n - 1];
	out->median = aoi_bench_quantile(samples, n, 0.5);
	out->p95 = aoi_bench_quantile(samples, n, 0.95);
	out->p99 = aoi_bench_quantile(samples, n, 0.99);
	return 0;
}

int aoi_bench_cores(void)
{
	return omp_get_num_procs();
}

static void fill_matrix(float *m, size_t count, float scale)
{
	/* small values of both signs, so that sums neither overflow nor
	 * become denormal (which would slow the product down) */
	for (size_t i = 0; i < count; i++)
		m[i] = scale * (float)((int)(i % 17) - 8) / 8.0f;
}

int aoi_bench_sgemm_peak(int n, int threads, int reps, aoi_bench_peak *out,
			 aoi_error *err)
{
	size_t count = (size_t)n * (size_t)n;
	float *a, *b, *c;
	double best = HUGE_VAL;

	if (n < 1 || n > 16384 || reps < 1)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "sgemm peak: bad size %d or repetitions %d", n, reps);
	if (threads <= 0)
		threads = omp_get_num_procs();
	a = malloc(count * sizeof *a);
	b = malloc(count * sizeof *b);
	c = malloc(count * sizeof *c);
	if (!a || !b || !c) {
		free(a), free(b), free(c);
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0,
				     "sgemm peak: no memory for three %dx%d matrices", n, n);
	}
	fill_matrix(a, count, 1.0f);
	fill_matrix(b, count, 0.5f);
	omp_set_num_threads(threads);
	openblas_set_num_threads(threads);
	for (int r = -1; r < reps; r++) {
		double t0 = aoi_now(), dt;

		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f,
			    a, n, b, n, 0.0f, c, n);
		dt = aoi_now() - t0;
		if (r >= 0 && dt < best) /* r = -1 warms caches and threads up */
			best = dt;
	}
	free(a), free(b), free(c);
	out->n = n;
	out->threads = threads;
	out->seconds = best;
	out->gflops = best > 0 ? 2.0 * n * (double)n * n / best / 1e9 : 0;
	return 0;
}

/* The dynamic programme of aoi_bench_stage_cuts(): for the first i layers
 * in s stages, the best bottleneck b, its sum of squares q and where its
 * last stage starts (j). Row s - 1 of each table holds s stages. */
typedef struct cut_tables {
	int n;
	double *prefix, *b, *q;
	int *j;
} cut_tables;

static void cut_row(cut_tables *t, int s)
{
	const double *p = t->prefix;
	int n = t->n, row = (s - 1) * (n + 1), prev = (s - 2) * (n + 1);

	for (int i = s; i <= n; i++) {
		double bb = HUGE_VAL, bq = HUGE_VAL;
		int bj = s - 1;

		for (int j = s - 1; j < i; j++) {
			double c = p[i] - p[j];
			double b = fmax(t->b[prev + j], c), q = t->q[prev + j] + c * c;

			if (b < bb || (b == bb && q < bq))
				bb = b, bq = q, bj = j;
		}
		t->b[row + i] = bb, t->q[row + i] = bq, t->j[row + i] = bj;
	}
}

static int check_costs(const double *cost, int n, int stages, aoi_error *err)
{
	if (n < 1 || stages < 1 || stages > n)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "cannot cut %d layers into %d stages", n, stages);
	for (int i = 0; i < n; i++)
		if (!(cost[i] >= 0) || isinf(cost[i]))
			return aoi_error_set(err, AOI_EINVAL, NULL, 0,
					     "layer %d has a bad cost %g", i, cost[i]);
	return 0;
}

int aoi_bench_stage_cuts(const double *cost, int n, int stages, int *cuts,
			 double *stage_cost, aoi_error *err)
{
	size_t cells;
	cut_tables t;

	if (check_costs(cost, n, stages, err) < 0)
		return -1;
	cells = (size_t)stages * (size_t)(n + 1);
	t.n = n;
	t.prefix = malloc((size_t)(n + 1) * sizeof *t.prefix);
	t.b = calloc(cells, sizeof *t.b);
	t.q = calloc(cells, sizeof *t.q);
	t.j = calloc(cells, sizeof *t.j);
	if (!t.prefix || !t.b || !t.q || !t.j) {
		free(t.prefix), free(t.b), free(t.q), free(t.j);
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "no memory for stage cuts");
	}
	t.prefix[0] = 0;
	for (int i = 0; i < n; i++)
		t.prefix[i + 1] = t.prefix[i] + cost[i];
	for (int i = 0; i <= n; i++) /* one stage: everything so far */
		t.b[i] = t.prefix[i], t.q[i] = t.prefix[i] * t.prefix[i], t.j[i] = 0;
	for (int s = 2; s <= stages; s++)
		cut_row(&t, s);
	/* walk back from all n layers in `stages` stages */
	for (int s = stages, end = n; s >= 1; s--) {
		int start = t.j[(s - 1) * (n + 1) + end];

		if (stage_cost)
			stage_cost[s - 1] = t.prefix[end] - t.prefix[start];
		if (s >= 2)
			cuts[s - 2] = start;
		end = start;
	}
	free(t.prefix), free(t.b), free(t.q), free(t.j);
	return 0;
}

double aoi_bench_rate(double seconds, int batch)
{
	return seconds > 0 ? batch / seconds : 0;
}

double aoi_bench_cost_per_million(double rate, double price_per_hour)
{
	return rate > 0 ? price_per_hour * 1e6 / (rate * 3600.0) : HUGE_VAL;
}

double aoi_bench_per_day(double rate)
{
	return rate * 86400.0;
}
