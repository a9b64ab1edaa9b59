/* review.h: which records people should look at, as seed 004's scheduled
 * review does: the predictions the model was least sure of, plus a random
 * share of the rest, so that the review also measures the model where it
 * is sure (the random share estimates its accuracy without bias). */
#ifndef AOI_REVIEW_H
#define AOI_REVIEW_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "base/error.h"
#include "data/dataset.h"

typedef struct aoi_review_opts {
	long n;          /* records to pick (all when fewer) */
	const char *by;  /* "score" or "prob" */
	double random;   /* share of n drawn at random from the rest, 0..1 */
	uint64_t seed;
} aoi_review_opts;

/* How sure the model was of rec, lower = less sure. by "score": the
 * distance of "pred.score" from "pred.threshold" (0.5 when the record has
 * none); by "prob": the highest of "pred.probs", else "pred.prob". A record
 * without the field is an error (no place). */
int aoi_review_certainty(const json_t *rec, const char *by, double *out, aoi_error *err);

/* The review sample: the n - round(n * random) least certain records (ties
 * broken by a hash of seed and id), then round(n * random) of the others
 * chosen by seed. A new array of copies in input order, each marked
 * "sampled": "uncertain" or "random"; on error err is located at the
 * record. */
json_t *aoi_review_sample(const aoi_dataset *ds, const aoi_review_opts *o, aoi_error *err);

/* aoi-datatool sample --review: the sample of the dataset at path (NULL or
 * "-": standard input; root as in aoi_dataset_load) written to out. */
int aoi_review_sample_path(const char *path, const char *root, const aoi_review_opts *o,
			   FILE *out, aoi_error *err);

#endif
