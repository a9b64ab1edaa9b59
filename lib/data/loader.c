/* loader.c: records -> normalised NCHW batches (see loader.h).
 *
 * Each sample goes through two stages. Staging decodes the image (and
 * template and mask) and, unless cropping, resizes it to the input size;
 * the staged sample is what the cache keeps. Warping then draws the
 * sample's transform (augmentation, crop window) and samples the staged
 * pixels straight into the batch tensor, normalising on the way, so that a
 * batch filled from the cache needs no allocation. */
#include "data/loader.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/fileio.h"

typedef struct stage {
	aoi_image img, tmpl;
	aoi_mask mask;
	int orig_w, orig_h;
	long defect_px;   /* nonzero mask pixels */
} stage;

typedef struct sample {
	json_t *rec;
	char *base, *where;
	long line;
	int label;
	int defective;    /* by its label or annotations */
	int annotated;    /* has masks, a mask or boxes */
	int mask_known;   /* 0: a defective label without annotations */
	int npoints;
	float points[2 * AOI_MAX_POINTS]; /* original pixels */
	int cached;
	stage st;
} sample;

struct aoi_loader {
	aoi_loader_opts o;
	int img_channels; /* per image: 1 or 3 */
	aoi_norm norm;
	sample *s;
	int n, cap;
	size_t cache_used;
	stage *rows;      /* scratch per batch row for samples not cached */
	stage *painted;   /* per batch row: the sample with anomalies painted */
	aoi_error *errs;  /* per batch row */
	int nrows;
};

void aoi_loader_opts_init(aoi_loader_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->width = o->height = 224;
	o->target = AOI_TARGET_LABEL;
	aoi_augment_opts_init(&o->aug);
}

int aoi_loader_scaled(int size, double scale)
{
	if (scale <= 0 || scale == 1)
		return size;
	int v = (int)lround(size * scale);
	return v < 1 ? 1 : v;
}

int aoi_loader_channels(const aoi_loader_opts *o)
{
	int c = o->gray ? 1 : 3;
	return o->use_template ? 2 * c : c;
}

static void norm_identity(aoi_norm *n, int channels)
{
	n->channels = channels;
	for (int c = 0; c < AOI_NORM_MAX; c++) {
		n->mean[c] = 0.0f;
		n->std[c] = 1.0f;
	}
}

aoi_loader *aoi_loader_new(const aoi_loader_opts *o, aoi_error *err)
{
	if (o->width < 1 || o->height < 1 || o->width > 16384 || o->height > 16384) {
		aoi_error_set(err, AOI_EINVAL, "", 0, "input size %dx%d out of range",
			      o->width, o->height);
		return NULL;
	}
	if (o->target != AOI_TARGET_POINTS && !o->classes) {
		aoi_error_set(err, AOI_EINVAL, "", 0, "loader needs a class list");
		return NULL;
	}
	if (o->target == AOI_TARGET_POINTS && (o->npoints < 1 || o->npoints > AOI_MAX_POINTS)) {
		aoi_error_set(err, AOI_EINVAL, "", 0, "keypoint count %d out of 1..%d",
			      o->npoints, AOI_MAX_POINTS);
		return NULL;
	}
	aoi_loader *l = calloc(1, sizeof(*l));
	if (!l) {
		aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
		return NULL;
	}
	l->o = *o;
	l->img_channels = o->gray ? 1 : 3;
	norm_identity(&l->norm, aoi_loader_channels(o));
	return l;
}

static void stage_release(stage *st)
{
	aoi_image_release(&st->img);
	aoi_image_release(&st->tmpl);
	aoi_mask_release(&st->mask);
}

void aoi_loader_free(aoi_loader *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->n; i++) {
		json_decref(l->s[i].rec);
		free(l->s[i].base);
		free(l->s[i].where);
		stage_release(&l->s[i].st);
	}
	for (int r = 0; r < l->nrows; r++) {
		stage_release(&l->rows[r]);
		aoi_image_release(&l->painted[r].img); /* its tmpl is the sample's */
		aoi_mask_release(&l->painted[r].mask);
	}
	free(l->rows);
	free(l->painted);
	free(l->errs);
	free(l->s);
	free(l);
}

int aoi_loader_count(const aoi_loader *l)
{
	return l->n;
}

const json_t *aoi_loader_record(const aoi_loader *l, int i)
{
	return i >= 0 && i < l->n ? l->s[i].rec : NULL;
}

/* The class index of the record's label, 0-based over l->o.classes. */
static int sample_label(const aoi_loader *l, const json_t *rec, const char *where,
			long line, aoi_error *err)
{
	const char *label = aoi_record_str(rec, "label");
	if (!label)
		return aoi_error_set(err, AOI_EFORMAT, where, line, "missing field 'label'");
	int k = aoi_classes_find(l->o.classes, label);
	if (k < 1)
		return aoi_error_set(err, AOI_EFORMAT, where, line,
				     "label '%s' is not one of the model's classes", label);
	return k - 1;
}

static int sample_points(sample *s, int want, aoi_error *err)
{
	json_t *kp = json_object_get(s->rec, "keypoints");
	if (!json_is_array(kp) || (int)json_array_size(kp) != want)
		return aoi_error_set(err, AOI_EFORMAT, s->where, s->line,
				     "needs 'keypoints' with %d points", want);
	for (int i = 0; i < want; i++) {
		json_t *p = json_array_get(kp, (size_t)i);
		json_t *x = json_array_get(p, 0), *y = json_array_get(p, 1);
		if (!json_is_number(x) || !json_is_number(y))
			return aoi_error_set(err, AOI_EFORMAT, s->where, s->line,
					     "keypoint %d is not a pair of numbers", i);
		s->points[2 * i] = (float)json_number_value(x);
		s->points[2 * i + 1] = (float)json_number_value(y);
	}
	s->npoints = want;
	return 0;
}

/* Whether a record shows a defect (its label, else its annotations) and
 * whether its mask is known: a record labelled defective without masks,
 * mask or boxes says only that a defect is there, not where (mixed
 * supervision: it trains the image decision, not the segmentation). */
static void sample_kind(sample *s)
{
	const char *label = aoi_record_str(s->rec, "label");
	json_t *masks = json_object_get(s->rec, "masks"), *boxes = json_object_get(s->rec, "boxes");
	s->annotated = json_object_size(masks) > 0 || json_array_size(boxes) > 0 ||
		       aoi_record_str(s->rec, "mask") != NULL;
	s->defective = label ? strcmp(label, "good") != 0 : s->annotated;
	s->mask_known = !s->defective || s->annotated;
}

int aoi_loader_defective(const aoi_loader *l, int i)
{
	return i >= 0 && i < l->n && l->s[i].defective;
}

static int check_path(const json_t *rec, const char *key, const char *base,
		      const char *where, long line, aoi_error *err)
{
	char path[4096];
	if (aoi_record_path(rec, key, base, path, sizeof(path)) < 0)
		return aoi_error_set(err, AOI_EFORMAT, where, line, "missing field '%s'", key);
	if (!aoi_path_exists(path))
		return aoi_error_set(err, AOI_ENOTFOUND, where, line, "%s: %s: no such file",
				     key, path);
	return 0;
}

static int grow(aoi_loader *l, aoi_error *err)
{
	if (l->n < l->cap)
		return 0;
	int cap = l->cap ? 2 * l->cap : 64;
	sample *s = realloc(l->s, (size_t)cap * sizeof(*s));
	if (!s)
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	l->s = s;
	l->cap = cap;
	return 0;
}

int aoi_loader_add(aoi_loader *l, json_t *rec, const char *base, const char *where,
		   long line, aoi_error *err)
{
	if (!where)
		where = "";
	if (check_path(rec, "image", base, where, line, err) < 0)
		return -1;
	if (l->o.use_template && check_path(rec, "template", base, where, line, err) < 0)
		return -1;
	if (grow(l, err) < 0)
		return -1;
	sample *s = &l->s[l->n];
	memset(s, 0, sizeof(*s));
	s->rec = rec;
	s->where = strdup(where);
	s->base = strdup(base ? base : "");
	s->line = line;
	if (!s->where || !s->base) {
		free(s->where);
		free(s->base);
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	}
	sample_kind(s);
	int rc = 0;
	if (l->o.target == AOI_TARGET_LABEL)
		rc = s->label = sample_label(l, rec, where, line, err);
	else if (l->o.target == AOI_TARGET_POINTS)
		rc = sample_points(s, l->o.npoints, err);
	if (rc < 0) {
		free(s->where);
		free(s->base);
		return -1;
	}
	json_incref(rec);
	l->n++;
	return 0;
}

int aoi_loader_read_images(const json_t *rec, const char *base, int channels,
			   aoi_image *img, aoi_image *tmpl, aoi_error *err)
{
	const char *keys[2] = { "image", "template" };
	aoi_image *out[2] = { img, tmpl };
	for (int k = 0; k < 2 && out[k]; k++) {
		char path[4096];
		aoi_image raw = { 0 };
		if (aoi_record_path(rec, keys[k], base, path, sizeof(path)) < 0)
			return aoi_error_set(err, AOI_EFORMAT, "", 0, "missing field '%s'",
					     keys[k]);
		if (aoi_image_load(path, &raw, err) < 0)
			return -1;
		aoi_image_release(out[k]);
		if (raw.channels == channels) {
			*out[k] = raw;
		} else {
			int rc = aoi_image_convert(&raw, out[k], channels, err);
			aoi_image_release(&raw);
			if (rc < 0)
				return -1;
		}
	}
	if (tmpl && (tmpl->width != img->width || tmpl->height != img->height))
		return aoi_error_set(err, AOI_ESHAPE, "", 0,
				     "template is %dx%d but the image is %dx%d", tmpl->width,
				     tmpl->height, img->width, img->height);
	return 0;
}

/* Resize in place through a temporary (area filter for images). */
static int resize_mask(aoi_mask *m, int w, int h, aoi_error *err)
{
	if (m->width == w && m->height == h)
		return 0;
	aoi_mask out = { 0 };
	if (aoi_mask_resize(m, &out, w, h, err) < 0)
		return -1;
	aoi_mask_release(m);
	*m = out;
	return 0;
}

/* Decode sample s into st: images converted, mask of the image's size, and
 * everything resized to the input unless cropping. */
static int stage_decode(const aoi_loader *l, const sample *s, stage *st, aoi_error *err)
{
	const aoi_loader_opts *o = &l->o;
	if (aoi_loader_read_images(s->rec, s->base, l->img_channels, &st->img,
				   o->use_template ? &st->tmpl : NULL, err) < 0)
		return -1;
	st->orig_w = st->img.width;
	st->orig_h = st->img.height;
	if (o->target == AOI_TARGET_MASK) {
		aoi_mask_release(&st->mask);
		/* nothing annotated: an empty mask, whether or not the record
		 * gives its size */
		if (!s->annotated ? aoi_mask_alloc(&st->mask, st->orig_w, st->orig_h, err) < 0
				  : aoi_record_mask(s->rec, s->base, o->classes, &st->mask, err) < 0)
			return -1;
		if (resize_mask(&st->mask, st->orig_w, st->orig_h, err) < 0)
			return -1;
	}
	int w = o->width, h = o->height;
	if (o->crop) {
		w = aoi_loader_scaled(st->orig_w, o->scale);
		h = aoi_loader_scaled(st->orig_h, o->scale);
	}
	if (aoi_image_resize_in_place(&st->img, w, h, err) < 0)
		return -1;
	if (o->use_template && aoi_image_resize_in_place(&st->tmpl, w, h, err) < 0)
		return -1;
	if (o->target == AOI_TARGET_MASK && resize_mask(&st->mask, w, h, err) < 0)
		return -1;
	st->defect_px = o->target == AOI_TARGET_MASK ? aoi_mask_count(&st->mask, -1) : 0;
	return 0;
}

static size_t stage_bytes(const stage *st)
{
	return (size_t)st->img.width * st->img.height * st->img.channels +
	       (size_t)st->tmpl.width * st->tmpl.height * st->tmpl.channels +
	       (size_t)st->mask.width * st->mask.height;
}

static int ensure_rows(aoi_loader *l, int n, aoi_error *err)
{
	if (n <= l->nrows)
		return 0;
	stage *rows = realloc(l->rows, (size_t)n * sizeof(*rows));
	if (rows)
		l->rows = rows;
	stage *painted = rows ? realloc(l->painted, (size_t)n * sizeof(*painted)) : NULL;
	if (painted) {
		l->painted = painted;
		memset(painted + l->nrows, 0, (size_t)(n - l->nrows) * sizeof(*painted));
	}
	rows = painted ? rows : NULL;
	aoi_error *errs = rows ? realloc(l->errs, (size_t)n * sizeof(*errs)) : NULL;
	if (!errs)
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	l->errs = errs;
	memset(rows + l->nrows, 0, (size_t)(n - l->nrows) * sizeof(*rows));
	l->nrows = n;
	return 0;
}

/* Make every sample idx[r] available as a stage: the cached one, or one
 * decoded into row r's scratch (in parallel). out[r] points to it. */
static int stage_samples(aoi_loader *l, const int *idx, int n, const stage **out,
			 aoi_error *err)
{
	if (ensure_rows(l, n, err) < 0)
		return -1;
	aoi_error *errs = l->errs;
	int failed = 0;
#pragma omp parallel for schedule(dynamic) reduction(|| : failed)
	for (int r = 0; r < n; r++) {
		const sample *s = &l->s[idx[r]];
		if (s->cached) {
			out[r] = &s->st;
			continue;
		}
		out[r] = &l->rows[r];
		aoi_error_clear(&errs[r]);
		if (stage_decode(l, s, &l->rows[r], &errs[r]) < 0) {
			aoi_error_locate(&errs[r], s->where, s->line);
			failed = 1;
		}
	}
	for (int r = 0; failed && r < n; r++)
		if (!l->s[idx[r]].cached && errs[r].code != AOI_OK) {
			if (err)
				*err = errs[r];
			break;
		}
	return failed ? -1 : 0;
}

/* Move freshly decoded rows into the cache while it has room. Sequential,
 * after the parallel stage, so that nothing races on a sample's flag. */
static void cache_rows(aoi_loader *l, const int *idx, int n, const stage **out)
{
	for (int r = 0; r < n; r++) {
		sample *s = &l->s[idx[r]];
		if (s->cached || out[r] != &l->rows[r])
			continue;
		size_t bytes = stage_bytes(&l->rows[r]);
		if (l->cache_used + bytes > l->o.cache_limit)
			continue;
		s->st = l->rows[r];
		memset(&l->rows[r], 0, sizeof(l->rows[r]));
		s->cached = 1;
		out[r] = &s->st;
		l->cache_used += bytes;
	}
}

/* Bilinear sample of channel c of img at (x, y), border replicated. */
static float sample_bilinear(const aoi_image *img, int c, double x, double y)
{
	int w = img->width, h = img->height, ch = img->channels;
	if (x < 0)
		x = 0;
	if (y < 0)
		y = 0;
	if (x > w - 1)
		x = w - 1;
	if (y > h - 1)
		y = h - 1;
	int x0 = (int)x, y0 = (int)y;
	int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
	float fx = (float)(x - x0), fy = (float)(y - y0);
	const uint8_t *d = img->data;
	float a = d[((size_t)y0 * w + x0) * ch + c], b = d[((size_t)y0 * w + x1) * ch + c];
	float e = d[((size_t)y1 * w + x0) * ch + c], f = d[((size_t)y1 * w + x1) * ch + c];
	return (a + (b - a) * fx) * (1 - fy) + (e + (f - e) * fx) * fy;
}

static int is_translation(const aoi_augment *a)
{
	return a->inv[0] == 1 && a->inv[1] == 0 && a->inv[3] == 0 && a->inv[4] == 1 &&
	       a->inv[2] == floor(a->inv[2]) && a->inv[5] == floor(a->inv[5]);
}

/* One image's channels into dst planes through transform a, photometric
 * gain and offset applied, normalised with norm's channels from c0. */
static void warp_image(const aoi_augment *a, const aoi_image *img, const aoi_norm *norm,
		       int c0, int w, int h, float *dst)
{
	const double *m = a->inv;
	int plain = is_translation(a) && a->gain == 1 && a->offset == 0;
	for (int c = 0; c < img->channels; c++) {
		float sc = 1.0f / (255.0f * norm->std[c0 + c]);
		float sh = -norm->mean[c0 + c] / norm->std[c0 + c];
		float *p = dst + (size_t)c * w * h;
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++) {
				float v;
				if (plain) {
					int sx = x + (int)m[2], sy = y + (int)m[5];
					sx = sx < 0 ? 0 : sx >= img->width ? img->width - 1 : sx;
					sy = sy < 0 ? 0 : sy >= img->height ? img->height - 1 : sy;
					v = img->data[((size_t)sy * img->width + sx) * img->channels + c];
				} else {
					v = sample_bilinear(img, c, m[0] * x + m[1] * y + m[2],
							    m[3] * x + m[4] * y + m[5]);
					v = (float)(a->gain * v + a->offset);
					v = v < 0 ? 0 : v > 255 ? 255 : v;
				}
				p[(size_t)y * w + x] = v * sc + sh;
			}
	}
}

static void warp_mask(const aoi_augment *a, const aoi_mask *m, int w, int h, int *dst)
{
	const double *t = a->inv;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int sx = (int)floor(t[0] * x + t[1] * y + t[2] + 0.5);
			int sy = (int)floor(t[3] * x + t[4] * y + t[5] + 0.5);
			int in = sx >= 0 && sy >= 0 && sx < m->width && sy < m->height;
			dst[(size_t)y * w + x] = in ? m->data[(size_t)sy * m->width + sx] : 0;
		}
}

static void identity(aoi_augment *a, int w, int h)
{
	memset(a, 0, sizeof(*a));
	a->inv[0] = a->inv[4] = a->fwd[0] = a->fwd[4] = 1;
	a->out_w = w;
	a->out_h = h;
	a->gain = 1;
}

/* Shift the source side of a by (dx, dy): output samples source + (dx, dy). */
static void add_offset(aoi_augment *a, double dx, double dy)
{
	a->inv[2] += dx;
	a->inv[5] += dy;
	a->fwd[2] -= a->fwd[0] * dx + a->fwd[1] * dy;
	a->fwd[5] -= a->fwd[3] * dx + a->fwd[4] * dy;
}

/* A random defect pixel of a staged mask (uniform over them), into *x, *y. */
static void defect_pixel(const stage *st, aoi_rng *rng, int *x, int *y)
{
	long k = (long)aoi_rng_below(rng, (uint32_t)st->defect_px);
	size_t n = (size_t)st->mask.width * st->mask.height, i;
	for (i = 0; i < n; i++)
		if (st->mask.data[i] && k-- == 0)
			break;
	*x = (int)(i % (size_t)st->mask.width);
	*y = (int)(i / (size_t)st->mask.width);
}

/* A training crop's origin along one side with `free` pixels to spare: any,
 * or (p >= 0) one whose window of `win` keeps pixel p. */
static double crop_origin(aoi_rng *rng, int free, int p, int win)
{
	if (free <= 0)
		return free / 2; /* smaller than the window: centred, padded */
	int lo = 0, hi = free;
	if (p >= 0) {
		lo = p - win + 1 > 0 ? p - win + 1 : 0;
		hi = p < free ? p : free;
	}
	return lo + (int)aoi_rng_below(rng, (uint32_t)(hi - lo + 1));
}

/* The transform of sample `index` in `epoch`: augmentation and a random
 * crop window when training (around a defect pixel for a share
 * `defect_windows` of a defective sample's windows), the centred window
 * otherwise. */
static void draw_transform(const aoi_loader *l, const stage *st, int index, int epoch,
			   int training, aoi_augment *a)
{
	const aoi_loader_opts *o = &l->o;
	int w = o->width, h = o->height;
	int free_x = st->img.width - w, free_y = st->img.height - h;
	aoi_rng base, per_epoch, rng;
	aoi_rng_seed(&base, o->seed);
	aoi_rng_fork(&base, (uint64_t)epoch, &per_epoch);
	aoi_rng_fork(&per_epoch, (uint64_t)index, &rng);
	if (training && o->augment)
		aoi_augment_draw(&o->aug, &rng, w, h, w, h, a);
	else
		identity(a, w, h);
	if (!o->crop)
		return;
	double dx = free_x / 2, dy = free_y / 2;
	if (training) {
		int px = -1, py = -1;
		if (o->defect_windows > 0 && st->defect_px > 0 &&
		    (o->defect_windows >= 1 || aoi_rng_uniform(&rng) < o->defect_windows))
			defect_pixel(st, &rng, &px, &py);
		dx = crop_origin(&rng, free_x, px, w);
		dy = crop_origin(&rng, free_y, py, h);
	}
	add_offset(a, dx, dy);
}

static void fill_points(const aoi_loader *l, const sample *s, const stage *st,
			const aoi_augment *a, float *dst)
{
	double sx = (double)st->img.width / st->orig_w;
	double sy = (double)st->img.height / st->orig_h;
	for (int i = 0; i < s->npoints; i++) {
		/* keypoints use pixel edges at integers, the transform pixel
		 * centres */
		double x = s->points[2 * i] * sx - 0.5, y = s->points[2 * i + 1] * sy - 0.5;
		aoi_augment_point(a, &x, &y);
		dst[2 * i] = (float)((x + 0.5) / l->o.width);
		dst[2 * i + 1] = (float)((y + 0.5) / l->o.height);
	}
}

/* Row r's mask (AOI_MASK_UNKNOWN throughout when the sample's is not
 * known) and whether its window shows a defect. */
static void mask_row(const sample *s, const aoi_augment *a, const stage *st, aoi_batch *b,
		     int r)
{
	size_t plane = (size_t)b->w * b->h;
	int *m = b->mask + (size_t)r * plane;
	if (!s->mask_known) {
		for (size_t p = 0; p < plane; p++)
			m[p] = AOI_MASK_UNKNOWN;
		b->defect[r] = 1;
		return;
	}
	warp_mask(a, &st->mask, b->w, b->h, m);
	b->defect[r] = 0;
	for (size_t p = 0; p < plane && !b->defect[r]; p++)
		b->defect[r] = m[p] != 0;
}

/* Row r of b from sample `index` through transform a. */
static void fill_with(const aoi_loader *l, aoi_batch *b, int r, int index, const stage *st,
		      const aoi_augment *ap)
{
	const aoi_loader_opts *o = &l->o;
	const sample *s = &l->s[index];
	size_t plane = (size_t)b->w * b->h;
	aoi_augment a = *ap;
	float *x = b->x + (size_t)r * b->c * plane;
	warp_image(&a, &st->img, &l->norm, 0, b->w, b->h, x);
	if (o->use_template)
		warp_image(&a, &st->tmpl, &l->norm, l->img_channels, b->w, b->h,
			   x + (size_t)l->img_channels * plane);
	if (o->target == AOI_TARGET_MASK)
		mask_row(s, &a, st, b, r);
	else if (o->target == AOI_TARGET_LABEL)
		b->label[r] = s->label;
	else
		fill_points(l, s, st, &a, b->points + (size_t)r * 2 * o->npoints);
	float *sc = b->scale + 4 * r;
	float fx = (float)st->orig_w / st->img.width, fy = (float)st->orig_h / st->img.height;
	sc[0] = fx;
	sc[1] = fy;
	sc[2] = o->crop ? (float)a.inv[2] * fx : 0.0f;
	sc[3] = o->crop ? (float)a.inv[5] * fy : 0.0f;
	b->index[r] = index;
}

static void fill_row(const aoi_loader *l, aoi_batch *b, int r, int index, const stage *st,
		     int epoch, int training)
{
	aoi_augment a;
	draw_transform(l, st, index, epoch, training, &a);
	fill_with(l, b, r, index, st, &a);
}

static void zero_rows(aoi_batch *b, const aoi_loader *l, int from)
{
	size_t plane = (size_t)b->w * b->h, rows = (size_t)(b->cap - from);
	if (rows == 0)
		return;
	memset(b->x + (size_t)from * b->c * plane, 0, rows * b->c * plane * sizeof(float));
	if (b->mask)
		memset(b->mask + (size_t)from * plane, 0, rows * plane * sizeof(int));
	if (b->defect)
		memset(b->defect + from, 0, rows * sizeof(int));
	if (b->label)
		memset(b->label + from, 0, rows * sizeof(int));
	if (b->points)
		memset(b->points + (size_t)from * 2 * l->o.npoints, 0,
		       rows * 2 * l->o.npoints * sizeof(float));
	for (int r = from; r < b->cap; r++) {
		b->index[r] = -1;
		b->scale[4 * r] = b->scale[4 * r + 1] = 1;
		b->scale[4 * r + 2] = b->scale[4 * r + 3] = 0;
	}
}

/* Row r's sample copied into l->painted[r] and painted on (o->paint). */
static int paint_row(aoi_loader *l, int r, int index, const stage *st, int epoch,
		     int training, aoi_error *err)
{
	stage *p = &l->painted[r];
	aoi_rng base, per_epoch, rng;

	aoi_image_release(&p->img); /* the last batch's */
	if (aoi_image_copy(&st->img, &p->img, err) < 0)
		return -1;
	aoi_mask_release(&p->mask);
	if (aoi_mask_alloc(&p->mask, st->img.width, st->img.height, err) < 0)
		return -1;
	if (st->mask.data)
		memcpy(p->mask.data, st->mask.data, (size_t)st->mask.width * st->mask.height);
	p->tmpl = st->tmpl;
	p->orig_w = st->orig_w;
	p->orig_h = st->orig_h;
	aoi_rng_seed(&base, l->o.seed ^ 0x7061696e74ULL);
	aoi_rng_fork(&base, training ? (uint64_t)epoch + 1 : 0, &per_epoch);
	aoi_rng_fork(&per_epoch, (uint64_t)index, &rng);
	return l->o.paint(l->o.paint_ctx, &p->img, &p->mask, &rng, err);
}

static int paint_rows(aoi_loader *l, const int *idx, int n, const stage **st, int epoch,
		      int training, aoi_error *err)
{
	aoi_error *errs = l->errs;
	int failed = 0;
#pragma omp parallel for schedule(dynamic) reduction(|| : failed)
	for (int r = 0; r < n; r++) {
		aoi_error_clear(&errs[r]);
		if (paint_row(l, r, idx[r], st[r], epoch, training, &errs[r]) < 0) {
			aoi_error_locate(&errs[r], l->s[idx[r]].where, l->s[idx[r]].line);
			failed = 1;
		}
		st[r] = &l->painted[r];
	}
	for (int r = 0; failed && r < n; r++)
		if (errs[r].code != AOI_OK) {
			if (err)
				*err = errs[r];
			break;
		}
	return failed ? -1 : 0;
}

int aoi_loader_fill(aoi_loader *l, aoi_batch *b, const int *indices, int n, int epoch,
		    int training, aoi_error *err)
{
	if (n < 0 || n > b->cap)
		return aoi_error_set(err, AOI_EINVAL, "", 0, "batch of %d rows holds %d",
				     b->cap, n);
	for (int r = 0; r < n; r++)
		if (indices[r] < 0 || indices[r] >= l->n)
			return aoi_error_set(err, AOI_EINVAL, "", 0, "no sample %d",
					     indices[r]);
	const stage *st[n > 0 ? n : 1];
	if (stage_samples(l, indices, n, st, err) < 0)
		return -1;
	cache_rows(l, indices, n, st);
	if (l->o.paint && paint_rows(l, indices, n, st, epoch, training, err) < 0)
		return -1;
#pragma omp parallel for schedule(static)
	for (int r = 0; r < n; r++)
		fill_row(l, b, r, indices[r], st[r], epoch, training);
	b->n = n;
	zero_rows(b, l, n);
	return 0;
}

/* Window origins along one side of `size` for windows of `win` pixels,
 * with the part of each window that only it counts; the count. */
static int side_windows(int size, int win, int *origin, int *own0, int *own1, int max)
{
	if (size <= win) {
		origin[0] = (size - win) / 2; /* as draw_transform centres it */
		own0[0] = -origin[0];
		own1[0] = own0[0] + size;
		return 1;
	}
	int n = 0;
	for (int p = 0; n < max; p += win) {
		origin[n] = p + win >= size ? size - win : p;
		own0[n] = n ? origin[n - 1] + win - origin[n] : 0;
		own1[n] = win;
		if (origin[n++] == size - win)
			return n;
	}
	return -1; /* more than max */
}

int aoi_loader_windows(aoi_loader *l, int i, aoi_window *out, int max, aoi_error *err)
{
	enum { MAXSIDE = 256 };
	int xs[MAXSIDE], xa[MAXSIDE], xb[MAXSIDE], ys[MAXSIDE], ya[MAXSIDE], yb[MAXSIDE];
	const stage *st[1];
	if (i < 0 || i >= l->n)
		return aoi_error_set(err, AOI_EINVAL, "", 0, "no sample %d", i);
	if (stage_samples(l, &i, 1, st, err) < 0)
		return -1;
	cache_rows(l, &i, 1, st);
	int nx = side_windows(st[0]->img.width, l->o.width, xs, xa, xb, MAXSIDE);
	int ny = side_windows(st[0]->img.height, l->o.height, ys, ya, yb, MAXSIDE);
	if (nx < 0 || ny < 0 || nx * ny > max)
		return aoi_error_set(err, AOI_EINVAL, l->s[i].where, l->s[i].line,
				     "image of %dx%d windows, more than %d", nx, ny, max);
	for (int y = 0; y < ny; y++)
		for (int x = 0; x < nx; x++)
			out[y * nx + x] = (aoi_window){ i, xs[x], ys[y],
							{ xa[x], ya[y], xb[x], yb[y] } };
	return nx * ny;
}

int aoi_loader_fill_windows(aoi_loader *l, aoi_batch *b, const aoi_window *w, int n,
			    aoi_error *err)
{
	if (n < 0 || n > b->cap)
		return aoi_error_set(err, AOI_EINVAL, "", 0, "batch of %d rows holds %d",
				     b->cap, n);
	int idx[n > 0 ? n : 1];
	const stage *st[n > 0 ? n : 1];
	for (int r = 0; r < n; r++)
		if ((idx[r] = w[r].index) < 0 || idx[r] >= l->n)
			return aoi_error_set(err, AOI_EINVAL, "", 0, "no sample %d", idx[r]);
	if (stage_samples(l, idx, n, st, err) < 0)
		return -1;
	cache_rows(l, idx, n, st);
#pragma omp parallel for schedule(static)
	for (int r = 0; r < n; r++) {
		aoi_augment a;
		identity(&a, l->o.width, l->o.height);
		add_offset(&a, w[r].x0, w[r].y0);
		fill_with(l, b, r, idx[r], st[r], &a);
	}
	b->n = n;
	zero_rows(b, l, n);
	return 0;
}

int aoi_batch_alloc(aoi_batch *b, const aoi_loader *l, int cap, aoi_error *err)
{
	memset(b, 0, sizeof(*b));
	if (cap < 1)
		return aoi_error_set(err, AOI_EINVAL, "", 0, "batch size %d", cap);
	b->cap = cap;
	b->c = aoi_loader_channels(&l->o);
	b->w = l->o.width;
	b->h = l->o.height;
	size_t plane = (size_t)b->w * b->h;
	b->x = calloc((size_t)cap * b->c * plane, sizeof(float));
	b->scale = calloc((size_t)cap * 4, sizeof(float));
	b->index = calloc((size_t)cap, sizeof(int));
	int ok = b->x && b->scale && b->index;
	if (l->o.target == AOI_TARGET_MASK)
		ok = ok && (b->mask = calloc((size_t)cap * plane, sizeof(int))) &&
		     (b->defect = calloc((size_t)cap, sizeof(int)));
	else if (l->o.target == AOI_TARGET_LABEL)
		ok = ok && (b->label = calloc((size_t)cap, sizeof(int)));
	else
		ok = ok && (b->points = calloc((size_t)cap * 2 * l->o.npoints, sizeof(float)));
	if (!ok) {
		aoi_batch_release(b);
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory for a batch");
	}
	return 0;
}

void aoi_batch_release(aoi_batch *b)
{
	free(b->x);
	free(b->mask);
	free(b->defect);
	free(b->label);
	free(b->points);
	free(b->scale);
	free(b->index);
	memset(b, 0, sizeof(*b));
}

void aoi_loader_set_norm(aoi_loader *l, const aoi_norm *norm)
{
	l->norm = *norm;
}

/* Sum and sum of squares per channel of one staged sample. */
static void stage_moments(const stage *st, int img_channels, double *sum, double *sq)
{
	const aoi_image *parts[2] = { &st->img, &st->tmpl };
	for (int k = 0; k < 2; k++) {
		const aoi_image *im = parts[k];
		size_t npx = (size_t)im->width * im->height;
		for (int c = 0; c < im->channels; c++) {
			double s = 0, q = 0;
			for (size_t i = 0; i < npx; i++) {
				double v = im->data[i * im->channels + c] / 255.0;
				s += v;
				q += v * v;
			}
			sum[k * img_channels + c] += s;
			sq[k * img_channels + c] += q;
		}
	}
}

/* Visit samples idx in chunks of `chunk`, staging each (cache filled on
 * the way) and calling fn on it in order. */
static int visit_samples(aoi_loader *l, const int *idx, int n,
			 void (*fn)(const aoi_loader *, const stage *, void *), void *ctx,
			 aoi_error *err)
{
	enum { CHUNK = 32 };
	const stage *st[CHUNK];
	for (int i = 0; i < n; i += CHUNK) {
		int m = n - i < CHUNK ? n - i : CHUNK;
		if (stage_samples(l, idx + i, m, st, err) < 0)
			return -1;
		cache_rows(l, idx + i, m, st);
		for (int r = 0; r < m; r++)
			fn(l, st[r], ctx);
	}
	return 0;
}

typedef struct moments {
	double sum[AOI_NORM_MAX], sq[AOI_NORM_MAX], count;
} moments;

static void add_moments(const aoi_loader *l, const stage *st, void *ctx)
{
	moments *m = ctx;
	stage_moments(st, l->img_channels, m->sum, m->sq);
	m->count += (double)st->img.width * st->img.height;
}

static int *spread_indices(int n, int max, int *count)
{
	int m = max > 0 && max < n ? max : n;
	int *idx = malloc((size_t)(m > 0 ? m : 1) * sizeof(int));
	if (!idx)
		return NULL;
	for (int i = 0; i < m; i++)
		idx[i] = (int)((long long)i * n / m);
	*count = m;
	return idx;
}

int aoi_loader_compute_norm(aoi_loader *l, int max_samples, aoi_norm *norm,
			    aoi_error *err)
{
	if (l->n == 0)
		return aoi_error_set(err, AOI_EINVAL, "", 0, "no samples to normalise over");
	int m;
	int *idx = spread_indices(l->n, max_samples, &m);
	if (!idx)
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	moments mo = { { 0 }, { 0 }, 0 };
	int rc = visit_samples(l, idx, m, add_moments, &mo, err);
	free(idx);
	if (rc < 0)
		return -1;
	norm_identity(norm, aoi_loader_channels(&l->o));
	for (int c = 0; c < norm->channels; c++) {
		double mean = mo.sum[c] / mo.count;
		double var = mo.sq[c] / mo.count - mean * mean;
		norm->mean[c] = (float)mean;
		/* a constant channel (a blank template) keeps unit scale */
		norm->std[c] = var > 1e-8 ? (float)sqrt(var) : 1.0f;
	}
	return 0;
}

typedef struct pixel_counts {
	double *counts;
	int n;
} pixel_counts;

static void add_pixels(const aoi_loader *l, const stage *st, void *ctx)
{
	(void)l;
	pixel_counts *pc = ctx;
	size_t npx = (size_t)st->mask.width * st->mask.height;
	for (size_t i = 0; i < npx; i++)
		if (st->mask.data[i] < pc->n)
			pc->counts[st->mask.data[i]] += 1;
}

int aoi_loader_class_pixels(aoi_loader *l, double *counts, aoi_error *err)
{
	if (l->o.target != AOI_TARGET_MASK)
		return aoi_error_set(err, AOI_EINVAL, "", 0, "class pixels need masks");
	pixel_counts pc = { counts, l->o.classes->n + 1 };
	memset(counts, 0, (size_t)pc.n * sizeof(double));
	int m;
	int *idx = spread_indices(l->n, 0, &m);
	if (!idx)
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	int rc = visit_samples(l, idx, m, add_pixels, &pc, err);
	free(idx);
	return rc;
}

void aoi_loader_to_tensor(const aoi_image *img, const aoi_image *tmpl, int x0, int y0,
			  int w, int h, const aoi_norm *norm, float *dst)
{
	aoi_augment a;
	identity(&a, w, h);
	add_offset(&a, x0, y0);
	warp_image(&a, img, norm, 0, w, h, dst);
	if (tmpl)
		warp_image(&a, tmpl, norm, img->channels, w, h,
			   dst + (size_t)img->channels * w * h);
}

/* "LO:HI" or a single factor. */
static int parse_zoom(const char *v, aoi_augment_opts *o, aoi_error *err)
{
	if (!strchr(v, ':')) {
		if (aoi_cli_parse_double("--augment zoom", v, 0.01, 100, &o->zoom_lo, err) < 0)
			return -1;
		o->zoom_hi = o->zoom_lo;
		return 0;
	}
	if (aoi_cli_parse_range("--augment zoom", v, &o->zoom_lo, &o->zoom_hi, err) < 0)
		return -1;
	if (o->zoom_lo <= 0)
		return aoi_error_set(err, AOI_EINVAL, "", 0, "--augment zoom: factors must be > 0");
	return 0;
}

/* One "name" or "name=value" item of an augmentation spec. */
static int parse_augment_item(const char *item, aoi_augment_opts *o, aoi_error *err)
{
	const char *eq = strchr(item, '=');
	size_t klen = eq ? (size_t)(eq - item) : strlen(item);
	const char *v = eq ? eq + 1 : NULL;
	char key[32];
	if (klen >= sizeof(key))
		return aoi_error_set(err, AOI_EINVAL, "", 0, "--augment: unknown '%s'", item);
	memcpy(key, item, klen);
	key[klen] = 0;
	if (!strcmp(key, "flip") || !strcmp(key, "hflip"))
		return o->hflip = 1, 0;
	if (!strcmp(key, "vflip"))
		return o->vflip = 1, 0;
	if (!strcmp(key, "rot90"))
		return o->rot90 = 1, 0;
	if (!v)
		return aoi_error_set(err, AOI_EINVAL, "", 0, "--augment: '%s' needs a value",
				     key);
	if (!strcmp(key, "rot") || !strcmp(key, "rotate"))
		return aoi_cli_parse_double("--augment rot", v, 0, 180, &o->rotate, err);
	if (!strcmp(key, "crop"))
		return aoi_cli_parse_double("--augment crop", v, 0.05, 1, &o->crop, err);
	if (!strcmp(key, "shift"))
		return aoi_cli_parse_double("--augment shift", v, 0, 0.5, &o->shift, err);
	if (!strcmp(key, "bright") || !strcmp(key, "brightness"))
		return aoi_cli_parse_double("--augment bright", v, 0, 255, &o->brightness, err);
	if (!strcmp(key, "contrast"))
		return aoi_cli_parse_double("--augment contrast", v, 0, 1, &o->contrast, err);
	if (!strcmp(key, "zoom"))
		return parse_zoom(v, o, err);
	return aoi_error_set(err, AOI_EINVAL, "", 0, "--augment: unknown '%s'", key);
}

int aoi_loader_parse_augment(const char *spec, aoi_augment_opts *o, aoi_error *err)
{
	char buf[512];
	if (strlen(spec) >= sizeof(buf))
		return aoi_error_set(err, AOI_EINVAL, "", 0, "--augment: spec too long");
	memcpy(buf, spec, strlen(spec) + 1);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (parse_augment_item(t, o, err) < 0)
			return -1;
	return 0;
}
