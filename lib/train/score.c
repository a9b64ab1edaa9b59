/* score.c: image-level average precision, ROC area and threshold
 * (score.h). */
#include "train/score.h"

#include <stdlib.h>

typedef struct ranked {
	double s;
	int i;
} ranked;

static int by_score(const void *a, const void *b)
{
	const ranked *x = a, *y = b;
	if (x->s != y->s)
		return x->s > y->s ? -1 : 1;
	return x->i - y->i;
}

void aoi_score_order(const double *score, int n, int *order)
{
	ranked *r = malloc((size_t)(n > 0 ? n : 1) * sizeof(*r));
	if (!r) { /* no order: leave the input's (the callers check nothing) */
		for (int i = 0; i < n; i++)
			order[i] = i;
		return;
	}
	for (int i = 0; i < n; i++)
		r[i] = (ranked){ score[i], i };
	qsort(r, (size_t)n, sizeof(*r), by_score);
	for (int i = 0; i < n; i++)
		order[i] = r[i].i;
	free(r);
}

static int positives(const int *truth, int n)
{
	int p = 0;
	for (int i = 0; i < n; i++)
		p += truth[i] != 0;
	return p;
}

double aoi_score_ap(const double *score, const int *truth, const int *order, int n)
{
	int pos = positives(truth, n), tp = 0, fp = 0;
	double ap = 0, last_recall = 0;
	if (pos == 0)
		return -1;
	for (int k = 0; k < n;) {
		double s = score[order[k]];
		for (; k < n && score[order[k]] == s; k++) /* one step per distinct score */
			truth[order[k]] ? tp++ : fp++;
		double recall = (double)tp / pos;
		ap += (recall - last_recall) * tp / (double)(tp + fp);
		last_recall = recall;
	}
	return ap;
}

double aoi_score_auroc(const double *score, const int *truth, const int *order, int n)
{
	int pos = positives(truth, n), neg = n - pos;
	double above = 0; /* pairs (defective, good) ordered right, ties half */
	int goods_below = neg;
	if (pos == 0 || neg == 0)
		return -1;
	for (int k = 0; k < n;) {
		double s = score[order[k]];
		int p = 0, q = 0;
		for (; k < n && score[order[k]] == s; k++)
			truth[order[k]] ? p++ : q++;
		goods_below -= q;
		above += p * (goods_below + 0.5 * q);
	}
	return above / ((double)pos * neg);
}

double aoi_score_threshold(const double *score, const int *truth, const int *order, int n)
{
	int pos = positives(truth, n), tp = 0, fp = 0;
	double best = -1, thr = -1;
	if (pos == 0 || pos == n)
		return -1;
	for (int k = 0; k < n;) {
		double s = score[order[k]];
		for (; k < n && score[order[k]] == s; k++)
			truth[order[k]] ? tp++ : fp++;
		double f1 = 2.0 * tp / (double)(tp + pos + fp);
		if (f1 > best) {
			best = f1;
			thr = k < n ? (s + score[order[k]]) / 2 : s;
		}
	}
	return thr;
}

int aoi_score_summary(const double *score, const int *truth, int n, double *ap,
		      double *auroc, double *threshold)
{
	int *order = malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
	*ap = *auroc = *threshold = -1;
	if (!order)
		return -1;
	aoi_score_order(score, n, order);
	int pos = positives(truth, n);
	if (pos > 0 && pos < n) {
		*ap = aoi_score_ap(score, truth, order, n);
		*auroc = aoi_score_auroc(score, truth, order, n);
		*threshold = aoi_score_threshold(score, truth, order, n);
	}
	free(order);
	return 0;
}
