/* synth_augment.c: seed 003's augmentation as a dataset step: random
 * rotation, flip, crop and zoom (augment.h) applied alike to a record's
 * image, template, masks, boxes and keypoints. --balance N brings every
 * label to N records, as seed 003 evened its ten classes out at 10,000
 * images each: a label with fewer records keeps them all and gets
 * augmented copies of them in turn; one with more keeps a seeded random N.
 *
 * Without --balance every input record gives job->n augmented copies. */
#include "synth/synth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/record.h"

void aoi_synth_augment_opts_init(aoi_synth_augment_opts *o)
{
	memset(o, 0, sizeof *o);
	aoi_augment_opts_init(&o->aug);
	o->aug.hflip = 1;
	o->aug.rotate = 15;
	o->aug.crop = 0.9;
	o->aug.zoom_lo = 0.9;
	o->aug.zoom_hi = 1.1;
}

/* Output record i is input `src` as it is (augment = 0) or augmented. */
typedef struct plan_item {
	long src;
	int augment;
} plan_item;

typedef struct augment_ctx {
	const aoi_synth_job *job;
	const aoi_synth_augment_opts *o;
	aoi_dataset in;
	plan_item *plan;
	long n;
} augment_ctx;

static const char *label_of(const json_t *rec)
{
	const char *l = aoi_record_str(rec, "label");

	return l ? l : "";
}

/* The records of one label, shuffled with a stream of their own. */
static long label_members(const augment_ctx *c, const char *label, long *idx, aoi_rng *rng)
{
	long m = 0;

	for (size_t i = 0; i < aoi_dataset_size(&c->in); i++)
		if (strcmp(label_of(json_array_get(c->in.records, i)), label) == 0)
			idx[m++] = (long)i;
	aoi_rng_shuffle(rng, idx, (size_t)m, sizeof *idx);
	return m;
}

static int is_first_of_label(const json_t *inputs, size_t i)
{
	const char *l = label_of(json_array_get(inputs, i));

	for (size_t j = 0; j < i; j++)
		if (strcmp(label_of(json_array_get(inputs, j)), l) == 0)
			return 0;
	return 1;
}

/* Labels in order of first appearance, each to exactly `balance` records. */
static int plan_balance(augment_ctx *c, aoi_error *err)
{
	size_t n_in = aoi_dataset_size(&c->in), labels = 0;
	long *idx = malloc(sizeof *idx * (n_in ? n_in : 1));
	aoi_rng base, r;

	for (size_t i = 0; i < n_in; i++)
		labels += is_first_of_label(c->in.records, i);
	c->plan = malloc(sizeof *c->plan * (labels * (size_t)c->o->balance + 1));
	if (!idx || !c->plan) {
		free(idx);
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	}
	aoi_rng_seed(&base, c->job->seed ^ 0xba1a4ceULL);
	c->n = 0;
	for (size_t i = 0, k = 0; i < n_in; i++) {
		if (!is_first_of_label(c->in.records, i))
			continue;
		aoi_rng_fork(&base, k++, &r);
		long m = label_members(c, label_of(json_array_get(c->in.records, i)), idx, &r);
		for (long j = 0; j < c->o->balance; j++) {
			c->plan[c->n].src = idx[j % m];
			c->plan[c->n++].augment = j >= m;
		}
	}
	free(idx);
	return 0;
}

static int plan_copies(augment_ctx *c, aoi_error *err)
{
	size_t n_in = aoi_dataset_size(&c->in);

	c->n = (long)n_in * c->job->n;
	c->plan = malloc(sizeof *c->plan * (size_t)(c->n ? c->n : 1));
	if (!c->plan)
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	for (long i = 0; i < c->n; i++) {
		c->plan[i].src = i / c->job->n;
		c->plan[i].augment = 1;
	}
	return 0;
}

/* A path field of the input renamed relative to the output's base. */
static int rebase_field(const augment_ctx *c, const json_t *in, json_t *rec, const char *key,
			aoi_error *err)
{
	char path[4096], rel[4096];

	if (!aoi_record_str(in, key))
		return 0;
	if (aoi_record_path(in, key, c->in.base, path, sizeof path) < 0 ||
	    aoi_synth_relpath(c->job->base ? c->job->base : ".", path, rel, sizeof rel, err) < 0)
		return -1;
	json_object_set_new(rec, key, json_string(rel));
	return 0;
}

static json_t *pass_through(const augment_ctx *c, const json_t *in, aoi_error *err)
{
	json_t *rec = json_deep_copy(in);

	if (rebase_field(c, in, rec, "image", err) < 0 || rebase_field(c, in, rec, "template", err) < 0 ||
	    rebase_field(c, in, rec, "mask", err) < 0) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

/* Load, transform and save one image field ("image" or "template") of the
 * input as `name`; the record gets the new path. */
static int augment_file(const augment_ctx *c, const json_t *in, json_t *rec, const char *key,
			const aoi_augment *a, const char *name, aoi_error *err)
{
	char path[4096], rel[4096];
	aoi_image img = { 0 }, out = { 0 };
	int rc;

	if (aoi_record_path(in, key, c->in.base, path, sizeof path) < 0)
		return aoi_error_set(err, AOI_EFORMAT, "", 0, "missing field '%s'", key);
	rc = aoi_image_load(path, &img, err);
	if (rc == 0)
		rc = aoi_augment_image(a, &img, &out, err);
	if (rc == 0)
		rc = aoi_synth_out_path(c->job, name, path, sizeof path, err);
	if (rc == 0)
		rc = aoi_image_save_png(path, &out, err);
	if (rc == 0)
		rc = aoi_synth_record_path(c->job, name, rel, sizeof rel, err);
	if (rc == 0)
		json_object_set_new(rec, key, json_string(rel));
	aoi_image_release(&img);
	aoi_image_release(&out);
	return rc;
}

/* Masks (inline or a PNG) into inline masks of the new geometry. */
static int augment_masks(const augment_ctx *c, const json_t *in, json_t *rec,
			 const aoi_augment *a, aoi_error *err)
{
	aoi_classes cl;
	aoi_mask m = { 0 }, out = { 0 };
	int rc;

	if (!json_object_get(in, "masks") && !json_object_get(in, "mask"))
		return 0;
	aoi_classes_init(&cl);
	rc = aoi_classes_from_record(&cl, in, err);
	if (rc == 0)
		rc = aoi_record_mask(in, c->in.base, &cl, &m, err);
	if (rc == 0)
		rc = aoi_augment_mask(a, &m, &out, err);
	if (rc == 0) {
		json_object_del(rec, "mask");
		json_object_set_new(rec, "classes", aoi_classes_to_json(&cl));
		rc = aoi_record_set_masks(rec, &out, &cl, err);
	}
	aoi_mask_release(&m);
	aoi_mask_release(&out);
	aoi_classes_release(&cl);
	return rc;
}

/* Boxes that leave the image are dropped; keypoints move (and may leave). */
static void augment_geometry(const json_t *in, json_t *rec, const aoi_augment *a)
{
	json_t *boxes = json_object_get(in, "boxes"), *kp = json_object_get(in, "keypoints");
	size_t i;
	json_t *v;

	if (json_is_array(boxes)) {
		json_t *nb = json_array();
		json_array_foreach(boxes, i, v) {
			double b[4];
			for (int k = 0; k < 4; k++)
				b[k] = json_number_value(json_array_get(v, (size_t)k));
			if (!aoi_augment_box(a, b))
				continue;
			json_t *o = json_deep_copy(v);
			for (int k = 0; k < 4; k++)
				json_array_set_new(o, (size_t)k, aoi_synth_real(b[k]));
			json_array_append_new(nb, o);
		}
		json_object_set_new(rec, "boxes", nb);
	}
	if (json_is_array(kp)) {
		double *xy = malloc(sizeof *xy * 2 * (json_array_size(kp) + 1));
		json_array_foreach(kp, i, v) {
			/* record points span pixels as boxes do; the transform
			 * works on pixel centres */
			xy[2 * i] = json_number_value(json_array_get(v, 0)) - 0.5;
			xy[2 * i + 1] = json_number_value(json_array_get(v, 1)) - 0.5;
			aoi_augment_point(a, &xy[2 * i], &xy[2 * i + 1]);
			xy[2 * i] += 0.5;
			xy[2 * i + 1] += 0.5;
		}
		json_object_set_new(rec, "keypoints", aoi_synth_points_json(xy, (int)json_array_size(kp)));
		free(xy);
	}
}

static json_t *augmented(const augment_ctx *c, const json_t *in, long i, aoi_rng *rng,
			 aoi_error *err)
{
	int w, h, ch;
	char path[4096], name[64], tname[64], id[256];
	aoi_augment a;
	const char *inid = aoi_record_str(in, "id");

	if (aoi_record_path(in, "image", c->in.base, path, sizeof path) < 0) {
		aoi_error_set(err, AOI_EFORMAT, "", 0, "missing field 'image'");
		return NULL;
	}
	if (aoi_image_probe(path, &w, &h, &ch, err) < 0)
		return NULL;
	aoi_augment_draw(&c->o->aug, rng, w, h, c->job->width ? c->job->width : w,
			 c->job->height ? c->job->height : h, &a);
	json_t *rec = json_deep_copy(in);
	snprintf(id, sizeof id, "%s-aug%06ld", inid ? inid : "image", i);
	snprintf(name, sizeof name, "aug_%06ld.png", i);
	snprintf(tname, sizeof tname, "aug_%06ld_template.png", i);
	json_object_set_new(rec, "id", json_string(id));
	json_object_set_new(rec, "width", json_integer(a.out_w));
	json_object_set_new(rec, "height", json_integer(a.out_h));
	if (augment_file(c, in, rec, "image", &a, name, err) < 0 ||
	    (aoi_record_str(in, "template") && augment_file(c, in, rec, "template", &a, tname, err) < 0) ||
	    augment_masks(c, in, rec, &a, err) < 0) {
		json_decref(rec);
		return NULL;
	}
	augment_geometry(in, rec, &a);
	return rec;
}

static int make_augment(void *ctxp, long i, aoi_rng *rng, json_t **out, aoi_error *err)
{
	const augment_ctx *c = ctxp;
	const plan_item *p = &c->plan[i];
	const json_t *in = json_array_get(c->in.records, (size_t)p->src);

	*out = p->augment ? augmented(c, in, i, rng, err) : pass_through(c, in, err);
	if (!*out && err && !err->where[0])
		aoi_error_locate(err, c->in.name, p->src + 1);
	return *out ? 0 : -1;
}

int aoi_synth_augment(const aoi_synth_job *job, const aoi_synth_augment_opts *o,
		      aoi_error *err)
{
	augment_ctx c = { .job = job, .o = o };
	int rc;

	if (aoi_dataset_load(&c.in, o->input, o->root, err) < 0)
		return -1;
	rc = o->balance > 0 ? plan_balance(&c, err) : plan_copies(&c, err);
	if (rc == 0)
		rc = aoi_synth_run(job, c.n, make_augment, &c, err);
	free(c.plan);
	aoi_dataset_release(&c.in);
	return rc;
}
