/* body_int8.h, part of one kernel level (isa.h): the pointwise
 * convolution in 8-bit integers, y = s[co] (Wq xq) + bias, activation, for
 * weights quantized per output channel and activations per tensor, both
 * symmetric (int8 in [-127, 127]). Products are summed exactly in 32-bit
 * integers by pmaddwd (two 16-bit products a lane, added): the 8-bit
 * values are widened to 16 bits on packing, since the byte form (pmaddubsw)
 * saturates its 16-bit pair sums. That is 2 VW multiply-adds an
 * instruction against VW for a float FMA. AVX-512 VNNI (vpdpbusd) would do
 * four times more; this level does not use it (not testable here).
 *
 * Layout: weights in blocks of GR rows, [block][ci / 2][GR][2] int16
 * (zero past cout and past an odd cin), so that one 32-bit broadcast is a
 * row's pair of channels; a thread's panel of activations is
 * [ci / 2][GP][2] int16, a pair of channels per pixel. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

typedef short vq16 __attribute__((vector_size(VW * 4)));

/* acc lane i += a[2i] b[2i] + a[2i+1] b[2i+1], 32-bit (vectors through
 * pointers: passed by value, 64-byte ones change the ABI without
 * AVX-512). */
static inline void madd16(vfi *acc, const vq16 *a, const vq16 *b)
{
#if VW >= 16 && defined(__AVX512BW__)
	*acc += (vfi)_mm512_madd_epi16((__m512i)*a, (__m512i)*b);
#elif VW == 8
	*acc += (vfi)_mm256_madd_epi16((__m256i)*a, (__m256i)*b);
#elif defined(__SSE2__) && VW == 4
	*acc += (vfi)_mm_madd_epi16((__m128i)*a, (__m128i)*b);
#else /* another architecture, or test_nn_kernels' VW 16 without AVX-512 */
	for (int i = 0; i < VW; i++)
		(*acc)[i] += (*a)[2 * i] * (*b)[2 * i] + (*a)[2 * i + 1] * (*b)[2 * i + 1];
#endif
}

static size_t q8_packed_shorts(int cout, int cin)
{
	return (size_t)(cout + GR - 1) / GR * GR * ((cin + 1) / 2 * 2);
}

static size_t q8_work_shorts(int cin, int threads)
{
	return (size_t)(threads > 0 ? threads : 1) * ((size_t)(cin + 1) / 2 * 2 * GP + 32);
}

static void q8_pack(const int8_t *w, int cout, int cin, int16_t *packed)
{
	int nb = (cout + GR - 1) / GR, pairs = (cin + 1) / 2;

	for (int b = 0; b < nb; b++)
		for (int p = 0; p < pairs; p++)
			for (int r = 0; r < GR; r++)
				for (int k = 0; k < 2; k++) {
					int co = b * GR + r, ci = 2 * p + k;
					packed[(((size_t)b * pairs + p) * GR + r) * 2 + k] =
						co < cout && ci < cin ? w[(size_t)co * cin + ci] : 0;
				}
}

/* q = round(x / scale) clamped to [-127, 127], over n values. */
static void q8_quantize(const float *x, size_t n, float scale, int8_t *q)
{
	float inv = 1.0f / scale;

#pragma omp parallel for schedule(static) if (n > 1 << 16)
	for (size_t i = 0; i < n; i++) {
		float v = nearbyintf(x[i] * inv);
		q[i] = (int8_t)(v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v);
	}
}

/* Pixels [p0, p0 + n) of every channel of x into panel[ci / 2][GP][2],
 * zeros past n and past cin. */
static void q8_panel(const int8_t *x, int cin, size_t pixels, size_t p0, int n,
		     int16_t *panel)
{
	int pairs = (cin + 1) / 2;

	for (int p = 0; p < pairs; p++) {
		const int8_t *a = x + (size_t)(2 * p) * pixels + p0;
		const int8_t *b = 2 * p + 1 < cin ? a + pixels : NULL;
		int16_t *dst = panel + (size_t)p * GP * 2;

		for (int i = 0; i < n; i++) {
			dst[2 * i] = a[i];
			dst[2 * i + 1] = b ? b[i] : 0;
		}
		for (int i = n; i < GP; i++)
			dst[2 * i] = dst[2 * i + 1] = 0;
	}
}

/* The GR rows co0.. of the output over the panel's pixels: exact sums,
 * then scale[co], bias and activation. */
static inline void q8_block(const int16_t *w, const int16_t *panel, int pairs,
			    const float *scale, const aoi_direct_out *o, int co0, int rows,
			    size_t pixels, size_t p0, int n)
{
	vfi acc[GR][GV];
	float lane[GP];

	for (int r = 0; r < GR; r++)
		for (int v = 0; v < GV; v++)
			acc[r][v] = (vfi){0};
	for (int p = 0; p < pairs; p++, w += 2 * GR, panel += 2 * GP) {
		vq16 x[GV];

		for (int v = 0; v < GV; v++)
			x[v] = *(const vq16 *)(panel + 2 * v * VW);
		for (int r = 0; r < GR; r++) {
			int32_t pair;
			memcpy(&pair, w + 2 * r, sizeof pair);
			vq16 wv = (vq16)((vfi){0} + pair);
			for (int v = 0; v < GV; v++)
				madd16(&acc[r][v], &x[v], &wv);
		}
	}
	for (int r = 0; r < rows; r++) {
		int co = co0 + r, fast = n == GP;
		float *dst = o->y + (size_t)co * pixels + p0, b = o->bias ? o->bias[co] : 0.0f;

		for (int v = 0; v < GV; v++) {
			vf y = __builtin_convertvector(acc[r][v], vf) * scale[co] + b;
			memcpy(lane + v * VW, &y, sizeof y);
			if (fast && (fast = vact(&y, o->act, o->alpha)))
				*(vfu *)(dst + v * VW) = y;
		}
		if (fast)
			continue;
		act_row(lane, n, o->act, o->alpha);
		memcpy(dst, lane, sizeof(float) * n);
	}
}

/* y (o->cout x o->oh * o->ow floats) = scale[co] times the exact product
 * of the packed int8 weights and x (cin x pixels int8), plus bias, through
 * the activation (o->accumulate is not supported). work from
 * q8_work_shorts(cin, threads). */
static void q8_conv1x1(const int16_t *packed, const int8_t *x, int cin,
		       const float *scale, const aoi_direct_out *o, int threads,
		       int16_t *work)
{
	size_t pixels = (size_t)o->oh * o->ow;
	long panels = (long)((pixels + GP - 1) / GP);
	int nb = (o->cout + GR - 1) / GR, pairs = (cin + 1) / 2;

	threads = team_size(threads, panels);
#pragma omp parallel num_threads(threads)
	{
		int id = omp_get_thread_num();
		int16_t *panel = (int16_t *)(((uintptr_t)(work + id * ((size_t)pairs * 2 * GP + 32)) +
					      63) & ~(uintptr_t)63);

#pragma omp for schedule(static)
		for (long pi = 0; pi < panels; pi++) {
			size_t p0 = (size_t)pi * GP;
			int n = pixels - p0 < GP ? (int)(pixels - p0) : GP;

			q8_panel(x, cin, pixels, p0, n, panel);
			for (int b = 0; b < nb; b++)
				q8_block(packed + (size_t)b * pairs * 2 * GR, panel, pairs, scale, o,
					 b * GR, o->cout - b * GR < GR ? o->cout - b * GR : GR,
					 pixels, p0, n);
		}
	}
}
