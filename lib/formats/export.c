/* export.c: datasets written out as YOLO or mask-dir layouts. All records
 * are prepared (masks computed, label text or mask PNG made in memory,
 * images checked) before the first file is written. */
#include "formats/export.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/parallel.h"
#include "data/mask.h"
#include "data/record.h"
#include "image/image.h"

/* What one record becomes: a file name and the bytes of its label file
 * (YOLO text, or a mask PNG; NULL when there is none). */
typedef struct prepared {
	char name[256];      /* sanitised id */
	const char *ext;     /* of the source image, e.g. ".jpg" */
	unsigned char *label;
	size_t label_len;
	long boxes, polygons;
} prepared;

/* All class names of the dataset, in the order met. */
static int dataset_classes(const aoi_dataset *ds, aoi_classes *all, aoi_error *err)
{
	for (size_t i = 0; i < aoi_dataset_size(ds); i++) {
		aoi_classes c;
		aoi_classes_init(&c);
		int rc = aoi_classes_from_record(&c, json_array_get(ds->records, i), err);
		for (int k = 0; rc == 0 && k < c.n; k++)
			if (aoi_classes_add(all, c.names[k]) < 0)
				rc = aoi_error_set(err, AOI_EINVAL, NULL, 0, "more than %d classes",
						   AOI_MAX_CLASSES);
		aoi_classes_release(&c);
		if (rc != 0) {
			aoi_dataset_locate(ds, i, err);
			return -1;
		}
	}
	return 0;
}

/* ---- text buffers ---- */

typedef struct text {
	char *s;
	size_t len, cap;
} text;

static int text_add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int text_add(text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -1;
		if (t->s && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return 0;
		}
		size_t cap = (t->cap + (size_t)n + 1) * 2;
		char *p = realloc(t->s, cap);
		if (!p)
			return -1;
		t->s = p;
		t->cap = cap;
	}
}

/* ---- YOLO: masks traced into polygons ---- */

/* Pixels of component `id` in lab (w x h), outside = not. */
static int in_region(const int *lab, int w, int h, int x, int y, int id)
{
	return x >= 0 && y >= 0 && x < w && y < h && lab[(size_t)y * w + x] == id;
}

/* Label the 8-connected component of pixel start (class value k) as id. */
static void flood(const aoi_mask *m, int *lab, int *stack, size_t start, int k, int id)
{
	size_t top = 0;
	int w = m->width, h = m->height;

	lab[start] = id;
	stack[top++] = (int)start;
	while (top) {
		int p = stack[--top], x = p % w, y = p / w;
		for (int dy = -1; dy <= 1; dy++)
			for (int dx = -1; dx <= 1; dx++) {
				int nx = x + dx, ny = y + dy;
				if (nx < 0 || ny < 0 || nx >= w || ny >= h)
					continue;
				size_t q = (size_t)ny * w + nx;
				if (m->data[q] == k && lab[q] == 0) {
					lab[q] = id;
					stack[top++] = (int)q;
				}
			}
	}
}

/* The outer boundary of a component along pixel edges, clockwise (y down),
 * the region on the right; at each corner the leftmost possible turn, so
 * that diagonal neighbours stay joined. Starts at the top-left corner of
 * its first pixel in raster order. Vertices (corners where the direction
 * changes) are appended to t as normalised "x y" pairs. */
static int trace(const int *lab, int w, int h, int x0, int y0, int id, text *t)
{
	static const int step[4][2] = { { 1, 0 }, { 0, 1 }, { -1, 0 }, { 0, -1 } };
	/* left and right pixel of the edge leaving a corner in direction d,
	 * as offsets from the corner */
	static const int left[4][2] = { { 0, -1 }, { 0, 0 }, { -1, 0 }, { -1, -1 } };
	static const int right[4][2] = { { 0, 0 }, { -1, 0 }, { -1, -1 }, { 0, -1 } };
	int x = x0, y = y0, d = 0, prev = -1;
	long left_steps = 4L * (w + 1) * (h + 1); /* a guard; a boundary is shorter */

	do {
		int turn[3] = { (d + 3) % 4, d, (d + 1) % 4 }, nd = -1;
		for (int i = 0; i < 3 && nd < 0; i++) {
			int c = turn[i];
			if (in_region(lab, w, h, x + right[c][0], y + right[c][1], id) &&
			    !in_region(lab, w, h, x + left[c][0], y + left[c][1], id))
				nd = c;
		}
		if (nd < 0 || --left_steps < 0)
			return -1; /* cannot happen while the region is on the right */
		if (nd != prev && text_add(t, " %.8f %.8f", (double)x / w, (double)y / h) != 0)
			return -1;
		prev = d = nd;
		x += step[d][0];
		y += step[d][1];
	} while (x != x0 || y != y0); /* only the start's own corner touches it */
	return 0;
}

/* One polygon line per connected region of each class of m. */
static int polygon_lines(const aoi_mask *m, text *t, long *count, aoi_error *err)
{
	size_t n = (size_t)m->width * m->height;
	int *lab = calloc(n ? n : 1, sizeof *lab), *stack = malloc((n ? n : 1) * sizeof *stack);
	int id = 0, rc = 0;

	if (!lab || !stack)
		rc = aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	for (size_t p = 0; rc == 0 && p < n; p++) {
		if (!m->data[p] || lab[p])
			continue;
		flood(m, lab, stack, p, m->data[p], ++id);
		if (text_add(t, "%d", m->data[p] - 1) != 0 ||
		    trace(lab, m->width, m->height, (int)(p % m->width), (int)(p / m->width), id,
			  t) != 0 ||
		    text_add(t, "\n") != 0)
			rc = aoi_error_set(err, AOI_ENOMEM, NULL, 0, "cannot trace a region");
		(*count)++;
	}
	free(lab);
	free(stack);
	return rc;
}

static int box_lines(const json_t *rec, const aoi_classes *all, int w, int h, text *t,
		     long *count)
{
	size_t i;
	json_t *b;

	json_array_foreach(json_object_get(rec, "boxes"), i, b) {
		double x1 = json_number_value(json_array_get(b, 0));
		double y1 = json_number_value(json_array_get(b, 1));
		double x2 = json_number_value(json_array_get(b, 2));
		double y2 = json_number_value(json_array_get(b, 3));
		int k = aoi_classes_find(all, json_string_value(json_array_get(b, 4)));
		if (text_add(t, "%d %.8f %.8f %.8f %.8f\n", k - 1, (x1 + x2) / 2 / w,
			     (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h) != 0)
			return -1;
		(*count)++;
	}
	return 0;
}

/* Whether the record's mask is exactly what its boxes rasterise to: then
 * the boxes say it all. */
static int boxes_are_mask(const json_t *rec, const char *base, const aoi_classes *all,
			  const aoi_mask *m, aoi_error *err)
{
	json_t *boxes_only;
	aoi_mask mb = { 0 };
	int same;

	if (json_array_size(json_object_get(rec, "boxes")) == 0)
		return 0;
	boxes_only = json_copy((json_t *)rec);
	json_object_del(boxes_only, "masks");
	json_object_del(boxes_only, "mask");
	if (aoi_record_mask(boxes_only, base, all, &mb, err) != 0) {
		json_decref(boxes_only);
		return -1;
	}
	same = mb.width == m->width && mb.height == m->height &&
	       memcmp(mb.data, m->data, (size_t)m->width * m->height) == 0;
	aoi_mask_release(&mb);
	json_decref(boxes_only);
	return same;
}

static int prepare_yolo(const json_t *rec, const char *base, const aoi_classes *all,
			prepared *p, aoi_error *err)
{
	aoi_mask m = { 0 };
	text t = { 0 };
	int same, rc = -1;

	if (aoi_record_mask(rec, base, all, &m, err) != 0)
		return -1;
	if ((same = boxes_are_mask(rec, base, all, &m, err)) < 0)
		goto done;
	if (text_add(&t, "%s", "") != 0)
		goto nomem;
	if (same ? box_lines(rec, all, m.width, m.height, &t, &p->boxes) != 0
		 : polygon_lines(&m, &t, &p->polygons, err) != 0)
		goto nomem;
	p->label = (unsigned char *)t.s;
	p->label_len = t.len;
	t.s = NULL;
	rc = 0;
	goto done;
nomem:
	if (err && err->code == AOI_OK)
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
done:
	free(t.s);
	aoi_mask_release(&m);
	return rc;
}

/* The class-index mask as PNG bytes; none for an image without a defect. */
static int prepare_mask_png(const json_t *rec, const char *base, const aoi_classes *all,
			    prepared *p, aoi_error *err)
{
	aoi_mask m = { 0 };
	int rc = 0;

	if (aoi_record_mask(rec, base, all, &m, err) != 0)
		return -1;
	if (aoi_mask_count(&m, -1) > 0) {
		aoi_image img = { m.width, m.height, 1, m.data };
		rc = aoi_image_encode_png(&img, &p->label, &p->label_len, err);
		p->polygons = 0;
	}
	aoi_mask_release(&m);
	return rc;
}

/* ---- both layouts ---- */

typedef int (*prepare_fn)(const json_t *rec, const char *base, const aoi_classes *all,
			  prepared *p, aoi_error *err);

typedef struct prepare_job {
	const aoi_dataset *ds;
	const aoi_classes *all;
	prepare_fn fn;
	prepared *p;
} prepare_job;

static int prepare_one(void *ctx, size_t i, aoi_error *err)
{
	const prepare_job *j = ctx;
	const aoi_dataset *ds = j->ds;
	prepared *p = &j->p[i];
	const json_t *rec = json_array_get(ds->records, i);
	const char *id = aoi_record_str(rec, "id"), *image = aoi_record_str(rec, "image");
	char path[4096];

	if (!id || !image)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0, "a record needs 'id' and 'image'");
	aoi_record_file_name(id, p->name, sizeof p->name);
	p->ext = strrchr(image, '.');
	if (!p->ext || strchr(p->ext, '/'))
		p->ext = "";
	if (aoi_record_path(rec, "image", ds->base, path, sizeof path) != 0 ||
	    !aoi_path_exists(path))
		return aoi_error_set(err, AOI_ENOTFOUND, NULL, 0, "image %s: no such file", image);
	return j->fn(rec, ds->base, j->all, p, err);
}

static void prepared_free(prepared *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++)
		free(p[i].label);
	free(p);
}

/* Every record prepared in parallel; the first failure in input order is
 * the error. Two ids that give one file name are an error too. */
static prepared *prepare_all(const aoi_dataset *ds, const aoi_classes *all, prepare_fn fn,
			     aoi_error *err)
{
	size_t n = aoi_dataset_size(ds);
	prepared *p = calloc(n ? n : 1, sizeof *p);
	prepare_job job = { ds, all, fn, p };

	if (!p) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		return NULL;
	}
	long bad = aoi_parallel_each(n, 4, prepare_one, &job, NULL, err);
	json_t *names = json_object();
	for (size_t i = 0; bad < 0 && i < n; i++) {
		if (json_object_get(names, p[i].name)) {
			bad = (long)i;
			aoi_error_set(err, AOI_EINVAL, NULL, 0,
				      "id '%s' gives the file name '%s' of an earlier record",
				      aoi_record_str(json_array_get(ds->records, i), "id"), p[i].name);
		}
		json_object_set_new(names, p[i].name, json_true());
	}
	json_decref(names);
	if (bad < 0)
		return p;
	aoi_dataset_locate(ds, (size_t)bad, err);
	prepared_free(p, n);
	return NULL;
}

static int write_file(const char *path, const void *buf, size_t len, aoi_error *err)
{
	aoi_atomic_file f;
	char dir[4096];

	aoi_path_dir(dir, sizeof dir, path);
	if (aoi_mkdir_p(dir, err) != 0 || aoi_atomic_open(&f, path, err) != 0)
		return -1;
	if (len && fwrite(buf, 1, len, f.fp) != len) {
		aoi_atomic_abort(&f);
		return aoi_error_errno(err, path, "write failed");
	}
	return aoi_atomic_commit(&f, err);
}

static int copy_image(const json_t *rec, const char *base, const char *to, aoi_error *err)
{
	char from[4096];
	unsigned char *buf;
	size_t len;
	int rc;

	if (aoi_record_path(rec, "image", base, from, sizeof from) != 0 ||
	    aoi_file_read(from, &buf, &len, err) != 0)
		return -1;
	rc = write_file(to, buf, len, err);
	free(buf);
	return rc;
}

/* "dir/sub/name.ext", sub left out when NULL. */
static int layout_path(char *out, size_t size, const char *dir, const char *kind,
		       const char *sub, const char *name, const char *ext)
{
	int n = snprintf(out, size, "%s/%s%s%s/%s%s", dir, kind, sub ? "/" : "",
			 sub ? sub : "", name, ext);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static void add_counts(aoi_export_summary *sum, const prepared *p)
{
	sum->images++;
	sum->labels += p->label != NULL;
	sum->boxes += p->boxes;
	sum->polygons += p->polygons;
}

static int write_yaml(const char *dir, aoi_classes *all, const int has[3], aoi_error *err)
{
	static const char *const splits[3] = { "train", "val", "test" };
	char path[4096];
	text t = { 0 };
	int rc = -1, any = has[0] || has[1] || has[2];

	if (text_add(&t, "# written by aoi-datatool export yolo\npath: .\n") != 0)
		goto done;
	for (int s = 0; s < 3; s++)
		if (has[s] && text_add(&t, "%s: images/%s\n", splits[s], splits[s]) != 0)
			goto done;
	if (!any && text_add(&t, "train: images\nval: images\n") != 0)
		goto done;
	if (text_add(&t, "nc: %d\nnames:\n", all->n) != 0)
		goto done;
	for (int k = 0; k < all->n; k++)
		if (text_add(&t, "  %d: \"%s\"\n", k, all->names[k]) != 0)
			goto done;
	if (aoi_path_join(path, sizeof path, dir, "data.yaml") == 0)
		rc = write_file(path, t.s, t.len, err);
	else
		aoi_error_set(err, AOI_EINVAL, dir, 0, "path too long");
done:
	if (rc != 0 && err && err->code == AOI_OK)
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	free(t.s);
	return rc;
}

static int split_index(const json_t *rec)
{
	const char *s = aoi_record_str(rec, "split");

	if (!s)
		return -1;
	return strcmp(s, "train") == 0 ? 0 : strcmp(s, "val") == 0 ? 1 : strcmp(s, "test") == 0 ? 2 : -1;
}

static int write_classes_txt(const char *dir, aoi_classes *all, const int has[3],
			     aoi_error *err)
{
	char path[4096];
	text t = { 0 };
	int rc = -1;

	(void)has;
	if (all->n == 0)
		aoi_classes_add(all, "defect");
	for (int k = 0; k < all->n; k++)
		if (text_add(&t, "%s\n", all->names[k]) != 0)
			break;
	if (snprintf(path, sizeof path, "%s/masks/classes.txt", dir) >= (int)sizeof path)
		aoi_error_set(err, AOI_EINVAL, dir, 0, "path too long");
	else
		rc = write_file(path, t.s, t.len, err);
	free(t.s);
	return rc;
}

/* What tells the two layouts apart. */
typedef struct layout {
	prepare_fn prepare;
	int by_split;          /* images/SPLIT/..., labels/SPLIT/... when a record has one */
	const char *labels;    /* the label files' folder and extension */
	const char *label_ext;
	/* the index file (data.yaml, classes.txt); has: splits met */
	int (*finish)(const char *dir, aoi_classes *all, const int has[3], aoi_error *err);
} layout;

static const layout yolo_layout = { prepare_yolo, 1, "labels", ".txt", write_yaml };
static const layout mask_dir_layout = { prepare_mask_png, 0, "masks", ".png",
					 write_classes_txt };

/* Every record's image copied to images/, its label file (when it has one)
 * written, then the index file. */
static int export_layout(const aoi_dataset *ds, const char *dir, const layout *lay,
			 aoi_export_summary *sum, aoi_error *err)
{
	aoi_classes all;
	prepared *p = NULL;
	int has[3] = { 0 }, rc = -1;
	char path[4096];

	memset(sum, 0, sizeof *sum);
	aoi_classes_init(&all);
	if (dataset_classes(ds, &all, err) != 0 || !(p = prepare_all(ds, &all, lay->prepare, err)))
		goto done;
	for (size_t i = 0; i < aoi_dataset_size(ds); i++) {
		const json_t *rec = json_array_get(ds->records, i);
		int s = lay->by_split ? split_index(rec) : -1;
		const char *sub = s >= 0 ? aoi_record_str(rec, "split") : NULL;
		if (s >= 0)
			has[s] = 1;
		if (layout_path(path, sizeof path, dir, "images", sub, p[i].name, p[i].ext) != 0 ||
		    copy_image(rec, ds->base, path, err) != 0 ||
		    (p[i].label &&
		     (layout_path(path, sizeof path, dir, lay->labels, sub, p[i].name,
				  lay->label_ext) != 0 ||
		      write_file(path, p[i].label, p[i].label_len, err) != 0))) {
			aoi_dataset_locate(ds, i, err);
			goto done;
		}
		add_counts(sum, &p[i]);
	}
	rc = lay->finish(dir, &all, has, err);
done:
	prepared_free(p, aoi_dataset_size(ds));
	aoi_classes_release(&all);
	return rc;
}

int aoi_export_yolo(const aoi_dataset *ds, const char *dir, aoi_export_summary *sum,
		    aoi_error *err)
{
	return export_layout(ds, dir, &yolo_layout, sum, err);
}

int aoi_export_mask_dir(const aoi_dataset *ds, const char *dir, aoi_export_summary *sum,
			aoi_error *err)
{
	return export_layout(ds, dir, &mask_dir_layout, sum, err);
}
