/* evaluate_plot.c: the charts of an evaluation and of a training log. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/dataset.h"
#include "eval/evaluate_impl.h"
#include "image/plot.h"

#define W 900
#define H 600

static int save_plot(aoi_plot *p, const char *dir, const char *file, int *written,
		     aoi_error *err)
{
	char path[4096];
	int rc;

	if (aoi_path_join(path, sizeof path, dir, file) < 0)
		rc = aoi_error_set(err, AOI_EINVAL, dir, 0, "path too long");
	else
		rc = aoi_plot_save(p, path, err);
	aoi_plot_free(p);
	*written += rc == 0;
	return rc;
}

/* A heatmap of counts shaded by their share of the row. */
static int confusion_chart(const char *title, const char *const *names, int n,
			   const double *counts, int percent, const char *dir,
			   const char *file, int *written, aoi_error *err)
{
	double *shade = calloc((size_t)n * n + 1, sizeof *shade);
	char **text = calloc((size_t)n * n + 1, sizeof *text);
	aoi_plot *p = shade && text ? aoi_plot_new(W, H, title, err) : NULL;
	int rc = -1;

	for (int t = 0; p && t < n; t++) {
		double row = 0;

		for (int q = 0; q < n; q++)
			row += counts[t * n + q];
		for (int q = 0; q < n; q++) {
			double v = counts[t * n + q];
			char buf[32];

			shade[t * n + q] = row > 0 ? v / row : 0;
			if (percent)
				snprintf(buf, sizeof buf, "%.1f%%", 100 * shade[t * n + q]);
			else
				snprintf(buf, sizeof buf, "%.0f", v);
			text[t * n + q] = strdup(buf);
		}
	}
	if (p) {
		aoi_plot_labels(p, "predicted", "truth");
		rc = aoi_plot_heatmap(p, shade, (const char *const *)text, n, n, names, names,
				      err);
		rc = rc == 0 ? save_plot(p, dir, file, written, err) : (aoi_plot_free(p), -1);
	} else if (!shade || !text) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	}
	for (int i = 0; text && i < n * n; i++)
		free(text[i]);
	free(text);
	free(shade);
	return rc;
}

static int labels_chart(const aoi_eval *e, const char *dir, int *written, aoi_error *err)
{
	int n = e->lab.n, rc;
	double *c = calloc((size_t)n * n + 1, sizeof *c);

	if (!c)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	for (int t = 0; t < n; t++)
		for (int q = 0; q < n; q++)
			c[t * n + q] = (double)aoi_metrics_labels_count(&e->lab, t, q);
	rc = confusion_chart("Images: confusion matrix (counts)",
			     (const char *const *)e->labels.names, n, c, 0, dir,
			     "confusion.png", written, err);
	free(c);
	return rc;
}

static const char *seg_name(const aoi_eval *e, int k)
{
	return k == 0 ? "good" : e->classes.names[k - 1];
}

static int pixels_chart(const aoi_eval *e, const char *dir, int *written, aoi_error *err)
{
	int n = e->seg.ncls, rc;
	double *c = calloc((size_t)n * n + 1, sizeof *c);
	const char *names[AOI_METRICS_MAXC];

	if (!c)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	for (int t = 0; t < n; t++) {
		names[t] = seg_name(e, t);
		for (int q = 0; q < n; q++)
			c[t * n + q] = (double)aoi_metrics_seg_count(&e->seg, t, q);
	}
	rc = confusion_chart("Pixels: share of each truth class", names, n, c, 1, dir,
			     "pixels.png", written, err);
	free(c);
	return rc;
}

static int classes_chart(const aoi_eval *e, const char *dir, int *written, aoi_error *err)
{
	const char *names[AOI_METRICS_MAXC];
	double f1[AOI_METRICS_MAXC], iou[AOI_METRICS_MAXC];
	aoi_seg_class_result r;
	aoi_plot *p = aoi_plot_new(W, H, "Segmentation per class (cumulative over images)",
				   err);

	if (!p)
		return -1;
	for (int k = 0; k < e->seg.ncls; k++) {
		aoi_metrics_seg_class(&e->seg, k, &r);
		names[k] = seg_name(e, k);
		f1[k] = r.f1;
		iou[k] = r.iou;
	}
	aoi_plot_labels(p, "class", "score");
	aoi_plot_yrange(p, 0, 1);
	if (aoi_plot_bars(p, names, f1, e->seg.ncls, "F1", err) < 0 ||
	    aoi_plot_bars(p, names, iou, e->seg.ncls, "IoU", err) < 0) {
		aoi_plot_free(p);
		return -1;
	}
	return save_plot(p, dir, "classes.png", written, err);
}

static int pr_line(const aoi_eval *e, aoi_plot *p, int cls, const char *name,
		   aoi_error *err)
{
	double *rec, *prec;
	long n;
	int rc;

	if (aoi_metrics_det_curve(&e->det, cls, &rec, &prec, &n, err) < 0)
		return -1;
	rc = n > 0 ? aoi_plot_line(p, rec, prec, (int)(n < 1000000 ? n : 1000000), name, err) : 0;
	free(rec);
	free(prec);
	return rc;
}

static int pr_chart(const aoi_eval *e, const char *dir, int *written, aoi_error *err)
{
	aoi_plot *p = aoi_plot_new(W, H, "Detection: precision-recall", err);
	char name[96];
	int lines = 0, rc = 0;

	if (!p)
		return -1;
	aoi_plot_labels(p, "recall", "precision");
	aoi_plot_xrange(p, 0, 1);
	aoi_plot_yrange(p, 0, 1);
	for (int k = 1; k <= e->classes.n && rc == 0 && lines < 15; k++) {
		if (!e->det.npos[k])
			continue;
		snprintf(name, sizeof name, "%s AP %.2f", e->classes.names[k - 1],
			 aoi_metrics_det_ap(&e->det, k));
		rc = pr_line(e, p, k, name, err);
		lines++;
	}
	if (rc == 0 && lines > 1) {
		snprintf(name, sizeof name, "all AP %.2f", aoi_metrics_det_ap(&e->det, 0));
		rc = pr_line(e, p, 0, name, err);
	}
	if (rc < 0) {
		aoi_plot_free(p);
		return -1;
	}
	return save_plot(p, dir, "pr.png", written, err);
}

/* ---- score curves ------------------------------------------------------ */

/* x and y of a curve's points, with a first point prepended. */
typedef struct xy {
	double *x, *y;
	long n;
} xy;

static int xy_alloc(xy *v, long n, aoi_error *err)
{
	v->n = 0;
	v->x = malloc((size_t)(n + 2) * sizeof *v->x);
	v->y = malloc((size_t)(n + 2) * sizeof *v->y);
	if (!v->x || !v->y)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	return 0;
}

static void xy_add(xy *v, double x, double y)
{
	v->x[v->n] = x;
	v->y[v->n++] = y;
}

static void xy_release(xy *v)
{
	free(v->x);
	free(v->y);
}

/* One curve in [0, 1] x [0, 1] (x up to xmax), with the diagonal of a
 * guess when asked. */
static int curve_plot(const char *title, const char *xl, const char *yl, const xy *v,
		      const char *name, int diagonal, double xmax, const char *dir,
		      const char *file, int *written, aoi_error *err)
{
	static const double d[2] = {0, 1};
	aoi_plot *p = aoi_plot_new(W, H, title, err);
	int rc;

	if (!p)
		return -1;
	aoi_plot_labels(p, xl, yl);
	aoi_plot_xrange(p, 0, xmax);
	aoi_plot_yrange(p, 0, 1);
	rc = aoi_plot_line(p, v->x, v->y, (int)(v->n < 1000000 ? v->n : 1000000), name, err);
	if (rc == 0 && diagonal)
		rc = aoi_plot_line(p, d, d, 2, "chance", err);
	if (rc < 0) {
		aoi_plot_free(p);
		return -1;
	}
	return save_plot(p, dir, file, written, err);
}

/* ROC of a curve; pr: precision-recall instead. */
static int roc_chart(const aoi_curve *c, int pr, const char *title, const char *dir,
		     const char *file, int *written, aoi_error *err)
{
	xy v;
	char name[64];
	int rc = xy_alloc(&v, c->n, err);

	if (rc == 0 && pr && c->n)
		xy_add(&v, 0, c->tp[0] / (c->tp[0] + c->fp[0]));
	else if (rc == 0)
		xy_add(&v, 0, 0);
	for (long k = 0; rc == 0 && k < c->n; k++)
		if (pr)
			xy_add(&v, c->tp[k] / c->pos, c->tp[k] / (c->tp[k] + c->fp[k]));
		else
			xy_add(&v, c->fp[k] / c->neg, c->tp[k] / c->pos);
	snprintf(name, sizeof name, pr ? "AP %.3f" : "AUROC %.3f",
		 pr ? aoi_curve_ap(c) : aoi_curve_auroc(c));
	if (rc == 0)
		rc = curve_plot(title, pr ? "recall" : "false-positive rate",
				pr ? "precision" : "true-positive rate", &v, name, !pr, 1, dir,
				file, written, err);
	xy_release(&v);
	return rc;
}

static int scores_charts(const aoi_eval *e, const char *dir, int *written, aoi_error *err)
{
	aoi_curve c;
	int rc;

	if (aoi_metrics_scores_curve(&e->scores, &c, err) < 0)
		return -1;
	rc = c.pos > 0 && c.neg > 0
		     ? roc_chart(&c, 0, "Images: ROC of the image score", dir, "image-roc.png",
				 written, err)
		     : 0;
	if (rc == 0 && c.pos > 0)
		rc = roc_chart(&c, 1, "Images: precision-recall of the image score", dir,
			       "image-pr.png", written, err);
	aoi_curve_release(&c);
	return rc;
}

/* PRO against the false-positive rate up to max_fpr (the last point
 * interpolated there, as the integral is). */
static int pro_chart(const aoi_eval *e, const aoi_curve *c, const char *dir, int *written,
		     aoi_error *err)
{
	xy v;
	char name[64];
	int rc = xy_alloc(&v, c->n, err);

	if (rc == 0)
		xy_add(&v, 0, 0);
	for (long k = 0; rc == 0 && k <= c->n; k++) {
		double x = k < c->n ? c->fp[k] / c->neg : 1;
		double y = k < c->n ? c->overlap[k] / (double)c->regions : 1;
		double x0 = v.x[v.n - 1], y0 = v.y[v.n - 1];

		if (x > e->max_fpr) {
			xy_add(&v, e->max_fpr, y0 + (y - y0) * (e->max_fpr - x0) / (x - x0));
			break;
		}
		xy_add(&v, x, y > 1 ? 1 : y);
	}
	snprintf(name, sizeof name, "PRO %.3f", aoi_curve_pro(c, e->max_fpr));
	if (rc == 0)
		rc = curve_plot("Pixels: per-region overlap (PRO)", "false-positive rate",
				"per-region overlap", &v, name, 0, e->max_fpr, dir, "pro.png",
				written, err);
	xy_release(&v);
	return rc;
}

static int pixel_charts(const aoi_eval *e, const char *dir, int *written, aoi_error *err)
{
	aoi_curve c;
	int rc = 0;

	if (aoi_metrics_pixels_curve(&e->pixels, &c, err) < 0)
		return -1;
	if (c.pos > 0 && c.neg > 0)
		rc = roc_chart(&c, 0, "Pixels: ROC of the anomaly maps", dir, "pixel-roc.png",
			       written, err);
	if (rc == 0 && c.regions > 0 && c.neg > 0)
		rc = pro_chart(e, &c, dir, written, err);
	aoi_curve_release(&c);
	return rc;
}

int aoi_eval_plots(const aoi_eval *e, const char *dir, const char *log, int *written,
		   aoi_error *err)
{
	int rc = aoi_mkdir_p(dir, err);

	*written = 0;
	if (rc == 0 && e->lab.images)
		rc = labels_chart(e, dir, written, err);
	if (rc == 0 && e->seg.images)
		rc = pixels_chart(e, dir, written, err);
	if (rc == 0 && e->seg.images)
		rc = classes_chart(e, dir, written, err);
	if (rc == 0 && e->has_det && e->det.ntruth)
		rc = pr_chart(e, dir, written, err);
	if (rc == 0 && e->scores.n)
		rc = scores_charts(e, dir, written, err);
	if (rc == 0 && e->pixels.images)
		rc = pixel_charts(e, dir, written, err);
	if (rc == 0 && log) {
		int more = 0;

		rc = aoi_eval_plot_log(log, dir, &more, err);
		*written += more;
	}
	return rc;
}

/* ---- learning curves --------------------------------------------------- */

/* The log as columns: epoch and every numeric key, NaN where a line lacks
 * it. */
typedef struct columns {
	json_t *keys; /* key -> column index */
	double **col;
	int ncol, cap;
	long rows, rcap;
} columns;

static void columns_release(columns *c)
{
	for (int i = 0; i < c->ncol; i++)
		free(c->col[i]);
	free(c->col);
	json_decref(c->keys);
}

static int column_of(columns *c, const char *key, aoi_error *err)
{
	json_t *at = json_object_get(c->keys, key);

	if (at)
		return (int)json_integer_value(at);
	if (c->ncol == c->cap) {
		int cap = c->cap ? 2 * c->cap : 16;
		double **col = realloc(c->col, (size_t)cap * sizeof *col);

		if (!col)
			return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		c->col = col;
		c->cap = cap;
	}
	if (!(c->col[c->ncol] = malloc((size_t)c->rcap * sizeof **c->col)))
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	for (long r = 0; r < c->rcap; r++)
		c->col[c->ncol][r] = NAN;
	json_object_set_new(c->keys, key, json_integer(c->ncol));
	return c->ncol++;
}

static int add_row(columns *c, json_t *rec, aoi_error *err)
{
	const char *key;
	json_t *v;

	if (c->rows == c->rcap) {
		long cap = c->rcap * 2;

		for (int i = 0; i < c->ncol; i++) {
			double *col = realloc(c->col[i], (size_t)cap * sizeof *col);

			if (!col)
				return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
			c->col[i] = col;
			for (long r = c->rcap; r < cap; r++)
				col[r] = NAN;
		}
		c->rcap = cap;
	}
	json_object_foreach(rec, key, v) {
		int k;

		if (!json_is_number(v))
			continue;
		if ((k = column_of(c, key, err)) < 0)
			return -1;
		c->col[k][c->rows] = json_number_value(v);
	}
	c->rows++;
	return 0;
}

static int read_log(const char *path, columns *c, aoi_error *err)
{
	aoi_dataset log;
	int rc = 0;

	if (aoi_dataset_load(&log, path, NULL, err) < 0)
		return -1;
	c->keys = json_object();
	c->rcap = 64;
	for (size_t i = 0; rc == 0 && i < aoi_dataset_size(&log); i++) {
		json_t *rec = json_array_get(log.records, i);
		/* Only epoch lines: a log may interleave other events. */
		if (json_is_number(json_object_get(rec, "epoch")))
			rc = add_row(c, rec, err);
	}
	aoi_dataset_release(&log);
	if (rc == 0 && c->rows == 0)
		return aoi_error_set(err, AOI_EFORMAT, path, 0,
				     "no line with an \"epoch\" in the training log");
	return rc;
}

static int curve_chart(const columns *c, const char *base, const char *dir, int *written,
		       aoi_error *err)
{
	json_t *tk = json_object_get(c->keys, base), *vk;
	const double *epoch = c->col[json_integer_value(json_object_get(c->keys, "epoch"))];
	char title[128], vkey[96], file[128];
	aoi_plot *p;
	int rc = 0;

	snprintf(vkey, sizeof vkey, "val_%s", base);
	vk = json_object_get(c->keys, vkey);
	snprintf(title, sizeof title, "%s per epoch%s", strcmp(base, "lr") ? base : "learning rate",
		 tk && vk ? ": train and validation" : vk ? ": validation" : "");
	if (!(p = aoi_plot_new(W, H, title, err)))
		return -1;
	aoi_plot_labels(p, "epoch", base);
	if (tk)
		rc = aoi_plot_line(p, epoch, c->col[json_integer_value(tk)], (int)c->rows,
				   vk ? "train" : "", err);
	if (rc == 0 && vk)
		rc = aoi_plot_line(p, epoch, c->col[json_integer_value(vk)], (int)c->rows,
				   "validation", err);
	if (rc < 0) {
		aoi_plot_free(p);
		return -1;
	}
	snprintf(file, sizeof file, "%s%s.png",
		 strcmp(base, "loss") && strcmp(base, "lr") ? "metric-" : "", base);
	return save_plot(p, dir, file, written, err);
}

/* A column with at least two different values (a learning rate that a
 * schedule changed is worth a chart; a constant one is not). */
static int varies(const columns *c, const char *key)
{
	json_t *k = json_object_get(c->keys, key);
	const double *v = k ? c->col[json_integer_value(k)] : NULL;

	for (long r = 1; v && r < c->rows; r++)
		if (isfinite(v[r]) && isfinite(v[0]) && v[r] != v[0])
			return 1;
	return 0;
}

int aoi_eval_plot_log(const char *log, const char *dir, int *written, aoi_error *err)
{
	columns c = {0};
	const char *key;
	json_t *v;
	int rc;

	*written = 0;
	rc = read_log(log, &c, err);
	if (rc == 0)
		rc = aoi_mkdir_p(dir, err);
	if (rc == 0 && (json_object_get(c.keys, "loss") || json_object_get(c.keys, "val_loss")))
		rc = curve_chart(&c, "loss", dir, written, err);
	if (rc == 0 && varies(&c, "lr"))
		rc = curve_chart(&c, "lr", dir, written, err);
	/* One chart per validation metric, with its training twin if any. */
	json_object_foreach(c.keys, key, v) {
		if (rc < 0)
			break;
		if (strncmp(key, "val_", 4) == 0 && strcmp(key, "val_loss") != 0 &&
		    strlen(key) < 64 && !strchr(key, '/'))
			rc = curve_chart(&c, key + 4, dir, written, err);
	}
	columns_release(&c);
	return rc;
}
