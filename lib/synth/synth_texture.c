/* synth_texture.c: a DAGM2007-like dataset (seed 001): classes of
 * procedural grayscale textures, 512x512 by default, about 8% of them with
 * one defect (scratch, blob or spot) and its mask. DAGM labels a defect by
 * an ellipse around it; --labels ellipse stores that, the default stores the
 * painted shape itself.
 *
 * Five texture families, cycled over the classes, each class with its own
 * parameters drawn from the seed: fBm clouds, oriented stripes, a weave,
 * cells (Worley) and speckle. Each image is a fresh realisation. */
#include "synth/synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "data/raster.h"
#include "data/record.h"

enum { FAMILIES = 5, MAX_CLASSES = 10 };

void aoi_synth_texture_opts_init(aoi_synth_texture_opts *o)
{
	o->classes = 6;
	o->defective = 0.08;
	o->labels = AOI_SYNTH_LABEL_SHAPE;
}

/* A class's look, fixed by the seed and the class index. */
typedef struct look {
	int family;
	double scale, mean, contrast, angle, period, roughness, density;
} look;

static void class_look(uint64_t class_seed, int k, look *l)
{
	aoi_rng base, r;

	aoi_rng_seed(&base, class_seed);
	aoi_rng_fork(&base, (uint64_t)k + 1000, &r);
	l->family = k % FAMILIES;
	l->scale = aoi_rng_range(&r, 6, 40);
	l->mean = aoi_rng_range(&r, 90, 160);
	l->contrast = aoi_rng_range(&r, 40, 90);
	l->angle = aoi_rng_range(&r, 0, M_PI);
	l->period = aoi_rng_range(&r, 6, 24);
	l->roughness = aoi_rng_range(&r, 0.4, 0.65);
	l->density = aoi_rng_range(&r, 0.01, 0.06);
}

/* Integer hash of a lattice point to [0, 1). */
static double lattice(int64_t x, int64_t y, uint64_t seed)
{
	uint64_t h = seed ^ ((uint64_t)x * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)y * 0xc2b2ae3d27d4eb4fULL);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (h >> 11) * 0x1.0p-53;
}

static double value_noise(double x, double y, uint64_t seed)
{
	double fx = floor(x), fy = floor(y);
	int64_t ix = (int64_t)fx, iy = (int64_t)fy;
	double u = x - fx, v = y - fy;

	u = u * u * (3 - 2 * u);
	v = v * v * (3 - 2 * v);
	double a = lattice(ix, iy, seed), b = lattice(ix + 1, iy, seed);
	double c = lattice(ix, iy + 1, seed), d = lattice(ix + 1, iy + 1, seed);
	return a + u * (b - a) + v * (c - a) + u * v * (a - b - c + d);
}

/* fractal Brownian motion: octaves of value noise, each twice as fine and
 * `rough` times as strong; about [0, 1]. */
static double fbm(double x, double y, uint64_t seed, int octaves, double rough)
{
	double sum = 0, amp = 1, norm = 0;

	for (int o = 0; o < octaves; o++) {
		sum += amp * value_noise(x, y, seed + (uint64_t)o * 7919);
		norm += amp;
		amp *= rough;
		x *= 2.03;
		y *= 2.03;
	}
	return sum / norm;
}

/* Distance to the nearest and second nearest feature point of a jittered
 * grid of unit cells. */
static void worley(double x, double y, uint64_t seed, double *f1, double *f2)
{
	int64_t ix = (int64_t)floor(x), iy = (int64_t)floor(y);

	*f1 = *f2 = 9;
	for (int64_t j = iy - 1; j <= iy + 1; j++)
		for (int64_t i = ix - 1; i <= ix + 1; i++) {
			double px = i + lattice(i, j, seed), py = j + lattice(i, j, seed + 1);
			double dd = hypot(px - x, py - y);
			if (dd < *f1) {
				*f2 = *f1;
				*f1 = dd;
			} else if (dd < *f2) {
				*f2 = dd;
			}
		}
}

/* One pixel of family l->family at (x, y); ca, sa = the image's own
 * orientation; seed = the image's noise. Returns a value around l->mean. */
static double texel(const look *l, double x, double y, double ca, double sa, uint64_t seed)
{
	double n = fbm(x / l->scale, y / l->scale, seed, 5, l->roughness) - 0.5;
	double u = x * ca + y * sa, v = -x * sa + y * ca;

	switch (l->family) {
	case 0: /* clouds */
		return l->mean + 2.2 * l->contrast * n;
	case 1: /* stripes, warped a little by the noise */
		return l->mean + 0.6 * l->contrast * sin(2 * M_PI * u / l->period + 3 * n) + 0.5 * l->contrast * n;
	case 2: { /* weave: threads alternate over and under in a checkerboard */
		double cu = floor(u / l->period), cv = floor(v / l->period);
		double fu = u / l->period - cu, fv = v / l->period - cv;
		int over = ((int64_t)cu + (int64_t)cv) & 1;
		double thread = over ? sin(M_PI * fv) : sin(M_PI * fu);
		return l->mean + l->contrast * (thread - 0.6) + 0.4 * l->contrast * n;
	}
	case 3: { /* cells: bright interiors, dark borders */
		double f1, f2;
		worley(x / (l->scale * 1.5), y / (l->scale * 1.5), seed + 99, &f1, &f2);
		return l->mean + l->contrast * (fmin(f2 - f1, 0.6) - 0.3) * 2 + 0.3 * l->contrast * n;
	}
	default: { /* speckle on a faint cloud */
		double s = lattice((int64_t)x, (int64_t)y, seed + 7);
		double dot = s < l->density ? 1.2 : s > 1 - l->density ? -1.2 : 0;
		return l->mean + 0.8 * l->contrast * n + 0.6 * l->contrast * dot;
	}
	}
}

int aoi_synth_texture_draw(uint64_t class_seed, int k, aoi_rng *rng, int w, int h,
			   aoi_image *img, aoi_error *err)
{
	look l;

	class_look(class_seed, k, &l);
	/* each image: its own noise, a slightly different orientation and a
	 * small brightness change, as repeated photos of one material */
	uint64_t seed = aoi_rng_next(rng);
	double a = l.angle + aoi_rng_range(rng, -0.15, 0.15), ca = cos(a), sa = sin(a);
	double gain = aoi_rng_range(rng, 0.9, 1.1);
	if (aoi_image_alloc(img, w, h, 1, err) < 0)
		return -1;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double v = gain * texel(&l, x, y, ca, sa, seed) + 2 * (lattice(x, y, seed + 3) - 0.5) * 6;
			img->data[(size_t)y * w + x] = (uint8_t)(v <= 0 ? 0 : v >= 255 ? 255 : v + 0.5);
		}
	return 0;
}

/* The smallest ellipse along the principal axes of the marked pixels that
 * covers all of them: DAGM's way of labelling a defect. */
static void ellipse_label(aoi_mask *m, uint8_t value)
{
	double n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;

	for (int y = 0; y < m->height; y++)
		for (int x = 0; x < m->width; x++)
			if (m->data[(size_t)y * m->width + x] == value) {
				n++, sx += x, sy += y, sxx += (double)x * x, syy += (double)y * y, sxy += (double)x * y;
			}
	if (n == 0)
		return;
	double mx = sx / n, my = sy / n, cxx = sxx / n - mx * mx + 1.0 / 12;
	double cyy = syy / n - my * my + 1.0 / 12, cxy = sxy / n - mx * my;
	double angle = 0.5 * atan2(2 * cxy, cxx - cyy), ca = cos(angle), sa = sin(angle);
	double a = sqrt(fmax(ca * ca * cxx + 2 * ca * sa * cxy + sa * sa * cyy, 0.25));
	double b = sqrt(fmax(sa * sa * cxx - 2 * ca * sa * cxy + ca * ca * cyy, 0.25));
	double worst = 0;
	for (int y = 0; y < m->height; y++)
		for (int x = 0; x < m->width; x++)
			if (m->data[(size_t)y * m->width + x] == value) {
				double u = (x - mx) * ca + (y - my) * sa, v = -(x - mx) * sa + (y - my) * ca;
				worst = fmax(worst, (u / a) * (u / a) + (v / b) * (v / b));
			}
	double s = sqrt(worst) + 1.0 / fmin(a, b); /* one pixel of margin */
	aoi_raster_ellipse(m, mx + 0.5, my + 0.5, a * s, b * s, angle, value);
}

typedef struct texture_ctx {
	const aoi_synth_job *job;
	const aoi_synth_texture_opts *o;
	int w, h;
	aoi_classes classes; /* scratch, blob, spot */
} texture_ctx;

static int add_defect(const texture_ctx *c, aoi_image *img, aoi_rng *rng, json_t *rec,
		      aoi_error *err)
{
	aoi_mask m = { 0 };
	enum aoi_synth_defect d = AOI_DEFECT_SCRATCH + (int)aoi_rng_below(rng, 3);
	uint8_t k = (uint8_t)(d - AOI_DEFECT_SCRATCH + 1);

	if (aoi_mask_alloc(&m, img->width, img->height, err) < 0)
		return -1;
	int tries = 0;
	while (!aoi_synth_paint_defect(img, &m, d, k, rng) && ++tries < 100)
		;
	if (tries == 100) {
		aoi_mask_release(&m);
		return aoi_error_set(err, AOI_EINVAL, "", 0, "no room for a defect in %dx%d",
				     img->width, img->height);
	}
	if (c->o->labels == AOI_SYNTH_LABEL_ELLIPSE)
		ellipse_label(&m, k);
	int rc = aoi_record_set_masks(rec, &m, &c->classes, err);
	aoi_mask_release(&m);
	return rc;
}

static int make_texture(void *ctxp, long i, aoi_rng *rng, json_t **out, aoi_error *err)
{
	const texture_ctx *c = ctxp;
	aoi_image img = { 0 };
	char name[64], id[64], rel[4096], src[32];
	int k = (int)(i % c->o->classes);
	int defective = aoi_rng_uniform(rng) < c->o->defective;

	if (aoi_synth_texture_draw(c->job->seed, k, rng, c->w, c->h, &img, err) < 0)
		return -1;
	snprintf(id, sizeof id, "texture-%06ld", i);
	snprintf(name, sizeof name, "texture_%06ld.png", i);
	snprintf(src, sizeof src, "class%02d", k + 1);
	if (aoi_synth_record_path(c->job, name, rel, sizeof rel, err) < 0) {
		aoi_image_release(&img);
		return -1;
	}
	json_t *rec = aoi_synth_record_new(id, rel, &img);
	json_object_set_new(rec, "label", json_string(defective ? "defective" : "good"));
	json_object_set_new(rec, "source", json_string(src));
	json_object_set_new(rec, "classes", aoi_classes_to_json(&c->classes));
	int rc = defective ? add_defect(c, &img, rng, rec, err) : 0;
	return aoi_synth_finish(c->job, rc, name, &img, rec, out, err);
}

int aoi_synth_texture(const aoi_synth_job *job, const aoi_synth_texture_opts *o,
		      aoi_error *err)
{
	texture_ctx c = { job, o, job->width ? job->width : 512, job->height ? job->height : 512, { 0 } };

	if (o->classes < 1 || o->classes > MAX_CLASSES)
		return aoi_error_set(err, AOI_EINVAL, "", 0, "--classes must be 1..%d", MAX_CLASSES);
	if (c.w < 16 || c.h < 16)
		return aoi_error_set(err, AOI_EINVAL, "", 0, "texture images must be at least 16x16");
	aoi_classes_init(&c.classes);
	for (int d = AOI_DEFECT_SCRATCH; d <= AOI_DEFECT_SPOT; d++)
		aoi_classes_add(&c.classes, aoi_synth_defect_name(d));
	int rc = aoi_synth_run(job, job->n, make_texture, &c, err);
	aoi_classes_release(&c.classes);
	return rc;
}
