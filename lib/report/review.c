/* review.c: the review sample, least certain first, then a seeded random
 * share; sorted by keys that do not depend on the input order. */
#include "report/review.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "data/record.h"

typedef struct ranked {
	double certainty;
	uint64_t h;  /* hash of (seed, id): ties and the random share */
	size_t i;    /* input position */
	int picked;  /* 0, 1 uncertain, 2 random */
} ranked;

static int max_prob(const json_t *probs, double *out)
{
	const char *key;
	json_t *v;
	int any = 0;

	json_object_foreach((json_t *)probs, key, v) {
		if (!json_is_number(v))
			continue;
		if (!any || json_number_value(v) > *out)
			*out = json_number_value(v);
		any = 1;
	}
	return any;
}

int aoi_review_certainty(const json_t *rec, const char *by, double *out, aoi_error *err)
{
	const json_t *pred = json_object_get(rec, "pred");
	json_t *score = json_object_get(pred, "score");

	if (strcmp(by, "score") == 0) {
		if (!json_is_number(score))
			return aoi_error_set(err, AOI_ENOTFOUND, NULL, 0,
					     "no number 'pred.score' to sample --by score");
		*out = fabs(json_number_value(score) - aoi_record_num(pred, "threshold", 0.5));
		return 0;
	}
	if (strcmp(by, "prob") == 0) {
		if (max_prob(json_object_get(pred, "probs"), out))
			return 0;
		if (json_is_number(json_object_get(pred, "prob"))) {
			*out = json_number_value(json_object_get(pred, "prob"));
			return 0;
		}
		return aoi_error_set(err, AOI_ENOTFOUND, NULL, 0,
				     "no 'pred.probs' or 'pred.prob' to sample --by prob");
	}
	return aoi_error_set(err, AOI_EINVAL, NULL, 0,
			     "unknown sampling order '%s' (score, prob)", by);
}

static int by_certainty(const void *pa, const void *pb)
{
	const ranked *a = pa, *b = pb;

	if (a->certainty != b->certainty)
		return a->certainty < b->certainty ? -1 : 1;
	return a->h < b->h ? -1 : a->h > b->h;
}

/* Not picked yet first, then by hash alone. */
static int by_hash(const void *pa, const void *pb)
{
	const ranked *a = pa, *b = pb;

	if ((a->picked != 0) != (b->picked != 0))
		return a->picked ? 1 : -1;
	return a->h < b->h ? -1 : a->h > b->h;
}

static int by_input(const void *pa, const void *pb)
{
	const ranked *a = pa, *b = pb;

	return a->i < b->i ? -1 : a->i > b->i;
}

static ranked *rank_all(const aoi_dataset *ds, const aoi_review_opts *o, aoi_error *err)
{
	size_t n = aoi_dataset_size(ds);
	ranked *r = calloc(n ? n : 1, sizeof *r);

	if (!r) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *rec = json_array_get(ds->records, i);
		const char *id = aoi_record_str(rec, "id");

		if (aoi_review_certainty(rec, o->by, &r[i].certainty, err) != 0) {
			aoi_dataset_locate(ds, i, err);
			free(r);
			return NULL;
		}
		r[i].h = aoi_hash_str64(o->seed, id ? id : "");
		r[i].i = i;
	}
	return r;
}

/* The picked records, in input order, as marked copies. */
static json_t *picked_copies(const aoi_dataset *ds, ranked *r, size_t n, aoi_error *err)
{
	json_t *out = json_array();

	qsort(r, n, sizeof *r, by_input);
	for (size_t k = 0; out && k < n; k++) {
		json_t *copy;

		if (!r[k].picked)
			continue;
		if (!(copy = json_deep_copy(json_array_get(ds->records, r[k].i))) ||
		    json_object_set_new(copy, "sampled",
					json_string(r[k].picked == 1 ? "uncertain" : "random")) ||
		    json_array_append_new(out, copy)) {
			json_decref(out);
			out = NULL;
		}
	}
	if (!out)
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	return out;
}

json_t *aoi_review_sample(const aoi_dataset *ds, const aoi_review_opts *o, aoi_error *err)
{
	size_t n = aoi_dataset_size(ds);
	size_t want = o->n < 0 ? 0 : (size_t)o->n < n ? (size_t)o->n : n;
	size_t nrandom = (size_t)floor((double)want * o->random + 0.5);
	ranked *r;
	json_t *out;

	if (o->random < 0 || o->random > 1) {
		aoi_error_set(err, AOI_EINVAL, NULL, 0, "the random share must be in [0, 1]");
		return NULL;
	}
	if (!(r = rank_all(ds, o, err)))
		return NULL;
	if (nrandom > want)
		nrandom = want;
	qsort(r, n, sizeof *r, by_certainty);
	for (size_t k = 0; k < want - nrandom; k++)
		r[k].picked = 1;
	qsort(r, n, sizeof *r, by_hash);
	for (size_t k = 0; k < nrandom; k++)
		r[k].picked = 2;
	out = picked_copies(ds, r, n, err);
	free(r);
	return out;
}

int aoi_review_sample_run(const aoi_datatool *t, const aoi_review_opts *o, aoi_error *err)
{
	aoi_dataset ds;
	json_t *picked;
	int rc;

	if (aoi_dataset_load(&ds, t->path ? t->path : "-", t->root, err) != 0)
		return -1;
	picked = aoi_review_sample(&ds, o, err);
	aoi_dataset_release(&ds);
	if (!picked)
		return -1;
	rc = aoi_datatool_write(t->out, picked, err);
	json_decref(picked);
	return rc;
}
