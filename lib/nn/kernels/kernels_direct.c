/* kernels_direct.c: direct stride-1 convolution on a zero-padded NCHW
 * image. A tile is 16 output pixels of one row times a block of output
 * channels; its accumulators stay in vector registers while the loop runs
 * over input channels and taps, each tap one unaligned load of 16 input
 * pixels and one multiply-add per output channel with the weight
 * broadcast. No im2col: for the high-resolution, few-channel layers of a
 * U-Net decoder this beats sgemm, whose M (= output channels) is too small
 * to keep it busy. */
#include "nn/kernels/kernels_direct.h"

/* -std=c11 turns off contracting a * b + c into one fused multiply-add;
 * the tiles are nothing but those. */
#pragma GCC optimize("fp-contract=fast")

#include <string.h>

#define PX 16
typedef float vpx __attribute__((vector_size(PX * sizeof(float))));
typedef float vpx_u __attribute__((vector_size(PX * sizeof(float)), aligned(4)));

size_t aoi_nn_direct_packed_floats(int cout, int cin, int k)
{
	int cb = cout >= 8 ? 16 : 4;
	return (size_t)(cout + cb - 1) / cb * cb * cin * k * k;
}

size_t aoi_nn_direct_padded_floats(int c, int h, int w, int p)
{
	return (size_t)c * (h + 2 * p) * (w + 2 * p) + 2 * PX;
}

/* Weights [co][ci][ky][kx] (flip: rotated 180 degrees, and [ci][co] when
 * transposed) into blocks [co/cb][ci][ky][kx][cb], zero past cout. */
void aoi_nn_direct_pack(const float *w, int cout, int cin, int k, int transpose,
			float *packed)
{
	int cb = cout >= 8 ? 16 : 4, kk = k * k;
	int nb = (cout + cb - 1) / cb;

	for (int b = 0; b < nb; b++)
		for (int ci = 0; ci < cin; ci++)
			for (int t = 0; t < kk; t++) {
				float *dst = packed + (((size_t)b * cin + ci) * kk + t) * cb;
				for (int j = 0; j < cb; j++) {
					int co = b * cb + j;
					float v = 0.0f;
					if (co < cout && !transpose)
						v = w[((size_t)co * cin + ci) * kk + t];
					else if (co < cout) /* w is [ci][co] here, flipped */
						v = w[((size_t)ci * cout + co) * kk + (kk - 1 - t)];
					dst[j] = v;
				}
			}
}

void aoi_nn_direct_pad(const float *x, int c, int h, int w, int p, float *xp)
{
	int hp = h + 2 * p, wp = w + 2 * p;

#pragma omp parallel for schedule(static) if (c >= 4 && (size_t)h * w >= 1024)
	for (int ci = 0; ci < c; ci++) {
		float *dst = xp + (size_t)ci * hp * wp;
		const float *src = x + (size_t)ci * h * w;

		memset(dst, 0, sizeof(float) * (size_t)p * wp);
		for (int y = 0; y < h; y++) {
			float *row = dst + (size_t)(y + p) * wp;
			memset(row, 0, sizeof(float) * p);
			memcpy(row + p, src + (size_t)y * w, sizeof(float) * w);
			memset(row + p + w, 0, sizeof(float) * p);
		}
		memset(dst + (size_t)(h + p) * wp, 0, sizeof(float) * (size_t)p * wp);
	}
	/* the last tile of the last row may read past the image */
	memset(xp + (size_t)c * hp * wp, 0, sizeof(float) * 2 * PX);
}

/* Write a tile's lanes [0, n) of channel rows, with bias, activation or
 * accumulation. */
static void store_tile(const vpx *acc, int cb, int cvalid, int n,
		       const aoi_direct_out *o, int co0, int oy, int ox)
{
	for (int j = 0; j < cvalid; j++) {
		float lane[PX];
		float *dst = o->y + ((size_t)(co0 + j) * o->oh + oy) * o->ow + ox;

		memcpy(lane, &acc[j], sizeof lane);
		if (o->accumulate) {
			for (int i = 0; i < n; i++)
				dst[i] += lane[i];
			continue;
		}
		if (o->bias)
			for (int i = 0; i < PX; i++)
				lane[i] += o->bias[co0 + j];
		aoi_nn_act_row(lane, PX, o->act, o->alpha);
		memcpy(dst, lane, sizeof(float) * n);
	}
	(void)cb;
}

/* The tile loops, one copy per channel block size so that the
 * accumulators are registers. */
#define DIRECT_TILE(CB)                                                          \
	static void tile##CB(const float *x, size_t plane, int wp, const float *w, \
			     int cin, int k, int d, vpx *out)                      \
	{                                                                        \
		vpx acc[CB];                                                     \
		for (int j = 0; j < CB; j++)                                     \
			acc[j] = (vpx){0};                                       \
		for (int ci = 0; ci < cin; ci++) {                               \
			const float *xc = x + ci * plane;                        \
			/* the rows two channels ahead: they are in L2 at   \
			 * best, and the loads below wait on them */         \
			for (int ky = 0; ky < k; ky++) {                         \
				const float *ahead = xc + 2 * plane + (size_t)ky * d * wp; \
				__builtin_prefetch(ahead);                       \
				__builtin_prefetch(ahead + PX + (k - 1) * d);    \
			}                                                        \
			for (int ky = 0; ky < k; ky++) {                         \
				const float *row = xc + (size_t)ky * d * wp;     \
				for (int kx = 0; kx < k; kx++, w += CB) {        \
					vpx xv = *(const vpx_u *)(row + kx * d); \
					for (int j = 0; j < CB; j++)             \
						acc[j] += w[j] * xv;             \
				}                                                \
			}                                                        \
		}                                                                \
		for (int j = 0; j < CB; j++)                                     \
			out[j] = acc[j];                                         \
	}

DIRECT_TILE(16)
DIRECT_TILE(4)

void aoi_nn_direct_conv(const float *xp, int cin, int hp, int wp,
			const float *packed, int k, int d, const aoi_direct_out *o)
{
	int cb = o->cout >= 8 ? 16 : 4, nb = (o->cout + cb - 1) / cb;
	size_t plane = (size_t)hp * wp, wblock = (size_t)cin * k * k * cb;
	int tiles = (o->ow + PX - 1) / PX;

#pragma omp parallel for collapse(2) schedule(static)
	for (int b = 0; b < nb; b++)
		for (int oy = 0; oy < o->oh; oy++) {
			int cvalid = o->cout - b * cb < cb ? o->cout - b * cb : cb;
			for (int t = 0; t < tiles; t++) {
				vpx acc[16];
				int ox = t * PX, n = o->ow - ox < PX ? o->ow - ox : PX;
				const float *x = xp + (size_t)oy * wp + ox;

				if (cb == 16)
					tile16(x, plane, wp, packed + b * wblock, cin, k, d, acc);
				else
					tile4(x, plane, wp, packed + b * wblock, cin, k, d, acc);
				store_tile(acc, cb, cvalid, n, o, b * cb, oy, ox);
			}
		}
}

static float hsum(const vpx *v)
{
	float lane[PX], s = 0.0f;

	memcpy(lane, v, sizeof lane);
	for (int i = 0; i < PX; i++)
		s += lane[i];
	return s;
}

/* One input channel, one block of output channels, one tap, rows
 * [oy0, oy1): sums over whole tiles in registers, the ragged right edge in
 * scalars; added to dw[j * cin * kk]. */
#define WEIGHT_GRAD_TAP(CB)                                                      \
	static void wgrad##CB(const float *x, int wp, const float *const *dy,    \
			      int ow, int oy0, int oy1, float *dw, size_t stride)  \
	{                                                                        \
		vpx acc[CB];                                                     \
		float edge[CB] = {0};                                            \
		int full = ow / PX * PX;                                         \
		for (int j = 0; j < CB; j++)                                     \
			acc[j] = (vpx){0};                                       \
		for (int oy = oy0; oy < oy1; oy++) {                             \
			const float *xr = x + (size_t)oy * wp;                   \
			size_t o = (size_t)oy * ow;                              \
			for (int ox = 0; ox < full; ox += PX) {                  \
				vpx xv = *(const vpx_u *)(xr + ox);              \
				for (int j = 0; j < CB; j++)                     \
					acc[j] += *(const vpx_u *)(dy[j] + o + ox) * xv; \
			}                                                        \
			for (int ox = full; ox < ow; ox++)                       \
				for (int j = 0; j < CB; j++)                     \
					edge[j] += dy[j][o + ox] * xr[ox];       \
		}                                                                \
		for (int j = 0; j < CB; j++)                                     \
			dw[j * stride] += hsum(&acc[j]) + edge[j];                \
	}

WEIGHT_GRAD_TAP(4)

void aoi_nn_direct_weight_grad(const float *xp, int cin, int hp, int wp,
			       const float *dy, int cout, int oh, int ow, int k,
			       int d, float *dw)
{
	/* blocks of 4 outputs: this is for heads with few outputs (conv.c) */
	int cb = 4, nb = (cout + cb - 1) / cb, kk = k * k;
	/* a band of dy rows for one channel block stays in L1/L2 */
	int rows = (int)(12288 / ((size_t)cb * ow));
	size_t plane = (size_t)hp * wp, stride = (size_t)cin * kk;

	rows = rows < 1 ? 1 : rows;
#pragma omp parallel for schedule(dynamic, 1)
	for (int ci = 0; ci < cin; ci++) {
		/* dw scratch for the invalid channels of a ragged last block */
		float spare[4];

		for (int b = 0; b < nb; b++) {
			const float *dyp[4];
			int cvalid = cout - b * cb < cb ? cout - b * cb : cb;

			for (int j = 0; j < cb; j++)
				dyp[j] = dy + (size_t)(j < cvalid ? b * cb + j : 0) * oh * ow;
			for (int oy0 = 0; oy0 < oh; oy0 += rows) {
				int oy1 = oy0 + rows < oh ? oy0 + rows : oh;
				for (int t = 0; t < kk; t++) {
					const float *x = xp + ci * plane +
							 (size_t)(t / k) * d * wp + (t % k) * d;
					float *out = dw + (size_t)b * cb * stride + (size_t)ci * kk + t;

					if (cvalid < cb) { /* sum into spare, copy the valid */
						memset(spare, 0, sizeof spare);
						wgrad4(x, wp, dyp, ow, oy0, oy1, spare, 1);
						for (int j = 0; j < cvalid; j++)
							out[j * stride] += spare[j];
					} else {
						wgrad4(x, wp, dyp, ow, oy0, oy1, out, stride);
					}
				}
			}
		}
	}
}

/* 3x3 weight gradient of one input channel for two output channels, all
 * nine taps at once over rows [oy0, oy1): 18 vector accumulators, and per
 * 16 pixels two loads of dy and nine of x for 18 multiply-adds, where the
 * 4-channel kernel above needs five loads for four. sums[t] and
 * sums[9 + t] get the two channels' tap t. */
static void wgrad3_pair(const float *x, int wp, int d, const float *g0,
			const float *g1, int ow, int oy0, int oy1, float *sums)
{
	vpx a0[9], a1[9];
	float e0[9] = {0}, e1[9] = {0};
	int full = ow / PX * PX;

	for (int t = 0; t < 9; t++)
		a0[t] = a1[t] = (vpx){0};
	for (int oy = oy0; oy < oy1; oy++) {
		const float *r[3] = {x + (size_t)oy * wp, x + (size_t)(oy + d) * wp,
				     x + (size_t)(oy + 2 * d) * wp};
		const float *u = g0 + (size_t)oy * ow, *v = g1 + (size_t)oy * ow;

		for (int ox = 0; ox < full; ox += PX) {
			vpx du = *(const vpx_u *)(u + ox), dv = *(const vpx_u *)(v + ox);
			for (int t = 0; t < 9; t++) {
				vpx xv = *(const vpx_u *)(r[t / 3] + ox + t % 3 * d);
#ifdef __AVX512F__
				/* one load for both channels: without this the
				 * compiler folds the load into each multiply-add
				 * (xv is one zmm register only with AVX-512) */
				__asm__("" : "+v"(xv));
#endif
				a0[t] += du * xv;
				a1[t] += dv * xv;
			}
		}
		for (int ox = full; ox < ow; ox++)
			for (int t = 0; t < 9; t++) {
				float xv = r[t / 3][ox + t % 3 * d];
				e0[t] += u[ox] * xv;
				e1[t] += v[ox] * xv;
			}
	}
	for (int t = 0; t < 9; t++) {
		sums[t] = hsum(&a0[t]) + e0[t];
		sums[9 + t] = hsum(&a1[t]) + e1[t];
	}
}

void aoi_nn_direct_weight_grad3(const float *xp, int cin, int hp, int wp,
				const float *dy, int cout, int oh, int ow, int d,
				float *dw)
{
	size_t plane = (size_t)hp * wp, oplane = (size_t)oh * ow;
	/* a band of rows of dy and x (about 1 MB) stays in L2 while every
	 * channel pair passes over it */
	size_t per_row = (size_t)cout * ow + (size_t)cin * wp;
	int rows = (int)((size_t)(1 << 18) / per_row);

	rows = rows < 1 ? 1 : rows;
	for (int oy0 = 0; oy0 < oh; oy0 += rows) {
		int oy1 = oy0 + rows < oh ? oy0 + rows : oh;

		/* threads by input channel: each dw entry has one writer */
#pragma omp parallel for schedule(static)
		for (int ci = 0; ci < cin; ci++)
			for (int co = 0; co < cout; co += 2) {
				const float *g0 = dy + co * oplane;
				int two = co + 1 < cout;
				float s[18];

				wgrad3_pair(xp + ci * plane, wp, d, g0, two ? g0 + oplane : g0,
					    ow, oy0, oy1, s);
				for (int t = 0; t < 9; t++) {
					dw[((size_t)co * cin + ci) * 9 + t] += s[t];
					if (two)
						dw[((size_t)(co + 1) * cin + ci) * 9 + t] += s[9 + t];
				}
			}
	}
}
