#include "eval/evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/raster.h"
#include "eval/evaluate_impl.h"
#include "eval/rules.h"

/* A dataset read whole, with its records indexed by id. */
typedef struct indexed {
	json_t *recs;  /* array */
	json_t *index; /* id -> position (integer) */
	char name[4096];
	char base[4096];
} indexed;

static void indexed_release(indexed *d)
{
	json_decref(d->recs);
	json_decref(d->index);
	memset(d, 0, sizeof *d);
}

static const char *record_id(const json_t *rec, const aoi_reader *r, aoi_error *err)
{
	const char *id = aoi_record_str(rec, "id");

	if (!id || !id[0])
		aoi_error_set(err, AOI_EFORMAT, aoi_reader_name(r), aoi_reader_line(r),
			      "missing \"id\" (a string)");
	return id && id[0] ? id : NULL;
}

static int read_indexed(const char *path, const char *root, indexed *d, aoi_error *err)
{
	aoi_reader *r = aoi_reader_open(path, root, err);
	json_t *rec;
	int got;

	if (!r)
		return -1;
	d->recs = json_array();
	d->index = json_object();
	snprintf(d->name, sizeof d->name, "%s", aoi_reader_name(r));
	snprintf(d->base, sizeof d->base, "%s", aoi_reader_base(r));
	while ((got = aoi_reader_next(r, &rec, err)) > 0) {
		const char *id = record_id(rec, r, err);

		if (id && json_object_get(d->index, id)) {
			aoi_error_set(err, AOI_EFORMAT, aoi_reader_name(r), aoi_reader_line(r),
				      "duplicate id '%s'", id);
			id = NULL;
		}
		if (!id) {
			json_decref(rec);
			got = -1;
			break;
		}
		json_object_set_new(d->index, id, json_integer((json_int_t)json_array_size(d->recs)));
		json_array_append_new(d->recs, rec);
	}
	aoi_reader_free(r);
	return got < 0 ? -1 : 0;
}

/* "accept" 0, "reject" 1, absent -1; anything else -2. */
static int decision_of(const json_t *v)
{
	const char *s = json_string_value(v);

	if (!v)
		return -1;
	if (s && strcmp(s, "accept") == 0)
		return 0;
	if (s && strcmp(s, "reject") == 0)
		return 1;
	return -2;
}

int aoi_eval_is_good(const aoi_eval *e, const char *label)
{
	return label && (strcmp(label, e->good) == 0 || strcmp(label, "good") == 0);
}

/* The ground-truth decision: the record's own "decision", else its label
 * (good: accept, anything else: reject). */
static int truth_decision(const aoi_eval *e, const json_t *t)
{
	int d = decision_of(json_object_get(t, "decision"));
	const char *label = aoi_record_str(t, "label");

	if (d != -1)
		return d;
	return label ? !aoi_eval_is_good(e, label) : -1;
}

static int has_annotation(const json_t *rec)
{
	return json_object_get(rec, "masks") || json_object_get(rec, "mask") ||
	       json_object_get(rec, "boxes");
}

static int note_id(json_t *list, const char *id)
{
	if (json_array_size(list) < EVAL_MAX_IDS)
		json_array_append_new(list, json_string(id));
	return 0;
}

/* ---- one image --------------------------------------------------------- */

typedef aoi_eval_image image_ctx;

/* The predicted mask; a prediction record without a size takes the
 * truth's (an empty prediction is then a mask of the right size). */
static int pred_mask(aoi_eval *e, image_ctx *c, aoi_error *err)
{
	json_t *p = json_copy((json_t *)c->p);
	int rc;

	if (!p)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	if (!json_object_get(p, "width") && json_object_get(c->t, "width"))
		json_object_set(p, "width", json_object_get(c->t, "width"));
	if (!json_object_get(p, "height") && json_object_get(c->t, "height"))
		json_object_set(p, "height", json_object_get(c->t, "height"));
	rc = aoi_pred_mask(p, c->pbase, &e->classes, &c->pm, err);
	json_decref(p);
	return rc;
}

static int image_masks(aoi_eval *e, image_ctx *c, aoi_error *err)
{
	const char *label = aoi_record_str(c->t, "label");

	if (!c->pred || (!json_object_get(c->pred, "mask") && !json_object_get(c->pred, "masks")))
		return 0;
	if (pred_mask(e, c, err) < 0)
		return -1;
	c->have_pm = 1;
	/* A defective image without an annotation has no pixel truth. */
	if (!has_annotation(c->t) && !aoi_eval_is_good(e, label)) {
		e->seg_skipped++;
		return 0;
	}
	if (aoi_record_mask(c->t, c->tbase, &e->classes, &c->tm, err) < 0)
		return -1;
	c->have_tm = 1;
	return aoi_metrics_seg_add(&e->seg, &c->tm, &c->pm, err);
}

/* Labels made from decisions and masks, and aoi-infer's "good", are
 * named by the good label. */
static const char *mask_label(const aoi_eval *e, const aoi_mask *m)
{
	return aoi_mask_count(m, -1) > 0 ? "defective" : e->good;
}

static const char *as_label(const aoi_eval *e, const char *label)
{
	return label && strcmp(label, "good") == 0 ? e->good : label;
}

static int image_labels(aoi_eval *e, image_ctx *c, aoi_error *err)
{
	const char *tl = as_label(e, aoi_record_str(c->t, "label"));
	const char *pl = c->pred ? as_label(e, aoi_record_str(c->pred, "label")) : NULL;
	int td = decision_of(json_object_get(c->t, "decision"));
	int pd = decision_of(json_object_get(c->p, "decision"));
	int ti, pi;

	if (!tl && td >= 0)
		tl = td ? "defective" : e->good;
	if (!tl && c->have_tm)
		tl = mask_label(e, &c->tm);
	if (!pl && pd >= 0)
		pl = pd ? "defective" : e->good;
	if (!pl && c->have_pm)
		pl = mask_label(e, &c->pm);
	if (!tl || !pl)
		return 0;
	ti = aoi_classes_add(&e->labels, tl);
	pi = aoi_classes_add(&e->labels, pl);
	if (ti < 0 || pi < 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "more than %d labels",
				     AOI_MAX_CLASSES);
	return aoi_metrics_labels_add(&e->lab, ti - 1, pi - 1, err);
}

static int image_keypoints(aoi_eval *e, image_ctx *c, aoi_error *err)
{
	json_t *tk = json_object_get(c->t, "keypoints");
	json_t *pk = c->pred ? json_object_get(c->pred, "keypoints") : NULL;
	double txy[2 * AOI_METRICS_MAXKP], pxy[2 * AOI_METRICS_MAXKP];
	int nt, np;

	if (!tk || !pk)
		return 0;
	nt = aoi_keypoints_from_json(tk, txy, AOI_METRICS_MAXKP, err);
	np = nt < 0 ? -1 : aoi_keypoints_from_json(pk, pxy, AOI_METRICS_MAXKP, err);
	if (np < 0)
		return -1;
	if (nt != np)
		return aoi_error_set(err, AOI_ESHAPE, NULL, 0,
				     "%d truth keypoints but %d predicted", nt, np);
	return aoi_metrics_kp_add(&e->kp, txy, pxy, nt, err);
}

/* ---- boxes ------------------------------------------------------------- */

static int boxes_from_json(aoi_eval *e, const json_t *a, int scored, aoi_det_box **out,
			   aoi_error *err)
{
	size_t i, n = json_array_size(a);
	json_t *b;

	if (!json_is_array(a))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0, "\"boxes\" must be an array");
	*out = calloc(n + 1, sizeof **out);
	if (!*out)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	json_array_foreach(a, i, b) {
		aoi_det_box *d = &(*out)[i];
		const char *cls = json_string_value(json_array_get(b, 4));
		json_t *score = json_array_get(b, 5);
		int ok = json_is_array(b) && cls && json_array_size(b) >= 5;

		for (size_t k = 0; ok && k < 4; k++)
			ok = json_is_number(json_array_get(b, k));
		if (!ok || (score && !json_is_number(score)))
			return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
					     "box %zu is not [x1, y1, x2, y2, \"class\"%s]",
					     i, scored ? ", score" : "");
		d->x1 = json_number_value(json_array_get(b, 0));
		d->y1 = json_number_value(json_array_get(b, 1));
		d->x2 = json_number_value(json_array_get(b, 2));
		d->y2 = json_number_value(json_array_get(b, 3));
		d->score = score ? json_number_value(score) : 1.0;
		if ((d->cls = aoi_classes_add(&e->classes, cls)) < 0)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0, "more than %d classes",
					     AOI_MAX_CLASSES);
	}
	return (int)n;
}

/* Connected components as boxes, class by majority, score 1. */
static int boxes_from_mask(const aoi_mask *m, aoi_det_box **out, aoi_error *err)
{
	aoi_component *comps;
	int n = aoi_components(m, 0, &comps, err);

	if (n < 0)
		return -1;
	*out = calloc((size_t)n + 1, sizeof **out);
	if (!*out) {
		free(comps);
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	}
	for (int i = 0; i < n; i++)
		(*out)[i] = (aoi_det_box){comps[i].x1, comps[i].y1, comps[i].x2, comps[i].y2,
					  comps[i].label, 1.0};
	free(comps);
	return n;
}

static int image_boxes(aoi_eval *e, image_ctx *c, aoi_error *err)
{
	json_t *tb = json_object_get(c->t, "boxes");
	json_t *pb = c->pred ? json_object_get(c->pred, "boxes") : NULL;
	aoi_det_box *truth = NULL, *pred = NULL;
	int nt = 0, np = 0, rc;

	if (!(tb || c->have_tm) || !(pb || c->have_pm))
		return 0;
	nt = tb ? boxes_from_json(e, tb, 0, &truth, err) : boxes_from_mask(&c->tm, &truth, err);
	if (nt >= 0)
		np = pb ? boxes_from_json(e, pb, 1, &pred, err)
			: boxes_from_mask(&c->pm, &pred, err);
	rc = nt < 0 || np < 0 ? -1 : aoi_metrics_det_add(&e->det, truth, nt, pred, np, err);
	e->has_det |= rc == 0;
	free(truth);
	free(pred);
	return rc;
}

static int image_add(aoi_eval *e, image_ctx *c, aoi_error *err)
{
	int rc = image_masks(e, c, err);

	if (rc == 0)
		rc = image_labels(e, c, err);
	if (rc == 0)
		rc = image_keypoints(e, c, err);
	if (rc == 0)
		rc = image_boxes(e, c, err);
	if (rc == 0)
		rc = aoi_eval_add_score(e, c, err);
	if (rc == 0)
		rc = aoi_eval_add_pixels(e, c, err);
	aoi_mask_release(&c->tm);
	aoi_mask_release(&c->pm);
	return rc;
}

/* ---- the join ---------------------------------------------------------- */

static int add_truth_classes(aoi_eval *e, const indexed *t, aoi_error *err)
{
	size_t i;
	json_t *rec;

	json_array_foreach(t->recs, i, rec) {
		aoi_classes own;
		int rc;

		aoi_classes_init(&own);
		rc = aoi_classes_from_record(&own, rec, err);
		for (int k = 0; rc == 0 && k < own.n; k++)
			if (aoi_classes_add(&e->classes, own.names[k]) < 0)
				rc = aoi_error_set(err, AOI_EINVAL, NULL, 0,
						   "more than %d classes", AOI_MAX_CLASSES);
		aoi_classes_release(&own);
		if (rc < 0) {
			aoi_error_locate(err, t->name, 0);
			return -1;
		}
	}
	return 0;
}

/* Place an image's error at the prediction's line, keeping the id and any
 * file the error already names (a mask PNG) in the message. */
static int locate_image(aoi_error *err, const char *id, const char *name, long line)
{
	char msg[2 * sizeof err->msg + sizeof err->where];
	size_t n;

	if (err->where[0])
		snprintf(msg, sizeof msg, "id '%s': %s: %s", id, err->where, err->msg);
	else
		snprintf(msg, sizeof msg, "id '%s': %s", id, err->msg);
	n = strnlen(msg, sizeof err->msg - 1);
	memcpy(err->msg, msg, n);
	err->msg[n] = '\0';
	aoi_error_locate(err, name, line);
	return -1;
}

/* One prediction record: find its truth, check it is not seen twice, add. */
static int join_one(aoi_eval *e, const indexed *t, json_t *p, const aoi_reader *r,
		    int *model, aoi_error *err)
{
	const char *id = record_id(p, r, err);
	json_t *at;
	image_ctx c = {0};
	size_t i;

	if (!id)
		return -1;
	e->npred++;
	if (!(at = json_object_get(t->index, id))) {
		e->extra++;
		return note_id(e->extra_ids, id);
	}
	i = (size_t)json_integer_value(at);
	if (model[i] != -3)
		return aoi_error_set(err, AOI_EFORMAT, aoi_reader_name(r), aoi_reader_line(r),
				     "duplicate id '%s'", id);
	model[i] = decision_of(json_object_get(p, "decision"));
	if (model[i] == -2)
		return aoi_error_set(err, AOI_EFORMAT, aoi_reader_name(r), aoi_reader_line(r),
				     "\"decision\" must be \"accept\" or \"reject\"");
	e->nmatched++;
	c.t = json_array_get(t->recs, i);
	c.p = p;
	c.pred = json_is_object(json_object_get(p, "pred")) ? json_object_get(p, "pred") : NULL;
	c.tbase = t->base;
	c.pbase = aoi_reader_base(r);
	if (image_add(e, &c, err) < 0)
		return locate_image(err, id, aoi_reader_name(r), aoi_reader_line(r));
	return 0;
}

static int join_preds(aoi_eval *e, const indexed *t, const aoi_eval_opts *o, int *model,
		      aoi_error *err)
{
	aoi_reader *r = aoi_reader_open(o->pred, o->root, err);
	json_t *p;
	int got;

	if (!r)
		return -1;
	while ((got = aoi_reader_next(r, &p, err)) > 0) {
		int rc = join_one(e, t, p, r, model, err);

		json_decref(p);
		if (rc < 0) {
			got = -1;
			break;
		}
		if (o->progress)
			o->progress(o->progress_ctx, e->npred);
	}
	aoi_reader_free(r);
	return got;
}

/* An inspector's decisions by truth position into dec (-1 where none). */
static int read_inspector(aoi_eval *e, int s, const indexed *t, const char *path,
			  const char *root, int *dec, aoi_error *err)
{
	aoi_reader *r = aoi_reader_open(path, root, err);
	json_t *rec;
	int got;

	if (!r)
		return -1;
	while ((got = aoi_reader_next(r, &rec, err)) > 0) {
		const char *id = record_id(rec, r, err);
		json_t *at = id ? json_object_get(t->index, id) : NULL;
		int d = decision_of(json_object_get(rec, "decision"));

		if (id && d < 0)
			aoi_error_set(err, AOI_EFORMAT, aoi_reader_name(r), aoi_reader_line(r),
				      "\"decision\" must be \"accept\" or \"reject\"");
		else if (id && !at)
			e->src_extra[s]++;
		else if (id && dec[json_integer_value(at)] >= 0)
			d = aoi_error_set(err, AOI_EFORMAT, aoi_reader_name(r),
					  aoi_reader_line(r), "duplicate id '%s'", id);
		else if (id)
			dec[json_integer_value(at)] = d;
		json_decref(rec);
		if (!id || d < 0) {
			got = -1;
			break;
		}
	}
	aoi_reader_free(r);
	return got;
}

static int gage_all(aoi_eval *e, const aoi_eval_opts *o, const indexed *t,
		    int *model, aoi_error *err)
{
	size_t n = json_array_size(t->recs);
	int *dec = malloc(((size_t)e->nsrc * n + 1) * sizeof *dec);
	int row[AOI_METRICS_MAXSRC], rc = 0;

	if (!dec)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	for (size_t i = 0; i < (size_t)e->nsrc * n; i++)
		dec[i] = -1;
	for (int s = 1; s < e->nsrc && rc == 0; s++)
		rc = read_inspector(e, s, t, o->inspectors[s - 1], o->root, dec + s * n, err);
	for (size_t i = 0; i < n && rc == 0; i++) {
		int td = truth_decision(e, json_array_get(t->recs, i));

		if (td == -2) {
			rc = aoi_error_set(err, AOI_EFORMAT, t->name, 0,
					   "id '%s': \"decision\" must be \"accept\" or "
					   "\"reject\"",
					   aoi_record_str(json_array_get(t->recs, i), "id"));
			break;
		}
		row[0] = model[i] < 0 ? -1 : model[i];
		for (int s = 1; s < e->nsrc; s++)
			row[s] = dec[s * n + i];
		for (int s = 0; s < e->nsrc; s++)
			e->has_gage |= row[s] >= 0;
		aoi_metrics_gage_add(&e->gage, td, row);
	}
	free(dec);
	return rc;
}

static void count_missing(aoi_eval *e, const indexed *t, const int *model)
{
	for (size_t i = 0; i < json_array_size(t->recs); i++)
		if (model[i] == -3) {
			e->missing++;
			note_id(e->missing_ids, aoi_record_str(json_array_get(t->recs, i), "id"));
		}
}

static aoi_eval *eval_new(const aoi_eval_opts *o, aoi_error *err)
{
	aoi_eval *e = calloc(1, sizeof *e);

	if (!e) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		return NULL;
	}
	aoi_classes_init(&e->classes);
	aoi_classes_init(&e->labels);
	aoi_metrics_kp_init(&e->kp);
	aoi_metrics_det_init(&e->det, o->iou_min);
	e->missing_ids = json_array();
	e->extra_ids = json_array();
	e->nsrc = 1 + o->ninspectors;
	snprintf(e->good, sizeof e->good, "%s", o->good && o->good[0] ? o->good : "good");
	e->recall = o->recall > 0 ? o->recall : 1;
	e->max_fpr = o->max_fpr > 0 ? o->max_fpr : 0.3;
	aoi_metrics_scores_init(&e->scores);
	aoi_metrics_pixels_init(&e->pixels);
	e->srcname[0] = strdup(o->pred ? o->pred : "-");
	for (int s = 1; s < e->nsrc && s < AOI_METRICS_MAXSRC; s++)
		e->srcname[s] = strdup(o->inspectors[s - 1]);
	if (aoi_metrics_seg_init(&e->seg, err) < 0 || aoi_metrics_labels_init(&e->lab, err) < 0 ||
	    aoi_metrics_gage_init(&e->gage, e->nsrc, err) < 0) {
		aoi_eval_free(e);
		return NULL;
	}
	return e;
}

aoi_eval *aoi_eval_run(const aoi_eval_opts *o, aoi_error *err)
{
	aoi_eval *e = eval_new(o, err);
	indexed t = {0};
	int *model = NULL, rc;

	if (!e)
		return NULL;
	rc = read_indexed(o->truth, o->root, &t, err);
	if (rc == 0)
		rc = add_truth_classes(e, &t, err);
	if (rc == 0 && !(model = malloc((json_array_size(t.recs) + 1) * sizeof *model)))
		rc = aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	for (size_t i = 0; rc == 0 && i < json_array_size(t.recs); i++)
		model[i] = -3; /* not seen */
	e->ntruth = rc == 0 ? (long)json_array_size(t.recs) : 0;
	if (rc == 0)
		rc = join_preds(e, &t, o, model, err);
	if (rc == 0) {
		aoi_metrics_seg_declare(&e->seg, e->classes.n + 1);
		count_missing(e, &t, model);
		rc = gage_all(e, o, &t, model, err);
	}
	free(model);
	indexed_release(&t);
	if (rc < 0) {
		aoi_eval_free(e);
		return NULL;
	}
	return e;
}

void aoi_eval_free(aoi_eval *e)
{
	if (!e)
		return;
	aoi_classes_release(&e->classes);
	aoi_classes_release(&e->labels);
	aoi_metrics_seg_release(&e->seg);
	aoi_metrics_labels_release(&e->lab);
	aoi_metrics_det_release(&e->det);
	aoi_metrics_scores_release(&e->scores);
	aoi_metrics_pixels_release(&e->pixels);
	json_decref(e->missing_ids);
	json_decref(e->extra_ids);
	for (int s = 0; s < AOI_METRICS_MAXSRC; s++)
		free(e->srcname[s]);
	free(e);
}

long aoi_eval_missing(const aoi_eval *e, const char **first)
{
	*first = json_string_value(json_array_get(e->missing_ids, 0));
	return e->missing;
}

long aoi_eval_extra(const aoi_eval *e, const char **first)
{
	long n = e->extra;

	*first = json_string_value(json_array_get(e->extra_ids, 0));
	for (int s = 1; s < e->nsrc; s++)
		n += e->src_extra[s];
	return n;
}
