/* body_misc.h: part of the kernels of one level (isa.h), included by
 * isa_*.c: depthwise convolutions, activations and per-channel epilogues
 * (kernels.h). */

/* The threads a kernel runs on: no more than the net's count (OpenMP's
 * current maximum), than the pieces of work (a thread without one only
 * waits at the barrier), and at least one. */
static inline int team_size(int threads, long pieces)
{
	if (threads > omp_get_max_threads())
		threads = omp_get_max_threads();
	if (threads > pieces)
		threads = (int)pieces;
	return threads < 1 ? 1 : threads;
}

static inline float act1(float v, enum aoi_act act, float alpha)
{
	switch (act) {
	case AOI_ACT_RELU:
		return v > 0.0f ? v : 0.0f;
	case AOI_ACT_RELU6:
		return v < 0.0f ? 0.0f : v > 6.0f ? 6.0f : v;
	case AOI_ACT_LEAKY:
		return v > 0.0f ? v : v * alpha;
	case AOI_ACT_SIGMOID:
		return 1.0f / (1.0f + expf(-v));
	default:
		return v;
	}
}

/* Separate loops per activation so that each one vectorises. */
static void act_row(float *y, size_t n, enum aoi_act act, float alpha)
{
	switch (act) {
	case AOI_ACT_RELU:
		for (size_t i = 0; i < n; i++)
			y[i] = y[i] > 0.0f ? y[i] : 0.0f;
		break;
	case AOI_ACT_RELU6: /* ternaries, not fminf: these vectorise */
		for (size_t i = 0; i < n; i++) {
			float v = y[i] > 0.0f ? y[i] : 0.0f;
			y[i] = v < 6.0f ? v : 6.0f;
		}
		break;
	case AOI_ACT_LEAKY:
		for (size_t i = 0; i < n; i++)
			y[i] = y[i] > 0.0f ? y[i] : y[i] * alpha;
		break;
	case AOI_ACT_SIGMOID:
		for (size_t i = 0; i < n; i++)
			y[i] = act1(y[i], act, alpha);
		break;
	default:
		break;
	}
}

/* Depthwise, one output row at the edges: every tap checked. */
static float dw_edge(const float *x, const float *wt, float b,
		     const aoi_conv_geom *g, int oy, int ox)
{
	float acc = b;

	for (int ky = 0; ky < g->k; ky++) {
		int iy = oy * g->s - g->p + ky * g->d;
		if (iy < 0 || iy >= g->h)
			continue;
		for (int kx = 0; kx < g->k; kx++) {
			int ix = ox * g->s - g->p + kx * g->d;
			if (ix >= 0 && ix < g->w)
				acc += wt[ky * g->k + kx] * x[(size_t)iy * g->w + ix];
		}
	}
	return acc;
}

/* The interior of a 3x3 dilation-1 row: no column checks; a row outside the
 * image has its weights zeroed and points at a valid row. */
static void dw_row3(float *restrict yr, const float *restrict r0,
		    const float *restrict r1, const float *restrict r2,
		    const float *w, float b, int s, int lo, int hi, int p)
{
	const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4],
		    w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];

	if (s == 1) {
		r0 -= p;
		r1 -= p;
		r2 -= p;
		for (int ox = lo; ox < hi; ox++)
			yr[ox] = b + w0 * r0[ox] + w1 * r0[ox + 1] + w2 * r0[ox + 2] +
				 w3 * r1[ox] + w4 * r1[ox + 1] + w5 * r1[ox + 2] +
				 w6 * r2[ox] + w7 * r2[ox + 1] + w8 * r2[ox + 2];
		return;
	}
	for (int ox = lo; ox < hi; ox++) {
		int ix = ox * s - p;
		yr[ox] = b + w0 * r0[ix] + w1 * r0[ix + 1] + w2 * r0[ix + 2] +
			 w3 * r1[ix] + w4 * r1[ix + 1] + w5 * r1[ix + 2] +
			 w6 * r2[ix] + w7 * r2[ix + 1] + w8 * r2[ix + 2];
	}
}

/* Any kernel size in the interior: taps outer, columns inner. */
static void dw_row_any(float *yr, const float *x, const float *wt, float b,
		       const aoi_conv_geom *g, int oy, int lo, int hi)
{
	for (int ox = lo; ox < hi; ox++)
		yr[ox] = b;
	for (int ky = 0; ky < g->k; ky++) {
		int iy = oy * g->s - g->p + ky * g->d;
		if (iy < 0 || iy >= g->h)
			continue;
		const float *xr = x + (size_t)iy * g->w;
		for (int kx = 0; kx < g->k; kx++) {
			const float wv = wt[ky * g->k + kx];
			const int off = kx * g->d - g->p;
			for (int ox = lo; ox < hi; ox++)
				yr[ox] += wv * xr[ox * g->s + off];
		}
	}
}

/* Depthwise, one output plane, activation applied row by row. */
static void dw_plane(const float *x, const float *wt, float b, float *y,
		     const aoi_conv_geom *g, enum aoi_act act, float alpha)
{
	int lo, hi, lo2, hi2;

	/* columns whose whole window is inside the image */
	aoi_nn_valid_range(g->s, -g->p, g->w, g->ow, &lo, &hi);
	aoi_nn_valid_range(g->s, (g->k - 1) * g->d - g->p, g->w, g->ow, &lo2, &hi2);
	lo = lo2 > lo ? lo2 : lo;
	hi = hi2 < hi ? hi2 : hi;
	if (hi < lo)
		hi = lo;
	for (int oy = 0; oy < g->oh; oy++) {
		float *yr = y + (size_t)oy * g->ow;

		for (int ox = 0; ox < lo; ox++)
			yr[ox] = dw_edge(x, wt, b, g, oy, ox);
		for (int ox = hi; ox < g->ow; ox++)
			yr[ox] = dw_edge(x, wt, b, g, oy, ox);
		if (g->k == 3 && g->d == 1) {
			const float *r[3];
			float w[9];
			for (int ky = 0; ky < 3; ky++) {
				int iy = oy * g->s - g->p + ky, ok = iy >= 0 && iy < g->h;
				r[ky] = x + (size_t)(ok ? iy : 0) * g->w;
				for (int kx = 0; kx < 3; kx++)
					w[ky * 3 + kx] = ok ? wt[ky * 3 + kx] : 0.0f;
			}
			dw_row3(yr, r[0], r[1], r[2], w, b, g->s, lo, hi, g->p);
		} else {
			dw_row_any(yr, x, wt, b, g, oy, lo, hi);
		}
		act_row(yr, g->ow, act, alpha);
	}
}

static void dw_forward(const float *x, const float *wt, const float *bias,
		       float *y, int cout, int mult, const aoi_conv_geom *g,
		       enum aoi_act act, float alpha)
{
	size_t in_plane = (size_t)g->h * g->w, out_plane = (size_t)g->oh * g->ow;
	int kk = g->k * g->k;

#pragma omp parallel for schedule(static) if (cout >= 2)
	for (int co = 0; co < cout; co++) {
		dw_plane(x + (size_t)(co / mult) * in_plane, wt + (size_t)co * kk,
			 bias ? bias[co] : 0.0f, y + co * out_plane, g, act, alpha);
	}
}

/* sum a[i] * b[i*s] over n, in 16 float partial sums that vectorise. */
static float dot_row(const float *restrict a, const float *restrict b, int n, int s)
{
	float acc[16] = {0}, sum = 0.0f;
	int i = 0;

	if (s == 1)
		for (; i + 16 <= n; i += 16)
			for (int j = 0; j < 16; j++)
				acc[j] += a[i + j] * b[i + j];
	for (; i < n; i++)
		acc[i & 15] += a[i] * b[(size_t)i * s];
	for (int j = 0; j < 16; j++)
		sum += acc[j];
	return sum;
}

/* d[i*s] += w * a[i] over n. */
static void axpy_row(float *restrict d, const float *restrict a, float w, int n, int s)
{
	if (s == 1) {
		for (int i = 0; i < n; i++)
			d[i] += w * a[i];
		return;
	}
	for (int i = 0; i < n; i++)
		d[(size_t)i * s] += w * a[i];
}

static void dw_plane_backward(const float *x, const float *wt, const float *dy,
			      float *dx, float *dw, const aoi_conv_geom *g)
{
	for (int oy = 0; oy < g->oh; oy++) {
		const float *dyr = dy + (size_t)oy * g->ow;

		for (int ky = 0; ky < g->k; ky++) {
			int iy = oy * g->s - g->p + ky * g->d;

			if (iy < 0 || iy >= g->h)
				continue;
			for (int kx = 0; kx < g->k; kx++) {
				int off = kx * g->d - g->p, lo, hi;
				size_t base = (size_t)iy * g->w + off;

				aoi_nn_valid_range(g->s, off, g->w, g->ow, &lo, &hi);
				if (hi <= lo)
					continue;
				if (dw)
					dw[ky * g->k + kx] += dot_row(dyr + lo,
						x + base + (size_t)lo * g->s, hi - lo, g->s);
				if (dx)
					axpy_row(dx + base + (size_t)lo * g->s, dyr + lo,
						 wt[ky * g->k + kx], hi - lo, g->s);
			}
		}
	}
}

static void dw_backward(const float *x, const float *wt, const float *dy,
			float *dx, float *dw, int cout, int mult,
			const aoi_conv_geom *g)
{
	size_t in_plane = (size_t)g->h * g->w, out_plane = (size_t)g->oh * g->ow;
	int kk = g->k * g->k;

	/* by input channel, so that no two threads add to one dx plane */
#pragma omp parallel for schedule(static) if (cout >= 2)
	for (int ci = 0; ci < cout / mult; ci++) {
		for (int co = ci * mult; co < (ci + 1) * mult; co++)
			dw_plane_backward(x + ci * in_plane, wt + (size_t)co * kk,
					  dy + co * out_plane,
					  dx ? dx + ci * in_plane : NULL,
					  dw ? dw + (size_t)co * kk : NULL, g);
	}
}

static void act_forward(float *y, size_t n, enum aoi_act act, float alpha)
{
	size_t chunk = 1 << 16;

	if (act == AOI_ACT_NONE)
		return;
#pragma omp parallel for schedule(static) if (n > 2 * chunk)
	for (size_t i = 0; i < n; i += chunk)
		act_row(y + i, n - i < chunk ? n - i : chunk, act, alpha);
}

static void accumulate(float *dst, const float *src, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 1 << 17)
	for (size_t i = 0; i < n; i++)
		dst[i] += src[i];
}

static void act_backward(const float *y, const float *dy, float *dx, size_t n,
			 enum aoi_act act, float alpha)
{
	switch (act) {
	case AOI_ACT_RELU:
#pragma omp parallel for schedule(static) if (n > 1 << 17)
		for (size_t i = 0; i < n; i++)
			dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
		break;
	case AOI_ACT_RELU6:
#pragma omp parallel for schedule(static) if (n > 1 << 17)
		for (size_t i = 0; i < n; i++)
			dx[i] += (y[i] > 0.0f && y[i] < 6.0f) ? dy[i] : 0.0f;
		break;
	case AOI_ACT_LEAKY:
#pragma omp parallel for schedule(static) if (n > 1 << 17)
		for (size_t i = 0; i < n; i++)
			dx[i] += y[i] > 0.0f ? dy[i] : dy[i] * alpha;
		break;
	case AOI_ACT_SIGMOID:
#pragma omp parallel for schedule(static) if (n > 1 << 17)
		for (size_t i = 0; i < n; i++)
			dx[i] += dy[i] * y[i] * (1.0f - y[i]);
		break;
	default:
		accumulate(dx, dy, n);
		break;
	}
}

static void bias_act(float *y, int c, size_t hw, const float *bias,
		     enum aoi_act act, float alpha)
{
	if (!bias && act == AOI_ACT_NONE)
		return;
#pragma omp parallel for schedule(static) if ((size_t)c * hw > 1 << 16)
	for (int ch = 0; ch < c; ch++) {
		float *p = y + ch * hw, b = bias ? bias[ch] : 0.0f;

		if (bias)
			for (size_t i = 0; i < hw; i++)
				p[i] += b;
		act_row(p, hw, act, alpha);
	}
}

static void bias_grad(const float *dy, int c, size_t hw, float *db)
{
#pragma omp parallel for schedule(static) if ((size_t)c * hw > 1 << 16)
	for (int ch = 0; ch < c; ch++) {
		const float *p = dy + ch * hw;
		double s = 0.0;

		for (size_t i = 0; i < hw; i++)
			s += p[i];
		db[ch] += (float)s;
	}
}


/* The depthwise 3x3, stride 1, padding 1 backward of one plane, flat: with
 * x zero-padded to rows of wp = w + 2 and dy laid out on the same rows
 * (zeros in the two extra columns), tap (ky, kx) pairs dy[i] with
 * xp[i + ky wp + kx] for every i, so the weight gradient is nine dot
 * products over one long run, and the input gradient a 3x3 correlation of
 * the padded dy, both in whole vectors. */

/* dw[t] += the lanes of acc[t] summed after tail[t], for the nine taps: the
 * end of both 3x3 weight-gradient loops, in one fixed order. */
static void add_tap_sums(const vf acc[9], const float tail[9], float *dw)
{
	for (int t = 0; t < 9; t++) {
		float lane[VW], s = tail[t];
		memcpy(lane, &acc[t], sizeof lane);
		for (int j = 0; j < VW; j++)
			s += lane[j];
		dw[t] += s;
	}
}

static void dw3_pad_plane(const float *x, int h, int w, float *xp)
{
	size_t wp = (size_t)w + 2;

	memset(xp, 0, sizeof(float) * wp);
	for (int y = 0; y < h; y++) {
		float *row = xp + (y + 1) * wp;
		row[0] = 0.0f;
		memcpy(row + 1, x + (size_t)y * w, sizeof(float) * w);
		row[w + 1] = 0.0f;
	}
	memset(xp + (h + 1) * wp, 0, sizeof(float) * (wp + 16));
}

static void dw3_plane_forward(const float *x, const float *wt, float b, float *y,
			      int h, int w, enum aoi_act act, float alpha, float *xp)
{
	const float w0 = wt[0], w1 = wt[1], w2 = wt[2], w3 = wt[3], w4 = wt[4],
		    w5 = wt[5], w6 = wt[6], w7 = wt[7], w8 = wt[8];
	size_t wp = (size_t)w + 2;

	dw3_pad_plane(x, h, w, xp);
	for (int oy = 0; oy < h; oy++) {
		const float *r0 = xp + oy * wp, *r1 = r0 + wp, *r2 = r1 + wp;
		float *yr = y + (size_t)oy * w;

		for (int ox = 0; ox < w; ox++)
			yr[ox] = b + w0 * r0[ox] + w1 * r0[ox + 1] + w2 * r0[ox + 2] +
				 w3 * r1[ox] + w4 * r1[ox + 1] + w5 * r1[ox + 2] +
				 w6 * r2[ox] + w7 * r2[ox + 1] + w8 * r2[ox + 2];
		act_row(yr, w, act, alpha);
	}
}

static void dw3_forward(const float *x, const float *wt, const float *bias, float *y,
			int c, int h, int w, enum aoi_act act, float alpha, float *work)
{
	size_t plane = (size_t)h * w, per = aoi_nn_dw3_work_floats(h, w);

#pragma omp parallel for schedule(static) if (c >= 2)
	for (int ch = 0; ch < c; ch++)
		dw3_plane_forward(x + ch * plane, wt + (size_t)ch * 9, bias ? bias[ch] : 0.0f,
				  y + ch * plane, h, w, act, alpha, work + ch * per);
}

static void dw3_weight_grad(const float *dyp, const float *xp, size_t n, size_t wp,
			    float *dw)
{
	vf acc[9];
	float tail[9] = {0};
	size_t i = 0;

	for (int t = 0; t < 9; t++)
		acc[t] = (vf){0};
	for (; i + VW <= n; i += VW) {
		vf g = *(const vfu *)(dyp + i);
		for (int t = 0; t < 9; t++)
			acc[t] += g * *(const vfu *)(xp + i + t / 3 * wp + t % 3);
	}
	for (; i < n; i++)
		for (int t = 0; t < 9; t++)
			tail[t] += dyp[i] * xp[i + t / 3 * wp + t % 3];
	add_tap_sums(acc, tail, dw);
}

static void dw3_plane_backward(const float *x, const float *wt, const float *dy,
			       float *dx, float *dw, int h, int w, float *work)
{
	size_t wp = (size_t)w + 2, n = (size_t)h * wp;
	float *xp = work, *dym = xp + (h + 2) * wp + 16, *dyp = dym + wp + 1;

	/* dy on rows of wp, zero margins of a row and a column both sides */
	memset(dym, 0, sizeof(float) * (wp + 1));
	for (int y = 0; y < h; y++) {
		memcpy(dyp + y * wp, dy + (size_t)y * w, sizeof(float) * w);
		dyp[y * wp + w] = dyp[y * wp + w + 1] = 0.0f;
	}
	memset(dyp + n, 0, sizeof(float) * (wp + 1 + 16));
	if (dw) {
		dw3_pad_plane(x, h, w, xp);
		dw3_weight_grad(dyp, xp, n, wp, dw);
	}
	if (!dx)
		return;
	/* dx[iy][ix] gets w[t] dy at padded position (iy+1-ky, ix+1-kx) */
	for (int y = 0; y < h; y++) {
		const float *c = dyp + (size_t)(y + 1) * wp + 1;
		float *d = dx + (size_t)y * w;
		for (int ix = 0; ix < w; ix++) {
			float s = 0.0f;
			for (int t = 0; t < 9; t++)
				s += wt[t] * c[ix - (t / 3) * (ptrdiff_t)wp - t % 3];
			d[ix] += s;
		}
	}
}

static void dw3_backward(const float *x, const float *wt, const float *dy,
			 float *dx, float *dw, int c, int h, int w, float *work)
{
	size_t plane = (size_t)h * w, per = aoi_nn_dw3_work_floats(h, w);

#pragma omp parallel for schedule(static) if (c >= 2)
	for (int ch = 0; ch < c; ch++)
		dw3_plane_backward(x + ch * plane, wt + (size_t)ch * 9, dy + ch * plane,
				   dx ? dx + ch * plane : NULL, dw ? dw + (size_t)ch * 9 : NULL,
				   h, w, work + ch * per);
}

/* The depthwise 3x3, stride 2, padding 1 backward of one plane (h and w
 * even), in the same spirit. Split the padded x by row and column parity
 * into four planes of (h/2 + 1) x (w/2 + 1): tap (ky, kx) then reads
 * plane (ky == 1, kx == 1) shifted by (ky == 2, kx == 2), and with dy on
 * rows of w/2 + 1 the weight gradient is again nine flat dot products.
 * An input row gets dy rows i and i - 1 (even columns from kx = 1, odd
 * ones from kx = 0 and 2), summed contiguously, then interleaved. */
static void dw3s2_phases(const float *x, int h, int w, size_t wq, size_t pq, float *ph)
{
	int hq = h / 2 + 1;

	for (int a = 0; a < 2; a++)
		for (int b = 0; b < 2; b++) {
			float *p = ph + (size_t)(a * 2 + b) * pq;

			for (int i = 0; i < hq; i++) {
				int iy = 2 * i + a - 1;
				float *row = p + (size_t)i * wq;

				for (size_t j = 0; j < wq; j++) {
					int ix = 2 * (int)j + b - 1;
					row[j] = iy >= 0 && iy < h && ix >= 0 && ix < w
							 ? x[(size_t)iy * w + ix] : 0.0f;
				}
			}
			memset(p + (size_t)hq * wq, 0, sizeof(float) * 16);
		}
}

static void dw3s2_weight_grad(const float *dyq, const float *ph, size_t n, size_t wq,
			      size_t pq, float *dw)
{
	const float *src[9];
	vf acc[9];
	float tail[9] = {0};
	size_t i = 0;

	for (int t = 0; t < 9; t++) {
		int ky = t / 3, kx = t % 3;
		src[t] = ph + (size_t)((ky == 1) * 2 + (kx == 1)) * pq +
			 (ky == 2) * wq + (kx == 2);
		acc[t] = (vf){0};
	}
	for (; i + VW <= n; i += VW) {
		vf g = *(const vfu *)(dyq + i);
		for (int t = 0; t < 9; t++)
			acc[t] += g * *(const vfu *)(src[t] + i);
	}
	for (; i < n; i++)
		for (int t = 0; t < 9; t++)
			tail[t] += dyq[i] * src[t][i];
	add_tap_sums(acc, tail, dw);
}

/* dx row iy from dy rows (oy, ky) pairs: 2 oy + ky = iy + 1. */
static void dw3s2_input_row(const float *dyq, const float *wt, int oh, int ow,
			    size_t wq, int iy, float *ev, float *od, float *dx)
{
	int i = (iy + 1) / 2;

	for (int m = 0; m < ow; m++)
		ev[m] = od[m] = 0.0f;
	for (int ky = (iy + 1) % 2; ky < 3; ky += 2) {
		int oy = ky == 2 ? i - 1 : i;
		const float *g = dyq + (size_t)oy * wq;
		const float w0 = wt[ky * 3], w1 = wt[ky * 3 + 1], w2 = wt[ky * 3 + 2];

		if (oy < 0 || oy >= oh)
			continue;
		for (int m = 0; m < ow; m++) {
			ev[m] += w1 * g[m];
			od[m] += w0 * g[m + 1] + w2 * g[m];
		}
	}
	for (int m = 0; m < ow; m++) {
		dx[2 * m] += ev[m];
		dx[2 * m + 1] += od[m];
	}
}

static void dw3s2_plane_backward(const float *x, const float *wt, const float *dy,
				 float *dx, float *dw, int h, int w, float *work)
{
	int oh = h / 2, ow = w / 2;
	size_t wq = (size_t)ow + 1, pq = ((size_t)oh + 1) * wq + 16;
	float *ph = work, *dyq = ph + 4 * pq, *ev = dyq + (size_t)oh * wq + 16,
	      *od = ev + wq;

	/* dy on rows of wq, a zero in the last column */
	for (int oy = 0; oy < oh; oy++) {
		memcpy(dyq + (size_t)oy * wq, dy + (size_t)oy * ow, sizeof(float) * ow);
		dyq[(size_t)oy * wq + ow] = 0.0f;
	}
	memset(dyq + (size_t)oh * wq, 0, sizeof(float) * 16);
	if (dw) {
		dw3s2_phases(x, h, w, wq, pq, ph);
		dw3s2_weight_grad(dyq, ph, (size_t)oh * wq, wq, pq, dw);
	}
	if (dx)
		for (int iy = 0; iy < h; iy++)
			dw3s2_input_row(dyq, wt, oh, ow, wq, iy, ev, od,
					dx + (size_t)iy * w);
}

static void dw3s2_backward(const float *x, const float *wt, const float *dy,
			   float *dx, float *dw, int c, int h, int w, float *work)
{
	size_t plane = (size_t)h * w, oplane = (size_t)(h / 2) * (w / 2);
	size_t per = aoi_nn_dw3s2_work_floats(h, w);

#pragma omp parallel for schedule(static) if (c >= 2)
	for (int ch = 0; ch < c; ch++)
		dw3s2_plane_backward(x + ch * plane, wt + (size_t)ch * 9, dy + ch * oplane,
				     dx ? dx + ch * plane : NULL,
				     dw ? dw + (size_t)ch * 9 : NULL, h, w, work + ch * per);
}
