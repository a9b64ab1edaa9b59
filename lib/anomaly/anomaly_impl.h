/* anomaly_impl.h: private to lib/anomaly: the model's layout and buffers. */
#ifndef AOI_ANOMALY_IMPL_H
#define AOI_ANOMALY_IMPL_H

#include "anomaly/anomaly.h"
#include "base/rng.h"

struct aoi_anomaly {
	aoi_anomaly_opts o;
	aoi_net *net;              /* borrowed */
	int width, height, batch;
	/* the taps: channels and grid of each */
	int tap_c[AOI_ANOMALY_MAX_TAPS], tap_h[AOI_ANOMALY_MAX_TAPS], tap_w[AOI_ANOMALY_MAX_TAPS];
	int fc;                    /* stacked channels of the taps */
	int gw, gh, grid;          /* the first tap's grid, gw x gh positions */
	int dims;                  /* feature size after reduction */
	int *chan;                 /* padim: the dims channels kept, increasing */
	/* per batch */
	float *full;               /* batch x fc x grid: aggregated, resized, stacked */
	float *tmp;                /* batch x fc x (largest tap plane) */
	float *emb;                /* batch x grid x dims: one feature per position */
	float *gscore;             /* batch x grid */
	float *maps, *blur_tmp;    /* batch x height x width each */
	float *dots;               /* patchcore: batch x grid x DOT_CHUNK */
	/* patchcore fitting: a uniform sample of the patches */
	float *pool;
	long pool_n, pool_cap, seen;
	aoi_rng rng;
	/* patchcore fitted */
	float *bank, *bank_sq;
	long nbank;
	/* padim */
	aoi_gauss *gauss;          /* grid of them while fitting */
	float *mean, *icov;        /* grid x dims, grid x dims x dims */
	int fitted;
	double threshold, scale;
};

#define AOI_ANOMALY_DOT_CHUNK 1024

/* Buffers for the batch and method (anomaly_core.c). */
int aoi_anomaly_alloc_fitted(aoi_anomaly *a, aoi_error *err);

#endif
