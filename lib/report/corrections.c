/* corrections.c: reviewers' corrections checked whole, then folded into
 * the dataset: a file with one bad line changes nothing. */
#include "report/corrections.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "data/mask.h"
#include "data/record.h"
#include "image/image.h"

/* ---- one correction ---- */

static int optional_string(const json_t *corr, const char *key, aoi_error *err)
{
	json_t *v = json_object_get(corr, key);

	if (v && !json_is_null(v) && (!json_is_string(v) || !json_string_length(v)))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "'%s' must be a non-empty string or null", key);
	return 0;
}

static int required_string(const json_t *corr, const char *key, aoi_error *err)
{
	json_t *v = json_object_get(corr, key);

	if (!v)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0, "missing field '%s'", key);
	if (!json_is_string(v) || !json_string_length(v))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "'%s' must be a non-empty string", key);
	return 0;
}

/* The fields a correction must or may have, and their types. */
static int check_fields(const json_t *corr, aoi_error *err)
{
	const char *verdict = aoi_record_str(corr, "verdict");
	json_t *mask = json_object_get(corr, "mask"), *masks = json_object_get(corr, "masks");

	if (!json_is_object(corr))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0, "a correction must be an object");
	if (required_string(corr, "id", err) || required_string(corr, "verdict", err) ||
	    required_string(corr, "reviewer", err) || required_string(corr, "time", err) ||
	    optional_string(corr, "class", err))
		return -1;
	if (strcmp(verdict, "accept") != 0 && strcmp(verdict, "reject") != 0)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "'verdict' must be \"accept\" or \"reject\", not \"%s\"",
				     verdict);
	if (mask && !json_is_null(mask) && !json_is_object(mask))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "'mask' must be {\"size\":[h,w],\"counts\":\"...\"} or null");
	if (masks && !json_is_object(masks))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "'masks' must be an object of class: RLE");
	if (json_is_object(mask) && masks)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "give 'mask' (one class) or 'masks', not both");
	return 0;
}

/* The record's image size: its width and height, else the image's header. */
static int record_size(json_t *rec, const char *base, int *w, int *h, aoi_error *err)
{
	json_t *jw = json_object_get(rec, "width"), *jh = json_object_get(rec, "height");
	char path[4096];
	int c;

	if (json_is_integer(jw) && json_is_integer(jh) && json_integer_value(jw) > 0 &&
	    json_integer_value(jh) > 0 && json_integer_value(jw) <= INT_MAX &&
	    json_integer_value(jh) <= INT_MAX) {
		*w = (int)json_integer_value(jw);
		*h = (int)json_integer_value(jh);
		return 0;
	}
	if (aoi_record_path(rec, "image", base, path, sizeof path) != 0)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "the record has neither width and height nor an image");
	if (aoi_image_probe(path, w, h, &c, err) != 0)
		return -1;
	json_object_set_new(rec, "width", json_integer(*w));
	json_object_set_new(rec, "height", json_integer(*h));
	return 0;
}

/* One RLE {"size":[h,w],"counts":"..."} of `what` into m as class k. */
static int decode_rle(const json_t *rle, const char *what, aoi_mask *m, int k,
		      aoi_error *err)
{
	json_t *size = json_object_get(rle, "size");
	json_t *jh = json_array_get(size, 0), *jw = json_array_get(size, 1);
	const char *counts = json_string_value(json_object_get(rle, "counts"));
	char msg[sizeof err->msg];

	if (!json_is_object(rle) || json_array_size(size) != 2 || !json_is_integer(jh) ||
	    !json_is_integer(jw) || !counts)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "%s must be {\"size\":[h,w],\"counts\":\"...\"}", what);
	if (json_integer_value(jh) != m->height || json_integer_value(jw) != m->width)
		return aoi_error_set(err, AOI_ESHAPE, NULL, 0,
				     "%s is %" JSON_INTEGER_FORMAT "x%" JSON_INTEGER_FORMAT
				     " (h x w) but the record's image is %dx%d",
				     what, json_integer_value(jh), json_integer_value(jw),
				     m->height, m->width);
	if (aoi_rle_decode(counts, m, (uint8_t)k, err) == 0)
		return 0;
	snprintf(msg, sizeof msg, "%s", err->msg);
	return aoi_error_set(err, AOI_EFORMAT, NULL, 0, "%s: %s", what, msg);
}

/* The correction's mask ("mask" with "class", or "masks") into m, its
 * classes added to cls. */
static int correction_mask(const json_t *corr, aoi_classes *cls, aoi_mask *m,
			   aoi_error *err)
{
	json_t *mask = json_object_get(corr, "mask"), *v;
	const char *name = aoi_record_str(corr, "class"), *key;
	int k;

	if (json_is_object(mask)) {
		if (decode_rle(mask, "mask", m, 1, err) != 0)
			return -1;
		if (aoi_mask_count(m, 1) == 0)
			return 0;
		if (!name)
			return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
					     "the mask has defect pixels but no 'class'");
		if ((k = aoi_classes_add(cls, name)) < 0)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0, "too many classes");
		for (size_t i = 0, n = (size_t)m->width * m->height; i < n; i++)
			m->data[i] = m->data[i] ? (uint8_t)k : 0;
		return 0;
	}
	json_object_foreach(json_object_get(corr, "masks"), key, v) {
		char what[300];

		snprintf(what, sizeof what, "masks.%s", key);
		if ((k = aoi_classes_add(cls, key)) < 0)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0, "too many classes");
		if (decode_rle(v, what, m, k, err) != 0)
			return -1;
	}
	return 0;
}

/* The mask replaces the record's annotation; its classes join "classes". */
static int replace_annotation(json_t *rec, const json_t *corr, const char *base,
			      aoi_error *err)
{
	aoi_classes cls;
	aoi_mask m = { 0 };
	int w, h, rc = -1;

	aoi_classes_init(&cls);
	if (record_size(rec, base, &w, &h, err) != 0 ||
	    aoi_classes_from_record(&cls, rec, err) != 0 || aoi_mask_alloc(&m, w, h, err) != 0 ||
	    correction_mask(corr, &cls, &m, err) != 0 ||
	    aoi_record_set_masks(rec, &m, &cls, err) != 0)
		goto done;
	if (json_object_size(json_object_get(rec, "masks")) == 0)
		json_object_del(rec, "masks");
	json_object_del(rec, "mask");
	json_object_del(rec, "boxes");
	if (cls.n)
		json_object_set_new(rec, "classes", aoi_classes_to_json(&cls));
	rc = 0;
done:
	aoi_mask_release(&m);
	aoi_classes_release(&cls);
	return rc;
}

/* A label of an inspection dataset (good, defective) or none: the verdict
 * decides it; a class name (image classification): the correction's class. */
static void set_label(json_t *rec, const json_t *corr, const char *verdict)
{
	const char *label = aoi_record_str(rec, "label");
	const char *name = aoi_record_str(corr, "class");

	if (!label || strcmp(label, "good") == 0 || strcmp(label, "defective") == 0)
		json_object_set_new(rec, "label",
				    json_string(strcmp(verdict, "accept") == 0 ? "good"
									: "defective"));
	else if (name)
		json_object_set_new(rec, "label", json_string(name));
}

int aoi_correction_apply(json_t *rec, const json_t *corr, const char *base,
			 aoi_error *err)
{
	const char *verdict;
	json_t *review, *model;

	if (check_fields(corr, err) != 0)
		return -1;
	verdict = aoi_record_str(corr, "verdict");
	if ((json_is_object(json_object_get(corr, "mask")) || json_object_get(corr, "masks")) &&
	    replace_annotation(rec, corr, base, err) != 0)
		return -1;
	set_label(rec, corr, verdict);
	review = json_pack("{s:s,s:O,s:O}", "verdict", verdict, "reviewer",
			   json_object_get(corr, "reviewer"), "time",
			   json_object_get(corr, "time"));
	if (!review)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	if ((model = json_object_get(rec, "decision")) != NULL)
		json_object_set(review, "model_decision", model);
	json_object_set_new(rec, "decision", json_string(verdict));
	json_object_del(rec, "reasons");
	json_object_set_new(rec, "review", review);
	return 0;
}

/* ---- a whole file ---- */

/* id -> index of ds's records; a duplicate id is an error at its line. */
static json_t *index_ids(const aoi_dataset *ds, aoi_error *err)
{
	json_t *index = json_object(), *rec, *seen;
	size_t i;

	if (!index) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		return NULL;
	}
	json_array_foreach(ds->records, i, rec) {
		const char *id = aoi_record_str(rec, "id");

		if (!id)
			continue;
		if ((seen = json_object_get(index, id)) != NULL) {
			aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				      "id '%s' is also at line %ld: ids must be unique", id,
				      ds->lines[json_integer_value(seen)]);
			aoi_dataset_locate(ds, i, err);
			json_decref(index);
			return NULL;
		}
		json_object_set_new(index, id, json_integer((json_int_t)i));
	}
	return index;
}

/* The correction corr (at line) as a new copy of its record in merged[i]. */
static int merge_line(const aoi_dataset *ds, json_t *index, json_t **merged,
		      const json_t *corr, long line, long *lines, aoi_error *err)
{
	const char *id = aoi_record_str(corr, "id");
	json_t *at;
	size_t i;

	if (check_fields(corr, err) != 0)
		return -1;
	if (!(at = json_object_get(index, id)))
		return aoi_error_set(err, AOI_ENOTFOUND, NULL, 0,
				     "id '%s' is not in %s", id, ds->name);
	i = (size_t)json_integer_value(at);
	if (merged[i])
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "id '%s' was corrected already at line %ld", id, lines[i]);
	if (!(merged[i] = json_deep_copy(json_array_get(ds->records, i))))
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	lines[i] = line;
	return aoi_correction_apply(merged[i], corr, ds->base, err);
}

/* Every line of r into merged[]; -1 with err at the line on a problem. */
static int merge_all(const aoi_dataset *ds, aoi_reader *r, json_t **merged, long *lines,
		     aoi_merge_summary *sum, aoi_error *err)
{
	json_t *index = index_ids(ds, err), *corr;
	int got, rc = 0;

	if (!index)
		return -1;
	while (rc == 0 && (got = aoi_reader_next(r, &corr, err)) > 0) {
		rc = merge_line(ds, index, merged, corr, aoi_reader_line(r), lines, err);
		if (rc != 0)
			aoi_error_locate(err, aoi_reader_name(r), aoi_reader_line(r));
		sum->corrections++;
		sum->masks += json_is_object(json_object_get(corr, "mask")) ||
			      json_object_get(corr, "masks");
		json_decref(corr);
	}
	json_decref(index);
	return rc != 0 || got < 0 ? -1 : 0;
}

int aoi_corrections_merge(aoi_dataset *ds, const char *path, unsigned char *reviewed,
			  aoi_merge_summary *sum, aoi_error *err)
{
	size_t n = aoi_dataset_size(ds);
	json_t **merged = calloc(n ? n : 1, sizeof *merged);
	long *lines = calloc(n ? n : 1, sizeof *lines);
	aoi_merge_summary s = { 0 };
	aoi_reader *r = NULL;
	int rc = -1;

	if (!merged || !lines) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		goto done;
	}
	if (!(r = aoi_reader_open(path, NULL, err)) || merge_all(ds, r, merged, lines, &s, err))
		goto done;
	for (size_t i = 0; i < n; i++) {
		if (reviewed)
			reviewed[i] = merged[i] != NULL;
		if (merged[i])
			json_array_set(ds->records, i, merged[i]);
	}
	if (sum)
		*sum = s;
	rc = 0;
done:
	for (size_t i = 0; merged && i < n; i++)
		json_decref(merged[i]);
	free(merged);
	free(lines);
	aoi_reader_free(r);
	return rc;
}

int aoi_corrections_merge_run(const aoi_datatool *t, const aoi_merge_opts *m, aoi_error *err)
{
	aoi_dataset ds;
	unsigned char *reviewed;
	int rc = -1;

	if (aoi_dataset_load(&ds, t->path ? t->path : "-", t->root, err) != 0)
		return -1;
	if (!(reviewed = calloc(aoi_dataset_size(&ds) + 1, 1)))
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	else if (aoi_corrections_merge(&ds, m->corrections, reviewed, NULL, err) == 0)
		rc = 0;
	for (size_t i = 0; rc == 0 && i < aoi_dataset_size(&ds); i++)
		if (reviewed[i] || !m->reviewed_only)
			rc = aoi_record_write(t->out, json_array_get(ds.records, i), err);
	free(reviewed);
	aoi_dataset_release(&ds);
	return rc;
}
