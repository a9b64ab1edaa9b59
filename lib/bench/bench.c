/* bench.c: timing statistics, the sgemm peak, stage cuts, cost. */
#include "bench/bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>

#include "base/cli.h"

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

/* The split itself is the engine's (lib/nn/range.c), which pipeline
 * stages share. */
int aoi_bench_stage_cuts(const double *cost, int n, int stages, int *cuts,
			 double *stage_cost, aoi_error *err)
{
	return aoi_net_split_costs(cost, n, stages, cuts, stage_cost, err);
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
