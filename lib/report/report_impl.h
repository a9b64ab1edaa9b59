/* report_impl.h: private to lib/report/report*.c: what the site writer
 * (report.c), one record's files (report_item.c) and the thumbnails
 * (report_thumb.c) share. */
#ifndef AOI_REPORT_IMPL_H
#define AOI_REPORT_IMPL_H

#include <jansson.h>

#include "data/dataset.h"
#include "data/mask.h"
#include "data/record.h"
#include "image/image.h"
#include "report/report.h"

/* The name of a record's files: its id made safe, '-', 12 hex digits of
 * the hash of what they are made from. */
#define REPORT_KEY_HEX 12

typedef struct report_ctx {
	const aoi_report_opts *o;
	aoi_dataset recs;
	aoi_dataset truth;      /* loaded when o->truth */
	json_t *truth_index;    /* id -> index into truth.records, or NULL */
	aoi_classes classes;    /* every class met: the page's colours */
	int thumb;              /* panel height */
	const char *dir;
} report_ctx;

/* The masks of one record in the page's class indices. */
typedef struct report_masks {
	aoi_mask truth, pred;   /* data NULL when absent */
} report_masks;

/* What one record gives the page. Paths are relative to the report's
 * directory; "" when there is no such file. */
typedef struct report_item {
	const json_t *rec;
	const json_t *truth;    /* NULL: no truth */
	const char *tbase;      /* base of the truth's paths */
	int own_truth;          /* the truth is the record itself */
	char name[160];         /* file stem: id, '-', key */
	char thumb[256], full[256], tmpl[256], heat[256], masks[256];
	int width, height;      /* the image's */
	int tw, th;             /* the thumbnail's */
	long tarea, parea;      /* defect pixels in truth and prediction */
	double disagree;        /* share of defect pixels they disagree on */
	int has_tmask, has_pmask;
	unsigned char present[AOI_MAX_CLASSES + 1]; /* class k in truth or pred */
	int reused;
} report_item;

/* report_item.c: the figures of it (rec, truth, tbase and own_truth set
 * by the caller) and its files, made or found made. */
int report_item_make(const report_ctx *c, report_item *it, aoi_error *err);

/* report_files.c: the full-size image and template, the heatmap and the
 * thumbnail of it into the report's folders (paths set in it). */
int report_item_files(const report_ctx *c, report_item *it, const report_masks *m,
		      aoi_error *err);

/* report_thumb.c: the thumbnail of a record from its image (3 channels),
 * masks and heatmap (3 channels, any size; data NULL when none). */
int report_thumb_draw(const report_ctx *c, const report_item *it, const aoi_image *img,
		      const report_masks *m, const aoi_image *heat, aoi_image *out,
		      aoi_error *err);
/* Colour an anomaly map (1 channel) into a heatmap; threshold and scale
 * (<= 0 when unknown) put the threshold in the middle of the colours. */
int report_heat_colour(const aoi_image *map, double threshold, double scale,
		       aoi_image *out, aoi_error *err);

/* The model's decision on the record ("accept", "reject" or NULL) and the
 * truth's; 1 when both are known and agree, 0 when they differ, -1. */
const char *report_model_decision(const report_item *it);
const char *report_truth_decision(const report_item *it);
int report_agreement(const report_item *it);

/* report_item.c: the COCO RLE strings of every class of m in one pass:
 * out[k] (malloc'd) for class k present, NULL elsewhere; out[0] NULL. */
int report_rle_classes(const aoi_mask *m, char *out[256], aoi_error *err);

/* Write len bytes into DIR/rel, whole or not at all. */
int report_write_file(const report_ctx *c, const char *rel, const void *buf, size_t len,
		      aoi_error *err);

#endif
