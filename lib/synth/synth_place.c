/* synth_place.c: seed 002's data generation. From a few photos of a
 * correctly placed component (its four corners, or a mask), make many
 * images with the component cut out, the hole filled, and the component
 * pasted back shifted by (dx, dy) and rotated by theta about its centre.
 * The labels come for free: the new corners, the component's mask, the
 * shift and angle, and good/defective against a placement tolerance.
 *
 * Image i comes from source i mod S; sources held out (--holdout) only
 * make split "test" images, so a test set shows photos training never saw
 * (seed 002 keeps two of twelve). */
#include "synth/synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/dataset.h"
#include "data/raster.h"
#include "data/record.h"

void aoi_synth_place_opts_init(aoi_synth_place_opts *o)
{
	memset(o, 0, sizeof *o);
	o->shift_lo = -8;
	o->shift_hi = 8;
	o->rotate_lo = -10;
	o->rotate_hi = 10;
	o->tol_px = 3;
	o->tol_deg = 3;
	o->val = 0.15;
}

/* One source photo, ready to paste from. */
typedef struct source {
	char id[128];
	char template_rel[4096]; /* the photo, as the records name it */
	aoi_image photo;         /* the component is sampled from here */
	aoi_image background;    /* the photo with the component removed */
	aoi_mask mask;           /* the component, 0/1 */
	double corners[8];       /* TL, TR, BL, BR; pixel (x, y) spans [x, x+1) */
	double cx, cy;           /* the corners' centre in pixel-index coordinates
				  * (pixel centres at integers): the rotation centre */
	int held_out;
} source;

typedef struct place_ctx {
	const aoi_synth_job *job;
	const aoi_synth_place_opts *o;
	source *src;
	int n_src;
	aoi_classes classes; /* component */
} place_ctx;

static void source_release(source *s)
{
	aoi_image_release(&s->photo);
	aoi_image_release(&s->background);
	aoi_mask_release(&s->mask);
}

/* The corners from the keypoints, or else the corners of the mask's
 * bounding box (a component photographed square to the camera). */
static int source_corners(source *s, const json_t *rec, aoi_error *err)
{
	json_t *kp = json_object_get(rec, "keypoints");

	if (json_is_array(kp) && json_array_size(kp) >= 4) {
		for (int k = 0; k < 4; k++) {
			json_t *p = json_array_get(kp, (size_t)k);
			if (!json_is_number(json_array_get(p, 0)) || !json_is_number(json_array_get(p, 1)))
				return aoi_error_set(err, AOI_EFORMAT, "", 0, "keypoint %d is not [x, y]", k + 1);
			s->corners[2 * k] = json_number_value(json_array_get(p, 0));
			s->corners[2 * k + 1] = json_number_value(json_array_get(p, 1));
		}
		return 0;
	}
	int x1 = s->mask.width, y1 = s->mask.height, x2 = -1, y2 = -1;
	for (int y = 0; y < s->mask.height; y++)
		for (int x = 0; x < s->mask.width; x++)
			if (s->mask.data[(size_t)y * s->mask.width + x]) {
				x1 = x < x1 ? x : x1, y1 = y < y1 ? y : y1;
				x2 = x > x2 ? x : x2, y2 = y > y2 ? y : y2;
			}
	if (x2 < 0)
		return aoi_error_set(err, AOI_EFORMAT, "", 0, "neither keypoints nor a component mask");
	double c[8] = { x1, y1, x2 + 1, y1, x1, y2 + 1, x2 + 1, y2 + 1 }; /* pixel edges */
	memcpy(s->corners, c, sizeof c);
	return 0;
}

/* The component's mask: class "component" of the record's masks if it has
 * one, any annotated pixel otherwise, else the polygon of its corners. */
static int source_mask(source *s, const json_t *rec, const char *base, aoi_error *err)
{
	aoi_classes cl;
	int rc;

	/* the photo gives the size when the record does not */
	json_t *sized = json_deep_copy(rec);
	json_object_set_new(sized, "width", json_integer(s->photo.width));
	json_object_set_new(sized, "height", json_integer(s->photo.height));
	aoi_classes_init(&cl);
	rc = aoi_classes_from_record(&cl, sized, err);
	if (rc == 0)
		rc = aoi_record_mask(sized, base, &cl, &s->mask, err);
	json_decref(sized);
	if (rc == 0 && (s->mask.width != s->photo.width || s->mask.height != s->photo.height))
		rc = aoi_error_set(err, AOI_ESHAPE, "", 0, "mask %dx%d for image %dx%d", s->mask.width,
				   s->mask.height, s->photo.width, s->photo.height);
	int want = rc == 0 ? aoi_classes_find(&cl, "component") : 0;
	aoi_classes_release(&cl);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < (size_t)s->mask.width * s->mask.height; i++)
		s->mask.data[i] = want ? s->mask.data[i] == want : s->mask.data[i] != 0;
	if (source_corners(s, rec, err) < 0)
		return -1;
	if (aoi_mask_count(&s->mask, 1) == 0) {
		double xy[8] = { s->corners[0], s->corners[1], s->corners[2], s->corners[3],
				 s->corners[6], s->corners[7], s->corners[4], s->corners[5] };
		aoi_raster_polygon(&s->mask, xy, 4, 1);
	}
	if (aoi_mask_count(&s->mask, 1) == 0)
		return aoi_error_set(err, AOI_EFORMAT, "", 0, "the component has no pixels");
	return 0;
}

/* The hole is the component grown by two pixels, so that its soft edge
 * does not stay behind when it moves. */
static int grown(const aoi_mask *m, aoi_mask *out, int r, aoi_error *err)
{
	if (aoi_mask_alloc(out, m->width, m->height, err) < 0)
		return -1;
	for (int y = 0; y < m->height; y++)
		for (int x = 0; x < m->width; x++) {
			if (!m->data[(size_t)y * m->width + x])
				continue;
			for (int dy = -r; dy <= r; dy++)
				for (int dx = -r; dx <= r; dx++) {
					int nx = x + dx, ny = y + dy;
					if (nx >= 0 && ny >= 0 && nx < m->width && ny < m->height)
						out->data[(size_t)ny * m->width + nx] = 1;
				}
		}
	return 0;
}

static int source_background(source *s, const json_t *rec, const char *base,
			     int fill_template, aoi_error *err)
{
	char path[4096];
	aoi_mask hole = { 0 };

	if (fill_template) {
		if (aoi_record_path(rec, "template", base, path, sizeof path) < 0)
			return aoi_error_set(err, AOI_ENOTFOUND, "", 0, "no template to fill the hole from");
		if (aoi_image_load(path, &s->background, err) < 0)
			return -1;
		if (s->background.width != s->photo.width || s->background.height != s->photo.height ||
		    s->background.channels != s->photo.channels)
			return aoi_error_set(err, AOI_ESHAPE, path, 0, "template is not the image's shape");
		return 0;
	}
	if (aoi_image_copy(&s->photo, &s->background, err) < 0 || grown(&s->mask, &hole, 2, err) < 0)
		return -1;
	int rc = aoi_synth_inpaint(&s->background, &hole, err);
	aoi_mask_release(&hole);
	return rc;
}

static int is_held_out(const aoi_synth_place_opts *o, const char *id, int k, int n)
{
	for (int i = 0; i < o->n_holdout_ids; i++)
		if (strcmp(o->holdout_ids[i], id) == 0)
			return 1;
	return k >= n - o->holdout;
}

static int source_load(place_ctx *c, source *s, const json_t *rec, const char *base, int k,
		       int n, aoi_error *err)
{
	char path[4096];
	const char *id = aoi_record_str(rec, "id");

	snprintf(s->id, sizeof s->id, "%s", id ? id : "");
	if (!id)
		snprintf(s->id, sizeof s->id, "source-%d", k);
	if (aoi_record_path(rec, "image", base, path, sizeof path) < 0)
		return aoi_error_set(err, AOI_EFORMAT, "", 0, "missing field 'image'");
	if (aoi_image_load(path, &s->photo, err) < 0 ||
	    aoi_synth_relpath(c->job->base ? c->job->base : ".", path, s->template_rel, sizeof s->template_rel, err) < 0 ||
	    source_mask(s, rec, base, err) < 0 ||
	    source_background(s, rec, base, c->o->fill_template, err) < 0)
		return -1;
	s->cx = (s->corners[0] + s->corners[2] + s->corners[4] + s->corners[6]) / 4 - 0.5;
	s->cy = (s->corners[1] + s->corners[3] + s->corners[5] + s->corners[7]) / 4 - 0.5;
	s->held_out = is_held_out(c->o, s->id, k, n);
	return 0;
}

static int load_sources(place_ctx *c, aoi_error *err)
{
	aoi_dataset ds;
	int got = 0;

	if (aoi_dataset_load(&ds, c->o->sources, c->o->root, err) < 0)
		return -1;
	c->n_src = (int)aoi_dataset_size(&ds);
	if (c->n_src == 0)
		got = aoi_error_set(err, AOI_EINVAL, ds.name, 0, "no source records");
	if (got == 0 && !(c->src = calloc((size_t)c->n_src, sizeof *c->src)))
		got = aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	for (int k = 0; got == 0 && k < c->n_src; k++) {
		got = source_load(c, &c->src[k], json_array_get(ds.records, (size_t)k), ds.base, k,
				  c->n_src, err);
		if (got < 0 && err && !err->where[0])
			aoi_error_locate(err, ds.name, k + 1);
	}
	aoi_dataset_release(&ds);
	return got < 0 ? -1 : 0;
}

/* A placement: source point p goes to c + R(theta) (p - c) + d, in
 * pixel-index coordinates (pixel centres at integers). */
typedef struct placement {
	double dx, dy, theta, cx, cy;
} placement;

static void place_point(const placement *p, double *x, double *y)
{
	double u = *x - p->cx, v = *y - p->cy, c = cos(p->theta), s = sin(p->theta);

	*x = p->cx + c * u - s * v + p->dx;
	*y = p->cy + s * u + c * v + p->dy;
}

static void unplace_point(const placement *p, double *x, double *y)
{
	double u = *x - p->cx - p->dx, v = *y - p->cy - p->dy, c = cos(p->theta), s = sin(p->theta);

	*x = p->cx + c * u + s * v;
	*y = p->cy - s * u + c * v;
}

/* The component at source point (x, y): its coverage (bilinear over the
 * 0/1 mask) and its colour, averaged over the covered neighbours only, so
 * that board pixels next to it do not bleed in. Returns alpha in [0, 1]. */
static double sample_component(const source *s, double x, double y, double *rgb)
{
	int w = s->photo.width, h = s->photo.height, ch = s->photo.channels;
	int x0 = (int)floor(x), y0 = (int)floor(y);
	double ax = x - x0, ay = y - y0, alpha = 0;

	for (int c = 0; c < ch; c++)
		rgb[c] = 0;
	for (int j = 0; j < 2; j++)
		for (int i = 0; i < 2; i++) {
			int xi = x0 + i, yj = y0 + j;
			if (xi < 0 || yj < 0 || xi >= w || yj >= h || !s->mask.data[(size_t)yj * w + xi])
				continue;
			double wt = (i ? ax : 1 - ax) * (j ? ay : 1 - ay);
			const uint8_t *px = s->photo.data + ((size_t)yj * w + xi) * ch;
			alpha += wt;
			for (int c = 0; c < ch; c++)
				rgb[c] += wt * px[c];
		}
	for (int c = 0; c < ch && alpha > 0; c++)
		rgb[c] /= alpha;
	return alpha;
}

/* The component's bounding box after placement, in output pixels. */
static void placed_box(const source *s, const placement *p, int *x1, int *y1, int *x2, int *y2)
{
	int w = s->mask.width, h = s->mask.height, bx1 = w, by1 = h, bx2 = -1, by2 = -1;

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			if (s->mask.data[(size_t)y * w + x]) {
				bx1 = x < bx1 ? x : bx1, by1 = y < by1 ? y : by1;
				bx2 = x > bx2 ? x : bx2, by2 = y > by2 ? y : by2;
			}
	double xs[4] = { bx1 - 1, bx2 + 1, bx1 - 1, bx2 + 1 }, ys[4] = { by1 - 1, by1 - 1, by2 + 1, by2 + 1 };
	double lx = 1e9, ly = 1e9, hx = -1e9, hy = -1e9;
	for (int k = 0; k < 4; k++) {
		place_point(p, &xs[k], &ys[k]);
		lx = fmin(lx, xs[k]), ly = fmin(ly, ys[k]), hx = fmax(hx, xs[k]), hy = fmax(hy, ys[k]);
	}
	*x1 = (int)fmax(0, floor(lx)), *y1 = (int)fmax(0, floor(ly));
	*x2 = (int)fmin(w, ceil(hx) + 1), *y2 = (int)fmin(h, ceil(hy) + 1);
}

/* Paste the component over the background: each output pixel near it
 * samples the photo and the mask (as alpha, bilinear, so the edge is
 * soft) where the placement sends it back to. The new mask is alpha >= 1/2. */
static void paste(const source *s, const placement *p, aoi_image *out, aoi_mask *mask)
{
	int w = out->width, ch = out->channels, x1, y1, x2, y2;

	placed_box(s, p, &x1, &y1, &x2, &y2);
	for (int y = y1; y < y2; y++)
		for (int x = x1; x < x2; x++) {
			double sx = x, sy = y;
			unplace_point(p, &sx, &sy);
			double rgb[4], alpha = sample_component(s, sx, sy, rgb);
			if (alpha <= 0)
				continue;
			uint8_t *px = out->data + ((size_t)y * w + x) * ch;
			for (int c = 0; c < ch; c++)
				px[c] = (uint8_t)(alpha * rgb[c] + (1 - alpha) * px[c] + 0.5);
			mask->data[(size_t)y * w + x] = alpha >= 0.5;
		}
}

/* Output at job->width x job->height when set: the image, mask and
 * corners scaled together (an augment transform with everything off). */
static int rescale(const aoi_synth_job *job, aoi_image *img, aoi_mask *mask, double *xy,
		   int n_points, double *scale, aoi_error *err)
{
	aoi_augment_opts o;
	aoi_augment a;
	aoi_rng unused;
	aoi_image img2 = { 0 };
	aoi_mask mask2 = { 0 };

	*scale = 1;
	if (!job->width || (job->width == img->width && job->height == img->height))
		return 0;
	aoi_augment_opts_init(&o);
	aoi_rng_seed(&unused, 0);
	aoi_augment_draw(&o, &unused, img->width, img->height, job->width, job->height, &a);
	if (aoi_augment_image(&a, img, &img2, err) < 0 || aoi_augment_mask(&a, mask, &mask2, err) < 0) {
		aoi_image_release(&img2);
		return -1;
	}
	*scale = job->width / (double)img->width;
	for (int k = 0; k < 2 * n_points; k++)
		xy[k] -= 0.5; /* record points to the transform's pixel centres */
	for (int k = 0; k < n_points; k++)
		aoi_augment_point(&a, &xy[2 * k], &xy[2 * k + 1]);
	for (int k = 0; k < 2 * n_points; k++)
		xy[k] += 0.5;
	aoi_image_release(img);
	aoi_mask_release(mask);
	*img = img2;
	*mask = mask2;
	return 0;
}

static const char *split_of(const place_ctx *c, const source *s, aoi_rng *rng)
{
	double u = aoi_rng_uniform(rng); /* drawn always: splits stay put when held out */

	return s->held_out ? "test" : u < c->o->val ? "val" : "train";
}

static json_t *place_record(const place_ctx *c, long i, const source *s, const placement *p,
			    const aoi_image *img, const double *xy, double scale, const char *split,
			    const char *rel)
{
	char id[64];
	double deg = p->theta * 180 / M_PI;
	int bad = hypot(p->dx, p->dy) * scale > c->o->tol_px || fabs(deg) > c->o->tol_deg;

	snprintf(id, sizeof id, "place-%06ld", i);
	json_t *rec = aoi_synth_record_new(id, rel, img);
	json_object_set_new(rec, "label", json_string(bad ? "defective" : "good"));
	json_object_set_new(rec, "split", json_string(split));
	json_object_set_new(rec, "source", json_string(s->id));
	json_object_set_new(rec, "template", json_string(s->template_rel));
	json_object_set_new(rec, "keypoints", aoi_synth_points_json(xy, 4));
	/* where the component belongs: aoi-classify's placement rule compares
	 * predicted corners with these ({"nominal": {"field": "nominal"}}) */
	json_object_set_new(rec, "nominal", aoi_synth_points_json(xy + 8, 4));
	json_object_set_new(rec, "classes", aoi_classes_to_json(&c->classes));
	json_t *shift = json_array();
	json_array_append_new(shift, aoi_synth_real(p->dx * scale));
	json_array_append_new(shift, aoi_synth_real(p->dy * scale));
	json_object_set_new(rec, "shift", shift);
	json_object_set_new(rec, "angle", aoi_synth_real(deg));
	return rec;
}

static int make_place(void *ctxp, long i, aoi_rng *rng, json_t **out, aoi_error *err)
{
	const place_ctx *c = ctxp;
	const source *s = &c->src[i % c->n_src];
	placement p = { 0, 0, 0, s->cx, s->cy };
	aoi_image img = { 0 };
	aoi_mask mask = { 0 };
	double xy[16], scale; /* placed corners, then the source's */
	char name[64], rel[4096];

	p.dx = aoi_rng_range(rng, c->o->shift_lo, c->o->shift_hi);
	p.dy = aoi_rng_range(rng, c->o->shift_lo, c->o->shift_hi);
	p.theta = aoi_rng_range(rng, c->o->rotate_lo, c->o->rotate_hi) * M_PI / 180;
	const char *split = split_of(c, s, rng);
	if (aoi_image_copy(&s->background, &img, err) < 0 ||
	    aoi_mask_alloc(&mask, img.width, img.height, err) < 0) {
		aoi_image_release(&img);
		return -1;
	}
	paste(s, &p, &img, &mask);
	memcpy(xy, s->corners, sizeof s->corners);
	memcpy(xy + 8, s->corners, sizeof s->corners);
	for (int k = 0; k < 4; k++) { /* corners are pixel edges, placement index-based */
		xy[2 * k] -= 0.5, xy[2 * k + 1] -= 0.5;
		place_point(&p, &xy[2 * k], &xy[2 * k + 1]);
		xy[2 * k] += 0.5, xy[2 * k + 1] += 0.5;
	}
	snprintf(name, sizeof name, "place_%06ld.png", i);
	int rc = rescale(c->job, &img, &mask, xy, 8, &scale, err);
	if (rc == 0)
		rc = aoi_synth_record_path(c->job, name, rel, sizeof rel, err);
	json_t *rec = rc == 0 ? place_record(c, i, s, &p, &img, xy, scale, split, rel) : NULL;
	if (rc == 0)
		rc = aoi_record_set_masks(rec, &mask, &c->classes, err);
	aoi_mask_release(&mask);
	return aoi_synth_finish(c->job, rc, name, &img, rec, out, err);
}

/* --draw-sources K: K board photos into DIR/sources/, their records into
 * DIR/sources.jsonl, which then serves as --sources. */
static int draw_sources(const aoi_synth_job *job, int k, char *list, size_t size,
			aoi_error *err)
{
	aoi_synth_job sub = *job;
	aoi_synth_board_opts bo;
	aoi_atomic_file f;
	char dir[4096];

	if (aoi_synth_out_path(job, "sources.jsonl", list, size, err) < 0 ||
	    aoi_synth_out_path(job, "sources", dir, sizeof dir, err) < 0 ||
	    aoi_mkdir_p(job->out_dir, err) < 0 || aoi_atomic_open(&f, list, err) < 0)
		return -1;
	sub.n = k;
	sub.seed = job->seed ^ 0xb0a2d5eedULL; /* not the images' own streams */
	sub.out_dir = dir;
	sub.base = job->out_dir; /* sources.jsonl sits there */
	sub.records = f.fp;
	sub.width = sub.height = 0;
	sub.progress = NULL;
	aoi_synth_board_opts_init(&bo);
	if (aoi_synth_board(&sub, &bo, err) < 0) {
		aoi_atomic_abort(&f);
		return -1;
	}
	return aoi_atomic_commit(&f, err);
}

int aoi_synth_place(const aoi_synth_job *job, const aoi_synth_place_opts *o, aoi_error *err)
{
	place_ctx c = { job, o, NULL, 0, { 0 } };
	aoi_synth_place_opts local = *o;
	char list[4096];
	int rc = 0;

	if (o->draw_sources > 0) {
		if (draw_sources(job, o->draw_sources, list, sizeof list, err) < 0)
			return -1;
		local.sources = list;
		local.root = NULL;
		c.o = &local;
	} else if (!o->sources) {
		return aoi_error_set(err, AOI_EINVAL, "", 0, "place needs --sources or --draw-sources");
	}
	if (aoi_mkdir_p(job->out_dir, err) < 0)
		return -1;
	aoi_classes_init(&c.classes);
	aoi_classes_add(&c.classes, "component");
	rc = load_sources(&c, err);
	for (int i = 0; rc == 0 && i < c.o->n_holdout_ids; i++) {
		int found = 0;
		for (int k = 0; k < c.n_src; k++)
			found |= strcmp(c.src[k].id, c.o->holdout_ids[i]) == 0;
		if (!found)
			rc = aoi_error_set(err, AOI_ENOTFOUND, c.o->sources, 0,
					   "--holdout-ids: no source has id '%s'", c.o->holdout_ids[i]);
	}
	if (rc == 0) {
		int held = 0;
		for (int k = 0; k < c.n_src; k++)
			held += c.src[k].held_out;
		if (held == c.n_src)
			rc = aoi_error_set(err, AOI_EINVAL, "", 0, "all %d sources are held out", c.n_src);
	}
	if (rc == 0)
		rc = aoi_synth_run(job, job->n, make_place, &c, err);
	for (int k = 0; c.src && k < c.n_src; k++)
		source_release(&c.src[k]);
	free(c.src);
	aoi_classes_release(&c.classes);
	return rc;
}
