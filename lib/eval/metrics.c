#include "eval/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAXC AOI_METRICS_MAXC

/* ---- segmentation ------------------------------------------------------ */

int aoi_metrics_seg_init(aoi_metrics_seg *s, aoi_error *err)
{
	memset(s, 0, sizeof *s);
	s->conf = calloc((size_t)MAXC * MAXC, sizeof *s->conf);
	if (!s->conf)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	s->ncls = 1;
	return 0;
}

void aoi_metrics_seg_release(aoi_metrics_seg *s)
{
	free(s->conf);
	memset(s, 0, sizeof *s);
}

int aoi_metrics_seg_add(aoi_metrics_seg *s, const aoi_mask *truth,
			const aoi_mask *pred, aoi_error *err)
{
	size_t n = (size_t)truth->width * (size_t)truth->height;
	int hi = 0;

	if (truth->width != pred->width || truth->height != pred->height)
		return aoi_error_set(err, AOI_ESHAPE, NULL, 0,
				     "truth mask is %dx%d but predicted mask is %dx%d",
				     truth->width, truth->height, pred->width,
				     pred->height);
	for (size_t i = 0; i < n; i++) {
		uint8_t t = truth->data[i], p = pred->data[i];

		s->conf[(size_t)t * MAXC + p]++;
		hi = t > hi ? t : hi;
		hi = p > hi ? p : hi;
	}
	if (hi + 1 > s->ncls)
		s->ncls = hi + 1;
	s->images++;
	return 0;
}

void aoi_metrics_seg_declare(aoi_metrics_seg *s, int ncls)
{
	if (ncls > s->ncls && ncls <= MAXC)
		s->ncls = ncls;
}

uint64_t aoi_metrics_seg_count(const aoi_metrics_seg *s, int truth, int pred)
{
	return s->conf[(size_t)truth * MAXC + pred];
}

void aoi_metrics_seg_class(const aoi_metrics_seg *s, int k, aoi_seg_class_result *r)
{
	uint64_t row = 0, col = 0;

	for (int j = 0; j < MAXC; j++) {
		row += s->conf[(size_t)k * MAXC + j];
		col += s->conf[(size_t)j * MAXC + k];
	}
	r->tp = s->conf[(size_t)k * MAXC + k];
	r->fn = row - r->tp;
	r->fp = col - r->tp;
	/* Seed 004: an image set where the class is neither present nor
	 * predicted is a perfect answer, not 0/0. */
	if (r->tp + r->fp + r->fn == 0) {
		r->f1 = r->iou = 1.0;
		return;
	}
	r->f1 = 2.0 * (double)r->tp / (2.0 * (double)r->tp + (double)r->fp + (double)r->fn);
	r->iou = (double)r->tp / (double)(r->tp + r->fp + r->fn);
}

double aoi_metrics_seg_miou(const aoi_metrics_seg *s, int first)
{
	aoi_seg_class_result r;
	double sum = 0;
	int n = 0;

	for (int k = first; k < s->ncls; k++) {
		aoi_metrics_seg_class(s, k, &r);
		sum += r.iou;
		n++;
	}
	return n ? sum / n : NAN;
}

double aoi_metrics_seg_pixel_accuracy(const aoi_metrics_seg *s)
{
	uint64_t all = 0, diag = 0;

	for (int t = 0; t < s->ncls; t++)
		for (int p = 0; p < s->ncls; p++) {
			all += s->conf[(size_t)t * MAXC + p];
			if (t == p)
				diag += s->conf[(size_t)t * MAXC + p];
		}
	return all ? (double)diag / (double)all : NAN;
}

/* ---- image labels ------------------------------------------------------ */

int aoi_metrics_labels_init(aoi_metrics_labels *l, aoi_error *err)
{
	memset(l, 0, sizeof *l);
	l->conf = calloc((size_t)MAXC * MAXC, sizeof *l->conf);
	if (!l->conf)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	return 0;
}

void aoi_metrics_labels_release(aoi_metrics_labels *l)
{
	free(l->conf);
	memset(l, 0, sizeof *l);
}

int aoi_metrics_labels_add(aoi_metrics_labels *l, int truth, int pred, aoi_error *err)
{
	if (truth < 0 || truth >= MAXC || pred < 0 || pred >= MAXC)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "label index out of range 0..%d", MAXC - 1);
	l->conf[(size_t)truth * MAXC + pred]++;
	if (truth + 1 > l->n)
		l->n = truth + 1;
	if (pred + 1 > l->n)
		l->n = pred + 1;
	l->images++;
	return 0;
}

long aoi_metrics_labels_count(const aoi_metrics_labels *l, int truth, int pred)
{
	return l->conf[(size_t)truth * MAXC + pred];
}

double aoi_metrics_labels_accuracy(const aoi_metrics_labels *l)
{
	long diag = 0;

	for (int k = 0; k < l->n; k++)
		diag += aoi_metrics_labels_count(l, k, k);
	return l->images ? (double)diag / (double)l->images : NAN;
}

static void binary_ratios(aoi_binary_result *r)
{
	long all = r->tp + r->fp + r->fn + r->tn;

	r->accuracy = all ? (double)(r->tp + r->tn) / (double)all : NAN;
	r->precision = r->tp + r->fp ? (double)r->tp / (double)(r->tp + r->fp) : NAN;
	r->recall = r->tp + r->fn ? (double)r->tp / (double)(r->tp + r->fn) : NAN;
	if (r->tp + r->fp + r->fn == 0)
		r->f1 = NAN;
	else
		r->f1 = 2.0 * (double)r->tp / (double)(2 * r->tp + r->fp + r->fn);
}

/* is_pos(k) for the one-vs-rest and pooled views. */
static void binary_count(const aoi_metrics_labels *l, int label, int pooled,
			 aoi_binary_result *r)
{
	memset(r, 0, sizeof *r);
	for (int t = 0; t < l->n; t++)
		for (int p = 0; p < l->n; p++) {
			long c = aoi_metrics_labels_count(l, t, p);
			int tpos = pooled ? t != label : t == label;
			int ppos = pooled ? p != label : p == label;

			if (tpos && ppos)
				r->tp += c;
			else if (ppos)
				r->fp += c;
			else if (tpos)
				r->fn += c;
			else
				r->tn += c;
		}
	binary_ratios(r);
}

void aoi_metrics_labels_binary(const aoi_metrics_labels *l, int label,
			       aoi_binary_result *r)
{
	binary_count(l, label, 0, r);
}

void aoi_metrics_labels_pooled(const aoi_metrics_labels *l, int negative,
			       aoi_binary_result *r)
{
	binary_count(l, negative, 1, r);
}

/* ---- attribute gage ---------------------------------------------------- */

int aoi_metrics_gage_init(aoi_metrics_gage *g, int nsrc, aoi_error *err)
{
	memset(g, 0, sizeof *g);
	if (nsrc < 1 || nsrc > AOI_METRICS_MAXSRC)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "between 1 and %d decision sources, not %d",
				     AOI_METRICS_MAXSRC, nsrc);
	g->nsrc = nsrc;
	return 0;
}

void aoi_metrics_gage_add(aoi_metrics_gage *g, int truth, const int *dec)
{
	if (truth < 0)
		g->no_truth++;
	for (int a = 0; a < g->nsrc; a++) {
		if (dec[a] < 0)
			continue;
		if (truth >= 0) {
			g->made[a]++;
			g->agree[a] += dec[a] == truth;
		}
		for (int b = 0; b < g->nsrc; b++)
			if (dec[b] >= 0) {
				g->pair_both[a][b]++;
				g->pair_agree[a][b] += dec[a] == dec[b];
			}
	}
}

double aoi_metrics_gage_ag(const aoi_metrics_gage *g, int src)
{
	return g->made[src] ? (double)g->agree[src] / (double)g->made[src] : NAN;
}

double aoi_metrics_gage_pair(const aoi_metrics_gage *g, int a, int b)
{
	return g->pair_both[a][b] ? (double)g->pair_agree[a][b] / (double)g->pair_both[a][b]
				  : NAN;
}

/* ---- keypoints --------------------------------------------------------- */

void aoi_metrics_kp_init(aoi_metrics_kp *k)
{
	memset(k, 0, sizeof *k);
}

static void centre_of(const double *xy, int n, double *cx, double *cy)
{
	*cx = *cy = 0;
	for (int i = 0; i < n; i++) {
		*cx += xy[2 * i];
		*cy += xy[2 * i + 1];
	}
	*cx /= n;
	*cy /= n;
}

void aoi_placement(const double *nominal, const double *pred, int n, double *dx,
		   double *dy, double *angle_deg)
{
	double ax, ay, bx, by, sdot = 0, scross = 0;

	centre_of(nominal, n, &ax, &ay);
	centre_of(pred, n, &bx, &by);
	*dx = bx - ax;
	*dy = by - ay;
	/* The 2-D Procrustes rotation: the angle maximising the sum of dot
	 * products of the centred point pairs. */
	for (int i = 0; i < n; i++) {
		double ux = nominal[2 * i] - ax, uy = nominal[2 * i + 1] - ay;
		double vx = pred[2 * i] - bx, vy = pred[2 * i + 1] - by;

		sdot += ux * vx + uy * vy;
		scross += ux * vy - uy * vx;
	}
	*angle_deg = (sdot == 0 && scross == 0) ? 0 : atan2(scross, sdot) * 180.0 / M_PI;
}

int aoi_metrics_kp_add(aoi_metrics_kp *k, const double *truth, const double *pred,
		       int n, aoi_error *err)
{
	double dx, dy, rot;

	if (n < 1 || n > AOI_METRICS_MAXKP)
		return aoi_error_set(err, AOI_ESHAPE, NULL, 0,
				     "%d keypoints; between 1 and %d are supported", n,
				     AOI_METRICS_MAXKP);
	if (k->images && n != k->npoints)
		return aoi_error_set(err, AOI_ESHAPE, NULL, 0,
				     "%d keypoints where earlier images have %d", n,
				     k->npoints);
	k->npoints = n;
	aoi_placement(truth, pred, n, &dx, &dy, &rot);
	k->sum_centre_abs += fabs(dx) + fabs(dy);
	k->sum_centre_dist += sqrt(dx * dx + dy * dy);
	k->sum_rot_abs += fabs(rot);
	for (int i = 0; i < n; i++)
		k->sum_point_abs[i] += fabs(pred[2 * i] - truth[2 * i]) +
				       fabs(pred[2 * i + 1] - truth[2 * i + 1]);
	k->images++;
	return 0;
}

double aoi_metrics_kp_centre_mae(const aoi_metrics_kp *k)
{
	return k->images ? k->sum_centre_abs / (2.0 * k->images) : NAN;
}

double aoi_metrics_kp_centre_dist(const aoi_metrics_kp *k)
{
	return k->images ? k->sum_centre_dist / k->images : NAN;
}

double aoi_metrics_kp_point_mae(const aoi_metrics_kp *k, int i)
{
	return k->images && i < k->npoints ? k->sum_point_abs[i] / (2.0 * k->images) : NAN;
}

double aoi_metrics_kp_rotation_mae(const aoi_metrics_kp *k)
{
	return k->images ? k->sum_rot_abs / k->images : NAN;
}

/* ---- detection --------------------------------------------------------- */

void aoi_metrics_det_init(aoi_metrics_det *d, double iou_min)
{
	memset(d, 0, sizeof *d);
	d->iou_min = iou_min;
}

void aoi_metrics_det_release(aoi_metrics_det *d)
{
	free(d->hits);
	memset(d, 0, sizeof *d);
}

double aoi_box_iou(const aoi_det_box *a, const aoi_det_box *b)
{
	double iw = fmin(a->x2, b->x2) - fmax(a->x1, b->x1);
	double ih = fmin(a->y2, b->y2) - fmax(a->y1, b->y1);
	double inter, uni;

	if (iw <= 0 || ih <= 0)
		return 0;
	inter = iw * ih;
	uni = (a->x2 - a->x1) * (a->y2 - a->y1) + (b->x2 - b->x1) * (b->y2 - b->y1) - inter;
	return uni > 0 ? inter / uni : 0;
}

static int push_hit(aoi_metrics_det *d, double score, int cls, int tp, aoi_error *err)
{
	if (d->nhits == d->cap) {
		long cap = d->cap ? d->cap * 2 : 64;
		aoi_det_hit *h = realloc(d->hits, (size_t)cap * sizeof *h);

		if (!h)
			return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		d->hits = h;
		d->cap = cap;
	}
	d->hits[d->nhits++] = (aoi_det_hit){score, cls, tp};
	return 0;
}

/* Index of the unmatched same-class truth box with the highest IoU above
 * the threshold, or -1. */
static int best_truth(const aoi_metrics_det *d, const aoi_det_box *p,
		      const aoi_det_box *truth, int nt, const unsigned char *used)
{
	double best = d->iou_min;
	int at = -1;

	for (int j = 0; j < nt; j++) {
		double iou;

		if (used[j] || truth[j].cls != p->cls)
			continue;
		iou = aoi_box_iou(p, &truth[j]);
		if (iou > best) {
			best = iou;
			at = j;
		}
	}
	return at;
}

int aoi_metrics_det_add(aoi_metrics_det *d, const aoi_det_box *truth, int nt,
			const aoi_det_box *pred, int np, aoi_error *err)
{
	unsigned char *used = calloc((size_t)nt + 1, 1);
	unsigned char *done = calloc((size_t)np + 1, 1);
	int rc = 0;

	if (!used || !done) {
		free(used);
		free(done);
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	}
	for (int j = 0; j < nt; j++)
		if (truth[j].cls > 0 && truth[j].cls < MAXC)
			d->npos[truth[j].cls]++;
	d->ntruth += nt;
	/* Greedy by score: repeatedly take the highest-scoring prediction not
	 * yet placed (first in input order on ties). */
	for (int step = 0; step < np && rc == 0; step++) {
		int i = -1, j;

		for (int q = 0; q < np; q++)
			if (!done[q] && (i < 0 || pred[q].score > pred[i].score))
				i = q;
		done[i] = 1;
		j = best_truth(d, &pred[i], truth, nt, used);
		if (j >= 0)
			used[j] = 1;
		d->ntp += j >= 0;
		rc = push_hit(d, pred[i].score, pred[i].cls, j >= 0, err);
	}
	d->npred += np;
	free(used);
	free(done);
	return rc;
}

void aoi_metrics_det_prf(const aoi_metrics_det *d, double *precision, double *recall,
			 double *fscore)
{
	*precision = d->npred ? (double)d->ntp / (double)d->npred : NAN;
	*recall = d->ntruth ? (double)d->ntp / (double)d->ntruth : NAN;
	if (d->npred + d->ntruth == 0)
		*fscore = NAN;
	else
		*fscore = 2.0 * (double)d->ntp / (double)(d->npred + d->ntruth);
}

static int hit_by_score(const void *a, const void *b)
{
	const aoi_det_hit *x = *(const aoi_det_hit *const *)a;
	const aoi_det_hit *y = *(const aoi_det_hit *const *)b;

	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return x < y ? -1 : x > y; /* stable: input order on ties */
}

int aoi_metrics_det_curve(const aoi_metrics_det *d, int cls, double **rec,
			  double **prec, long *n, aoi_error *err)
{
	const aoi_det_hit **order = malloc(((size_t)d->nhits + 1) * sizeof *order);
	long npos = 0, m = 0, tp = 0;

	*rec = malloc(((size_t)d->nhits + 1) * sizeof **rec);
	*prec = malloc(((size_t)d->nhits + 1) * sizeof **prec);
	if (!order || !*rec || !*prec) {
		free(order);
		free(*rec);
		free(*prec);
		*rec = *prec = NULL;
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	}
	for (int k = 1; k < MAXC; k++)
		if (cls == 0 || k == cls)
			npos += d->npos[k];
	for (long i = 0; i < d->nhits; i++)
		if (cls == 0 || d->hits[i].cls == cls)
			order[m++] = &d->hits[i];
	qsort(order, (size_t)m, sizeof *order, hit_by_score);
	for (long i = 0; i < m; i++) {
		tp += order[i]->tp;
		(*rec)[i] = npos ? (double)tp / (double)npos : 0;
		(*prec)[i] = (double)tp / (double)(i + 1);
	}
	*n = m;
	free(order);
	return 0;
}

/* VOC 2010+ AP: the area under the precision envelope (precision made
 * monotone from the right), summed where recall changes. prec is
 * overwritten with its envelope. */
static double voc_ap(const double *rec, double *prec, long n)
{
	double ap = 0, prev_rec = 0;

	for (long i = n - 2; i >= 0; i--)
		prec[i] = fmax(prec[i], prec[i + 1]);
	for (long i = 0; i < n; i++) {
		if (rec[i] == prev_rec)
			continue;
		ap += (rec[i] - prev_rec) * prec[i];
		prev_rec = rec[i];
	}
	return ap;
}

double aoi_metrics_det_ap(const aoi_metrics_det *d, int cls)
{
	double *rec, *prec, ap;
	long n, npos = 0;

	for (int k = 1; k < MAXC; k++)
		if (cls == 0 || k == cls)
			npos += d->npos[k];
	if (npos == 0)
		return NAN;
	if (aoi_metrics_det_curve(d, cls, &rec, &prec, &n, NULL) < 0)
		return NAN;
	ap = voc_ap(rec, prec, n);
	free(rec);
	free(prec);
	return ap;
}

double aoi_metrics_det_map(const aoi_metrics_det *d)
{
	double sum = 0;
	int n = 0;

	for (int k = 1; k < MAXC; k++)
		if (d->npos[k]) {
			sum += aoi_metrics_det_ap(d, k);
			n++;
		}
	return n ? sum / n : NAN;
}
