/* test_bench.c: statistics, stage cuts and cost against answers worked out
 * by hand (and numpy.quantile for the quantiles). No timing is asserted:
 * the sgemm peak is only checked for being a finite positive rate. */
#include <math.h>

#include "bench.h"
#include "check.h"

static void test_quantile(void)
{
	const double x[] = {1, 2, 3, 4};
	const double one[] = {7};

	/* numpy.quantile([1,2,3,4], [0, .5, .95, .99, 1]) */
	CHECK_NEAR(aoi_bench_quantile(x, 4, 0), 1, 1e-12);
	CHECK_NEAR(aoi_bench_quantile(x, 4, 0.5), 2.5, 1e-12);
	CHECK_NEAR(aoi_bench_quantile(x, 4, 0.95), 3.85, 1e-12);
	CHECK_NEAR(aoi_bench_quantile(x, 4, 0.99), 3.97, 1e-12);
	CHECK_NEAR(aoi_bench_quantile(x, 4, 1), 4, 1e-12);
	CHECK_NEAR(aoi_bench_quantile(one, 1, 0.99), 7, 1e-12);
	CHECK(isnan(aoi_bench_quantile(x, 0, 0.5)));
}

static void test_stats(void)
{
	/* 1..101 shuffled: median 51, p95 96, p99 100 (h = 100 p) */
	double s[101];
	aoi_bench_stats st;
	aoi_error err;

	for (int i = 0; i < 101; i++)
		s[i] = (double)((i * 37) % 101 + 1);
	CHECK_INT(aoi_bench_stats_compute(s, 101, &st, &err), 0);
	CHECK_INT(st.n, 101);
	CHECK_NEAR(st.median, 51, 1e-12);
	CHECK_NEAR(st.p95, 96, 1e-12);
	CHECK_NEAR(st.p99, 100, 1e-12);
	CHECK_NEAR(st.min, 1, 0);
	CHECK_NEAR(st.max, 101, 0);
	CHECK_NEAR(st.mean, 51, 1e-12);
	CHECK(s[0] == 1 && s[100] == 101); /* sorted in place */

	/* {0.3, 0.1, 0.2}: mean 0.2, sample stddev 0.1, median 0.2 */
	double t[] = {0.3, 0.1, 0.2};
	CHECK_INT(aoi_bench_stats_compute(t, 3, &st, &err), 0);
	CHECK_NEAR(st.stddev, 0.1, 1e-12);
	CHECK_NEAR(st.median, 0.2, 1e-12);
	CHECK_NEAR(st.p95, 0.29, 1e-12);

	double u[] = {5};
	CHECK_INT(aoi_bench_stats_compute(u, 1, &st, &err), 0);
	CHECK_NEAR(st.stddev, 0, 0);
	CHECK_NEAR(st.p99, 5, 0);
	CHECK_INT(aoi_bench_stats_compute(u, 0, &st, &err), -1);
	CHECK_INT(err.code, AOI_EINVAL);
}

/* cut `cost` into `stages` and compare with the expected cuts and costs */
static void expect_cuts(const double *cost, int n, int stages, const int *want,
			const double *want_cost)
{
	int cuts[16] = {0};
	double sc[16] = {0};
	aoi_error err;

	CHECK_INT(aoi_bench_stage_cuts(cost, n, stages, cuts, sc, &err), 0);
	for (int k = 0; k < stages - 1; k++)
		CHECK_MSG(cuts[k] == want[k], "stages %d cut %d: %d != %d", stages, k,
			  cuts[k], want[k]);
	for (int k = 0; k < stages; k++)
		CHECK_NEAR(sc[k], want_cost[k], 1e-9);
}

static void test_cuts(void)
{
	const double even[] = {1, 1, 1, 1};
	const double front[] = {5, 1, 1, 1, 1, 1};
	const double heavy[] = {4, 1, 1, 1, 1};
	const double tail[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	const double zeros[] = {0, 0, 0};

	expect_cuts(even, 4, 2, (int[]){2}, (double[]){2, 2});
	expect_cuts(even, 4, 4, (int[]){1, 2, 3}, (double[]){1, 1, 1, 1});
	expect_cuts(even, 4, 1, NULL, (double[]){4});
	expect_cuts(front, 6, 2, (int[]){1}, (double[]){5, 5});
	/* bottleneck 4 either way; 4|1 1|1 1 is more even than 4|1|1 1 1 */
	expect_cuts(heavy, 5, 3, (int[]){1, 3}, (double[]){4, 2, 2});
	/* 1..9 in three: 1-5 (15) | 6-7 (13) | 8-9 (17): bottleneck 17 is
	 * the least (the next best split, 1-4 | 5-7 | 8-9, has 18) */
	expect_cuts(tail, 9, 3, (int[]){5, 7}, (double[]){15, 13, 17});
	/* free layers still make non-empty stages */
	expect_cuts(zeros, 3, 3, (int[]){1, 2}, (double[]){0, 0, 0});

	int cuts[4];
	aoi_error err;
	CHECK_INT(aoi_bench_stage_cuts(even, 4, 5, cuts, NULL, &err), -1);
	CHECK_INT(err.code, AOI_EINVAL);
	CHECK_INT(aoi_bench_stage_cuts(even, 4, 0, cuts, NULL, &err), -1);
	const double bad[] = {1, -1, 1};
	CHECK_INT(aoi_bench_stage_cuts(bad, 3, 2, cuts, NULL, &err), -1);
	const double nan_cost[] = {1, NAN, 1};
	CHECK_INT(aoi_bench_stage_cuts(nan_cost, 3, 2, cuts, NULL, &err), -1);
}

static void test_cost(void)
{
	/* seed 000 table I: 4 x x6g.2xlarge at 0.272 USD/h each = 1.088 USD/h;
	 * at 35 images/s that is 1.088 / 126000 USD an image */
	CHECK_NEAR(aoi_bench_cost_per_million(35, 1.088), 1.088e6 / 126000, 1e-9);
	CHECK_NEAR(aoi_bench_cost_per_million(1, 3.6), 1000, 1e-9);
	CHECK(isinf(aoi_bench_cost_per_million(0, 1)));
	CHECK_NEAR(aoi_bench_rate(0.5, 8), 16, 1e-12);
	CHECK_NEAR(aoi_bench_rate(0, 8), 0, 0);
	/* seed 004: 3 million a day is 34.7 images/s */
	CHECK_NEAR(aoi_bench_per_day(3e6 / 86400.0), 3e6, 1e-6);
}

static void test_peak(void)
{
	aoi_bench_peak pk;
	aoi_error err;

	CHECK_INT(aoi_bench_sgemm_peak(64, 1, 2, &pk, &err), 0);
	CHECK_INT(pk.n, 64);
	CHECK_INT(pk.threads, 1);
	CHECK(pk.seconds > 0 && isfinite(pk.gflops) && pk.gflops > 0);
	CHECK_INT(aoi_bench_sgemm_peak(0, 1, 2, &pk, &err), -1);
	CHECK_INT(aoi_bench_sgemm_peak(64, 1, 0, &pk, &err), -1);
}

int main(void)
{
	test_quantile();
	test_stats();
	test_cuts();
	test_cost();
	test_peak();
	return check_done();
}
