/* review.h: which records people should look at, as seed 004's scheduled
 * review does: the predictions the model was least sure of, plus a random
 * share of the rest, so that the review also measures the model where it
 * is sure (the random share estimates its accuracy without bias). */
#ifndef AOI_REVIEW_H
#define AOI_REVIEW_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "base/cli.h"
#include "base/error.h"
#include "data/dataset.h"
#include "data/datatool.h"

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

/* aoi-datatool sample's --review N and --random F (--by and --seed are
 * sample's own). */
#define AOI_REVIEW_CLI_OPTS(r) \
	AOI_CLI_OPT_INT(0, "review", &(r)->n, 0, LONG_MAX), \
	AOI_CLI_OPT_REAL(0, "random", &(r)->random, 0, 1)

/* aoi-datatool sample --review: the sample of t's dataset written to
 * t->out as JSON lines. */
int aoi_review_sample_run(const aoi_datatool *t, const aoi_review_opts *o, aoi_error *err);

#endif
