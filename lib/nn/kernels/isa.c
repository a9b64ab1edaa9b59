/* isa.c: which kernel level runs (isa.h), and the kernels' entry points,
 * each a call through that level's table. */
#include "nn/kernels/isa.h"

#include <stdlib.h>
#include <string.h>

#include "nn/cpu.h"

static const char *const level_names[AOI_ISA_COUNT] = {"baseline", "avx2", "avx512"};

const char *aoi_nn_isa_level_name(enum aoi_isa level)
{
	return level >= 0 && level < AOI_ISA_COUNT ? level_names[level] : "?";
}

static const aoi_kernels *table(enum aoi_isa level)
{
	switch (level) {
	case AOI_ISA_AVX512:
		return &aoi_nn_kernels_avx512;
	case AOI_ISA_AVX2:
		return &aoi_nn_kernels_avx2;
	default:
		return &aoi_nn_kernels_base;
	}
}

/* What the CPU (and the OS, for the wider registers' state) supports;
 * libgcc asked CPUID once at start-up. */
static int cpu_has(enum aoi_isa level)
{
#if defined(__x86_64__) || defined(__i386__)
	switch (level) {
	case AOI_ISA_AVX512:
		return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		       __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
		       cpu_has(AOI_ISA_AVX2);
	case AOI_ISA_AVX2:
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	default:
		return 1;
	}
#else
	return level == AOI_ISA_BASELINE;
#endif
}

enum aoi_isa aoi_nn_isa_cpu(void)
{
	int best = AOI_ISA_BASELINE;

	for (int l = AOI_ISA_BASELINE + 1; l < AOI_ISA_COUNT; l++)
		if (table(l)->built && cpu_has(l))
			best = l;
	return best;
}

/* The level AOI_ISA names, or -1. */
static int env_level(void)
{
	const char *s = getenv("AOI_ISA");

	for (int l = 0; s && l < AOI_ISA_COUNT; l++)
		if (strcmp(s, level_names[l]) == 0)
			return l;
	return -1;
}

enum aoi_isa aoi_nn_isa_active(void)
{
	int best = aoi_nn_isa_cpu(), want = env_level();

	return want >= 0 && want < best ? want : best;
}

const aoi_kernels *aoi_nn_kernels_at(enum aoi_isa level)
{
	if (level < 0 || level >= AOI_ISA_COUNT || !table(level)->built || !cpu_has(level))
		return NULL;
	return table(level);
}

const aoi_kernels *aoi_nn_kernels(void)
{
	return table(aoi_nn_isa_active());
}

const char *aoi_nn_kernel_level(void)
{
	return level_names[aoi_nn_isa_active()];
}

const char *aoi_nn_kernel_best(void)
{
	return level_names[aoi_nn_isa_cpu()];
}

int aoi_nn_kernel_env_check(aoi_error *err)
{
	const char *s = getenv("AOI_ISA");

	if (!s || env_level() >= 0)
		return 0;
	return aoi_error_set(err, AOI_EINVAL, NULL, 0,
			     "AOI_ISA='%s': expected baseline, avx2 or avx512", s);
}

/* ---- the entry points ---- */

void aoi_nn_dw_forward(const float *x, const float *wt, const float *bias, float *y,
		       int cout, int mult, const aoi_conv_geom *g, enum aoi_act act,
		       float alpha)
{
	aoi_nn_kernels()->dw_forward(x, wt, bias, y, cout, mult, g, act, alpha);
}

void aoi_nn_dw_backward(const float *x, const float *wt, const float *dy, float *dx,
			float *dw, int cout, int mult, const aoi_conv_geom *g)
{
	aoi_nn_kernels()->dw_backward(x, wt, dy, dx, dw, cout, mult, g);
}

void aoi_nn_dw3_backward(const float *x, const float *wt, const float *dy, float *dx,
			 float *dw, int c, int h, int w, float *work)
{
	aoi_nn_kernels()->dw3_backward(x, wt, dy, dx, dw, c, h, w, work);
}

void aoi_nn_dw3_forward(const float *x, const float *wt, const float *bias, float *y,
			int c, int h, int w, enum aoi_act act, float alpha, float *work)
{
	aoi_nn_kernels()->dw3_forward(x, wt, bias, y, c, h, w, act, alpha, work);
}

void aoi_nn_dw3s2_backward(const float *x, const float *wt, const float *dy,
			   float *dx, float *dw, int c, int h, int w, float *work)
{
	aoi_nn_kernels()->dw3s2_backward(x, wt, dy, dx, dw, c, h, w, work);
}

void aoi_nn_act_row(float *y, size_t n, enum aoi_act act, float alpha)
{
	aoi_nn_kernels()->act_row(y, n, act, alpha);
}

void aoi_nn_act_forward(float *y, size_t n, enum aoi_act act, float alpha)
{
	aoi_nn_kernels()->act_forward(y, n, act, alpha);
}

void aoi_nn_act_backward(const float *y, const float *dy, float *dx, size_t n,
			 enum aoi_act act, float alpha)
{
	aoi_nn_kernels()->act_backward(y, dy, dx, n, act, alpha);
}

void aoi_nn_bias_act(float *y, int c, size_t hw, const float *bias, enum aoi_act act,
		     float alpha)
{
	aoi_nn_kernels()->bias_act(y, c, hw, bias, act, alpha);
}

void aoi_nn_bias_grad(const float *dy, int c, size_t hw, float *db)
{
	aoi_nn_kernels()->bias_grad(dy, c, hw, db);
}

void aoi_nn_accumulate(float *dst, const float *src, size_t n)
{
	aoi_nn_kernels()->accumulate(dst, src, n);
}

size_t aoi_nn_direct_packed_floats(int cout, int cin, int k)
{
	return aoi_nn_kernels()->direct_packed_floats(cout, cin, k);
}

size_t aoi_nn_direct_padded_floats(int c, int h, int w, int p)
{
	return aoi_nn_kernels()->direct_padded_floats(c, h, w, p);
}

void aoi_nn_direct_pack(const float *w, int cout, int cin, int k, int transpose,
			float *packed)
{
	aoi_nn_kernels()->direct_pack(w, cout, cin, k, transpose, packed);
}

void aoi_nn_direct_pad(const float *x, int c, int h, int w, int p, float *xp)
{
	aoi_nn_kernels()->direct_pad(x, c, h, w, p, xp);
}

void aoi_nn_direct_conv(const float *xp, int cin, int hp, int wp, const float *packed,
			int k, int d, const aoi_direct_out *o)
{
	aoi_nn_kernels()->direct_conv(xp, cin, hp, wp, packed, k, d, o);
}

void aoi_nn_direct_weight_grad(const float *xp, int cin, int hp, int wp,
			       const float *dy, int cout, int oh, int ow, int k, int d,
			       float *dw)
{
	aoi_nn_kernels()->direct_weight_grad(xp, cin, hp, wp, dy, cout, oh, ow, k, d, dw);
}

void aoi_nn_direct_weight_grad3(const float *xp, int cin, int hp, int wp,
				const float *dy, int cout, int oh, int ow, int d, float *dw)
{
	aoi_nn_kernels()->direct_weight_grad3(xp, cin, hp, wp, dy, cout, oh, ow, d, dw);
}

size_t aoi_nn_gemm_packed_floats(int cout, int cin)
{
	return aoi_nn_kernels()->gemm_packed_floats(cout, cin);
}

void aoi_nn_gemm_pack(const float *w, int cout, int cin, float *packed)
{
	aoi_nn_kernels()->gemm_pack(w, cout, cin, packed);
}

size_t aoi_nn_gemm_work_floats(int cin, int threads)
{
	return aoi_nn_kernels()->gemm_work_floats(cin, threads);
}

void aoi_nn_gemm_conv1x1(const float *packed, const float *x, int cin,
			 const aoi_direct_out *o, int threads, float *work)
{
	aoi_nn_kernels()->gemm_conv1x1(packed, x, cin, o, threads, work);
}

size_t aoi_nn_winograd_filter_floats(int cout, int cin, int k)
{
	return aoi_nn_kernels()->winograd_filter_floats(cout, cin, k);
}

void aoi_nn_winograd_filter(const float *w, int cout, int cin, int k, int transpose,
			    float *u)
{
	aoi_nn_kernels()->winograd_filter(w, cout, cin, k, transpose, u);
}

size_t aoi_nn_winograd_work_floats(int cout, int cin, int threads)
{
	return aoi_nn_kernels()->winograd_work_floats(cout, cin, threads);
}

void aoi_nn_winograd_conv(const aoi_wino_job *j, const float *u, int threads,
			  float *work)
{
	aoi_nn_kernels()->winograd_conv(j, u, threads, work);
}

size_t aoi_nn_winograd_wgrad_floats(int cout, int cin, int k, int n, int oh, int ow)
{
	return aoi_nn_kernels()->winograd_wgrad_floats(cout, cin, k, n, oh, ow);
}

void aoi_nn_winograd_weight_grad(const aoi_wino_job *j, float *dw, float *work)
{
	aoi_nn_kernels()->winograd_weight_grad(j, dw, work);
}
