/* report_item.c: one record's part of the report: its masks in the page's
 * class indices, the figures the page sorts and filters by, and its files
 * (thumbnail, full-size image and template, heatmap, masks as RLE), made
 * once and found again by the hash in their names. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fileio.h"
#include "base/hash.h"
#include "data/raster.h"
#include "report/report_impl.h"

/* ---- the key: everything the files are made from ---- */

static void hash_file(aoi_sha256 *s, const json_t *obj, const char *key, const char *base)
{
	char path[4096], buf[128];
	struct stat st;

	if (aoi_record_path(obj, key, base, path, sizeof path) != 0)
		return;
	aoi_sha256_update(s, path, strlen(path) + 1);
	if (stat(path, &st) == 0)
		snprintf(buf, sizeof buf, "%lld %lld.%09ld", (long long)st.st_size,
			 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	else
		snprintf(buf, sizeof buf, "missing");
	aoi_sha256_update(s, buf, strlen(buf) + 1);
}

static void hash_json(aoi_sha256 *s, const json_t *v)
{
	char *text = v ? aoi_hash_canonical(v) : NULL;

	if (text)
		aoi_sha256_update(s, text, strlen(text) + 1);
	free(text);
}

static void item_name(const report_ctx *c, report_item *it)
{
	const json_t *pred = json_object_get(it->rec, "pred");
	const char *id = aoi_record_str(it->rec, "id");
	json_t *classes = aoi_classes_to_json(&c->classes);
	char safe[120], hex[65];
	uint8_t digest[32];
	aoi_sha256 s;

	aoi_sha256_init(&s);
	snprintf(hex, sizeof hex, "aoi-report 1 %d", c->thumb);
	aoi_sha256_update(&s, hex, strlen(hex) + 1);
	hash_json(&s, classes);
	hash_json(&s, it->rec);
	hash_json(&s, it->own_truth ? NULL : it->truth);
	hash_file(&s, it->rec, "image", c->recs.base);
	hash_file(&s, it->rec, "template", c->recs.base);
	hash_file(&s, pred, "mask", c->recs.base);
	hash_file(&s, pred, "heatmap", c->recs.base);
	hash_file(&s, json_object_get(pred, "anomaly"), "map", c->recs.base);
	if (it->truth)
		hash_file(&s, it->truth, "mask", it->tbase);
	aoi_sha256_final(&s, digest);
	aoi_sha256_to_hex(digest, hex);
	json_decref(classes);
	aoi_record_file_name(id ? id : "record", safe, sizeof safe);
	snprintf(it->name, sizeof it->name, "%s-%.*s", safe, REPORT_KEY_HEX, hex);
}

/* ---- masks ---- */

/* Predicted class indices (per pred.classes, else the record's classes)
 * into the page's. */
static int pred_lut(const report_ctx *c, const json_t *rec, int lut[256], aoi_error *err)
{
	json_t *names = json_object_get(json_object_get(rec, "pred"), "classes");

	if (!json_is_array(names))
		names = json_object_get(rec, "classes");
	lut[0] = 0;
	for (int k = 1; k < 256; k++) {
		const char *name = json_string_value(json_array_get(names, (size_t)k - 1));

		lut[k] = name ? aoi_classes_find(&c->classes, name)
			      : !json_is_array(names) && k <= c->classes.n ? k : -1;
		if (lut[k] == 0)
			return aoi_error_set(err, AOI_ENOTFOUND, NULL, 0,
					     "pred.classes: unknown class '%s'", name);
	}
	return 0;
}

static int pred_mask_file(const report_ctx *c, const report_item *it, const char *path,
			  aoi_mask *m, aoi_error *err)
{
	int lut[256];

	if (pred_lut(c, it->rec, lut, err) != 0 || aoi_mask_load_png(path, m, err) != 0)
		return -1;
	if (m->width != it->width || m->height != it->height)
		return aoi_error_set(err, AOI_ESHAPE, path, 0,
				     "pred.mask is %dx%d but the image is %dx%d", m->width,
				     m->height, it->width, it->height);
	for (size_t i = 0, n = (size_t)m->width * m->height; i < n; i++) {
		if (lut[m->data[i]] < 0)
			return aoi_error_set(err, AOI_EFORMAT, path, 0,
					     "pixel value %d names no class in pred.classes",
					     m->data[i]);
		m->data[i] = (uint8_t)lut[m->data[i]];
	}
	return 0;
}

/* pred.mask, else the predicted boxes drawn into a mask; none: data NULL. */
static int pred_mask(const report_ctx *c, const report_item *it, aoi_mask *m,
		     aoi_error *err)
{
	const json_t *pred = json_object_get(it->rec, "pred");
	json_t *boxes = json_object_get(pred, "boxes"), *b;
	char path[4096];
	size_t i;

	if (aoi_record_path(pred, "mask", c->recs.base, path, sizeof path) == 0)
		return pred_mask_file(c, it, path, m, err);
	if (!json_array_size(boxes))
		return 0;
	if (aoi_mask_alloc(m, it->width, it->height, err) != 0)
		return -1;
	json_array_foreach(boxes, i, b) {
		const char *name = json_string_value(json_array_get(b, 4));
		int k = name ? aoi_classes_find(&c->classes, name) : 0;

		if (k > 0)
			aoi_raster_box(m, json_number_value(json_array_get(b, 0)),
				       json_number_value(json_array_get(b, 1)),
				       json_number_value(json_array_get(b, 2)),
				       json_number_value(json_array_get(b, 3)), (uint8_t)k);
	}
	return 0;
}

static int truth_mask(const report_ctx *c, const report_item *it, aoi_mask *m,
		      aoi_error *err)
{
	const json_t *t = it->truth;

	if (!t || !(json_object_get(t, "masks") || json_object_get(t, "mask") ||
		    json_object_get(t, "boxes")))
		return 0;
	if (aoi_record_mask(t, it->tbase, &c->classes, m, err) != 0)
		return -1;
	if (m->width != it->width || m->height != it->height)
		return aoi_error_set(err, AOI_ESHAPE, NULL, 0,
				     "the truth's mask is %dx%d but the image is %dx%d",
				     m->width, m->height, it->width, it->height);
	return 0;
}

/* Areas, the classes present, and the share of defect pixels (truth or
 * prediction) where the two disagree. */
static void mask_figures(report_item *it, const report_masks *m)
{
	size_t n = (size_t)it->width * it->height;
	long either = 0, differ = 0;

	for (size_t i = 0; i < n; i++) {
		int t = m->truth.data ? m->truth.data[i] : 0;
		int p = m->pred.data ? m->pred.data[i] : 0;

		it->tarea += t != 0;
		it->parea += p != 0;
		it->present[t] = it->present[p] = 1;
		either += t || p;
		differ += t != p;
	}
	it->present[0] = 0;
	it->disagree = either ? (double)differ / (double)either : 0;
}

/* ---- the masks' script: {"id", "w", "h", "truth": {k: RLE}, "pred"} ---- */

/* Run lengths of one class while the mask is scanned. */
typedef struct class_runs {
	uint32_t *counts;
	size_t n, cap;
	size_t start, end; /* of the class's current (or last) run of ones */
} class_runs;

static int push_count(class_runs *r, size_t v)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		uint32_t *p = realloc(r->counts, cap * sizeof *p);

		if (!p)
			return -1;
		r->counts = p;
		r->cap = cap;
	}
	r->counts[r->n++] = (uint32_t)v;
	return 0;
}

/* The COCO RLE strings of every class of m from one column-major pass
 * (aoi_rle_encode scans the whole mask once per class): out[k] for class
 * k, NULL where absent; the same strings as aoi_rle_encode(m, k). */
int report_rle_classes(const aoi_mask *m, char *out[256], aoi_error *err)
{
	class_runs r[256];
	size_t n = (size_t)m->width * m->height, j = 0;
	int prev = 0, rc = 0;

	memset(r, 0, sizeof r);
	memset(out, 0, 256 * sizeof *out);
	for (int x = 0; x < m->width; x++)
		for (int y = 0; y < m->height; y++, j++) {
			int v = m->data[(size_t)y * m->width + x];

			if (v == prev)
				continue;
			if (prev && push_count(&r[prev], j - r[prev].start) != 0)
				rc = -1;
			r[prev].end = j;
			if (v && push_count(&r[v], j - r[v].end) != 0)
				rc = -1;
			r[v].start = j;
			prev = v;
		}
	if (prev && push_count(&r[prev], n - r[prev].start) != 0)
		rc = -1;
	r[prev].end = n;
	for (int k = 1; k < 256; k++) {
		if (!r[k].n)
			continue;
		if (rc == 0 && r[k].end < n && push_count(&r[k], n - r[k].end) != 0)
			rc = -1;
		if (rc == 0 && aoi_rle_counts_to_string(r[k].counts, r[k].n, &out[k], err) != 0)
			rc = -1;
		free(r[k].counts);
	}
	if (rc != 0) {
		for (int k = 0; k < 256; k++)
			free(out[k]);
		memset(out, 0, 256 * sizeof *out);
		if (!err || !err->msg[0])
			aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	}
	return rc;
}

static json_t *rle_by_class(const aoi_mask *m, aoi_error *err)
{
	char *counts[256], key[16];
	json_t *o;

	if (!m->data)
		return json_null();
	if (report_rle_classes(m, counts, err) != 0 || !(o = json_object())) {
		for (int k = 0; k < 256; k++)
			free(counts[k]);
		return NULL;
	}
	for (int k = 1; k < 256; k++) {
		if (!counts[k])
			continue;
		snprintf(key, sizeof key, "%d", k);
		json_object_set_new(o, key, json_string(counts[k]));
		free(counts[k]);
	}
	return o;
}

static int write_masks(const report_ctx *c, const report_item *it, const report_masks *m,
		       aoi_error *err)
{
	const char *id = aoi_record_str(it->rec, "id");
	json_t *t = rle_by_class(&m->truth, err);
	json_t *p = t ? rle_by_class(&m->pred, err) : NULL;
	json_t *o;
	char *text, *js = NULL;
	size_t len;
	int rc;

	if (!p) {
		json_decref(t);
		return -1;
	}
	o = json_pack("{s:s,s:i,s:i,s:o,s:o}", "id", id ? id : "", "w", it->width, "h",
		      it->height, "truth", t, "pred", p);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	len = text ? strlen(text) + 16 : 0;
	if (text && (js = malloc(len)) != NULL) {
		snprintf(js, len, "AOI_MASK(%s);\n", text);
		rc = report_write_file(c, it->masks, js, strlen(js), err);
	} else {
		rc = aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	}
	free(js);
	free(text);
	json_decref(o);
	return rc;
}

/* ---- files ---- */

static int exists_in(const report_ctx *c, const char *rel)
{
	char path[4096];

	return rel[0] && aoi_path_join(path, sizeof path, c->dir, rel) == 0 &&
	       aoi_path_exists(path);
}

/* rel := folder/name with whichever of the extensions exists ("" when
 * none does). */
static int find_made(const report_ctx *c, char *rel, size_t size, const char *folder,
		     const char *name)
{
	static const char *const ext[] = { "png", "jpg" };

	for (int k = 0; k < 2; k++) {
		snprintf(rel, size, "%s/%s.%s", folder, name, ext[k]);
		if (exists_in(c, rel))
			return 1;
	}
	rel[0] = '\0';
	return 0;
}

static int image_size(const report_ctx *c, report_item *it, aoi_error *err)
{
	const json_t *rec = it->rec;
	char path[4096];
	int ch;

	it->width = (int)aoi_record_num(rec, "width", 0);
	it->height = (int)aoi_record_num(rec, "height", 0);
	if (it->width > 0 && it->height > 0)
		return 0;
	if (aoi_record_path(rec, "image", c->recs.base, path, sizeof path) != 0)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0, "record has no 'image'");
	return aoi_image_probe(path, &it->width, &it->height, &ch, err);
}

/* The thumbnail's size follows from the image's: the same arithmetic as
 * report_thumb_draw, so that a reused thumbnail need not be read. */
static void thumb_size(const report_ctx *c, report_item *it)
{
	int panel = (int)((double)it->width * c->thumb / it->height + 0.5);
	int panels = it->truth && json_object_get(it->rec, "pred") ? 2 : 1;

	if (panel < 1)
		panel = 1;
	it->th = c->thumb;
	it->tw = panels * panel + (panels - 1) * 2;
}

/* All of the record's files there already? Fills the paths when so. */
static int find_all(const report_ctx *c, report_item *it)
{
	const json_t *pred = json_object_get(it->rec, "pred");
	char name[200];
	int ok = find_made(c, it->thumb, sizeof it->thumb, "thumbs", it->name) &
		 find_made(c, it->full, sizeof it->full, "full", it->name);

	snprintf(it->masks, sizeof it->masks, "masks/%s.js", it->name);
	ok &= exists_in(c, it->masks);
	if (json_object_get(it->rec, "template")) {
		snprintf(name, sizeof name, "%s-t", it->name);
		ok &= find_made(c, it->tmpl, sizeof it->tmpl, "full", name);
	}
	if (json_object_get(pred, "heatmap") || json_object_get(pred, "anomaly"))
		ok &= find_made(c, it->heat, sizeof it->heat, "heat", it->name);
	return ok;
}

static void masks_release(report_masks *m)
{
	aoi_mask_release(&m->truth);
	aoi_mask_release(&m->pred);
}

int report_item_make(const report_ctx *c, report_item *it, aoi_error *err)
{
	report_masks m = { { 0 }, { 0 } };
	int rc = -1;

	item_name(c, it);
	if (image_size(c, it, err) != 0 || truth_mask(c, it, &m.truth, err) != 0 ||
	    pred_mask(c, it, &m.pred, err) != 0)
		goto done;
	it->has_tmask = m.truth.data != NULL;
	it->has_pmask = m.pred.data != NULL;
	mask_figures(it, &m);
	thumb_size(c, it);
	if (find_all(c, it)) {
		it->reused = 1;
		rc = 0;
	} else if (write_masks(c, it, &m, err) == 0) {
		rc = report_item_files(c, it, &m, err);
	}
done:
	masks_release(&m);
	return rc;
}
