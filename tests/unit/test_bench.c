/* test_bench.c: statistics, stage cuts and cost against answers worked out
 * by hand (and numpy.quantile for the quantiles). No timing is asserted:
 * the sgemm peak is only checked for being a finite positive rate. */
#include <math.h>

#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "check.h"
#include "nn/net.h"

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

/* input 3x8x8 -> conv 4 (3x3, pad 1) -> batchnorm -> relu -> conv 2 (1x1):
 * 2*4*64*27 + 2*2*64*4 = 13824 + 1024 FLOPs of convolution per image */
static aoi_net *tiny_net(aoi_error *err)
{
	aoi_net *net = aoi_net_new(3, err);
	int x;

	if (!net)
		return NULL;
	x = aoi_net_conv(net, 0, 4, 3, 1, 1, 1, 1, 0, err);
	x = aoi_net_batchnorm(net, x, err);
	x = aoi_net_activation(net, x, AOI_ACT_RELU, 0, err);
	x = aoi_net_conv(net, x, 2, 1, 1, 0, 1, 1, 1, err);
	if (x < 0) {
		aoi_net_free(net);
		return NULL;
	}
	return net;
}

static void test_net_timing(void)
{
	aoi_error err;
	aoi_rng rng;
	aoi_net *net = tiny_net(&err);
	double s[3], layer[5], conv = 0;
	aoi_bench_step steps[2];
	aoi_node_info info;

	CHECK(net != NULL);
	if (!net)
		return;
	aoi_rng_seed(&rng, 1);
	aoi_net_init_params(net, &rng);
	aoi_net_set_threads(net, 1);
	CHECK_INT(aoi_net_plan(net, 2, 8, 8, &err), 0);
	for (int i = 0; i < aoi_net_node_count(net); i++)
		if (aoi_net_node_info(net, i, &info) == 0 && strcmp(info.kind, "conv") == 0)
			conv += info.flops;
	CHECK_NEAR(conv, 2 * (13824 + 1024), 0); /* batch 2 */
	CHECK(aoi_bench_net_flops(net) >= conv);

	/* training changes the parameters; the forward pass does not */
	size_t np = aoi_net_param_count(net);
	float *before = malloc(np * sizeof *before);
	memcpy(before, aoi_net_params(net), np * sizeof *before);
	CHECK_INT(aoi_bench_train(net, AOI_TASK_SEGMENTATION, 1, 2, &rng, steps, &err), 0);
	CHECK(memcmp(before, aoi_net_params(net), np * sizeof *before) != 0);
	for (int r = 0; r < 2; r++)
		CHECK(steps[r].total >= steps[r].forward + steps[r].backward &&
		      steps[r].forward >= 0 && steps[r].loss >= 0 && steps[r].optim >= 0);
	CHECK_INT(aoi_bench_train(net, AOI_TASK_KEYPOINTS, 0, 1, &rng, steps, &err), 0);
	free(before);

	CHECK_INT(aoi_net_fuse_for_inference(net, &err), 0);
	CHECK_INT(aoi_bench_forward(net, 1, 3, &rng, s, &err), 0);
	for (int r = 0; r < 3; r++)
		CHECK(s[r] >= 0 && isfinite(s[r]));
	/* per node: the input and the fused batchnorm and relu take no time */
	CHECK_INT(aoi_net_node_count(net), 5);
	CHECK_INT(aoi_bench_layers(net, 0, 3, &rng, layer, &err), 0);
	CHECK(layer[0] == 0 && layer[2] == 0 && layer[3] == 0);
	CHECK(layer[1] >= 0 && layer[4] >= 0);
	/* a fused net cannot train: the error comes back up */
	CHECK_INT(aoi_bench_train(net, AOI_TASK_SEGMENTATION, 0, 1, &rng, steps, &err), -1);
	aoi_net_free(net);
}

int main(void)
{
	test_quantile();
	test_stats();
	test_cuts();
	test_cost();
	test_peak();
	test_net_timing();
	return check_done();
}
