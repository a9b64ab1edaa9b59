/* onnx_export.c: a model (named architecture or generic graph) as an ONNX
 * file. The graph description (graph.h) gives the layers and their
 * fields, the net the weights and batch-norm statistics; one ONNX node (or
 * two) per graph node, values named after the node ("n12"), the output
 * "output", weights after aoi's tensor names. Input normalisation, task,
 * classes and architecture go into metadata_props ("aoi.mean", ...). */
#include "model/onnx.h"
#include "model/onnx_impl.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "model/arch.h"
#include "model/graph.h"

#define DEFAULT_OPSET 13
#define MIN_OPSET 11
#define MAX_OPSET 17

/* Everything the ModelProto points to is allocated here and freed at
 * once. */
typedef struct exporter {
	void **mem;
	size_t nmem, capmem;
	Onnx__GraphProto *g;
	size_t cap_node, cap_init;
	aoi_net *net;
	const json_t *nodes;
	int nnodes, opset, fail;
	char **names;     /* per aoi node: its value */
	int *rank;        /* per aoi node: 2 or 4 */
	int *indices;     /* per aoi node: a max pool whose indices are read */
	float *state;     /* batch-norm running statistics, in node order */
	size_t state_used;
	const char *path;
	aoi_error *err;
} exporter;

/* ---- memory ---- */

static void *ex_alloc(exporter *ex, size_t n)
{
	void *p;

	if (ex->nmem == ex->capmem) {
		size_t cap = ex->capmem ? 2 * ex->capmem : 256;
		void **m = realloc(ex->mem, sizeof *m * cap);
		if (!m) {
			ex->fail = 1;
			return NULL;
		}
		ex->mem = m;
		ex->capmem = cap;
	}
	if (!(p = calloc(1, n ? n : 1))) {
		ex->fail = 1;
		return NULL;
	}
	ex->mem[ex->nmem++] = p;
	return p;
}

static char *ex_str(exporter *ex, const char *s)
{
	char *p = ex_alloc(ex, strlen(s) + 1);

	if (p)
		memcpy(p, s, strlen(s) + 1);
	return p;
}

static void ex_release(exporter *ex)
{
	for (size_t i = 0; i < ex->nmem; i++)
		free(ex->mem[i]);
	free(ex->mem);
}

/* Append p to a growing array of pointers (*arr, *n, *cap). */
static int push(exporter *ex, void ***arr, size_t *n, size_t *cap, void *p)
{
	if (!p)
		return -1;
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 64;
		void **a = ex_alloc(ex, sizeof *a * nc);
		if (!a)
			return -1;
		if (*n)
			memcpy(a, *arr, sizeof *a * *n);
		*arr = a;
		*cap = nc;
	}
	(*arr)[(*n)++] = p;
	return 0;
}

/* ---- attributes ---- */

static Onnx__AttributeProto *attr_new(exporter *ex, const char *name)
{
	Onnx__AttributeProto *a = ex_alloc(ex, sizeof *a);

	if (!a)
		return NULL;
	onnx__attribute_proto__init(a);
	a->name = ex_str(ex, name);
	a->has_type = 1;
	return a;
}

static Onnx__AttributeProto *attr_int(exporter *ex, const char *name, int64_t v)
{
	Onnx__AttributeProto *a = attr_new(ex, name);

	if (a) {
		a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
		a->has_i = 1;
		a->i = v;
	}
	return a;
}

static Onnx__AttributeProto *attr_float(exporter *ex, const char *name, float v)
{
	Onnx__AttributeProto *a = attr_new(ex, name);

	if (a) {
		a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
		a->has_f = 1;
		a->f = v;
	}
	return a;
}

/* An ints attribute of n copies of v (n 2) or of the 4 pads. */
static Onnx__AttributeProto *attr_ints(exporter *ex, const char *name, int n, int64_t v)
{
	Onnx__AttributeProto *a = attr_new(ex, name);

	if (a && (a->ints = ex_alloc(ex, sizeof(int64_t) * (size_t)n))) {
		a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
		a->n_ints = (size_t)n;
		for (int i = 0; i < n; i++)
			a->ints[i] = v;
	}
	return a;
}

static Onnx__AttributeProto *attr_str(exporter *ex, const char *name, const char *v)
{
	Onnx__AttributeProto *a = attr_new(ex, name);

	if (a) {
		a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
		a->has_s = 1;
		a->s.data = (uint8_t *)ex_str(ex, v);
		a->s.len = strlen(v);
	}
	return a;
}

/* ---- nodes and initializers ---- */

/* A node of op reading ins (NULL-terminated; "" for an absent optional
 * input) into one output (and `out2` when not NULL), with attributes. */
static Onnx__NodeProto *onnx_node(exporter *ex, const char *op, const char *name,
				  const char *const *ins, const char *out, const char *out2)
{
	Onnx__NodeProto *n = ex_alloc(ex, sizeof *n);
	size_t k = 0;

	if (!n)
		return NULL;
	onnx__node_proto__init(n);
	while (ins[k])
		k++;
	n->op_type = ex_str(ex, op);
	n->name = ex_str(ex, name);
	n->n_input = k;
	n->input = ex_alloc(ex, sizeof(char *) * (k ? k : 1));
	for (size_t i = 0; n->input && i < k; i++)
		n->input[i] = ex_str(ex, ins[i]);
	n->n_output = out2 ? 2 : 1;
	n->output = ex_alloc(ex, sizeof(char *) * 2);
	if (n->output) {
		n->output[0] = ex_str(ex, out);
		n->output[1] = out2 ? ex_str(ex, out2) : NULL;
	}
	if (push(ex, (void ***)&ex->g->node, &ex->g->n_node, &ex->cap_node, n) < 0)
		return NULL;
	return n;
}

static void add_attr(exporter *ex, Onnx__NodeProto *n, Onnx__AttributeProto *a)
{
	Onnx__AttributeProto **p;

	if (!n || !a) {
		ex->fail = 1;
		return;
	}
	if (!(p = ex_alloc(ex, sizeof *p * (n->n_attribute + 1))))
		return;
	if (n->n_attribute)
		memcpy(p, n->attribute, sizeof *p * n->n_attribute);
	p[n->n_attribute++] = a;
	n->attribute = p;
}

static int host_le(void)
{
	const uint16_t one = 1;
	unsigned char b;

	memcpy(&b, &one, 1);
	return b == 1;
}

/* An initializer of count values with the given dims; float data is
 * pointed to where it lives on a little-endian host. */
static int initializer(exporter *ex, const char *name, int dtype, const int64_t *dims,
		       int ndim, const void *data, size_t count)
{
	Onnx__TensorProto *t = ex_alloc(ex, sizeof *t);
	size_t es = dtype == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ? 8 : 4;

	if (!t)
		return -1;
	onnx__tensor_proto__init(t);
	t->name = ex_str(ex, name);
	t->has_data_type = 1;
	t->data_type = dtype;
	t->n_dims = (size_t)ndim;
	t->dims = ex_alloc(ex, sizeof(int64_t) * (size_t)(ndim ? ndim : 1));
	if (t->dims && ndim)
		memcpy(t->dims, dims, sizeof(int64_t) * (size_t)ndim);
	t->has_raw_data = 1;
	t->raw_data.len = count * es;
	if (host_le() || !count) {
		t->raw_data.data = (uint8_t *)data;
	} else {
		unsigned char *p = ex_alloc(ex, count * es);
		for (size_t i = 0; p && i < count * es; i += es)
			for (size_t b = 0; b < es; b++)
				p[i + b] = ((const unsigned char *)data)[i + es - 1 - b];
		t->raw_data.data = p;
	}
	return push(ex, (void ***)&ex->g->initializer, &ex->g->n_initializer, &ex->cap_init, t);
}

static int float_init(exporter *ex, const char *name, const int64_t *dims, int ndim,
		      const float *v, size_t n)
{
	return initializer(ex, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, dims, ndim, v, n);
}

/* A constant made here (scales, pads): its values copied. */
static int const_init(exporter *ex, const char *name, int is_int, const void *v, size_t n)
{
	void *copy = ex_alloc(ex, n * (is_int ? 8 : 4));
	int64_t dim = (int64_t)n;

	if (!copy)
		return -1;
	memcpy(copy, v, n * (is_int ? 8 : 4));
	return initializer(ex, name, is_int ? ONNX__TENSOR_PROTO__DATA_TYPE__INT64
					   : ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
			   &dim, 1, copy, n);
}

/* ---- weights ---- */

/* Parameter tensor k of aoi node id as an initializer; its name. */
static const char *param(exporter *ex, int id, int k)
{
	int nt = aoi_net_param_tensors(ex->net);

	for (int t = 0; t < nt; t++) {
		const aoi_param_info *p = aoi_net_param_info(ex->net, t);
		if (p->node != id)
			continue;
		p = aoi_net_param_info(ex->net, t + k);
		if (!p || p->node != id)
			break;
		int64_t dims[4];
		for (int i = 0; i < p->ndim; i++)
			dims[i] = p->shape[i];
		if (float_init(ex, p->name, dims, p->ndim, aoi_net_params(ex->net) + p->offset,
			       p->count) < 0)
			return NULL;
		return p->name;
	}
	ex->fail = 1;
	return NULL;
}

/* The running mean and variance of the next batch norm (c channels). */
static int bn_state(exporter *ex, const char *weight, int c, char *mean, char *var,
		    size_t size)
{
	size_t count, len = strlen(weight) > 7 ? strlen(weight) - 7 : strlen(weight);
	int64_t dim = c;

	aoi_net_state(ex->net, &count);
	if (ex->state_used + 2 * (size_t)c > count)
		return -1;
	snprintf(mean, size, "%.*s.running_mean", (int)len, weight);
	snprintf(var, size, "%.*s.running_var", (int)len, weight);
	if (float_init(ex, mean, &dim, 1, ex->state + ex->state_used, (size_t)c) < 0 ||
	    float_init(ex, var, &dim, 1, ex->state + ex->state_used + c, (size_t)c) < 0)
		return -1;
	ex->state_used += 2 * (size_t)c;
	return 0;
}

/* ---- graph nodes ---- */

typedef struct gnode {
	const json_t *js;
	const char *op;
	int id, in[8], nin;
	char name[32];       /* its output's value */
	const char *x;       /* its first input's value */
} gnode;

static int gint(const gnode *n, const char *key, int dflt)
{
	const json_t *v = json_object_get(n->js, key);

	return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

static aoi_shape shape_of(const exporter *ex, int id)
{
	aoi_node_info ni;

	aoi_net_node_info(ex->net, id, &ni);
	return ni.out;
}

static Onnx__NodeProto *simple(exporter *ex, const gnode *n, const char *op)
{
	const char *ins[] = {n->x, NULL};

	return onnx_node(ex, op, n->name, ins, n->name, NULL);
}

static void window_attrs(exporter *ex, Onnx__NodeProto *o, int k, int s, int p)
{
	add_attr(ex, o, attr_ints(ex, "kernel_shape", 2, k));
	add_attr(ex, o, attr_ints(ex, "strides", 2, s));
	add_attr(ex, o, attr_ints(ex, "pads", 4, p));
}

static int ex_conv(exporter *ex, const gnode *n, int transpose)
{
	int bias = json_is_true(json_object_get(n->js, "bias"));
	const char *w = param(ex, n->id, 0), *b = bias ? param(ex, n->id, 1) : NULL;
	const char *ins[] = {n->x, w, b, NULL};
	Onnx__NodeProto *o = onnx_node(ex, transpose ? "ConvTranspose" : "Conv", n->name, ins,
				       n->name, NULL);

	window_attrs(ex, o, gint(n, "kernel", 1), gint(n, "stride", 1), gint(n, "pad", 0));
	if (transpose) {
		add_attr(ex, o, attr_ints(ex, "output_padding", 2, gint(n, "output_pad", 0)));
	} else {
		add_attr(ex, o, attr_ints(ex, "dilations", 2, gint(n, "dilation", 1)));
		add_attr(ex, o, attr_int(ex, "group", gint(n, "groups", 1)));
	}
	return w && (!bias || b) ? 0 : -1;
}

static int ex_batchnorm(exporter *ex, const gnode *n)
{
	const char *g = param(ex, n->id, 0), *b = param(ex, n->id, 1);
	char mean[128], var[128];

	if (!g || !b || bn_state(ex, g, shape_of(ex, n->id).c, mean, var, sizeof mean) < 0)
		return -1;
	const char *ins[] = {n->x, g, b, mean, var, NULL};
	Onnx__NodeProto *o = onnx_node(ex, "BatchNormalization", n->name, ins, n->name, NULL);
	add_attr(ex, o, attr_float(ex, "epsilon", 1e-5f));
	return 0;
}

static int ex_activation(exporter *ex, const gnode *n)
{
	static const float lo = 0, hi = 6;

	if (!strcmp(n->op, "relu"))
		return simple(ex, n, "Relu") ? 0 : -1;
	if (!strcmp(n->op, "sigmoid"))
		return simple(ex, n, "Sigmoid") ? 0 : -1;
	if (!strcmp(n->op, "leaky_relu")) {
		Onnx__NodeProto *o = simple(ex, n, "LeakyRelu");
		add_attr(ex, o, attr_float(ex, "alpha", (float)json_number_value(
								json_object_get(n->js, "alpha"))));
		return 0;
	}
	/* relu6: Clip with its bounds as inputs (opset 11 on) */
	const char *ins[] = {n->x, "relu6_min", "relu6_max", NULL};
	if (!onnx_node(ex, "Clip", n->name, ins, n->name, NULL))
		return -1;
	for (size_t i = 0; i < ex->g->n_initializer; i++)
		if (!strcmp(ex->g->initializer[i]->name, "relu6_min"))
			return 0;
	return initializer(ex, "relu6_min", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, NULL, 0, &lo, 1) < 0 ||
	       initializer(ex, "relu6_max", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, NULL, 0, &hi, 1) < 0
		       ? -1 : 0;
}

static int ex_upsample(exporter *ex, const gnode *n);

static int ex_pool(exporter *ex, const gnode *n)
{
	int max = !strcmp(n->op, "maxpool");
	char idx[48];
	Onnx__NodeProto *o;
	const char *ins[] = {n->x, NULL};

	snprintf(idx, sizeof idx, "%s_indices", n->name);
	o = onnx_node(ex, max ? "MaxPool" : "AveragePool", n->name, ins, n->name,
		      max && ex->indices[n->id] ? idx : NULL);
	window_attrs(ex, o, gint(n, "kernel", 1), gint(n, "stride", 1), gint(n, "pad", 0));
	if (!max)
		add_attr(ex, o, attr_int(ex, "count_include_pad", 1));
	return o ? 0 : -1;
}

/* MaxUnpool back to the size of the pool's input, whatever the batch:
 * output_shape from a Shape of that input. */
static int ex_unpool(exporter *ex, const gnode *n)
{
	const json_t *pool = json_array_get(ex->nodes, (size_t)(n->in[1] - 1));
	int src = (int)json_integer_value(json_array_get(json_object_get(pool, "in"), 0));
	char idx[48], shape[48];
	const char *sin[] = {ex->names[src], NULL};
	const char *ins[] = {n->x, idx, shape, NULL};
	gnode p = {.js = pool};

	snprintf(idx, sizeof idx, "%s_indices", ex->names[n->in[1]]);
	snprintf(shape, sizeof shape, "%s_shape", n->name);
	if (!onnx_node(ex, "Shape", shape, sin, shape, NULL))
		return -1;
	Onnx__NodeProto *o = onnx_node(ex, "MaxUnpool", n->name, ins, n->name, NULL);
	window_attrs(ex, o, gint(&p, "kernel", 1), gint(&p, "stride", 1), gint(&p, "pad", 0));
	return o ? 0 : -1;
}

/* An adaptive average pool whose bins are all alike is an AveragePool
 * (k x k bins) or a nearest Resize (bins of one pixel, each repeated); the
 * others have no ONNX operator (at the size the model is exported for). */
static int ex_adaptive(exporter *ex, const gnode *n)
{
	aoi_shape in = shape_of(ex, n->in[0]), out = shape_of(ex, n->id);
	Onnx__NodeProto *o;
	gnode up = *n;

	if (in.h % out.h == 0 && in.w % out.w == 0 && in.h / out.h == in.w / out.w) {
		o = simple(ex, n, "AveragePool");
		window_attrs(ex, o, in.h / out.h, in.h / out.h, 0);
		return o ? 0 : -1;
	}
	if (out.h % in.h == 0 && out.w % in.w == 0 && out.h / in.h == out.w / in.w) {
		json_t *js = json_pack("{s:i, s:s}", "factor", out.h / in.h, "mode", "nearest");
		up.js = js;
		int rc = js ? ex_upsample(ex, &up) : -1;
		json_decref(js);
		return rc;
	}
	return aoi_error_set(ex->err, AOI_EINVAL, ex->path, 0,
			     "node %d: an adaptive average pool from %dx%d to %dx%d has no ONNX "
			     "operator", n->id, in.w, in.h, out.w, out.h);
}

static int ex_upsample(exporter *ex, const gnode *n)
{
	float f = (float)gint(n, "factor", 1), scales[4] = {1, 1, f, f};
	int bilinear = !strcmp(json_string_value(json_object_get(n->js, "mode")), "bilinear");
	char sc[48];
	const char *ins[] = {n->x, "resize_roi", sc, NULL};
	Onnx__NodeProto *o;

	snprintf(sc, sizeof sc, "%s_scales", n->name);
	if (const_init(ex, sc, 0, scales, 4) < 0 || !(o = onnx_node(ex, "Resize", n->name, ins,
								  n->name, NULL)))
		return -1;
	add_attr(ex, o, attr_str(ex, "mode", bilinear ? "linear" : "nearest"));
	add_attr(ex, o, attr_str(ex, "coordinate_transformation_mode",
				 bilinear ? "pytorch_half_pixel" : "asymmetric"));
	if (!bilinear)
		add_attr(ex, o, attr_str(ex, "nearest_mode", "floor"));
	for (size_t i = 0; i < ex->g->n_initializer; i++)
		if (!strcmp(ex->g->initializer[i]->name, "resize_roi"))
			return 0;
	return initializer(ex, "resize_roi", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
			   (int64_t[]){0}, 1, NULL, 0);
}

static int ex_join(exporter *ex, const gnode *n)
{
	const char *ins[9];
	Onnx__NodeProto *o;

	for (int i = 0; i < n->nin; i++)
		ins[i] = ex->names[n->in[i]];
	ins[n->nin] = NULL;
	o = onnx_node(ex, !strcmp(n->op, "add") ? "Add" : "Concat", n->name, ins, n->name, NULL);
	if (!strcmp(n->op, "concat"))
		add_attr(ex, o, attr_int(ex, "axis", 1));
	return o ? 0 : -1;
}

/* Gemm on N x features: a 4-D input is flattened first. */
static int ex_dense(exporter *ex, const gnode *n)
{
	int bias = json_is_true(json_object_get(n->js, "bias"));
	char flat[48];
	const char *x = n->x, *w = param(ex, n->id, 0), *b = bias ? param(ex, n->id, 1) : NULL;
	Onnx__NodeProto *o;

	if (ex->rank[n->in[0]] == 4) {
		const char *ins[] = {n->x, NULL};
		snprintf(flat, sizeof flat, "%s_flat", n->name);
		if (!(o = onnx_node(ex, "Flatten", flat, ins, flat, NULL)))
			return -1;
		add_attr(ex, o, attr_int(ex, "axis", 1));
		x = flat;
	}
	const char *ins[] = {x, w, b, NULL};
	o = onnx_node(ex, "Gemm", n->name, ins, n->name, NULL);
	add_attr(ex, o, attr_int(ex, "transB", 1));
	return w && (!bias || b) ? 0 : -1;
}

static int ex_pad(exporter *ex, const gnode *n)
{
	const json_t *p = json_object_get(n->js, "pads"), *v = json_object_get(n->js, "value");
	int64_t pads[8] = {0};
	float value = json_is_string(v) ? -INFINITY : (float)json_number_value(v);
	char pn[48], vn[48];
	const char *ins[] = {n->x, pn, vn, NULL};

	for (int i = 0; i < 4; i++)
		pads[(i % 2 + 2) + (i / 2) * 4] = json_integer_value(json_array_get(p, (size_t)i));
	snprintf(pn, sizeof pn, "%s_pads", n->name);
	snprintf(vn, sizeof vn, "%s_value", n->name);
	if (const_init(ex, pn, 1, pads, 8) < 0 || const_init(ex, vn, 0, &value, 1) < 0)
		return -1;
	ex->g->initializer[ex->g->n_initializer - 1]->n_dims = 0; /* a scalar */
	return onnx_node(ex, "Pad", n->name, ins, n->name, NULL) ? 0 : -1;
}

static int ex_flatten(exporter *ex, const gnode *n)
{
	Onnx__NodeProto *o = simple(ex, n, "Flatten");

	add_attr(ex, o, attr_int(ex, "axis", 1));
	return o ? 0 : -1;
}

static int ex_softmax(exporter *ex, const gnode *n)
{
	aoi_shape s = shape_of(ex, n->id);
	Onnx__NodeProto *o;

	/* before opset 13 Softmax takes everything after the axis together */
	if (ex->opset < 13 && ex->rank[n->id] == 4 && s.h * s.w > 1)
		return aoi_error_set(ex->err, AOI_EINVAL, ex->path, 0,
				     "a softmax over the channels of an image needs opset 13 or later");
	o = simple(ex, n, "Softmax");
	add_attr(ex, o, attr_int(ex, "axis", 1));
	return o ? 0 : -1;
}

/* One graph node; sets its value's name and rank. */
static int ex_node(exporter *ex, gnode *n)
{
	const char *op = n->op;
	int in0 = n->in[0], four = ex->rank[in0] == 4;

	ex->rank[n->id] = ex->rank[in0];
	if (!strcmp(op, "dropout")) { /* nothing in inference */
		ex->names[n->id] = ex->names[in0];
		return 0;
	}
	if (!strcmp(op, "flatten") || !strcmp(op, "dense"))
		ex->rank[n->id] = 2;
	else if (!four && strcmp(op, "batchnorm") && strcmp(op, "relu") && strcmp(op, "relu6") &&
		 strcmp(op, "sigmoid") && strcmp(op, "leaky_relu") && strcmp(op, "softmax") &&
		 strcmp(op, "add") && strcmp(op, "concat"))
		return aoi_error_set(ex->err, AOI_EINVAL, ex->path, 0,
				     "node %d: %s after a dense layer cannot be exported", n->id, op);
	if (!(ex->names[n->id] = ex_str(ex, n->name)))
		return -1;
	if (!strcmp(op, "conv") || !strcmp(op, "conv_transpose"))
		return ex_conv(ex, n, op[4] == '_');
	if (!strcmp(op, "batchnorm"))
		return ex_batchnorm(ex, n);
	if (!strcmp(op, "relu") || !strcmp(op, "relu6") || !strcmp(op, "sigmoid") ||
	    !strcmp(op, "leaky_relu"))
		return ex_activation(ex, n);
	if (!strcmp(op, "maxpool") || !strcmp(op, "avgpool"))
		return ex_pool(ex, n);
	if (!strcmp(op, "maxunpool"))
		return ex_unpool(ex, n);
	if (!strcmp(op, "adaptive_avgpool"))
		return ex_adaptive(ex, n);
	if (!strcmp(op, "global_avgpool"))
		return simple(ex, n, "GlobalAveragePool") ? 0 : -1;
	if (!strcmp(op, "global_maxpool"))
		return simple(ex, n, "GlobalMaxPool") ? 0 : -1;
	if (!strcmp(op, "detach")) /* a gradient matter only */
		return simple(ex, n, "Identity") ? 0 : -1;
	if (!strcmp(op, "upsample"))
		return ex_upsample(ex, n);
	if (!strcmp(op, "concat") || !strcmp(op, "add"))
		return ex_join(ex, n);
	if (!strcmp(op, "dense"))
		return ex_dense(ex, n);
	if (!strcmp(op, "flatten"))
		return ex_flatten(ex, n);
	if (!strcmp(op, "pad"))
		return ex_pad(ex, n);
	if (!strcmp(op, "softmax"))
		return ex_softmax(ex, n);
	return aoi_error_set(ex->err, AOI_EINVAL, ex->path, 0, "node %d: no ONNX for '%s'", n->id, op);
}

static int read_gnode(exporter *ex, int id, int output, gnode *n)
{
	const json_t *in;

	memset(n, 0, sizeof *n);
	n->js = json_array_get(ex->nodes, (size_t)(id - 1));
	n->op = json_string_value(json_object_get(n->js, "op"));
	n->id = id;
	in = json_object_get(n->js, "in");
	n->nin = (int)json_array_size(in);
	for (int i = 0; i < n->nin && i < 8; i++)
		n->in[i] = (int)json_integer_value(json_array_get(in, (size_t)i));
	snprintf(n->name, sizeof n->name, id == output ? "output" : "n%d", id);
	n->x = ex->names[n->in[0]];
	return n->op ? 0 : -1;
}

/* Max pools whose indices an unpool reads. */
static void mark_indices(exporter *ex)
{
	for (int id = 1; id <= ex->nnodes; id++) {
		const json_t *n = json_array_get(ex->nodes, (size_t)(id - 1));
		if (!strcmp(json_string_value(json_object_get(n, "op")), "maxunpool"))
			ex->indices[json_integer_value(json_array_get(json_object_get(n, "in"), 1))] = 1;
	}
}

static int ex_nodes(exporter *ex, int output)
{
	gnode n;

	ex->names[0] = "input";
	ex->rank[0] = 4;
	mark_indices(ex);
	for (int id = 1; id <= ex->nnodes; id++)
		if (read_gnode(ex, id, output, &n) < 0 || ex_node(ex, &n) < 0 || ex->fail)
			return -1;
	if (strcmp(ex->names[output], "output")) { /* the output was a dropout */
		const char *ins[] = {ex->names[output], NULL};
		if (!onnx_node(ex, "Identity", "output", ins, "output", NULL))
			return -1;
	}
	return 0;
}

/* ---- the model ---- */

/* N x dims (N named "batch") as a float tensor's value info. */
static Onnx__ValueInfoProto *value_info(exporter *ex, const char *name, const int *dims, int n)
{
	Onnx__ValueInfoProto *v = ex_alloc(ex, sizeof *v);
	Onnx__TypeProto *t = ex_alloc(ex, sizeof *t);
	Onnx__TypeProto__Tensor *tt = ex_alloc(ex, sizeof *tt);
	Onnx__TensorShapeProto *s = ex_alloc(ex, sizeof *s);
	Onnx__TensorShapeProto__Dimension **d = ex_alloc(ex, sizeof *d * (size_t)(n + 1));

	if (!v || !t || !tt || !s || !d)
		return NULL;
	onnx__value_info_proto__init(v);
	onnx__type_proto__init(t);
	onnx__type_proto__tensor__init(tt);
	onnx__tensor_shape_proto__init(s);
	for (int i = 0; i <= n; i++) {
		if (!(d[i] = ex_alloc(ex, sizeof **d)))
			return NULL;
		onnx__tensor_shape_proto__dimension__init(d[i]);
		d[i]->value_case = i ? ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
				     : ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
		if (i)
			d[i]->dim_value = dims[i - 1];
		else
			d[i]->dim_param = ex_str(ex, "batch");
	}
	s->n_dim = (size_t)n + 1;
	s->dim = d;
	tt->has_elem_type = 1;
	tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	tt->shape = s;
	t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	t->tensor_type = tt;
	v->name = ex_str(ex, name);
	v->type = t;
	return v;
}

static int io(exporter *ex, const aoi_model_info *info, int output)
{
	aoi_shape o = shape_of(ex, output);
	int in[3] = {info->opts.in_channels, info->opts.input_h, info->opts.input_w};
	int out[3] = {o.c, o.h, o.w};

	ex->g->n_input = ex->g->n_output = 1;
	ex->g->input = ex_alloc(ex, sizeof *ex->g->input);
	ex->g->output = ex_alloc(ex, sizeof *ex->g->output);
	if (!ex->g->input || !ex->g->output)
		return -1;
	ex->g->input[0] = value_info(ex, "input", in, 3);
	ex->g->output[0] = value_info(ex, "output", out, ex->rank[output] == 4 ? 3 : 1);
	return ex->g->input[0] && ex->g->output[0] ? 0 : -1;
}

static char *floats_text(exporter *ex, const float *v, int n)
{
	char *s = ex_alloc(ex, (size_t)n * 20 + 1);
	size_t used = 0;

	for (int i = 0; s && i < n; i++)
		used += (size_t)snprintf(s + used, 20, "%s%.9g", i ? "," : "", v[i]);
	return s;
}

static int meta(exporter *ex, Onnx__ModelProto *m, const char *key, char *value)
{
	Onnx__StringStringEntryProto *e = ex_alloc(ex, sizeof *e);
	size_t cap = m->n_metadata_props;

	if (!e || !value)
		return -1;
	onnx__string_string_entry_proto__init(e);
	e->key = ex_str(ex, key);
	e->value = value;
	return push(ex, (void ***)&m->metadata_props, &m->n_metadata_props, &cap, e);
}

/* aoi.arch, aoi.task, aoi.mean, aoi.std, aoi.classes (a JSON array). */
static int metadata(exporter *ex, Onnx__ModelProto *m, const aoi_model_info *info)
{
	json_t *cls = json_array();
	char *cj;
	int rc;

	for (int i = 0; i < info->nclasses; i++)
		json_array_append_new(cls, json_string(info->classes[i]));
	cj = json_dumps(cls, JSON_COMPACT);
	json_decref(cls);
	rc = meta(ex, m, "aoi.arch", ex_str(ex, info->arch)) < 0 ||
	     meta(ex, m, "aoi.task", ex_str(ex, aoi_task_name(info->task))) < 0 ||
	     meta(ex, m, "aoi.mean", floats_text(ex, info->mean, info->opts.in_channels)) < 0 ||
	     meta(ex, m, "aoi.std", floats_text(ex, info->std, info->opts.in_channels)) < 0 ||
	     meta(ex, m, "aoi.classes", cj ? ex_str(ex, cj) : NULL) < 0 ? -1 : 0;
	free(cj);
	return rc;
}

static int write_model(const char *path, Onnx__ModelProto *m, aoi_error *err)
{
	size_t n = onnx__model_proto__get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);
	aoi_atomic_file f;
	int rc = -1;

	if (!buf)
		return aoi_error_set(err, AOI_ENOMEM, path, 0, "out of memory for %zu bytes", n);
	onnx__model_proto__pack(m, buf);
	if (aoi_atomic_open(&f, path, err) == 0) {
		fwrite(buf, 1, n, f.fp);
		rc = aoi_atomic_commit(&f, err);
	}
	free(buf);
	return rc;
}

/* The graph of the model: its own, or the named network's. */
static json_t *model_graph(const aoi_model_info *info, aoi_error *err)
{
	if (info->graph)
		return aoi_graph_with_classes(info->graph, aoi_graph_head_out(info->graph)
								? info->opts.classes : 0);
	return aoi_arch_graph(info->arch, &info->opts, err);
}

static int build(exporter *ex, Onnx__ModelProto *m, const aoi_model_info *info,
		 const json_t *graph)
{
	Onnx__OperatorSetIdProto *os = ex_alloc(ex, sizeof *os);
	int output = (int)json_integer_value(json_object_get(graph, "output"));

	/* one output in the file, and a decision alone would be taken by
	 * anything reading it for the segmentation */
	if (aoi_graph_decision(graph))
		return aoi_error_set(ex->err, AOI_EINVAL, ex->path, 0,
				     "a network with a decision head (a second output) cannot be "
				     "exported to ONNX");
	ex->g = ex_alloc(ex, sizeof *ex->g);
	ex->names = ex_alloc(ex, sizeof *ex->names * (size_t)(ex->nnodes + 1));
	ex->rank = ex_alloc(ex, sizeof *ex->rank * (size_t)(ex->nnodes + 1));
	ex->indices = ex_alloc(ex, sizeof *ex->indices * (size_t)(ex->nnodes + 1));
	m->opset_import = ex_alloc(ex, sizeof *m->opset_import);
	if (!os || !ex->g || !ex->names || !ex->rank || !ex->indices || !m->opset_import)
		return aoi_error_set(ex->err, AOI_ENOMEM, ex->path, 0, "out of memory");
	onnx__graph_proto__init(ex->g);
	onnx__operator_set_id_proto__init(os);
	os->has_version = 1;
	os->version = ex->opset;
	m->opset_import[0] = os;
	m->n_opset_import = 1;
	m->has_ir_version = 1;
	m->ir_version = 8;
	m->producer_name = ex_str(ex, "aoi");
	m->producer_version = ex_str(ex, AOI_VERSION);
	m->graph = ex->g;
	ex->g->name = ex_str(ex, info->arch);
	if (ex_nodes(ex, output) < 0 || io(ex, info, output) < 0 || metadata(ex, m, info) < 0 ||
	    ex->fail)
		return ex->err && ex->err->code ? -1
						: aoi_error_set(ex->err, AOI_ENOMEM, ex->path, 0,
								"out of memory");
	return 0;
}

int aoi_onnx_export(const char *path, const aoi_model_info *info, aoi_net *net,
		    const aoi_onnx_export_opts *o, aoi_error *err)
{
	exporter ex = {0};
	Onnx__ModelProto m;
	json_t *graph;
	int rc;

	ex.opset = o && o->opset ? o->opset : DEFAULT_OPSET;
	if (ex.opset < MIN_OPSET || ex.opset > MAX_OPSET)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "opset %d: export writes %d to %d",
				     ex.opset, MIN_OPSET, MAX_OPSET);
	if (!(graph = model_graph(info, err)))
		return -1;
	if (err)
		err->code = AOI_OK;
	ex.net = net;
	ex.nodes = json_object_get(graph, "nodes");
	ex.nnodes = (int)json_array_size(ex.nodes);
	ex.state = aoi_net_state(net, NULL);
	ex.path = path;
	ex.err = err;
	onnx__model_proto__init(&m);
	if (ex.nnodes + 1 != aoi_net_node_count(net))
		rc = aoi_error_set(err, AOI_EINVAL, path, 0,
				   "the net has %d nodes, its description %d", aoi_net_node_count(net),
				   ex.nnodes + 1);
	else
		rc = build(&ex, &m, info, graph) < 0 ? -1 : write_model(path, &m, err);
	ex_release(&ex);
	json_decref(graph);
	return rc;
}

int aoi_onnx_export_file(const char *path, const char *out, const aoi_onnx_export_opts *o,
			 aoi_error *err)
{
	aoi_model_info info;
	aoi_net *net = aoi_model_load(path, &info, err);
	int rc;

	if (!net)
		return -1;
	rc = aoi_onnx_export(out, &info, net, o, err);
	aoi_net_free(net);
	aoi_model_info_release(&info);
	return rc;
}
