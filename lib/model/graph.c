/* graph.c: the generic graph architecture: nodes in JSON into builder
 * calls of net.h, one op at a time. */
#include "model/graph.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A node's fields, read once. */
typedef struct gfields {
	const json_t *js;
	int in[8], nin;
	int out_override;
} gfields;

static int geti(const gfields *g, const char *key, int dflt)
{
	const json_t *v = json_object_get(g->js, key);

	return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

static double getf(const gfields *g, const char *key, double dflt)
{
	const json_t *v = json_object_get(g->js, key);

	return json_is_number(v) ? json_number_value(v) : dflt;
}

static int out_of(const gfields *g)
{
	return g->out_override > 0 ? g->out_override : geti(g, "out", 0);
}

static int build_conv(aoi_net *net, const gfields *g, aoi_error *err)
{
	return aoi_net_conv(net, g->in[0], out_of(g), geti(g, "kernel", 0), geti(g, "stride", 1),
			    geti(g, "pad", 0), geti(g, "dilation", 1), geti(g, "groups", 1),
			    json_is_true(json_object_get(g->js, "bias")), err);
}

static int build_convt(aoi_net *net, const gfields *g, aoi_error *err)
{
	return aoi_net_conv_transpose(net, g->in[0], out_of(g), geti(g, "kernel", 0),
				      geti(g, "stride", 1), geti(g, "pad", 0),
				      geti(g, "output_pad", 0),
				      json_is_true(json_object_get(g->js, "bias")), err);
}

static int build_bn(aoi_net *net, const gfields *g, aoi_error *err)
{
	return aoi_net_batchnorm(net, g->in[0], err);
}

static int build_act(aoi_net *net, const gfields *g, enum aoi_act a, aoi_error *err)
{
	return aoi_net_activation(net, g->in[0], a, (float)getf(g, "alpha", 0.0), err);
}

static int build_relu(aoi_net *net, const gfields *g, aoi_error *err)
{
	return build_act(net, g, AOI_ACT_RELU, err);
}

static int build_relu6(aoi_net *net, const gfields *g, aoi_error *err)
{
	return build_act(net, g, AOI_ACT_RELU6, err);
}

static int build_sigmoid(aoi_net *net, const gfields *g, aoi_error *err)
{
	return build_act(net, g, AOI_ACT_SIGMOID, err);
}

static int build_leaky(aoi_net *net, const gfields *g, aoi_error *err)
{
	return build_act(net, g, AOI_ACT_LEAKY, err);
}

static int build_softmax(aoi_net *net, const gfields *g, aoi_error *err)
{
	return aoi_net_softmax(net, g->in[0], err);
}

static int build_maxpool(aoi_net *net, const gfields *g, aoi_error *err)
{
	return aoi_net_maxpool(net, g->in[0], geti(g, "kernel", 0), geti(g, "stride", 1),
			       geti(g, "pad", 0), err);
}

static int build_avgpool(aoi_net *net, const gfields *g, aoi_error *err)
{
	return aoi_net_avgpool(net, g->in[0], geti(g, "kernel", 0), geti(g, "stride", 1),
			       geti(g, "pad", 0), err);
}

static int build_unpool(aoi_net *net, const gfields *g, aoi_error *err)
{
	return aoi_net_maxunpool(net, g->in[0], g->in[1], err);
}

static int build_adaptive(aoi_net *net, const gfields *g, aoi_error *err)
{
	const json_t *s = json_object_get(g->js, "size");

	return aoi_net_adaptive_avgpool(net, g->in[0],
					(int)json_integer_value(json_array_get(s, 0)),
					(int)json_integer_value(json_array_get(s, 1)), err);
}

static int build_global(aoi_net *net, const gfields *g, aoi_error *err)
{
	return aoi_net_global_avgpool(net, g->in[0], err);
}

static int build_global_max(aoi_net *net, const gfields *g, aoi_error *err)
{
	return aoi_net_global_maxpool(net, g->in[0], err);
}

static int build_detach(aoi_net *net, const gfields *g, aoi_error *err)
{
	return aoi_net_detach(net, g->in[0], err);
}

static int build_upsample(aoi_net *net, const gfields *g, aoi_error *err)
{
	const char *mode = json_string_value(json_object_get(g->js, "mode"));

	if (mode && strcmp(mode, "nearest") != 0 && strcmp(mode, "bilinear") != 0)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0, "upsample mode '%s'", mode);
	return aoi_net_upsample(net, g->in[0], geti(g, "factor", 0),
				mode && strcmp(mode, "bilinear") == 0, err);
}

static int build_concat(aoi_net *net, const gfields *g, aoi_error *err)
{
	return aoi_net_concat(net, g->nin, g->in, err);
}

static int build_add(aoi_net *net, const gfields *g, aoi_error *err)
{
	return aoi_net_add(net, g->in[0], g->in[1], err);
}

static int build_dense(aoi_net *net, const gfields *g, aoi_error *err)
{
	return aoi_net_dense(net, g->in[0], out_of(g),
			     json_is_true(json_object_get(g->js, "bias")), err);
}

static int build_dropout(aoi_net *net, const gfields *g, aoi_error *err)
{
	return aoi_net_dropout(net, g->in[0], (float)getf(g, "p", 0.5), err);
}

static int build_flatten(aoi_net *net, const gfields *g, aoi_error *err)
{
	return aoi_net_flatten(net, g->in[0], err);
}

/* value: a number, or "-inf" (JSON has no infinities) before a max pool */
static int build_pad(aoi_net *net, const gfields *g, aoi_error *err)
{
	const json_t *p = json_object_get(g->js, "pads"), *v = json_object_get(g->js, "value");
	int pads[4];

	if (json_array_size(p) != 4)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0, "pad: want 4 pads");
	for (int i = 0; i < 4; i++)
		pads[i] = (int)json_integer_value(json_array_get(p, (size_t)i));
	return aoi_net_pad(net, g->in[0], pads,
			   json_is_string(v) && !strcmp(json_string_value(v), "-inf")
				   ? -INFINITY : (float)getf(g, "value", 0.0), err);
}

typedef int (*build_fn)(aoi_net *, const gfields *, aoi_error *);

static const struct {
	const char *op;
	int nin; /* inputs it takes; 0: one or more */
	build_fn fn;
} ops[] = {
	{"conv", 1, build_conv},
	{"conv_transpose", 1, build_convt},
	{"batchnorm", 1, build_bn},
	{"relu", 1, build_relu},
	{"relu6", 1, build_relu6},
	{"sigmoid", 1, build_sigmoid},
	{"leaky_relu", 1, build_leaky},
	{"softmax", 1, build_softmax},
	{"maxpool", 1, build_maxpool},
	{"avgpool", 1, build_avgpool},
	{"maxunpool", 2, build_unpool},
	{"adaptive_avgpool", 1, build_adaptive},
	{"global_avgpool", 1, build_global},
	{"global_maxpool", 1, build_global_max},
	{"detach", 1, build_detach},
	{"upsample", 1, build_upsample},
	{"concat", 0, build_concat},
	{"add", 2, build_add},
	{"dense", 1, build_dense},
	{"dropout", 1, build_dropout},
	{"flatten", 1, build_flatten},
	{"pad", 1, build_pad},
};

static int find_op(const char *op)
{
	for (int i = 0; op && i < (int)(sizeof ops / sizeof ops[0]); i++)
		if (strcmp(ops[i].op, op) == 0)
			return i;
	return -1;
}

/* The node's op and inputs, checked against the nodes made so far. */
static int read_fields(const json_t *node, int nnodes, gfields *g, aoi_error *err)
{
	const char *op = json_string_value(json_object_get(node, "op"));
	const json_t *in = json_object_get(node, "in");
	int k = find_op(op);

	memset(g, 0, sizeof *g);
	g->js = node;
	if (k < 0)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0, "graph node %d: unknown op '%s'",
				     nnodes, op ? op : "");
	if (!json_is_array(in) || json_array_size(in) < 1 || json_array_size(in) > 8 ||
	    (ops[k].nin && json_array_size(in) != (size_t)ops[k].nin))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "graph node %d (%s): bad 'in'", nnodes, op);
	g->nin = (int)json_array_size(in);
	for (int i = 0; i < g->nin; i++) {
		const json_t *v = json_array_get(in, (size_t)i);
		g->in[i] = json_is_integer(v) ? (int)json_integer_value(v) : -1;
		if (g->in[i] < 0 || g->in[i] >= nnodes)
			return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
					     "graph node %d (%s): input %d is not an earlier node",
					     nnodes, op, g->in[i]);
	}
	return k;
}

int aoi_graph_add(aoi_net *net, const json_t *node, int out_override, aoi_error *err)
{
	gfields g;
	int k = read_fields(node, aoi_net_node_count(net), &g, err);
	const char *block = json_string_value(json_object_get(node, "block"));

	if (k < 0)
		return -1;
	g.out_override = out_override;
	aoi_net_set_block(net, block ? block : "");
	return ops[k].fn(net, &g, err);
}

static int graph_int(const json_t *graph, const char *key)
{
	const json_t *v = json_object_get(graph, key);

	return json_is_integer(v) ? (int)json_integer_value(v) : -1;
}

int aoi_graph_check(const json_t *graph, aoi_error *err)
{
	const json_t *nodes = json_object_get(graph, "nodes");
	int n, out = graph_int(graph, "output"), head = graph_int(graph, "head");
	int decision = aoi_graph_decision(graph);
	gfields g;

	if (!json_is_array(nodes) || json_array_size(nodes) == 0 || json_array_size(nodes) > 100000)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0, "graph without nodes");
	n = (int)json_array_size(nodes);
	for (int i = 0; i < n; i++)
		if (read_fields(json_array_get(nodes, (size_t)i), i + 1, &g, err) < 0)
			return -1;
	if (out < 1 || out > n || head < 0 || head > n)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "graph: output %d or head %d is not a node", out, head);
	if (decision < 0 || decision > n || decision == out)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "graph: decision %d is not a node other than the output",
				     decision);
	return 0;
}

int aoi_graph_decision(const json_t *graph)
{
	const json_t *v = json_object_get(graph, "decision");

	return !v ? 0 : json_is_integer(v) ? (int)json_integer_value(v) : -1;
}

int aoi_graph_head_out(const json_t *graph)
{
	int head = graph_int(graph, "head");
	const json_t *node = json_array_get(json_object_get(graph, "nodes"), (size_t)(head - 1));

	return head > 0 ? (int)json_integer_value(json_object_get(node, "out")) : 0;
}

json_t *aoi_graph_with_classes(const json_t *graph, int classes)
{
	json_t *g = json_deep_copy(graph);
	int head = graph_int(graph, "head");
	json_t *node = json_array_get(json_object_get(g, "nodes"), (size_t)(head - 1));

	if (g && head > 0 && classes > 0)
		json_object_set_new(node, "out", json_integer(classes));
	return g;
}

aoi_net *aoi_graph_build(const json_t *graph, int in_channels, int input_h, int input_w,
			 int classes, aoi_error *err)
{
	const json_t *nodes = json_object_get(graph, "nodes");
	int head = graph_int(graph, "head");
	aoi_net *net;

	if (aoi_graph_check(graph, err) < 0 || !(net = aoi_net_new(in_channels, err)))
		return NULL;
	if (aoi_net_set_input_size(net, input_h, input_w, err) < 0)
		goto fail;
	for (size_t i = 0; i < json_array_size(nodes); i++) {
		int id = aoi_graph_add(net, json_array_get(nodes, i),
				       (int)i + 1 == head ? classes : 0, err);
		if (id < 0)
			goto fail;
	}
	if (aoi_net_set_output(net, graph_int(graph, "output"), err) == 0 &&
	    (!aoi_graph_decision(graph) ||
	     aoi_net_add_output(net, aoi_graph_decision(graph), err) >= 0))
		return net;
fail:
	aoi_net_free(net);
	return NULL;
}
