/* anomaly.h: learning from good parts only (issue 18, man/aoi-model.5).
 *
 * An anomaly model is a network (the backbone) plus what turns its
 * outputs into a per-pixel anomaly map:
 *   patchcore   features of chosen nodes ("taps"), each averaged over a
 *               patch x patch neighbourhood, the deeper ones resized to the
 *               first tap's grid and stacked; the good images' patch
 *               features form a memory bank, thinned by greedy coreset
 *               selection (Roth et al. 2022); a test patch scores its
 *               distance to the nearest bank entry.
 *   padim       the same patch features; per grid position a Gaussian
 *               (mean, covariance + 0.01 I) of the good images' features
 *               (Defard et al. 2020); a test patch scores its Mahalanobis
 *               distance.
 *   segmentation  the backbone is a segmentation network that marks
 *               anomalies itself (trained on good images with painted
 *               defects): the map is one minus its background probability.
 * The grid of scores is resized to the network input (bilinear) and
 * smoothed by a Gaussian of `sigma` input pixels; the image score is the
 * map's maximum. Inputs are whole images resized to the model's input
 * size, normalised as the backbone wants.
 *
 * Memory: fitting keeps at most `pool_max` patch features (a uniform
 * sample of all the training patches when there are more), the bank at
 * most `bank_max`; scoring holds one batch of feature maps.
 *
 * Ownership: the backbone net is borrowed (planned here for `batch`
 * inputs; fuse it for inference first when it will not train); every
 * buffer returned belongs to the aoi_anomaly and stays valid until the
 * next call on it. */
#ifndef AOI_ANOMALY_ANOMALY_H
#define AOI_ANOMALY_ANOMALY_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "model/model.h"
#include "nn/net.h"

enum aoi_anomaly_method {
	AOI_ANOMALY_PATCHCORE,
	AOI_ANOMALY_PADIM,
	AOI_ANOMALY_SEGMENTATION,
	AOI_ANOMALY_COUNT
};

#define AOI_ANOMALY_MAX_TAPS 4

const char *aoi_anomaly_method_name(enum aoi_anomaly_method m);
int aoi_anomaly_method_parse(const char *name); /* -1 when unknown */

typedef struct aoi_anomaly_opts {
	enum aoi_anomaly_method method;
	int ntaps;                 /* 0: the backbone's default taps */
	int taps[AOI_ANOMALY_MAX_TAPS]; /* node ids, increasing */
	int patch;                 /* neighbourhood averaged (3) */
	int dims;                  /* feature size kept (0: all channels; padim 100) */
	double coreset;            /* patchcore: share of the patches kept (0.01) */
	long bank_max;             /* patchcore: bank rows at most (16384) */
	long pool_max;             /* patches kept for fitting at most (262144) */
	int proj_dims;             /* coreset distances in a random projection to
				    * this many dims when the features have more (128) */
	double sigma;              /* map smoothing, input pixels (4) */
	uint64_t seed;
} aoi_anomaly_opts;

void aoi_anomaly_opts_init(aoi_anomaly_opts *o, enum aoi_anomaly_method m);

/* Node ids of "encoder.6,encoder.13" (the last node of each block) or
 * "12,40" in `spec`, increasing, into o->taps. */
int aoi_anomaly_parse_taps(const aoi_net *net, const char *spec, aoi_anomaly_opts *o,
			   aoi_error *err);
/* The default taps of a backbone: the ends of the blocks at strides 8 and
 * 16 of the input (MobileNetV2: encoder.6 and encoder.13), or the last two
 * blocks before stride 16 is passed. */
int aoi_anomaly_default_taps(const aoi_net *net, int width, int height,
			     aoi_anomaly_opts *o, aoi_error *err);

/* A backbone with random weights has batch norms that know nothing of the
 * images (mean 0, variance 1), and its deeper features fade or explode.
 * Running the good images through it in training mode first, each batch
 * norm's running statistics the plain average over the batches (batch t
 * of 0, 1, ...), brings every layer's output to about unit variance. net:
 * not fused, planned for x's batch. */
int aoi_anomaly_bn_pass(aoi_net *net, const float *x, int t, aoi_error *err);

typedef struct aoi_anomaly aoi_anomaly;

/* A model to fit: net planned here for batch inputs of width x height. */
aoi_anomaly *aoi_anomaly_new(aoi_net *net, int width, int height, int batch,
			     const aoi_anomaly_opts *o, aoi_error *err);
void aoi_anomaly_free(aoi_anomaly *a);

/* Fitting: add good images (n x C x H x W normalised inputs, n <= batch),
 * then finish (coreset, or the inverse covariances). */
int aoi_anomaly_fit_batch(aoi_anomaly *a, const float *x, int n, aoi_error *err);
int aoi_anomaly_fit_finish(aoi_anomaly *a, aoi_error *err);

/* Scoring: n images' anomaly maps (n x H x W at the input size, returned)
 * and image scores (the maps' maxima) into scores[n]. */
const float *aoi_anomaly_score(aoi_anomaly *a, const float *x, int n, float *scores,
			       aoi_error *err);

/* The decision threshold (an image whose score is above it is rejected;
 * < 0: none) and the scale of the 16-bit maps (value / 65535 x scale). */
void aoi_anomaly_set_threshold(aoi_anomaly *a, double threshold, double scale);
double aoi_anomaly_threshold(const aoi_anomaly *a);
double aoi_anomaly_scale(const aoi_anomaly *a);
enum aoi_anomaly_method aoi_anomaly_method_of(const aoi_anomaly *a);

/* What it holds, for reports. */
typedef struct aoi_anomaly_stats {
	long patches_seen;   /* patch features offered while fitting */
	long pool;           /* of them kept for fitting */
	long bank;           /* memory bank rows (patchcore) or grid positions (padim) */
	int dims;            /* feature size */
	int grid_w, grid_h;  /* feature grid */
	size_t bytes;        /* what the model file stores for the method */
} aoi_anomaly_stats;
void aoi_anomaly_get_stats(const aoi_anomaly *a, aoi_anomaly_stats *st);

/* The method into info (its "anomaly" object and extra tensors), or back:
 * the net is the backbone the model file rebuilt (borrowed, planned here
 * for batch inputs of the model's input size). */
int aoi_anomaly_to_model(const aoi_anomaly *a, aoi_model_info *info, aoi_error *err);
aoi_anomaly *aoi_anomaly_from_model(aoi_net *net, const aoi_model_info *info, int batch,
				    const char *path, aoi_error *err);

/* ---- building blocks (anomaly_math.c), public for tests ---- */

/* Greedy k-center coreset: k of the n rows of x (n x d) into out[k], the
 * first drawn from seed, each next one the row farthest (squared
 * Euclidean) from those taken; distances in a random Gaussian projection
 * to proj_dims dims when d > proj_dims > 0. Ties go to the lowest row. */
int aoi_anomaly_coreset(const float *x, size_t n, int d, size_t k, int proj_dims,
			uint64_t seed, size_t *out, aoi_error *err);

/* Per-position Gaussian statistics of d-dimensional samples. */
typedef struct aoi_gauss {
	int d;
	long n;
	double *sum, *outer;   /* d and d x d (full) */
} aoi_gauss;
int aoi_gauss_init(aoi_gauss *g, int d, aoi_error *err);
void aoi_gauss_release(aoi_gauss *g);
void aoi_gauss_add(aoi_gauss *g, const float *x, size_t stride); /* x[k * stride] */
/* mean (d) and the inverse of (unbiased covariance + eps I) (d x d). */
int aoi_gauss_finish(const aoi_gauss *g, double eps, float *mean, float *icov,
		     aoi_error *err);
/* sqrt((x - mean)' icov (x - mean)); diff is d floats of scratch. */
float aoi_gauss_mahalanobis(const float *x, size_t stride, const float *mean,
			    const float *icov, int d, float *diff);

/* In place: a separable Gaussian blur of sigma pixels (radius 3 sigma,
 * borders replicated); tmp holds w x h floats. */
void aoi_anomaly_blur(float *map, int w, int h, double sigma, float *tmp);
/* src (sw x sh) resized to dst (dw x dh), bilinear with pixel centres as
 * PyTorch's align_corners = false. */
void aoi_anomaly_resize(const float *src, int sw, int sh, float *dst, int dw, int dh);
/* A colour for t in [0, 1] (blue, cyan, green, yellow, red), for heatmaps
 * that people read. */
void aoi_anomaly_heat_rgb(double t, unsigned char rgb[3]);
/* The threshold that rejects at most a share frr of the good images'
 * scores: the ceil((1 - frr) n)-th smallest (of n >= 1). */
double aoi_anomaly_frr_threshold(const float *scores, int n, double frr);

#endif
