/* rules.h: the factory's decision. A rules file (JSON, man/aoi-rules.5)
 * says when a predicted mask, probability and keypoints make an image a
 * reject: per class defect area and count over connected components,
 * defective pixel share (seed 001), regions where a class matters, is
 * ignored or is renamed (seed 004), minimum probability, placement
 * tolerance of keypoints (seed 002), the image score (a fixed limit or
 * the model's own threshold), and the regions of an anomaly map above a
 * threshold.
 *
 * aoi_rules is opaque and read-only once loaded, so one set of rules can
 * serve many threads or queue consumers at once. */
#ifndef AOI_RULES_H
#define AOI_RULES_H

#include <jansson.h>

#include "base/error.h"
#include "data/mask.h"
#include "data/record.h"
#include "eval/anomaly.h"

typedef struct aoi_rules aoi_rules;

/* Parse rules from text; `name` is used in messages. A malformed file gives
 * an AOI_EFORMAT error at name:line with the reason; unknown keys, wrong
 * types and unknown classes name the key path (and its line when it can
 * be found). */
aoi_rules *aoi_rules_parse(const char *text, size_t len, const char *name,
			   aoi_error *err);
aoi_rules *aoi_rules_load(const char *path, aoi_error *err);
void aoi_rules_free(aoi_rules *r);

/* What one image offers to the rules. Any pointer may be NULL (and prob
 * NAN) when the prediction has no such part; a rule that needs a missing
 * part is an error. */
typedef struct aoi_rules_input {
	const aoi_mask *mask;          /* predicted class-index mask */
	const aoi_classes *classes;    /* names of the mask's indices */
	double prob;                   /* pred.prob, or NAN */
	const double *keypoints;       /* pred.keypoints, xy pairs */
	int nkeypoints;
	const double *truth_keypoints; /* the record's own "keypoints" */
	int ntruth_keypoints;
	const double *score;           /* pred.score */
	const double *threshold;       /* pred.threshold (the model's) */
	const aoi_anomaly *anomaly;    /* pred.anomaly */
} aoi_rules_input;

/* Evaluate: *reject = 1 or 0, and *reasons a new JSON array (caller
 * decrefs) of {"rule", "class", "value", "limit"} objects, one per broken
 * rule. */
int aoi_rules_eval(const aoi_rules *r, const aoi_rules_input *in, int *reject,
		   json_t **reasons, aoi_error *err);

/* One dataset record with its "pred": read the predicted mask ("pred"
 * "mask" PNG relative to base, or inline "pred" "masks"), probability,
 * keypoints, score and threshold, and the anomaly map when a rule needs
 * it, evaluate, and set "decision" and "reasons" in rec. Errors carry no
 * place (except a PNG's own); the caller locates them. */
int aoi_rules_apply(const aoi_rules *r, json_t *rec, const char *base,
		    aoi_error *err);

/* The predicted mask of a record in the index space of `classes` (names
 * met are added): shared with aoi-metrics. A record whose pred has neither
 * "mask" nor "masks" gives an empty mask of the record's size. */
int aoi_pred_mask(const json_t *rec, const char *base, aoi_classes *classes,
		  aoi_mask *out, aoi_error *err);

/* Keypoints [[x,y],...] of a JSON array into xy (at most max points);
 * returns the count, or -1 when malformed. */
int aoi_keypoints_from_json(const json_t *a, double *xy, int max, aoi_error *err);

#endif
