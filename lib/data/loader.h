/* loader.h: dataset records into float NCHW batches for training and
 * inference.
 *
 * A sample is one record: its image (gray or colour), optionally its
 * aligned template stacked as extra channels, and a target: a class-index
 * mask (segmentation), a class index (classification) or keypoints
 * (regression). Images are brought to the network's input size either by
 * resizing the whole image (area filter) or, with `crop`, by cutting a
 * window of that size out of the full-size image, or out of the image
 * shrunk by `scale` (a random window when training, the centred one
 * otherwise). Pixels are normalised per channel:
 * x = (v / 255 - mean[c]) / std[c].
 *
 * Augmentation (augment.h) is drawn per sample from a stream that depends
 * only on (seed, epoch, sample index), so that a batch is the same whatever
 * the thread count or the order batches are filled in. Samples are decoded
 * in parallel (OpenMP over the batch); when the dataset fits in
 * `cache_limit` bytes the decoded, resized images are kept in memory after
 * the first epoch's read, and filling a batch from the cache allocates
 * nothing.
 *
 * Ownership: the loader keeps references to the records it is given
 * (json_incref) and copies of the strings; aoi_loader_free() drops them. */
#ifndef AOI_LOADER_H
#define AOI_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/error.h"
#include "base/rng.h"
#include "data/augment.h"
#include "data/mask.h"
#include "data/record.h"
#include "image/image.h"

#define AOI_NORM_MAX 8   /* channels: image + template, 3 + 3 at most */
#define AOI_MAX_POINTS 16

enum aoi_target {
	AOI_TARGET_MASK,   /* class-index mask, 0 = background */
	AOI_TARGET_LABEL,  /* class index of the record's "label" */
	AOI_TARGET_POINTS  /* "keypoints", in input pixels */
};

/* Per-channel normalisation, in units of v / 255. */
typedef struct aoi_norm {
	int channels;
	float mean[AOI_NORM_MAX], std[AOI_NORM_MAX];
} aoi_norm;

typedef struct aoi_loader_opts {
	int width, height;     /* network input */
	int gray;              /* 1: one channel per image, 0: three (RGB) */
	int use_template;      /* stack the record's "template" after the image */
	int crop;              /* windows of the full-size image instead of resizing */
	double scale;          /* crop: shrink images by this first (0 or 1: none) */
	enum aoi_target target;
	int npoints;           /* keypoints per record (AOI_TARGET_POINTS) */
	/* AOI_TARGET_MASK: defect classes (mask index k+1 = names[k]);
	 * AOI_TARGET_LABEL: label names (class index k = names[k]). Not owned. */
	const aoi_classes *classes;
	/* crop, training: the share of a defective sample's windows placed
	 * around one of its defect pixels (drawn uniformly), the others
	 * anywhere; 0 (the default): all anywhere */
	double defect_windows;
	int augment;           /* apply `aug` when a batch is filled for training */
	aoi_augment_opts aug;
	uint64_t seed;
	size_t cache_limit;    /* bytes of decoded images to keep; 0 = no cache */
	/* Called for every sample a batch takes (training and validation), on
	 * a copy of the decoded image (at the input size unless cropping) and
	 * its mask, before augmentation: synthetic anomalies painted on the
	 * fly (learning from good images). rng depends only on (seed, epoch,
	 * sample index), epoch 0 when not training, so validation sees the
	 * same anomalies every epoch. Called from several threads at once.
	 * NULL: none. */
	int (*paint)(void *ctx, aoi_image *img, aoi_mask *mask, aoi_rng *rng, aoi_error *err);
	void *paint_ctx;
} aoi_loader_opts;

void aoi_loader_opts_init(aoi_loader_opts *o); /* 224x224 RGB, labels, no cache */

/* A side of `size` pixels shrunk by scale (0 or 1: unchanged), >= 1. */
int aoi_loader_scaled(int size, double scale);

/* The channels of the network input under these options. */
int aoi_loader_channels(const aoi_loader_opts *o);

typedef struct aoi_loader aoi_loader;

aoi_loader *aoi_loader_new(const aoi_loader_opts *o, aoi_error *err);
void aoi_loader_free(aoi_loader *l);

/* Add a record; base is the directory its relative paths start from, where
 * and line name it in messages. Fields the target needs are checked here
 * (image path, template, label known to the classes, keypoint count), so
 * that a bad record fails before training starts. */
int aoi_loader_add(aoi_loader *l, json_t *rec, const char *base, const char *where,
		   long line, aoi_error *err);
int aoi_loader_count(const aoi_loader *l);
/* Whether sample i is defective: its label is not "good", or, without a
 * label, it has annotations. A defective label without masks, mask or
 * boxes leaves the mask unknown (AOI_MASK_UNKNOWN in batches). */
int aoi_loader_defective(const aoi_loader *l, int i);
const json_t *aoi_loader_record(const aoi_loader *l, int i);

/* Mean and standard deviation of each input channel over the samples (up to
 * `max_samples` of them, evenly spread; 0 = all), decoded without
 * augmentation. Fills the cache on the way when it is on. */
int aoi_loader_compute_norm(aoi_loader *l, int max_samples, aoi_norm *norm,
			    aoi_error *err);
void aoi_loader_set_norm(aoi_loader *l, const aoi_norm *norm);
/* Pixel counts per mask class (0 = background) over the samples, for class
 * weights; counts has classes->n + 1 entries. */
int aoi_loader_class_pixels(aoi_loader *l, double *counts, aoi_error *err);

typedef struct aoi_batch {
	int cap, n;         /* rows allocated; rows filled */
	int c, h, w;
	float *x;           /* cap x c x h x w */
	/* cap x h x w (AOI_TARGET_MASK): class indices, or AOI_MASK_UNKNOWN in
	 * every pixel of a record whose mask is not known */
	int *mask;
	int *defect;        /* cap (AOI_TARGET_MASK): 1 when the row's window
			     * shows a defect (or, mask unknown, the record is
			     * defective), else 0 */
	int *label;         /* cap (AOI_TARGET_LABEL) */
	/* cap x 2 x npoints (AOI_TARGET_POINTS): x / width, y / height of the
	 * input, so that regression targets lie in [0, 1] */
	float *points;
	/* cap x 4: original x = scale[0] * input x + scale[2], y likewise
	 * with scale[1] and scale[3] (undoes the resize or the crop) */
	float *scale;
	int *index;         /* sample index of each row */
} aoi_batch;

/* A mask pixel that counts nowhere: the losses' default ignore index. */
#define AOI_MASK_UNKNOWN (-1)

int aoi_batch_alloc(aoi_batch *b, const aoi_loader *l, int cap, aoi_error *err);
void aoi_batch_release(aoi_batch *b);

/* Fill b with the samples indices[0..n-1] (n <= b->cap; rows past n are
 * zeroed). training = 1 draws augmentation and random crops for `epoch`. */
int aoi_loader_fill(aoi_loader *l, aoi_batch *b, const int *indices, int n, int epoch,
		    int training, aoi_error *err);

/* Evaluation over whole images: an input-sized window of a sample. */
typedef struct aoi_window {
	int index;         /* the sample */
	int x0, y0;        /* origin in the image as staged (full size when
			    * cropping, negative when it is smaller: padded) */
	int own[4];        /* x0, y0, x1, y1 in window pixels: the image pixels
			    * no other window of the sample counts */
} aoi_window;

/* The windows that cover sample i, into out[max]: one (the image resized
 * to the input, or a smaller one centred in it as in training) or input-
 * sized tiles side by side, the last flush with the far edge. Decodes the
 * sample (cache filled on the way). Returns the count or -1. */
int aoi_loader_windows(aoi_loader *l, int i, aoi_window *out, int max, aoi_error *err);
/* Fill b with n windows (n <= b->cap), no augmentation. */
int aoi_loader_fill_windows(aoi_loader *l, aoi_batch *b, const aoi_window *w, int n,
			    aoi_error *err);

/* "flip,vflip,rot=15,crop=0.8,zoom=0.9:1.1,shift=0.1,bright=20,contrast=0.2"
 * into o (fields not named are left as they are). */
int aoi_loader_parse_augment(const char *spec, aoi_augment_opts *o, aoi_error *err);

/* Building blocks shared with inference. */

/* Decode a record's image (and template when tmpl is not NULL) with the
 * given channel count (1 or 3); the template must have the image's size. */
int aoi_loader_read_images(const json_t *rec, const char *base, int channels,
			   aoi_image *img, aoi_image *tmpl, aoi_error *err);
/* The w x h window at (x0, y0) of img (and tmpl, may be NULL) as planar
 * normalised floats into dst (channels of img, then of tmpl); pixels
 * outside the image replicate its border. */
void aoi_loader_to_tensor(const aoi_image *img, const aoi_image *tmpl, int x0, int y0,
			  int w, int h, const aoi_norm *norm, float *dst);

#endif
