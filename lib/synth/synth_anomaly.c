/* synth_anomaly.c: anomalies painted on the fly into good images, for
 * training a network that finds anomalies without defective examples
 * (synth.h). The kinds follow DRAEM (Zavrtanik et al. 2021: smooth noise
 * regions filled with a foreign texture), CutPaste (Li et al. 2021: a
 * patch or a scar of the image pasted elsewhere) and the painted defects
 * of synth_paint.c. */
#include "synth/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	unsigned bit;
} kinds[] = {
	{"blob", AOI_SYNTH_ANOM_BLOB}, {"scratch", AOI_SYNTH_ANOM_SCRATCH},
	{"spot", AOI_SYNTH_ANOM_SPOT}, {"cutpaste", AOI_SYNTH_ANOM_CUTPASTE},
	{"texture", AOI_SYNTH_ANOM_TEXTURE}, {"all", AOI_SYNTH_ANOM_ALL},
};

static int parse_item(const char *t, aoi_synth_anomaly_opts *o, aoi_error *err)
{
	if (!strncmp(t, "none=", 5)) {
		char *end;
		double v = strtod(t + 5, &end);
		if (end == t + 5 || *end || !(v >= 0 && v < 1))
			return aoi_error_set(err, AOI_EINVAL, NULL, 0,
					     "--synth none=%s: want a share in [0, 1)", t + 5);
		o->none = v;
		return 0;
	}
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (!strcmp(t, kinds[i].name)) {
			o->kinds |= kinds[i].bit;
			return 0;
		}
	return aoi_error_set(err, AOI_EINVAL, NULL, 0,
			     "--synth: unknown '%s' (blob, scratch, spot, cutpaste, texture, all, "
			     "none=F)", t);
}

int aoi_synth_anomaly_parse(const char *spec, aoi_synth_anomaly_opts *o, aoi_error *err)
{
	char buf[256], *save = NULL;

	o->kinds = 0;
	o->none = 0.25;
	if (!spec || strlen(spec) >= sizeof buf)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--synth: bad list");
	snprintf(buf, sizeof buf, "%s", spec);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (parse_item(t, o, err) < 0)
			return -1;
	if (!o->kinds)
		o->kinds = AOI_SYNTH_ANOM_ALL;
	return 0;
}

/* Mark in mask the pixels of img that differ from before by >= 4 levels;
 * returns how many. */
static long mark_changed(const aoi_image *before, const aoi_image *img, aoi_mask *mask,
			 uint8_t value)
{
	long n = 0;
	size_t px = (size_t)img->width * img->height;
	int c = img->channels;

	for (size_t i = 0; i < px; i++)
		for (int k = 0; k < c; k++)
			if (abs((int)img->data[i * c + k] - (int)before->data[i * c + k]) >= 4) {
				mask->data[i] = value;
				n++;
				break;
			}
	return n;
}

static uint8_t clamp8(double v)
{
	return (uint8_t)(v <= 0 ? 0 : v >= 255 ? 255 : v + 0.5);
}

/* ---- cutpaste ---- */

/* A w x h rectangle (or scar) of the image pasted at another place,
 * shifted in brightness. */
static void paint_cutpaste(aoi_image *img, const aoi_image *src, aoi_rng *rng)
{
	int W = img->width, H = img->height, c = img->channels, w, h;

	if (aoi_rng_uniform(rng) < 0.5) { /* a patch of 2 to 15% of the area */
		double area = aoi_rng_range(rng, 0.02, 0.15) * W * H;
		double ratio = exp(aoi_rng_range(rng, log(0.3), log(3.3)));
		w = (int)sqrt(area * ratio);
		h = (int)sqrt(area / ratio);
	} else { /* a scar: 2 to 6% of the side wide, 10 to 35% long */
		int thin = 2 + (int)(aoi_rng_range(rng, 0.02, 0.06) * (W < H ? W : H));
		int len = (int)(aoi_rng_range(rng, 0.1, 0.35) * (W > H ? W : H));
		int across = aoi_rng_uniform(rng) < 0.5;
		w = across ? len : thin;
		h = across ? thin : len;
	}
	w = w < 2 ? 2 : w > W - 1 ? W - 1 : w;
	h = h < 2 ? 2 : h > H - 1 ? H - 1 : h;
	int sx = (int)aoi_rng_below(rng, (uint32_t)(W - w + 1));
	int sy = (int)aoi_rng_below(rng, (uint32_t)(H - h + 1));
	int dx = (int)aoi_rng_below(rng, (uint32_t)(W - w + 1));
	int dy = (int)aoi_rng_below(rng, (uint32_t)(H - h + 1));
	double shift = aoi_rng_range(rng, 12, 50) * (aoi_rng_uniform(rng) < 0.5 ? -1 : 1);
	double gain = aoi_rng_range(rng, 0.8, 1.2);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			for (int k = 0; k < c; k++) {
				double v = src->data[((size_t)(sy + y) * W + sx + x) * c + k];
				img->data[((size_t)(dy + y) * W + dx + x) * c + k] =
					clamp8(gain * v + shift);
			}
}

/* ---- texture ---- */

/* A smooth random field in [0, 1] times a Gaussian bump around a random
 * centre: above 0.5 is the region (irregular, local). */
static void noise_region(int W, int H, aoi_rng *rng, float *field)
{
	enum { G = 6 };
	double grid[G + 1][G + 1];
	double cx = aoi_rng_range(rng, 0.15, 0.85) * W, cy = aoi_rng_range(rng, 0.15, 0.85) * H;
	double r = aoi_rng_range(rng, 0.06, 0.22) * (W < H ? W : H);

	for (int i = 0; i <= G; i++)
		for (int j = 0; j <= G; j++)
			grid[i][j] = aoi_rng_uniform(rng);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			double gx = (double)x / W * G, gy = (double)y / H * G;
			int ix = (int)gx, iy = (int)gy;
			double fx = gx - ix, fy = gy - iy;
			fx = fx * fx * (3 - 2 * fx);
			fy = fy * fy * (3 - 2 * fy);
			double top = grid[iy][ix] + fx * (grid[iy][ix + 1] - grid[iy][ix]);
			double bot = grid[iy + 1][ix] + fx * (grid[iy + 1][ix + 1] - grid[iy + 1][ix]);
			double d2 = ((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (r * r);
			field[(size_t)y * W + x] = (float)((top + fy * (bot - top)) * 1.6 * exp(-d2 / 2));
		}
}

/* Blend the region with a procedural texture (or shade it). */
static int paint_texture(aoi_image *img, aoi_rng *rng, aoi_error *err)
{
	int W = img->width, H = img->height, c = img->channels;
	float *field = malloc(sizeof(float) * (size_t)W * H);
	aoi_image tex = {0};
	int use_tex = aoi_rng_uniform(rng) < 0.7;

	if (!field)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	noise_region(W, H, rng, field);
	if (use_tex && aoi_synth_texture_draw(aoi_rng_next(rng), (int)aoi_rng_below(rng, 10), rng,
					      W, H, &tex, err) < 0) {
		free(field);
		return -1;
	}
	double beta = aoi_rng_range(rng, 0.4, 1.0);
	double shade = aoi_rng_range(rng, 20, 60) * (aoi_rng_uniform(rng) < 0.5 ? -1 : 1);
	for (size_t i = 0; i < (size_t)W * H; i++) {
		if (field[i] < 0.5f)
			continue;
		double edge = fmin(1.0, (field[i] - 0.5) * 8); /* soft border */
		for (int k = 0; k < c; k++) {
			double v = img->data[i * c + k];
			double t = use_tex ? tex.data[i] : v + shade;
			img->data[i * c + k] = clamp8(v + edge * beta * (t - v));
		}
	}
	aoi_image_release(&tex);
	free(field);
	return 0;
}

/* ---- one anomaly ---- */

static unsigned pick_kind(unsigned kinds, aoi_rng *rng)
{
	unsigned bits[5], n = 0;

	for (unsigned b = 1; b <= AOI_SYNTH_ANOM_TEXTURE; b <<= 1)
		if (kinds & b)
			bits[n++] = b;
	return n ? bits[aoi_rng_below(rng, n)] : 0;
}

int aoi_synth_paint_anomaly(aoi_image *img, aoi_mask *mask, const aoi_synth_anomaly_opts *o,
			    uint8_t value, aoi_rng *rng, aoi_error *err)
{
	aoi_image before = {0};
	unsigned kind;
	int rc = 0;

	if (aoi_rng_uniform(rng) < o->none || !(kind = pick_kind(o->kinds, rng)) ||
	    img->width < 8 || img->height < 8)
		return 0;
	if (kind <= AOI_SYNTH_ANOM_SPOT) { /* synth_paint.c marks its own pixels */
		enum aoi_synth_defect d = kind == AOI_SYNTH_ANOM_BLOB      ? AOI_DEFECT_BLOB
					  : kind == AOI_SYNTH_ANOM_SCRATCH ? AOI_DEFECT_SCRATCH
									   : AOI_DEFECT_SPOT;
		return aoi_synth_paint_defect(img, mask, d, value, rng) > 0;
	}
	if (aoi_image_copy(img, &before, err) < 0)
		return -1;
	if (kind == AOI_SYNTH_ANOM_CUTPASTE)
		paint_cutpaste(img, &before, rng);
	else
		rc = paint_texture(img, rng, err);
	if (rc == 0)
		rc = mark_changed(&before, img, mask, value) > 0;
	aoi_image_release(&before);
	return rc;
}
