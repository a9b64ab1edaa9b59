/* kernels.c: the loops of kernels.h that move memory rather than compute
 * (im2col, col2im) and the scratch sizes that do not depend on the
 * kernel level; the rest is in body_misc.h, once per level (isa.h). */
#include "nn/kernels/kernels.h"

#include <stddef.h>
#include <string.h>

void aoi_nn_valid_range(int s, int off, int w, int ow, int *lo, int *hi)
{
	int a = off >= 0 ? 0 : (-off + s - 1) / s;
	int b = w - off <= 0 ? 0 : (w - off + s - 1) / s;

	if (b > ow)
		b = ow;
	if (a > ow)
		a = ow;
	if (b < a)
		b = a;
	*lo = a;
	*hi = b;
}

/* One row of columns: dst[ox] = src[ox*s + off] where valid, else 0. */
static void gather_row(const float *src, float *dst, int s, int off, int w, int ow)
{
	int lo, hi;

	aoi_nn_valid_range(s, off, w, ow, &lo, &hi);
	memset(dst, 0, sizeof *dst * lo);
	if (s == 1) {
		memcpy(dst + lo, src + lo + off, sizeof *dst * (hi - lo));
	} else {
		for (int ox = lo; ox < hi; ox++)
			dst[ox] = src[ox * s + off];
	}
	memset(dst + hi, 0, sizeof *dst * (ow - hi));
}

void aoi_nn_im2col(const float *x, int c, const aoi_conv_geom *g, int oy0,
		   int oy1, float *col)
{
	int kk = g->k * g->k;
	size_t ncols = (size_t)(oy1 - oy0) * g->ow;

#pragma omp parallel for schedule(static) if (c * kk >= 16 && ncols >= 1024)
	for (int r = 0; r < c * kk; r++) {
		int ci = r / kk, ky = r % kk / g->k, kx = r % g->k;
		int off = kx * g->d - g->p;
		float *dst = col + (size_t)r * ncols;

		for (int oy = oy0; oy < oy1; oy++) {
			int iy = oy * g->s - g->p + ky * g->d;
			float *row = dst + (size_t)(oy - oy0) * g->ow;

			if (iy < 0 || iy >= g->h)
				memset(row, 0, sizeof *row * g->ow);
			else
				gather_row(x + ((size_t)ci * g->h + iy) * g->w, row,
					   g->s, off, g->w, g->ow);
		}
	}
}

static void scatter_row(const float *src, float *dst, int s, int off, int w, int ow)
{
	int lo, hi;

	aoi_nn_valid_range(s, off, w, ow, &lo, &hi);
	if (s == 1) {
		float *d = dst + off;
		for (int ox = lo; ox < hi; ox++)
			d[ox] += src[ox];
	} else {
		for (int ox = lo; ox < hi; ox++)
			dst[ox * s + off] += src[ox];
	}
}

void aoi_nn_col2im(const float *col, int c, const aoi_conv_geom *g, int oy0,
		   int oy1, float *x)
{
	int kk = g->k * g->k;
	size_t ncols = (size_t)(oy1 - oy0) * g->ow;

	/* by input channel: rows of one channel write the same plane */
#pragma omp parallel for schedule(static) if (c >= 4 && ncols >= 1024)
	for (int ci = 0; ci < c; ci++) {
		for (int r = ci * kk; r < (ci + 1) * kk; r++) {
			int ky = r % kk / g->k, kx = r % g->k;
			int off = kx * g->d - g->p;
			const float *src = col + (size_t)r * ncols;

			for (int oy = oy0; oy < oy1; oy++) {
				int iy = oy * g->s - g->p + ky * g->d;

				if (iy < 0 || iy >= g->h)
					continue;
				scatter_row(src + (size_t)(oy - oy0) * g->ow,
					    x + ((size_t)ci * g->h + iy) * g->w,
					    g->s, off, g->w, g->ow);
			}
		}
	}
}

size_t aoi_nn_dw3_work_floats(int h, int w)
{
	size_t wp = (size_t)w + 2;
	/* padded x, then dy with a margin of a row and a column each side */
	return (size_t)(h + 2) * wp + 16 + (size_t)h * wp + 2 * (wp + 1) + 16;
}

size_t aoi_nn_dw3s2_work_floats(int h, int w)
{
	size_t wq = (size_t)w / 2 + 1, pq = ((size_t)h / 2 + 1) * wq + 16;

	return 4 * pq + (size_t)h / 2 * wq + 16 + 2 * wq;
}
