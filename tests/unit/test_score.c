/* test_score: image-level average precision, ROC area and the best-F1
 * threshold against values worked out by hand (scikit-learn's
 * average_precision_score and roc_auc_score give the same). */
#include "check.h"
#include "train/score.h"

static void summary(const double *s, const int *t, int n, double *ap, double *auc,
		    double *thr)
{
	CHECK(aoi_score_summary(s, t, n, ap, auc, thr) == 0);
}

int main(void)
{
	double ap, auc, thr;
	const double s1[] = { 0.7, 0.9, 0.6, 0.8, 0.5 };
	const int t1[] = { 1, 1, 0, 0, 0 };
	summary(s1, t1, 5, &ap, &auc, &thr);
	CHECK_NEAR(ap, 0.5 + 0.5 * 2.0 / 3.0, 1e-12); /* ranks 1 and 3 */
	CHECK_NEAR(auc, 5.0 / 6.0, 1e-12);
	CHECK_NEAR(thr, 0.65, 1e-12);                 /* F1 0.8 taking the top three */

	const double s2[] = { 0.5, 0.5 };
	const int t2[] = { 1, 0 };
	summary(s2, t2, 2, &ap, &auc, &thr); /* a tie is one step */
	CHECK_NEAR(ap, 0.5, 1e-12);
	CHECK_NEAR(auc, 0.5, 1e-12);
	CHECK_NEAR(thr, 0.5, 1e-12);

	const double s3[] = { 0.1, 0.9, 0.2 };
	const int t3[] = { 0, 1, 0 };
	summary(s3, t3, 3, &ap, &auc, &thr);
	CHECK_NEAR(ap, 1.0, 1e-12);
	CHECK_NEAR(auc, 1.0, 1e-12);
	CHECK_NEAR(thr, 0.55, 1e-12); /* halfway to the best good image */

	const int t4[] = { 1, 1, 1 };
	summary(s3, t4, 3, &ap, &auc, &thr); /* one kind only */
	CHECK(ap == -1 && auc == -1 && thr == -1);
	summary(s3, t3, 0, &ap, &auc, &thr);
	CHECK(ap == -1);
	return check_done();
}
