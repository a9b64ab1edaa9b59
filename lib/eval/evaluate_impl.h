/* evaluate_impl.h: private to evaluate*.c: the state of one evaluation. */
#ifndef AOI_EVALUATE_IMPL_H
#define AOI_EVALUATE_IMPL_H

#include "eval/evaluate.h"
#include "data/record.h"
#include "eval/metrics.h"

#define EVAL_MAX_IDS 20 /* ids listed in the report per kind */

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
};

#endif
