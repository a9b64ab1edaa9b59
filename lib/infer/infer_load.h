/* infer_load.h: a model file made ready for inference: the network loaded
 * and fused, and what aoi_infer_new() needs to know of it (task, input
 * size, channels, normalisation, class names, keypoints, tiling) taken from
 * the file's header and provenance.
 *
 * Ownership: the struct owns the net, the model info and the class names;
 * aoi_infer_load_release() frees them. m.classes points into it. */
#ifndef AOI_INFER_LOAD_H
#define AOI_INFER_LOAD_H

#include "base/error.h"
#include "data/loader.h"
#include "infer/infer.h"
#include "model/model.h"
#include "nn/net.h"

typedef struct aoi_infer_loaded {
	const char *path;      /* borrowed: named in errors */
	aoi_model_info info;
	aoi_net *net;          /* fused for inference */
	aoi_classes classes;   /* segmentation: without "background" */
	aoi_infer_model m;
	int crop;              /* trained on crops: tiles by default */
} aoi_infer_loaded;

/* Load path into l; after an error too, release l. */
int aoi_infer_load(aoi_infer_loaded *l, const char *path, aoi_error *err);

/* --size: run a segmentation network that is not tied to one input size at
 * w x h (multiples of its architecture's step); -1 (AOI_EINVAL) otherwise. */
int aoi_infer_load_resize(aoi_infer_loaded *l, int w, int h, aoi_error *err);

void aoi_infer_load_release(aoi_infer_loaded *l);

/* How aoi_infer_open() runs its models: o as for aoi_infer_new(), but
 * o->tile < 0 tiles each model that was trained on crops (aoi-infer's
 * default); width > 0: aoi_infer_load_resize() each to width x height;
 * threads > 0: each net on that many. */
typedef struct aoi_infer_open_opts {
	aoi_infer_opts o;
	int width, height;
	int threads;
} aoi_infer_open_opts;

/* The models of paths[0..n-1] as one aoi_infer: one model alone, or the
 * ensemble of them all (aoi_infer_add()). Their loads go into l[0..n-1],
 * which the caller releases with aoi_infer_load_release() after
 * aoi_infer_free(), after an error too. */
aoi_infer *aoi_infer_open(aoi_infer_loaded *l, const char *const *paths, int n,
			  const aoi_infer_open_opts *oo, aoi_error *err);

#endif
