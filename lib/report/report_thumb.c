/* report_thumb.c: a record's thumbnail, truth beside prediction, drawn at
 * thumbnail size (masks shrunk so that a defect of a few pixels still
 * shows, boxes scaled, lines one pixel wide), the model's decision as a
 * coloured frame; and heatmap colours. */
#include <math.h>
#include <string.h>

#include "image/draw.h"
#include "report/report_impl.h"

#define OVERLAY_ALPHA 0.5
#define PANEL_GAP 2

static const aoi_rgb white = { 255, 255, 255 }, black = { 0, 0, 0 };
static const aoi_rgb accept_rgb = { 40, 160, 70 }, reject_rgb = { 215, 40, 40 };

/* ---- decisions ---- */

static int is_label_word(const char *s)
{
	return s && (strcmp(s, "good") == 0 || strcmp(s, "defective") == 0);
}

const char *report_model_decision(const report_item *it)
{
	const json_t *pred = json_object_get(it->rec, "pred");
	const char *d = aoi_record_str(it->rec, "decision");
	const char *label = aoi_record_str(pred, "label");

	if (d && (strcmp(d, "accept") == 0 || strcmp(d, "reject") == 0))
		return d;
	if (label)
		return strcmp(label, "good") == 0 ? "accept" : "reject";
	if (it->has_pmask)
		return it->parea ? "reject" : "accept";
	return NULL;
}

/* The truth's own "decision" (a person's), else its label, else whether
 * its annotation has defect pixels. A record that is its own truth carries
 * the model's decision, not a person's. */
const char *report_truth_decision(const report_item *it)
{
	const char *d = it->own_truth ? NULL : aoi_record_str(it->truth, "decision");
	const char *label = aoi_record_str(it->truth, "label");

	if (!it->truth)
		return NULL;
	if (d && (strcmp(d, "accept") == 0 || strcmp(d, "reject") == 0))
		return d;
	if (label)
		return strcmp(label, "good") == 0 ? "accept" : "reject";
	if (it->has_tmask)
		return it->tarea ? "reject" : "accept";
	return NULL;
}

/* Labels that are class names (image classification) are compared as
 * they are; inspection labels through the decisions. */
int report_agreement(const report_item *it)
{
	const char *tl = aoi_record_str(it->truth, "label");
	const char *pl = aoi_record_str(json_object_get(it->rec, "pred"), "label");
	const char *td = report_truth_decision(it), *pd = report_model_decision(it);

	if (tl && pl && (!is_label_word(tl) || !is_label_word(pl)))
		return strcmp(tl, pl) == 0;
	if (!td || !pd)
		return -1;
	return strcmp(td, pd) == 0;
}

/* ---- drawing ---- */

/* Each pixel of the w x h result takes a defect class of the block of m it
 * covers (the largest index met, so that a one-pixel defect survives). */
static int shrink_mask(const aoi_mask *m, int w, int h, aoi_mask *out, aoi_error *err)
{
	if (aoi_mask_alloc(out, w, h, err) != 0)
		return -1;
	for (int y = 0; y < h; y++) {
		int y0 = (int)((long)y * m->height / h), y1 = (int)((long)(y + 1) * m->height / h);

		for (int x = 0; x < w; x++) {
			int x0 = (int)((long)x * m->width / w), x1 = (int)((long)(x + 1) * m->width / w);
			uint8_t k = 0;

			for (int sy = y0; sy < (y1 > y0 ? y1 : y0 + 1); sy++)
				for (int sx = x0; sx < (x1 > x0 ? x1 : x0 + 1); sx++)
					if (m->data[(size_t)sy * m->width + sx] > k)
						k = m->data[(size_t)sy * m->width + sx];
			out->data[(size_t)y * w + x] = k;
		}
	}
	return 0;
}

static int draw_mask(aoi_image *p, const aoi_mask *m, int nclasses, aoi_error *err)
{
	aoi_mask small = { 0 };

	if (!m->data)
		return 0;
	if (shrink_mask(m, p->width, p->height, &small, err) != 0)
		return -1;
	for (int k = 1; k <= nclasses; k++)
		if (aoi_mask_count(&small, k) > 0)
			aoi_draw_mask(p, small.data, k, aoi_draw_palette(k), OVERLAY_ALPHA);
	aoi_mask_release(&small);
	return 0;
}

static void draw_boxes(aoi_image *p, const json_t *boxes, const aoi_classes *cls, double s)
{
	size_t i;
	json_t *b;

	json_array_foreach(boxes, i, b) {
		const char *name = json_string_value(json_array_get(b, 4));
		int k = name ? aoi_classes_find(cls, name) : 0;

		aoi_draw_rect(p, (int)floor(json_number_value(json_array_get(b, 0)) * s),
			      (int)floor(json_number_value(json_array_get(b, 1)) * s),
			      (int)ceil(json_number_value(json_array_get(b, 2)) * s),
			      (int)ceil(json_number_value(json_array_get(b, 3)) * s),
			      aoi_draw_palette(k), 1);
	}
}

/* Half the image, half the heatmap (resized to the panel). */
static int blend_heat(aoi_image *p, const aoi_image *heat, aoi_error *err)
{
	aoi_image h = { 0 };
	size_t n = (size_t)p->width * p->height * 3;

	if (aoi_image_resize(heat, &h, p->width, p->height, AOI_RESIZE_BILINEAR, err) != 0)
		return -1;
	if (h.channels == 3)
		for (size_t i = 0; i < n; i++)
			p->data[i] = (uint8_t)((p->data[i] + h.data[i] + 1) / 2);
	aoi_image_release(&h);
	return 0;
}

static void caption(aoi_image *p, const char *text)
{
	int w = aoi_draw_text_width(text, 1);

	aoi_draw_fill_rect(p, 0, p->height - 9, w + 2, p->height, black);
	aoi_draw_text(p, 1, p->height - 8, text, white, 1);
}

static int truth_panel(const report_ctx *c, const report_item *it, aoi_image *p,
		       const report_masks *m, double s, aoi_error *err)
{
	if (draw_mask(p, &m->truth, c->classes.n, err) != 0)
		return -1;
	if (!json_object_get(it->truth, "masks") && !json_object_get(it->truth, "mask"))
		draw_boxes(p, json_object_get(it->truth, "boxes"), &c->classes, s);
	caption(p, "truth");
	return 0;
}

static int pred_panel(const report_ctx *c, const report_item *it, aoi_image *p,
		      const report_masks *m, const aoi_image *heat, double s, aoi_error *err)
{
	const char *d = report_model_decision(it);

	if ((heat && blend_heat(p, heat, err) != 0) ||
	    draw_mask(p, &m->pred, c->classes.n, err) != 0)
		return -1;
	draw_boxes(p, json_object_get(json_object_get(it->rec, "pred"), "boxes"), &c->classes, s);
	if (d)
		aoi_draw_rect(p, 0, 0, p->width, p->height,
			      strcmp(d, "accept") == 0 ? accept_rgb : reject_rgb, 2);
	caption(p, d ? d : "pred");
	return 0;
}

static void paste(aoi_image *dst, const aoi_image *src, int x0)
{
	for (int y = 0; y < src->height; y++)
		memcpy(dst->data + ((size_t)y * dst->width + x0) * 3,
		       src->data + (size_t)y * src->width * 3, (size_t)src->width * 3);
}

int report_thumb_draw(const report_ctx *c, const report_item *it, const aoi_image *img,
		      const report_masks *m, const aoi_image *heat, aoi_image *out,
		      aoi_error *err)
{
	aoi_image t = { 0 }, p = { 0 };
	int has_pred = json_object_get(it->rec, "pred") != NULL;
	int pw = (it->tw - (it->truth && has_pred ? PANEL_GAP : 0)) / (it->truth && has_pred ? 2 : 1);
	double s = (double)it->th / img->height;
	int rc = -1;

	if (aoi_image_resize(img, &t, pw, it->th, AOI_RESIZE_AREA, err) != 0 ||
	    (has_pred && aoi_image_copy(&t, &p, err) != 0) ||
	    (it->truth && truth_panel(c, it, &t, m, s, err) != 0) ||
	    (has_pred && pred_panel(c, it, &p, m, heat, s, err) != 0) ||
	    aoi_image_alloc(out, it->tw, it->th, 3, err) != 0)
		goto done;
	memset(out->data, 255, (size_t)out->width * out->height * 3);
	if (it->truth || !has_pred)
		paste(out, &t, 0);
	if (has_pred)
		paste(out, &p, it->truth ? pw + PANEL_GAP : 0);
	rc = 0;
done:
	aoi_image_release(&t);
	aoi_image_release(&p);
	return rc;
}

/* ---- heatmaps ---- */

/* Dark blue, blue, green, yellow, red: cold to hot. */
static aoi_rgb heat_rgb(double v)
{
	static const aoi_rgb stops[] = {
		{ 10, 10, 60 }, { 30, 80, 220 }, { 40, 190, 80 }, { 250, 220, 30 }, { 230, 30, 20 },
	};
	double x = (v < 0 ? 0 : v > 1 ? 1 : v) * 4;
	int k = x >= 4 ? 3 : (int)x;
	double f = x - k;
	aoi_rgb a = stops[k], b = stops[k + 1];

	return (aoi_rgb){ (uint8_t)(a.r + (b.r - a.r) * f + 0.5),
			  (uint8_t)(a.g + (b.g - a.g) * f + 0.5),
			  (uint8_t)(a.b + (b.b - a.b) * f + 0.5) };
}

int report_heat_colour(const aoi_image *map, double threshold, double scale,
		       aoi_image *out, aoi_error *err)
{
	size_t n = (size_t)map->width * map->height;
	/* the map was read as 8 bits: a 16-bit value v is about 257 * g */
	double mid = threshold > 0 && scale > 0 ? threshold * scale / 257.0 : 127.5;

	if (aoi_image_alloc(out, map->width, map->height, 3, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		aoi_rgb c = heat_rgb(map->data[i * map->channels] / (2 * mid));

		out->data[3 * i] = c.r;
		out->data[3 * i + 1] = c.g;
		out->data[3 * i + 2] = c.b;
	}
	return 0;
}
