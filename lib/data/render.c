/* render.c: truth and prediction drawn over the image, side by side. */
#include "data/render.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/parallel.h"
#include "data/mask.h"
#include "data/record.h"
#include "image/draw.h"

#define OVERLAY_ALPHA 0.45

typedef struct style {
	int scale;     /* text scale */
	int thickness; /* box lines */
} style;

static const aoi_rgb white = { 255, 255, 255 }, black = { 0, 0, 0 };

/* Text on a dark band so that it reads on any background. */
static void label(aoi_image *img, int x, int y, const char *s, aoi_rgb c, const style *st)
{
	int w = aoi_draw_text_width(s, st->scale), h = 8 * st->scale;

	if (y < 0)
		y = 0;
	aoi_draw_fill_rect(img, x, y, x + w + 2 * st->scale, y + h + st->scale, black);
	aoi_draw_text(img, x + st->scale, y + st->scale, s, c, st->scale);
}

/* Boxes [[x1,y1,x2,y2,"class"(,score)],...] with their class (and score). */
static void draw_boxes(aoi_image *img, const json_t *boxes, aoi_classes *cls,
		       const style *st)
{
	size_t i;
	json_t *b;

	json_array_foreach(boxes, i, b) {
		const char *name = json_string_value(json_array_get(b, 4));
		int k = name ? aoi_classes_add(cls, name) : 0;
		aoi_rgb c = aoi_draw_palette(k > 0 ? k : 0);
		int x1 = (int)json_number_value(json_array_get(b, 0));
		int y1 = (int)json_number_value(json_array_get(b, 1));
		char text[300];
		aoi_draw_rect(img, x1, y1, (int)json_number_value(json_array_get(b, 2)),
			      (int)json_number_value(json_array_get(b, 3)), c, st->thickness);
		if (json_is_number(json_array_get(b, 5)))
			snprintf(text, sizeof text, "%s %.2f", name ? name : "?",
				 json_number_value(json_array_get(b, 5)));
		else
			snprintf(text, sizeof text, "%s", name ? name : "?");
		label(img, x1, y1 - 9 * st->scale, text, c, st);
	}
}

static void draw_keypoints(aoi_image *img, const json_t *kps, const style *st)
{
	static const aoi_rgb yellow = { 255, 230, 0 };
	size_t i;
	json_t *p;

	json_array_foreach(kps, i, p) {
		int x = (int)json_number_value(json_array_get(p, 0));
		int y = (int)json_number_value(json_array_get(p, 1));
		aoi_draw_disc(img, x, y, 2 + st->thickness, black);
		aoi_draw_disc(img, x, y, 1 + st->thickness, yellow);
	}
}

/* Colour the pixels of each class of a class-index mask; class k of
 * `names` is drawn in the colour of that name in cls. */
static void draw_mask(aoi_image *img, const aoi_mask *m, const aoi_classes *names,
		      aoi_classes *cls)
{
	if (m->width != img->width || m->height != img->height)
		return;
	for (int k = 1; k <= names->n; k++)
		if (aoi_mask_count(m, k) > 0)
			aoi_draw_mask(img, m->data, k,
				      aoi_draw_palette(aoi_classes_add(cls, names->names[k - 1])),
				      OVERLAY_ALPHA);
}

/* The truth: mask (inline, file or from boxes), boxes, keypoints. */
static int draw_truth(aoi_image *img, const json_t *rec, const char *base,
		      aoi_classes *cls, const style *st, aoi_error *err)
{
	aoi_mask m = { 0 };

	if (json_object_get(rec, "masks") || json_object_get(rec, "mask") ||
	    json_object_get(rec, "boxes")) {
		if (aoi_record_mask(rec, base, cls, &m, err) != 0)
			return -1;
		draw_mask(img, &m, cls, cls);
		aoi_mask_release(&m);
	}
	draw_boxes(img, json_object_get(rec, "boxes"), cls, st);
	draw_keypoints(img, json_object_get(rec, "keypoints"), st);
	return 0;
}

/* An anomaly model's "pred.heatmap" (aoi-infer: a coloured PNG the size
 * of the image) blended half over the image. */
static int draw_heatmap(aoi_image *img, const json_t *pred, const char *base, aoi_error *err)
{
	char path[4096];
	aoi_image heat = { 0 };

	if (aoi_record_path(pred, "heatmap", base, path, sizeof path) != 0)
		return 0;
	if (aoi_image_load(path, &heat, err) != 0)
		return -1;
	if (heat.width != img->width || heat.height != img->height || heat.channels != 3) {
		aoi_image_release(&heat);
		return aoi_error_set(err, AOI_EFORMAT, path, 0,
				     "heatmap is %dx%d, %d channels; the image %dx%d RGB",
				     heat.width, heat.height, heat.channels, img->width, img->height);
	}
	for (size_t i = 0; i < (size_t)img->width * img->height * 3; i++)
		img->data[i] = (uint8_t)((img->data[i] + heat.data[i] + 1) / 2);
	aoi_image_release(&heat);
	return 0;
}

/* The prediction: "pred.heatmap" (anomaly models), "pred.mask" file
 * (indices per "pred.classes"), boxes with scores, keypoints. */
static int draw_pred(aoi_image *img, const json_t *pred, const char *base,
		     aoi_classes *cls, const style *st, aoi_error *err)
{
	char path[4096];
	aoi_classes names;
	aoi_mask m = { 0 };
	size_t i;
	json_t *v;

	if (draw_heatmap(img, pred, base, err) != 0)
		return -1;
	if (aoi_record_path(pred, "mask", base, path, sizeof path) == 0) {
		if (aoi_mask_load_png(path, &m, err) != 0)
			return -1;
		aoi_classes_init(&names);
		json_array_foreach(json_object_get(pred, "classes"), i, v)
			if (json_is_string(v))
				aoi_classes_add(&names, json_string_value(v));
		draw_mask(img, &m, &names, cls);
		aoi_classes_release(&names);
		aoi_mask_release(&m);
	}
	draw_boxes(img, json_object_get(pred, "boxes"), cls, st);
	draw_keypoints(img, json_object_get(pred, "keypoints"), st);
	return 0;
}

static int load_rgb(const json_t *rec, const char *base, aoi_image *img, aoi_error *err)
{
	char path[4096];
	aoi_image raw = { 0 };
	int rc;

	if (aoi_record_path(rec, "image", base, path, sizeof path) != 0)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0, "record has no 'image'");
	if (aoi_image_load(path, &raw, err) != 0)
		return -1;
	if (raw.channels == 3) {
		*img = raw;
		return 0;
	}
	rc = aoi_image_convert(&raw, img, 3, err);
	aoi_image_release(&raw);
	return rc;
}

static void paste(aoi_image *dst, const aoi_image *src, int x0)
{
	for (int y = 0; y < src->height; y++)
		memcpy(dst->data + ((size_t)y * dst->width + x0) * 3,
		       src->data + (size_t)y * src->width * 3, (size_t)src->width * 3);
}

/* Caption of a panel: "truth ID label" or "pred label prob" (or the
 * anomaly score). */
static void caption(aoi_image *img, const char *what, const json_t *obj, const char *id,
		    const style *st)
{
	const char *l = aoi_record_str(obj, "label");
	char text[400];
	json_t *prob = json_object_get(obj, "prob");

	if (!prob)
		prob = json_object_get(obj, "score");

	if (json_is_number(prob))
		snprintf(text, sizeof text, "%s %s %s %.2f", what, id ? id : "", l ? l : "",
			 json_number_value(prob));
	else
		snprintf(text, sizeof text, "%s %s %s", what, id ? id : "", l ? l : "");
	label(img, 0, img->height - 9 * st->scale, text, white, st);
}

int aoi_render_record(const json_t *rec, const char *base, aoi_image *out, aoi_error *err)
{
	aoi_image img = { 0 }, pred_img = { 0 };
	const json_t *pred = json_object_get(rec, "pred");
	const char *id = aoi_record_str(rec, "id");
	aoi_classes cls;
	int rc = -1, gap = 4;

	aoi_classes_init(&cls);
	if (load_rgb(rec, base, &img, err) != 0 ||
	    aoi_classes_from_record(&cls, rec, err) != 0 ||
	    (pred && aoi_image_copy(&img, &pred_img, err) != 0))
		goto done;
	style st = { img.width >= 480 ? 2 : 1, img.width >= 400 ? 2 : 1 };
	if (draw_truth(&img, rec, base, &cls, &st, err) != 0 ||
	    (pred && draw_pred(&pred_img, pred, base, &cls, &st, err) != 0))
		goto done;
	caption(&img, "truth", rec, id, &st);
	if (!pred) {
		*out = img;
		img.data = NULL;
		rc = 0;
		goto done;
	}
	caption(&pred_img, "pred", pred, id, &st);
	if (aoi_image_alloc(out, 2 * img.width + gap, img.height, 3, err) != 0)
		goto done;
	memset(out->data, 255, (size_t)out->width * out->height * 3);
	paste(out, &img, 0);
	paste(out, &pred_img, img.width + gap);
	rc = 0;
done:
	aoi_image_release(&img);
	aoi_image_release(&pred_img);
	aoi_classes_release(&cls);
	return rc;
}

typedef struct render_job {
	const aoi_dataset *ds;
	const char *dir;
	char (*paths)[4096]; /* each record's render; "" when none was written */
} render_job;

static int render_one(void *ctx, size_t i, aoi_error *err)
{
	const render_job *j = ctx;
	const json_t *rec = json_array_get(j->ds->records, i);
	const char *dir = j->dir;
	char name[256], *path = j->paths[i];
	size_t size = sizeof j->paths[i];
	aoi_image img = { 0 };
	int rc;

	aoi_record_file_name(aoi_record_str(rec, "id") ? aoi_record_str(rec, "id") : "record",
			     name, sizeof name);
	if (snprintf(path, size, "%s/%s.png", dir, name) >= (int)size)
		return aoi_error_set(err, AOI_EINVAL, dir, 0, "path too long");
	if (aoi_render_record(rec, j->ds->base, &img, err) != 0) {
		path[0] = '\0';
		return -1;
	}
	rc = aoi_image_save_png(path, &img, err);
	aoi_image_release(&img);
	if (rc != 0)
		path[0] = '\0';
	return rc;
}

int aoi_render_dataset(aoi_dataset *ds, const char *dir, aoi_progress *progress,
		       aoi_error *err)
{
	size_t n = aoi_dataset_size(ds);
	char (*paths)[4096] = calloc(n ? n : 1, sizeof *paths);
	render_job job = { ds, dir, paths };
	long bad;

	if (!paths)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	if (aoi_mkdir_p(dir, err) != 0) {
		free(paths);
		return -1;
	}
	bad = aoi_parallel_each(n, 2, render_one, &job, progress, err);
	for (size_t i = 0; i < n; i++) {
		if (bad < 0)
			json_object_set_new(json_array_get(ds->records, i), "render",
					    json_string(paths[i]));
		else if (paths[i][0] && (long)i != bad)
			unlink(paths[i]); /* all or nothing: no render of a failed run stays */
	}
	free(paths);
	if (bad < 0)
		return 0;
	aoi_dataset_locate(ds, (size_t)bad, err);
	return -1;
}
