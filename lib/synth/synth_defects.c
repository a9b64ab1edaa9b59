/* synth_defects.c: realistic defects painted onto real good images, with
 * their masks, boxes and class names. Binarised PCB images (DeepPCB: most
 * pixels black or white) get the DeepPCB classes, anything else scratches,
 * blobs and spots. The original image stays the record's "template" (when
 * it had none), so reference-comparison training works on the result.
 *
 * Output image i paints on input record i mod M. */
#include "synth/synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/raster.h"
#include "data/record.h"

void aoi_synth_defects_opts_init(aoi_synth_defects_opts *o)
{
	memset(o, 0, sizeof *o);
	o->min_defects = 1;
	o->max_defects = 3;
}

typedef struct defects_ctx {
	const aoi_synth_job *job;
	const aoi_synth_defects_opts *o;
	aoi_dataset in; /* the good images */
} defects_ctx;

/* The record's existing classes, then the ones we may paint (in a fixed
 * order, so every output record of one kind lists the same classes). */
static int defect_classes(const json_t *rec, int binary, aoi_classes *cl, aoi_error *err)
{
	int lo = binary ? AOI_DEFECT_OPEN : AOI_DEFECT_SCRATCH;
	int hi = binary ? AOI_DEFECT_PINHOLE : AOI_DEFECT_SPOT;

	aoi_classes_init(cl);
	if (aoi_classes_from_record(cl, rec, err) < 0)
		return -1;
	for (int d = lo; d <= hi; d++)
		if (aoi_classes_add(cl, aoi_synth_defect_name(d)) < 0)
			return aoi_error_set(err, AOI_EINVAL, "", 0, "too many classes");
	return 0;
}

/* Paint n defects into img, their class indices into painted. */
static void paint_some(aoi_image *img, aoi_mask *painted, const aoi_classes *cl, int binary,
		       int n, aoi_rng *rng)
{
	int lo = binary ? AOI_DEFECT_OPEN : AOI_DEFECT_SCRATCH;
	int kinds = binary ? 6 : 3;

	for (int k = 0, tries = 0; k < n && tries < 8 * n; tries++) {
		enum aoi_synth_defect d = lo + (int)aoi_rng_below(rng, (uint32_t)kinds);
		int v = aoi_classes_find(cl, aoi_synth_defect_name(d));

		k += aoi_synth_paint_defect(img, painted, d, (uint8_t)v, rng);
	}
}

/* The truth: the input's own annotation, with every painted pixel that
 * really changed set to its class (a pixel painted twice back to what it
 * was is not a defect). */
static void merge_truth(aoi_mask *truth, const aoi_mask *painted, const aoi_image *before,
			const aoi_image *after)
{
	int ch = after->channels;

	for (size_t i = 0; i < (size_t)truth->width * truth->height; i++)
		if (painted->data[i] && memcmp(before->data + i * ch, after->data + i * ch, (size_t)ch))
			truth->data[i] = painted->data[i];
}

/* One box per connected piece of each class. */
static int boxes_of(const aoi_mask *m, const aoi_classes *cl, json_t *rec, aoi_error *err)
{
	json_t *boxes = json_array();

	for (int k = 1; k <= cl->n; k++) {
		aoi_component *comp = NULL;
		int n = aoi_components(m, k, &comp, err);
		if (n < 0) {
			json_decref(boxes);
			return -1;
		}
		for (int j = 0; j < n; j++)
			json_array_append_new(boxes, json_pack("[iiiis]", comp[j].x1, comp[j].y1, comp[j].x2,
							       comp[j].y2, cl->names[k - 1]));
		free(comp);
	}
	json_object_set_new(rec, "boxes", boxes);
	return 0;
}

/* The template: the input's own, else the input image; named relative to
 * the output's base. */
static int set_template(const defects_ctx *c, const json_t *in, json_t *rec, aoi_error *err)
{
	char path[4096], rel[4096];
	const char *key = aoi_record_str(in, "template") ? "template" : "image";

	if (aoi_record_path(in, key, c->in.base, path, sizeof path) < 0 ||
	    aoi_synth_relpath(c->job->base ? c->job->base : ".", path, rel, sizeof rel, err) < 0)
		return aoi_error_set(err, AOI_EINVAL, "", 0, "cannot name the template");
	json_object_set_new(rec, "template", json_string(rel));
	return 0;
}

static json_t *defect_record(const defects_ctx *c, const json_t *in, long i, const char *rel,
			     const aoi_image *img, const aoi_classes *cl, const aoi_mask *truth,
			     aoi_error *err)
{
	json_t *rec = json_deep_copy(in);
	const char *inid = aoi_record_str(in, "id");
	char id[256];

	snprintf(id, sizeof id, "%s-def%06ld", inid ? inid : "image", i);
	json_object_set_new(rec, "id", json_string(id));
	json_object_set_new(rec, "image", json_string(rel));
	json_object_set_new(rec, "width", json_integer(img->width));
	json_object_set_new(rec, "height", json_integer(img->height));
	json_object_set_new(rec, "channels", json_integer(img->channels));
	json_object_set_new(rec, "label", json_string("defective"));
	if (!json_object_get(rec, "source"))
		json_object_set_new(rec, "source", json_string(inid ? inid : "image"));
	json_object_del(rec, "mask");
	json_object_del(rec, "pred");
	json_object_del(rec, "decision");
	json_object_del(rec, "reasons");
	json_object_set_new(rec, "classes", aoi_classes_to_json(cl));
	if (set_template(c, in, rec, err) < 0 || aoi_record_set_masks(rec, truth, cl, err) < 0 ||
	    boxes_of(truth, cl, rec, err) < 0) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

typedef struct work {
	aoi_image img, before;
	aoi_mask truth, painted;
	aoi_classes cl;
} work;

static void work_release(work *w)
{
	aoi_image_release(&w->img);
	aoi_image_release(&w->before);
	aoi_mask_release(&w->truth);
	aoi_mask_release(&w->painted);
	aoi_classes_release(&w->cl);
}

static int load_input(const defects_ctx *c, const json_t *in, work *w, aoi_error *err)
{
	char path[4096];

	if (aoi_record_path(in, "image", c->in.base, path, sizeof path) < 0)
		return aoi_error_set(err, AOI_EFORMAT, "", 0, "missing field 'image'");
	if (aoi_image_load(path, &w->img, err) < 0 || aoi_image_copy(&w->img, &w->before, err) < 0)
		return -1;
	int binary = aoi_synth_is_binary(&w->img);
	if (defect_classes(in, binary, &w->cl, err) < 0 ||
	    aoi_mask_alloc(&w->painted, w->img.width, w->img.height, err) < 0)
		return -1;
	if (json_object_get(in, "masks") || json_object_get(in, "mask") || json_object_get(in, "boxes")) {
		json_t *sized = json_deep_copy(in); /* the mask needs the size */
		json_object_set_new(sized, "width", json_integer(w->img.width));
		json_object_set_new(sized, "height", json_integer(w->img.height));
		int rc = aoi_record_mask(sized, c->in.base, &w->cl, &w->truth, err);
		json_decref(sized);
		if (rc < 0)
			return -1;
		if (w->truth.width != w->img.width || w->truth.height != w->img.height)
			return aoi_error_set(err, AOI_ESHAPE, "", 0, "mask is not the image's size");
		return binary;
	}
	if (aoi_mask_alloc(&w->truth, w->img.width, w->img.height, err) < 0)
		return -1;
	return binary;
}

static int make_defects(void *ctxp, long i, aoi_rng *rng, json_t **out, aoi_error *err)
{
	const defects_ctx *c = ctxp;
	size_t k = (size_t)(i % (long)aoi_dataset_size(&c->in));
	const json_t *in = json_array_get(c->in.records, k);
	work w = { 0 };
	char name[64], path[4096], rel[4096];
	int binary = load_input(c, in, &w, err);
	int rc = binary < 0 ? -1 : 0;

	if (rc == 0) {
		int n = c->o->min_defects +
			(int)aoi_rng_below(rng, (uint32_t)(c->o->max_defects - c->o->min_defects + 1));
		paint_some(&w.img, &w.painted, &w.cl, binary, n, rng);
		merge_truth(&w.truth, &w.painted, &w.before, &w.img);
		snprintf(name, sizeof name, "defect_%06ld.png", i);
		rc = aoi_synth_out_path(c->job, name, path, sizeof path, err);
	}
	if (rc == 0)
		rc = aoi_synth_record_path(c->job, name, rel, sizeof rel, err);
	if (rc == 0 && !(*out = defect_record(c, in, i, rel, &w.img, &w.cl, &w.truth, err)))
		rc = -1;
	if (rc == 0 && aoi_image_save_png(path, &w.img, err) < 0) {
		json_decref(*out);
		*out = NULL;
		rc = -1;
	}
	if (rc < 0 && err && !err->where[0])
		aoi_error_locate(err, c->in.name, (long)k + 1);
	work_release(&w);
	return rc;
}

int aoi_synth_defects(const aoi_synth_job *job, const aoi_synth_defects_opts *o,
		      aoi_error *err)
{
	defects_ctx c = { .job = job, .o = o };

	if (o->min_defects < 1 || o->max_defects < o->min_defects)
		return aoi_error_set(err, AOI_EINVAL, "", 0, "bad defect count %d:%d", o->min_defects,
				     o->max_defects);
	if (aoi_dataset_load(&c.in, o->on, o->root, err) < 0)
		return -1;
	int rc = aoi_dataset_size(&c.in) == 0
		? aoi_error_set(err, AOI_EINVAL, c.in.name, 0, "no records to paint on")
		: aoi_synth_run(job, job->n, make_defects, &c, err);
	aoi_dataset_release(&c.in);
	return rc;
}
