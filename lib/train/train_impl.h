/* train_impl.h: private to train.c and train_val.c: the trainer and the
 * validation numbers it gathers. */
#ifndef AOI_TRAIN_IMPL_H
#define AOI_TRAIN_IMPL_H

#include "train/train.h"

/* Validation numbers accumulated over batches. */
typedef struct aoi_val_metrics {
	double loss;
	long batches;
	int k;                 /* mask classes incl. background */
	long long *confusion;  /* k x k: truth row, prediction column */
	long correct, total;   /* classification */
	double centre_err;     /* keypoints: summed centre distance */
	/* segmentation: per validation record, the highest score of its
	 * windows (the decision's probability, else the highest defect
	 * probability of a pixel) and whether it is defective */
	double *score;
	int *truth;
	int nimages;
	double image_ap, image_auroc, threshold; /* -1 when not both kinds */
} aoi_val_metrics;

struct aoi_trainer {
	aoi_net *net;
	aoi_loader *train, *val;
	aoi_train_opts o;
	aoi_optim *opt;
	aoi_checkpoint st;
	aoi_train_epoch last;
	aoi_batch batch;
	float *grad;           /* d loss / d output */
	float *bce_target;     /* mask as 0/1 for a one-channel output */
	int *order;            /* samples of the epoch's steps x batch rows */
	int *kind[2], nkind[2]; /* balanced: defective and good samples */
	int *perm;             /* balanced: scratch for a kind's round */
	aoi_window *win;       /* validation windows (segmentation) */
	int nwin;
	aoi_shape out;
	int decision;          /* the net's second output: an image decision logit */
	float *dgrad, *dtarget; /* its gradient and targets, a float per row */
	aoi_val_metrics m;
	int rows;              /* of each global batch on this process */
	int halt;              /* all processes agreed to stop (dist) */
};

/* The loss of the first `rows` rows of the output; grad may be NULL. */
double aoi_train_batch_loss(aoi_trainer *t, const float *out, int rows, float *grad,
			    aoi_error *err);
/* The decision head's loss (binary cross-entropy of its logits against
 * the rows' defect flags) over the first `rows` rows; grad may be NULL. */
double aoi_train_decision_loss(aoi_trainer *t, int rows, float *grad);
/* Whether the run has been asked to stop (all processes agree with dist). */
int aoi_train_stopped(const aoi_trainer *t);

/* train_val.c */
int aoi_train_val_alloc(aoi_trainer *t, aoi_error *err);
void aoi_train_val_free(aoi_trainer *t);
/* Validate: t->m filled; 0, -1 (error) or -2 (stopped). */
int aoi_train_validate(aoi_trainer *t, int epoch, aoi_error *err);
/* The epoch's metric for the log and the provenance (mean IoU, accuracy,
 * centre MAE), and its name. */
double aoi_train_val_metric(const aoi_trainer *t);
const char *aoi_train_val_metric_name(const aoi_trainer *t);
/* The validation numbers into an epoch's log line. */
void aoi_train_val_json(const aoi_trainer *t, json_t *line);

#endif
