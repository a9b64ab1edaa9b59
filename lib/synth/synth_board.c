/* synth_board.c: drawn photos of a board with one chip, so that the
 * placement example needs no photos of its own: a green solder mask with
 * copper traces and pads, a dark chip body with silver pins and a pin-1
 * dot, uneven lighting and sensor noise. The chip's corners (top-left,
 * top-right, bottom-left, bottom-right of its body; pixel (x, y) spans
 * [x, x+1), as for boxes) and its mask (body and pins) come with it. */
#include "synth/synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "data/raster.h"
#include "data/record.h"

/* What each pixel shows, drawn back to front into one layer mask. */
enum layer { L_BOARD, L_TRACE, L_PAD, L_BODY, L_PIN, L_DOT, L_COUNT };

typedef struct chip {
	double cx, cy, a, bw, bh; /* centre, angle (radians), body size */
	int pins, four_sides;
	double pin_len, pin_w;
} chip;

void aoi_synth_board_opts_init(aoi_synth_board_opts *o)
{
	o->channels = 3;
}

/* Chip-local (u, v) to image coordinates (pixel (x, y) spans [x, x+1), as
 * in raster.h and in records). */
static void chip_point(const chip *c, double u, double v, double *x, double *y)
{
	*x = c->cx + u * cos(c->a) - v * sin(c->a);
	*y = c->cy + u * sin(c->a) + v * cos(c->a);
}

static void chip_rect(aoi_mask *m, const chip *c, double u0, double v0, double u1, double v1,
		      uint8_t value)
{
	double xy[8];

	chip_point(c, u0, v0, &xy[0], &xy[1]);
	chip_point(c, u1, v0, &xy[2], &xy[3]);
	chip_point(c, u1, v1, &xy[4], &xy[5]);
	chip_point(c, u0, v1, &xy[6], &xy[7]);
	aoi_raster_polygon(m, xy, 4, value);
}

/* Pins (or their pads, longer) along the left and right sides, and along
 * top and bottom for a four-sided package. */
static void chip_pins(aoi_mask *m, const chip *c, double extra, uint8_t value)
{
	double hw = c->bw / 2, hh = c->bh / 2, len = c->pin_len + extra, pw = c->pin_w + extra / 2;

	for (int k = 0; k < c->pins; k++) {
		double t = (k + 0.5) / c->pins - 0.5;
		double v = t * c->bh * 0.85, u = t * c->bw * 0.85;

		chip_rect(m, c, -hw - len, v - pw / 2, -hw + 1, v + pw / 2, value);
		chip_rect(m, c, hw - 1, v - pw / 2, hw + len, v + pw / 2, value);
		if (c->four_sides) {
			chip_rect(m, c, u - pw / 2, -hh - len, u + pw / 2, -hh + 1, value);
			chip_rect(m, c, u - pw / 2, hh - 1, u + pw / 2, hh + len, value);
		}
	}
}

/* Traces: straight runs across the board, some with a 45 degree jog. */
static void draw_traces(aoi_mask *m, aoi_rng *rng, int w, int h)
{
	int n = 6 + (int)aoi_rng_below(rng, 8);

	for (int k = 0; k < n; k++) {
		double width = aoi_rng_range(rng, 2.0, 5.0), at = aoi_rng_range(rng, 0.05, 0.95);
		double jog = aoi_rng_range(rng, 0.2, 0.8), step = aoi_rng_range(rng, -0.15, 0.15);
		int vertical = (int)aoi_rng_below(rng, 2);
		double len = vertical ? h : w, across = vertical ? w : h;
		double p[6] = { 0, at * across, jog * len, at * across,
				jog * len + fabs(step) * across, (at + step) * across };

		for (int s = 0; s < 2; s++) {
			double x0 = p[2 * s], y0 = p[2 * s + 1], x1 = p[2 * s + 2], y1 = p[2 * s + 3];
			if (vertical)
				aoi_raster_line(m, y0, x0, y1, x1, width, L_TRACE);
			else
				aoi_raster_line(m, x0, y0, x1, y1, width, L_TRACE);
		}
		double ex = p[4], ey = p[5];
		if (vertical)
			aoi_raster_line(m, ey, ex, ey, len, width, L_TRACE);
		else
			aoi_raster_line(m, ex, ey, len, ey, width, L_TRACE);
	}
}

static void random_chip(aoi_rng *rng, int w, int h, chip *c)
{
	c->bw = w * aoi_rng_range(rng, 0.22, 0.36);
	c->bh = h * aoi_rng_range(rng, 0.18, 0.30);
	c->cx = w * (0.5 + aoi_rng_range(rng, -0.08, 0.08));
	c->cy = h * (0.5 + aoi_rng_range(rng, -0.08, 0.08));
	c->a = aoi_rng_range(rng, -1.5, 1.5) * M_PI / 180;
	c->pins = 4 + (int)aoi_rng_below(rng, 6);
	c->four_sides = aoi_rng_below(rng, 3) == 0;
	c->pin_len = fmax(2.0, 0.07 * fmin(w, h) * aoi_rng_range(rng, 0.6, 1.0));
	c->pin_w = fmax(1.5, c->bh * 0.85 / c->pins * 0.5);
}

/* Colours of the layers, and the lighting: a gain that varies linearly
 * across the image, then noise. */
static void shade(aoi_image *img, const aoi_mask *layers, aoi_rng *rng)
{
	static const double base[L_COUNT][3] = {
		{ 38, 105, 52 }, { 70, 150, 72 }, { 196, 168, 96 },
		{ 34, 34, 38 }, { 190, 190, 196 }, { 90, 90, 96 },
	};
	double tint[3], gx = aoi_rng_range(rng, -0.35, 0.35), gy = aoi_rng_range(rng, -0.35, 0.35);
	double level = aoi_rng_range(rng, 0.8, 1.2), sigma = aoi_rng_range(rng, 3, 8);
	int w = img->width, h = img->height;

	for (int c = 0; c < 3; c++)
		tint[c] = aoi_rng_range(rng, 0.92, 1.08);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int l = layers->data[(size_t)y * w + x];
			double g = level * (1 + gx * (x / (double)w - 0.5) + gy * (y / (double)h - 0.5));
			uint8_t *px = img->data + ((size_t)y * w + x) * img->channels;
			double v[3];
			for (int c = 0; c < 3; c++)
				v[c] = base[l][c] * tint[c] * g + sigma * aoi_rng_normal(rng);
			if (img->channels == 1)
				v[0] = 0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2];
			for (int c = 0; c < img->channels; c++)
				px[c] = (uint8_t)(v[c] <= 0 ? 0 : v[c] >= 255 ? 255 : v[c] + 0.5);
		}
}

static int board_draw(aoi_rng *rng, int w, int h, int channels, aoi_image *img,
		      aoi_mask *mask, double corners[8], aoi_error *err)
{
	aoi_mask layers = { 0 };
	chip c;

	if (w < 32 || h < 32)
		return aoi_error_set(err, AOI_EINVAL, "", 0, "boards must be at least 32x32");
	if (aoi_mask_alloc(&layers, w, h, err) < 0)
		return -1;
	if (aoi_image_alloc(img, w, h, channels, err) < 0 || aoi_mask_alloc(mask, w, h, err) < 0) {
		aoi_mask_release(&layers);
		aoi_image_release(img);
		return -1;
	}
	random_chip(rng, w, h, &c);
	draw_traces(&layers, rng, w, h);
	chip_pins(&layers, &c, 3.0, L_PAD);
	chip_pins(&layers, &c, 0.0, L_PIN);
	chip_rect(&layers, &c, -c.bw / 2, -c.bh / 2, c.bw / 2, c.bh / 2, L_BODY);
	double dx, dy, r = fmax(1.5, fmin(c.bw, c.bh) * 0.07);
	chip_point(&c, -c.bw / 2 + 2.5 * r, -c.bh / 2 + 2.5 * r, &dx, &dy);
	aoi_raster_ellipse(&layers, dx, dy, r, r, 0, L_DOT);
	shade(img, &layers, rng);
	for (size_t i = 0; i < (size_t)w * h; i++)
		mask->data[i] = layers.data[i] >= L_BODY;
	chip_point(&c, -c.bw / 2, -c.bh / 2, &corners[0], &corners[1]);
	chip_point(&c, c.bw / 2, -c.bh / 2, &corners[2], &corners[3]);
	chip_point(&c, -c.bw / 2, c.bh / 2, &corners[4], &corners[5]);
	chip_point(&c, c.bw / 2, c.bh / 2, &corners[6], &corners[7]);
	aoi_mask_release(&layers);
	return 0;
}

int aoi_synth_board_draw(aoi_rng *rng, int w, int h, aoi_image *img, aoi_mask *mask,
			 double corners[8], aoi_error *err)
{
	return board_draw(rng, w, h, 3, img, mask, corners, err);
}

typedef struct board_ctx {
	const aoi_synth_job *job;
	const aoi_synth_board_opts *o;
	int w, h;
	aoi_classes classes; /* component */
} board_ctx;

static int make_board(void *ctxp, long i, aoi_rng *rng, json_t **out, aoi_error *err)
{
	const board_ctx *c = ctxp;
	aoi_image img = { 0 };
	aoi_mask mask = { 0 };
	double corners[8];
	char name[64], id[64], rel[4096];

	if (board_draw(rng, c->w, c->h, c->o->channels, &img, &mask, corners, err) < 0)
		return -1;
	snprintf(id, sizeof id, "board-%03ld", i);
	snprintf(name, sizeof name, "board_%03ld.png", i);
	if (aoi_synth_record_path(c->job, name, rel, sizeof rel, err) < 0) {
		aoi_image_release(&img);
		return -1;
	}
	json_t *rec = aoi_synth_record_new(id, rel, &img);
	json_object_set_new(rec, "label", json_string("good"));
	json_object_set_new(rec, "source", json_string(id));
	json_object_set_new(rec, "keypoints", aoi_synth_points_json(corners, 4));
	json_object_set_new(rec, "classes", aoi_classes_to_json(&c->classes));
	int rc = aoi_record_set_masks(rec, &mask, &c->classes, err);
	aoi_mask_release(&mask);
	return aoi_synth_finish(c->job, rc, name, &img, rec, out, err);
}

int aoi_synth_board(const aoi_synth_job *job, const aoi_synth_board_opts *o, aoi_error *err)
{
	board_ctx c = { job, o, job->width ? job->width : 256, job->height ? job->height : 256, { 0 } };

	if (o->channels != 1 && o->channels != 3)
		return aoi_error_set(err, AOI_EINVAL, "", 0, "channels must be 1 or 3");
	aoi_classes_init(&c.classes);
	aoi_classes_add(&c.classes, "component");
	int rc = aoi_synth_run(job, job->n, make_board, &c, err);
	aoi_classes_release(&c.classes);
	return rc;
}
