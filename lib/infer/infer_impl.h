/* infer_impl.h: private to infer.c and infer_stage.c: a chunk of records
 * as slots (one per record) and jobs (one per network input), and the
 * steps of aoi_infer_run() that pipeline stages run apart: prepare (decode
 * and lay out jobs), fill a batch of inputs, store a batch of outputs,
 * finish (predictions into the records). */
#ifndef AOI_INFER_IMPL_H
#define AOI_INFER_IMPL_H

#include "anomaly/anomaly.h"
#include "image/image.h"
#include "data/mask.h"
#include "data/raster.h"
#include "infer/infer.h"

typedef struct aoi_infer_slot {
	aoi_image img, tmpl;   /* as decoded, shrunk by the model's scale, or resized */
	int orig_w, orig_h;
	int tiles;             /* cut into tiles (else resized to the input) */
	int pw, ph;            /* size of the probability planes: img's */
	float *prob;           /* kp x ph x pw probabilities */
	float *weight;         /* h x w tile count (tiles) */
	size_t prob_cap, weight_cap;
	float out[2 * AOI_MAX_POINTS + AOI_MAX_CLASSES + 1];
	/* segmentation results at the original size */
	aoi_mask mask;
	float *maxp;
	size_t maxp_cap;
	double mean_prob;
	double defect_prob;    /* the highest 1 - background probability */
	float *ens;            /* ensembles: kp x orig_h x orig_w probabilities,
				* summed over the models, then their mean */
	size_t ens_cap;
	long pixels[AOI_MAX_CLASSES + 1];
	aoi_component *comps;
	int ncomps;
	double *scores;
	float *amap;           /* anomaly models: the map at the original size */
	size_t amap_cap;
	float ascore;          /* and the image score */
	/* decision head: the image score (highest window), and the sum and
	 * count of the current window's flips */
	double score, win_sum;
	int win_n;
} slot;

typedef struct aoi_infer_job {
	int item, x0, y0;
	int flip;              /* bit 0: mirrored left-right; bit 1: upside down */
} job;

struct aoi_infer {
	aoi_net *net;
	aoi_infer_model m;
	aoi_infer_opts o;
	int c, k, kp;          /* input channels, output channels, probability planes */
	int decision;          /* the net's second output is an image decision logit */
	float *x;
	slot *slots;
	int nslots;
	job *jobs;
	int njobs, jobs_cap;
	aoi_anomaly *anomaly;  /* an anomaly model (infer_anomaly.c), else NULL */
	struct aoi_infer **more; /* the other models of an ensemble */
	int nmore;
};

/* infer_anomaly.c: an anomaly model's inference (m->info->anomaly set). */
aoi_infer *aoi_infer_anomaly_new(aoi_net *net, const aoi_infer_model *m,
				 const aoi_infer_opts *o, aoi_error *err);
int aoi_infer_anomaly_run(aoi_infer *inf, aoi_infer_item *items, int n, aoi_error *err);

/* Slots for n records (kept and reused between chunks). */
int aoi_infer_slots(aoi_infer *inf, int n, aoi_error *err);
/* Decode n items into their slots (failures marked on the item) and lay
 * out their jobs. */
int aoi_infer_prepare(aoi_infer *inf, aoi_infer_item *items, int n, aoi_error *err);
/* Size and clear the slot's probability planes for s->pw x s->ph (and its
 * decision score). */
int aoi_infer_size_planes(aoi_infer *inf, slot *s, aoi_error *err);
int aoi_infer_add_job(aoi_infer *inf, int item, int x0, int y0, aoi_error *err);
/* The network inputs of jobs j0..j0+m-1 into rows 0..m-1 of inf->x. */
void aoi_infer_fill_batch(aoi_infer *inf, int j0, int m);
/* Rows 0..m-1 of the network's output into the slots of jobs j0... */
void aoi_infer_store_batch(aoi_infer *inf, int j0, int m, const float *out);
/* Predictions ("pred") into the records that did not fail. */
void aoi_infer_finish(aoi_infer *inf, aoi_infer_item *items, int n);

/* What the ensemble (infer_ensemble.c) shares with infer.c. */
int aoi_infer_ensure_floats(float **buf, size_t *cap, size_t n);
int aoi_infer_averaged(const aoi_infer *inf, const slot *s);
void aoi_infer_average(const aoi_infer *inf, slot *s);
/* The probability planes of s at original pixel (x, y), kp values. */
void aoi_infer_original_probs(const aoi_infer *inf, const slot *s, int x, int y,
			      float *probs);
/* All jobs laid out by prepare through the network, in batches. */
int aoi_infer_run_jobs(aoi_infer *inf, aoi_error *err);
/* After inf's own run: every further model run over the same items, and
 * the mean of all models' outputs left in inf's slots (ens planes for
 * segmentation, out for the others). */
int aoi_infer_ensemble(aoi_infer *inf, aoi_infer_item *items, int n, aoi_error *err);

#endif
