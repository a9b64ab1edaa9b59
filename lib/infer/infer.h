/* infer.h: a trained network over dataset records, adding "pred" to each
 * (man/aoi-dataset.5).
 *
 * Segmentation: the class-index mask at the image's original size (the
 * class probabilities are resized back from the input, or the image, at
 * full resolution or shrunk by the model's scale, is cut into input-sized
 * tiles whose probabilities are averaged where they overlap and resized
 * back), written as a PNG, its pixel counts per
 * class, the mean over the image of the winning class's probability, and
 * "boxes" from the 8-connected components of the predicted defects (class
 * by majority, score = mean winning probability over the component's
 * pixels). A segmentation model with a decision head also gives "score",
 * the probability that the image is defective: the highest over its tiles
 * (each the mean over its flips), and "threshold", the model's, when it
 * stores one. Classification: "label" and "probs". Keypoints: "keypoints"
 * in original image coordinates.
 *
 * Records are processed in chunks: images decoded in parallel, the network
 * run on batches of inputs, the outputs turned into predictions in
 * parallel.
 *
 * Ensembles (seed 003 combines models): further models added with
 * aoi_infer_add() each see every image as they would alone (their own
 * input size, channels' normalisation, tiling), and the prediction is made
 * from the mean of their probabilities: per pixel at the image's original
 * size (segmentation), per class (classification); keypoints are the mean
 * of the models' points. */
#ifndef AOI_INFER_H
#define AOI_INFER_H

#include <jansson.h>

#include "base/error.h"
#include "data/loader.h"
#include "data/record.h"
#include "model/arch.h"
#include "model/model.h"
#include "nn/net.h"

/* What inference needs to know about a model. */
typedef struct aoi_infer_model {
	enum aoi_task task;
	int width, height;     /* input the network was trained at */
	int gray, use_template;
	double scale;          /* tiles: shrink images by this first (0 or 1: none) */
	aoi_norm norm;
	/* segmentation: defect classes (mask index k+1 = names[k]);
	 * classification: label names. Not owned. */
	const aoi_classes *classes;
	int npoints;           /* keypoints */
	/* the model file's header (borrowed, may be NULL): an anomaly model
	 * (info->anomaly) writes an anomaly map and score per record instead:
	 * pred.score, pred.threshold, pred.anomaly {map, scale} and
	 * pred.heatmap (man/aoi-dataset.5), maps under mask_dir */
	const aoi_model_info *info;
	const char *name;      /* the model file, named in errors (may be NULL) */
	double threshold;      /* the image-score threshold (decision head or anomaly
				* model, aoi_model_info.threshold); < 0: none */
} aoi_infer_model;

typedef struct aoi_infer_opts {
	int batch;             /* inputs per network run */
	/* 1: tile at full resolution (an image smaller than the input is
	 * centred in one tile, padded, as in training); 0: resize to the input */
	int tile;
	int overlap;           /* tile overlap in pixels; -1: auto (input / 4, <= 32) */
	const char *mask_dir;  /* segmentation masks go to DIR/ID.png; NULL: none */
	long min_area;         /* components smaller than this give no box */
	int min_box_w, min_box_h; /* nor boxes narrower or lower than these */
	int flips;             /* segmentation: also run each input mirrored left-right,
				* upside down and both, and average the four */
} aoi_infer_opts;

void aoi_infer_opts_init(aoi_infer_opts *o); /* batch 4, resize, overlap auto */

typedef struct aoi_infer aoi_infer;

/* net is borrowed (not freed by aoi_infer_free) and planned here for
 * o->batch inputs; it should already be fused for inference. */
aoi_infer *aoi_infer_new(aoi_net *net, const aoi_infer_model *m,
			 const aoi_infer_opts *o, aoi_error *err);
void aoi_infer_free(aoi_infer *inf);

/* Add a model to the ensemble of inf: net borrowed and planned as in
 * aoi_infer_new() with o (its tiling and overlap apply to this model; the
 * masks, boxes and flips of the records follow inf's options). The models
 * must agree in task, class names (in order), input channels and template,
 * keypoint count and having a decision head or not: else an AOI_EINVAL
 * error at m->name naming the first model. Input sizes may differ. The
 * decision scores are averaged; the ensemble's threshold is the mean of
 * the models' when every one stores one. */
int aoi_infer_add(aoi_infer *inf, aoi_net *net, const aoi_infer_model *m,
		  const aoi_infer_opts *o, aoi_error *err);
/* Models in the ensemble (1 without aoi_infer_add). */
int aoi_infer_models(const aoi_infer *inf);

/* One record to predict; base is the directory of its relative paths. */
typedef struct aoi_infer_item {
	json_t *rec;          /* borrowed; "pred" is set on success */
	const char *base;
	const char *where;
	long line;
	int failed;           /* set when the record could not be read */
	aoi_error err;        /* why, located at where:line */
} aoi_infer_item;

/* Predict n items. A record whose image or template cannot be read is
 * marked failed and skipped; -1 only when the network itself fails. */
int aoi_infer_run(aoi_infer *inf, aoi_infer_item *items, int n, aoi_error *err);

#endif
