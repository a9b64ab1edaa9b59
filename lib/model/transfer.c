/* transfer.c: --init by structure. Two networks described as graphs
 * (graph.h) are cut into layers with weights: a convolution or dense layer
 * with the batch norm that alone reads it, or a batch norm on its own.
 * The destination's layers under a block prefix take the source's in order
 * while kind, weight shape, stride, groups and dilation agree: a
 * torchvision MobileNetV2 fills mbv2-unet's encoder although no name
 * matches. A bias and a batch norm stand in for each other: a convolution
 * exported with its batch norm folded into it (PyTorch's default) gives its
 * bias as the batch norm's shift (scale 1, mean 0, variance 1 - eps), and
 * a batch norm is folded into a destination that has a bias instead. */
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/graph.h"

#define BN_EPS 1e-5f

typedef struct unit {
	int node, bn;          /* the layer and its batch norm (-1: none) */
	const char *op;
	int out, kernel, stride, groups, dilation, bias;
	int in_c;              /* input channels (batch norm alone: channels) */
	size_t state;          /* the batch norm's running statistics in the state */
} unit;

typedef struct side {
	aoi_net *net;
	const json_t *nodes;
	unit *u;
	int n;
} side;

static const json_t *gnode(const side *s, int id)
{
	return json_array_get(s->nodes, (size_t)(id - 1));
}

static int gint(const json_t *n, const char *key, int dflt)
{
	const json_t *v = json_object_get(n, key);

	return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

static const char *gop(const json_t *n)
{
	const char *op = json_string_value(json_object_get(n, "op"));

	return op ? op : "";
}

static int has_weights(const char *op)
{
	return !strcmp(op, "conv") || !strcmp(op, "conv_transpose") || !strcmp(op, "dense");
}

/* The one reader of node id, or -1. */
static int sole_reader(const side *s, int id)
{
	int reader = -1, count = 0;

	for (size_t k = 0; k < json_array_size(s->nodes); k++) {
		const json_t *in = json_object_get(json_array_get(s->nodes, k), "in");
		for (size_t j = 0; j < json_array_size(in); j++)
			if (json_integer_value(json_array_get(in, j)) == id) {
				reader = (int)k + 1;
				count++;
			}
	}
	return count == 1 ? reader : -1;
}

static aoi_shape shape(aoi_net *net, int id)
{
	aoi_node_info ni;

	aoi_net_node_info(net, id, &ni);
	return ni.out;
}

/* The layers of s in order, those whose block starts with prefix. */
static int cut_units(side *s, const char *prefix)
{
	int n = (int)json_array_size(s->nodes), *taken = calloc((size_t)n + 2, sizeof *taken);
	size_t state = 0;

	s->u = calloc((size_t)n + 1, sizeof *s->u);
	if (!s->u || !taken) {
		free(taken);
		return -1;
	}
	for (int id = 1; id <= n; id++) {
		const json_t *g = gnode(s, id);
		const char *op = gop(g), *block = json_string_value(json_object_get(g, "block"));
		int bn = !strcmp(op, "batchnorm");
		if (bn) {
			for (int k = 0; k < s->n; k++) /* its layer's statistics */
				if (s->u[k].bn == id)
					s->u[k].state = state;
			if (!taken[id] && (!prefix[0] || (block && !strncmp(block, prefix, strlen(prefix)))))
				s->u[s->n++] = (unit){id, id, op, 0, 0, 0, 0, 0, 0,
						      shape(s->net, id).c, state};
			state += 2 * (size_t)shape(s->net, id).c;
			continue;
		}
		if (!has_weights(op) || (prefix[0] && (!block || strncmp(block, prefix, strlen(prefix)))))
			continue;
		int r = sole_reader(s, id);
		r = r > 0 && !strcmp(gop(gnode(s, r)), "batchnorm") ? r : -1;
		if (r > 0)
			taken[r] = 1;
		const json_t *in = json_object_get(g, "in");
		s->u[s->n++] = (unit){id, r, op, gint(g, "out", 0), gint(g, "kernel", 1),
				      gint(g, "stride", 1), gint(g, "groups", 1), gint(g, "dilation", 1),
				      json_is_true(json_object_get(g, "bias")),
				      shape(s->net, (int)json_integer_value(json_array_get(in, 0))).c, 0};
	}
	free(taken);
	return 0;
}

static int same_structure(const unit *a, const unit *b)
{
	return !strcmp(a->op, b->op) && a->out == b->out && a->kernel == b->kernel &&
	       a->stride == b->stride && a->groups == b->groups && a->dilation == b->dilation &&
	       a->in_c == b->in_c;
}

/* Parameter tensor k of node id: its values and count. */
static float *tensor(aoi_net *net, int id, int k, size_t *count)
{
	for (int t = 0; t < aoi_net_param_tensors(net); t++) {
		const aoi_param_info *p = aoi_net_param_info(net, t);
		if (p->node == id) {
			p = aoi_net_param_info(net, t + k);
			if (!p || p->node != id)
				return NULL;
			*count = p->count;
			return aoi_net_params(net) + p->offset;
		}
	}
	return NULL;
}

/* The affine map a source layer applies after its weights, per output
 * channel: y = scale w x + shift (its batch norm and bias together). */
static void source_affine(const side *s, const unit *u, int c, float *scale, float *shift)
{
	size_t n = 0;
	const float *b = u->bias ? tensor(s->net, u->node, 1, &n) : NULL;
	const float *g = u->bn > 0 ? tensor(s->net, u->bn, 0, &n) : NULL;
	const float *beta = u->bn > 0 ? tensor(s->net, u->bn, 1, &n) : NULL;
	const float *st = aoi_net_state(s->net, NULL) + u->state;

	for (int i = 0; i < c; i++) {
		double sc = g ? g[i] / sqrt((double)st[c + i] + BN_EPS) : 1.0;
		scale[i] = (float)sc;
		shift[i] = (float)((b ? b[i] : 0.0) * sc + (g ? beta[i] - st[i] * sc : 0.0));
	}
}

/* A batch norm that only passes its input on (after a layer whose bias
 * and batch norm were one): scale 1, the shift, mean 0, variance 1 - eps. */
static void identity_bn(const side *d, const unit *u, const float *shift)
{
	size_t n = 0;
	float *g = tensor(d->net, u->bn, 0, &n), *b = tensor(d->net, u->bn, 1, &n);
	float *st = aoi_net_state(d->net, NULL) + u->state;

	for (size_t i = 0; i < n; i++) {
		g[i] = 1.0f;
		b[i] = shift ? shift[i] : 0.0f;
		st[i] = 0.0f;
		st[n + i] = 1.0f - BN_EPS;
	}
}

/* Copy a batch norm (weights and running statistics) from s to d. */
static void copy_bn(const side *d, int dbn, size_t dstate, const side *s, int sbn, size_t sstate)
{
	size_t n = 0, m = 0;
	float *g = tensor(d->net, dbn, 0, &n), *b = tensor(d->net, dbn, 1, &n);

	memcpy(g, tensor(s->net, sbn, 0, &m), sizeof(float) * n);
	memcpy(b, tensor(s->net, sbn, 1, &m), sizeof(float) * n);
	memcpy(aoi_net_state(d->net, NULL) + dstate, aoi_net_state(s->net, NULL) + sstate,
	       sizeof(float) * 2 * n);
}

/* Weights of s into d, each output channel times scale (NULL: 1). */
static void copy_weights(const side *d, const unit *du, const side *s, const unit *su,
			 const float *scale)
{
	size_t n = 0, m = 0;
	float *w = tensor(d->net, du->node, 0, &n);
	const float *v = tensor(s->net, su->node, 0, &m);
	int transpose = !strcmp(du->op, "conv_transpose");
	size_t per = n / (size_t)du->out, kk = (size_t)du->kernel * du->kernel;

	for (size_t i = 0; i < n; i++) {
		/* the output channel: the first dim, a transposed conv's second */
		size_t o = transpose ? i / kk % (size_t)du->out : i / per;
		w[i] = scale ? v[i] * scale[o] : v[i];
	}
}

/* One layer of s into d; the tensors of d filled, or -1 when d cannot hold
 * what s computes (a bias or batch norm where d has neither). */
static int copy_unit(const side *d, const unit *du, const side *s, const unit *su)
{
	int c = du->out, tensors = 1;
	float *scale = malloc(sizeof(float) * (size_t)(c > 0 ? c : du->in_c));
	float *shift = malloc(sizeof(float) * (size_t)(c > 0 ? c : du->in_c));
	size_t n = 0;

	if (!scale || !shift) {
		tensors = -1;
	} else if (du->node == du->bn) { /* a batch norm on its own */
		copy_bn(d, du->bn, du->state, s, su->bn, su->state);
		tensors = 2;
	} else if (du->bn > 0 && su->bn > 0 && !su->bias) {
		copy_weights(d, du, s, su, NULL);
		copy_bn(d, du->bn, du->state, s, su->bn, su->state);
		if (du->bias)
			memset(tensor(d->net, du->node, 1, &n), 0, sizeof(float) * (size_t)c);
		tensors += 2 + du->bias;
	} else if (du->bn > 0) { /* s: a bias at most */
		source_affine(s, su, c, scale, shift);
		copy_weights(d, du, s, su, NULL);
		identity_bn(d, du, shift);
		if (du->bias)
			memset(tensor(d->net, du->node, 1, &n), 0, sizeof(float) * (size_t)c);
		tensors += 2 + du->bias;
	} else if (du->bias || (!su->bias && su->bn < 0)) {
		source_affine(s, su, c, scale, shift);
		copy_weights(d, du, s, su, su->bn > 0 ? scale : NULL);
		if (du->bias)
			memcpy(tensor(d->net, du->node, 1, &n), shift, sizeof(float) * (size_t)c);
		tensors += du->bias;
	} else {
		tensors = -1;
	}
	free(scale);
	free(shift);
	return tensors;
}

int aoi_model_transfer_structure(aoi_net *dst, const json_t *dst_graph, const char *prefix,
				 aoi_net *src, const json_t *src_graph, int *layers)
{
	side d = {dst, json_object_get(dst_graph, "nodes"), NULL, 0};
	side s = {src, json_object_get(src_graph, "nodes"), NULL, 0};
	int tensors = 0, k = 0;

	if (cut_units(&d, prefix ? prefix : "") == 0 && cut_units(&s, "") == 0)
		for (; k < d.n && k < s.n && same_structure(&d.u[k], &s.u[k]); k++) {
			int t = copy_unit(&d, &d.u[k], &s, &s.u[k]);
			if (t < 0)
				break;
			tensors += t;
		}
	if (layers)
		*layers = k;
	free(d.u);
	free(s.u);
	return tensors;
}
