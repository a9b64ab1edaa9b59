/* body_direct.h, part of one kernel level (isa.h): direct stride-1
 * convolution on a zero-padded NCHW image. A tile is a few vectors of
 * output pixels of one row times a block of output channels; its
 * accumulators stay in vector registers while the loop runs over input
 * channels and taps, each tap one unaligned load per vector of input
 * pixels and one multiply-add per output channel and vector with the
 * weight broadcast. No im2col: for the high-resolution, few-channel
 * layers of a U-Net decoder this beats sgemm, whose M (= output
 * channels) is too small to keep it busy. */
/* Tiles: DC output channels by DV vectors of pixels, and for few outputs
 * (fewer than DC_MIN) DS channels by DSV vectors; the accumulators, the
 * pixel vectors and one broadcast weight fit in the register file (16
 * registers below AVX-512, and without FMA a product needs one more). */
#if VW >= 16
#define DC 16
#define DV 1
#define DS 4
#define DSV 1
#define DC_MIN 8
#elif VW == 8
#define DC 4
#define DV 3
#define DS 2
#define DSV 4
#define DC_MIN 4
#else
#define DC 4
#define DV 2
#define DS 2
#define DSV 4
#define DC_MIN 4
#endif
/* the widest tile, in pixels: how far a row's last tile may read */
#define PX ((DV > DSV ? DV : DSV) * VW)

static int direct_cb(int cout)
{
	return cout >= DC_MIN ? DC : DS;
}

static size_t direct_packed_floats(int cout, int cin, int k)
{
	int cb = direct_cb(cout);
	return (size_t)(cout + cb - 1) / cb * cb * cin * k * k;
}

static size_t direct_padded_floats(int c, int h, int w, int p)
{
	return (size_t)c * (h + 2 * p) * (w + 2 * p) + 2 * PX;
}

/* Weights [co][ci][ky][kx] (flip: rotated 180 degrees, and [ci][co] when
 * transposed) into blocks [co/cb][ci][ky][kx][cb], zero past cout. */
static void direct_pack(const float *w, int cout, int cin, int k, int transpose,
			float *packed)
{
	int cb = direct_cb(cout), kk = k * k;
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

static void direct_pad(const float *x, int c, int h, int w, int p, float *xp)
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

/* Write a tile's lanes [0, n) of channel rows (px apart in lane), with
 * bias, activation or accumulation. */
static void store_tile(float *lane, int px, int cvalid, int n,
		       const aoi_direct_out *o, int co0, int oy, int ox)
{
	for (int j = 0; j < cvalid; j++, lane += px) {
		float *dst = o->y + ((size_t)(co0 + j) * o->oh + oy) * o->ow + ox;

		if (o->accumulate) {
			for (int i = 0; i < n; i++)
				dst[i] += lane[i];
			continue;
		}
		if (o->bias)
			for (int i = 0; i < n; i++)
				lane[i] += o->bias[co0 + j];
		act_row(lane, n, o->act, o->alpha);
		memcpy(dst, lane, sizeof(float) * n);
	}
}

/* The tile loops, one copy per shape so that the accumulators are
 * registers: CB channels by NV vectors of pixels, into out[CB][NV VW]. */
#define DIRECT_TILE(NAME, CB, NV)                                                \
	static void NAME(const float *x, size_t plane, int wp, const float *w,   \
			 int cin, int k, int d, float *out)                      \
	{                                                                        \
		vf acc[CB][NV];                                                  \
		for (int j = 0; j < CB; j++)                                     \
			for (int v = 0; v < NV; v++)                             \
				acc[j][v] = (vf){0};                             \
		for (int ci = 0; ci < cin; ci++) {                               \
			const float *xc = x + ci * plane;                        \
			/* the rows two channels ahead: they are in L2 at   \
			 * best, and the loads below wait on them */         \
			for (int ky = 0; ky < k; ky++) {                         \
				const float *ahead = xc + 2 * plane + (size_t)ky * d * wp; \
				__builtin_prefetch(ahead);                       \
				__builtin_prefetch(ahead + NV * VW + (k - 1) * d); \
			}                                                        \
			for (int ky = 0; ky < k; ky++) {                         \
				const float *row = xc + (size_t)ky * d * wp;     \
				for (int kx = 0; kx < k; kx++, w += CB) {        \
					vf xv[NV];                               \
					for (int v = 0; v < NV; v++)             \
						xv[v] = *(const vfu *)(row + kx * d + v * VW); \
					for (int j = 0; j < CB; j++)             \
						for (int v = 0; v < NV; v++)     \
							acc[j][v] += w[j] * xv[v]; \
				}                                                \
			}                                                        \
		}                                                                \
		for (int j = 0; j < CB; j++)                                     \
			for (int v = 0; v < NV; v++)                             \
				memcpy(out + (j * NV + v) * VW, &acc[j][v], sizeof(vf)); \
	}

DIRECT_TILE(tile_big, DC, DV)
DIRECT_TILE(tile_small, DS, DSV)

static void direct_conv(const float *xp, int cin, int hp, int wp,
			const float *packed, int k, int d, const aoi_direct_out *o)
{
	int cb = direct_cb(o->cout), nb = (o->cout + cb - 1) / cb;
	int px = (cb == DC ? DV : DSV) * VW, tiles = (o->ow + px - 1) / px;
	size_t plane = (size_t)hp * wp, wblock = (size_t)cin * k * k * cb;

#pragma omp parallel for collapse(2) schedule(static)
	for (int b = 0; b < nb; b++)
		for (int oy = 0; oy < o->oh; oy++) {
			int cvalid = o->cout - b * cb < cb ? o->cout - b * cb : cb;
			for (int t = 0; t < tiles; t++) {
				float lane[(DC * DV > DS * DSV ? DC * DV : DS * DSV) * VW];
				int ox = t * px, n = o->ow - ox < px ? o->ow - ox : px;
				const float *x = xp + (size_t)oy * wp + ox;

				if (cb == DC)
					tile_big(x, plane, wp, packed + b * wblock, cin, k, d,
						 lane);
				else
					tile_small(x, plane, wp, packed + b * wblock, cin, k,
						   d, lane);
				store_tile(lane, px, cvalid, n, o, b * cb, oy, ox);
			}
		}
}

static float hsum(const vf *v)
{
	float lane[VW], s = 0.0f;

	memcpy(lane, v, sizeof lane);
	for (int i = 0; i < VW; i++)
		s += lane[i];
	return s;
}

/* One input channel, four output channels, one tap, rows [oy0, oy1):
 * sums over whole vectors in registers, the ragged right edge in
 * scalars; added to dw[j * stride]. */
static void wgrad4(const float *x, int wp, const float *const *dy, int ow, int oy0,
		   int oy1, float *dw, size_t stride)
{
	vf acc[4];
	float edge[4] = {0};
	int full = ow / VW * VW;

	for (int j = 0; j < 4; j++)
		acc[j] = (vf){0};
	for (int oy = oy0; oy < oy1; oy++) {
		const float *xr = x + (size_t)oy * wp;
		size_t o = (size_t)oy * ow;

		for (int ox = 0; ox < full; ox += VW) {
			vf xv = *(const vfu *)(xr + ox);
			for (int j = 0; j < 4; j++)
				acc[j] += *(const vfu *)(dy[j] + o + ox) * xv;
		}
		for (int ox = full; ox < ow; ox++)
			for (int j = 0; j < 4; j++)
				edge[j] += dy[j][o + ox] * xr[ox];
	}
	for (int j = 0; j < 4; j++)
		dw[j * stride] += hsum(&acc[j]) + edge[j];
}

static void direct_weight_grad(const float *xp, int cin, int hp, int wp,
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

/* Output channels the 3x3 weight gradient takes at once: two share each
 * load of x with AVX-512's 32 registers (18 accumulators); below it one
 * (9 accumulators, a load of dy and nine of x per nine multiply-adds). */
#define WG3 (VW >= 16 ? 2 : 1)

/* 3x3 weight gradient of one input channel for WG3 output channels
 * (gradients g[c]), all nine taps at once over rows [oy0, oy1):
 * sums[9 c + t] gets channel c's tap t. */
static void wgrad3_block(const float *x, int wp, int d, const float *const *g,
			 int ow, int oy0, int oy1, float *sums)
{
	vf acc[WG3][9];
	float edge[WG3][9] = {{0}};
	int full = ow / VW * VW;

	for (int c = 0; c < WG3; c++)
		for (int t = 0; t < 9; t++)
			acc[c][t] = (vf){0};
	for (int oy = oy0; oy < oy1; oy++) {
		const float *r[3] = {x + (size_t)oy * wp, x + (size_t)(oy + d) * wp,
				     x + (size_t)(oy + 2 * d) * wp};
		size_t o = (size_t)oy * ow;

		for (int ox = 0; ox < full; ox += VW) {
			vf dv[WG3];
			for (int c = 0; c < WG3; c++)
				dv[c] = *(const vfu *)(g[c] + o + ox);
			for (int t = 0; t < 9; t++) {
				vf xv = *(const vfu *)(r[t / 3] + ox + t % 3 * d);
#ifdef __AVX512F__
				/* one load for both channels: without this the
				 * compiler folds the load into each multiply-add */
				__asm__("" : "+v"(xv));
#endif
				for (int c = 0; c < WG3; c++)
					acc[c][t] += dv[c] * xv;
			}
		}
		for (int ox = full; ox < ow; ox++)
			for (int t = 0; t < 9; t++) {
				float xv = r[t / 3][ox + t % 3 * d];
				for (int c = 0; c < WG3; c++)
					edge[c][t] += g[c][o + ox] * xv;
			}
	}
	for (int c = 0; c < WG3; c++)
		for (int t = 0; t < 9; t++)
			sums[9 * c + t] = hsum(&acc[c][t]) + edge[c][t];
}

static void direct_weight_grad3(const float *xp, int cin, int hp, int wp,
				const float *dy, int cout, int oh, int ow, int d,
				float *dw)
{
	size_t plane = (size_t)hp * wp, oplane = (size_t)oh * ow;
	/* a band of rows of dy and x (about 1 MB) stays in L2 while every
	 * channel block passes over it */
	size_t per_row = (size_t)cout * ow + (size_t)cin * wp;
	int rows = (int)((size_t)(1 << 18) / per_row);

	rows = rows < 1 ? 1 : rows;
	for (int oy0 = 0; oy0 < oh; oy0 += rows) {
		int oy1 = oy0 + rows < oh ? oy0 + rows : oh;

		/* threads by input channel: each dw entry has one writer */
#pragma omp parallel for schedule(static)
		for (int ci = 0; ci < cin; ci++)
			for (int co = 0; co < cout; co += WG3) {
				const float *g[WG3];
				float s[9 * WG3];

				for (int c = 0; c < WG3; c++) /* past cout: a repeat, unused */
					g[c] = dy + (size_t)(co + c < cout ? co + c : co) * oplane;
				wgrad3_block(xp + ci * plane, wp, d, g, ow, oy0, oy1, s);
				for (int c = 0; c < WG3 && co + c < cout; c++)
					for (int t = 0; t < 9; t++)
						dw[((size_t)(co + c) * cin + ci) * 9 + t] += s[9 * c + t];
			}
	}
}
