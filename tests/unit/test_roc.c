/* test_roc: image-score curves and anomaly-map curves (lib/eval/roc.c)
 * against answers worked out by hand below, and PRO against a brute-force
 * reference in double precision that follows Bergmann et al.'s definition
 * threshold by threshold. */
#include "check.h"
#include "eval/metrics.h"

#include <math.h>
#include <stdlib.h>

#include "base/rng.h"

static void add_all(aoi_metrics_scores *s, const double *score, const int *pos, int n)
{
	aoi_error err;

	for (int i = 0; i < n; i++)
		CHECK(aoi_metrics_scores_add(s, score[i], pos[i], &err) == 0);
}

/* Seven images, ties between a defective and a good one at 0.8 and two
 * good ones at 0.5 (pos 3, neg 4):
 *   point  score  tp fp   ROC (fpr, tpr)
 *   0      0.9    1  0    (0, 1/3)
 *   1      0.8    2  1    (1/4, 2/3)
 *   2      0.5    2  3    (3/4, 2/3)
 *   3      0.3    3  3    (3/4, 1)
 *   4      0.1    3  4    (1, 1)
 * AUROC by trapezoids 1/8 + 1/3 + 1/4 = 17/24, which is Mann-Whitney's
 * (4 + 3.5 + 1) / 12. AP = 1/3 x 1 + 1/3 x 2/3 + 1/3 x 1/2 = 13/18.
 * F1 per point 1/2, 2/3, 1/2, 2/3, 3/5: the best is point 1 (the higher
 * of the two at 2/3), threshold (0.8 + 0.5) / 2. */
static void test_image_curve(void)
{
	static const double score[] = {0.9, 0.8, 0.8, 0.5, 0.5, 0.3, 0.1};
	static const int pos[] = {1, 0, 1, 0, 0, 1, 0};
	aoi_metrics_scores s;
	aoi_curve c;
	aoi_curve_cut cut;
	aoi_error err;

	aoi_metrics_scores_init(&s);
	add_all(&s, score, pos, 7);
	CHECK(aoi_metrics_scores_add(&s, NAN, 1, &err) < 0);
	CHECK(aoi_metrics_scores_curve(&s, &c, &err) == 0);
	CHECK_INT(c.n, 5);
	CHECK_NEAR(c.pos, 3, 0);
	CHECK_NEAR(c.neg, 4, 0);
	CHECK_NEAR(c.tp[1], 2, 0);
	CHECK_NEAR(c.fp[2], 3, 0);
	CHECK_NEAR(aoi_curve_auroc(&c), 17.0 / 24.0, 1e-12);
	CHECK_NEAR(aoi_curve_ap(&c), 13.0 / 18.0, 1e-12);
	CHECK(isnan(aoi_curve_pro(&c, 0.3))); /* no regions */

	aoi_curve_best_f1(&c, &cut);
	CHECK_INT(cut.k, 1);
	CHECK_NEAR(cut.f1, 2.0 / 3.0, 1e-12);
	CHECK_NEAR(cut.threshold, 0.65, 1e-12);
	CHECK_NEAR(cut.precision, 2.0 / 3.0, 1e-12);
	CHECK_NEAR(cut.recall, 2.0 / 3.0, 1e-12);
	CHECK_NEAR(cut.false_reject, 0.25, 1e-12);

	aoi_curve_at_recall(&c, 1.0, &cut);
	CHECK_INT(cut.k, 3);
	CHECK_NEAR(cut.threshold, 0.2, 1e-12);
	CHECK_NEAR(cut.false_reject, 0.75, 1e-12);
	aoi_curve_at_recall(&c, 0.5, &cut);
	CHECK_INT(cut.k, 1);
	CHECK_NEAR(cut.false_reject, 0.25, 1e-12);
	aoi_curve_at_recall(&c, 1.0 / 3.0, &cut);
	CHECK_INT(cut.k, 0);
	CHECK_NEAR(cut.threshold, 0.85, 1e-12);
	CHECK_NEAR(cut.false_reject, 0, 0);
	aoi_curve_at_recall(&c, 0, &cut);
	CHECK_INT(cut.k, -1);
	CHECK_NEAR(cut.threshold, 0.9, 0); /* nothing is above the top score */
	/* below the last score as far as the one before is above it */
	CHECK_NEAR(aoi_curve_threshold(&c, 4), 0.0, 1e-12);
	CHECK(isnan(aoi_curve_threshold(&c, 5)));
	aoi_curve_release(&c);
	aoi_metrics_scores_release(&s);
}

/* All scores tied: the ROC is the diagonal, the AP the share of positives.
 * One class only: AUROC undefined. Perfect order: 1. */
static void test_image_edges(void)
{
	static const double tied[] = {0.5, 0.5, 0.5, 0.5};
	static const int pos[] = {1, 0, 0, 1};
	static const double order[] = {3, 2, 1, 0};
	static const int ones[] = {1, 1, 0, 0};
	aoi_metrics_scores s;
	aoi_curve c;
	aoi_curve_cut cut;
	aoi_error err;

	aoi_metrics_scores_init(&s);
	add_all(&s, tied, pos, 4);
	CHECK(aoi_metrics_scores_curve(&s, &c, &err) == 0);
	CHECK_INT(c.n, 1);
	CHECK_NEAR(aoi_curve_auroc(&c), 0.5, 1e-12);
	CHECK_NEAR(aoi_curve_ap(&c), 0.5, 1e-12);
	CHECK_NEAR(aoi_curve_threshold(&c, 0), 0.0, 1e-12);
	aoi_curve_release(&c);
	aoi_metrics_scores_release(&s);

	aoi_metrics_scores_init(&s);
	add_all(&s, order, ones, 2); /* two defective images only */
	CHECK(aoi_metrics_scores_curve(&s, &c, &err) == 0);
	CHECK(isnan(aoi_curve_auroc(&c)));
	CHECK_NEAR(aoi_curve_ap(&c), 1.0, 1e-12);
	aoi_curve_release(&c);
	add_all(&s, order + 2, ones + 2, 2);
	CHECK(aoi_metrics_scores_curve(&s, &c, &err) == 0);
	CHECK_NEAR(aoi_curve_auroc(&c), 1.0, 1e-12);
	CHECK_NEAR(aoi_curve_ap(&c), 1.0, 1e-12);
	aoi_curve_best_f1(&c, &cut);
	CHECK_NEAR(cut.f1, 1.0, 1e-12);
	CHECK_NEAR(cut.threshold, 1.5, 1e-12);
	aoi_curve_release(&c);
	aoi_metrics_scores_release(&s);

	aoi_metrics_scores_init(&s); /* nothing at all */
	CHECK(aoi_metrics_scores_curve(&s, &c, &err) == 0);
	CHECK_INT(c.n, 0);
	CHECK(isnan(aoi_curve_auroc(&c)) && isnan(aoi_curve_ap(&c)));
	aoi_curve_best_f1(&c, &cut);
	CHECK_INT(cut.k, -1);
	CHECK(isnan(cut.f1));
	aoi_curve_release(&c);
	aoi_metrics_scores_release(&s);
}

/* One 4x4 image, scale 65535 so that a pixel's score is its value.
 * Truth: region A = (0,0) (1,0), region B = (3,3); 13 good pixels.
 * Map: A 5 and 2, B 4; good pixels 6 at (3,0), 3 at (0,2), the rest 0.
 *   score  fpr    PRO                      TPR
 *   6      1/13   0                        0
 *   5      1/13   (1/2 + 0) / 2 = 1/4      1/3
 *   4      1/13   (1/2 + 1) / 2 = 3/4      2/3
 *   3      2/13   3/4                      2/3
 *   2      2/13   1                        1
 *   0      1      1                        1
 * PRO up to 0.3: 3/4 x 1/13 + 1 x (0.3 - 2/13), over 0.3.
 * Pixel AUROC: 2/3 x 1/13 + 11/13 = 35/39 (Mann-Whitney: (12+12+11)/39). */
static void test_pro_by_hand(void)
{
	uint16_t map[16] = {0};
	aoi_mask truth;
	aoi_metrics_pixels p;
	aoi_curve c;
	aoi_error err;

	CHECK(aoi_mask_alloc(&truth, 4, 4, &err) == 0);
	truth.data[0] = truth.data[1] = 1;
	truth.data[15] = 2; /* another class: still a defect */
	map[0] = 5, map[1] = 2, map[15] = 4, map[3] = 6, map[8] = 3;
	aoi_metrics_pixels_init(&p);
	CHECK(aoi_metrics_pixels_add(&p, map, 4, 4, 65535, &truth, &err) == 0);
	CHECK(aoi_metrics_pixels_add(&p, map, 4, 3, 65535, &truth, &err) < 0);
	CHECK(err.code == AOI_ESHAPE);
	CHECK(aoi_metrics_pixels_add(&p, map, 4, 4, 0, &truth, &err) < 0);
	CHECK(aoi_metrics_pixels_curve(&p, &c, &err) == 0);
	CHECK_INT(c.regions, 2);
	CHECK_INT(c.n, 6);
	CHECK_NEAR(c.score[0], 6, 1e-9);
	CHECK_NEAR(aoi_curve_pro(&c, 0.3), (0.75 / 13 + 0.3 - 2.0 / 13) / 0.3, 1e-12);
	CHECK_NEAR(aoi_curve_auroc(&c), 35.0 / 39.0, 1e-12);
	/* up to 1/13 the curve is flat at 0 */
	CHECK_NEAR(aoi_curve_pro(&c, 0.5 / 13), 0, 1e-12);
	CHECK_NEAR(aoi_curve_pro(&c, 1), (0.75 / 13 + 11.0 / 13) / 1, 1e-12);
	aoi_curve_release(&c);
	aoi_metrics_pixels_release(&p);
	aoi_mask_release(&truth);
}

/* ---- the brute-force reference ----------------------------------------- */

enum { W = 13, H = 11, IMAGES = 5 };

/* 8-connected regions by flood fill: lab[i] = 1..n. */
static int flood(const aoi_mask *m, int *lab)
{
	int n = 0, *stack = malloc(sizeof(int) * W * H);

	for (int i = 0; i < W * H; i++)
		lab[i] = 0;
	for (int s = 0; s < W * H; s++) {
		int top = 0;

		if (!m->data[s] || lab[s])
			continue;
		lab[s] = ++n;
		stack[top++] = s;
		while (top) {
			int i = stack[--top], x = i % W, y = i / W;

			for (int dy = -1; dy <= 1; dy++)
				for (int dx = -1; dx <= 1; dx++) {
					int u = x + dx, v = y + dy, j = v * W + u;

					if (u < 0 || v < 0 || u >= W || v >= H || !m->data[j] || lab[j])
						continue;
					lab[j] = n;
					stack[top++] = j;
				}
		}
	}
	free(stack);
	return n;
}

typedef struct ref_img {
	double score[W * H];
	int lab[W * H];
	int n;
} ref_img;

/* fpr and PRO of the threshold "score >= t", straight from the definition. */
static void ref_point(const ref_img *im, double t, double *fpr, double *pro)
{
	double fp = 0, good = 0, sum = 0;
	int regions = 0;

	for (int k = 0; k < IMAGES; k++) {
		for (int i = 0; i < W * H; i++)
			if (!im[k].lab[i]) {
				good += 1;
				fp += im[k].score[i] >= t;
			}
		for (int r = 1; r <= im[k].n; r++) {
			double in = 0, size = 0;

			for (int i = 0; i < W * H; i++)
				if (im[k].lab[i] == r) {
					size += 1;
					in += im[k].score[i] >= t;
				}
			sum += in / size;
			regions++;
		}
	}
	*fpr = fp / good;
	*pro = sum / regions;
}

static int desc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x < y) - (x > y);
}

static double ref_pro(const ref_img *im, double max_fpr)
{
	double t[IMAGES * W * H], x0 = 0, y0 = 0, area = 0;
	int n = 0, m = 0;

	for (int k = 0; k < IMAGES; k++)
		for (int i = 0; i < W * H; i++)
			t[n++] = im[k].score[i];
	qsort(t, (size_t)n, sizeof *t, desc);
	for (int i = 0; i < n; i++)
		if (i == 0 || t[i] != t[i - 1])
			t[m++] = t[i];
	for (int i = 0; i <= m; i++) {
		double x = 1, y = 1;

		if (i < m)
			ref_point(im, t[i], &x, &y);
		if (x > max_fpr) {
			double yi = y0 + (y - y0) * (max_fpr - x0) / (x - x0);

			return (area + (max_fpr - x0) * (y0 + yi) / 2) / max_fpr;
		}
		area += (x - x0) * (y0 + y) / 2;
		x0 = x;
		y0 = y;
	}
	return area / max_fpr;
}

/* Random maps with many ties (few values) on two scales, random blobs as
 * truth, some images without any. */
static void test_pro_against_reference(void)
{
	static ref_img im[IMAGES];
	aoi_metrics_pixels p;
	aoi_curve c;
	aoi_error err;
	aoi_rng rng;
	uint16_t map[W * H];
	aoi_mask truth;
	long regions = 0;

	aoi_rng_seed(&rng, 5);
	aoi_metrics_pixels_init(&p);
	CHECK(aoi_mask_alloc(&truth, W, H, &err) == 0);
	for (int k = 0; k < IMAGES; k++) {
		double scale = k % 2 ? 2.0 : 3.0;

		for (int i = 0; i < W * H; i++) {
			int x = i % W, y = i / W;
			int blob = k != 2 && ((x - 3 - k) * (x - 3 - k) + (y - 4) * (y - 4) < 6 ||
					      (x > 9 && y > 7 + k % 3) || (x == 1 && y == 9));

			truth.data[i] = (uint8_t)blob;
			/* defects score higher on average, with overlap */
			map[i] = (uint16_t)(aoi_rng_below(&rng, 12) + (blob ? 5 : 0)) * 4000;
			im[k].score[i] = map[i] / 65535.0 * scale;
		}
		im[k].n = flood(&truth, im[k].lab);
		regions += im[k].n;
		CHECK(aoi_metrics_pixels_add(&p, map, W, H, scale, &truth, &err) == 0);
	}
	CHECK(aoi_metrics_pixels_curve(&p, &c, &err) == 0);
	CHECK_INT(c.regions, regions);
	CHECK(regions > 8);
	for (int i = 0; i < 4; i++) {
		double lim = (double[]){0.3, 0.05, 0.5, 1.0}[i];

		CHECK_NEAR(aoi_curve_pro(&c, lim), ref_pro(im, lim), 1e-9);
	}
	CHECK(aoi_curve_pro(&c, 0.3) > 0.2 && aoi_curve_pro(&c, 0.3) < 0.99);
	aoi_curve_release(&c);
	aoi_metrics_pixels_release(&p);
	aoi_mask_release(&truth);
}

int main(void)
{
	test_image_curve();
	test_image_edges();
	test_pro_by_hand();
	test_pro_against_reference();
	return check_done();
}
