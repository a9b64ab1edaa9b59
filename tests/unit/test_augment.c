/* test_augment.c: a transform moves annotations with the pixels. A bright
 * dot drawn at a keypoint lands where aoi_augment_point says; a mask and an
 * image of the same rectangle stay together; boxes cover their mask. */
#include <stdlib.h>

#include "check.h"
#include "data/augment.h"

/* The images here are built by hand so that this test needs nothing from
 * image.c or mask.c: the structs are plain data (data freed with free). */
static aoi_image gray(int w, int h, int ch, uint8_t v)
{
	aoi_image img = { w, h, ch, malloc((size_t)w * h * ch) };

	memset(img.data, v, (size_t)w * h * ch);
	return img;
}

/* A cone of brightness at (kx, ky), peak 255 at the point itself, so that
 * after any resampling the brightest pixel is the one nearest the point. */
static void draw_dot(aoi_image *img, double kx, double ky, double radius)
{
	for (int y = 0; y < img->height; y++)
		for (int x = 0; x < img->width; x++) {
			double d = hypot(x - kx, y - ky);
			if (d < radius)
				img->data[(size_t)y * img->width + x] = (uint8_t)(255 * (1 - d / radius) + 0.5);
		}
}

static void brightest(const aoi_image *img, int *bx, int *by)
{
	int best = -1;

	for (int y = 0; y < img->height; y++)
		for (int x = 0; x < img->width; x++)
			if (img->data[(size_t)y * img->width + x] > best) {
				best = img->data[(size_t)y * img->width + x];
				*bx = x;
				*by = y;
			}
}

static aoi_augment_opts all_on(void)
{
	aoi_augment_opts o;

	aoi_augment_opts_init(&o);
	o.hflip = o.vflip = 1;
	o.rotate = 30;
	o.crop = 0.8;
	o.zoom_lo = 0.8;
	o.zoom_hi = 1.2;
	o.shift = 0.05;
	return o;
}

static void test_identity(void)
{
	aoi_augment_opts o;
	aoi_augment a;
	aoi_rng rng;
	aoi_image src = gray(37, 23, 3, 0), dst = { 0 };
	aoi_error err;

	for (size_t i = 0; i < (size_t)37 * 23 * 3; i++)
		src.data[i] = (uint8_t)(i * 7 + i / 5);
	aoi_augment_opts_init(&o);
	aoi_rng_seed(&rng, 1);
	aoi_augment_draw(&o, &rng, 37, 23, 37, 23, &a);
	CHECK(aoi_augment_image(&a, &src, &dst, &err) == 0);
	CHECK(dst.width == 37 && dst.height == 23 && dst.channels == 3);
	CHECK(memcmp(src.data, dst.data, (size_t)37 * 23 * 3) == 0);
	double x = 5, y = 7;
	aoi_augment_point(&a, &x, &y);
	CHECK_NEAR(x, 5, 1e-9);
	CHECK_NEAR(y, 7, 1e-9);
	free(src.data);
	free(dst.data);
}

static void test_hflip(void)
{
	aoi_augment_opts o;
	aoi_augment a;
	aoi_rng rng;
	aoi_image src = gray(8, 4, 1, 0), dst = { 0 };
	int flipped = 0, kept = 0;

	for (int i = 0; i < 32; i++)
		src.data[i] = (uint8_t)(i * 8);
	aoi_augment_opts_init(&o);
	o.hflip = 1;
	aoi_rng_seed(&rng, 2);
	for (int t = 0; t < 20; t++) {
		aoi_augment_draw(&o, &rng, 8, 4, 8, 4, &a);
		CHECK(aoi_augment_image(&a, &src, &dst, NULL) == 0);
		int is_flip = a.fwd[0] < 0;
		int ok = 1;
		for (int y = 0; y < 4; y++)
			for (int x = 0; x < 8; x++)
				ok &= dst.data[y * 8 + x] == src.data[y * 8 + (is_flip ? 7 - x : x)];
		CHECK(ok);
		flipped += is_flip;
		kept += !is_flip;
	}
	CHECK(flipped > 0 && kept > 0); /* probability 1/2 each way */
	free(src.data);
	free(dst.data);
}

/* rot90: every quarter turn comes up, and each moves pixels exactly onto
 * pixels (a square image; no interpolation blur). */
static void test_rot90(void)
{
	enum { N = 6 };
	aoi_augment_opts o;
	aoi_augment a;
	aoi_rng rng;
	aoi_image src = gray(N, N, 1, 0), dst = { 0 };
	int seen[4] = { 0 };

	for (int i = 0; i < N * N; i++)
		src.data[i] = (uint8_t)(i * 7);
	aoi_augment_opts_init(&o);
	o.rot90 = 1;
	aoi_rng_seed(&rng, 3);
	for (int t = 0; t < 40; t++) {
		aoi_augment_draw(&o, &rng, N, N, N, N, &a);
		CHECK(aoi_augment_image(&a, &src, &dst, NULL) == 0);
		/* which turn: where the source's (0, 0) corner went */
		double x = 0, y = 0;
		aoi_augment_point(&a, &x, &y);
		int q = x < 1 && y < 1 ? 0 : x > 1 && y < 1 ? 1 : x > 1 ? 2 : 3;
		int ok = 1;
		for (int yy = 0; yy < N; yy++)
			for (int xx = 0; xx < N; xx++) {
				double sx = xx, sy = yy;
				aoi_augment_point(&a, &sx, &sy);
				int ox = (int)lround(sx), oy = (int)lround(sy);
				ok &= fabs(sx - ox) < 1e-9 && fabs(sy - oy) < 1e-9 &&
				      dst.data[oy * N + ox] == src.data[yy * N + xx];
			}
		CHECK_MSG(ok, "turn %d does not move pixels onto pixels", q);
		seen[q]++;
	}
	CHECK(seen[0] && seen[1] && seen[2] && seen[3]);
	free(src.data);
	free(dst.data);
}

/* The heart of it: a dot at a keypoint, augmented, is brightest at the
 * augmented keypoint, for many random transforms and output sizes. */
static void test_keypoint_follows_pixels(void)
{
	aoi_augment_opts o = all_on();
	aoi_rng rng;
	int bad = 0, tried = 0;

	aoi_rng_seed(&rng, 3);
	for (int t = 0; t < 60; t++) {
		int w = 64 + (int)aoi_rng_below(&rng, 64), h = 48 + (int)aoi_rng_below(&rng, 64);
		int ow = t % 2 ? w : 64, oh = t % 2 ? h : 64;
		double kx = w * aoi_rng_range(&rng, 0.35, 0.65), ky = h * aoi_rng_range(&rng, 0.35, 0.65);
		aoi_image src = gray(w, h, 1, 10), dst = { 0 };
		aoi_augment a;
		int bx = -1, by = -1;

		draw_dot(&src, kx, ky, 6);
		aoi_augment_draw(&o, &rng, w, h, ow, oh, &a);
		CHECK(aoi_augment_image(&a, &src, &dst, NULL) == 0);
		double x = kx, y = ky;
		aoi_augment_point(&a, &x, &y);
		if (x >= 1 && y >= 1 && x < ow - 1 && y < oh - 1) {
			tried++;
			brightest(&dst, &bx, &by);
			if (fabs(bx - x) > 1.0 || fabs(by - y) > 1.0) {
				bad++;
				fprintf(stderr, "dot at (%d,%d), keypoint at (%.2f,%.2f)\n", bx, by, x, y);
			}
		}
		free(src.data);
		free(dst.data);
	}
	CHECK(tried > 40);
	CHECK_INT(bad, 0);
}

static void test_inverse(void)
{
	aoi_augment_opts o = all_on();
	aoi_augment a;
	aoi_rng rng;

	aoi_rng_seed(&rng, 4);
	aoi_augment_draw(&o, &rng, 100, 80, 50, 60, &a);
	double x = 12.5, y = 33.25;
	aoi_augment_point(&a, &x, &y);
	double bx = a.inv[0] * x + a.inv[1] * y + a.inv[2];
	double by = a.inv[3] * x + a.inv[4] * y + a.inv[5];
	CHECK_NEAR(bx, 12.5, 1e-9);
	CHECK_NEAR(by, 33.25, 1e-9);
}

/* A rectangle as mask and as image: after the same transform the mask is
 * set exactly where the image is bright (up to the one-pixel rim that
 * bilinear blending blurs), and the box of the rectangle covers the mask. */
static void test_mask_and_box(void)
{
	aoi_augment_opts o = all_on();
	aoi_rng rng;

	aoi_rng_seed(&rng, 5);
	for (int t = 0; t < 20; t++) {
		int w = 90, h = 70, x1 = 30, y1 = 20, x2 = 61, y2 = 45;
		aoi_image src = gray(w, h, 1, 0), dst = { 0 };
		aoi_mask m = { w, h, calloc((size_t)w * h, 1) }, md = { 0 };
		aoi_augment a;

		for (int y = y1; y < y2; y++)
			for (int x = x1; x < x2; x++) {
				src.data[y * w + x] = 255;
				m.data[y * w + x] = 3;
			}
		aoi_augment_draw(&o, &rng, w, h, 80, 80, &a);
		CHECK(aoi_augment_image(&a, &src, &dst, NULL) == 0);
		CHECK(aoi_augment_mask(&a, &m, &md, NULL) == 0);
		double box[4] = { x1, y1, x2, y2 };
		CHECK(aoi_augment_box(&a, box) == 1);
		long disagree = 0, outside = 0, set = 0;
		for (int y = 0; y < 80; y++)
			for (int x = 0; x < 80; x++) {
				int mv = md.data[y * 80 + x];
				int bright = dst.data[y * 80 + x] > 127;
				CHECK(mv == 0 || mv == 3);
				set += mv != 0;
				disagree += (mv != 0) != bright;
				if (mv && (x + 0.5 < box[0] || x + 0.5 > box[2] || y + 0.5 < box[1] || y + 0.5 > box[3]))
					outside++;
			}
		CHECK(set > 300);
		CHECK_MSG(disagree <= set / 10, "%ld of %ld disagree", disagree, set);
		CHECK_INT(outside, 0);
		free(src.data);
		free(dst.data);
		free(m.data);
		free(md.data);
	}
}

static void test_box_clipped_and_gone(void)
{
	aoi_augment_opts o;
	aoi_augment a;
	aoi_rng rng;

	aoi_augment_opts_init(&o);
	aoi_rng_seed(&rng, 6);
	aoi_augment_draw(&o, &rng, 100, 100, 50, 50, &a); /* halves everything */
	double box[4] = { 10, 20, 30, 60 };
	CHECK(aoi_augment_box(&a, box) == 1);
	CHECK_NEAR(box[0], 5, 1e-9);
	CHECK_NEAR(box[1], 10, 1e-9);
	CHECK_NEAR(box[2], 15, 1e-9);
	CHECK_NEAR(box[3], 30, 1e-9);
	double off[4] = { 120, 120, 140, 140 };
	CHECK(aoi_augment_box(&a, off) == 0);
	double part[4] = { 90, 90, 140, 140 };
	CHECK(aoi_augment_box(&a, part) == 1);
	CHECK_NEAR(part[2], 50, 1e-9);
}

static void test_photometric_and_seed(void)
{
	aoi_augment_opts o = all_on();
	aoi_augment a, b;
	aoi_rng r1, r2;
	aoi_image src = gray(16, 16, 1, 100), dst = { 0 };

	o.brightness = 20;
	o.contrast = 0.3;
	aoi_rng_seed(&r1, 7);
	aoi_rng_seed(&r2, 7);
	aoi_augment_draw(&o, &r1, 16, 16, 16, 16, &a);
	aoi_augment_draw(&o, &r2, 16, 16, 16, 16, &b);
	CHECK(memcmp(&a, &b, sizeof a) == 0);
	CHECK(a.gain >= 0.7 && a.gain <= 1.3);
	CHECK(a.offset >= -20 && a.offset <= 20);
	CHECK(aoi_augment_image(&a, &src, &dst, NULL) == 0);
	double want = a.gain * 100 + a.offset;
	CHECK_NEAR(dst.data[8 * 16 + 8], want, 0.51);
	/* a second call on the same dst releases the first pixels (ASan) */
	CHECK(aoi_augment_image(&a, &src, &dst, NULL) == 0);
	free(src.data);
	free(dst.data);
}

static void test_errors(void)
{
	aoi_augment_opts o;
	aoi_augment a;
	aoi_rng rng;
	aoi_image empty = { 0 }, dst = { 0 };
	aoi_mask mempty = { 0 }, mdst = { 0 };
	aoi_error err;

	aoi_augment_opts_init(&o);
	aoi_rng_seed(&rng, 8);
	aoi_augment_draw(&o, &rng, 10, 10, 10, 10, &a);
	CHECK(aoi_augment_image(&a, &empty, &dst, &err) == -1);
	CHECK(err.code == AOI_ESHAPE);
	CHECK(aoi_augment_mask(&a, &mempty, &mdst, &err) == -1);
	aoi_augment_draw(&o, &rng, 10, 10, 0, 10, &a);
	aoi_image src = gray(10, 10, 1, 0);
	CHECK(aoi_augment_image(&a, &src, &dst, &err) == -1);
	CHECK(dst.data == NULL);
	free(src.data);
}

int main(void)
{
	test_identity();
	test_hflip();
	test_rot90();
	test_keypoint_follows_pixels();
	test_inverse();
	test_mask_and_box();
	test_box_clipped_and_gone();
	test_photometric_and_seed();
	test_errors();
	return check_done();
}
