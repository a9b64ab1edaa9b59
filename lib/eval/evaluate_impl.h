/* evaluate_impl.h: private to evaluate*.c: the state of one evaluation. */
#ifndef AOI_EVALUATE_IMPL_H
#define AOI_EVALUATE_IMPL_H

#include "eval/evaluate.h"
#include "data/record.h"
#include "eval/metrics.h"

#define EVAL_MAX_IDS 20 /* ids listed in the report per kind */

/* Where an image score came from (evaluate.h). */
enum eval_score_source { SRC_SCORE, SRC_DEFECT_PROB, SRC_PROBS, SRC_BOXES, SRC_COUNT };

struct aoi_eval {
	aoi_classes classes; /* defect classes: mask index k = names[k - 1] */
	aoi_classes labels;  /* image labels: accumulator index k = names[k] */
	aoi_metrics_seg seg;
	aoi_metrics_labels lab;
	aoi_metrics_gage gage;
	aoi_metrics_kp kp;
	aoi_metrics_det det;
	int has_gage, has_det;
	long ntruth, npred, nmatched, seg_skipped;
	long missing, extra;
	json_t *missing_ids, *extra_ids; /* the first EVAL_MAX_IDS */
	int nsrc;                        /* 1 (the model) + inspectors */
	char *srcname[AOI_METRICS_MAXSRC];
	long src_extra[AOI_METRICS_MAXSRC];
	char good[256];                  /* the good label */
	double recall, max_fpr;
	aoi_metrics_scores scores;       /* image scores */
	long score_src[SRC_COUNT];
	long score_no_truth;             /* scored images of unknown truth */
	aoi_metrics_pixels pixels;       /* anomaly maps */
	long pixel_skipped;              /* maps of defective images without masks */
};

/* One image of the join: truth record t, prediction record p and its
 * "pred" (NULL when absent), the masks read so far. */
typedef struct aoi_eval_image {
	const json_t *t, *p, *pred;
	const char *tbase, *pbase;
	aoi_mask tm, pm;
	int have_tm, have_pm;
} aoi_eval_image;

/* The good label, or "good" (aoi-infer's word for it), as the good label. */
int aoi_eval_is_good(const aoi_eval *e, const char *label);
/* 1 defective, 0 good, -1 unknown (evaluate.h); the truth mask is read
 * when the label does not already decide. */
int aoi_eval_truth_defective(aoi_eval *e, aoi_eval_image *c, aoi_error *err);
/* The image's score into e->scores, and its anomaly map into e->pixels
 * (evaluate_scores.c). */
int aoi_eval_add_score(aoi_eval *e, aoi_eval_image *c, aoi_error *err);
int aoi_eval_add_pixels(aoi_eval *e, aoi_eval_image *c, aoi_error *err);

#endif
