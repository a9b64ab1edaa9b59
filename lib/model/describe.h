/* describe.h: what aoi-model info shows of a model: architecture, input
 * and normalisation, classes, parameter count, provenance and, on
 * request, one row per node; and running a model on raw tensors (aoi-model
 * run), to compare its outputs with another runtime's.
 *
 * Ownership: the returned JSON belongs to the caller. */
#ifndef AOI_DESCRIBE_H
#define AOI_DESCRIBE_H

#include <jansson.h>
#include <stdio.h>

#include "base/error.h"
#include "model/model.h"
#include "nn/net.h"

/* {"file", "arch", "nodes", "task", "input": {...}, "classes", "parameters",
 * "tensors", "provenance"[, "layers": [{"node", "op", "block", "inputs",
 * "output": [c, h, w], "parameters", "mflop"}]]} for a loaded model (net
 * not fused; shapes at the model's input size). */
json_t *aoi_model_describe(const char *path, const aoi_model_info *info, aoi_net *net,
			   int layers);

/* The same as aligned text. */
int aoi_model_describe_table(FILE *fp, const json_t *d, aoi_error *err);

/* Load path (model, checkpoint or ONNX) and describe it. */
json_t *aoi_model_describe_file(const char *path, int layers, aoi_error *err);

typedef struct aoi_model_run_opts {
	int threads;   /* 0: all cores */
	int exact;     /* every convolution summed directly (no Winograd) */
} aoi_model_run_opts;

/* Run the model at path (inference, fused) on raw float32 input (N x C x
 * H x W at the model's input size, N >= 1, NCHW order, the host's byte
 * order: little-endian on x86 and ARM) and write its raw output, N x the
 * output shape, to out_path (atomically). */
int aoi_model_run_file(const char *path, const char *in_path, const char *out_path,
		       const aoi_model_run_opts *o, aoi_error *err);

#endif
