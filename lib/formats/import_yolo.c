/* import_yolo.c: the YOLO layout (Ultralytics): images/<split>/x.jpg and
 * labels/<split>/x.txt, class names in data.yaml. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/raster.h"
#include "data/record.h"
#include "formats/import.h"

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	if (end - s >= 2 && (*s == '\'' || *s == '"') && end[-1] == *s) {
		end[-1] = '\0';
		s++;
	}
	return s;
}

/* The items of a flow list "[a, b]" or map "{0: a, 1: b}" (text after the
 * bracket, up to the closing one, possibly over several lines). */
static int flow_names(char *p, json_t *names)
{
	char close = *p == '[' ? ']' : '}';
	char *end = strchr(p, close);

	if (!end)
		return -1;
	*end = '\0';
	for (char *item = p + 1, *comma; item; item = comma ? comma + 1 : NULL) {
		comma = strchr(item, ',');
		if (comma)
			*comma = '\0';
		if (close == '}' && strchr(item, ':'))
			item = strchr(item, ':') + 1;
		item = trim(item);
		if (*item)
			json_array_append_new(names, json_string(item));
	}
	return 0;
}

/* Indented lines "0: a" or "- a" (the dash may start the line) after
 * "names:"; indices place names. */
static int block_names(char *cursor, json_t *names)
{
	char *l;

	while ((l = aoi_import_next_line(&cursor)) != NULL) {
		char *hash = strchr(l, '#'), *colon;
		if (hash)
			*hash = '\0';
		if (strspn(l, " \t") == strlen(l))
			continue;
		if (!isspace((unsigned char)l[0]) && l[0] != '-')
			break;
		l = trim(l);
		if (l[0] == '-') {
			json_array_append_new(names, json_string(trim(l + 1)));
			continue;
		}
		char *end;
		long k = strtol(l, &end, 10);
		colon = strchr(l, ':');
		if (!colon || end != colon || k < 0 || k >= 255)
			return -1;
		while ((long)json_array_size(names) <= k)
			json_array_append_new(names, json_null());
		json_array_set_new(names, (size_t)k, json_string(trim(colon + 1)));
	}
	return 0;
}

json_t *aoi_import_yaml_names(const char *text, const char *name, aoi_error *err)
{
	char *copy = strdup(text), *cursor = copy, *l;
	json_t *names = json_array();
	int rc = -1;
	size_t i;
	json_t *v;

	while (copy && (l = aoi_import_next_line(&cursor)) != NULL) {
		if (strncmp(l, "names:", 6) != 0)
			continue;
		char *rest = trim(l + 6);
		if (*rest == '[' || *rest == '{') {
			/* a flow list may run over several lines: take it from
			 * the untouched text */
			char *flow = strdup(text + (rest - copy));
			for (char *p = flow; p && *p; p++)
				if (*p == '\n' || *p == '\r')
					*p = ' ';
			rc = flow ? flow_names(flow, names) : -1;
			free(flow);
		} else if (*rest == '\0') {
			rc = block_names(cursor, names);
		}
		break;
	}
	json_array_foreach(names, i, v)
		if (!json_is_string(v) || !json_string_length(v))
			rc = -1;
	free(copy);
	if (rc != 0 || json_array_size(names) == 0) {
		json_decref(names);
		aoi_error_set(err, AOI_EFORMAT, name, 0,
			      "no class names: expected 'names: [a, b]' or 'names:' and lines '  0: a'");
		return NULL;
	}
	return names;
}

/* One label line into boxes (pixels) and the mask; v and xy hold at least
 * strlen(l) / 2 + 2 numbers. */
static int label_line(char *l, int w, int h, const json_t *names, json_t *boxes,
		      aoi_mask *m, double *v, double *xy)
{
	int n = 0;
	char *end;

	for (char *p = l;; p = end) {
		v[n] = strtod(p, &end);
		if (end == p)
			break;
		n++;
	}
	while (isspace((unsigned char)*end))
		end++;
	if (*end || n < 5 || (n > 5 && (n < 7 || n % 2 == 0)) || v[0] != floor(v[0]) ||
	    v[0] < 0 || v[0] >= (double)json_array_size(names))
		return -1;
	int k = (int)v[0];
	double x1, y1, x2, y2;
	if (n == 5) {
		x1 = (v[1] - v[3] / 2) * w, x2 = (v[1] + v[3] / 2) * w;
		y1 = (v[2] - v[4] / 2) * h, y2 = (v[2] + v[4] / 2) * h;
		aoi_raster_box(m, x1, y1, x2, y2, (uint8_t)(k + 1));
	} else {
		int np = (n - 1) / 2;
		x1 = y1 = INFINITY, x2 = y2 = -INFINITY;
		for (int i = 0; i < np; i++) {
			xy[2 * i] = v[1 + 2 * i] * w, xy[2 * i + 1] = v[2 + 2 * i] * h;
			x1 = fmin(x1, xy[2 * i]), x2 = fmax(x2, xy[2 * i]);
			y1 = fmin(y1, xy[2 * i + 1]), y2 = fmax(y2, xy[2 * i + 1]);
		}
		aoi_raster_polygon(m, xy, np, (uint8_t)(k + 1));
	}
	/* 1/100 pixel: what survives a round trip through normalised text */
	json_array_append_new(boxes, json_pack("[f,f,f,f,O]", round(x1 * 100) / 100,
					       round(y1 * 100) / 100, round(x2 * 100) / 100,
					       round(y2 * 100) / 100, json_array_get(names, (size_t)k)));
	return 0;
}

/* Every line of a label file's text into boxes and the mask. */
static int parse_labels(char *text, size_t len, const char *path, const json_t *names,
			json_t *boxes, aoi_mask *m, aoi_error *err)
{
	double *v = malloc((len / 2 + 2) * sizeof *v), *xy = malloc((len / 2 + 2) * sizeof *xy);
	char *cursor = text, *l;
	long line = 0;
	int rc = 0;

	if (!v || !xy)
		rc = aoi_error_set(err, AOI_ENOMEM, path, 0, "out of memory");
	while (rc == 0 && (l = aoi_import_next_line(&cursor)) != NULL) {
		line++;
		if (strspn(l, " \t") != strlen(l) &&
		    label_line(l, m->width, m->height, names, boxes, m, v, xy) != 0)
			rc = aoi_error_set(err, AOI_EFORMAT, path, line,
					   "expected 'class cx cy w h' or 'class x1 y1 x2 y2 x3 y3 ...' "
					   "with class 0..%zu", json_array_size(names) - 1);
	}
	free(v);
	free(xy);
	return rc;
}

/* The annotation of one image from its label file (absent = good). */
static int add_labels(json_t *rec, const char *label_path, const json_t *names,
		      const aoi_classes *cls, aoi_error *err)
{
	unsigned char *text = NULL;
	size_t len = 0;
	aoi_mask m = { 0 };
	json_t *boxes = json_array();
	int rc = -1;

	if (aoi_mask_alloc(&m, (int)aoi_record_num(rec, "width", 0),
			   (int)aoi_record_num(rec, "height", 0), err) != 0 ||
	    (aoi_path_exists(label_path) && aoi_file_read(label_path, &text, &len, err) != 0) ||
	    parse_labels((char *)text, len, label_path, names, boxes, &m, err) != 0)
		goto done;
	json_object_set_new(rec, "label",
			    json_string(json_array_size(boxes) ? "defective" : "good"));
	json_object_set_new(rec, "classes", json_deep_copy(names));
	rc = 0;
	if (json_array_size(boxes)) {
		json_object_set(rec, "boxes", boxes);
		rc = aoi_record_set_masks(rec, &m, cls, err);
	}
done:
	json_decref(boxes);
	aoi_mask_release(&m);
	free(text);
	return rc;
}

/* The split a folder stands for ("valid" and "validation" are "val");
 * NULL for other folder names. */
static const char *split_name(const char *dir)
{
	if (!dir)
		return NULL;
	if (strcmp(dir, "valid") == 0 || strcmp(dir, "validation") == 0)
		return "val";
	if (strcmp(dir, "train") == 0 || strcmp(dir, "val") == 0 || strcmp(dir, "test") == 0)
		return dir;
	return NULL;
}

typedef struct yolo_ctx {
	const char *prefix;
	const json_t *names;
	const aoi_classes *cls;
	json_t *out;
	json_t *ids; /* ids used so far */
} yolo_ctx;

/* All images of one directory with the labels of another. */
static int import_images(yolo_ctx *c, const char *img_dir, const char *lbl_dir,
			 const char *split, aoi_error *err)
{
	json_t *files = aoi_import_list_dir(img_dir, 0, err);
	size_t i;
	json_t *f;

	if (!files)
		return -1;
	json_array_foreach(files, i, f) {
		char image[4096], stem[1024], label[4096], id[2100];
		aoi_path_join(image, sizeof image, img_dir, json_string_value(f));
		aoi_path_stem(stem, sizeof stem, json_string_value(f));
		snprintf(id, sizeof id, "%s", stem);
		if (json_object_get(c->ids, id) && split)
			snprintf(id, sizeof id, "%s/%s", split, stem);
		snprintf(label, sizeof label, "%s/%s.txt", lbl_dir, stem);
		json_t *rec = aoi_import_record(id, image, err);
		if (!rec || (split_name(split) && json_object_set_new(rec, "split",
							  json_string(split_name(split))) != 0) ||
		    json_object_set_new(rec, "source", json_string("yolo")) != 0 ||
		    add_labels(rec, label, c->names, c->cls, err) != 0) {
			json_decref(rec);
			json_decref(files);
			return -1;
		}
		json_object_set_new(c->ids, id, json_true());
		json_array_append_new(c->out, rec);
	}
	json_decref(files);
	return 0;
}

/* images/ (flat or one folder per split), or <split>/images/. */
static int import_layout(yolo_ctx *c, aoi_error *err)
{
	char images[4096], labels[4096], a[4096], b[4096];
	json_t *splits;
	size_t i;
	json_t *s;
	int rc = 0;

	aoi_path_join(images, sizeof images, c->prefix, "images");
	aoi_path_join(labels, sizeof labels, c->prefix, "labels");
	if (aoi_path_is_dir(images)) {
		if (!(splits = aoi_import_list_dir(images, 1, err)) ||
		    import_images(c, images, labels, NULL, err) != 0)
			rc = -1;
		json_array_foreach(splits, i, s) {
			const char *name = json_string_value(s);
			if (rc == 0 && (aoi_path_join(a, sizeof a, images, name) != 0 ||
					aoi_path_join(b, sizeof b, labels, name) != 0 ||
					import_images(c, a, b, name, err) != 0))
				rc = -1;
		}
		json_decref(splits);
		return rc;
	}
	if (!(splits = aoi_import_list_dir(c->prefix, 1, err)))
		return -1;
	json_array_foreach(splits, i, s) {
		const char *name = json_string_value(s);
		if (snprintf(a, sizeof a, "%s/%s/images", c->prefix, name) >= (int)sizeof a ||
		    snprintf(b, sizeof b, "%s/%s/labels", c->prefix, name) >= (int)sizeof b)
			continue;
		if (rc == 0 && aoi_path_is_dir(a) && import_images(c, a, b, name, err) != 0)
			rc = -1;
	}
	json_decref(splits);
	return rc;
}

static json_t *read_names(const char *prefix, aoi_error *err)
{
	static const char *const files[] = { "data.yaml", "data.yml", "dataset.yaml" };
	char path[4096];
	unsigned char *text;
	size_t len;

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		aoi_path_join(path, sizeof path, prefix, files[i]);
		if (!aoi_path_exists(path))
			continue;
		if (aoi_file_read(path, &text, &len, err) != 0)
			return NULL;
		json_t *names = aoi_import_yaml_names((char *)text, path, err);
		free(text);
		return names;
	}
	/* darknet exports: classes.txt, one name a line */
	aoi_path_join(path, sizeof path, prefix, "classes.txt");
	if (aoi_path_exists(path) && aoi_file_read(path, &text, &len, err) == 0) {
		json_t *names = json_array();
		char *cursor = (char *)text, *l;
		while ((l = aoi_import_next_line(&cursor)) != NULL)
			if (l[strspn(l, " \t")])
				json_array_append_new(names, json_string(l + strspn(l, " \t")));
		free(text);
		if (json_array_size(names))
			return names;
		json_decref(names);
	}
	aoi_error_set(err, AOI_ENOTFOUND, prefix, 0,
		      "no data.yaml (or classes.txt) with the class names");
	return NULL;
}

json_t *aoi_import_yolo(const char *dir, const aoi_import_opts *o, aoi_error *err)
{
	char prefix[4096];
	aoi_classes cls;
	yolo_ctx c = { .prefix = prefix };
	size_t i;
	json_t *v;

	if (aoi_import_prefix(dir, o->absolute, prefix, sizeof prefix, err) != 0 ||
	    !(c.names = read_names(prefix, err)))
		return NULL;
	aoi_classes_init(&cls);
	json_array_foreach(c.names, i, v)
		aoi_classes_add(&cls, json_string_value(v));
	c.cls = &cls;
	c.out = json_array();
	c.ids = json_object();
	int rc = import_layout(&c, err);
	if (rc == 0 && json_array_size(c.out) == 0)
		rc = aoi_error_set(err, AOI_ENOTFOUND, dir, 0,
				   "no images in images/, images/<split>/ or <split>/images/");
	if (rc != 0) {
		json_decref(c.out);
		c.out = NULL;
	}
	json_decref(c.ids);
	json_decref((json_t *)c.names);
	aoi_classes_release(&cls);
	return c.out;
}
