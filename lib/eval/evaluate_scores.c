/* evaluate_scores.c: image scores and anomaly maps of one image of the
 * join into the curves of roc.c (evaluate.h says which fields count). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/anomaly.h"
#include "eval/evaluate_impl.h"

/* The truth mask of the image, read once (image_masks may have). */
static int truth_mask(aoi_eval *e, aoi_eval_image *c, aoi_error *err)
{
	if (c->have_tm)
		return 0;
	if (aoi_record_mask(c->t, c->tbase, &e->classes, &c->tm, err) < 0)
		return -1;
	c->have_tm = 1;
	return 0;
}

static int has_pixels(const json_t *t)
{
	return json_object_get(t, "masks") || json_object_get(t, "mask");
}

int aoi_eval_truth_defective(aoi_eval *e, aoi_eval_image *c, aoi_error *err)
{
	const char *label = aoi_record_str(c->t, "label");
	const char *dec = aoi_record_str(c->t, "decision");
	json_t *boxes = json_object_get(c->t, "boxes");
	int def = -1;

	if (label)
		def = !aoi_eval_is_good(e, label);
	if (dec && (strcmp(dec, "reject") == 0 || strcmp(dec, "accept") == 0))
		def = def == 1 || strcmp(dec, "reject") == 0;
	if (def == 1)
		return 1;
	if (json_array_size(boxes) > 0)
		return 1;
	if (json_is_array(boxes))
		def = 0;
	if (has_pixels(c->t)) {
		if (truth_mask(e, c, err) < 0)
			return -2;
		def = aoi_mask_count(&c->tm, -1) > 0;
	}
	return def;
}

/* The highest score of the predicted boxes; 0 when there is none. */
static double best_box(const json_t *boxes)
{
	double best = 0;
	size_t i;
	json_t *b;

	json_array_foreach(boxes, i, b) {
		json_t *s = json_array_get(b, 5);
		double v = json_is_number(s) ? json_number_value(s) : 1;

		best = v > best ? v : best;
	}
	return best;
}

/* The image's score and where it came from; -1 none. */
static int pred_score(const aoi_eval *e, const json_t *pred, double *score,
		      aoi_error *err)
{
	json_t *v = json_object_get(pred, "score"), *probs = json_object_get(pred, "probs");
	json_t *good = json_object_get(probs, e->good);

	if (v && !json_is_number(v))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "\"pred\" \"score\" must be a number"), -2;
	if (!good)
		good = json_object_get(probs, "good");
	if (v) {
		*score = json_number_value(v);
		return SRC_SCORE;
	}
	if (json_is_number(v = json_object_get(pred, "defect_prob"))) {
		*score = json_number_value(v);
		return SRC_DEFECT_PROB;
	}
	if (json_is_number(good)) {
		*score = 1 - json_number_value(good);
		return SRC_PROBS;
	}
	if (json_is_array(v = json_object_get(pred, "boxes"))) {
		*score = best_box(v);
		return SRC_BOXES;
	}
	return -1;
}

int aoi_eval_add_score(aoi_eval *e, aoi_eval_image *c, aoi_error *err)
{
	double score;
	int src = c->pred ? pred_score(e, c->pred, &score, err) : -1, def;

	if (src < 0)
		return src == -1 ? 0 : -1;
	if ((def = aoi_eval_truth_defective(e, c, err)) == -2)
		return -1;
	if (def < 0) {
		e->score_no_truth++;
		return 0;
	}
	e->score_src[src]++;
	return aoi_metrics_scores_add(&e->scores, score, def, err);
}

/* The truth mask an anomaly map is judged against: the record's own
 * (boxes rasterised, as DeepPCB's), or for a good image without one an
 * empty mask of the map's size. 1 when there is one, 0 when the image has
 * no pixel truth (a defective image without masks or boxes). */
static int pixel_truth(aoi_eval *e, aoi_eval_image *c, const aoi_anomaly *a,
		       aoi_error *err)
{
	int def;

	if (has_pixels(c->t) || json_object_get(c->t, "boxes"))
		return truth_mask(e, c, err) < 0 ? -1 : 1;
	if ((def = aoi_eval_truth_defective(e, c, err)) != 0)
		return def == -2 ? -1 : 0;
	aoi_mask_release(&c->tm);
	if (aoi_mask_alloc(&c->tm, a->map.width, a->map.height, err) < 0)
		return -1;
	c->have_tm = 1;
	return 1;
}

int aoi_eval_add_pixels(aoi_eval *e, aoi_eval_image *c, aoi_error *err)
{
	aoi_anomaly a;
	int rc = c->pred ? aoi_anomaly_read(c->pred, c->pbase, &a, err) : 0;

	if (rc <= 0)
		return rc;
	rc = pixel_truth(e, c, &a, err);
	if (rc == 0)
		e->pixel_skipped++;
	if (rc == 1)
		rc = aoi_metrics_pixels_add(&e->pixels, a.map.data, a.map.width, a.map.height,
					    a.scale, &c->tm, err);
	aoi_anomaly_release(&a);
	return rc < 0 ? -1 : 0;
}
