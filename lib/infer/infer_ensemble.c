/* infer_ensemble.c: several models over the same records, their
 * probabilities averaged (infer.h). Each further model is an aoi_infer of
 * its own with its own slots: it decodes and lays out every image as it
 * would alone, so models of different input sizes or tilings combine. The
 * first model's slots collect the sum: per pixel at the original image
 * size for segmentation (each model's planes resized back as a single
 * model's would be), the output vector for the other tasks. The sum is
 * taken in model order, so the result does not depend on threads. A
 * decision head's image score is averaged too (every model has one or
 * none does), and so are the thresholds the models store. */
#include <stdlib.h>
#include <string.h>

#include "infer/infer_impl.h"

int aoi_infer_models(const aoi_infer *inf)
{
	return 1 + inf->nmore;
}

static const char *name_of(const aoi_infer_model *m)
{
	return m->name ? m->name : "the first model";
}

static const char *channels_of(const aoi_infer_model *m)
{
	return m->use_template ? (m->gray ? "gray with a template" : "colour with a template")
			       : (m->gray ? "gray" : "colour");
}

/* The first class name that differs, or the counts. */
static int same_classes(const aoi_infer_model *a, const aoi_infer_model *b,
			aoi_error *err)
{
	const aoi_classes *x = a->classes, *y = b->classes;

	if (x->n != y->n)
		return aoi_error_set(err, AOI_EINVAL, b->name, 0,
				     "%d classes, but %s has %d: an ensemble's models must "
				     "share their classes", y->n, name_of(a), x->n);
	for (int k = 0; k < x->n; k++)
		if (strcmp(x->names[k], y->names[k]) != 0)
			return aoi_error_set(err, AOI_EINVAL, b->name, 0,
					     "class %d is '%s', but in %s '%s': an ensemble's "
					     "models must share their classes, in order",
					     k + 1, y->names[k], name_of(a), x->names[k]);
	return 0;
}

static int compatible(const aoi_infer_model *a, const aoi_infer_model *b, aoi_error *err)
{
	if (a->task != b->task)
		return aoi_error_set(err, AOI_EINVAL, b->name, 0,
				     "a %s model, but %s is a %s model", aoi_task_name(b->task),
				     name_of(a), aoi_task_name(a->task));
	if (a->gray != b->gray || a->use_template != b->use_template)
		return aoi_error_set(err, AOI_EINVAL, b->name, 0,
				     "takes %s images, but %s takes %s ones", channels_of(b),
				     name_of(a), channels_of(a));
	if (a->task == AOI_TASK_KEYPOINTS && a->npoints != b->npoints)
		return aoi_error_set(err, AOI_EINVAL, b->name, 0,
				     "%d keypoints, but %s has %d", b->npoints, name_of(a),
				     a->npoints);
	if (a->task == AOI_TASK_KEYPOINTS)
		return 0;
	return same_classes(a, b, err);
}

/* The ensemble's decision threshold: the mean of its models' (an
 * approximation: each was chosen for its own model's scores), none unless
 * every model stores one. Called after the model t belongs to is added. */
static void mean_threshold(aoi_infer *inf, double t)
{
	double n = inf->nmore + 1;

	if (inf->m.threshold < 0 || t < 0)
		inf->m.threshold = -1;
	else
		inf->m.threshold = (inf->m.threshold * (n - 1) + t) / n;
}

int aoi_infer_add(aoi_infer *inf, aoi_net *net, const aoi_infer_model *m,
		  const aoi_infer_opts *o, aoi_error *err)
{
	aoi_infer **more, *other;

	/* Anomaly scores are distances on each model's own scale (PatchCore,
	 * PaDiM, a segmentation net): their mean would mean nothing. */
	if (inf->anomaly || (m->info && m->info->anomaly))
		return aoi_error_set(err, AOI_EINVAL, inf->anomaly ? inf->m.name : m->name, 0,
				     "an anomaly model cannot be part of an ensemble");
	if (compatible(&inf->m, m, err) < 0)
		return -1;
	if (o->flips != inf->o.flips)
		return aoi_error_set(err, AOI_EINVAL, m->name, 0,
				     "flips for some models of an ensemble and not for others");
	if (!(more = realloc(inf->more, (size_t)(inf->nmore + 1) * sizeof *more)))
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	inf->more = more;
	if (!(other = aoi_infer_new(net, m, o, err)))
		return -1;
	if (other->decision != inf->decision) {
		aoi_infer_free(other);
		return aoi_error_set(err, AOI_EINVAL, m->name, 0, "%s a decision head, but %s %s",
				     inf->decision ? "no" : "has", name_of(&inf->m),
				     inf->decision ? "has one" : "has none");
	}
	other->o.mask_dir = NULL; /* the first model writes the records' masks */
	inf->more[inf->nmore++] = other;
	mean_threshold(inf, m->threshold);
	return 0;
}

/* Model src's probabilities of one image at the original size into
 * d->ens: set (first model) or added. */
static int gather_planes(const aoi_infer *inf, slot *d, const aoi_infer *src, slot *s,
			 int first, aoi_error *err)
{
	size_t px = (size_t)d->orig_w * d->orig_h;
	float probs[AOI_MAX_CLASSES + 1];

	if (first && aoi_infer_ensure_floats(&d->ens, &d->ens_cap, px * inf->kp) < 0)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	if (aoi_infer_averaged(src, s))
		aoi_infer_average(src, s);
	for (int y = 0; y < d->orig_h; y++)
		for (int x = 0; x < d->orig_w; x++) {
			size_t p = (size_t)y * d->orig_w + x;

			aoi_infer_original_probs(src, s, x, y, probs);
			for (int c = 0; c < inf->kp; c++)
				d->ens[c * px + p] = first ? probs[c] : d->ens[c * px + p] + probs[c];
		}
	return 0;
}

/* Every item's output of src into inf's slots (first: set). */
static int gather(aoi_infer *inf, const aoi_infer *src, aoi_infer_item *items, int n,
		  int first)
{
	int seg = inf->m.task == AOI_TASK_SEGMENTATION;
	int failed = 0;

#pragma omp parallel for schedule(dynamic) reduction(| : failed)
	for (int i = 0; i < n; i++) {
		slot *d = &inf->slots[i], *s = &src->slots[i];

		if (items[i].failed)
			continue;
		if (seg && gather_planes(inf, d, src, s, first, &items[i].err) < 0) {
			aoi_error_locate(&items[i].err, items[i].where, items[i].line);
			items[i].failed = failed = 1;
		}
		for (int c = 0; !seg && !first && c < inf->k; c++)
			d->out[c] += s->out[c];
		if (!first)
			d->score += s->score;
	}
	return failed;
}

static void take_mean(aoi_infer *inf, aoi_infer_item *items, int n)
{
	float w = 1.0f / (float)(1 + inf->nmore);
	int seg = inf->m.task == AOI_TASK_SEGMENTATION;

#pragma omp parallel for schedule(static)
	for (int i = 0; i < n; i++) {
		slot *d = &inf->slots[i];
		size_t m = seg ? (size_t)d->orig_w * d->orig_h * inf->kp : (size_t)inf->k;
		float *v = seg ? d->ens : d->out;

		if (items[i].failed)
			continue;
		for (size_t j = 0; j < m; j++)
			v[j] *= w;
		d->score *= w;
	}
}

/* Prepare model o's run over the items; a record that failed before
 * stays failed with its first error (o's decoding clears the marks). */
static int prepare_other(aoi_infer *o, aoi_infer_item *items, int n, aoi_infer_item *keep,
			 aoi_error *err)
{
	memcpy(keep, items, (size_t)n * sizeof *keep);
	if (aoi_infer_prepare(o, items, n, err) < 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (keep[i].failed)
			items[i] = keep[i];
	return 0;
}

int aoi_infer_ensemble(aoi_infer *inf, aoi_infer_item *items, int n, aoi_error *err)
{
	aoi_infer_item *keep = malloc((size_t)n * sizeof *keep);
	int rc = 0;

	if (!keep)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	gather(inf, inf, items, n, 1);
	for (int k = 0; rc == 0 && k < inf->nmore; k++) {
		aoi_infer *o = inf->more[k];

		rc = prepare_other(o, items, n, keep, err);
		if (rc == 0)
			rc = aoi_infer_run_jobs(o, err);
		if (rc == 0)
			gather(inf, o, items, n, 0);
	}
	if (rc == 0)
		take_mean(inf, items, n);
	free(keep);
	return rc;
}
