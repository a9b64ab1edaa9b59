/* bench_nn.c: time the engine on mbv2-unet (MobileNetV2 encoder + U-Net
 * decoder, ../shared/ARCHITECTURES.md, built inline here) and AlexNet, and
 * say where the time goes per layer kind. Not run by make check; build by
 * hand with the library's flags:
 *
 *   make && cc -std=c11 -D_GNU_SOURCE -O3 -march=native -fopenmp -Ilib \
 *      tests/bench_nn.c -o build/bench_nn build/libaoi.a \
 *      -L/usr/lib/x86_64-linux-gnu/openblas-openmp \
 *      -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas -lm
 *   build/bench_nn [infer|train|alexnet|all] [reps] [threads] [top nodes]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "nn/net.h"
#include "base/rng.h"

#define CK(x) ck((x), &err, __LINE__)

static int ck(int v, const aoi_error *err, int line)
{
	if (v < 0) {
		fprintf(stderr, "bench_nn:%d: %s\n", line, err->msg);
		exit(1);
	}
	return v;
}

static int cbr(aoi_net *net, int x, int out, int k, int s, int groups,
	       enum aoi_act act, aoi_error *err)
{
	x = aoi_net_conv(net, x, out, k, s, k / 2, 1, groups, 0, err);
	x = aoi_net_batchnorm(net, x, err);
	return act == AOI_ACT_NONE ? x : aoi_net_activation(net, x, act, 0, err);
}

static int inverted_residual(aoi_net *net, int x, int cin, int cout, int t,
			     int s, aoi_error *err)
{
	int h = x, mid = cin * t;

	if (t != 1)
		h = cbr(net, h, mid, 1, 1, 1, AOI_ACT_RELU6, err);
	h = cbr(net, h, mid, 3, s, mid, AOI_ACT_RELU6, err);
	h = cbr(net, h, cout, 1, 1, 1, AOI_ACT_NONE, err);
	return s == 1 && cin == cout ? aoi_net_add(net, h, x, err) : h;
}

/* torchvision mobilenet_v2().features with the SMP U-Net taps. */
static aoi_net *mbv2_unet(int classes)
{
	static const int table[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2},
					{6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2},
					{6, 320, 1, 1}};
	static const int dec[5] = {256, 128, 64, 32, 16};
	aoi_error err;
	aoi_net *net = aoi_net_new(3, &err);
	int x, cin = 32, feature = 1, taps[5], ntaps = 0, tapch[5];

	aoi_net_set_block(net, "encoder");
	x = CK(cbr(net, 0, 32, 3, 2, 1, AOI_ACT_RELU6, &err));
	for (int r = 0; r < 7; r++)
		for (int i = 0; i < table[r][2]; i++, feature++) {
			x = CK(inverted_residual(net, x, cin, table[r][1], table[r][0],
						 i ? 1 : table[r][3], &err));
			cin = table[r][1];
			if (feature == 1 || feature == 3 || feature == 6 || feature == 13) {
				tapch[ntaps] = cin;
				taps[ntaps++] = x;
			}
		}
	x = CK(cbr(net, x, 1280, 1, 1, 1, AOI_ACT_RELU6, &err));
	aoi_net_set_block(net, "decoder");
	for (int k = 0; k < 5; k++) {
		x = CK(aoi_net_upsample(net, x, 2, 0, &err));
		if (k < 4)
			x = CK(aoi_net_concat(net, 2, (int[]){x, taps[3 - k]}, &err));
		x = CK(cbr(net, x, dec[k], 3, 1, 1, AOI_ACT_RELU, &err));
		x = CK(cbr(net, x, dec[k], 3, 1, 1, AOI_ACT_RELU, &err));
	}
	(void)tapch;
	aoi_net_set_block(net, "head");
	CK(aoi_net_conv(net, x, classes, 3, 1, 1, 1, 1, 1, &err));
	return net;
}

static aoi_net *alexnet(int classes)
{
	aoi_error err;
	aoi_net *net = aoi_net_new(3, &err);
	int x;

	x = CK(aoi_net_conv(net, 0, 64, 11, 4, 2, 1, 1, 1, &err));
	x = CK(aoi_net_activation(net, x, AOI_ACT_RELU, 0, &err));
	x = CK(aoi_net_maxpool(net, x, 3, 2, 0, &err));
	x = CK(aoi_net_conv(net, x, 192, 5, 1, 2, 1, 1, 1, &err));
	x = CK(aoi_net_activation(net, x, AOI_ACT_RELU, 0, &err));
	x = CK(aoi_net_maxpool(net, x, 3, 2, 0, &err));
	x = CK(aoi_net_conv(net, x, 384, 3, 1, 1, 1, 1, 1, &err));
	x = CK(aoi_net_activation(net, x, AOI_ACT_RELU, 0, &err));
	x = CK(aoi_net_conv(net, x, 256, 3, 1, 1, 1, 1, 1, &err));
	x = CK(aoi_net_activation(net, x, AOI_ACT_RELU, 0, &err));
	x = CK(aoi_net_conv(net, x, 256, 3, 1, 1, 1, 1, 1, &err));
	x = CK(aoi_net_activation(net, x, AOI_ACT_RELU, 0, &err));
	x = CK(aoi_net_maxpool(net, x, 3, 2, 0, &err));
	x = CK(aoi_net_adaptive_avgpool(net, x, 6, 6, &err));
	x = CK(aoi_net_flatten(net, x, &err));
	x = CK(aoi_net_dropout(net, x, 0.5f, &err));
	x = CK(aoi_net_dense(net, x, 4096, 1, &err));
	x = CK(aoi_net_activation(net, x, AOI_ACT_RELU, 0, &err));
	x = CK(aoi_net_dropout(net, x, 0.5f, &err));
	x = CK(aoi_net_dense(net, x, 4096, 1, &err));
	x = CK(aoi_net_activation(net, x, AOI_ACT_RELU, 0, &err));
	CK(aoi_net_dense(net, x, classes, 1, &err));
	return net;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Per layer kind: forward and backward ms per run, and GFLOP/s. */
static void report_kinds(aoi_net *net, const double *times, int runs)
{
	int n = aoi_net_node_count(net), nk = 0;
	const char *kinds[64];
	double fwd[64] = {0}, bwd[64] = {0}, flops[64] = {0};

	for (int i = 1; i < n; i++) {
		aoi_node_info info;
		int k;

		aoi_net_node_info(net, i, &info);
		for (k = 0; k < nk && strcmp(kinds[k], info.kind); k++)
			;
		if (k == nk && nk < 64)
			kinds[nk++] = info.kind;
		fwd[k] += times[i] / runs;
		bwd[k] += times[n + i] / runs;
		flops[k] += info.flops;
	}
	printf("  %-18s %10s %10s %8s %12s\n", "kind", "fwd ms", "bwd ms", "GFLOP", "fwd GFLOP/s");
	for (int k = 0; k < nk; k++)
		printf("  %-18s %10.2f %10.2f %8.2f %12.1f\n", kinds[k], fwd[k] * 1e3,
		       bwd[k] * 1e3, flops[k] / 1e9,
		       fwd[k] > 0 ? flops[k] / fwd[k] / 1e9 : 0.0);
}

/* The slowest nodes, forward plus backward. */
static void report_top(aoi_net *net, const double *times, int runs, int top)
{
	int n = aoi_net_node_count(net), *order = malloc(sizeof(int) * n);

	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = 0; i < n; i++) /* selection sort of the first `top` */
		for (int j = i + 1; j < n && i < top; j++)
			if (times[order[j]] + times[n + order[j]] >
			    times[order[i]] + times[n + order[i]]) {
				int t = order[i];
				order[i] = order[j];
				order[j] = t;
			}
	printf("  %-5s %-18s %-22s %6s %9s %9s %10s\n", "node", "kind", "in -> out", "MFLOP",
	       "fwd ms", "bwd ms", "GFLOP/s");
	for (int i = 0; i < top && i < n; i++) {
		aoi_node_info info, in;
		char shape[64];
		int k = order[i];

		aoi_net_node_info(net, k, &info);
		aoi_net_node_info(net, info.ninputs ? info.inputs[0] : 0, &in);
		snprintf(shape, sizeof shape, "%dx%dx%d->%dx%dx%d", in.out.c, in.out.h,
			 in.out.w, info.out.c, info.out.h, info.out.w);
		printf("  %-5d %-18s %-22s %6.0f %9.2f %9.2f %10.1f\n", k, info.kind, shape,
		       info.flops / 1e6, times[k] / runs * 1e3, times[n + k] / runs * 1e3,
		       times[k] > 0 ? info.flops / (times[k] / runs) / 1e9 : 0.0);
	}
	free(order);
}

static void sgd_step(aoi_net *net, float *mom)
{
	float *p = aoi_net_params(net), *g = aoi_net_grads(net);
	size_t n = aoi_net_param_count(net);

#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++) {
		mom[i] = 0.9f * mom[i] + g[i];
		p[i] -= 1e-3f * mom[i];
	}
}

static void bench(const char *name, aoi_net *net, int batch, int h, int w,
		  int train, int reps, int top)
{
	aoi_error err;
	aoi_rng rng;
	aoi_shape os;
	size_t nin = (size_t)batch * 3 * h * w, nout;
	float *x = malloc(sizeof(float) * nin), *dout, *mom;
	double *times, *runs = malloc(sizeof(double) * reps), t0;
	int n;

	aoi_rng_seed(&rng, 1);
	aoi_net_init_params(net, &rng);
	if (!train)
		CK(aoi_net_fuse_for_inference(net, &err));
	CK(aoi_net_plan(net, batch, h, w, &err));
	n = aoi_net_node_count(net);
	times = calloc(2 * (size_t)n, sizeof *times);
	os = aoi_net_output_shape(net);
	nout = (size_t)os.n * os.c * os.h * os.w;
	dout = malloc(sizeof(float) * nout);
	mom = calloc(aoi_net_param_count(net), sizeof *mom);
	for (size_t i = 0; i < nin; i++)
		x[i] = (float)aoi_rng_normal(&rng);
	for (size_t i = 0; i < nout; i++)
		dout[i] = (float)aoi_rng_normal(&rng) / (float)nout;
	/* per-node times: the minimum over the runs, which filters out the
	 * moments another process had the core */
	double *one = calloc(2 * (size_t)n, sizeof *one);
	for (int i = 0; i < 2 * n; i++)
		times[i] = 1e30;
	for (int r = -1; r < reps; r++) {
		memset(one, 0, sizeof(double) * 2 * n);
		aoi_net_set_profile(net, r >= 0 ? one : NULL);
		t0 = omp_get_wtime();
		if (train)
			aoi_net_zero_grads(net);
		if (!aoi_net_forward(net, x, train, &rng, &err))
			CK(-1);
		if (train) {
			CK(aoi_net_backward(net, dout, &err));
			sgd_step(net, mom);
		}
		if (r < 0)
			continue;
		runs[r] = omp_get_wtime() - t0;
		for (int i = 0; i < 2 * n; i++)
			times[i] = one[i] < times[i] ? one[i] : times[i];
	}
	free(one);
	qsort(runs, reps, sizeof *runs, cmp_double);
	double sum = 0;
	for (int i = 0; i < 2 * n; i++)
		sum += times[i];
	printf("%s: batch %d %dx%d %s: median %.1f ms, min %.1f ms (%d runs, %zu params); "
	       "sum of per-node minima %.1f ms\n",
	       name, batch, h, w, train ? "train step" : "inference", runs[reps / 2] * 1e3,
	       runs[0] * 1e3, reps, aoi_net_param_count(net), sum * 1e3);
	report_kinds(net, times, 1);
	report_top(net, times, 1, top);
	free(x);
	free(dout);
	free(mom);
	free(times);
	free(runs);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	int reps = argc > 2 ? atoi(argv[2]) : 5, threads = argc > 3 ? atoi(argv[3]) : 0;
	int top = argc > 4 ? atoi(argv[4]) : 0;
	aoi_net *net;

	if (reps < 1)
		reps = 1;
	if (!strcmp(what, "infer") || !strcmp(what, "all")) {
		net = mbv2_unet(2);
		aoi_net_set_threads(net, threads);
		bench("mbv2-unet", net, 1, 512, 512, 0, reps, top);
		aoi_net_free(net);
	}
	if (!strcmp(what, "train") || !strcmp(what, "all")) {
		net = mbv2_unet(2);
		aoi_net_set_threads(net, threads);
		bench("mbv2-unet", net, 8, 256, 256, 1, reps, top);
		aoi_net_free(net);
	}
	if (!strcmp(what, "alexnet") || !strcmp(what, "all")) {
		net = alexnet(3);
		aoi_net_set_threads(net, threads);
		bench("alexnet", net, 32, 224, 224, 1, reps, top);
		aoi_net_free(net);
	}
	return 0;
}
