/* evaluate.h: aoi-metrics' reading and joining. Truth, predictions and
 * further decision files (human inspectors) are joined by "id" and fed
 * image by image to the accumulators of metrics.h; the results come out as
 * one JSON report, a table, or charts (plot.h).
 *
 * Good and defective: the truth of an image is defective when its label
 * is not the good label (o->good), when its "decision" is "reject", or when
 * it has defect pixels or boxes; good when it has a label, a decision or an
 * annotation that says none of that; unknown otherwise. The label "good"
 * that aoi-infer gives segmentation predictions always means the good label.
 *
 * Image scores: pred.score, or when a record has none, the first of
 * pred.defect_prob (the highest defect probability of any pixel), 1 -
 * pred.probs[good label] (classification) and the highest score of
 * pred.boxes (0 when there is none). Anomaly maps (pred.anomaly) give the
 * pixel figures against the truth masks.
 *
 * Nothing here prints: ids missing from the predictions or extra in them
 * are counted in the report (and the program warns). */
#ifndef AOI_EVALUATE_H
#define AOI_EVALUATE_H

#include <stdio.h>

#include <jansson.h>

#include "base/error.h"

typedef struct aoi_eval_opts {
	const char *truth;            /* dataset with annotations */
	const char *pred;             /* predictions (aoi-infer, aoi-classify) */
	const char *const *inspectors; /* further decision files */
	int ninspectors;
	const char *root;             /* base for relative paths of stdin */
	double iou_min;               /* detection match: IoU > this (0.33) */
	const char *good;             /* the good label (NULL: "good") */
	double recall;                /* false-reject rate at this recall (0: 1) */
	double max_fpr;               /* PRO up to this false-positive rate (0: 0.3) */
	/* called after each prediction record (may be NULL) */
	void (*progress)(void *ctx, long done);
	void *progress_ctx;
} aoi_eval_opts;

typedef struct aoi_eval aoi_eval;

/* Read everything and accumulate. An error names the file and line (or the
 * id, when truth and prediction do not agree in size). */
aoi_eval *aoi_eval_run(const aoi_eval_opts *o, aoi_error *err);
void aoi_eval_free(aoi_eval *e);

/* Ids of the truth without a prediction, and predictions (or inspector
 * decisions) whose id is not in the truth; `first` the first such id or
 * NULL. Pointers stay valid until aoi_eval_free. */
long aoi_eval_missing(const aoi_eval *e, const char **first);
long aoi_eval_extra(const aoi_eval *e, const char **first);

/* The whole report (new reference); NaN figures are null. */
json_t *aoi_eval_report(const aoi_eval *e);

/* The report for a terminal: one section per kind of figure present. */
int aoi_eval_table(const aoi_eval *e, FILE *fp, aoi_error *err);

/* Charts into dir (created): confusion.png (image labels), pixels.png
 * (pixel confusion, row shares), classes.png (per-class F1 and IoU),
 * pr.png (detection precision-recall), image-roc.png and image-pr.png
 * (image scores), pixel-roc.png and pro.png (anomaly maps), and when log
 * is not NULL the
 * learning curves of aoi-train's log: loss.png and one PNG per metric
 * (train and validation per epoch). Only charts with data are written.
 * *written counts them. */
int aoi_eval_plots(const aoi_eval *e, const char *dir, const char *log, int *written,
		   aoi_error *err);

/* Learning curves alone (no evaluation needed). */
int aoi_eval_plot_log(const char *log, const char *dir, int *written, aoi_error *err);

#endif
