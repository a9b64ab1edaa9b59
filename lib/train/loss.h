/* loss.h: training losses and their gradients.
 *
 * Every loss takes the network's raw output (logits, NCHW, as aoi_arch's
 * networks produce it), returns the mean loss (>= 0) and writes
 * d(loss)/d(output) into `grad` (same size as the output; NULL skips it).
 * On bad targets (a label outside 0..C-1 that is not the ignore label) it
 * returns -1 with err set. No call allocates.
 *
 * Means are PyTorch's: softmax cross-entropy with class weights divides by
 * the summed weight of the pixels counted (F.cross_entropy, reduction
 * "mean"); pixels labelled `ignore_index` count nowhere, and a batch
 * with no pixel counted has loss 0 and gradient 0 (PyTorch gives NaN). */
#ifndef AOI_LOSS_H
#define AOI_LOSS_H

#include <stddef.h>

#include "base/error.h"
#include "nn/net.h"

#define AOI_LOSS_MAX_CLASSES 256

enum aoi_loss_kind {
	AOI_LOSS_CE,   /* softmax cross-entropy over channels, per pixel */
	AOI_LOSS_BCE,  /* binary cross-entropy with logits, per element */
	AOI_LOSS_DICE, /* 1 - soft dice, averaged over classes */
	AOI_LOSS_IOU,  /* 1 - soft Jaccard, averaged over classes */
	AOI_LOSS_MSE,  /* mean squared error */
	AOI_LOSS_RECT, /* seed 002: MSE on the 8 corner coordinates + P~ */
	AOI_LOSS_COUNT
};

typedef struct aoi_loss_opts {
	const float *class_weight; /* C weights for CE; NULL = all 1 */
	int ignore_index;          /* label that counts nowhere; -1 = none */
	float smooth;              /* dice/IoU: added to numerator and denominator */
	int first_class;           /* dice/IoU: classes below it (background) left out */
	/* rect: the MSE term in pixels. Keypoint outputs are fractions of the
	 * input's width and height; seed 002 takes the squared error of pixel
	 * coordinates, beside which P~ (0..4, free of scale) is a small shape
	 * term. On fractions P~ outweighs the position a thousandfold and
	 * the corners come out in the right shape but at the wrong place.
	 * {width, height} of the input; {0, 0} (the default) = fractions. */
	float pixels[2];
} aoi_loss_opts;

/* ignore_index -1, smooth 1, first_class 0, no class weights */
void aoi_loss_opts_init(aoi_loss_opts *o);

/* Softmax cross-entropy: logits s.n x s.c x s.h x s.w, labels s.n x s.h x s.w. */
double aoi_loss_softmax_ce(const float *logits, const int *labels, aoi_shape s,
			   const aoi_loss_opts *o, float *grad, aoi_error *err);
/* Binary cross-entropy with logits: targets in [0, 1], n elements. */
double aoi_loss_bce(const float *logits, const float *targets, size_t n, float *grad);
/* Soft dice / soft IoU on softmax probabilities (sigmoid when s.c == 1,
 * where label != 0 is foreground), summed over the batch per class:
 * loss = mean over classes c >= first_class of 1 - (2I+smooth)/(P+T+smooth)
 * (dice) or 1 - (I+smooth)/(P+T-I+smooth) (IoU). */
double aoi_loss_dice(const float *logits, const int *labels, aoi_shape s,
		     const aoi_loss_opts *o, float *grad, aoi_error *err);
double aoi_loss_iou(const float *logits, const int *labels, aoi_shape s,
		    const aoi_loss_opts *o, float *grad, aoi_error *err);
double aoi_loss_mse(const float *pred, const float *targets, size_t n, float *grad);
/* Seed 002's perpendicularity term for n rectangles, pred n x 8 as the
 * (x, y) of c1..c4: with e1 = c3 - c1, e2 = c4 - c3, e3 = c2 - c4,
 * e4 = c2 - c1, P~ = sum over (e1,e2),(e2,e3),(e3,e4),(e4,e1) of
 * |<a,b>| / (|a||b|); returns the mean over the n rectangles. */
double aoi_loss_perp(const float *pred, int n, float *grad);
/* Seed 002's loss: MSE over the n x 8 coordinates + mean P~. */
double aoi_loss_rect(const float *pred, const float *targets, int n, float *grad);

/* A weighted sum of losses, e.g. parsed from "ce+0.5*dice". */
typedef struct aoi_loss {
	int nterms;
	enum aoi_loss_kind kind[AOI_LOSS_COUNT];
	float weight[AOI_LOSS_COUNT];
	aoi_loss_opts opts;
} aoi_loss;

typedef struct aoi_loss_target {
	const int *labels;   /* n x h x w class indices (ce, dice, iou) */
	const float *values; /* as many as the output (bce, mse, rect) */
} aoi_loss_target;

const char *aoi_loss_kind_name(enum aoi_loss_kind kind); /* "ce", "dice", ... */
/* "ce", "ce+dice", "0.5*ce+2*iou", "rect" ...; opts set to the defaults. */
int aoi_loss_parse(aoi_loss *loss, const char *spec, aoi_error *err);
/* The spec back ("1*ce+0.5*dice"), for model provenance. */
void aoi_loss_format(const aoi_loss *loss, char *buf, size_t size);
/* The weighted sum over the terms; the output has shape s (rect: s.n
 * rows of s.c*s.h*s.w = 8 values). */
double aoi_loss_eval(const aoi_loss *loss, const float *out, aoi_shape s,
		     const aoi_loss_target *t, float *grad, aoi_error *err);

#endif
