/* onnx_impl.h: private to lib/model: the ONNX protobuf structures (C code
 * generated at build time by protoc-c from the onnx.proto of Debian's
 * libonnx-dev) and what the reader (onnx.c), the import (onnx_import.c)
 * and the export (onnx_export.c) share.
 *
 * Ownership: an aoi_onnx_file owns its unpacked model; tensors read from
 * it come back in malloc'd arrays the caller frees. */
#ifndef AOI_ONNX_IMPL_H
#define AOI_ONNX_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"

#include "base/error.h"

/* Opsets of the default domain the import reads. */
#define AOI_ONNX_MIN_OPSET 7
#define AOI_ONNX_MAX_OPSET 18

typedef struct aoi_onnx_file {
	const char *path;        /* for messages; borrowed */
	char dir[4096];          /* the model's folder: external data must be in it */
	Onnx__ModelProto *model;
	int opset;               /* of the default domain */
} aoi_onnx_file;

/* Read and unpack path; checks that it is an ONNX model with a graph and
 * an opset the import knows. */
int aoi_onnx_read(aoi_onnx_file *f, const char *path, aoi_error *err);
/* The same from bytes already read. */
int aoi_onnx_parse(aoi_onnx_file *f, const char *path, const unsigned char *buf,
		   size_t len, aoi_error *err);
void aoi_onnx_release(aoi_onnx_file *f);

/* A constant tensor's values, from raw_data, the typed fields or an
 * external file next to the model: floats (from float, double or integer
 * data) or 64-bit integers (from integer data). *n gets the element count,
 * which must be the product of the dims. The caller frees *out. */
int aoi_onnx_tensor_floats(const aoi_onnx_file *f, const Onnx__TensorProto *t,
			   float **out, size_t *n, aoi_error *err);
int aoi_onnx_tensor_ints(const aoi_onnx_file *f, const Onnx__TensorProto *t,
			 int64_t **out, size_t *n, aoi_error *err);

/* Attributes of a node by name (NULL when absent), and their values with
 * a default. */
const Onnx__AttributeProto *aoi_onnx_attr(const Onnx__NodeProto *n, const char *name);
int64_t aoi_onnx_attr_int(const Onnx__NodeProto *n, const char *name, int64_t dflt);
float aoi_onnx_attr_float(const Onnx__NodeProto *n, const char *name, float dflt);
/* Up to max ints; returns the count, -1 when absent. */
int aoi_onnx_attr_ints(const Onnx__NodeProto *n, const char *name, int64_t *v, int max);
/* A string attribute into buf ("" when absent). */
const char *aoi_onnx_attr_str(const Onnx__NodeProto *n, const char *name, char *buf,
			      size_t size);

/* metadata_props value for key, or NULL. */
const char *aoi_onnx_meta(const aoi_onnx_file *f, const char *key);

#endif
