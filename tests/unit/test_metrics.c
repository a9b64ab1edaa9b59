/* test_metrics: every figure of metrics.h on hand-made inputs whose
 * answers are worked out below. */
#include "check.h"
#include "eval/metrics.h"

#include <math.h>
#include <stdlib.h>

static void set(aoi_mask *m, int x, int y, int v)
{
	m->data[y * m->width + x] = (uint8_t)v;
}

/* Two 4x4 images (32 pixels), classes 1 = open, 2 = short.
 * Image A: truth open at (0,0) (1,0) (2,0); prediction open at (1,0)
 * (2,0) (3,0) and short at (0,3). Image B: empty truth, empty prediction.
 *   open:  TP 2, FP 1 (3,0), FN 1 (0,0)   F1 4/6, IoU 2/4
 *   short: TP 0, FP 1, FN 0                F1 0,   IoU 0
 *   good:  truth bg 29, of which predicted non-bg 2 -> TP 27, FN 2;
 *          predicted bg but truth open: (0,0) -> FP 1
 *          F1 54/57, IoU 27/30
 *   pixel accuracy (27 + 2 + 0) / 32; mean IoU (0.9 + 0.5 + 0) / 3 */
static void test_segmentation(void)
{
	aoi_metrics_seg s;
	aoi_seg_class_result r;
	aoi_mask ta = {0}, pa = {0}, tb = {0}, pb = {0}, odd = {0};
	aoi_error err;

	CHECK(aoi_metrics_seg_init(&s, &err) == 0);
	aoi_mask_alloc(&ta, 4, 4, &err);
	aoi_mask_alloc(&pa, 4, 4, &err);
	aoi_mask_alloc(&tb, 4, 4, &err);
	aoi_mask_alloc(&pb, 4, 4, &err);
	aoi_mask_alloc(&odd, 4, 3, &err);
	set(&ta, 0, 0, 1), set(&ta, 1, 0, 1), set(&ta, 2, 0, 1);
	set(&pa, 1, 0, 1), set(&pa, 2, 0, 1), set(&pa, 3, 0, 1), set(&pa, 0, 3, 2);

	/* Seed 004's rule: a class absent from truth and prediction is F1 1. */
	CHECK(aoi_metrics_seg_add(&s, &tb, &pb, &err) == 0);
	aoi_metrics_seg_class(&s, 1, &r);
	CHECK_INT(r.tp + r.fp + r.fn, 0);
	CHECK_NEAR(r.f1, 1.0, 1e-12);
	CHECK_NEAR(r.iou, 1.0, 1e-12);
	CHECK_NEAR(aoi_metrics_seg_pixel_accuracy(&s), 1.0, 1e-12);
	CHECK_INT(s.ncls, 1); /* nothing but background seen */
	aoi_metrics_seg_declare(&s, 3);
	CHECK_INT(s.ncls, 3);
	CHECK_NEAR(aoi_metrics_seg_miou(&s, 1), 1.0, 1e-12);

	CHECK(aoi_metrics_seg_add(&s, &ta, &pa, &err) == 0);
	CHECK_INT(s.images, 2);
	CHECK_INT(s.ncls, 3);
	aoi_metrics_seg_class(&s, 1, &r);
	CHECK_INT(r.tp, 2); CHECK_INT(r.fp, 1); CHECK_INT(r.fn, 1);
	CHECK_NEAR(r.f1, 4.0 / 6.0, 1e-12);
	CHECK_NEAR(r.iou, 0.5, 1e-12);
	aoi_metrics_seg_class(&s, 2, &r);
	CHECK_INT(r.tp, 0); CHECK_INT(r.fp, 1); CHECK_INT(r.fn, 0);
	CHECK_NEAR(r.f1, 0.0, 1e-12);
	aoi_metrics_seg_class(&s, 0, &r);
	CHECK_INT(r.tp, 27); CHECK_INT(r.fp, 1); CHECK_INT(r.fn, 2);
	CHECK_NEAR(r.f1, 54.0 / 57.0, 1e-12);
	CHECK_NEAR(r.iou, 0.9, 1e-12);
	CHECK_NEAR(aoi_metrics_seg_pixel_accuracy(&s), 29.0 / 32.0, 1e-12);
	CHECK_NEAR(aoi_metrics_seg_miou(&s, 0), (0.9 + 0.5 + 0.0) / 3.0, 1e-12);
	CHECK_NEAR(aoi_metrics_seg_miou(&s, 1), 0.25, 1e-12);
	CHECK_INT(aoi_metrics_seg_count(&s, 1, 1), 2);
	CHECK_INT(aoi_metrics_seg_count(&s, 0, 2), 1);

	/* sizes that disagree */
	aoi_error_clear(&err);
	CHECK(aoi_metrics_seg_add(&s, &ta, &odd, &err) < 0);
	CHECK_INT(err.code, AOI_ESHAPE);
	CHECK_INT(s.images, 2);

	aoi_mask_release(&ta), aoi_mask_release(&pa), aoi_mask_release(&tb);
	aoi_mask_release(&pb), aoi_mask_release(&odd);
	aoi_metrics_seg_release(&s);
}

/* good = 0, defective = 1; (truth, pred): (g,g) (g,d) (d,d) (d,d) (d,g).
 * Confusion [[1,1],[1,2]]; accuracy 3/5; defective vs good: TP 2, FP 1,
 * FN 1, TN 1 -> precision = recall = F1 = 2/3; good vs rest 1/2. */
static void test_labels(void)
{
	static const int t[] = {0, 0, 1, 1, 1}, p[] = {0, 1, 1, 1, 0};
	aoi_metrics_labels l;
	aoi_binary_result b;
	aoi_error err;

	CHECK(aoi_metrics_labels_init(&l, &err) == 0);
	CHECK(isnan(aoi_metrics_labels_accuracy(&l)));
	for (int i = 0; i < 5; i++)
		CHECK(aoi_metrics_labels_add(&l, t[i], p[i], &err) == 0);
	CHECK(aoi_metrics_labels_add(&l, 300, 0, &err) < 0);
	CHECK_INT(l.n, 2);
	CHECK_INT(aoi_metrics_labels_count(&l, 0, 0), 1);
	CHECK_INT(aoi_metrics_labels_count(&l, 0, 1), 1);
	CHECK_INT(aoi_metrics_labels_count(&l, 1, 0), 1);
	CHECK_INT(aoi_metrics_labels_count(&l, 1, 1), 2);
	CHECK_NEAR(aoi_metrics_labels_accuracy(&l), 0.6, 1e-12);
	aoi_metrics_labels_pooled(&l, 0, &b);
	CHECK_INT(b.tp, 2); CHECK_INT(b.fp, 1); CHECK_INT(b.fn, 1); CHECK_INT(b.tn, 1);
	CHECK_NEAR(b.precision, 2.0 / 3.0, 1e-12);
	CHECK_NEAR(b.recall, 2.0 / 3.0, 1e-12);
	CHECK_NEAR(b.f1, 2.0 / 3.0, 1e-12);
	CHECK_NEAR(b.accuracy, 0.6, 1e-12);
	aoi_metrics_labels_binary(&l, 0, &b);
	CHECK_NEAR(b.precision, 0.5, 1e-12);
	CHECK_NEAR(b.recall, 0.5, 1e-12);
	/* no "good" label at all: everything is positive */
	aoi_metrics_labels_pooled(&l, -1, &b);
	CHECK_INT(b.tp, 5); CHECK_INT(b.tn, 0);
	aoi_metrics_labels_release(&l);
}

/* Truth reject/accept per image: 1 0 1 0. Model 1 0 0 0 -> 3/4.
 * Inspector A 1 1 1 - -> 2 of 3. Inspector B 0 0 0 0 -> 2/4.
 * Model and A both decided images 0..2 and agree on image 0 only: 1/3. */
static void test_gage(void)
{
	static const int truth[] = {1, 0, 1, 0};
	static const int dec[4][3] = {{1, 1, 0}, {0, 1, 0}, {0, 1, 0}, {0, -1, 0}};
	aoi_metrics_gage g;
	aoi_error err;

	CHECK(aoi_metrics_gage_init(&g, 0, &err) < 0);
	CHECK(aoi_metrics_gage_init(&g, 3, &err) == 0);
	for (int i = 0; i < 4; i++)
		aoi_metrics_gage_add(&g, truth[i], dec[i]);
	aoi_metrics_gage_add(&g, -1, dec[0]); /* no truth: not in any AG */
	CHECK_INT(g.no_truth, 1);
	CHECK_INT(g.made[0], 4); CHECK_INT(g.agree[0], 3);
	CHECK_NEAR(aoi_metrics_gage_ag(&g, 0), 0.75, 1e-12);
	CHECK_NEAR(aoi_metrics_gage_ag(&g, 1), 2.0 / 3.0, 1e-12);
	CHECK_NEAR(aoi_metrics_gage_ag(&g, 2), 0.5, 1e-12);
	/* pairs count the no-truth image too: model 1, A 1 agree there */
	CHECK_NEAR(aoi_metrics_gage_pair(&g, 0, 1), 2.0 / 4.0, 1e-12);
	CHECK_NEAR(aoi_metrics_gage_pair(&g, 1, 0), 2.0 / 4.0, 1e-12);
	CHECK_NEAR(aoi_metrics_gage_pair(&g, 0, 0), 1.0, 1e-12);
}

/* Square corners; image 1 shifted by (2, -1): centre |dx|+|dy| = 3,
 * distance sqrt(5), each point 3. Image 2 turned 90 degrees about its
 * centre: centre 0, rotation 90, each point 10 + 0. Means: centre MAE
 * (3 + 0) / 4, distance sqrt(5) / 2, rotation 45, point 0 (3 + 10) / 4. */
static void test_keypoints(void)
{
	static const double sq[] = {0, 0, 10, 0, 0, 10, 10, 10};
	static const double shifted[] = {2, -1, 12, -1, 2, 9, 12, 9};
	static const double turned[] = {10, 0, 10, 10, 0, 0, 0, 10};
	aoi_metrics_kp k;
	aoi_error err;
	double dx, dy, a;

	aoi_placement(sq, turned, 4, &dx, &dy, &a);
	CHECK_NEAR(dx, 0, 1e-12); CHECK_NEAR(dy, 0, 1e-12); CHECK_NEAR(a, 90, 1e-9);
	aoi_placement(sq, shifted, 4, &dx, &dy, &a);
	CHECK_NEAR(dx, 2, 1e-12); CHECK_NEAR(dy, -1, 1e-12); CHECK_NEAR(a, 0, 1e-9);

	aoi_metrics_kp_init(&k);
	CHECK(isnan(aoi_metrics_kp_centre_mae(&k)));
	CHECK(aoi_metrics_kp_add(&k, sq, shifted, 4, &err) == 0);
	CHECK(aoi_metrics_kp_add(&k, sq, turned, 4, &err) == 0);
	CHECK(aoi_metrics_kp_add(&k, sq, turned, 3, &err) < 0);
	CHECK_INT(err.code, AOI_ESHAPE);
	CHECK_INT(k.images, 2);
	CHECK_NEAR(aoi_metrics_kp_centre_mae(&k), 0.75, 1e-12);
	CHECK_NEAR(aoi_metrics_kp_centre_dist(&k), sqrt(5.0) / 2, 1e-12);
	CHECK_NEAR(aoi_metrics_kp_rotation_mae(&k), 45, 1e-9);
	for (int i = 0; i < 4; i++)
		CHECK_NEAR(aoi_metrics_kp_point_mae(&k, i), 13.0 / 4.0, 1e-12);
}

/* Image 1: truth T1 [0,0,10,10] c1, T2 [20,20,30,30] c1, T3 [0,20,10,30] c2.
 *   P4 [0,20,10,30] c1 .95: the T3 box but class 2 -> FP
 *   P1 [0,0,10,10]  c1 .90: T1, IoU 1 -> TP
 *   P2 [1,1,11,11]  c1 .80: T1 taken (IoU 81/119), T2 0 -> FP
 *   P3 [20,20,30,25] c1 .70: T2, IoU 0.5 -> TP
 * Image 2: truth T4 [0,0,10,10] c2.
 *   P5 [0,0,10,4] c2 .60: IoU 0.4 -> TP;  P6 [5,5,8,8] c2 .50 -> FP
 * Image 3: truth T5 [0,0,100,1] c2; P7 [0,0,33,1] c2 .40: IoU exactly
 *   0.33, not above -> FP, T5 missed.
 * 5 truth, 7 predicted, 3 TP: precision 3/7, recall 3/5, F 6/12.
 * AP c1: hits FP TP FP TP of 2: precision 0 1/2 1/3 1/2, recall 0 .5 .5 1;
 *   envelope .5 everywhere -> .5 * .5 + .5 * .5 = 0.5.
 * AP c2: TP FP FP of 3: recall 1/3, precision 1 -> 1/3. mAP 5/12. */
static void test_detection(void)
{
	static const aoi_det_box t1[] = {{0, 0, 10, 10, 1, 0}, {20, 20, 30, 30, 1, 0},
					 {0, 20, 10, 30, 2, 0}};
	static const aoi_det_box p1[] = {{1, 1, 11, 11, 1, 0.8}, {0, 0, 10, 10, 1, 0.9},
					 {20, 20, 30, 25, 1, 0.7}, {0, 20, 10, 30, 1, 0.95}};
	static const aoi_det_box t2[] = {{0, 0, 10, 10, 2, 0}};
	static const aoi_det_box p2[] = {{0, 0, 10, 4, 2, 0.6}, {5, 5, 8, 8, 2, 0.5}};
	static const aoi_det_box t3[] = {{0, 0, 100, 1, 2, 0}};
	static const aoi_det_box p3[] = {{0, 0, 33, 1, 2, 0.4}};
	aoi_metrics_det d;
	aoi_error err;
	double p, r, f, *rec, *prec;
	long n;

	CHECK_NEAR(aoi_box_iou(&p1[0], &t1[0]), 81.0 / 119.0, 1e-12);
	CHECK_NEAR(aoi_box_iou(&p3[0], &t3[0]), 0.33, 1e-15);
	aoi_metrics_det_init(&d, 0.33);
	CHECK(isnan(aoi_metrics_det_map(&d)));
	CHECK(aoi_metrics_det_add(&d, t1, 3, p1, 4, &err) == 0);
	CHECK(aoi_metrics_det_add(&d, t2, 1, p2, 2, &err) == 0);
	CHECK(aoi_metrics_det_add(&d, t3, 1, p3, 1, &err) == 0);
	CHECK(aoi_metrics_det_add(&d, NULL, 0, NULL, 0, &err) == 0); /* empty image */
	CHECK_INT(d.ntruth, 5); CHECK_INT(d.npred, 7); CHECK_INT(d.ntp, 3);
	aoi_metrics_det_prf(&d, &p, &r, &f);
	CHECK_NEAR(p, 3.0 / 7.0, 1e-12);
	CHECK_NEAR(r, 0.6, 1e-12);
	CHECK_NEAR(f, 0.5, 1e-12);
	CHECK_NEAR(aoi_metrics_det_ap(&d, 1), 0.5, 1e-12);
	CHECK_NEAR(aoi_metrics_det_ap(&d, 2), 1.0 / 3.0, 1e-12);
	CHECK(isnan(aoi_metrics_det_ap(&d, 3)));
	CHECK_NEAR(aoi_metrics_det_map(&d), 5.0 / 12.0, 1e-12);

	CHECK(aoi_metrics_det_curve(&d, 1, &rec, &prec, &n, &err) == 0);
	CHECK_INT(n, 4);
	CHECK_NEAR(rec[0], 0, 1e-12); CHECK_NEAR(prec[0], 0, 1e-12);
	CHECK_NEAR(rec[1], 0.5, 1e-12); CHECK_NEAR(prec[1], 0.5, 1e-12);
	CHECK_NEAR(rec[3], 1.0, 1e-12); CHECK_NEAR(prec[3], 0.5, 1e-12);
	free(rec);
	free(prec);
	aoi_metrics_det_release(&d);
}

int main(void)
{
	test_segmentation();
	test_labels();
	test_gage();
	test_keypoints();
	test_detection();
	return check_done();
}
