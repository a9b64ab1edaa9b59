/* model.h: self-describing model files and training checkpoints
 * (man/aoi-model.5).
 *
 * A file holds a fixed header (magic, format version, lengths), a JSON
 * header (architecture and options, task, input size and normalisation,
 * class names, training provenance, the table of tensors), the tensors as
 * little-endian float32 (parameters, then batch-norm state, then for a
 * checkpoint the optimiser state) and a CRC-32 of everything before it.
 * Loading rebuilds the network with aoi_arch_build() from the header and
 * checks every tensor's name and shape; any damage (truncation, a flipped
 * byte, a foreign or newer file) is an error naming the file. Files are
 * written atomically (fileio.h).
 *
 * The architecture is a named one (arch.h) or, for "graph", the generic
 * graph in info->graph (graph.h), which ONNX import makes.
 *
 * aoi_model_load() also reads an ONNX file (recognised by its content) by
 * importing it (onnx.h) with the file's own input size and normalisation.
 *
 * Ownership: aoi_model_info owns its class names, its provenance object
 * and its graph; aoi_model_info_release() frees them. Loaded nets and optimisers
 * belong to the caller. */
#ifndef AOI_MODEL_H
#define AOI_MODEL_H

#include <jansson.h>

#include "base/error.h"
#include "base/rng.h"
#include "model/arch.h"
#include "nn/net.h"
#include "nn/optim.h"

#define AOI_MODEL_MAGIC "\211AOI\r\n\032\n"
/* Files are written as version 1, or 2 when version 1 readers would fail
 * on them: a net with a decision head (which they could not rebuild), or an
 * anomaly model's description and extra tensors (which they would take for
 * a damaged file); both are read. */
#define AOI_MODEL_VERSION 2
#define AOI_MODEL_MAX_CHANNELS 64

/* A tensor a model carries beside its network's (group "extra" in the
 * file): an anomaly model's memory bank or Gaussians (lib/anomaly). */
#define AOI_MODEL_TENSOR_NAME 64
typedef struct aoi_model_tensor {
	char name[AOI_MODEL_TENSOR_NAME];
	int ndim, shape[4];
	size_t count;         /* the product of the shape */
	float *data;          /* owned by the info that holds it */
} aoi_model_tensor;

typedef struct aoi_model_info {
	char arch[64];
	aoi_arch_opts opts;   /* resolved: every field set */
	enum aoi_task task;
	int template_input;   /* in_channels = 2 x image channels: image, then template */
	float mean[AOI_MODEL_MAX_CHANNELS]; /* per input channel: x' = (x - mean) / std */
	float std[AOI_MODEL_MAX_CHANNELS];
	int nclasses;         /* class names (segmentation: index 0 = background) */
	char **classes;
	json_t *provenance;   /* object: dataset hash, epochs, metrics, date... or NULL */
	json_t *graph;        /* arch "graph": nodes, output, head (graph.h); else NULL */
	/* anomaly models (lib/anomaly): how the network's features become an
	 * anomaly map (an object, kept as it is), and the tensors it needs */
	json_t *anomaly;
	aoi_model_tensor *extra;
	int nextra;
	/* the image decision of a decision head (its probability) or an
	 * anomaly model (its score): a part whose image score is above this
	 * is rejected (aoi-classify's max_score "model"); < 0: none chosen.
	 * Decision heads choose it halfway between two validation scores, so
	 * "at least" decides the same there. */
	double threshold;
} aoi_model_info;

/* Zeroed, mean 0 and std 1 everywhere, no threshold. */
void aoi_model_info_init(aoi_model_info *info);
void aoi_model_info_release(aoi_model_info *info);
/* Fill arch, opts (resolved) and task for a name and options. */
int aoi_model_info_set_arch(aoi_model_info *info, const char *name,
			    const aoi_arch_opts *opts, aoi_error *err);
/* Make info a generic graph ("graph" architecture); takes over one
 * reference to graph. classes: the output's channels. */
int aoi_model_info_set_graph(aoi_model_info *info, json_t *graph, int in_channels,
			     int classes, int input_h, int input_w, enum aoi_task task,
			     aoi_error *err);
/* The network info describes (named or graph), not planned, parameters
 * not initialised. */
aoi_net *aoi_model_build(const aoi_model_info *info, aoi_error *err);
int aoi_model_info_set_classes(aoi_model_info *info, int n, const char *const *names,
			       aoi_error *err);
/* Takes over one reference to `obj` (a JSON object). */
void aoi_model_info_set_provenance(aoi_model_info *info, json_t *obj);

/* Takes over one reference to `obj` (a JSON object, or NULL to drop it). */
void aoi_model_info_set_anomaly(aoi_model_info *info, json_t *obj);
/* Add (or replace) an extra tensor: a copy of count = product of shape
 * floats from data. */
int aoi_model_info_add_tensor(aoi_model_info *info, const char *name, int ndim,
			      const int *shape, const float *data, aoi_error *err);
/* The extra tensor of that name, or NULL. */
const aoi_model_tensor *aoi_model_info_tensor(const aoi_model_info *info, const char *name);
/* Drop the anomaly description and every extra tensor. */
void aoi_model_info_clear_anomaly(aoi_model_info *info);

/* Write net's parameters and batch-norm state with info's header. */
int aoi_model_save(const char *path, const aoi_model_info *info, aoi_net *net,
		   aoi_error *err);
/* Read a model (or the model inside a checkpoint, or an ONNX file): fills
 * *info (release it) and returns the rebuilt net with its parameters and
 * state loaded, not planned. */
aoi_net *aoi_model_load(const char *path, aoi_model_info *info, aoi_error *err);

/* What a checkpoint adds for resuming training. */
typedef struct aoi_checkpoint {
	int epoch;          /* epochs completed */
	aoi_rng rng;
	double best_metric; /* lower is better: the validation loss, or minus the
			     * image-level AP; HUGE_VAL when none yet */
	double best_loss;   /* its validation loss, which breaks ties */
	int best_epoch;
	aoi_sched sched;
	aoi_early_stop stop;
} aoi_checkpoint;

int aoi_checkpoint_save(const char *path, const aoi_model_info *info, aoi_net *net,
			aoi_optim *opt, const aoi_checkpoint *ck, aoi_error *err);
/* The net as aoi_model_load(), plus a new optimiser with its options and
 * state (*opt, the caller frees it) and *ck. A plain model file is an
 * error here. */
aoi_net *aoi_checkpoint_load(const char *path, aoi_model_info *info, aoi_optim **opt,
			     aoi_checkpoint *ck, aoi_error *err);

/* --init: copy every parameter tensor of src whose name and shape match
 * one of dst (and the batch-norm statistics that go with it). Returns how
 * many parameter tensors were copied; *total (may be NULL) gets dst's
 * tensor count. */
int aoi_model_transfer(aoi_net *dst, aoi_net *src, int *total);

/* --init by structure (transfer.c): the layers with weights of dst whose
 * block starts with prefix ("encoder"; "" for all) take those of src in
 * order, while kind, weight shape, stride, groups and dilation agree,
 * whatever their names; batch norms with their running statistics, a bias
 * and a batch norm standing in for each other (a batch norm folded into a
 * convolution, as PyTorch exports it, comes out again as scale 1 and that
 * bias). dst_graph and src_graph describe the nets (graph.h,
 * aoi_arch_graph). Returns how many of dst's parameter tensors were
 * filled; *layers (may be NULL) gets the layers matched. */
int aoi_model_transfer_structure(aoi_net *dst, const json_t *dst_graph, const char *prefix,
				 aoi_net *src, const json_t *src_graph, int *layers);

/* CRC-32 (IEEE 802.3, as zlib's crc32()) of n bytes, continuing crc
 * (start with 0). */
unsigned long aoi_model_crc32(unsigned long crc, const void *buf, size_t n);

#endif
