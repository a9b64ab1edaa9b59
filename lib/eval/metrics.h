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
 * - Image scores (roc.c): an image-level score against good/defective
 *   truth: ROC and precision-recall curves, AUROC, AP, F1 at the best
 *   threshold, the false-reject rate at a recall.
 * - Anomaly maps (roc.c): per-pixel scores against truth masks: pixel
 *   AUROC and PRO (MVTec AD's per-region overlap, Bergmann et al. 2021).
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

/* ---- image scores and anomaly maps (roc.c) ------------------------------ */

/* A curve over thresholds: one point per distinct score, highest first.
 * Point k counts what a threshold just under score[k] would flag: the
 * images (pixels) whose score is at least score[k]. Counts are doubles so
 * that pixel counts fit; they are whole numbers. */
typedef struct aoi_curve {
	long n;
	double *score;   /* decreasing */
	double *tp, *fp; /* cumulative positives and negatives flagged */
	double *overlap; /* anomaly maps: cumulative sum of 1 / region size over
			  * the flagged region pixels (PRO), else NULL */
	double pos, neg; /* all positives, all negatives */
	long regions;    /* anomaly maps: truth regions */
} aoi_curve;

void aoi_curve_release(aoi_curve *c);
/* Area under the ROC curve (false-positive rate, true-positive rate) from
 * (0, 0) through every point, by trapezoids: tied scores are one point,
 * so a tie between a positive and a negative counts a half (the
 * Mann-Whitney statistic). NAN without positives or negatives. */
double aoi_curve_auroc(const aoi_curve *c);
/* Average precision as scikit-learn's average_precision_score: the sum
 * over points of (recall_k - recall_k-1) x precision_k, no interpolation.
 * NAN without positives. */
double aoi_curve_ap(const aoi_curve *c);
/* Bergmann et al.'s PRO: the mean overlap of the flagged pixels with each
 * truth region against the false-positive rate, integrated by trapezoids
 * from 0 to max_fpr (the curve interpolated linearly at max_fpr) and
 * divided by max_fpr. NAN without regions or good pixels. */
double aoi_curve_pro(const aoi_curve *c, double max_fpr);
/* A threshold that flags points 0..k: halfway between score[k] and
 * score[k + 1]; below the last point as far as the one before it is above
 * (0.5 when there is only one). "Defective when score > threshold". */
double aoi_curve_threshold(const aoi_curve *c, long k);

/* One cut of a curve: the images flagged by a threshold. */
typedef struct aoi_curve_cut {
	long k;             /* last point flagged; -1 when the curve is empty */
	double threshold;   /* aoi_curve_threshold(c, k) */
	double tp, fp;
	double precision, recall, f1;
	double false_reject; /* fp / neg: the share of good images rejected */
} aoi_curve_cut;

/* The cut with the highest F1 (ties: the higher threshold). */
void aoi_curve_best_f1(const aoi_curve *c, aoi_curve_cut *cut);
/* The highest threshold whose recall is at least `recall` (0..1). */
void aoi_curve_at_recall(const aoi_curve *c, double recall, aoi_curve_cut *cut);

/* Image scores, collected: score (finite) and truth (1 defective). */
typedef struct aoi_metrics_scores {
	double *score;
	uint8_t *positive;
	long n, cap;
} aoi_metrics_scores;

void aoi_metrics_scores_init(aoi_metrics_scores *s);
void aoi_metrics_scores_release(aoi_metrics_scores *s);
int aoi_metrics_scores_add(aoi_metrics_scores *s, double score, int positive,
			   aoi_error *err);
/* The curve of the scores so far (a new curve the caller releases). */
int aoi_metrics_scores_curve(const aoi_metrics_scores *s, aoi_curve *c, aoi_error *err);

/* Anomaly maps: 16-bit values v, the score of a pixel v / 65535 x scale,
 * counted per value in one histogram per scale (a model writes all its
 * maps on one scale; at most AOI_METRICS_MAXSCALES different ones). */
#define AOI_METRICS_MAXSCALES 32

typedef struct aoi_pixel_hist {
	double scale;
	uint64_t *neg, *pos; /* 65536 counters each */
	double *overlap;     /* 65536: sum of 1 / region size */
} aoi_pixel_hist;

typedef struct aoi_metrics_pixels {
	aoi_pixel_hist hist[AOI_METRICS_MAXSCALES];
	int nhist;
	long images, regions;
} aoi_metrics_pixels;

void aoi_metrics_pixels_init(aoi_metrics_pixels *p);
void aoi_metrics_pixels_release(aoi_metrics_pixels *p);
/* One image: its map (width x height values) and truth mask of the same
 * size (any nonzero class is a defect; regions are the 8-connected
 * components of the defect pixels). Sizes that differ are AOI_ESHAPE; a
 * scale that is not finite and positive AOI_EINVAL. */
int aoi_metrics_pixels_add(aoi_metrics_pixels *p, const uint16_t *map, int width,
			   int height, double scale, const aoi_mask *truth, aoi_error *err);
/* The pixel curve, overlap included (a new curve the caller releases). */
int aoi_metrics_pixels_curve(const aoi_metrics_pixels *p, aoi_curve *c, aoi_error *err);

#endif
