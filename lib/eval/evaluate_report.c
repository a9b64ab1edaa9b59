/* evaluate_report.c: an evaluation as JSON and as a table. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/evaluate_impl.h"

/* NaN (an undefined ratio) is null in JSON. */
static json_t *num(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

static const char *class_name(const aoi_eval *e, int k)
{
	return k == 0 ? "good" : k <= e->classes.n ? e->classes.names[k - 1] : "?";
}

/* Defective (every label but the good one) against good; all undefined
 * when no image has the good label: pooling would call every image
 * defective. */
static void pooled(const aoi_eval *e, aoi_binary_result *b)
{
	int good = aoi_classes_find(&e->labels, e->good) - 1;

	if (good >= 0) {
		aoi_metrics_labels_pooled(&e->lab, good, b);
		return;
	}
	memset(b, 0, sizeof *b);
	b->accuracy = b->precision = b->recall = b->f1 = NAN;
}

static json_t *report_ids(const aoi_eval *e)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:O, s:O}", "truth",
			      (json_int_t)e->ntruth, "pred", (json_int_t)e->npred, "matched",
			      (json_int_t)e->nmatched, "missing", (json_int_t)e->missing,
			      "extra", (json_int_t)e->extra, "missing_ids", e->missing_ids,
			      "extra_ids", e->extra_ids);
	return o;
}

static json_t *report_seg(const aoi_eval *e)
{
	const aoi_metrics_seg *s = &e->seg;
	json_t *classes = json_object();
	aoi_seg_class_result r;

	for (int k = 0; k < s->ncls; k++) {
		aoi_metrics_seg_class(s, k, &r);
		json_object_set_new(classes, class_name(e, k),
				    json_pack("{s:I, s:I, s:I, s:o, s:o}", "tp", (json_int_t)r.tp,
					      "fp", (json_int_t)r.fp, "fn", (json_int_t)r.fn,
					      "f1", num(r.f1), "iou", num(r.iou)));
	}
	return json_pack("{s:I, s:I, s:o, s:o, s:o, s:o}", "images", (json_int_t)s->images,
			 "skipped", (json_int_t)e->seg_skipped, "classes", classes, "miou",
			 num(aoi_metrics_seg_miou(s, 0)), "miou_defects",
			 num(aoi_metrics_seg_miou(s, 1)), "pixel_accuracy",
			 num(aoi_metrics_seg_pixel_accuracy(s)));
}

static json_t *label_names(const aoi_eval *e)
{
	json_t *a = json_array();

	for (int k = 0; k < e->lab.n; k++)
		json_array_append_new(a, json_string(e->labels.names[k]));
	return a;
}

static json_t *report_labels(const aoi_eval *e)
{
	const aoi_metrics_labels *l = &e->lab;
	json_t *conf = json_array(), *per = json_object();
	aoi_binary_result b;

	for (int t = 0; t < l->n; t++) {
		json_t *row = json_array();

		for (int p = 0; p < l->n; p++)
			json_array_append_new(row, json_integer(aoi_metrics_labels_count(l, t, p)));
		json_array_append_new(conf, row);
		aoi_metrics_labels_binary(l, t, &b);
		json_object_set_new(per, e->labels.names[t],
				    json_pack("{s:o, s:o, s:o}", "precision", num(b.precision),
					      "recall", num(b.recall), "f1", num(b.f1)));
	}
	pooled(e, &b);
	return json_pack("{s:I, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I}}",
			 "images", (json_int_t)l->images, "labels", label_names(e), "good",
			 e->good,
			 "confusion", conf, "per_label", per, "accuracy",
			 num(aoi_metrics_labels_accuracy(l)), "precision", num(b.precision),
			 "recall", num(b.recall), "f1", num(b.f1), "defective", "tp",
			 (json_int_t)b.tp, "fp", (json_int_t)b.fp, "fn", (json_int_t)b.fn, "tn",
			 (json_int_t)b.tn);
}

/* Seed 004: the AG of the model, of each inspector, and of the humans as
 * the mean of the inspectors' AGs. */
static double human_ag(const aoi_eval *e)
{
	double sum = 0;
	int n = 0;

	for (int s = 1; s < e->nsrc; s++)
		if (!isnan(aoi_metrics_gage_ag(&e->gage, s))) {
			sum += aoi_metrics_gage_ag(&e->gage, s);
			n++;
		}
	return n ? sum / n : NAN;
}

static json_t *report_gage(const aoi_eval *e)
{
	const aoi_metrics_gage *g = &e->gage;
	json_t *src = json_array(), *pairs = json_array();

	for (int s = 0; s < e->nsrc; s++) {
		json_t *row = json_array();

		json_array_append_new(
			src, json_pack("{s:s, s:s, s:I, s:I, s:I, s:o}", "name",
				       s ? "inspector" : "model", "file", e->srcname[s],
				       "decisions", (json_int_t)g->made[s], "agree",
				       (json_int_t)g->agree[s], "extra",
				       (json_int_t)(s ? e->src_extra[s] : e->extra), "ag",
				       num(aoi_metrics_gage_ag(g, s))));
		for (int b = 0; b < e->nsrc; b++)
			json_array_append_new(row, num(aoi_metrics_gage_pair(g, s, b)));
		json_array_append_new(pairs, row);
	}
	return json_pack("{s:o, s:o, s:o, s:I}", "sources", src, "human_ag",
			 num(human_ag(e)), "agreement", pairs, "no_truth",
			 (json_int_t)g->no_truth);
}

static json_t *report_kp(const aoi_eval *e)
{
	json_t *pts = json_array();

	for (int i = 0; i < e->kp.npoints; i++)
		json_array_append_new(pts, num(aoi_metrics_kp_point_mae(&e->kp, i)));
	return json_pack("{s:I, s:o, s:o, s:o, s:o}", "images", (json_int_t)e->kp.images,
			 "centre_mae", num(aoi_metrics_kp_centre_mae(&e->kp)),
			 "centre_distance", num(aoi_metrics_kp_centre_dist(&e->kp)),
			 "rotation_mae", num(aoi_metrics_kp_rotation_mae(&e->kp)),
			 "point_mae", pts);
}

static json_t *report_det(const aoi_eval *e)
{
	const aoi_metrics_det *d = &e->det;
	json_t *ap = json_object();
	double p, r, f;

	for (int k = 1; k <= e->classes.n; k++)
		if (d->npos[k])
			json_object_set_new(ap, e->classes.names[k - 1],
					    num(aoi_metrics_det_ap(d, k)));
	aoi_metrics_det_prf(d, &p, &r, &f);
	return json_pack("{s:f, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "iou_threshold",
			 d->iou_min, "truth_boxes", (json_int_t)d->ntruth, "pred_boxes",
			 (json_int_t)d->npred, "tp", (json_int_t)d->ntp, "precision", num(p),
			 "recall", num(r), "fscore", num(f), "ap", ap, "map",
			 num(aoi_metrics_det_map(d)));
}

static json_t *report_cut(const aoi_curve_cut *c)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o}", "threshold", num(c->threshold), "f1",
			 num(c->f1), "precision", num(c->precision), "recall", num(c->recall),
			 "false_reject_rate", num(c->false_reject));
}

static const char *const src_names[SRC_COUNT] = {"score", "defect_prob", "probs", "boxes"};

static json_t *report_scores(const aoi_eval *e)
{
	json_t *src = json_object(), *o;
	aoi_curve c;
	aoi_curve_cut best, at;
	aoi_error err;

	if (aoi_metrics_scores_curve(&e->scores, &c, &err) < 0)
		return json_pack("{s:s}", "error", err.msg);
	for (int k = 0; k < SRC_COUNT; k++)
		if (e->score_src[k])
			json_object_set_new(src, src_names[k], json_integer(e->score_src[k]));
	aoi_curve_best_f1(&c, &best);
	aoi_curve_at_recall(&c, e->recall, &at);
	o = json_pack("{s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "images",
		      (json_int_t)e->scores.n, "defective", (json_int_t)c.pos, "good",
		      (json_int_t)c.neg, "no_truth", (json_int_t)e->score_no_truth, "sources",
		      src, "auroc", num(aoi_curve_auroc(&c)), "ap", num(aoi_curve_ap(&c)),
		      "best_f1", report_cut(&best), "at_recall", report_cut(&at));
	json_object_set_new(json_object_get(o, "at_recall"), "recall_wanted",
			    json_real(e->recall));
	aoi_curve_release(&c);
	return o;
}

static json_t *report_pixels(const aoi_eval *e)
{
	aoi_curve c;
	aoi_error err;
	json_t *o;

	if (aoi_metrics_pixels_curve(&e->pixels, &c, &err) < 0)
		return json_pack("{s:s}", "error", err.msg);
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:f}", "images",
		      (json_int_t)e->pixels.images, "skipped", (json_int_t)e->pixel_skipped,
		      "regions", (json_int_t)c.regions, "defect_pixels", (json_int_t)c.pos,
		      "good_pixels", (json_int_t)c.neg, "auroc", num(aoi_curve_auroc(&c)), "pro",
		      num(aoi_curve_pro(&c, e->max_fpr)), "pro_max_fpr", e->max_fpr);
	aoi_curve_release(&c);
	return o;
}

json_t *aoi_eval_report(const aoi_eval *e)
{
	json_t *o = json_object();

	json_object_set_new(o, "ids", report_ids(e));
	if (e->seg.images)
		json_object_set_new(o, "segmentation", report_seg(e));
	if (e->lab.images)
		json_object_set_new(o, "classification", report_labels(e));
	if (e->has_gage)
		json_object_set_new(o, "decisions", report_gage(e));
	if (e->kp.images)
		json_object_set_new(o, "keypoints", report_kp(e));
	if (e->has_det)
		json_object_set_new(o, "detection", report_det(e));
	if (e->scores.n)
		json_object_set_new(o, "image_scores", report_scores(e));
	if (e->pixels.images)
		json_object_set_new(o, "pixels", report_pixels(e));
	return o;
}

/* ---- table ------------------------------------------------------------- */

/* "0.9250" or "-" for an undefined figure. */
static const char *fmt(char *buf, size_t size, double v)
{
	if (isnan(v))
		snprintf(buf, size, "-");
	else /* no "-0.0000" for a threshold a rounding below 0 */
		snprintf(buf, size, "%.4f", fabs(v) < 5e-5 ? 0.0 : v);
	return buf;
}

static void table_seg(const aoi_eval *e, FILE *fp)
{
	aoi_seg_class_result r;
	char a[32], b[32];

	fprintf(fp, "Segmentation (%ld images; F1 cumulative over images, seed 004 eq. 2)\n",
		e->seg.images);
	fprintf(fp, "  %-16s %12s %12s %12s %8s %8s\n", "class", "TP", "FP", "FN", "F1",
		"IoU");
	for (int k = 0; k < e->seg.ncls; k++) {
		aoi_metrics_seg_class(&e->seg, k, &r);
		fprintf(fp, "  %-16s %12llu %12llu %12llu %8s %8s\n", class_name(e, k),
			(unsigned long long)r.tp, (unsigned long long)r.fp,
			(unsigned long long)r.fn, fmt(a, sizeof a, r.f1), fmt(b, sizeof b, r.iou));
	}
	fprintf(fp, "  mean IoU %s (defect classes %s), pixel accuracy %s\n\n",
		fmt(a, sizeof a, aoi_metrics_seg_miou(&e->seg, 0)),
		fmt(b, sizeof b, aoi_metrics_seg_miou(&e->seg, 1)),
		fmt((char[32]){0}, 32, aoi_metrics_seg_pixel_accuracy(&e->seg)));
}

static void table_labels(const aoi_eval *e, FILE *fp)
{
	const aoi_metrics_labels *l = &e->lab;
	aoi_binary_result b;
	char x[32], y[32], z[32], w[32];

	fprintf(fp, "Images (%ld): rows truth, columns prediction\n  %-14s", l->images, "");
	for (int p = 0; p < l->n; p++)
		fprintf(fp, " %10.10s", e->labels.names[p]);
	fputc('\n', fp);
	for (int t = 0; t < l->n; t++) {
		fprintf(fp, "  %-14.14s", e->labels.names[t]);
		for (int p = 0; p < l->n; p++)
			fprintf(fp, " %10ld", aoi_metrics_labels_count(l, t, p));
		fputc('\n', fp);
	}
	pooled(e, &b);
	fprintf(fp, "  accuracy %s; defective vs %s: precision %s, recall %s, F1 %s\n",
		fmt(x, sizeof x, aoi_metrics_labels_accuracy(l)), e->good,
		fmt(y, sizeof y, b.precision), fmt(z, sizeof z, b.recall), fmt(w, sizeof w, b.f1));
	if (!aoi_classes_find(&e->labels, e->good))
		fprintf(fp, "  (no image is labelled '%s': name the good label with --good)\n",
			e->good);
	fputc('\n', fp);
}

static void table_gage(const aoi_eval *e, FILE *fp)
{
	const aoi_metrics_gage *g = &e->gage;
	char a[32];

	fprintf(fp, "Decisions: attribute gage (share agreeing with the truth, seed 004)\n");
	for (int s = 0; s < e->nsrc; s++)
		fprintf(fp, "  %-10s %6ld of %6ld  AG %s  %s\n", s ? "inspector" : "model",
			g->agree[s], g->made[s], fmt(a, sizeof a, aoi_metrics_gage_ag(g, s)),
			e->srcname[s]);
	if (e->nsrc > 1)
		fprintf(fp, "  human AG (mean of inspectors) %s\n",
			fmt(a, sizeof a, human_ag(e)));
	fputc('\n', fp);
}

static void table_kp(const aoi_eval *e, FILE *fp)
{
	char a[32], b[32], c[32];

	fprintf(fp, "Keypoints (%ld images)\n  centre MAE %s px, centre distance %s px, "
		    "rotation MAE %s deg\n  per point MAE:",
		e->kp.images, fmt(a, sizeof a, aoi_metrics_kp_centre_mae(&e->kp)),
		fmt(b, sizeof b, aoi_metrics_kp_centre_dist(&e->kp)),
		fmt(c, sizeof c, aoi_metrics_kp_rotation_mae(&e->kp)));
	for (int i = 0; i < e->kp.npoints; i++)
		fprintf(fp, " %s", fmt(a, sizeof a, aoi_metrics_kp_point_mae(&e->kp, i)));
	fprintf(fp, "\n\n");
}

static void table_det(const aoi_eval *e, FILE *fp)
{
	const aoi_metrics_det *d = &e->det;
	double p, r, f;
	char a[32], b[32], c[32];

	aoi_metrics_det_prf(d, &p, &r, &f);
	fprintf(fp, "Detection (IoU > %g; %ld truth, %ld predicted boxes, %ld matched)\n",
		d->iou_min, d->ntruth, d->npred, d->ntp);
	fprintf(fp, "  precision %s, recall %s, F-score %s, mAP %s\n",
		fmt(a, sizeof a, p), fmt(b, sizeof b, r), fmt(c, sizeof c, f),
		fmt((char[32]){0}, 32, aoi_metrics_det_map(d)));
	for (int k = 1; k <= e->classes.n; k++)
		if (d->npos[k])
			fprintf(fp, "  AP %-16s %s\n", e->classes.names[k - 1],
				fmt(a, sizeof a, aoi_metrics_det_ap(d, k)));
	fputc('\n', fp);
}

static void table_cut(FILE *fp, const char *what, const aoi_curve_cut *c)
{
	char a[32], b[32], d[32], f[32], g[32];

	fprintf(fp, "  %s: threshold %s, F1 %s, precision %s, recall %s, false rejects %s\n",
		what, fmt(a, sizeof a, c->threshold), fmt(b, sizeof b, c->f1),
		fmt(d, sizeof d, c->precision), fmt(f, sizeof f, c->recall),
		fmt(g, sizeof g, c->false_reject));
}

static int table_scores(const aoi_eval *e, FILE *fp, aoi_error *err)
{
	aoi_curve c;
	aoi_curve_cut cut;
	char a[32], b[32], what[64];

	if (aoi_metrics_scores_curve(&e->scores, &c, err) < 0)
		return -1;
	fprintf(fp, "Image scores (%ld images: %.0f defective, %.0f %s; by", e->scores.n,
		c.pos, c.neg, e->good);
	for (int k = 0, n = 0; k < SRC_COUNT; k++)
		if (e->score_src[k])
			fprintf(fp, "%s pred.%s %ld", n++ ? "," : "", src_names[k],
				e->score_src[k]);
	fprintf(fp, ")\n");
	fprintf(fp, "  AUROC %s, AP %s\n", fmt(a, sizeof a, aoi_curve_auroc(&c)),
		fmt(b, sizeof b, aoi_curve_ap(&c)));
	aoi_curve_best_f1(&c, &cut);
	table_cut(fp, "best F1", &cut);
	aoi_curve_at_recall(&c, e->recall, &cut);
	snprintf(what, sizeof what, "recall >= %g", e->recall);
	table_cut(fp, what, &cut);
	fputc('\n', fp);
	aoi_curve_release(&c);
	return 0;
}

static int table_pixels(const aoi_eval *e, FILE *fp, aoi_error *err)
{
	aoi_curve c;
	char a[32], b[32];

	if (aoi_metrics_pixels_curve(&e->pixels, &c, err) < 0)
		return -1;
	fprintf(fp, "Anomaly maps (%ld images, %ld truth regions)\n", e->pixels.images,
		c.regions);
	fprintf(fp, "  pixel AUROC %s, PRO up to FPR %g: %s\n\n",
		fmt(a, sizeof a, aoi_curve_auroc(&c)), e->max_fpr,
		fmt(b, sizeof b, aoi_curve_pro(&c, e->max_fpr)));
	aoi_curve_release(&c);
	return 0;
}

int aoi_eval_table(const aoi_eval *e, FILE *fp, aoi_error *err)
{
	fprintf(fp, "Ids: %ld truth, %ld predicted, %ld matched, %ld missing, %ld extra\n\n",
		e->ntruth, e->npred, e->nmatched, e->missing, e->extra);
	if (e->seg.images)
		table_seg(e, fp);
	if (e->lab.images)
		table_labels(e, fp);
	if (e->has_gage)
		table_gage(e, fp);
	if (e->kp.images)
		table_kp(e, fp);
	if (e->has_det)
		table_det(e, fp);
	if (e->scores.n && table_scores(e, fp, err) < 0)
		return -1;
	if (e->pixels.images && table_pixels(e, fp, err) < 0)
		return -1;
	if (ferror(fp))
		return aoi_error_errno(err, NULL, "write failed");
	return 0;
}
