/* onnx.h: ONNX models in and out (aoi-model import and export; man
 * aoi-model.1 and aoi-model.5).
 *
 * Import reads any CNN graph made of the operators aoi has (the list is in
 * aoi-model(1)) into a generic graph architecture (graph.h), with its
 * weights and batch-norm statistics; aoi_model_load() does it by itself
 * when it is given an ONNX file, recognised by its content. Export writes
 * a model (named architecture or graph) as an ONNX file that ONNX Runtime
 * runs, with the input normalisation, task and class names in
 * metadata_props.
 *
 * Ownership: *info is filled as by aoi_model_load() (release it); the net
 * belongs to the caller. Nothing is kept between calls. */
#ifndef AOI_ONNX_H
#define AOI_ONNX_H

#include <stddef.h>

#include "base/error.h"
#include "model/model.h"
#include "nn/net.h"

typedef struct aoi_onnx_import_opts {
	int input_h, input_w;  /* 0: the file's (needed when the file leaves them open) */
	int nmean, nstd;       /* how many of mean/std are given (0: from the file's
				* metadata_props, else mean 0 and std 1) */
	float mean[AOI_MODEL_MAX_CHANNELS], std[AOI_MODEL_MAX_CHANNELS];
	int task;              /* enum aoi_task, or -1: from the output's shape */
	int nclasses;          /* class names (0: the file's, else "0", "1", ...) */
	const char *const *classes;
} aoi_onnx_import_opts;

/* Defaults: everything from the file. */
void aoi_onnx_import_opts_init(aoi_onnx_import_opts *o);

/* Import the ONNX model at path (o may be NULL). */
aoi_net *aoi_onnx_import(const char *path, const aoi_onnx_import_opts *o,
			 aoi_model_info *info, aoi_error *err);
/* The same from its bytes (path names it in messages and locates external
 * data). */
aoi_net *aoi_onnx_import_buffer(const char *path, const unsigned char *buf, size_t len,
				const aoi_onnx_import_opts *o, aoi_model_info *info,
				aoi_error *err);

/* aoi-model import's lists into o: mean and std "A,B,..." (NULL: not
 * given), class names "a,b,..." kept in *names, one block the caller
 * frees after the import (NULL when none). 0, or -1 with err naming the
 * option. */
int aoi_onnx_import_opts_lists(aoi_onnx_import_opts *o, const char *mean, const char *std,
			       const char *classes, char **names, aoi_error *err);

/* aoi-model import: the ONNX file at onnx_path saved as a model file at
 * out (not written on any error). */
int aoi_onnx_import_file(const char *onnx_path, const char *out,
			 const aoi_onnx_import_opts *o, aoi_error *err);

/* Whether bytes look like an ONNX model (a protobuf message starting
 * with its ir_version, as every ONNX writer puts it first). A guess for
 * choosing the reader; the import itself checks the file. */
int aoi_onnx_probe(const unsigned char *buf, size_t len);

typedef struct aoi_onnx_export_opts {
	int opset;   /* 11 to 17; 0: 13 */
} aoi_onnx_export_opts;

/* Write net (as info describes it, not fused for inference) to path. */
int aoi_onnx_export(const char *path, const aoi_model_info *info, aoi_net *net,
		    const aoi_onnx_export_opts *o, aoi_error *err);
/* aoi-model export: the model (checkpoint, ONNX file) at path as ONNX at
 * out. */
int aoi_onnx_export_file(const char *path, const char *out, const aoi_onnx_export_opts *o,
			 aoi_error *err);

#endif
