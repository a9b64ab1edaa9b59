/* synth_inpaint.c: fill a hole in an image from its surroundings, so that
 * a component can be cut out of a photo and pasted back elsewhere.
 *
 * First the hole is peeled from its border inwards: each pass gives every
 * hole pixel that touches known pixels the mean of those neighbours. Then
 * Gauss-Seidel diffusion (each pixel the mean of its four neighbours, the
 * border held) smooths the seams the peeling leaves. Last, noise as strong
 * as the surroundings' is added, so that the patch is not the one smooth
 * place in a grainy photo. Works on the hole's bounding box only. */
#include "synth/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct hole_box {
	int x1, y1, x2, y2; /* x2, y2 exclusive */
} hole_box;

static int find_box(const aoi_mask *hole, hole_box *b)
{
	b->x1 = hole->width;
	b->y1 = hole->height;
	b->x2 = b->y2 = 0;
	for (int y = 0; y < hole->height; y++)
		for (int x = 0; x < hole->width; x++)
			if (hole->data[(size_t)y * hole->width + x]) {
				if (x < b->x1) b->x1 = x;
				if (y < b->y1) b->y1 = y;
				if (x >= b->x2) b->x2 = x + 1;
				if (y >= b->y2) b->y2 = y + 1;
			}
	return b->x2 > b->x1;
}

/* One peeling pass over channel-interleaved float pixels f with known
 * flags; returns how many pixels became known. */
static long peel_pass(float *f, uint8_t *known, uint8_t *next, int w, int h, int ch,
		      const hole_box *b)
{
	long added = 0;

	memcpy(next, known, (size_t)w * h);
	for (int y = b->y1; y < b->y2; y++)
		for (int x = b->x1; x < b->x2; x++) {
			size_t i = (size_t)y * w + x;
			if (known[i])
				continue;
			float sum[4] = { 0 };
			int n = 0;
			for (int dy = -1; dy <= 1; dy++)
				for (int dx = -1; dx <= 1; dx++) {
					int nx = x + dx, ny = y + dy;
					if (nx < 0 || ny < 0 || nx >= w || ny >= h || !known[(size_t)ny * w + nx])
						continue;
					for (int c = 0; c < ch; c++)
						sum[c] += f[((size_t)ny * w + nx) * ch + c];
					n++;
				}
			if (!n)
				continue;
			for (int c = 0; c < ch; c++)
				f[i * ch + c] = sum[c] / n;
			next[i] = 1;
			added++;
		}
	memcpy(known, next, (size_t)w * h);
	return added;
}

static void diffuse(float *f, const aoi_mask *hole, int ch, const hole_box *b, int iters)
{
	int w = hole->width, h = hole->height;

	for (int it = 0; it < iters; it++)
		for (int y = b->y1; y < b->y2; y++)
			for (int x = b->x1; x < b->x2; x++) {
				size_t i = (size_t)y * w + x;
				if (!hole->data[i])
					continue;
				int xl = x > 0 ? x - 1 : x, xr = x < w - 1 ? x + 1 : x;
				int yu = y > 0 ? y - 1 : y, yd = y < h - 1 ? y + 1 : y;
				for (int c = 0; c < ch; c++)
					f[i * ch + c] = 0.25f * (f[((size_t)y * w + xl) * ch + c] +
								 f[((size_t)y * w + xr) * ch + c] +
								 f[((size_t)yu * w + x) * ch + c] +
								 f[((size_t)yd * w + x) * ch + c]);
			}
}

/* The pixel noise of channel c near the hole: the residual of each known
 * pixel against the mean of its four known neighbours has 5/4 of the noise
 * variance when the noise is white. */
static double ring_noise(const float *f, const aoi_mask *hole, int ch, int c, const hole_box *b)
{
	int w = hole->width, h = hole->height;
	double sum = 0;
	long n = 0;

	for (int y = b->y1 - 4; y < b->y2 + 4; y++)
		for (int x = b->x1 - 4; x < b->x2 + 4; x++) {
			if (x < 1 || y < 1 || x >= w - 1 || y >= h - 1)
				continue;
			size_t i = (size_t)y * w + x;
			if (hole->data[i] || hole->data[i - 1] || hole->data[i + 1] || hole->data[i - w] ||
			    hole->data[i + w])
				continue;
			double r = f[i * ch + c] - 0.25 * (f[(i - 1) * ch + c] + f[(i + 1) * ch + c] +
							   f[(i - w) * ch + c] + f[(i + w) * ch + c]);
			sum += r * r;
			n++;
		}
	return n ? sqrt(sum / n / 1.25) : 0;
}

static void add_noise(float *f, const aoi_mask *hole, int ch, const hole_box *b)
{
	double sigma[4];
	aoi_rng rng;

	for (int c = 0; c < ch; c++)
		sigma[c] = ring_noise(f, hole, ch, c, b);
	aoi_rng_seed(&rng, ((uint64_t)b->x1 << 32) ^ ((uint64_t)b->y1 << 16) ^ (uint64_t)b->x2);
	for (int y = b->y1; y < b->y2; y++)
		for (int x = b->x1; x < b->x2; x++) {
			size_t i = (size_t)y * hole->width + x;
			if (hole->data[i])
				for (int c = 0; c < ch; c++)
					f[i * ch + c] += (float)(sigma[c] * aoi_rng_normal(&rng));
		}
}

int aoi_synth_inpaint(aoi_image *img, const aoi_mask *hole, aoi_error *err)
{
	int w = img->width, h = img->height, ch = img->channels;
	hole_box b;

	if (hole->width != w || hole->height != h || ch > 4)
		return aoi_error_set(err, AOI_ESHAPE, "", 0, "inpaint: hole %dx%d for image %dx%dx%d",
				     hole->width, hole->height, w, h, ch);
	if (!find_box(hole, &b))
		return 0;
	if (b.x1 == 0 && b.y1 == 0 && b.x2 == w && b.y2 == h &&
	    aoi_mask_count(hole, -1) == (long)w * h)
		return aoi_error_set(err, AOI_EINVAL, "", 0, "inpaint: the hole is the whole image");
	float *f = malloc(sizeof *f * (size_t)w * h * ch);
	uint8_t *known = malloc((size_t)w * h), *next = malloc((size_t)w * h);
	if (!f || !known || !next) {
		free(f), free(known), free(next);
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	}
	for (size_t i = 0; i < (size_t)w * h * ch; i++)
		f[i] = img->data[i];
	for (size_t i = 0; i < (size_t)w * h; i++)
		known[i] = !hole->data[i];
	while (peel_pass(f, known, next, w, h, ch, &b) > 0)
		;
	diffuse(f, hole, ch, &b, 60);
	add_noise(f, hole, ch, &b);
	for (size_t i = 0; i < (size_t)w * h; i++)
		if (hole->data[i])
			for (int c = 0; c < ch; c++) {
				float v = f[i * ch + c] + 0.5f;
				img->data[i * ch + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
			}
	free(f), free(known), free(next);
	return 0;
}
