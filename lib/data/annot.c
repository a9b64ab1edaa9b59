/* annot.c: the annotation half of record.h: checking a record against the
 * dataset format (man/aoi-dataset.5), class lists, and a record's
 * annotation as a class-index mask and back to inline RLE. */
#include "data/record.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/raster.h"

/* ---- classes ---- */

void aoi_classes_init(aoi_classes *c)
{
	memset(c, 0, sizeof *c);
}

void aoi_classes_release(aoi_classes *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->n; i++)
		free(c->names[i]);
	aoi_classes_init(c);
}

int aoi_classes_find(const aoi_classes *c, const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (strcmp(c->names[i], name) == 0)
			return i + 1;
	return 0;
}

int aoi_classes_add(aoi_classes *c, const char *name)
{
	int k = aoi_classes_find(c, name);

	if (k)
		return k;
	if (c->n == AOI_MAX_CLASSES || !(c->names[c->n] = strdup(name)))
		return -1;
	return ++c->n;
}

static int classes_add_checked(aoi_classes *c, const char *name, aoi_error *err)
{
	if (aoi_classes_add(c, name) < 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     c->n == AOI_MAX_CLASSES ? "more than %d classes"
							     : "out of memory (%d classes)",
				     AOI_MAX_CLASSES);
	return 0;
}

int aoi_classes_from_record(aoi_classes *c, const json_t *rec, aoi_error *err)
{
	json_t *arr = json_object_get(rec, "classes"), *v;
	const char *key;
	size_t i;

	if (json_is_array(arr)) {
		json_array_foreach(arr, i, v) {
			if (!json_is_string(v))
				return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
						     "classes[%zu] must be a string", i);
			if (classes_add_checked(c, json_string_value(v), err) < 0)
				return -1;
		}
		return 0;
	}
	json_object_foreach(json_object_get(rec, "masks"), key, v)
		if (classes_add_checked(c, key, err) < 0)
			return -1;
	json_array_foreach(json_object_get(rec, "boxes"), i, v) {
		const char *name = json_string_value(json_array_get(v, 4));

		if (name && classes_add_checked(c, name, err) < 0)
			return -1;
	}
	return 0;
}

json_t *aoi_classes_to_json(const aoi_classes *c)
{
	json_t *arr = json_array();

	for (int i = 0; arr && i < c->n; i++)
		json_array_append_new(arr, json_string(c->names[i]));
	return arr;
}

/* ---- checking a record ---- */

static int need_string(const json_t *rec, const char *key, int required,
		       aoi_error *err)
{
	json_t *v = json_object_get(rec, key);

	if (!v)
		return required ? aoi_error_set(err, AOI_EFORMAT, NULL, 0,
						"missing field '%s'", key)
				: 0;
	if (!json_is_string(v))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "field '%s' must be a string", key);
	if (required && !json_string_value(v)[0])
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "field '%s' must not be empty", key);
	return 0;
}

/* A positive integer field; *out stays 0 when absent. */
static int check_dim(const json_t *rec, const char *key, int *out, aoi_error *err)
{
	json_t *v = json_object_get(rec, key);

	*out = 0;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    json_integer_value(v) > INT_MAX)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "field '%s' must be a positive integer", key);
	*out = (int)json_integer_value(v);
	return 0;
}

static int check_one_of(const json_t *rec, const char *key, const char *const *allowed,
			const char *list, aoi_error *err)
{
	const char *s = json_string_value(json_object_get(rec, key));

	if (!json_object_get(rec, key))
		return 0;
	for (int i = 0; s && allowed[i]; i++)
		if (strcmp(s, allowed[i]) == 0)
			return 0;
	return aoi_error_set(err, AOI_EFORMAT, NULL, 0, "field '%s' must be one of %s",
			     key, list);
}

static int check_basic_fields(const json_t *rec, int *w, int *h, aoi_error *err)
{
	static const char *const splits[] = {"train", "val", "test", NULL};
	static const char *const decisions[] = {"accept", "reject", NULL};
	json_t *ch = json_object_get(rec, "channels");

	if (need_string(rec, "id", 1, err) < 0 || need_string(rec, "image", 1, err) < 0 ||
	    need_string(rec, "template", 0, err) < 0 ||
	    need_string(rec, "label", 0, err) < 0 || need_string(rec, "mask", 0, err) < 0 ||
	    check_dim(rec, "width", w, err) < 0 || check_dim(rec, "height", h, err) < 0)
		return -1;
	if (ch && (!json_is_integer(ch) ||
		   (json_integer_value(ch) != 1 && json_integer_value(ch) != 3)))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "field 'channels' must be 1 or 3");
	if (check_one_of(rec, "split", splits, "\"train\", \"val\", \"test\"", err) < 0 ||
	    check_one_of(rec, "decision", decisions, "\"accept\", \"reject\"", err) < 0)
		return -1;
	if (json_object_get(rec, "pred") && !json_is_object(json_object_get(rec, "pred")))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "field 'pred' must be an object");
	return 0;
}

/* The field `key` into *arr: NULL when absent, else an array (of `what`,
 * the message says). */
static int optional_array(const json_t *rec, const char *key, const char *what,
			  json_t **arr, aoi_error *err)
{
	*arr = json_object_get(rec, key);
	if (*arr && !json_is_array(*arr))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "field '%s' must be an array of %s", key, what);
	return 0;
}

/* err's message behind "masks.NAME: ": a mask's RLE that does not decode. */
static int mask_error(aoi_error *err, const char *name)
{
	char msg[sizeof err->msg];

	if (!err)
		return -1;
	snprintf(msg, sizeof msg, "%s", err->msg);
	return aoi_error_set(err, AOI_EFORMAT, NULL, 0, "masks.%s: %s", name, msg);
}

/* "classes": unique strings; they fill *c. */
static int check_classes(const json_t *rec, aoi_classes *c, aoi_error *err)
{
	json_t *arr, *v;
	size_t i;

	if (optional_array(rec, "classes", "strings", &arr, err) < 0)
		return -1;
	json_array_foreach(arr, i, v) {
		const char *name = json_string_value(v);

		if (!name || !name[0])
			return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
					     "classes[%zu] must be a non-empty string", i);
		if (aoi_classes_find(c, name))
			return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
					     "classes[%zu]: '%s' appears twice", i, name);
		if (classes_add_checked(c, name, err) < 0)
			return -1;
	}
	return 0;
}

/* One "masks" entry {"size":[h,w],"counts":"..."}: its size and string. */
static int mask_entry(const char *name, const json_t *v, int *h, int *w,
		      const char **counts, aoi_error *err)
{
	json_t *size = json_object_get(v, "size");
	json_t *jh = json_array_get(size, 0), *jw = json_array_get(size, 1);

	if (!json_is_object(v))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "masks.%s must be an object {\"size\":[h,w],\"counts\":\"...\"}",
				     name);
	if (!json_is_array(size) || json_array_size(size) != 2 || !json_is_integer(jh) ||
	    !json_is_integer(jw) || json_integer_value(jh) <= 0 ||
	    json_integer_value(jw) <= 0 || json_integer_value(jh) > INT_MAX ||
	    json_integer_value(jw) > INT_MAX)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "masks.%s: 'size' must be [height, width], positive integers",
				     name);
	*counts = json_string_value(json_object_get(v, "counts"));
	if (!*counts)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "masks.%s: 'counts' must be a COCO RLE string", name);
	*h = (int)json_integer_value(jh);
	*w = (int)json_integer_value(jw);
	return 0;
}

/* The size agrees with the record's width/height (when given), or with the
 * first size met (*w == 0 until then). */
static int same_size(const char *what, int h, int w, int *rh, int *rw, aoi_error *err)
{
	if (!*rw) {
		*rw = w;
		*rh = h;
		return 0;
	}
	if (h != *rh || w != *rw)
		return aoi_error_set(err, AOI_ESHAPE, NULL, 0,
				     "%s is %dx%d (h x w) but the record is %dx%d", what, h,
				     w, *rh, *rw);
	return 0;
}

static int check_masks(const json_t *rec, const aoi_classes *c, int w, int h,
		       aoi_error *err)
{
	json_t *masks = json_object_get(rec, "masks"), *v;
	const char *key;

	if (!masks)
		return 0;
	if (!json_is_object(masks))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "field 'masks' must be an object of class: RLE");
	json_object_foreach(masks, key, v) {
		const char *counts;
		int mh, mw;
		char what[300];

		if (mask_entry(key, v, &mh, &mw, &counts, err) < 0)
			return -1;
		snprintf(what, sizeof what, "masks.%s", key);
		if (same_size(what, mh, mw, &h, &w, err) < 0)
			return -1;
		if (aoi_rle_area(counts, mh, mw, err) < 0)
			return mask_error(err, key);
		if (c->n && !aoi_classes_find(c, key))
			return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
					     "masks.%s: class '%s' is not in 'classes'", key, key);
	}
	return 0;
}

/* The four numbers of a box; *name its class. */
static int box_entry(const json_t *b, size_t i, double xy[4], const char **name,
		     aoi_error *err)
{
	static const char *const coord[] = {"x1", "y1", "x2", "y2"};

	if (!json_is_array(b) || json_array_size(b) != 5)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "boxes[%zu] must be [x1, y1, x2, y2, \"class\"]", i);
	for (int k = 0; k < 4; k++) {
		json_t *v = json_array_get(b, k);

		if (!json_is_number(v) || !isfinite(json_number_value(v)))
			return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
					     "boxes[%zu]: %s must be a number", i, coord[k]);
		xy[k] = json_number_value(v);
	}
	*name = json_string_value(json_array_get(b, 4));
	if (!*name)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "boxes[%zu]: the class must be a string", i);
	if (xy[2] <= xy[0])
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "boxes[%zu]: x2 (%g) must be greater than x1 (%g)", i,
				     xy[2], xy[0]);
	if (xy[3] <= xy[1])
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "boxes[%zu]: y2 (%g) must be greater than y1 (%g)", i,
				     xy[3], xy[1]);
	return 0;
}

static int check_boxes(const json_t *rec, const aoi_classes *c, aoi_error *err)
{
	json_t *boxes, *b;
	size_t i;

	if (optional_array(rec, "boxes", "[x1, y1, x2, y2, \"class\"]", &boxes, err) < 0)
		return -1;
	json_array_foreach(boxes, i, b) {
		double xy[4];
		const char *name;

		if (box_entry(b, i, xy, &name, err) < 0)
			return -1;
		if (c->n && !aoi_classes_find(c, name))
			return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
					     "boxes[%zu]: class '%s' is not in 'classes'", i, name);
	}
	return 0;
}

static int check_keypoints(const json_t *rec, aoi_error *err)
{
	json_t *kps, *p;
	size_t i;

	if (optional_array(rec, "keypoints", "[x, y]", &kps, err) < 0)
		return -1;
	json_array_foreach(kps, i, p) {
		if (!json_is_array(p) || json_array_size(p) != 2 ||
		    !json_is_number(json_array_get(p, 0)) ||
		    !json_is_number(json_array_get(p, 1)))
			return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
					     "keypoints[%zu] must be [x, y], two numbers", i);
	}
	return 0;
}

int aoi_record_check(const json_t *rec, aoi_error *err)
{
	aoi_classes c;
	int w, h, rc;

	if (!json_is_object(rec))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "a record must be a JSON object");
	if (check_basic_fields(rec, &w, &h, err) < 0)
		return -1;
	if ((w == 0) != (h == 0))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0, "missing field '%s'",
				     w ? "height" : "width");
	aoi_classes_init(&c);
	rc = check_classes(rec, &c, err);
	if (rc == 0)
		rc = check_masks(rec, &c, w, h, err);
	if (rc == 0)
		rc = check_boxes(rec, &c, err);
	if (rc == 0)
		rc = check_keypoints(rec, err);
	aoi_classes_release(&c);
	return rc;
}

/* ---- a record's annotation as a mask ---- */

static int record_size(const json_t *rec, int *w, int *h)
{
	json_t *jw = json_object_get(rec, "width"), *jh = json_object_get(rec, "height");

	*w = *h = 0;
	if (json_is_integer(jw) && json_is_integer(jh) && json_integer_value(jw) > 0 &&
	    json_integer_value(jh) > 0 && json_integer_value(jw) <= INT_MAX &&
	    json_integer_value(jh) <= INT_MAX) {
		*w = (int)json_integer_value(jw);
		*h = (int)json_integer_value(jh);
	}
	return *w > 0;
}

/* Inline RLE masks, decoded in class order so that later classes win. */
static int mask_from_rle(const json_t *masks, const aoi_classes *classes, int w, int h,
			 aoi_mask *out, aoi_error *err)
{
	const char *key, *counts;
	json_t *v;
	int mh, mw;

	json_object_foreach((json_t *)masks, key, v) {
		if (mask_entry(key, v, &mh, &mw, &counts, err) < 0 ||
		    same_size("masks", mh, mw, &h, &w, err) < 0)
			return -1;
		if (!aoi_classes_find(classes, key))
			return aoi_error_set(err, AOI_ENOTFOUND, NULL, 0,
					     "masks.%s: unknown class '%s'", key, key);
	}
	if (aoi_mask_alloc(out, w, h, err) < 0)
		return -1;
	for (int k = 1; k <= classes->n; k++) {
		v = json_object_get(masks, classes->names[k - 1]);
		if (!v)
			continue;
		counts = json_string_value(json_object_get(v, "counts"));
		if (aoi_rle_decode(counts, out, (uint8_t)k, err) < 0) {
			aoi_mask_release(out);
			return mask_error(err, classes->names[k - 1]);
		}
	}
	return 0;
}

/* Index map from the record's own "classes" (the PNG's indices) to those of
 * `classes`; -1 for an index the record cannot name. */
static int png_index_map(const json_t *rec, const aoi_classes *classes, int lut[256],
			 aoi_error *err)
{
	json_t *own = json_object_get(rec, "classes");

	lut[0] = 0;
	for (int k = 1; k < 256; k++) {
		if (!json_is_array(own))
			lut[k] = k <= classes->n ? k : -1;
		else if ((size_t)k <= json_array_size(own)) {
			const char *name = json_string_value(json_array_get(own, k - 1));

			lut[k] = name ? aoi_classes_find(classes, name) : -1;
			if (lut[k] == 0)
				return aoi_error_set(err, AOI_ENOTFOUND, NULL, 0,
						     "classes[%d]: unknown class '%s'", k - 1,
						     name);
		} else
			lut[k] = -1;
	}
	return 0;
}

static int mask_from_png(const json_t *rec, const char *base, const aoi_classes *classes,
			 int w, int h, aoi_mask *out, aoi_error *err)
{
	char path[4096];
	int lut[256];
	size_t n;

	if (aoi_record_path(rec, "mask", base, path, sizeof path) < 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "field 'mask': path too long");
	if (png_index_map(rec, classes, lut, err) < 0 ||
	    aoi_mask_load_png(path, out, err) < 0)
		return -1;
	if (w && (out->width != w || out->height != h)) {
		aoi_error_set(err, AOI_ESHAPE, path, 0,
			      "mask is %dx%d but the record says %dx%d", out->width,
			      out->height, w, h);
		aoi_mask_release(out);
		return -1;
	}
	n = (size_t)out->width * out->height;
	for (size_t i = 0; i < n; i++) {
		int k = lut[out->data[i]];

		if (k < 0) {
			aoi_error_set(err, AOI_EFORMAT, path, 0,
				      "pixel value %d names no class (the record has %zu)",
				      out->data[i], json_array_size(json_object_get(rec, "classes")));
			aoi_mask_release(out);
			return -1;
		}
		out->data[i] = (uint8_t)k;
	}
	return 0;
}

static int mask_from_boxes(const json_t *boxes, const aoi_classes *classes, aoi_mask *out,
			   aoi_error *err)
{
	json_t *b;
	size_t i;

	json_array_foreach(boxes, i, b) {
		double xy[4];
		const char *name;
		int k;

		if (box_entry(b, i, xy, &name, err) < 0)
			return -1;
		if (!(k = aoi_classes_find(classes, name)))
			return aoi_error_set(err, AOI_ENOTFOUND, NULL, 0,
					     "boxes[%zu]: unknown class '%s'", i, name);
		aoi_raster_box(out, xy[0], xy[1], xy[2], xy[3], (uint8_t)k);
	}
	return 0;
}

int aoi_record_mask(const json_t *rec, const char *base, const aoi_classes *classes,
		    aoi_mask *out, aoi_error *err)
{
	json_t *masks = json_object_get(rec, "masks");
	json_t *boxes = json_object_get(rec, "boxes");
	int w, h;

	out->data = NULL;
	out->width = out->height = 0;
	record_size(rec, &w, &h);
	if (masks && !json_is_object(masks))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "field 'masks' must be an object of class: RLE");
	if (json_object_size(masks) > 0)
		return mask_from_rle(masks, classes, w, h, out, err);
	if (aoi_record_str(rec, "mask"))
		return mask_from_png(rec, base, classes, w, h, out, err);
	if (!w)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "missing field 'width' or 'height' (needed for the mask)");
	if (aoi_mask_alloc(out, w, h, err) < 0)
		return -1;
	if (boxes && !json_is_array(boxes)) {
		aoi_mask_release(out);
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0, "field 'boxes' must be an array");
	}
	if (mask_from_boxes(boxes, classes, out, err) < 0) {
		aoi_mask_release(out);
		return -1;
	}
	return 0;
}

static json_t *rle_object(const aoi_mask *m, int k, aoi_error *err)
{
	char *counts = aoi_rle_encode(m, k, err);
	json_t *o;

	if (!counts)
		return NULL;
	o = json_pack("{s:[i,i],s:s}", "size", m->height, m->width, "counts", counts);
	free(counts);
	if (!o)
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	return o;
}

int aoi_record_set_masks(json_t *rec, const aoi_mask *m, const aoi_classes *classes,
			 aoi_error *err)
{
	long hist[256] = {0};
	size_t n = (size_t)m->width * m->height;
	json_t *masks = json_object();

	if (!masks)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	for (size_t i = 0; i < n; i++)
		hist[m->data[i]]++;
	for (int k = 1; k < 256; k++) {
		json_t *o;

		if (!hist[k])
			continue;
		if (k > classes->n) {
			json_decref(masks);
			return aoi_error_set(err, AOI_EINVAL, NULL, 0,
					     "mask has class index %d but there are %d classes",
					     k, classes->n);
		}
		if (!(o = rle_object(m, k, err))) {
			json_decref(masks);
			return -1;
		}
		json_object_set_new(masks, classes->names[k - 1], o);
	}
	if (json_object_set_new(rec, "masks", masks) < 0)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	return 0;
}
