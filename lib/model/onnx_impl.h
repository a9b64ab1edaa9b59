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

#include <jansson.h>

#include "base/error.h"
#include "nn/net.h"

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

/* ---- the import: onnx_import.c (the walk), onnx_ops.c (operators into
 * graph nodes), onnx_fold.c (constants folded) ---- */

enum aoi_onnx_val_kind {
	AOI_OV_NODE = 1,  /* the output of an aoi node */
	AOI_OV_CONST,     /* a constant: initializer, Constant, or folded */
	AOI_OV_INDICES    /* the argmax indices of a max pool */
};

/* The batch dimension in folded shapes: the import does not fix it. */
#define AOI_ONNX_BATCH (-(INT64_C(1) << 62))
#define AOI_ONNX_MAX_DIMS 8

typedef struct aoi_onnx_val {
	const char *name;       /* borrowed from the model */
	int kind;
	int node;               /* NODE: the aoi node; INDICES: the max pool */
	int rank;               /* NODE: 2 (N x C) or 4 (N x C x H x W) */
	/* CONST: dims and values, floats or integers (loaded on first use
	 * for an initializer) */
	const Onnx__TensorProto *init;
	int is_int, ndim, loaded;
	int64_t dims[AOI_ONNX_MAX_DIMS];
	size_t count;
	float *f;               /* owned */
	int64_t *i;             /* owned */
} aoi_onnx_val;

typedef struct aoi_onnx_importer {
	aoi_onnx_file file;
	/* one allocation each: an op holds pointers to its inputs while it
	 * defines its outputs */
	aoi_onnx_val **vals;
	int nvals, cap;
	aoi_net *net;
	json_t *nodes;          /* the graph's "nodes" so far */
	const Onnx__NodeProto *node;   /* the node being read, for messages */
	int index;              /* its index in the graph */
	int head;               /* graph index of the node that makes the classes, -1 */
	int head_id;            /* its aoi node */
	int drop;               /* graph index of a final Softmax to drop, -1 */
	int *skip;              /* per graph node: 1 when an earlier node did its work */
	int *uses;              /* per graph node: readers of its first output */
} aoi_onnx_importer;

/* "node 'NAME' (Op): " + message, located at the file. */
int aoi_onnx_fail(aoi_onnx_importer *im, aoi_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The value of that name defined last, or NULL. */
aoi_onnx_val *aoi_onnx_find(aoi_onnx_importer *im, const char *name);
/* Input i of the node being read: NULL with err set when it is absent or
 * dangling; aoi_onnx_opt_input gives NULL without an error when the node
 * has no input i (or it is ""). */
aoi_onnx_val *aoi_onnx_input(aoi_onnx_importer *im, int i, aoi_error *err);
aoi_onnx_val *aoi_onnx_opt_input(aoi_onnx_importer *im, int i, aoi_error *err);
/* Input i as a tensor node (rank 4 unless any_rank) or as a constant
 * (values loaded). */
aoi_onnx_val *aoi_onnx_tensor(aoi_onnx_importer *im, int i, int any_rank, aoi_error *err);
aoi_onnx_val *aoi_onnx_const(aoi_onnx_importer *im, int i, aoi_error *err);
int aoi_onnx_load(aoi_onnx_importer *im, aoi_onnx_val *v, aoi_error *err);

/* Define output i of the node being read. */
aoi_onnx_val *aoi_onnx_define(aoi_onnx_importer *im, int i, int kind, int node, int rank,
			      aoi_error *err);
/* Output i as another name for v (Identity and what the import drops). */
int aoi_onnx_alias(aoi_onnx_importer *im, int i, const aoi_onnx_val *v, aoi_error *err);
/* Whether output i of the node being read is used later (or is the
 * graph's output). */
int aoi_onnx_output_used(const aoi_onnx_importer *im, int i);

/* Add a graph node (takes desc) and return its aoi id. */
int aoi_onnx_emit(aoi_onnx_importer *im, json_t *desc, aoi_error *err);
/* Fill parameter tensor k of aoi node id (n values) and a batch norm's
 * running statistics. */
int aoi_onnx_set_param(aoi_onnx_importer *im, int id, int k, const float *v, size_t n,
		       aoi_error *err);
int aoi_onnx_set_bn_state(aoi_onnx_importer *im, int id, const float *mean, const float *var,
			  int c, aoi_error *err);
aoi_shape aoi_onnx_shape(const aoi_onnx_importer *im, const aoi_onnx_val *v);

/* Fold a node whose inputs are all constants (onnx_fold.c): 1 done, 0 not
 * an op it folds, -1 error. */
int aoi_onnx_fold(aoi_onnx_importer *im, aoi_error *err);
/* Map a node onto graph nodes (onnx_ops.c): 0, or -1 (unsupported
 * operator, bad attributes, shapes that do not fit). */
int aoi_onnx_map(aoi_onnx_importer *im, aoi_error *err);
/* Whether op only passes its first input on to the output as far as
 * finding the head is concerned. */
int aoi_onnx_passes_through(const char *op);

#endif
