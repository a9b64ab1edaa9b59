/* roc.c: image scores and anomaly maps against the truth (metrics.h).
 *
 * Both end in one kind of curve: the distinct scores from the highest,
 * with the positives and negatives at or above each. Image scores are
 * few and are sorted whole; anomaly maps hold millions of pixels but only
 * 65536 values each, so their pixels are counted per value (one
 * histogram per map scale) and only the values are sorted. */
#include "eval/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/raster.h"

#define NBINS 65536

void aoi_curve_release(aoi_curve *c)
{
	free(c->score);
	free(c->tp);
	free(c->fp);
	free(c->overlap);
	memset(c, 0, sizeof *c);
}

static int curve_alloc(aoi_curve *c, long n, int overlap, aoi_error *err)
{
	size_t m = (size_t)(n > 0 ? n : 1);

	memset(c, 0, sizeof *c);
	c->score = malloc(m * sizeof *c->score);
	c->tp = malloc(m * sizeof *c->tp);
	c->fp = malloc(m * sizeof *c->fp);
	c->overlap = overlap ? malloc(m * sizeof *c->overlap) : NULL;
	if (!c->score || !c->tp || !c->fp || (overlap && !c->overlap)) {
		aoi_curve_release(c);
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	}
	return 0;
}

double aoi_curve_auroc(const aoi_curve *c)
{
	double area = 0, x0 = 0, y0 = 0;

	if (!(c->pos > 0) || !(c->neg > 0))
		return NAN;
	for (long k = 0; k < c->n; k++) {
		double x = c->fp[k] / c->neg, y = c->tp[k] / c->pos;

		area += (x - x0) * (y + y0) / 2;
		x0 = x;
		y0 = y;
	}
	return area;
}

double aoi_curve_ap(const aoi_curve *c)
{
	double ap = 0, r0 = 0;

	if (!(c->pos > 0))
		return NAN;
	for (long k = 0; k < c->n; k++) {
		double r = c->tp[k] / c->pos;

		ap += (r - r0) * c->tp[k] / (c->tp[k] + c->fp[k]);
		r0 = r;
	}
	return ap;
}

/* Point k of the PRO curve; k = n is the end, (1, 1). Rounding in the
 * sums must not take a rate past 1. */
static void pro_point(const aoi_curve *c, long k, double *x, double *y)
{
	*x = k < c->n ? c->fp[k] / c->neg : 1;
	*y = k < c->n ? c->overlap[k] / (double)c->regions : 1;
	*x = *x > 1 ? 1 : *x;
	*y = *y > 1 ? 1 : *y;
}

double aoi_curve_pro(const aoi_curve *c, double max_fpr)
{
	double area = 0, x0 = 0, y0 = 0, x, y;

	if (!c->overlap || c->regions <= 0 || !(c->neg > 0) || !(max_fpr > 0))
		return NAN;
	for (long k = 0; k <= c->n; k++) {
		pro_point(c, k, &x, &y);
		if (x > max_fpr) { /* the last piece, up to max_fpr */
			double yi = y0 + (y - y0) * (max_fpr - x0) / (x - x0);

			area += (max_fpr - x0) * (yi + y0) / 2;
			return area / max_fpr;
		}
		area += (x - x0) * (y + y0) / 2;
		x0 = x;
		y0 = y;
	}
	return area / max_fpr;
}

double aoi_curve_threshold(const aoi_curve *c, long k)
{
	if (k < 0 || k >= c->n)
		return NAN;
	if (k + 1 < c->n)
		return (c->score[k] + c->score[k + 1]) / 2;
	if (k > 0)
		return c->score[k] - (c->score[k - 1] - c->score[k]) / 2;
	return c->score[k] - 0.5;
}

/* The figures of flagging points 0..k (k = -1: nothing flagged, the
 * threshold at the highest score). */
static void cut_at(const aoi_curve *c, long k, aoi_curve_cut *cut)
{
	double tp = k >= 0 ? c->tp[k] : 0, fp = k >= 0 ? c->fp[k] : 0;

	cut->k = k;
	cut->threshold = k >= 0 ? aoi_curve_threshold(c, k) : c->n ? c->score[0] : NAN;
	cut->tp = tp;
	cut->fp = fp;
	cut->precision = tp + fp > 0 ? tp / (tp + fp) : NAN;
	cut->recall = c->pos > 0 ? tp / c->pos : NAN;
	/* 2TP / (2TP + FP + FN) with FN = pos - TP */
	cut->f1 = tp + fp + c->pos > 0 ? 2 * tp / (tp + fp + c->pos) : NAN;
	cut->false_reject = c->neg > 0 ? fp / c->neg : NAN;
}

void aoi_curve_best_f1(const aoi_curve *c, aoi_curve_cut *cut)
{
	long best = -1;
	double top = -1;

	for (long k = 0; c->pos > 0 && k < c->n; k++) {
		double f = 2 * c->tp[k] / (c->tp[k] + c->fp[k] + c->pos);

		if (f > top) {
			top = f;
			best = k;
		}
	}
	cut_at(c, best, cut);
}

void aoi_curve_at_recall(const aoi_curve *c, double recall, aoi_curve_cut *cut)
{
	/* a hair under the target, so that 0.9 x 10 reaches 9 */
	double need = (recall - 1e-12) * c->pos;
	long k = -1;

	while (c->pos > 0 && k + 1 < c->n && (k < 0 ? 0 : c->tp[k]) < need)
		k++;
	cut_at(c, k, cut);
}

/* ---- image scores ------------------------------------------------------ */

void aoi_metrics_scores_init(aoi_metrics_scores *s)
{
	memset(s, 0, sizeof *s);
}

void aoi_metrics_scores_release(aoi_metrics_scores *s)
{
	free(s->score);
	free(s->positive);
	memset(s, 0, sizeof *s);
}

int aoi_metrics_scores_add(aoi_metrics_scores *s, double score, int positive,
			   aoi_error *err)
{
	if (!isfinite(score))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "score %g is not a finite number",
				     score);
	if (s->n == s->cap) {
		long cap = s->cap ? 2 * s->cap : 256;
		double *sc = realloc(s->score, (size_t)cap * sizeof *sc);
		uint8_t *po = sc ? realloc(s->positive, (size_t)cap) : NULL;

		if (sc)
			s->score = sc;
		if (!po)
			return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		s->positive = po;
		s->cap = cap;
	}
	s->score[s->n] = score;
	s->positive[s->n++] = positive != 0;
	return 0;
}

/* A value with its positive and negative counts (and overlap sum), to be
 * sorted by decreasing score. */
typedef struct tally {
	double score, pos, neg, overlap;
} tally;

static int by_score_down(const void *a, const void *b)
{
	double x = ((const tally *)a)->score, y = ((const tally *)b)->score;

	return (x < y) - (x > y);
}

/* Sort the tallies and sum them up into a curve, equal scores one point. */
static int curve_from(tally *t, long m, int overlap, aoi_curve *c, aoi_error *err)
{
	long n = 0, k = -1;
	double tp = 0, fp = 0, ov = 0;

	qsort(t, (size_t)m, sizeof *t, by_score_down);
	for (long i = 0; i < m; i++)
		n += i == 0 || t[i].score != t[i - 1].score;
	if (curve_alloc(c, n, overlap, err) < 0)
		return -1;
	for (long i = 0; i < m; i++) {
		if (i == 0 || t[i].score != t[i - 1].score)
			c->score[++k] = t[i].score;
		tp += t[i].pos;
		fp += t[i].neg;
		ov += t[i].overlap;
		c->tp[k] = tp;
		c->fp[k] = fp;
		if (overlap)
			c->overlap[k] = ov;
	}
	c->n = n;
	c->pos = tp;
	c->neg = fp;
	return 0;
}

int aoi_metrics_scores_curve(const aoi_metrics_scores *s, aoi_curve *c, aoi_error *err)
{
	tally *t = malloc((size_t)(s->n ? s->n : 1) * sizeof *t);
	int rc;

	if (!t)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	for (long i = 0; i < s->n; i++)
		t[i] = (tally){s->score[i], s->positive[i], !s->positive[i], 0};
	rc = curve_from(t, s->n, 0, c, err);
	free(t);
	return rc;
}

/* ---- anomaly maps ------------------------------------------------------ */

void aoi_metrics_pixels_init(aoi_metrics_pixels *p)
{
	memset(p, 0, sizeof *p);
}

void aoi_metrics_pixels_release(aoi_metrics_pixels *p)
{
	for (int i = 0; i < p->nhist; i++) {
		free(p->hist[i].neg);
		free(p->hist[i].pos);
		free(p->hist[i].overlap);
	}
	memset(p, 0, sizeof *p);
}

static aoi_pixel_hist *hist_for(aoi_metrics_pixels *p, double scale, aoi_error *err)
{
	aoi_pixel_hist *h;

	for (int i = 0; i < p->nhist; i++)
		if (p->hist[i].scale == scale)
			return &p->hist[i];
	if (p->nhist == AOI_METRICS_MAXSCALES) {
		aoi_error_set(err, AOI_EINVAL, NULL, 0,
			      "anomaly maps on more than %d different scales",
			      AOI_METRICS_MAXSCALES);
		return NULL;
	}
	h = &p->hist[p->nhist];
	h->scale = scale;
	h->neg = calloc(NBINS, sizeof *h->neg);
	h->pos = calloc(NBINS, sizeof *h->pos);
	h->overlap = calloc(NBINS, sizeof *h->overlap);
	p->nhist++; /* counted now, so that release frees a partial one */
	if (!h->neg || !h->pos || !h->overlap) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		return NULL;
	}
	return h;
}

/* Count the pixels of one map by value: good pixels, defect pixels, and
 * each defect pixel's share of its region. */
static void count_pixels(aoi_pixel_hist *h, const uint16_t *map, const int *lab,
			 const long *area, size_t npix)
{
	for (size_t i = 0; i < npix; i++) {
		uint16_t v = map[i];

		if (!lab[i]) {
			h->neg[v]++;
			continue;
		}
		h->pos[v]++;
		h->overlap[v] += 1.0 / (double)area[lab[i]];
	}
}

int aoi_metrics_pixels_add(aoi_metrics_pixels *p, const uint16_t *map, int width,
			   int height, double scale, const aoi_mask *truth, aoi_error *err)
{
	size_t npix = (size_t)width * (size_t)height;
	aoi_pixel_hist *h;
	int *lab, n;
	long *area;

	if (!isfinite(scale) || !(scale > 0))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "anomaly map scale %g: want a positive number", scale);
	if (truth->width != width || truth->height != height)
		return aoi_error_set(err, AOI_ESHAPE, NULL, 0,
				     "anomaly map is %dx%d but the truth mask is %dx%d", width,
				     height, truth->width, truth->height);
	if (!(h = hist_for(p, scale, err)))
		return -1;
	if (!(lab = malloc((npix ? npix : 1) * sizeof *lab)))
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	if ((n = aoi_components_label(truth, 0, lab, err)) < 0) {
		free(lab);
		return -1;
	}
	if (!(area = calloc((size_t)n + 1, sizeof *area))) {
		free(lab);
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	}
	for (size_t i = 0; i < npix; i++)
		area[lab[i]]++;
	count_pixels(h, map, lab, area, npix);
	free(area);
	free(lab);
	p->regions += n;
	p->images++;
	return 0;
}

int aoi_metrics_pixels_curve(const aoi_metrics_pixels *p, aoi_curve *c, aoi_error *err)
{
	long m = 0;
	tally *t;
	int rc;

	for (int i = 0; i < p->nhist; i++)
		for (long v = 0; v < NBINS; v++)
			m += p->hist[i].neg[v] || p->hist[i].pos[v];
	if (!(t = malloc((size_t)(m ? m : 1) * sizeof *t)))
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	m = 0;
	for (int i = 0; i < p->nhist; i++) {
		const aoi_pixel_hist *h = &p->hist[i];

		for (long v = 0; v < NBINS; v++)
			if (h->neg[v] || h->pos[v])
				t[m++] = (tally){(double)v / 65535.0 * h->scale, (double)h->pos[v],
						 (double)h->neg[v], h->overlap[v]};
	}
	rc = curve_from(t, m, 1, c, err);
	c->regions = p->regions;
	free(t);
	return rc;
}
