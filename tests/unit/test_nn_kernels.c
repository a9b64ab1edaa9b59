/* test_nn_kernels.c: every kernel level this CPU has (lib/nn/kernels/isa.h),
 * each kernel family against sums in double: Winograd (forward, added to
 * the output, weight gradient), the direct convolution (wide and narrow
 * tiles, ragged rows), its weight gradients, the depthwise 3x3 and the
 * epilogues. Tolerance: 3e-5 of the largest output (Winograd's transforms
 * and fused multiply-adds round differently at each level; the worst seen
 * is 4e-6). `test_nn_kernels lower` prints the levels below the CPU's
 * best instead, for make check to run the net's tests again at each. */
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/rng.h"
#include "nn/cpu.h"
#include "nn/kernels/isa.h"

#define TOL 3e-5

/* The AVX-512 level's source (VW = 16: its register blocking, tile
 * shapes and shuffles) cannot run on a CPU without AVX-512; compiled here
 * for AVX2 instead (GCC splits each 16-float vector in two), the same
 * logic runs on any AVX2 machine. Only the instruction selection is left
 * untested. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__AVX512F__)
#define WIDE16 1
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define ISA_TABLE wide16_kernels
#define ISA_NAME "avx512-logic-on-avx2"
#define VW 16
#include "nn/kernels/body_all.h"
#pragma GCC pop_options
#endif

static float *randoms(aoi_rng *rng, size_t n)
{
	float *p = malloc(sizeof(float) * (n ? n : 1));

	for (size_t i = 0; i < n; i++)
		p[i] = (float)aoi_rng_range(rng, -1, 1);
	return p;
}

/* y[co][oy][ox] = bias + sum of w x over a k x k window, stride 1, zero
 * padding p, in double. */
static void ref_conv(const float *x, const float *w, const float *bias, double *y,
		     int cin, int cout, int h, int wd, int k, int p)
{
	for (int co = 0; co < cout; co++)
		for (int oy = 0; oy < h + 2 * p - k + 1; oy++)
			for (int ox = 0; ox < wd + 2 * p - k + 1; ox++) {
				double s = bias ? bias[co] : 0.0;
				for (int ci = 0; ci < cin; ci++)
					for (int ky = 0; ky < k; ky++)
						for (int kx = 0; kx < k; kx++) {
							int iy = oy + ky - p, ix = ox + kx - p;
							if (iy >= 0 && iy < h && ix >= 0 && ix < wd)
								s += (double)w[((co * cin + ci) * k + ky) * k + kx] *
								     x[(ci * h + iy) * wd + ix];
						}
				*y++ = s;
			}
}

/* The largest |ref| and the largest |got - ref| over n, as a ratio. */
static double rel_error(const float *got, const double *ref, size_t n)
{
	double big = 1e-30, worst = 0.0;

	for (size_t i = 0; i < n; i++) {
		big = fmax(big, fabs(ref[i]));
		worst = fmax(worst, fabs(got[i] - ref[i]));
	}
	return worst / big;
}

static void relu_ref(double *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = y[i] > 0 ? y[i] : 0;
}

static void check_winograd(const aoi_kernels *K, int cin, int cout, int h, int w, int k,
			   int p)
{
	aoi_rng rng;
	int oh = h + 2 * p - k + 1, ow = w + 2 * p - k + 1;
	size_t ny = (size_t)cout * oh * ow;
	float *x, *wt, *bias, *y, *u, *work;
	double *ref = malloc(sizeof(double) * ny), e;

	aoi_rng_seed(&rng, 3);
	x = randoms(&rng, (size_t)cin * h * w);
	wt = randoms(&rng, (size_t)cout * cin * k * k);
	bias = randoms(&rng, cout);
	y = randoms(&rng, ny);
	u = malloc(sizeof(float) * K->winograd_filter_floats(cout, cin, k));
	work = malloc(sizeof(float) * K->winograd_work_floats(cout, cin, 2));
	K->winograd_filter(wt, cout, cin, k, 0, u);
	aoi_wino_job j = {x, 1, cin, h, w, -p, -p, k,
			  {y, cout, oh, ow, bias, AOI_ACT_RELU, 0.0f, 0}};
	K->winograd_conv(&j, u, 2, work);
	ref_conv(x, wt, bias, ref, cin, cout, h, w, k, p);
	relu_ref(ref, ny);
	e = rel_error(y, ref, ny);
	CHECK_MSG(e < TOL, "%s winograd %d->%d %dx%d k%d p%d: off by %g", K->name, cin, cout,
		  h, w, k, p, e);
	/* accumulate: y += the convolution again, no bias or activation */
	ref_conv(x, wt, NULL, ref, cin, cout, h, w, k, p);
	for (size_t i = 0; i < ny; i++)
		ref[i] += y[i];
	j.out.accumulate = 1;
	K->winograd_conv(&j, u, 2, work);
	e = rel_error(y, ref, ny);
	CHECK_MSG(e < TOL, "%s winograd accumulate %d->%d: off by %g", K->name, cin, cout, e);
	free(x), free(wt), free(bias), free(y), free(u), free(work), free(ref);
}

/* dw[co][ci][t] = sum over pixels of dy[co] x shifted by tap t, in double. */
static void ref_wgrad(const float *x, const float *dy, double *dw, int cin, int cout,
		      int h, int w, int k, int p)
{
	int oh = h + 2 * p - k + 1, ow = w + 2 * p - k + 1;

	for (int co = 0; co < cout; co++)
		for (int ci = 0; ci < cin; ci++)
			for (int t = 0; t < k * k; t++) {
				double s = 0.0;
				for (int oy = 0; oy < oh; oy++)
					for (int ox = 0; ox < ow; ox++) {
						int iy = oy + t / k - p, ix = ox + t % k - p;
						if (iy >= 0 && iy < h && ix >= 0 && ix < w)
							s += (double)dy[(co * oh + oy) * ow + ox] *
							     x[(ci * h + iy) * w + ix];
					}
				*dw++ = s;
			}
}

static void check_weight_grads(const aoi_kernels *K, int cin, int cout, int h, int w,
			       int k)
{
	aoi_rng rng;
	int p = k / 2, hp = h + 2 * p, wp = w + 2 * p;
	size_t nw = (size_t)cout * cin * k * k;
	float *x, *dy, *dw = calloc(nw, sizeof(float)), *xp;
	double *ref = malloc(sizeof(double) * nw), e;

	aoi_rng_seed(&rng, 4);
	x = randoms(&rng, (size_t)cin * h * w);
	dy = randoms(&rng, (size_t)cout * h * w);
	ref_wgrad(x, dy, ref, cin, cout, h, w, k, p);
	xp = malloc(sizeof(float) * K->direct_padded_floats(cin, h, w, p));
	K->direct_pad(x, cin, h, w, p, xp);
	if (k == 3)
		K->direct_weight_grad3(xp, cin, hp, wp, dy, cout, h, w, 1, dw);
	else
		K->direct_weight_grad(xp, cin, hp, wp, dy, cout, h, w, k, 1, dw);
	e = rel_error(dw, ref, nw);
	CHECK_MSG(e < TOL, "%s direct weight gradient %d->%d k%d: off by %g", K->name, cin,
		  cout, k, e);
	if (k == 3 && cin >= 2) { /* Winograd's, added to what is there */
		aoi_wino_job j = {x, 1, cin, h, w, -p, -p, k,
				  {dy, cout, h, w, NULL, AOI_ACT_NONE, 0.0f, 0}};
		float *work = malloc(sizeof(float) *
				     K->winograd_wgrad_floats(cout, cin, k, 1, h, w));
		K->winograd_weight_grad(&j, dw, work);
		for (size_t i = 0; i < nw; i++)
			ref[i] *= 2;
		e = rel_error(dw, ref, nw);
		CHECK_MSG(e < TOL, "%s winograd weight gradient %d->%d: off by %g", K->name,
			  cin, cout, e);
		free(work);
	}
	free(x), free(dy), free(dw), free(xp), free(ref);
}

static void check_direct(const aoi_kernels *K, int cin, int cout, int h, int w, int k)
{
	aoi_rng rng;
	int p = k / 2;
	size_t ny = (size_t)cout * h * w;
	float *x, *wt, *bias, *y = malloc(sizeof(float) * ny), *packed, *xp;
	double *ref = malloc(sizeof(double) * ny), e;

	aoi_rng_seed(&rng, 5);
	x = randoms(&rng, (size_t)cin * h * w);
	wt = randoms(&rng, (size_t)cout * cin * k * k);
	bias = randoms(&rng, cout);
	packed = malloc(sizeof(float) * K->direct_packed_floats(cout, cin, k));
	xp = malloc(sizeof(float) * K->direct_padded_floats(cin, h, w, p));
	K->direct_pack(wt, cout, cin, k, 0, packed);
	K->direct_pad(x, cin, h, w, p, xp);
	aoi_direct_out o = {y, cout, h, w, bias, AOI_ACT_RELU, 0.0f, 0};
	K->direct_conv(xp, cin, h + 2 * p, w + 2 * p, packed, k, 1, &o);
	ref_conv(x, wt, bias, ref, cin, cout, h, w, k, p);
	relu_ref(ref, ny);
	e = rel_error(y, ref, ny);
	CHECK_MSG(e < TOL, "%s direct %d->%d %dx%d k%d: off by %g", K->name, cin, cout, h, w,
		  k, e);
	free(x), free(wt), free(bias), free(y), free(packed), free(xp), free(ref);
}

/* Depthwise 3x3 (stride 1, padding 1), with bias and ReLU6. */
static void check_dw3(const aoi_kernels *K, int c, int h, int w)
{
	aoi_rng rng;
	size_t n = (size_t)c * h * w;
	float *x, *wt, *bias, *y = malloc(sizeof(float) * n);
	float *work = malloc(sizeof(float) * c * aoi_nn_dw3_work_floats(h, w));
	double *ref = malloc(sizeof(double) * n), e;

	aoi_rng_seed(&rng, 6);
	x = randoms(&rng, n);
	wt = randoms(&rng, (size_t)c * 9);
	bias = randoms(&rng, c);
	K->dw3_forward(x, wt, bias, y, c, h, w, AOI_ACT_RELU6, 0.0f, work);
	for (int ch = 0; ch < c; ch++)
		ref_conv(x + (size_t)ch * h * w, wt + ch * 9, bias + ch, ref + (size_t)ch * h * w,
			 1, 1, h, w, 3, 1);
	for (size_t i = 0; i < n; i++)
		ref[i] = ref[i] < 0 ? 0 : ref[i] > 6 ? 6 : ref[i];
	e = rel_error(y, ref, n);
	CHECK_MSG(e < TOL, "%s depthwise 3x3 %dx%d: off by %g", K->name, h, w, e);
	free(x), free(wt), free(bias), free(y), free(work), free(ref);
}

/* The pointwise convolution by the own product, with bias and ReLU, and
 * accumulating: ragged row blocks and pixel panels. */
static void check_gemm(const aoi_kernels *K, int cin, int cout, int h, int w)
{
	aoi_rng rng;
	size_t ny = (size_t)cout * h * w;
	float *x, *wt, *bias, *y = malloc(sizeof(float) * ny), *packed, *work;
	double *ref = malloc(sizeof(double) * ny), e;

	aoi_rng_seed(&rng, 7);
	x = randoms(&rng, (size_t)cin * h * w);
	wt = randoms(&rng, (size_t)cout * cin);
	bias = randoms(&rng, cout);
	packed = malloc(sizeof(float) * K->gemm_packed_floats(cout, cin));
	work = malloc(sizeof(float) * K->gemm_work_floats(cin, 2));
	K->gemm_pack(wt, cout, cin, packed);
	aoi_direct_out o = {y, cout, h, w, bias, AOI_ACT_RELU, 0.0f, 0};
	K->gemm_conv1x1(packed, x, cin, &o, 2, work);
	ref_conv(x, wt, bias, ref, cin, cout, h, w, 1, 0);
	relu_ref(ref, ny);
	e = rel_error(y, ref, ny);
	CHECK_MSG(e < TOL, "%s pointwise %d->%d %dx%d: off by %g", K->name, cin, cout, h, w, e);
	ref_conv(x, wt, NULL, ref, cin, cout, h, w, 1, 0);
	for (size_t i = 0; i < ny; i++)
		ref[i] += y[i];
	o.accumulate = 1;
	K->gemm_conv1x1(packed, x, cin, &o, 2, work);
	e = rel_error(y, ref, ny);
	CHECK_MSG(e < TOL, "%s pointwise accumulate %d->%d: off by %g", K->name, cin, cout, e);
	free(x), free(wt), free(bias), free(y), free(packed), free(work), free(ref);
}

/* The int8 pointwise convolution: its integer sums are exact, so it
 * equals, up to float rounding (1e-6), the double product of the
 * quantized values times the scales; quantizing rounds to nearest and
 * clamps to [-127, 127]. */
static void check_int8(const aoi_kernels *K, int cin, int cout, int h, int w)
{
	aoi_rng rng;
	size_t px = (size_t)h * w, ny = (size_t)cout * px;
	float *x, *bias, *y = malloc(sizeof(float) * ny), *scale = malloc(sizeof(float) * cout);
	int8_t *xq = malloc((size_t)cin * px), *wq = malloc((size_t)cout * cin);
	int16_t *packed = malloc(sizeof(int16_t) * K->q8_packed_shorts(cout, cin));
	int16_t *work = malloc(sizeof(int16_t) * K->q8_work_shorts(cin, 2));
	double *ref = malloc(sizeof(double) * ny), e;
	const float sx = 0.01f;

	aoi_rng_seed(&rng, 8);
	x = randoms(&rng, (size_t)cin * px);
	x[0] = 5.0f, x[1] = -5.0f, x[2] = 0.005f, x[3] = -0.015f; /* clamp, ties */
	bias = randoms(&rng, cout);
	for (size_t i = 0; i < (size_t)cout * cin; i++)
		wq[i] = (int8_t)aoi_rng_range(&rng, -127, 128);
	for (int co = 0; co < cout; co++)
		scale[co] = sx * (0.001f + 0.0001f * co);
	K->q8_quantize(x, (size_t)cin * px, sx, xq);
	CHECK(xq[0] == 127 && xq[1] == -127 && xq[2] == 0 && xq[3] == -2);
	K->q8_pack(wq, cout, cin, packed);
	aoi_direct_out o = {y, cout, h, w, bias, AOI_ACT_RELU, 0.0f, 0};
	K->q8_conv1x1(packed, xq, cin, scale, &o, 2, work);
	for (int co = 0; co < cout; co++)
		for (size_t p = 0; p < px; p++) {
			long long s = 0;
			for (int ci = 0; ci < cin; ci++)
				s += (long long)wq[(size_t)co * cin + ci] * xq[(size_t)ci * px + p];
			ref[(size_t)co * px + p] = fmax(0.0, (double)s * scale[co] + bias[co]);
		}
	e = rel_error(y, ref, ny);
	CHECK_MSG(e < 1e-6, "%s int8 pointwise %d->%d: off by %g", K->name, cin, cout, e);
	free(x), free(bias), free(y), free(scale), free(xq), free(wq), free(packed), free(work);
	free(ref);
}

static void check_level(const aoi_kernels *K)
{
	check_int8(K, 37, 13, 9, 11);
	check_int8(K, 64, 24, 16, 17);
	check_gemm(K, 24, 144, 16, 16);
	check_gemm(K, 37, 13, 9, 11);
	check_gemm(K, 3, 2, 1, 5);
	check_winograd(K, 16, 16, 19, 23, 3, 1);
	check_winograd(K, 20, 13, 40, 70, 3, 1);  /* ragged channels, side-by-side tiles */
	check_winograd(K, 24, 33, 9, 150, 3, 0);
	check_winograd(K, 17, 18, 21, 22, 5, 2);
	check_direct(K, 16, 2, 33, 70, 3);        /* few outputs: the narrow tile */
	check_direct(K, 5, 19, 17, 41, 3);        /* wide tiles, a ragged block */
	check_direct(K, 3, 8, 12, 29, 5);
	check_weight_grads(K, 6, 5, 13, 37, 3);
	check_weight_grads(K, 18, 70, 12, 20, 3);
	check_weight_grads(K, 4, 3, 11, 27, 5);
	check_dw3(K, 5, 17, 35);
}

int main(int argc, char **argv)
{
	int levels = 0;

	if (argc > 1 && strcmp(argv[1], "lower") == 0) {
		for (int l = 0; l < (int)aoi_nn_isa_cpu(); l++)
			if (aoi_nn_kernels_at(l))
				printf("%s\n", aoi_nn_isa_level_name(l));
		return 0;
	}
	for (int l = 0; l < AOI_ISA_COUNT; l++) {
		const aoi_kernels *K = aoi_nn_kernels_at(l);

		if (!K)
			continue;
		check_level(K);
		levels++;
	}
#ifdef WIDE16
	if (aoi_nn_kernels_at(AOI_ISA_AVX2)) {
		check_level(&wide16_kernels);
		levels++;
	}
#endif
	CHECK(levels >= 1);
	CHECK(aoi_nn_kernels_at(AOI_ISA_BASELINE) != NULL);
	printf("levels run: %d, best: %s, active: %s\n", levels, aoi_nn_kernel_best(),
	       aoi_nn_kernel_level());
	return check_done();
}
