/* score.h: image-level scores against image-level truth, for choosing the
 * best epoch and a decision threshold: average precision, the area under
 * the ROC curve, and the threshold of the best F1.
 *
 * score[i] is image i's score (higher = more likely defective), truth[i]
 * 1 for a defective image, 0 for a good one. Equal scores form one step of
 * the curves (scikit-learn's average_precision_score and roc_auc_score).
 * Nothing here allocates except aoi_score_summary's one sort. */
#ifndef AOI_SCORE_H
#define AOI_SCORE_H

/* Average precision: the sum over thresholds (the distinct scores, high
 * to low) of (recall gained) x precision there. -1 without a positive. */
double aoi_score_ap(const double *score, const int *truth, const int *order, int n);
/* ROC area: the chance that a random defective image scores above a random
 * good one (ties count half). -1 without both kinds. */
double aoi_score_auroc(const double *score, const int *truth, const int *order, int n);
/* The threshold of the best F1 (decide defective when score >= it),
 * halfway between the lowest score taken and the next lower one, so that
 * small changes of the scores do not flip a decision. -1 without both
 * kinds. */
double aoi_score_threshold(const double *score, const int *truth, const int *order, int n);
/* order: the indices 0..n-1 sorted by descending score (ties by index). */
void aoi_score_order(const double *score, int n, int *order);
/* All three (each -1 without both kinds); 0, or -1 out of memory. */
int aoi_score_summary(const double *score, const int *truth, int n, double *ap,
		      double *auroc, double *threshold);

#endif
