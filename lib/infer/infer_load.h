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

#endif
