/* anomaly_math.c: the numeric pieces of the anomaly models (anomaly.h):
 * greedy coreset selection, Gaussian statistics with their inverse
 * covariance, map resizing and smoothing, the false-reject threshold. */
#include "anomaly/anomaly.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"

/* ---- coreset ---- */

/* x (n x d) times a d x p Gaussian matrix scaled by 1 / sqrt(p) into a new
 * n x p array: squared distances are kept on average (Johnson and
 * Lindenstrauss), at p / d of the cost. */
static float *project(const float *x, size_t n, int d, int p, uint64_t seed)
{
	float *m = malloc(sizeof(float) * (size_t)d * p);
	float *y = malloc(sizeof(float) * n * (size_t)p);
	aoi_rng rng;

	if (!m || !y) {
		free(m);
		free(y);
		return NULL;
	}
	aoi_rng_seed(&rng, seed ^ 0x70726f6aULL);
	for (size_t i = 0; i < (size_t)d * p; i++)
		m[i] = (float)(aoi_rng_normal(&rng) / sqrt((double)p));
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, p, d, 1.0f, x, d, m, p,
		    0.0f, y, p);
	free(m);
	return y;
}

/* mind[i] = min(mind[i], |x_i - x_c|^2); returns the row farthest from
 * the rows taken (lowest index among equals). */
static size_t update_farthest(const float *x, size_t n, int d, size_t c, float *mind)
{
	const float *xc = x + c * d;
	size_t best = 0;
	float bestv = -1;

#pragma omp parallel
	{
		size_t lb = 0;
		float lv = -1;
#pragma omp for schedule(static) nowait
		for (size_t i = 0; i < n; i++) {
			const float *xi = x + i * d;
			float s = 0;
			for (int k = 0; k < d; k++) {
				float t = xi[k] - xc[k];
				s += t * t;
			}
			if (s < mind[i])
				mind[i] = s;
			if (mind[i] > lv) {
				lv = mind[i];
				lb = i;
			}
		}
#pragma omp critical
		if (lv > bestv || (lv == bestv && lb < best)) {
			bestv = lv;
			best = lb;
		}
	}
	return best;
}

int aoi_anomaly_coreset(const float *x, size_t n, int d, size_t k, int proj_dims,
			uint64_t seed, size_t *out, aoi_error *err)
{
	float *xp = NULL, *mind;
	aoi_rng rng;

	if (n == 0 || k == 0 || k > n || d < 1)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "coreset of %zu out of %zu rows", k, n);
	if (proj_dims > 0 && d > proj_dims) {
		if (!(xp = project(x, n, d, proj_dims, seed)))
			return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory (coreset)");
		x = xp;
		d = proj_dims;
	}
	if (!(mind = malloc(sizeof(float) * n))) {
		free(xp);
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory (coreset)");
	}
	for (size_t i = 0; i < n; i++)
		mind[i] = FLT_MAX;
	aoi_rng_seed(&rng, seed);
	size_t c = n <= 0xffffffffu ? aoi_rng_below(&rng, (uint32_t)n) : aoi_rng_next(&rng) % n;
	for (size_t t = 0; t < k; t++) {
		out[t] = c;
		mind[c] = -1; /* taken: never farthest again */
		c = update_farthest(x, n, d, c, mind);
	}
	free(mind);
	free(xp);
	return 0;
}

/* ---- Gaussians ---- */

int aoi_gauss_init(aoi_gauss *g, int d, aoi_error *err)
{
	memset(g, 0, sizeof *g);
	g->sum = calloc((size_t)d, sizeof *g->sum);
	g->outer = calloc((size_t)d * d, sizeof *g->outer);
	if (!g->sum || !g->outer) {
		aoi_gauss_release(g);
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory (%d x %d)", d, d);
	}
	g->d = d;
	return 0;
}

void aoi_gauss_release(aoi_gauss *g)
{
	free(g->sum);
	free(g->outer);
	memset(g, 0, sizeof *g);
}

/* The upper triangle only; aoi_gauss_finish mirrors it. */
void aoi_gauss_add(aoi_gauss *g, const float *x, size_t stride)
{
	int d = g->d;

	for (int i = 0; i < d; i++) {
		double xi = x[(size_t)i * stride];
		double *row = g->outer + (size_t)i * d;
		g->sum[i] += xi;
		for (int j = i; j < d; j++)
			row[j] += xi * x[(size_t)j * stride];
	}
	g->n++;
}

/* In place: the lower Cholesky factor of the d x d matrix a (upper part
 * left alone); -1 when a is not positive definite. */
static int cholesky(double *a, int d)
{
	for (int j = 0; j < d; j++) {
		double s = a[(size_t)j * d + j];
		for (int k = 0; k < j; k++)
			s -= a[(size_t)j * d + k] * a[(size_t)j * d + k];
		if (!(s > 0))
			return -1;
		double l = sqrt(s);
		a[(size_t)j * d + j] = l;
		for (int i = j + 1; i < d; i++) {
			double t = a[(size_t)i * d + j];
			for (int k = 0; k < j; k++)
				t -= a[(size_t)i * d + k] * a[(size_t)j * d + k];
			a[(size_t)i * d + j] = t / l;
		}
	}
	return 0;
}

/* inverse = L^-T L^-1 from the factor L (lower part of a); w: d x d. */
static void cholesky_inverse(const double *a, int d, double *w, float *inv)
{
	memset(w, 0, sizeof(double) * (size_t)d * d);
	for (int c = 0; c < d; c++) /* column c of L^-1, by forward substitution */
		for (int i = c; i < d; i++) {
			double t = i == c ? 1.0 : 0.0;
			for (int k = c; k < i; k++)
				t -= a[(size_t)i * d + k] * w[(size_t)k * d + c];
			w[(size_t)i * d + c] = t / a[(size_t)i * d + i];
		}
	for (int i = 0; i < d; i++)
		for (int j = i; j < d; j++) {
			double s = 0;
			for (int k = j; k < d; k++)
				s += w[(size_t)k * d + i] * w[(size_t)k * d + j];
			inv[(size_t)i * d + j] = inv[(size_t)j * d + i] = (float)s;
		}
}

int aoi_gauss_finish(const aoi_gauss *g, double eps, float *mean, float *icov,
		     aoi_error *err)
{
	int d = g->d;
	double n = (double)g->n, *c = malloc(sizeof(double) * 2 * (size_t)d * d);

	if (!c)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory (%d x %d)", d, d);
	if (g->n < 1) {
		free(c);
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "no samples");
	}
	for (int i = 0; i < d; i++)
		mean[i] = (float)(g->sum[i] / n);
	for (int i = 0; i < d; i++)
		for (int j = i; j < d; j++) {
			double v = (g->outer[(size_t)i * d + j] - g->sum[i] * g->sum[j] / n) /
				   (n > 1 ? n - 1 : 1);
			c[(size_t)i * d + j] = c[(size_t)j * d + i] = v + (i == j ? eps : 0);
		}
	if (cholesky(c, d) < 0) {
		free(c);
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "covariance not positive definite (eps %g)", eps);
	}
	cholesky_inverse(c, d, c + (size_t)d * d, icov);
	free(c);
	return 0;
}

float aoi_gauss_mahalanobis(const float *x, size_t stride, const float *mean,
			    const float *icov, int d, float *diff)
{
	float s = 0;

	for (int i = 0; i < d; i++)
		diff[i] = x[(size_t)i * stride] - mean[i];
	for (int i = 0; i < d; i++) {
		const float *row = icov + (size_t)i * d;
		float t = 0;
		for (int j = 0; j < d; j++)
			t += row[j] * diff[j];
		s += diff[i] * t;
	}
	return s > 0 ? sqrtf(s) : 0.0f;
}

/* ---- maps ---- */

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* One pass of the blur along rows (dx = 1) or columns (dx = w). */
static void blur_pass(const float *src, float *dst, int w, int h, const float *k, int r,
		      int along_x)
{
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			float s = 0;
			for (int t = -r; t <= r; t++) {
				int sx = along_x ? clampi(x + t, 0, w - 1) : x;
				int sy = along_x ? y : clampi(y + t, 0, h - 1);
				s += k[t + r] * src[(size_t)sy * w + sx];
			}
			dst[(size_t)y * w + x] = s;
		}
}

void aoi_anomaly_blur(float *map, int w, int h, double sigma, float *tmp)
{
	int r = (int)ceil(3 * sigma);
	float k[2 * 64 + 1];
	double sum = 0;

	if (sigma <= 0 || w < 1 || h < 1)
		return;
	r = r > 64 ? 64 : r;
	for (int t = -r; t <= r; t++)
		sum += k[t + r] = (float)exp(-0.5 * t * t / (sigma * sigma));
	for (int t = 0; t <= 2 * r; t++)
		k[t] = (float)(k[t] / sum);
	blur_pass(map, tmp, w, h, k, r, 1);
	blur_pass(tmp, map, w, h, k, r, 0);
}

void aoi_anomaly_resize(const float *src, int sw, int sh, float *dst, int dw, int dh)
{
	double fx = (double)sw / dw, fy = (double)sh / dh;

	for (int y = 0; y < dh; y++) {
		double sy = fmin(fmax((y + 0.5) * fy - 0.5, 0), sh - 1);
		int y0 = (int)sy, y1 = y0 + 1 < sh ? y0 + 1 : y0;
		float wy = (float)(sy - y0);
		for (int x = 0; x < dw; x++) {
			double sx = fmin(fmax((x + 0.5) * fx - 0.5, 0), sw - 1);
			int x0 = (int)sx, x1 = x0 + 1 < sw ? x0 + 1 : x0;
			float wx = (float)(sx - x0);
			const float *r0 = src + (size_t)y0 * sw, *r1 = src + (size_t)y1 * sw;
			float top = r0[x0] + wx * (r0[x1] - r0[x0]);
			float bot = r1[x0] + wx * (r1[x1] - r1[x0]);
			dst[(size_t)y * dw + x] = top + wy * (bot - top);
		}
	}
}

void aoi_anomaly_heat_rgb(double t, unsigned char rgb[3])
{
	t = t < 0 ? 0 : t > 1 ? 1 : t;
	double r = 1.5 - fabs(4 * t - 3), g = 1.5 - fabs(4 * t - 2), b = 1.5 - fabs(4 * t - 1);
	rgb[0] = (unsigned char)(255 * (r < 0 ? 0 : r > 1 ? 1 : r) + 0.5);
	rgb[1] = (unsigned char)(255 * (g < 0 ? 0 : g > 1 ? 1 : g) + 0.5);
	rgb[2] = (unsigned char)(255 * (b < 0 ? 0 : b > 1 ? 1 : b) + 0.5);
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

double aoi_anomaly_frr_threshold(const float *scores, int n, double frr)
{
	float *s = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
	double t;

	if (!s || n < 1) {
		free(s);
		return -1;
	}
	memcpy(s, scores, sizeof(float) * (size_t)n);
	qsort(s, (size_t)n, sizeof *s, cmp_float);
	int m = (int)ceil((1 - frr) * n - 1e-9);
	t = s[clampi(m, 1, n) - 1];
	free(s);
	return t;
}
