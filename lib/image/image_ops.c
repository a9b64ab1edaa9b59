/* image_ops.c: resize, crop, pad and channel conversion.
 *
 * Bilinear and area resizing share one separable resampler: for each
 * destination column (and row) a short list of (source index, weight) taps,
 * a horizontal pass into a float buffer, then a vertical pass that rounds.
 * Nearest is a plain index lookup so that masks keep exact values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_codec.h"

/* Row counts above which the passes are split over OpenMP threads. */
#define OPS_PARALLEL_WORK (1 << 16)

/* Refuse aliasing, then release dst so that it can be refilled. */
static int ops_begin(const aoi_image *src, aoi_image *dst, aoi_error *err)
{
	if (!src || !src->data || src == dst || (dst && dst->data == src->data))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "image operation needs a source and a separate destination");
	aoi_image_release(dst);
	return aoi_image_check_size(src->width, src->height, src->channels, NULL, err);
}

/* ---- resampling taps ---- */

struct taps {
	int n;       /* taps per destination index */
	int *index;  /* [dst * n + k] */
	float *weight;
};

static void taps_free(struct taps *t)
{
	free(t->index);
	free(t->weight);
}

static int taps_alloc(struct taps *t, int dst_len, int n)
{
	t->n = n;
	t->index = calloc((size_t)dst_len * n, sizeof *t->index);
	t->weight = calloc((size_t)dst_len * n, sizeof *t->weight);
	if (t->index && t->weight)
		return 0;
	taps_free(t);
	return -1;
}

/* Pixel-centre alignment: destination i sits at source (i + 0.5) * s/d - 0.5,
 * clamped at the borders as OpenCV INTER_LINEAR does. */
static int taps_bilinear(struct taps *t, int src_len, int dst_len)
{
	double scale = (double)src_len / dst_len;

	if (taps_alloc(t, dst_len, 2) != 0)
		return -1;
	for (int i = 0; i < dst_len; i++) {
		double sx = (i + 0.5) * scale - 0.5;
		int x0 = sx <= 0 ? 0 : (int)sx;
		double f = sx <= 0 ? 0 : sx - x0;
		if (x0 >= src_len - 1) {
			x0 = src_len - 1;
			f = 0;
		}
		t->index[2 * i] = x0;
		t->index[2 * i + 1] = x0 + 1 < src_len ? x0 + 1 : x0;
		t->weight[2 * i] = (float)(1 - f);
		t->weight[2 * i + 1] = (float)f;
	}
	return 0;
}

/* Destination i covers source [i * s/d, (i + 1) * s/d); each source pixel
 * weighs by the fraction of it that is covered. */
static int taps_area(struct taps *t, int src_len, int dst_len)
{
	double scale = (double)src_len / dst_len;

	if (scale <= 1)
		return taps_bilinear(t, src_len, dst_len);
	if (taps_alloc(t, dst_len, (int)ceil(scale) + 1) != 0)
		return -1;
	for (int i = 0; i < dst_len; i++) {
		double a = i * scale, b = (i + 1) * scale;
		int k = 0;
		if (b > src_len)
			b = src_len;
		for (int j = (int)floor(a); j < b && k < t->n; j++, k++) {
			double lo = j > a ? j : a, hi = j + 1 < b ? j + 1 : b;
			t->index[i * t->n + k] = j;
			t->weight[i * t->n + k] = (float)((hi - lo) / scale);
		}
	}
	return 0;
}

static uint8_t round_sample(float v)
{
	return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)(v + 0.5f);
}

/* One row along x; `c` is a constant at each call site below, so the
 * compiler unrolls the channel loop. */
static inline __attribute__((always_inline)) void
resample_row(const uint8_t *row, float *out, const struct taps *tx, int dw, int c)
{
	for (int x = 0; x < dw; x++) {
		const int *idx = tx->index + x * tx->n;
		const float *w = tx->weight + x * tx->n;
		float s[4] = {0, 0, 0, 0};
		for (int k = 0; k < tx->n; k++)
			for (int ch = 0; ch < c; ch++)
				s[ch] += w[k] * row[idx[k] * c + ch];
		for (int ch = 0; ch < c; ch++)
			out[x * c + ch] = s[ch];
	}
}

/* tmp (src->height x dst->width x c) = src resampled along x, for the
 * source rows that the vertical taps use (`used`). */
static void resample_rows(const aoi_image *src, const struct taps *tx,
			  const uint8_t *used, float *tmp, int dw)
{
	int c = src->channels;

#pragma omp parallel for schedule(static) if ((long)src->height * dw * c > OPS_PARALLEL_WORK)
	for (int y = 0; y < src->height; y++) {
		const uint8_t *row = src->data + (size_t)y * src->width * c;
		float *out = tmp + (size_t)y * dw * c;
		if (!used[y])
			continue;
		switch (c) {
		case 1: resample_row(row, out, tx, dw, 1); break;
		case 3: resample_row(row, out, tx, dw, 3); break;
		default: resample_row(row, out, tx, dw, c); break;
		}
	}
}

/* dst = tmp resampled along y: whole rows at a time, so that the inner
 * loops run over contiguous floats and vectorise. acc is one row of floats
 * per thread, allocated once per thread. */
static int resample_cols(const float *tmp, const struct taps *ty, aoi_image *dst)
{
	size_t stride = (size_t)dst->width * dst->channels;
	int failed = 0;

#pragma omp parallel if ((long)dst->height * stride > OPS_PARALLEL_WORK)
	{
		float *acc = malloc(stride * sizeof *acc);
		if (!acc) {
#pragma omp atomic write
			failed = 1;
		}
#pragma omp for schedule(static)
		for (int y = 0; y < dst->height; y++) {
			if (!acc)
				continue;
			const int *idx = ty->index + y * ty->n;
			const float *w = ty->weight + y * ty->n;
			/* zero-weight taps name rows that were never computed */
			int k0 = 0;
			while (k0 < ty->n - 1 && w[k0] == 0)
				k0++;
			const float *r0 = tmp + idx[k0] * stride;
			if (w[k0] == 0)
				memset(acc, 0, stride * sizeof *acc);
			else
				for (size_t i = 0; i < stride; i++)
					acc[i] = w[k0] * r0[i];
			for (int k = k0 + 1; k < ty->n; k++) {
				const float *r = tmp + idx[k] * stride;
				if (w[k] == 0)
					continue;
				for (size_t i = 0; i < stride; i++)
					acc[i] += w[k] * r[i];
			}
			uint8_t *out = dst->data + y * stride;
			for (size_t i = 0; i < stride; i++)
				out[i] = round_sample(acc[i]);
		}
		free(acc);
	}
	return failed ? -1 : 0;
}

static int resize_separable(const aoi_image *src, aoi_image *dst,
			    enum aoi_resize_mode mode, aoi_error *err)
{
	struct taps tx = {0}, ty = {0};
	float *tmp = NULL;
	uint8_t *used = NULL;
	int rc = -1;
	int (*make)(struct taps *, int, int) =
		mode == AOI_RESIZE_AREA ? taps_area : taps_bilinear;

	if (make(&tx, src->width, dst->width) == 0 &&
	    make(&ty, src->height, dst->height) == 0 &&
	    (used = calloc(src->height, 1)) != NULL)
		tmp = malloc((size_t)src->height * dst->width * src->channels * sizeof *tmp);
	if (tmp) {
		for (int i = 0; i < dst->height * ty.n; i++)
			used[ty.index[i]] |= ty.weight[i] != 0;
		resample_rows(src, &tx, used, tmp, dst->width);
		rc = resample_cols(tmp, &ty, dst);
	}
	if (rc != 0) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory resizing");
	}
	free(tmp);
	free(used);
	taps_free(&tx);
	taps_free(&ty);
	return rc;
}

/* Source index under the centre of destination i: floor((i + 0.5) * s / d). */
static int nearest_index(int i, int src_len, int dst_len)
{
	long j = ((2L * i + 1) * src_len) / (2L * dst_len);

	return j < src_len ? (int)j : src_len - 1;
}

static int resize_nearest(const aoi_image *src, aoi_image *dst, aoi_error *err)
{
	int c = src->channels;
	int *xs = malloc((size_t)dst->width * sizeof *xs);

	if (!xs)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory resizing");
	for (int x = 0; x < dst->width; x++)
		xs[x] = nearest_index(x, src->width, dst->width) * c;
	for (int y = 0; y < dst->height; y++) {
		const uint8_t *row = src->data +
				     (size_t)nearest_index(y, src->height, dst->height) *
					     src->width * c;
		uint8_t *out = dst->data + (size_t)y * dst->width * c;
		if (c == 1)
			for (int x = 0; x < dst->width; x++)
				out[x] = row[xs[x]];
		else if (c == 3)
			for (int x = 0; x < dst->width; x++, out += 3) {
				out[0] = row[xs[x]];
				out[1] = row[xs[x] + 1];
				out[2] = row[xs[x] + 2];
			}
		else
			for (int x = 0; x < dst->width; x++)
				memcpy(out + x * c, row + xs[x], c);
	}
	free(xs);
	return 0;
}

int aoi_image_resize(const aoi_image *src, aoi_image *dst, int width, int height,
		     enum aoi_resize_mode mode, aoi_error *err)
{
	int rc;

	if (ops_begin(src, dst, err) != 0)
		return -1;
	if (mode != AOI_RESIZE_NEAREST && mode != AOI_RESIZE_BILINEAR &&
	    mode != AOI_RESIZE_AREA)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "unknown resize mode %d", mode);
	if (aoi_image_alloc(dst, width, height, src->channels, err) != 0)
		return -1;
	if (width == src->width && height == src->height) {
		memcpy(dst->data, src->data, (size_t)width * height * src->channels);
		return 0;
	}
	rc = mode == AOI_RESIZE_NEAREST ? resize_nearest(src, dst, err)
					: resize_separable(src, dst, mode, err);
	if (rc != 0)
		aoi_image_release(dst);
	return rc;
}

/* ---- crop, pad, convert ---- */

int aoi_image_crop(const aoi_image *src, aoi_image *dst, int x, int y, int width,
		   int height, uint8_t fill, aoi_error *err)
{
	int c;

	if (ops_begin(src, dst, err) != 0 ||
	    aoi_image_alloc(dst, width, height, src->channels, err) != 0)
		return -1;
	c = src->channels;
	memset(dst->data, fill, (size_t)width * height * c);
	/* The part of the rectangle inside src, in src coordinates; long
	 * arithmetic so that far-away rectangles cannot overflow. */
	long x0 = x > 0 ? x : 0, y0 = y > 0 ? y : 0;
	long x1 = (long)x + width < src->width ? (long)x + width : src->width;
	long y1 = (long)y + height < src->height ? (long)y + height : src->height;
	for (long sy = y0; sy < y1 && x0 < x1; sy++)
		memcpy(dst->data + ((size_t)(sy - y) * width + (size_t)(x0 - x)) * c,
		       src->data + ((size_t)sy * src->width + x0) * c,
		       (size_t)(x1 - x0) * c);
	return 0;
}

int aoi_image_pad(const aoi_image *src, aoi_image *dst, int top, int right,
		  int bottom, int left, uint8_t fill, aoi_error *err)
{
	long w, h;

	if (!src || !src->data)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "no image to pad");
	w = (long)src->width + left + right;
	h = (long)src->height + top + bottom;
	if (w <= 0 || h <= 0 || w > AOI_IMAGE_MAX_DIM || h > AOI_IMAGE_MAX_DIM)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "padding gives a %ldx%ld image", w, h);
	return aoi_image_crop(src, dst, -left, -top, (int)w, (int)h, fill, err);
}

static void gray_from_rgb(const aoi_image *src, aoi_image *dst)
{
	size_t n = (size_t)src->width * src->height;
	const uint8_t *s = src->data;

	for (size_t i = 0; i < n; i++, s += 3)
		dst->data[i] = (uint8_t)((299u * s[0] + 587u * s[1] + 114u * s[2] + 500) / 1000);
}

static void rgb_from_gray(const aoi_image *src, aoi_image *dst)
{
	size_t n = (size_t)src->width * src->height;
	uint8_t *d = dst->data;

	for (size_t i = 0; i < n; i++, d += 3)
		d[0] = d[1] = d[2] = src->data[i];
}

int aoi_image_convert(const aoi_image *src, aoi_image *dst, int channels,
		      aoi_error *err)
{
	if (ops_begin(src, dst, err) != 0)
		return -1;
	if (channels == src->channels)
		return aoi_image_copy(src, dst, err);
	if (!((src->channels == 1 && channels == 3) || (src->channels == 3 && channels == 1)))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "cannot convert %d channels to %d (only 1 <-> 3)",
				     src->channels, channels);
	if (aoi_image_alloc(dst, src->width, src->height, channels, err) != 0)
		return -1;
	if (channels == 1)
		gray_from_rgb(src, dst);
	else
		rgb_from_gray(src, dst);
	return 0;
}

int aoi_image_resize_in_place(aoi_image *img, int width, int height, aoi_error *err)
{
	aoi_image out = { 0 };

	if (img->width == width && img->height == height)
		return 0;
	if (aoi_image_resize(img, &out, width, height, AOI_RESIZE_AREA, err) < 0)
		return -1;
	aoi_image_release(img);
	*img = out;
	return 0;
}
