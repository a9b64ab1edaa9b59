/* import_deeppcb.c: the DeepPCB layout (Tang et al. 2019).
 *
 *   PCBData/trainval.txt, PCBData/test.txt: "groupG/G/N.jpg groupG/G_not/N.txt"
 *   groupG/G/N_test.jpg (inspected), groupG/G/N_temp.jpg (template)
 *   groupG/G_not/N.txt: lines "x1 y1 x2 y2 type" (commas tolerated), type 1..6 */
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/parallel.h"
#include "data/dataset.h"
#include "data/raster.h"
#include "data/record.h"
#include "formats/import.h"

const char *const aoi_deeppcb_classes[6] = { "open", "short", "mousebite",
					     "spur", "copper", "pin-hole" };

typedef struct pair {
	char stem[1024];  /* groupG/G/N */
	char annot[1024]; /* groupG/G_not/N.txt */
	const char *split;
} pair;

/* Append the pairs listed in one split file. */
static int read_list(const char *path, const char *split, pair **pairs, size_t *n,
		     aoi_error *err)
{
	unsigned char *text;
	size_t len, cap = *n;
	long line = 0;
	char *cursor, *l;

	if (aoi_file_read(path, &text, &len, err) != 0)
		return -1;
	for (cursor = (char *)text; (l = aoi_import_next_line(&cursor)) != NULL;) {
		char img[1024], ann[1024];
		line++;
		if (strspn(l, " \t") == strlen(l))
			continue;
		if (sscanf(l, "%1023s %1023s", img, ann) != 2 || strlen(img) < 5 || strcmp(img + strlen(img) - 4, ".jpg") != 0) {
			free(text);
			return aoi_error_set(err, AOI_EFORMAT, path, line,
					     "expected 'groupG/G/N.jpg groupG/G_not/N.txt'");
		}
		if (*n == cap) {
			pair *p = realloc(*pairs, (cap = cap ? 2 * cap : 1024) * sizeof *p);
			if (!p) {
				free(text);
				return aoi_error_set(err, AOI_ENOMEM, path, 0, "out of memory");
			}
			*pairs = p;
		}
		snprintf((*pairs)[*n].stem, sizeof (*pairs)[*n].stem, "%.*s",
			 (int)strlen(img) - 4, img);
		snprintf((*pairs)[*n].annot, sizeof (*pairs)[*n].annot, "%s", ann);
		(*pairs)[*n].split = split;
		(*n)++;
	}
	free(text);
	return 0;
}

/* The boxes of one annotation file as [[x1,y1,x2,y2,"class"],...]. */
static json_t *read_boxes(const char *path, aoi_error *err)
{
	unsigned char *text;
	size_t len;
	long line = 0;
	char *cursor, *l;
	json_t *boxes;

	if (aoi_file_read(path, &text, &len, err) != 0)
		return NULL;
	boxes = json_array();
	for (cursor = (char *)text; (l = aoi_import_next_line(&cursor)) != NULL;) {
		int x1, y1, x2, y2, type, used = 0;
		line++;
		for (char *p = l; *p; p++)
			if (*p == ',')
				*p = ' ';
		if (strspn(l, " \t") == strlen(l))
			continue;
		if (sscanf(l, "%d %d %d %d %d %n", &x1, &y1, &x2, &y2, &type, &used) != 5 ||
		    l[used] != '\0' || type < 1 || type > 6 || x1 >= x2 || y1 >= y2) {
			aoi_error_set(err, AOI_EFORMAT, path, line,
				      "expected 'x1 y1 x2 y2 type' with type 1..6 and x1 < x2, y1 < y2");
			json_decref(boxes);
			free(text);
			return NULL;
		}
		json_array_append_new(boxes, json_pack("[i,i,i,i,s]", x1, y1, x2, y2,
						       aoi_deeppcb_classes[type - 1]));
	}
	free(text);
	return boxes;
}

/* The boxes rasterised into a class-index mask, stored inline. */
static int add_masks(json_t *rec, const json_t *boxes, const aoi_classes *cls,
		     aoi_error *err)
{
	aoi_mask m = { 0 };
	size_t i;
	json_t *b;
	int rc;

	if (aoi_mask_alloc(&m, (int)aoi_record_num(rec, "width", 0),
			   (int)aoi_record_num(rec, "height", 0), err) != 0)
		return -1;
	json_array_foreach(boxes, i, b)
		aoi_raster_box(&m, json_number_value(json_array_get(b, 0)),
			       json_number_value(json_array_get(b, 1)),
			       json_number_value(json_array_get(b, 2)),
			       json_number_value(json_array_get(b, 3)),
			       (uint8_t)aoi_classes_find(cls, json_string_value(json_array_get(b, 4))));
	rc = aoi_record_set_masks(rec, &m, cls, err);
	aoi_mask_release(&m);
	return rc;
}

static json_t *pair_record(const char *prefix, const pair *p, const aoi_classes *cls,
			   aoi_error *err)
{
	char image[4096], templ[4096], annot[4096], rel[1100];
	const char *id = strrchr(p->stem, '/');
	json_t *rec, *boxes;

	snprintf(rel, sizeof rel, "PCBData/%s_test.jpg", p->stem);
	aoi_path_join(image, sizeof image, prefix, rel);
	snprintf(rel, sizeof rel, "PCBData/%s_temp.jpg", p->stem);
	aoi_path_join(templ, sizeof templ, prefix, rel);
	snprintf(rel, sizeof rel, "PCBData/%s", p->annot);
	aoi_path_join(annot, sizeof annot, prefix, rel);
	if (!(boxes = read_boxes(annot, err)))
		return NULL;
	if (!(rec = aoi_import_record(id ? id + 1 : p->stem, image, err))) {
		json_decref(boxes);
		return NULL;
	}
	json_object_set_new(rec, "template", json_string(templ));
	json_object_set_new(rec, "label",
			    json_string(json_array_size(boxes) ? "defective" : "good"));
	json_object_set_new(rec, "split", json_string(p->split));
	json_object_set_new(rec, "group", json_stringn(p->stem, strcspn(p->stem, "/")));
	json_object_set_new(rec, "source", json_string("deeppcb"));
	json_object_set_new(rec, "classes", aoi_classes_to_json(cls));
	json_object_set_new(rec, "boxes", boxes);
	if (add_masks(rec, boxes, cls, err) != 0) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

static int read_lists(const char *prefix, const char *which, pair **pairs, size_t *n,
		      aoi_error *err)
{
	char path[4096];
	int all = !which || strcmp(which, "all") == 0;

	if (which && !all && strcmp(which, "trainval") != 0 && strcmp(which, "test") != 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "--split: expected trainval, test or all, not '%s'", which);
	if (all || strcmp(which, "trainval") == 0) {
		aoi_path_join(path, sizeof path, prefix, "PCBData/trainval.txt");
		if (read_list(path, "train", pairs, n, err) != 0)
			return -1;
	}
	if (all || strcmp(which, "test") == 0) {
		aoi_path_join(path, sizeof path, prefix, "PCBData/test.txt");
		if (read_list(path, "test", pairs, n, err) != 0)
			return -1;
	}
	return 0;
}

typedef struct build_job {
	const char *prefix;
	const pair *pairs;
	const aoi_classes *cls;
	json_t **recs;
} build_job;

static int build_one(void *ctx, size_t i, aoi_error *err)
{
	const build_job *j = ctx;

	j->recs[i] = pair_record(j->prefix, &j->pairs[i], j->cls, err);
	return j->recs[i] ? 0 : -1;
}

/* Records built in parallel (header probes, rasterising, RLE), kept in
 * list order; the first failure in that order is reported. */
static json_t *build_records(const char *prefix, const pair *pairs, size_t n,
			     const aoi_classes *cls, aoi_progress *progress, aoi_error *err)
{
	json_t **recs = calloc(n ? n : 1, sizeof *recs), *out = NULL;
	build_job job = { prefix, pairs, cls, recs };

	if (!recs) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		return NULL;
	}
	if (aoi_parallel_each(n, 8, build_one, &job, progress, err) < 0)
		out = json_array();
	for (size_t i = 0; i < n; i++)
		if (out)
			json_array_append_new(out, recs[i]);
		else
			json_decref(recs[i]);
	free(recs);
	return out;
}

json_t *aoi_import_deeppcb(const char *dir, const aoi_import_opts *o, aoi_error *err)
{
	char prefix[4096], probe[4096];
	pair *pairs = NULL;
	size_t n = 0;
	aoi_classes cls;
	json_t *out = NULL;

	if (aoi_import_prefix(dir, o->absolute, prefix, sizeof prefix, err) != 0)
		return NULL;
	aoi_path_join(probe, sizeof probe, prefix, "PCBData");
	if (!aoi_path_is_dir(probe)) {
		aoi_error_set(err, AOI_ENOTFOUND, dir, 0,
			      "no PCBData directory: not the DeepPCB layout");
		return NULL;
	}
	aoi_classes_init(&cls);
	for (int k = 0; k < 6; k++)
		aoi_classes_add(&cls, aoi_deeppcb_classes[k]);
	if (read_lists(prefix, o->split, &pairs, &n, err) == 0) {
		if (o->progress)
			o->progress->total = (long)n;
		out = build_records(prefix, pairs, n, &cls, o->progress, err);
	}
	aoi_classes_release(&cls);
	free(pairs);
	return out;
}
