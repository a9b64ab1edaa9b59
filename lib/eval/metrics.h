/* metrics.h: how good a model is, computed from accumulators fed one image
 * at a time. No I/O here: the caller reads masks, labels, decisions,
 * keypoints and boxes and hands them over; results come out as numbers.
 *
 * - Segmentation (seed 004, eq. 2): a pixel confusion matrix over classes
 *   (0 = background "good"), from which per-class cumulative F1 (TP, FP, FN
 *   summed over all images before the ratio; F1 = 1 when all three are 0),
 *   IoU, mean IoU and pixel accuracy.
 * - Labels: an image-level confusion matrix over label indices.
 * - Attribute gage (seed 004): the share of each decision source's
 *   decisions that agree with the ground truth, and agreement between
 *   pairs of sources.
 * - Keypoints (seed 002): mean absolute error of the centre and of each
 *   point, mean centre distance and rotation error.
 * - Detection (DeepPCB): boxes matched to same-class truth boxes with
 *   IoU > threshold, greedy by score; precision, recall, F-score, and
 *   per-class AP (VOC all-point interpolation) and mAP.
 *
 * Every accumulator is a caller-owned struct: _init, _add per image,
 * read the results, _release. */
#ifndef AOI_METRICS_H
#define AOI_METRICS_H

#include <stdint.h>

#include "base/error.h"
#include "data/mask.h"

/* ---- segmentation ------------------------------------------------------ */

/* conf[t * AOI_METRICS_MAXC + p] counts pixels of truth class t predicted
 * as p; classes 0..ncls-1 (0 is background). */
#define AOI_METRICS_MAXC 256

typedef struct aoi_metrics_seg {
	int ncls;       /* highest class index seen + 1 (at least 1) */
	long images;
	uint64_t *conf; /* AOI_METRICS_MAXC^2 counters */
} aoi_metrics_seg;

typedef struct aoi_seg_class_result {
	uint64_t tp, fp, fn;
	double f1;  /* 2TP / (2TP + FP + FN); 1 when TP = FP = FN = 0 */
	double iou; /* TP / (TP + FP + FN); 1 when TP = FP = FN = 0 */
} aoi_seg_class_result;

int aoi_metrics_seg_init(aoi_metrics_seg *s, aoi_error *err);
void aoi_metrics_seg_release(aoi_metrics_seg *s);
/* One image: truth and pred class-index masks of the same size (else an
 * AOI_ESHAPE error, which the caller locates). */
int aoi_metrics_seg_add(aoi_metrics_seg *s, const aoi_mask *truth,
			const aoi_mask *pred, aoi_error *err);
/* Report classes 0..ncls-1 even when no image has shown them (each is
 * then F1 = IoU = 1: seed 004's rule for a class neither present nor
 * predicted). */
void aoi_metrics_seg_declare(aoi_metrics_seg *s, int ncls);
void aoi_metrics_seg_class(const aoi_metrics_seg *s, int k, aoi_seg_class_result *r);
/* Mean IoU over classes first..ncls-1 (first = 0: all, 1: defects only);
 * NAN when there is none. */
double aoi_metrics_seg_miou(const aoi_metrics_seg *s, int first);
double aoi_metrics_seg_pixel_accuracy(const aoi_metrics_seg *s); /* NAN if empty */
uint64_t aoi_metrics_seg_count(const aoi_metrics_seg *s, int truth, int pred);

/* ---- image labels ------------------------------------------------------ */

typedef struct aoi_metrics_labels {
	int n;          /* label indices 0..n-1 seen so far */
	long images;
	long *conf;     /* conf[t * AOI_METRICS_MAXC + p] */
} aoi_metrics_labels;

typedef struct aoi_binary_result {
	long tp, fp, fn, tn;
	double accuracy, precision, recall, f1; /* NAN when undefined */
} aoi_binary_result;

int aoi_metrics_labels_init(aoi_metrics_labels *l, aoi_error *err);
void aoi_metrics_labels_release(aoi_metrics_labels *l);
/* Label indices in 0..AOI_METRICS_MAXC-1. */
int aoi_metrics_labels_add(aoi_metrics_labels *l, int truth, int pred, aoi_error *err);
long aoi_metrics_labels_count(const aoi_metrics_labels *l, int truth, int pred);
double aoi_metrics_labels_accuracy(const aoi_metrics_labels *l);
/* One label against the rest: positive = `label`. */
void aoi_metrics_labels_binary(const aoi_metrics_labels *l, int label,
			       aoi_binary_result *r);
/* All labels except `negative` pooled as the positive class ("defective"
 * against "good"). */
void aoi_metrics_labels_pooled(const aoi_metrics_labels *l, int negative,
			       aoi_binary_result *r);

/* ---- attribute gage ---------------------------------------------------- */

#define AOI_METRICS_MAXSRC 32

/* Decisions: 1 reject, 0 accept, -1 none given. Source 0 is the model by
 * convention; 1.. are inspectors. */
typedef struct aoi_metrics_gage {
	int nsrc;
	long made[AOI_METRICS_MAXSRC];  /* decisions given with a truth */
	long agree[AOI_METRICS_MAXSRC]; /* of those, equal to the truth */
	long pair_both[AOI_METRICS_MAXSRC][AOI_METRICS_MAXSRC];
	long pair_agree[AOI_METRICS_MAXSRC][AOI_METRICS_MAXSRC];
	long no_truth; /* images with no truth decision */
} aoi_metrics_gage;

int aoi_metrics_gage_init(aoi_metrics_gage *g, int nsrc, aoi_error *err);
/* truth: 1/0/-1; dec[nsrc]. */
void aoi_metrics_gage_add(aoi_metrics_gage *g, int truth, const int *dec);
double aoi_metrics_gage_ag(const aoi_metrics_gage *g, int src); /* NAN if none */
/* Share of images where both sources gave a decision and they agree. */
double aoi_metrics_gage_pair(const aoi_metrics_gage *g, int a, int b);

/* ---- keypoints --------------------------------------------------------- */

#define AOI_METRICS_MAXKP 16

typedef struct aoi_metrics_kp {
	int npoints;    /* fixed by the first image */
	long images;
	double sum_centre_abs;  /* |dx| + |dy| of the centre, summed */
	double sum_centre_dist; /* Euclidean centre error, summed */
	double sum_rot_abs;     /* |rotation error| in degrees, summed */
	double sum_point_abs[AOI_METRICS_MAXKP]; /* |dx| + |dy| per point */
} aoi_metrics_kp;

void aoi_metrics_kp_init(aoi_metrics_kp *k);
/* xy[2 * i], xy[2 * i + 1] for i < n; the same n every image (else
 * AOI_ESHAPE). */
int aoi_metrics_kp_add(aoi_metrics_kp *k, const double *truth, const double *pred,
		       int n, aoi_error *err);
/* Mean absolute error over x and y (as Keras' MAE over the two coordinates). */
double aoi_metrics_kp_centre_mae(const aoi_metrics_kp *k);
double aoi_metrics_kp_centre_dist(const aoi_metrics_kp *k);
double aoi_metrics_kp_point_mae(const aoi_metrics_kp *k, int i);
double aoi_metrics_kp_rotation_mae(const aoi_metrics_kp *k);

/* The placement of a point set against a nominal one: centre offset (the
 * distance between the means, pixels) and rotation (the angle of the best
 * rigid fit of pred onto nominal about their centres, degrees in
 * (-180, 180], positive turning x towards y: clockwise on the screen). */
void aoi_placement(const double *nominal, const double *pred, int n, double *dx,
		   double *dy, double *angle_deg);

/* ---- detection --------------------------------------------------------- */

typedef struct aoi_det_box {
	double x1, y1, x2, y2; /* pixels, x2/y2 exclusive */
	int cls;               /* 1-based class index */
	double score;          /* predictions: confidence; truth: unused */
} aoi_det_box;

typedef struct aoi_det_hit {
	double score;
	int cls;
	int tp;
} aoi_det_hit;

typedef struct aoi_metrics_det {
	double iou_min;   /* a match needs IoU > iou_min (DeepPCB: 0.33) */
	long npos[AOI_METRICS_MAXC]; /* truth boxes per class */
	long ntruth, npred, ntp;
	aoi_det_hit *hits;
	long nhits, cap;
} aoi_metrics_det;

void aoi_metrics_det_init(aoi_metrics_det *d, double iou_min);
void aoi_metrics_det_release(aoi_metrics_det *d);
double aoi_box_iou(const aoi_det_box *a, const aoi_det_box *b);
/* One image: each prediction, in order of decreasing score, takes the
 * unmatched truth box of its class with the highest IoU if that IoU
 * exceeds iou_min (each truth box matched at most once). */
int aoi_metrics_det_add(aoi_metrics_det *d, const aoi_det_box *truth, int nt,
			const aoi_det_box *pred, int np, aoi_error *err);
void aoi_metrics_det_prf(const aoi_metrics_det *d, double *precision, double *recall,
			 double *fscore);
/* AP of class cls (VOC all-point interpolation); NAN when it has no truth
 * box. cls = 0: all classes pooled. */
double aoi_metrics_det_ap(const aoi_metrics_det *d, int cls);
/* Mean AP over classes that have truth boxes; NAN when none. */
double aoi_metrics_det_map(const aoi_metrics_det *d);
/* The precision-recall curve of class cls (0: all pooled) by decreasing
 * score: *n points into malloc'd *rec and *prec (caller frees both). */
int aoi_metrics_det_curve(const aoi_metrics_det *d, int cls, double **rec,
			  double **prec, long *n, aoi_error *err);

#endif
