/* onnx_import.c: an ONNX graph into aoi's generic graph architecture. The
 * nodes are read in their (topological) order: constants are folded
 * (onnx_fold.c), every other node becomes zero or more graph nodes
 * (onnx_ops.c), which are added to the net at once, so that every later
 * node sees the shapes before it. */
#include "model/onnx.h"
#include "model/onnx_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "model/graph.h"

int aoi_onnx_fail(aoi_onnx_importer *im, aoi_error *err, int code, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	const Onnx__NodeProto *n = im->node;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!n)
		return aoi_error_set(err, code, im->file.path, 0, "%s", msg);
	return aoi_error_set(err, code, im->file.path, 0, "node '%s' (%s): %s",
			     n->name && *n->name ? n->name : "(unnamed)",
			     n->op_type ? n->op_type : "?", msg);
}

/* ---- values ---- */

aoi_onnx_val *aoi_onnx_find(aoi_onnx_importer *im, const char *name)
{
	for (int i = im->nvals - 1; i >= 0; i--)
		if (strcmp(im->vals[i]->name, name) == 0)
			return im->vals[i];
	return NULL;
}

static aoi_onnx_val *new_val(aoi_onnx_importer *im, const char *name, aoi_error *err)
{
	aoi_onnx_val *v = NULL;

	if (im->nvals == im->cap) {
		int cap = im->cap ? 2 * im->cap : 256;
		aoi_onnx_val **p = realloc(im->vals, sizeof *p * (size_t)cap);
		if (p) {
			im->vals = p;
			im->cap = cap;
		}
	}
	if (im->nvals < im->cap && (v = calloc(1, sizeof *v))) {
		v->name = name;
		im->vals[im->nvals++] = v;
	} else {
		aoi_error_set(err, AOI_ENOMEM, im->file.path, 0, "out of memory");
	}
	return v;
}

aoi_onnx_val *aoi_onnx_opt_input(aoi_onnx_importer *im, int i, aoi_error *err)
{
	const Onnx__NodeProto *n = im->node;
	aoi_onnx_val *v;

	if (i >= (int)n->n_input || !n->input[i][0])
		return NULL;
	if (!(v = aoi_onnx_find(im, n->input[i])))
		aoi_onnx_fail(im, err, AOI_EFORMAT,
			      "reads '%s', which no earlier node, initializer or graph input makes",
			      n->input[i]);
	return v;
}

aoi_onnx_val *aoi_onnx_input(aoi_onnx_importer *im, int i, aoi_error *err)
{
	const Onnx__NodeProto *n = im->node;

	if (i >= (int)n->n_input || !n->input[i][0]) {
		aoi_onnx_fail(im, err, AOI_EFORMAT, "input %d is missing", i);
		return NULL;
	}
	return aoi_onnx_opt_input(im, i, err);
}

aoi_onnx_val *aoi_onnx_tensor(aoi_onnx_importer *im, int i, int any_rank, aoi_error *err)
{
	aoi_onnx_val *v = aoi_onnx_input(im, i, err);

	if (!v)
		return NULL;
	if (v->kind != AOI_OV_NODE) {
		aoi_onnx_fail(im, err, AOI_EFORMAT, "input %d ('%s') must be a tensor the network "
			      "computes, not a constant", i, v->name);
		return NULL;
	}
	if (!any_rank && v->rank != 4) {
		aoi_onnx_fail(im, err, AOI_ESHAPE, "input %d ('%s') must have 4 dimensions, not %d",
			      i, v->name, v->rank);
		return NULL;
	}
	return v;
}

int aoi_onnx_load(aoi_onnx_importer *im, aoi_onnx_val *v, aoi_error *err)
{
	const Onnx__TensorProto *t = v->init;
	int dt;

	if (v->kind != AOI_OV_CONST || v->loaded || !t)
		return 0;
	if (t->n_dims > AOI_ONNX_MAX_DIMS)
		return aoi_error_set(err, AOI_EFORMAT, im->file.path, 0,
				     "tensor '%s' has %zu dimensions", v->name, t->n_dims);
	v->ndim = (int)t->n_dims;
	if (t->n_dims) /* a scalar has no dims array */
		memcpy(v->dims, t->dims, sizeof(int64_t) * t->n_dims);
	dt = t->data_type;
	v->is_int = dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ||
		    dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
	if ((v->is_int ? aoi_onnx_tensor_ints(&im->file, t, &v->i, &v->count, err)
		       : aoi_onnx_tensor_floats(&im->file, t, &v->f, &v->count, err)) < 0)
		return -1;
	v->loaded = 1;
	return 0;
}

aoi_onnx_val *aoi_onnx_const(aoi_onnx_importer *im, int i, aoi_error *err)
{
	aoi_onnx_val *v = aoi_onnx_input(im, i, err);

	if (!v)
		return NULL;
	if (v->kind != AOI_OV_CONST) {
		aoi_onnx_fail(im, err, AOI_EFORMAT,
			      "input %d ('%s') must be a constant (weights, a shape), not computed",
			      i, v->name);
		return NULL;
	}
	return aoi_onnx_load(im, v, err) < 0 ? NULL : v;
}

aoi_onnx_val *aoi_onnx_define(aoi_onnx_importer *im, int i, int kind, int node, int rank,
			      aoi_error *err)
{
	const Onnx__NodeProto *n = im->node;
	aoi_onnx_val *v;

	if (i >= (int)n->n_output || !n->output[i][0])
		return NULL;
	if (!(v = new_val(im, n->output[i], err)))
		return NULL;
	v->kind = kind;
	v->node = node;
	v->rank = rank;
	v->loaded = 1;
	return v;
}

int aoi_onnx_alias(aoi_onnx_importer *im, int i, const aoi_onnx_val *src, aoi_error *err)
{
	const Onnx__NodeProto *n = im->node;
	aoi_onnx_val copy = *src, *v;
	size_t bytes = src->count * (src->is_int ? sizeof(int64_t) : sizeof(float));

	if (i >= (int)n->n_output || !n->output[i][0])
		return 0;
	if (src->kind == AOI_OV_CONST && src->loaded && (src->f || src->i)) {
		void *p = malloc(bytes ? bytes : 1);
		if (!p)
			return aoi_error_set(err, AOI_ENOMEM, im->file.path, 0, "out of memory");
		memcpy(p, src->is_int ? (void *)src->i : (void *)src->f, bytes);
		copy.f = src->is_int ? NULL : p;
		copy.i = src->is_int ? p : NULL;
	}
	if (!(v = new_val(im, n->output[i], err))) {
		free(copy.f != src->f ? copy.f : NULL);
		free(copy.i != src->i ? copy.i : NULL);
		return -1;
	}
	copy.name = v->name;
	*v = copy;
	return 0;
}

static int graph_output(const aoi_onnx_importer *im, const char *name)
{
	const Onnx__GraphProto *g = im->file.model->graph;

	for (size_t k = 0; k < g->n_output; k++)
		if (strcmp(g->output[k]->name, name) == 0)
			return 1;
	return 0;
}

int aoi_onnx_output_used(const aoi_onnx_importer *im, int i)
{
	const Onnx__GraphProto *g = im->file.model->graph;
	const char *name;

	if (i >= (int)im->node->n_output || !*(name = im->node->output[i]))
		return 0;
	if (graph_output(im, name))
		return 1;
	for (size_t k = (size_t)im->index + 1; k < g->n_node; k++)
		for (size_t j = 0; j < g->node[k]->n_input; j++)
			if (strcmp(g->node[k]->input[j], name) == 0)
				return 1;
	return 0;
}

aoi_shape aoi_onnx_shape(const aoi_onnx_importer *im, const aoi_onnx_val *v)
{
	aoi_node_info ni;

	aoi_net_node_info(im->net, v->node, &ni);
	return ni.out;
}

/* ---- graph nodes ---- */

/* "encoder.<scope>" from an exported node name ("/features/features.3/
 * conv/Conv" -> "encoder.features.3", the module of the top level), so
 * that --freeze works by module; the node index when the name has no
 * scope. Nodes from the head on are "head". */
static void block_name(const aoi_onnx_importer *im, char *buf, size_t size)
{
	const char *name = im->node->name ? im->node->name : "", *p = name, *part[3];
	size_t len[3];
	int n = 0;

	if (im->head >= 0 && im->index >= im->head) {
		snprintf(buf, size, "head");
		return;
	}
	while (*p && n < 3) {
		p += *p == '/';
		part[n] = p;
		len[n] = strcspn(p, "/");
		p += len[n];
		n += len[n] > 0;
	}
	if (n >= 3)
		snprintf(buf, size, "encoder.%.*s", (int)len[1], part[1]);
	else if (n == 2)
		snprintf(buf, size, "encoder.%.*s", (int)len[0], part[0]);
	else
		snprintf(buf, size, "encoder.%d", im->index);
}

int aoi_onnx_emit(aoi_onnx_importer *im, json_t *desc, aoi_error *err)
{
	char block[64], msg[600];
	int id;

	block_name(im, block, sizeof block);
	json_object_set_new(desc, "block", json_string(block));
	if (!desc || json_array_append(im->nodes, desc) < 0) {
		json_decref(desc);
		return aoi_error_set(err, AOI_ENOMEM, im->file.path, 0, "out of memory");
	}
	id = aoi_graph_add(im->net, desc, 0, err);
	if (id < 0) {
		snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
		json_decref(desc);
		return aoi_onnx_fail(im, err, err ? err->code : AOI_ESHAPE, "%s", msg);
	}
	if (im->index == im->head && json_object_get(desc, "out"))
		im->head_id = id;
	json_decref(desc);
	return id;
}

int aoi_onnx_set_param(aoi_onnx_importer *im, int id, int k, const float *v, size_t n,
		       aoi_error *err)
{
	int nt = aoi_net_param_tensors(im->net);

	for (int t = 0; t < nt; t++) {
		const aoi_param_info *p = aoi_net_param_info(im->net, t);
		if (p->node != id)
			continue;
		p = aoi_net_param_info(im->net, t + k);
		if (!p || p->node != id || p->count != n)
			break;
		memcpy(aoi_net_params(im->net) + p->offset, v, sizeof(float) * n);
		return 0;
	}
	return aoi_onnx_fail(im, err, AOI_ESHAPE, "%zu values do not fit tensor %d of node %d",
			     n, k, id);
}

/* The batch norm just added owns the last 2c floats of the state. */
int aoi_onnx_set_bn_state(aoi_onnx_importer *im, int id, const float *mean, const float *var,
			  int c, aoi_error *err)
{
	size_t count;
	float *state = aoi_net_state(im->net, &count);

	if (id != aoi_net_node_count(im->net) - 1 || count < 2 * (size_t)c)
		return aoi_onnx_fail(im, err, AOI_ESHAPE, "no running statistics to fill");
	memcpy(state + count - 2 * (size_t)c, mean, sizeof(float) * (size_t)c);
	memcpy(state + count - (size_t)c, var, sizeof(float) * (size_t)c);
	return 0;
}

/* ---- before the walk: readers, the head, a final softmax ---- */

static int producer(const Onnx__GraphProto *g, const char *name)
{
	for (size_t k = 0; k < g->n_node; k++)
		for (size_t j = 0; j < g->node[k]->n_output; j++)
			if (strcmp(g->node[k]->output[j], name) == 0)
				return (int)k;
	return -1;
}

static int is_initializer(const Onnx__GraphProto *g, const char *name)
{
	int p = producer(g, name);

	for (size_t k = 0; k < g->n_initializer; k++)
		if (strcmp(g->initializer[k]->name, name) == 0)
			return 1;
	return p >= 0 && strcmp(g->node[p]->op_type, "Constant") == 0;
}

int aoi_onnx_passes_through(const char *op)
{
	static const char *const ops[] = {
		"Relu", "LeakyRelu", "Sigmoid", "Clip", "Softmax", "Flatten", "Reshape",
		"Dropout", "Identity", "Resize", "Upsample", "BatchNormalization", "Squeeze",
		"Unsqueeze", "GlobalAveragePool", "GlobalMaxPool", "AveragePool", "MaxPool",
		"ReduceMean"};

	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (strcmp(op, ops[i]) == 0)
			return 1;
	return 0;
}

/* From the output back through what keeps the channels to the node that
 * makes them (a MatMul's bias Add is crossed). */
static int find_head(const Onnx__GraphProto *g, int k)
{
	while (k >= 0) {
		const Onnx__NodeProto *n = g->node[k];
		const char *op = n->op_type;
		if (!strcmp(op, "Conv") || !strcmp(op, "ConvTranspose") || !strcmp(op, "Gemm") ||
		    !strcmp(op, "MatMul"))
			return k;
		if (!strcmp(op, "Add") && n->n_input == 2 && is_initializer(g, n->input[1]))
			k = producer(g, n->input[0]);
		else if (!strcmp(op, "Add") && n->n_input == 2 && is_initializer(g, n->input[0]))
			k = producer(g, n->input[1]);
		else if (aoi_onnx_passes_through(op) && n->n_input > 0)
			k = producer(g, n->input[0]);
		else
			return -1;
	}
	return -1;
}

static int prepare(aoi_onnx_importer *im, aoi_error *err)
{
	const Onnx__GraphProto *g = im->file.model->graph;
	int out;

	im->skip = calloc(g->n_node, sizeof *im->skip);
	im->uses = calloc(g->n_node, sizeof *im->uses);
	im->nodes = json_array();
	if (!im->skip || !im->uses || !im->nodes)
		return aoi_error_set(err, AOI_ENOMEM, im->file.path, 0, "out of memory");
	for (size_t k = 0; k < g->n_node; k++)
		for (size_t j = 0; j < g->node[k]->n_input; j++) {
			int p = g->node[k]->input[j][0] ? producer(g, g->node[k]->input[j]) : -1;
			if (p >= 0 && strcmp(g->node[p]->output[0], g->node[k]->input[j]) == 0)
				im->uses[p]++;
		}
	im->drop = im->head = im->head_id = -1;
	if (g->n_output != 1)
		return aoi_error_set(err, AOI_EFORMAT, im->file.path, 0,
				     "the graph has %zu outputs; an aoi model has one", g->n_output);
	out = producer(g, g->output[0]->name);
	if (out >= 0 && strcmp(g->node[out]->op_type, "Softmax") == 0) {
		im->drop = out; /* aoi models give scores; the caller applies softmax */
		out = producer(g, g->node[out]->input[0]);
	}
	if (out >= 0)
		im->uses[out]++;
	im->head = find_head(g, out);
	return 0;
}

/* ---- the graph's inputs ---- */

static int add_initializers(aoi_onnx_importer *im, aoi_error *err)
{
	const Onnx__GraphProto *g = im->file.model->graph;

	for (size_t k = 0; k < g->n_initializer; k++) {
		aoi_onnx_val *v = new_val(im, g->initializer[k]->name, err);
		if (!v)
			return -1;
		v->kind = AOI_OV_CONST;
		v->init = g->initializer[k];
	}
	return 0;
}

/* The one input that is not an initializer: float, N x C x H x W. */
static const Onnx__ValueInfoProto *network_input(aoi_onnx_importer *im, aoi_error *err)
{
	const Onnx__GraphProto *g = im->file.model->graph;
	const Onnx__ValueInfoProto *in = NULL;
	int count = 0;

	for (size_t k = 0; k < g->n_input; k++)
		if (!aoi_onnx_find(im, g->input[k]->name)) {
			in = g->input[k];
			count++;
		}
	if (count != 1) {
		aoi_error_set(err, AOI_EFORMAT, im->file.path, 0,
			      "the graph has %d inputs besides its weights; an aoi model has one",
			      count);
		return NULL;
	}
	return in;
}

static int64_t dim_of(const Onnx__TensorShapeProto *s, int i)
{
	const Onnx__TensorShapeProto__Dimension *d = s->dim[i];

	return d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
		       ? d->dim_value : -1;
}

static int add_input(aoi_onnx_importer *im, const aoi_onnx_import_opts *o, aoi_error *err)
{
	const Onnx__ValueInfoProto *in = network_input(im, err);
	const Onnx__TypeProto__Tensor *tt;
	int64_t c, h, w;
	aoi_onnx_val *v;

	if (!in)
		return -1;
	tt = in->type && in->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
		     ? in->type->tensor_type : NULL;
	if (!tt || tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || !tt->shape ||
	    tt->shape->n_dim != 4)
		return aoi_error_set(err, AOI_EFORMAT, im->file.path, 0,
				     "input '%s' is not a float tensor N x C x H x W", in->name);
	c = dim_of(tt->shape, 1);
	h = o->input_h ? o->input_h : dim_of(tt->shape, 2);
	w = o->input_w ? o->input_w : dim_of(tt->shape, 3);
	if (c < 1 || c > AOI_MODEL_MAX_CHANNELS)
		return aoi_error_set(err, AOI_EFORMAT, im->file.path, 0,
				     "input '%s' has %lld channels (1 to %d)", in->name,
				     (long long)c, AOI_MODEL_MAX_CHANNELS);
	if (h < 1 || w < 1 || h > 65536 || w > 65536)
		return aoi_error_set(err, AOI_EINVAL, im->file.path, 0,
				     "input '%s' leaves its size open: give it (--size WxH)",
				     in->name);
	if (!(im->net = aoi_net_new((int)c, err)) ||
	    aoi_net_set_input_size(im->net, (int)h, (int)w, err) < 0 ||
	    !(v = new_val(im, in->name, err)))
		return -1;
	v->kind = AOI_OV_NODE;
	v->node = 0;
	v->rank = 4;
	return 0;
}

/* ---- the walk ---- */

static int walk(aoi_onnx_importer *im, aoi_error *err)
{
	const Onnx__GraphProto *g = im->file.model->graph;

	for (size_t k = 0; k < g->n_node; k++) {
		int rc;
		im->node = g->node[k];
		im->index = (int)k;
		if (im->skip[k])
			continue;
		if ((int)k == im->drop) {
			aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 1, err);
			if (!x || aoi_onnx_alias(im, 0, x, err) < 0)
				return -1;
			continue;
		}
		if ((rc = aoi_onnx_fold(im, err)) < 0 || (rc == 0 && aoi_onnx_map(im, err) < 0))
			return -1;
	}
	im->node = NULL;
	return 0;
}

static void release(aoi_onnx_importer *im)
{
	for (int i = 0; i < im->nvals; i++) {
		free(im->vals[i]->f);
		free(im->vals[i]->i);
		free(im->vals[i]);
	}
	free(im->vals);
	free(im->skip);
	free(im->uses);
	json_decref(im->nodes);
	aoi_onnx_release(&im->file);
}

/* ---- the model info ---- */

static int set_output(aoi_onnx_importer *im, int *rank, aoi_error *err)
{
	const char *name = im->file.model->graph->output[0]->name;
	aoi_onnx_val *v = aoi_onnx_find(im, name);

	if (!v)
		return aoi_error_set(err, AOI_EFORMAT, im->file.path, 0,
				     "no node makes the graph's output '%s'", name);
	if (v->kind != AOI_OV_NODE || v->node == 0)
		return aoi_error_set(err, AOI_EFORMAT, im->file.path, 0,
				     "the graph's output '%s' is not computed from its input", name);
	*rank = v->rank;
	return aoi_net_set_output(im->net, v->node, err) < 0 ? -1 : v->node;
}

static int guess_task(const aoi_onnx_importer *im, const aoi_onnx_import_opts *o, int rank,
		      aoi_error *err)
{
	aoi_shape out = aoi_net_output_shape(im->net), in = aoi_net_input_shape(im->net);

	int t = aoi_task_parse(aoi_onnx_meta(&im->file, "aoi.task"));

	if (o->task >= 0)
		return o->task;
	if (t >= 0)
		return t;
	if (rank == 2 || (out.h == 1 && out.w == 1))
		return AOI_TASK_CLASSIFICATION;
	if (out.h == in.h && out.w == in.w)
		return AOI_TASK_SEGMENTATION;
	return aoi_error_set(err, AOI_EINVAL, im->file.path, 0,
			     "cannot tell the task of an output of %d x %d x %d: give it (--task)",
			     out.c, out.h, out.w);
}

/* "a,b,c" into up to max floats; the count, or -1. */
static int parse_floats(const char *s, float *v, int max)
{
	int n = 0;

	while (s && *s && n < max) {
		char *end;
		v[n++] = strtof(s, &end);
		if (end == s || (*end && *end != ','))
			return -1;
		s = *end ? end + 1 : end;
	}
	return s && *s ? -1 : n;
}

static int set_norm(const aoi_onnx_importer *im, const aoi_onnx_import_opts *o,
		    aoi_model_info *info, aoi_error *err)
{
	int c = info->opts.in_channels;
	float v[AOI_MODEL_MAX_CHANNELS];

	if ((o->nmean && o->nmean != c) || (o->nstd && o->nstd != c))
		return aoi_error_set(err, AOI_EINVAL, im->file.path, 0,
				     "%d means and %d standard deviations for %d input channels",
				     o->nmean, o->nstd, c);
	for (int i = 0; i < o->nstd; i++)
		if (!(o->std[i] > 0))
			return aoi_error_set(err, AOI_EINVAL, NULL, 0, "a standard deviation of %g",
					     o->std[i]);
	if (o->nmean == c)
		memcpy(info->mean, o->mean, sizeof(float) * (size_t)c);
	else if (parse_floats(aoi_onnx_meta(&im->file, "aoi.mean"), v, c) == c)
		memcpy(info->mean, v, sizeof(float) * (size_t)c);
	if (o->nstd == c)
		memcpy(info->std, o->std, sizeof(float) * (size_t)c);
	else if (parse_floats(aoi_onnx_meta(&im->file, "aoi.std"), v, c) == c)
		memcpy(info->std, v, sizeof(float) * (size_t)c);
	return 0;
}

/* Class names: given, else the file's aoi.classes (a JSON array), else
 * "0", "1", ... (segmentation: "background" first). */
static int set_classes(const aoi_onnx_importer *im, const aoi_onnx_import_opts *o,
		       aoi_model_info *info, aoi_error *err)
{
	int k = info->opts.classes, rc;
	const char *meta = aoi_onnx_meta(&im->file, "aoi.classes");
	json_t *a;
	const char **names;

	if (info->task == AOI_TASK_KEYPOINTS)
		return 0;
	a = meta ? json_loads(meta, 0, NULL) : NULL;
	if (o->nclasses && o->nclasses != k)
		return aoi_error_set(err, AOI_EINVAL, im->file.path, 0,
				     "%d class names for %d outputs", o->nclasses, k);
	if (o->nclasses) {
		json_decref(a);
		return aoi_model_info_set_classes(info, k, o->classes, err);
	}
	if (!(names = calloc((size_t)k, sizeof *names))) {
		json_decref(a);
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	}
	char (*num)[16] = calloc((size_t)k, sizeof *num);
	for (int i = 0; num && i < k; i++) {
		snprintf(num[i], sizeof num[i], "%d", i);
		names[i] = json_array_size(a) == (size_t)k ? json_string_value(json_array_get(a, (size_t)i))
							   : NULL;
		if (!names[i])
			names[i] = i == 0 && info->task == AOI_TASK_SEGMENTATION ? "background" : num[i];
	}
	rc = num ? aoi_model_info_set_classes(info, k, names, err)
		 : aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	free(num);
	free(names);
	json_decref(a);
	return rc;
}

static json_t *provenance(const aoi_onnx_importer *im)
{
	const Onnx__ModelProto *m = im->file.model;
	char name[256], producer[256];
	const char *slash = strrchr(im->file.path, '/');

	snprintf(name, sizeof name, "%s", slash ? slash + 1 : im->file.path);
	snprintf(producer, sizeof producer, "%s%s%s", m->producer_name ? m->producer_name : "",
		 m->producer_version && *m->producer_version ? " " : "",
		 m->producer_version ? m->producer_version : "");
	json_t *p = json_pack("{s:s, s:s, s:i}", "onnx_file", name, "onnx_producer", producer,
			      "onnx_opset", im->file.opset);
	if (p && im->drop >= 0)
		json_object_set_new(p, "onnx_dropped", json_string("final Softmax"));
	return p;
}

static int fill_info(aoi_onnx_importer *im, const aoi_onnx_import_opts *o,
		     aoi_model_info *info, aoi_error *err)
{
	int rank = 4, out = set_output(im, &rank, err), task;
	aoi_shape os = aoi_net_output_shape(im->net), is = aoi_net_input_shape(im->net);
	json_t *graph;
	aoi_node_info hi;

	if (out < 0 || (task = guess_task(im, o, rank, err)) < 0)
		return -1;
	/* the head can take another class count only if its outputs are the
	 * classes */
	if (im->head_id > 0 && (aoi_net_node_info(im->net, im->head_id, &hi) < 0 ||
				hi.out.c != os.c))
		im->head_id = -1;
	graph = json_pack("{s:O, s:i, s:i}", "nodes", im->nodes, "output", out, "head",
			  im->head_id > 0 ? im->head_id : 0);
	if (aoi_model_info_set_graph(info, graph, is.c, os.c, is.h, is.w, (enum aoi_task)task,
				     err) < 0)
		return -1;
	if (set_norm(im, o, info, err) < 0 || set_classes(im, o, info, err) < 0)
		return -1;
	aoi_model_info_set_provenance(info, provenance(im));
	return 0;
}

/* ---- the entry points ---- */

void aoi_onnx_import_opts_init(aoi_onnx_import_opts *o)
{
	memset(o, 0, sizeof *o);
	o->task = -1;
}

/* "a,b,c" as k names: the pointers first, then a copy of the text. */
static int split_names(const char *list, aoi_onnx_import_opts *o, char **names, aoi_error *err)
{
	size_t k = 1, len = strlen(list) + 1;
	const char **v;
	char *text;

	for (const char *p = list; *p; p++)
		k += *p == ',';
	if (!(*names = malloc(k * sizeof *v + len)))
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	v = (const char **)*names;
	text = memcpy(*names + k * sizeof *v, list, len);
	o->nclasses = 0;
	for (char *p = text, *next; p; p = next) {
		next = strchr(p, ',');
		if (next)
			*next++ = '\0';
		if (!*p)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--classes: an empty name");
		v[o->nclasses++] = p;
	}
	o->classes = v;
	return 0;
}

int aoi_onnx_import_opts_lists(aoi_onnx_import_opts *o, const char *mean, const char *std,
			       const char *classes, char **names, aoi_error *err)
{
	*names = NULL;
	if (mean && (o->nmean = parse_floats(mean, o->mean, AOI_MODEL_MAX_CHANNELS)) < 1)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--mean: want numbers M,M,...");
	if (std && (o->nstd = parse_floats(std, o->std, AOI_MODEL_MAX_CHANNELS)) < 1)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--std: want numbers S,S,...");
	return classes ? split_names(classes, o, names, err) : 0;
}

static aoi_net *import_file(aoi_onnx_importer *im, const aoi_onnx_import_opts *o,
			    aoi_model_info *info, aoi_error *err)
{
	aoi_onnx_import_opts dflt;
	aoi_net *net = NULL;

	if (!o) {
		aoi_onnx_import_opts_init(&dflt);
		o = &dflt;
	}
	aoi_model_info_init(info);
	if (prepare(im, err) == 0 && add_initializers(im, err) == 0 && add_input(im, o, err) == 0 &&
	    walk(im, err) == 0 && fill_info(im, o, info, err) == 0) {
		net = im->net;
		im->net = NULL;
	} else {
		aoi_model_info_release(info);
	}
	aoi_net_free(im->net);
	release(im);
	return net;
}

aoi_net *aoi_onnx_import_buffer(const char *path, const unsigned char *buf, size_t len,
				const aoi_onnx_import_opts *o, aoi_model_info *info,
				aoi_error *err)
{
	aoi_onnx_importer im;

	memset(&im, 0, sizeof im);
	aoi_model_info_init(info);
	if (aoi_onnx_parse(&im.file, path, buf, len, err) < 0)
		return NULL;
	return import_file(&im, o, info, err);
}

aoi_net *aoi_onnx_import(const char *path, const aoi_onnx_import_opts *o,
			 aoi_model_info *info, aoi_error *err)
{
	aoi_onnx_importer im;

	memset(&im, 0, sizeof im);
	aoi_model_info_init(info);
	if (aoi_onnx_read(&im.file, path, err) < 0)
		return NULL;
	return import_file(&im, o, info, err);
}

int aoi_onnx_probe(const unsigned char *buf, size_t len)
{
	/* field 1 (ir_version), varint: tag byte 0x08, then a small version */
	return len >= 2 && buf[0] == 0x08 && buf[1] > 0 && buf[1] < 0x80;
}

int aoi_onnx_import_file(const char *onnx_path, const char *out,
			 const aoi_onnx_import_opts *o, aoi_error *err)
{
	aoi_model_info info;
	aoi_net *net = aoi_onnx_import(onnx_path, o, &info, err);
	int rc;

	if (!net)
		return -1;
	rc = aoi_model_save(out, &info, net, err);
	aoi_net_free(net);
	aoi_model_info_release(&info);
	return rc;
}
