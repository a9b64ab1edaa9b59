/* augment.c: one random geometric + photometric transform per sample,
 * applied alike to the image, its template, its mask, its boxes and its
 * keypoints.
 *
 * Coordinates: the transform works in pixel-index coordinates, pixel (x, y)
 * having its centre at (x, y), as the header says ("output pixel (x, y)
 * samples the source at inv(x, y)"), and aoi_augment_point maps such
 * points. Records' boxes and keypoints span pixels ([x, x+1) is pixel x),
 * so their coordinates sit half a pixel before the centres: callers shift
 * keypoints by -0.5 / +0.5 around aoi_augment_point (as the loader does),
 * and aoi_augment_box does it itself.
 *
 * The forward map, source point p to output point q, is
 *     q = oc + t + z * R(theta) * F * S * (p - c)
 * with c the centre of a random crop window in the source, S the scale that
 * takes that window to the output size, F the flips, R the rotation, z the
 * zoom and t the shift; oc is the output centre. */
#include "data/augment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void aoi_augment_opts_init(aoi_augment_opts *o)
{
	memset(o, 0, sizeof *o);
	o->crop = 1.0;
	o->zoom_lo = o->zoom_hi = 1.0;
}

/* The inverse of the affine map m (2x3, row-major); m is invertible here
 * because every factor above is (scales are > 0). */
static void affine_invert(const double m[6], double out[6])
{
	double det = m[0] * m[4] - m[1] * m[3];
	double a = m[4] / det, b = -m[1] / det, d = -m[3] / det, e = m[0] / det;

	out[0] = a;
	out[1] = b;
	out[2] = -(a * m[2] + b * m[5]);
	out[3] = d;
	out[4] = e;
	out[5] = -(d * m[2] + e * m[5]);
}

/* Every random number is drawn whether or not its option is on, in a fixed
 * order, so that turning one option on does not change the others' draws. */
typedef struct draws {
	double share, cx, cy, fx, fy, theta, zoom, tx, ty, gain, offset;
	int quarter; /* turns by 90 degrees */
} draws;

static void draw_numbers(const aoi_augment_opts *o, aoi_rng *rng, draws *d)
{
	double crop = o->crop > 0 && o->crop < 1 ? o->crop : 1.0;
	double hflip = aoi_rng_uniform(rng), vflip = aoi_rng_uniform(rng);

	d->share = aoi_rng_range(rng, crop, 1.0);
	d->cx = aoi_rng_uniform(rng);
	d->cy = aoi_rng_uniform(rng);
	d->fx = o->hflip && hflip < 0.5 ? -1.0 : 1.0;
	d->fy = o->vflip && vflip < 0.5 ? -1.0 : 1.0;
	d->theta = aoi_rng_range(rng, -o->rotate, o->rotate) * M_PI / 180.0;
	d->zoom = aoi_rng_range(rng, o->zoom_lo, o->zoom_hi);
	if (!(d->zoom > 0))
		d->zoom = 1.0;
	d->tx = aoi_rng_range(rng, -o->shift, o->shift);
	d->ty = aoi_rng_range(rng, -o->shift, o->shift);
	d->gain = 1.0 + aoi_rng_range(rng, -o->contrast, o->contrast);
	d->offset = aoi_rng_range(rng, -o->brightness, o->brightness);
	/* drawn last and only when asked for, so that specs without rot90
	 * draw what they did before it existed */
	d->quarter = o->rot90 ? (int)(aoi_rng_uniform(rng) * 4) & 3 : 0;
}

void aoi_augment_draw(const aoi_augment_opts *o, aoi_rng *rng, int src_w, int src_h,
		      int out_w, int out_h, aoi_augment *a)
{
	draws d;

	draw_numbers(o, rng, &d);
	/* the crop window keeps the share `d.share` of each side and lies
	 * wholly inside the source */
	double cw = src_w * d.share, ch = src_h * d.share;
	double cx = (src_w - cw) * d.cx + cw / 2 - 0.5;
	double cy = (src_h - ch) * d.cy + ch / 2 - 0.5;
	double sx = out_w / cw * d.fx * d.zoom, sy = out_h / ch * d.fy * d.zoom;
	/* quarter turns exactly (cos and sin of k * pi / 2 are not), so
	 * that pixels land on pixels */
	static const double qc[4] = { 1, 0, -1, 0 }, qs[4] = { 0, 1, 0, -1 };
	double c0 = cos(d.theta), s0 = sin(d.theta);
	double c = c0 * qc[d.quarter] - s0 * qs[d.quarter];
	double s = s0 * qc[d.quarter] + c0 * qs[d.quarter];
	double ox = (out_w - 1) / 2.0 + d.tx * out_w;
	double oy = (out_h - 1) / 2.0 + d.ty * out_h;
	double *m = a->fwd;

	m[0] = c * sx;
	m[1] = -s * sy;
	m[3] = s * sx;
	m[4] = c * sy;
	m[2] = ox - (m[0] * cx + m[1] * cy);
	m[5] = oy - (m[3] * cx + m[4] * cy);
	affine_invert(a->fwd, a->inv);
	a->out_w = out_w;
	a->out_h = out_h;
	a->gain = d.gain;
	a->offset = d.offset;
}

void aoi_augment_point(const aoi_augment *a, double *x, double *y)
{
	const double *m = a->fwd;
	double px = *x, py = *y;

	*x = m[0] * px + m[1] * py + m[2];
	*y = m[3] * px + m[4] * py + m[5];
}

int aoi_augment_box(const aoi_augment *a, double box[4])
{
	double xs[4] = { box[0], box[2], box[2], box[0] };
	double ys[4] = { box[1], box[1], box[3], box[3] };
	double x1 = INFINITY, y1 = INFINITY, x2 = -INFINITY, y2 = -INFINITY;

	for (int i = 0; i < 4; i++) {
		/* edges to centre coordinates, map, and back */
		double x = xs[i] - 0.5, y = ys[i] - 0.5;

		aoi_augment_point(a, &x, &y);
		x1 = fmin(x1, x + 0.5);
		y1 = fmin(y1, y + 0.5);
		x2 = fmax(x2, x + 0.5);
		y2 = fmax(y2, y + 0.5);
	}
	box[0] = fmax(x1, 0.0);
	box[1] = fmax(y1, 0.0);
	box[2] = fmin(x2, (double)a->out_w);
	box[3] = fmin(y2, (double)a->out_h);
	return box[2] > box[0] && box[3] > box[1];
}

/* dst gets fresh zeroed storage; like the geometry calls of image.h, any old
 * data is released first (dst must be zeroed or hold a valid image). */
static int alloc_pixels(uint8_t **data, size_t n, aoi_error *err)
{
	free(*data);
	*data = calloc(n ? n : 1, 1);
	if (!*data)
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory (%zu bytes)", n);
	return 0;
}

static int check_out_size(const aoi_augment *a, aoi_error *err)
{
	if (a->out_w <= 0 || a->out_h <= 0 || a->out_w > 65535 || a->out_h > 65535)
		return aoi_error_set(err, AOI_ESHAPE, "", 0, "augment: bad output size %dx%d",
				     a->out_w, a->out_h);
	return 0;
}

/* A sample coordinate (already floored) to an index inside 0..n-1: the
 * border replicated, and no int overflow however far outside it lies. */
static inline int clamp_index(double v, int n)
{
	return !(v > 0) ? 0 : v >= n - 1 ? n - 1 : (int)v; /* NaN -> 0 */
}

static inline uint8_t to_byte(double v)
{
	return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)(v + 0.5);
}

/* One output row: bilinear with the border replicated, then v' = gain v +
 * offset. Walking the row adds the same step each pixel. */
static void image_row(const aoi_augment *a, const aoi_image *src, uint8_t *out, int y)
{
	const double *m = a->inv;
	double sx = m[1] * y + m[2], sy = m[4] * y + m[5];
	int w = src->width, h = src->height, ch = src->channels;

	for (int x = 0; x < a->out_w; x++, sx += m[0], sy += m[3]) {
		double fx = floor(sx), fy = floor(sy);
		double ax = sx - fx, ay = sy - fy;
		int x0 = clamp_index(fx, w), x1 = clamp_index(fx + 1, w);
		int y0 = clamp_index(fy, h), y1 = clamp_index(fy + 1, h);
		const uint8_t *p00 = src->data + ((size_t)y0 * w + x0) * ch;
		const uint8_t *p01 = src->data + ((size_t)y0 * w + x1) * ch;
		const uint8_t *p10 = src->data + ((size_t)y1 * w + x0) * ch;
		const uint8_t *p11 = src->data + ((size_t)y1 * w + x1) * ch;

		for (int c = 0; c < ch; c++) {
			double top = p00[c] + ax * (p01[c] - p00[c]);
			double bot = p10[c] + ax * (p11[c] - p10[c]);
			double v = top + ay * (bot - top);

			out[x * ch + c] = to_byte(a->gain * v + a->offset);
		}
	}
}

int aoi_augment_image(const aoi_augment *a, const aoi_image *src, aoi_image *dst,
		      aoi_error *err)
{
	if (!src->data || src->width <= 0 || src->height <= 0 || src->channels <= 0)
		return aoi_error_set(err, AOI_ESHAPE, "", 0, "augment: empty source image");
	if (check_out_size(a, err) < 0)
		return -1;
	size_t row = (size_t)a->out_w * src->channels;

	if (alloc_pixels(&dst->data, row * a->out_h, err) < 0)
		return -1;
	dst->width = a->out_w;
	dst->height = a->out_h;
	dst->channels = src->channels;
#pragma omp parallel for schedule(static) if ((size_t)a->out_h * row > 65536)
	for (int y = 0; y < a->out_h; y++)
		image_row(a, src, dst->data + row * y, y);
	return 0;
}

int aoi_augment_mask(const aoi_augment *a, const aoi_mask *src, aoi_mask *dst,
		     aoi_error *err)
{
	if (!src->data || src->width <= 0 || src->height <= 0)
		return aoi_error_set(err, AOI_ESHAPE, "", 0, "augment: empty source mask");
	if (check_out_size(a, err) < 0)
		return -1;
	if (alloc_pixels(&dst->data, (size_t)a->out_w * a->out_h, err) < 0)
		return -1;
	dst->width = a->out_w;
	dst->height = a->out_h;
	const double *m = a->inv;

#pragma omp parallel for schedule(static) if ((size_t)a->out_w * a->out_h > 65536)
	for (int y = 0; y < a->out_h; y++) {
		double sx = m[1] * y + m[2], sy = m[4] * y + m[5];
		uint8_t *out = dst->data + (size_t)y * a->out_w;

		for (int x = 0; x < a->out_w; x++, sx += m[0], sy += m[3]) {
			double rx = floor(sx + 0.5), ry = floor(sy + 0.5);

			if (rx >= 0 && ry >= 0 && rx < src->width && ry < src->height)
				out[x] = src->data[(size_t)ry * src->width + (size_t)rx];
		}
	}
	return 0;
}
