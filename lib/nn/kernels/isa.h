/* isa.h: private to lib/nn. The numeric kernels exist once per x86-64
 * level: the same sources (body_*.h) compiled for baseline x86-64 (SSE2;
 * every other CPU), for AVX2 with FMA, and for AVX-512 (isa_base.c,
 * isa_avx2.c, isa_avx512.c; the Makefile gives the last two their -m
 * flags). Each fills one table of function pointers; the kernels' entry
 * points (kernels.h, kernels_direct.h, kernels_winograd.h) call through
 * the table of the best level this CPU has, or the level AOI_ISA names
 * when that is lower. The choice is fixed for a process: buffer sizes
 * (packed weights, scratch) depend on the level's register blocking, and
 * a net plans them once. Tests call each level's table directly. */
#ifndef AOI_NN_KERNELS_ISA_H
#define AOI_NN_KERNELS_ISA_H

#include <stddef.h>
#include <stdint.h>

#include "nn/kernels/kernels.h"
#include "nn/kernels/kernels_direct.h"
#include "nn/kernels/kernels_winograd.h"

enum aoi_isa {
	AOI_ISA_BASELINE, /* x86-64 (SSE2), or whatever the compiler targets */
	AOI_ISA_AVX2,     /* AVX2 and FMA */
	AOI_ISA_AVX512,   /* AVX-512 F, BW, DQ, VL */
	AOI_ISA_COUNT
};

typedef struct aoi_kernels {
	int built; /* 0: this level was not compiled in (not x86-64) */
	const char *name;
	/* kernels.h */
	void (*dw_forward)(const float *x, const float *wt, const float *bias, float *y,
			   int cout, int mult, const aoi_conv_geom *g, enum aoi_act act,
			   float alpha);
	void (*dw_backward)(const float *x, const float *wt, const float *dy, float *dx,
			    float *dw, int cout, int mult, const aoi_conv_geom *g);
	void (*dw3_backward)(const float *x, const float *wt, const float *dy, float *dx,
			     float *dw, int c, int h, int w, float *work);
	void (*dw3_forward)(const float *x, const float *wt, const float *bias, float *y,
			    int c, int h, int w, enum aoi_act act, float alpha, float *work);
	void (*dw3s2_backward)(const float *x, const float *wt, const float *dy,
			       float *dx, float *dw, int c, int h, int w, float *work);
	void (*act_row)(float *y, size_t n, enum aoi_act act, float alpha);
	void (*act_forward)(float *y, size_t n, enum aoi_act act, float alpha);
	void (*act_backward)(const float *y, const float *dy, float *dx, size_t n,
			     enum aoi_act act, float alpha);
	void (*bias_act)(float *y, int c, size_t hw, const float *bias, enum aoi_act act,
			 float alpha);
	void (*bias_grad)(const float *dy, int c, size_t hw, float *db);
	void (*accumulate)(float *dst, const float *src, size_t n);
	/* kernels_direct.h */
	size_t (*direct_packed_floats)(int cout, int cin, int k);
	size_t (*direct_padded_floats)(int c, int h, int w, int p);
	void (*direct_pack)(const float *w, int cout, int cin, int k, int transpose,
			    float *packed);
	void (*direct_pad)(const float *x, int c, int h, int w, int p, float *xp);
	void (*direct_conv)(const float *xp, int cin, int hp, int wp, const float *packed,
			    int k, int d, const aoi_direct_out *o);
	void (*direct_weight_grad)(const float *xp, int cin, int hp, int wp,
				   const float *dy, int cout, int oh, int ow, int k, int d,
				   float *dw);
	void (*direct_weight_grad3)(const float *xp, int cin, int hp, int wp,
				    const float *dy, int cout, int oh, int ow, int d,
				    float *dw);
	size_t (*gemm_packed_floats)(int cout, int cin);
	void (*gemm_pack)(const float *w, int cout, int cin, float *packed);
	size_t (*gemm_work_floats)(int cin, int threads);
	void (*gemm_conv1x1)(const float *packed, const float *x, int cin,
			     const aoi_direct_out *o, int threads, float *work);
	/* int8 pointwise convolution (body_int8.h; no entry point yet) */
	size_t (*q8_packed_shorts)(int cout, int cin);
	size_t (*q8_work_shorts)(int cin, int threads);
	void (*q8_pack)(const int8_t *w, int cout, int cin, int16_t *packed);
	void (*q8_quantize)(const float *x, size_t n, float scale, int8_t *q);
	void (*q8_conv1x1)(const int16_t *packed, const int8_t *x, int cin,
			   const float *scale, const aoi_direct_out *o, int threads,
			   int16_t *work);
	/* kernels_winograd.h */
	size_t (*winograd_filter_floats)(int cout, int cin, int k);
	void (*winograd_filter)(const float *w, int cout, int cin, int k, int transpose,
				float *u);
	size_t (*winograd_work_floats)(int cout, int cin, int threads);
	void (*winograd_conv)(const aoi_wino_job *j, const float *u, int threads,
			      float *work);
	size_t (*winograd_wgrad_floats)(int cout, int cin, int k, int n, int oh, int ow);
	void (*winograd_weight_grad)(const aoi_wino_job *j, float *dw, float *work);
} aoi_kernels;

extern const aoi_kernels aoi_nn_kernels_base, aoi_nn_kernels_avx2,
	aoi_nn_kernels_avx512;

/* The best level this CPU runs and this build has. */
enum aoi_isa aoi_nn_isa_cpu(void);
/* That, or the lower level AOI_ISA names (an unknown name: the CPU's). */
enum aoi_isa aoi_nn_isa_active(void);
/* A level's table; NULL when it was not built or this CPU lacks it. */
const aoi_kernels *aoi_nn_kernels_at(enum aoi_isa level);
/* The active level's table. */
const aoi_kernels *aoi_nn_kernels(void);
const char *aoi_nn_isa_level_name(enum aoi_isa level);

#endif
