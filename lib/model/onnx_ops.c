/* onnx_ops.c: ONNX operators into the generic graph's nodes, one function
 * an operator: attributes checked against what aoi's layer does (anything
 * else is refused, naming the node), weights copied into the net in aoi's
 * layout. */
#include "model/onnx_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef aoi_onnx_importer imp;

/* ---- helpers ---- */

static json_t *desc1(const char *op, int in)
{
	return json_pack("{s:s, s:[i]}", "op", op, "in", in);
}

/* Add desc and make it output 0 of the ONNX node. */
static int emit_out(imp *im, json_t *desc, int rank, aoi_error *err)
{
	int id = aoi_onnx_emit(im, desc, err);

	if (id < 0 || !aoi_onnx_define(im, 0, AOI_OV_NODE, id, rank, err))
		return -1;
	return id;
}

static int unsupported(imp *im, const char *what, aoi_error *err)
{
	return aoi_onnx_fail(im, err, AOI_EFORMAT, "%s: not supported", what);
}

/* A float constant of count values (any dims), or NULL with err set. */
static const aoi_onnx_val *weights(imp *im, int i, size_t count, aoi_error *err)
{
	const aoi_onnx_val *v = aoi_onnx_const(im, i, err);

	if (v && (v->is_int || v->count != count)) {
		aoi_onnx_fail(im, err, AOI_ESHAPE, "input %d ('%s') has %zu values, %zu wanted", i,
			      v->name, v->count, count);
		return NULL;
	}
	return v;
}

/* Two equal values of an ints attribute (dflt when absent). */
static int square_attr(imp *im, const char *name, int dflt, int *v, aoi_error *err)
{
	int64_t a[4];
	int n = aoi_onnx_attr_ints(im->node, name, a, 4);

	if (n < 0) {
		*v = dflt;
		return 0;
	}
	if (n != 2 || a[0] != a[1] || a[0] < 0 || a[0] > 1 << 16) {
		char what[80];
		snprintf(what, sizeof what, "%s %lldx%lld (aoi's are square)", name,
			 (long long)a[0], n > 1 ? (long long)a[1] : 0LL);
		return unsupported(im, what, err);
	}
	*v = (int)a[0];
	return 0;
}

/* pads [top, left, bottom, right] from pads or auto_pad for a k x k window
 * of stride s and dilation d over input h x w. */
static int get_pads(imp *im, aoi_shape in, int k, int s, int d, int pads[4], aoi_error *err)
{
	char ap[32];
	int64_t p[8];
	int n;

	aoi_onnx_attr_str(im->node, "auto_pad", ap, sizeof ap);
	memset(pads, 0, 4 * sizeof *pads);
	if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
		int size[2] = {in.h, in.w};
		for (int a = 0; a < 2; a++) {
			int out = (size[a] + s - 1) / s;
			int total = (out - 1) * s + (k - 1) * d + 1 - size[a];
			total = total > 0 ? total : 0;
			pads[a] = ap[5] == 'U' ? total / 2 : total - total / 2;
			pads[a + 2] = total - pads[a];
		}
		return 0;
	}
	if (ap[0] && strcmp(ap, "NOTSET") && strcmp(ap, "VALID"))
		return unsupported(im, "this auto_pad", err);
	if ((n = aoi_onnx_attr_ints(im->node, "pads", p, 8)) < 0 || !strcmp(ap, "VALID"))
		return 0;
	if (n != 4)
		return aoi_onnx_fail(im, err, AOI_EFORMAT, "%d pads for a 2-D window", n);
	for (int i = 0; i < 4; i++) {
		if (p[i] < 0 || p[i] > 1 << 16)
			return aoi_onnx_fail(im, err, AOI_EFORMAT, "pad %lld", (long long)p[i]);
		pads[i] = (int)p[i];
	}
	return 0;
}

/* Pads all alike go to the layer; the rest of uneven ones to a pad node in
 * front of it (filled with value), whose id replaces *in. Returns the
 * layer's pad. */
static int split_pads(imp *im, const int pads[4], float value, int *in, aoi_error *err)
{
	int p = pads[0], rest[4];

	for (int i = 1; i < 4; i++)
		p = pads[i] < p ? pads[i] : p;
	if (pads[0] == p && pads[1] == p && pads[2] == p && pads[3] == p)
		return p;
	for (int i = 0; i < 4; i++)
		rest[i] = pads[i] - p;
	json_t *desc = json_pack("{s:s, s:[i], s:[i,i,i,i]}", "op", "pad", "in", *in, "pads",
				 rest[0], rest[1], rest[2], rest[3]);
	json_object_set_new(desc, "value", isinf(value) ? json_string("-inf") : json_real(value));
	if ((*in = aoi_onnx_emit(im, desc, err)) < 0)
		return -1;
	return p;
}

static int symmetric_pad(imp *im, const int pads[4], aoi_error *err)
{
	char what[96];

	if (pads[0] == pads[1] && pads[0] == pads[2] && pads[0] == pads[3])
		return pads[0];
	snprintf(what, sizeof what, "pads top %d, left %d, bottom %d, right %d", pads[0], pads[1],
		 pads[2], pads[3]);
	return unsupported(im, what, err);
}

/* ---- convolutions ---- */

typedef struct conv_attrs {
	int k, s, d, group, pad;
	int in; /* the node it reads: x, or a pad node before it */
} conv_attrs;

static int read_conv(imp *im, const aoi_onnx_val *x, const aoi_onnx_val *w, conv_attrs *c,
		     aoi_error *err)
{
	int ks, pads[4];

	if (w->ndim != 4 || w->dims[2] != w->dims[3])
		return unsupported(im, "a weight that is not out x in x k x k", err);
	c->k = (int)w->dims[2];
	c->group = (int)aoi_onnx_attr_int(im->node, "group", 1);
	if (square_attr(im, "kernel_shape", c->k, &ks, err) < 0 ||
	    square_attr(im, "strides", 1, &c->s, err) < 0 ||
	    square_attr(im, "dilations", 1, &c->d, err) < 0)
		return -1;
	if (ks != c->k || c->s < 1 || c->d < 1 || c->group < 1)
		return aoi_onnx_fail(im, err, AOI_EFORMAT, "bad kernel, stride, dilation or group");
	c->in = x->node;
	if (get_pads(im, aoi_onnx_shape(im, x), c->k, c->s, c->d, pads, err) < 0 ||
	    (c->pad = split_pads(im, pads, 0.0f, &c->in, err)) < 0)
		return -1;
	return 0;
}

static int op_conv(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 0, err), *w, *b = NULL;
	conv_attrs c;
	int cin, cout, id;

	if (!x || !(w = aoi_onnx_const(im, 1, err)))
		return -1;
	if (w->ndim != 4 || w->is_int)
		return unsupported(im, "a weight that is not a 4-D float constant", err);
	cin = aoi_onnx_shape(im, x).c;
	cout = (int)w->dims[0];
	if (w->dims[1] * (int64_t)aoi_onnx_attr_int(im->node, "group", 1) != cin)
		return aoi_onnx_fail(im, err, AOI_ESHAPE,
				     "weight %lldx%lldx%lldx%lld does not fit %d input channels in %lld groups",
				     (long long)w->dims[0], (long long)w->dims[1], (long long)w->dims[2],
				     (long long)w->dims[3], cin,
				     (long long)aoi_onnx_attr_int(im->node, "group", 1));
	if (aoi_onnx_opt_input(im, 2, err) && !(b = weights(im, 2, (size_t)cout, err)))
		return -1;
	if (read_conv(im, x, w, &c, err) < 0)
		return -1;
	json_t *desc = json_pack("{s:s, s:[i], s:i, s:i, s:i, s:i, s:i, s:i, s:b}", "op", "conv",
				 "in", c.in, "out", cout, "kernel", c.k, "stride", c.s, "pad",
				 c.pad, "dilation", c.d, "groups", c.group, "bias", b != NULL);
	if ((id = emit_out(im, desc, 4, err)) < 0 ||
	    aoi_onnx_set_param(im, id, 0, w->f, w->count, err) < 0 ||
	    (b && aoi_onnx_set_param(im, id, 1, b->f, b->count, err) < 0))
		return -1;
	return 0;
}

static int op_conv_transpose(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 0, err), *w, *b = NULL;
	int k, s, d, ks, op, pads[4], pad, cout, id;

	if (!x || !(w = aoi_onnx_const(im, 1, err)))
		return -1;
	if (w->ndim != 4 || w->dims[2] != w->dims[3] || aoi_onnx_attr_int(im->node, "group", 1) != 1)
		return unsupported(im, "a grouped or non-square transposed convolution", err);
	k = (int)w->dims[2];
	cout = (int)w->dims[1];
	if (square_attr(im, "kernel_shape", k, &ks, err) < 0 ||
	    square_attr(im, "strides", 1, &s, err) < 0 ||
	    square_attr(im, "dilations", 1, &d, err) < 0 ||
	    square_attr(im, "output_padding", 0, &op, err) < 0)
		return -1;
	if (ks != k || d != 1 || aoi_onnx_attr(im->node, "output_shape"))
		return unsupported(im, "dilation or output_shape", err);
	if (get_pads(im, aoi_onnx_shape(im, x), k, s, 1, pads, err) < 0 ||
	    (pad = symmetric_pad(im, pads, err)) < 0)
		return -1;
	if (w->dims[0] != aoi_onnx_shape(im, x).c)
		return aoi_onnx_fail(im, err, AOI_ESHAPE, "weight for %lld inputs, %d given",
				     (long long)w->dims[0], aoi_onnx_shape(im, x).c);
	if (aoi_onnx_opt_input(im, 2, err) && !(b = weights(im, 2, (size_t)cout, err)))
		return -1;
	json_t *desc = json_pack("{s:s, s:[i], s:i, s:i, s:i, s:i, s:i, s:b}", "op",
				 "conv_transpose", "in", x->node, "out", cout, "kernel", k, "stride",
				 s, "pad", pad, "output_pad", op, "bias", b != NULL);
	if ((id = emit_out(im, desc, 4, err)) < 0 ||
	    aoi_onnx_set_param(im, id, 0, w->f, w->count, err) < 0 ||
	    (b && aoi_onnx_set_param(im, id, 1, b->f, b->count, err) < 0))
		return -1;
	return 0;
}

/* ---- normalisation and activations ---- */

static int op_batchnorm(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 1, err), *p[4];
	float eps = aoi_onnx_attr_float(im->node, "epsilon", 1e-5f), *var;
	int c, id;

	if (!x)
		return -1;
	c = aoi_onnx_shape(im, x).c;
	for (int i = 0; i < 4; i++)
		if (!(p[i] = weights(im, i + 1, (size_t)c, err)))
			return -1;
	if (aoi_onnx_attr_int(im->node, "training_mode", 0) || aoi_onnx_output_used(im, 1))
		return unsupported(im, "training mode", err);
	if ((id = emit_out(im, desc1("batchnorm", x->node), x->rank, err)) < 0)
		return -1;
	if (!(var = malloc(sizeof *var * (size_t)c)))
		return aoi_onnx_fail(im, err, AOI_ENOMEM, "out of memory");
	/* aoi's batch norm adds 1e-5f: the same sqrt(var + eps) in inference */
	for (int i = 0; i < c; i++)
		var[i] = eps == 1e-5f ? p[3]->f[i] : (float)((double)p[3]->f[i] + eps - 1e-5f);
	int rc = aoi_onnx_set_param(im, id, 0, p[0]->f, (size_t)c, err) < 0 ||
		 aoi_onnx_set_param(im, id, 1, p[1]->f, (size_t)c, err) < 0 ||
		 aoi_onnx_set_bn_state(im, id, p[2]->f, var, c, err) < 0 ? -1 : 0;
	free(var);
	return rc;
}

static int activation(imp *im, const char *op, float alpha, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 1, err);
	json_t *desc;

	if (!x)
		return -1;
	desc = desc1(op, x->node);
	if (!strcmp(op, "leaky_relu"))
		json_object_set_new(desc, "alpha", json_real(alpha));
	return emit_out(im, desc, x->rank, err) < 0 ? -1 : 0;
}

static int op_relu(imp *im, aoi_error *err)
{
	return activation(im, "relu", 0, err);
}

static int op_sigmoid(imp *im, aoi_error *err)
{
	return activation(im, "sigmoid", 0, err);
}

static int op_leaky(imp *im, aoi_error *err)
{
	return activation(im, "leaky_relu", aoi_onnx_attr_float(im->node, "alpha", 0.01f), err);
}

/* Clip to [0, 6] is ReLU6, to [0, inf) ReLU. */
static int op_clip(imp *im, aoi_error *err)
{
	float lo = -INFINITY, hi = INFINITY;
	char what[80];

	if (im->file.opset < 11) {
		lo = aoi_onnx_attr_float(im->node, "min", lo);
		hi = aoi_onnx_attr_float(im->node, "max", hi);
	} else {
		for (int i = 1; i <= 2; i++) {
			const aoi_onnx_val *v = aoi_onnx_opt_input(im, i, err);
			if (v && !(v = weights(im, i, 1, err)))
				return -1;
			if (v)
				*(i == 1 ? &lo : &hi) = v->f[0];
		}
	}
	if (lo == 0 && hi == 6)
		return activation(im, "relu6", 0, err);
	if (lo == 0 && isinf(hi))
		return activation(im, "relu", 0, err);
	snprintf(what, sizeof what, "Clip to [%g, %g] (only ReLU6 and ReLU)", lo, hi);
	return unsupported(im, what, err);
}

/* Softmax over the channels. */
static int op_softmax(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 1, err);
	int64_t axis;
	aoi_shape s;

	if (!x)
		return -1;
	s = aoi_onnx_shape(im, x);
	axis = aoi_onnx_attr_int(im->node, "axis", im->file.opset >= 13 ? -1 : 1);
	axis = axis < 0 ? axis + x->rank : axis;
	/* before opset 13 the axis flattens everything after it */
	if (axis != 1 || (x->rank == 4 && im->file.opset < 13 && s.h * s.w > 1))
		return unsupported(im, "Softmax over anything but the channels", err);
	return emit_out(im, desc1("softmax", x->node), x->rank, err) < 0 ? -1 : 0;
}

/* ---- pooling ---- */

typedef struct pool_attrs {
	int k, s, pad;
	int in; /* the node it reads: x, or a pad node before it */
} pool_attrs;

/* Output size along one axis as ONNX and PyTorch have it: in ceil mode a
 * last window that would start in the padding after the input is
 * dropped. */
static int pool_out(int in, int k, int s, int p0, int p1, int ceil_mode)
{
	int span = in + p0 + p1 - k, out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;

	if (ceil_mode && (out - 1) * s >= in + p0)
		out--;
	return out;
}

enum pool_kind { POOL_MAX, POOL_AVG, POOL_UNPOOL };

/* Window, stride and pads. Uneven pads go to a pad node before the pool
 * (-inf before a max pool, 0 before an average that counts padding), and
 * so does the extra bottom and right a max pool's ceil mode needs. */
static int read_pool(imp *im, const aoi_onnx_val *x, enum pool_kind kind, pool_attrs *p,
		     aoi_error *err)
{
	aoi_shape s = aoi_onnx_shape(im, x);
	int pads[4], d, ceil_mode = (int)aoi_onnx_attr_int(im->node, "ceil_mode", 0);
	int size[2] = {s.h, s.w};

	if (square_attr(im, "kernel_shape", 0, &p->k, err) < 0 ||
	    square_attr(im, "strides", 1, &p->s, err) < 0 ||
	    square_attr(im, "dilations", 1, &d, err) < 0)
		return -1;
	if (p->k < 1 || p->s < 1 || d != 1 || aoi_onnx_attr_int(im->node, "storage_order", 0))
		return unsupported(im, "a dilated window, column-major indices or no kernel", err);
	if (get_pads(im, s, p->k, p->s, 1, pads, err) < 0)
		return -1;
	if (kind == POOL_AVG && (pads[0] || pads[1] || pads[2] || pads[3]) &&
	    !aoi_onnx_attr_int(im->node, "count_include_pad", 0))
		return unsupported(im, "padding left out of the average (count_include_pad 0)", err);
	for (int a = 0; a < 2 && ceil_mode; a++) {
		int out = pool_out(size[a], p->k, p->s, pads[a], pads[a + 2], 1);
		int extra = (out - 1) * p->s + p->k - (size[a] + pads[a] + pads[a + 2]);
		if (extra > 0 && kind != POOL_MAX)
			return unsupported(im, "ceil_mode where it changes the output size", err);
		pads[a + 2] += extra > 0 ? extra : 0;
	}
	p->in = x->node;
	if (kind == POOL_UNPOOL)
		p->pad = symmetric_pad(im, pads, err);
	else
		p->pad = split_pads(im, pads, kind == POOL_MAX ? -INFINITY : 0.0f, &p->in, err);
	if (p->pad >= 0 && 2 * p->pad > p->k)
		return unsupported(im, "a pad of more than half the window", err);
	return p->pad < 0 ? -1 : 0;
}

static json_t *pool_desc(const char *op, int in, const pool_attrs *p)
{
	return json_pack("{s:s, s:[i], s:i, s:i, s:i}", "op", op, "in", in, "kernel", p->k,
			 "stride", p->s, "pad", p->pad);
}

static int op_maxpool(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 0, err);
	pool_attrs p;
	int id;

	if (!x || read_pool(im, x, POOL_MAX, &p, err) < 0 ||
	    (id = emit_out(im, pool_desc("maxpool", p.in, &p), 4, err)) < 0)
		return -1;
	if (aoi_onnx_output_used(im, 1) && !aoi_onnx_define(im, 1, AOI_OV_INDICES, id, 4, err))
		return -1;
	return 0;
}

static int op_avgpool(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 0, err);
	pool_attrs p;

	if (!x || read_pool(im, x, POOL_AVG, &p, err) < 0)
		return -1;
	return emit_out(im, pool_desc("avgpool", p.in, &p), 4, err) < 0 ? -1 : 0;
}

static int op_global_avgpool(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 0, err);

	return !x || emit_out(im, desc1("global_avgpool", x->node), 4, err) < 0 ? -1 : 0;
}

static int op_global_maxpool(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 0, err);

	return !x || emit_out(im, desc1("global_maxpool", x->node), 4, err) < 0 ? -1 : 0;
}

/* ReduceMean over H and W is a global average pool. */
static int op_reduce_mean(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 0, err), *a = NULL;
	int64_t axes[4];
	int n, keep = (int)aoi_onnx_attr_int(im->node, "keepdims", 1);

	if (!x)
		return -1;
	if (im->file.opset >= 18 && (a = aoi_onnx_opt_input(im, 1, err)) &&
	    !(a = aoi_onnx_const(im, 1, err)))
		return -1;
	n = a ? (a->is_int && a->count <= 4 ? (int)a->count : -1)
	      : aoi_onnx_attr_ints(im->node, "axes", axes, 4);
	if (a && n > 0)
		memcpy(axes, a->i, sizeof(int64_t) * (size_t)n);
	for (int i = 0; i < n; i++)
		axes[i] = axes[i] < 0 ? axes[i] + 4 : axes[i];
	if (n != 2 || !((axes[0] == 2 && axes[1] == 3) || (axes[0] == 3 && axes[1] == 2)))
		return unsupported(im, "ReduceMean over anything but height and width", err);
	return emit_out(im, desc1("global_avgpool", x->node), keep ? 4 : 2, err) < 0 ? -1 : 0;
}

static int op_maxunpool(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 0, err), *ix, *os;
	aoi_node_info pool, src;
	aoi_shape want;

	if (!x || !(ix = aoi_onnx_input(im, 1, err)))
		return -1;
	if (ix->kind != AOI_OV_INDICES)
		return unsupported(im, "indices that are not a MaxPool's", err);
	aoi_net_node_info(im->net, ix->node, &pool);
	aoi_net_node_info(im->net, pool.inputs[0], &src);
	want = src.out;
	if ((os = aoi_onnx_opt_input(im, 2, err))) {
		if (!(os = aoi_onnx_const(im, 2, err)))
			return -1;
		if (!os->is_int || os->count != 4 || os->i[1] != want.c || os->i[2] != want.h ||
		    os->i[3] != want.w)
			return unsupported(im, "an output_shape other than the pool's input", err);
	} else {
		pool_attrs p;
		if (read_pool(im, x, POOL_UNPOOL, &p, err) < 0)
			return -1;
		aoi_shape s = aoi_onnx_shape(im, x);
		if ((s.h - 1) * p.s - 2 * p.pad + p.k != want.h ||
		    (s.w - 1) * p.s - 2 * p.pad + p.k != want.w)
			return unsupported(im, "an output size other than the pool's input", err);
	}
	return emit_out(im, json_pack("{s:s, s:[i,i]}", "op", "maxunpool", "in", x->node, ix->node),
			4, err) < 0 ? -1 : 0;
}

/* ---- resizing ---- */

/* The integer factor of scales [1, 1, f, f] or sizes [n, c, f h, f w]. */
static int resize_factor(imp *im, const aoi_onnx_val *x, int scales_in, int sizes_in,
			 aoi_error *err)
{
	const aoi_onnx_val *sc = scales_in >= 0 ? aoi_onnx_opt_input(im, scales_in, err) : NULL;
	const aoi_onnx_val *sz = sizes_in >= 0 ? aoi_onnx_opt_input(im, sizes_in, err) : NULL;
	aoi_shape s = aoi_onnx_shape(im, x);
	float fh = 0, fw = -1;
	float a[4];

	if (sc && (sc = aoi_onnx_const(im, scales_in, err)) && sc->count == 4 && !sc->is_int) {
		fh = sc->f[2];
		fw = sc->f[3];
		if (sc->f[0] != 1 || sc->f[1] != 1)
			fh = 0;
	} else if (sz && (sz = aoi_onnx_const(im, sizes_in, err)) && sz->count == 4 && sz->is_int) {
		fh = (float)sz->i[2] / s.h;
		fw = (float)sz->i[3] / s.w;
	} else if (im->file.opset < 9 && aoi_onnx_attr(im->node, "scales") &&
		   aoi_onnx_attr(im->node, "scales")->n_floats == 4) {
		memcpy(a, aoi_onnx_attr(im->node, "scales")->floats, sizeof a);
		fh = a[0] == 1 && a[1] == 1 ? a[2] : 0;
		fw = a[3];
	}
	if (fh != fw || fh < 1 || fh > 64 || fh != floorf(fh))
		return unsupported(im, "resizing by anything but one integer factor", err);
	return (int)fh;
}

/* Whether the coordinate mapping gives PyTorch's nearest (floor(dst / f))
 * or bilinear (align_corners false) at an integer factor. */
static int resize_mode(imp *im, int *bilinear, aoi_error *err)
{
	char mode[32], ctm[40], nm[32];
	int resize11 = !strcmp(im->node->op_type, "Resize") && im->file.opset >= 11;

	aoi_onnx_attr_str(im->node, "mode", mode, sizeof mode);
	aoi_onnx_attr_str(im->node, "coordinate_transformation_mode", ctm, sizeof ctm);
	aoi_onnx_attr_str(im->node, "nearest_mode", nm, sizeof nm);
	if (!ctm[0])
		snprintf(ctm, sizeof ctm, "%s", resize11 ? "half_pixel" : "asymmetric");
	if (!nm[0])
		snprintf(nm, sizeof nm, "%s", resize11 ? "round_prefer_floor" : "floor");
	*bilinear = !strcmp(mode, "linear") || !strcmp(mode, "bilinear");
	if (*bilinear && (!strcmp(ctm, "half_pixel") || !strcmp(ctm, "pytorch_half_pixel")))
		return 0;
	if (!*bilinear && (!mode[0] || !strcmp(mode, "nearest")) &&
	    (!strcmp(ctm, "half_pixel") || !strcmp(ctm, "pytorch_half_pixel") ||
	     (!strcmp(ctm, "asymmetric") && !strcmp(nm, "floor"))))
		return 0;
	char what[160];
	snprintf(what, sizeof what, "%s resizing with %s coordinates", mode[0] ? mode : "nearest",
		 ctm);
	return unsupported(im, what, err);
}

static int op_resize(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 0, err);
	int resize11 = !strcmp(im->node->op_type, "Resize") && im->file.opset >= 11;
	int f, bilinear;

	if (!x || resize_mode(im, &bilinear, err) < 0 ||
	    (f = resize_factor(im, x, resize11 ? 2 : 1, resize11 ? 3 : -1, err)) < 0)
		return -1;
	if (f == 1)
		return aoi_onnx_alias(im, 0, x, err);
	return emit_out(im, json_pack("{s:s, s:[i], s:i, s:s}", "op", "upsample", "in", x->node,
				      "factor", f, "mode", bilinear ? "bilinear" : "nearest"),
			4, err) < 0 ? -1 : 0;
}

/* ---- joining ---- */

static int op_concat(imp *im, aoi_error *err)
{
	const Onnx__NodeProto *n = im->node;
	const aoi_onnx_val *x;
	json_t *in = json_array();
	int rank = 0;
	int64_t axis = aoi_onnx_attr_int(n, "axis", 1);

	if (n->n_input < 1 || n->n_input > 8)
		return unsupported(im, "a Concat of more than 8 tensors", err);
	for (size_t j = 0; j < n->n_input; j++) {
		if (!(x = aoi_onnx_tensor(im, (int)j, 1, err))) {
			json_decref(in);
			return -1;
		}
		rank = x->rank;
		json_array_append_new(in, json_integer(x->node));
	}
	if ((axis < 0 ? axis + rank : axis) != 1) {
		json_decref(in);
		return unsupported(im, "a Concat along anything but the channels", err);
	}
	return emit_out(im, json_pack("{s:s, s:o}", "op", "concat", "in", in), rank, err) < 0 ? -1
											      : 0;
}

static int op_add(imp *im, aoi_error *err)
{
	const aoi_onnx_val *a = aoi_onnx_input(im, 0, err), *b = aoi_onnx_input(im, 1, err);
	aoi_shape sa, sb;

	if (!a || !b)
		return -1;
	if (a->kind != AOI_OV_NODE || b->kind != AOI_OV_NODE)
		return unsupported(im, "adding a constant (other than a MatMul's bias)", err);
	sa = aoi_onnx_shape(im, a);
	sb = aoi_onnx_shape(im, b);
	if (sa.c != sb.c || sa.h != sb.h || sa.w != sb.w || a->rank != b->rank)
		return unsupported(im, "adding tensors of different shapes (broadcasting)", err);
	return emit_out(im, json_pack("{s:s, s:[i,i]}", "op", "add", "in", a->node, b->node),
			a->rank, err) < 0 ? -1 : 0;
}

/* ---- fully connected ---- */

/* A dense node from weight rows W (out x in, aoi's layout) and a bias
 * (NULL: none). */
static int emit_dense(imp *im, const aoi_onnx_val *x, const float *w, int out, int in,
		      const float *bias, aoi_error *err)
{
	aoi_shape s = aoi_onnx_shape(im, x);
	int id;

	if ((long)s.c * s.h * s.w != in)
		return aoi_onnx_fail(im, err, AOI_ESHAPE, "a weight for %d inputs, %ld given", in,
				     (long)s.c * s.h * s.w);
	json_t *desc = json_pack("{s:s, s:[i], s:i, s:b}", "op", "dense", "in", x->node, "out", out,
				 "bias", bias != NULL);
	if ((id = emit_out(im, desc, 2, err)) < 0 ||
	    aoi_onnx_set_param(im, id, 0, w, (size_t)out * (size_t)in, err) < 0 ||
	    (bias && aoi_onnx_set_param(im, id, 1, bias, (size_t)out, err) < 0))
		return -1;
	return 0;
}

/* out x in rows from B (k x m, or m x k when trans), times alpha. */
static float *dense_rows(const aoi_onnx_val *b, int trans, float alpha)
{
	size_t k = (size_t)b->dims[0], m = (size_t)b->dims[1];
	float *w = malloc(sizeof *w * k * m);

	for (size_t i = 0; w && i < k; i++)
		for (size_t j = 0; j < m; j++)
			w[trans ? i * m + j : j * k + i] = alpha * b->f[i * m + j];
	return w;
}

static int op_gemm(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 1, err), *b, *c = NULL;
	int tb = (int)aoi_onnx_attr_int(im->node, "transB", 0), out, rc;
	float alpha = aoi_onnx_attr_float(im->node, "alpha", 1), beta = aoi_onnx_attr_float(im->node, "beta", 1);
	float *w, *bias = NULL;

	if (!x || !(b = aoi_onnx_const(im, 1, err)))
		return -1;
	if (aoi_onnx_attr_int(im->node, "transA", 0) || b->ndim != 2 || b->is_int)
		return unsupported(im, "transA, or a B that is not a 2-D float constant", err);
	out = (int)b->dims[tb ? 0 : 1];
	if ((c = aoi_onnx_opt_input(im, 2, err)) && !(c = aoi_onnx_const(im, 2, err)))
		return -1;
	if (c && (c->is_int || (c->count != 1 && c->count != (size_t)out)))
		return unsupported(im, "a C that is not one value or one per output", err);
	w = dense_rows(b, tb, alpha);
	bias = c ? malloc(sizeof *bias * (size_t)out) : NULL;
	for (int i = 0; bias && i < out; i++)
		bias[i] = beta * c->f[c->count == 1 ? 0 : i];
	if (!w || (c && !bias))
		rc = aoi_onnx_fail(im, err, AOI_ENOMEM, "out of memory");
	else
		rc = emit_dense(im, x, w, out, (int)b->dims[tb ? 1 : 0], bias, err);
	free(w);
	free(bias);
	return rc;
}

/* The Add that adds a constant of n values to the MatMul's output (its
 * one reader) and that constant, or -1. */
static int bias_add(imp *im, size_t n, aoi_onnx_val **bias, aoi_error *err)
{
	const Onnx__GraphProto *g = im->file.model->graph;
	const char *y = im->node->output[0];

	if (im->uses[im->index] != 1)
		return -1;
	for (size_t k = (size_t)im->index + 1; k < g->n_node; k++) {
		const Onnx__NodeProto *a = g->node[k];
		int at = -1;
		for (size_t j = 0; j < a->n_input; j++)
			at = strcmp(a->input[j], y) ? at : (int)j;
		if (at < 0)
			continue;
		if (strcmp(a->op_type, "Add") || a->n_input != 2)
			return -1;
		*bias = aoi_onnx_find(im, a->input[1 - at]);
		if (!*bias || (*bias)->kind != AOI_OV_CONST || aoi_onnx_load(im, *bias, err) < 0 ||
		    (*bias)->is_int || (*bias)->count != n)
			return -1;
		return (int)k;
	}
	return -1;
}

/* MatMul by a constant: a dense layer, which takes the bias of an Add
 * after it. */
static int op_matmul(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 1, err), *b;
	aoi_onnx_val *c = NULL;
	int add, out, rc;
	float *w;

	if (!x || !(b = aoi_onnx_const(im, 1, err)))
		return -1;
	if (x->rank != 2 || b->ndim != 2 || b->is_int)
		return unsupported(im, "MatMul but of a 2-D tensor by a 2-D float constant", err);
	out = (int)b->dims[1];
	add = bias_add(im, (size_t)out, &c, err);
	if (!(w = dense_rows(b, 0, 1.0f)))
		return aoi_onnx_fail(im, err, AOI_ENOMEM, "out of memory");
	rc = emit_dense(im, x, w, out, (int)b->dims[0], add >= 0 ? c->f : NULL, err);
	free(w);
	if (rc == 0 && add >= 0) {
		aoi_onnx_val y = *aoi_onnx_find(im, im->node->output[0]);
		im->skip[add] = 1;
		im->node = im->file.model->graph->node[add];
		im->index = add;
		rc = aoi_onnx_alias(im, 0, &y, err);
	}
	return rc;
}

/* ---- shapes ---- */

/* N x C x H x W into N x (C H W): a flatten node, or nothing when it is
 * already N x C. */
static int to_2d(imp *im, const aoi_onnx_val *x, aoi_error *err)
{
	aoi_onnx_val y = *x;

	if (x->rank == 2)
		return aoi_onnx_alias(im, 0, x, err);
	if (aoi_onnx_shape(im, x).h == 1 && aoi_onnx_shape(im, x).w == 1) {
		y.rank = 2;
		return aoi_onnx_alias(im, 0, &y, err);
	}
	return emit_out(im, desc1("flatten", x->node), 2, err) < 0 ? -1 : 0;
}

static int op_flatten(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 1, err);
	int64_t axis = aoi_onnx_attr_int(im->node, "axis", 1);

	if (!x)
		return -1;
	if ((axis < 0 ? axis + x->rank : axis) != 1)
		return unsupported(im, "Flatten at an axis other than 1", err);
	return to_2d(im, x, err);
}

/* Reshape to N x (C H W) (the first dimension the batch: 0, -1 or the
 * batch from a Shape) or to the shape it has. */
static int op_reshape(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 1, err), *t;
	aoi_shape s;
	int64_t feat;
	aoi_onnx_val y;

	if (!x || !(t = aoi_onnx_const(im, 1, err)))
		return -1;
	s = aoi_onnx_shape(im, x);
	feat = (int64_t)s.c * s.h * s.w;
	if (t->is_int && t->count == 2 &&
	    (t->i[0] == AOI_ONNX_BATCH || t->i[0] == 0 || (t->i[0] == -1 && t->i[1] == feat)) &&
	    (t->i[1] == -1 || t->i[1] == feat))
		return to_2d(im, x, err);
	if (t->is_int && t->count == 4 &&
	    (t->i[0] == AOI_ONNX_BATCH || t->i[0] == 0 || t->i[0] == -1) && t->i[1] == s.c &&
	    t->i[2] == s.h && t->i[3] == s.w) {
		y = *x;
		y.rank = 4;
		return aoi_onnx_alias(im, 0, &y, err);
	}
	return unsupported(im, "Reshape to anything but N x features (or no change)", err);
}

/* Squeeze of the 1 x 1 of N x C x 1 x 1, Unsqueeze back. */
static int op_squeeze(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 1, err), *a;
	int unsq = !strcmp(im->node->op_type, "Unsqueeze");
	int64_t axes[4];
	int n;
	aoi_onnx_val y;

	if (!x)
		return -1;
	if (im->file.opset >= 13 && (a = aoi_onnx_opt_input(im, 1, err)) &&
	    (a = aoi_onnx_const(im, 1, err)) && a->is_int && a->count <= 4) {
		n = (int)a->count;
		memcpy(axes, a->i, sizeof(int64_t) * (size_t)n);
	} else {
		n = aoi_onnx_attr_ints(im->node, "axes", axes, 4);
	}
	for (int i = 0; i < n; i++)
		axes[i] = axes[i] < 0 ? axes[i] + (unsq ? 4 : x->rank) : axes[i];
	y = *x;
	y.rank = unsq ? 4 : 2;
	if (x->rank == (unsq ? 2 : 4) && n == 2 && axes[0] + axes[1] == 5 &&
	    aoi_onnx_shape(im, x).h == 1 && aoi_onnx_shape(im, x).w == 1)
		return aoi_onnx_alias(im, 0, &y, err);
	return unsupported(im, "squeezing anything but the 1 x 1 of N x C x 1 x 1", err);
}

static int op_dropout(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 1, err), *r;
	float p = 0.5f;

	if (!x)
		return -1;
	if (im->file.opset < 12)
		p = aoi_onnx_attr_float(im->node, "ratio", p);
	else if ((r = aoi_onnx_opt_input(im, 1, err)) && (r = weights(im, 1, 1, err)))
		p = r->f[0];
	if (aoi_onnx_output_used(im, 1))
		return unsupported(im, "a Dropout whose mask is read", err);
	if (p <= 0 || (im->file.opset >= 12 && aoi_onnx_opt_input(im, 2, err)))
		return aoi_onnx_alias(im, 0, x, err);
	return emit_out(im, json_pack("{s:s, s:[i], s:f}", "op", "dropout", "in", x->node, "p", p),
			x->rank, err) < 0 ? -1 : 0;
}

/* Pad with a constant, on height and width only. */
static int op_pad(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_tensor(im, 0, 0, err), *pv, *vv;
	char mode[32];
	int64_t p[8];
	int n, pads[4];
	float value = 0;

	if (!x)
		return -1;
	if (strcmp(aoi_onnx_attr_str(im->node, "mode", mode, sizeof mode), "constant") && mode[0])
		return unsupported(im, "a Pad that is not constant", err);
	if (im->file.opset < 11) {
		n = aoi_onnx_attr_ints(im->node, "pads", p, 8);
		value = aoi_onnx_attr_float(im->node, "value", 0);
	} else {
		if (!(pv = aoi_onnx_const(im, 1, err)))
			return -1;
		n = pv->is_int && pv->count == 8 ? 8 : -1;
		if (n == 8)
			memcpy(p, pv->i, sizeof p);
		if ((vv = aoi_onnx_opt_input(im, 2, err)) && !(vv = weights(im, 2, 1, err)))
			return -1;
		value = vv ? vv->f[0] : 0;
		if (aoi_onnx_opt_input(im, 3, err))
			return unsupported(im, "Pad axes", err);
	}
	if (n != 8 || p[0] || p[1] || p[4] || p[5] || p[2] < 0 || p[3] < 0 || p[6] < 0 || p[7] < 0)
		return unsupported(im, "padding but of height and width, or cropping", err);
	pads[0] = (int)p[2], pads[1] = (int)p[3], pads[2] = (int)p[6], pads[3] = (int)p[7];
	if (!pads[0] && !pads[1] && !pads[2] && !pads[3])
		return aoi_onnx_alias(im, 0, x, err);
	json_t *desc = json_pack("{s:s, s:[i], s:[i,i,i,i]}", "op", "pad", "in", x->node, "pads",
				 pads[0], pads[1], pads[2], pads[3]);
	json_object_set_new(desc, "value", isinf(value) && value < 0 ? json_string("-inf")
								      : json_real(value));
	if (!isfinite(value) && !(isinf(value) && value < 0)) {
		json_decref(desc);
		return unsupported(im, "padding with infinity or NaN", err);
	}
	return emit_out(im, desc, 4, err) < 0 ? -1 : 0;
}

static int op_identity(imp *im, aoi_error *err)
{
	const aoi_onnx_val *x = aoi_onnx_input(im, 0, err);

	return !x || aoi_onnx_alias(im, 0, x, err) < 0 ? -1 : 0;
}

/* ---- the table ---- */

static const struct {
	const char *op;
	int (*fn)(imp *, aoi_error *);
} op_table[] = {
	{"Conv", op_conv},
	{"ConvTranspose", op_conv_transpose},
	{"BatchNormalization", op_batchnorm},
	{"Relu", op_relu},
	{"LeakyRelu", op_leaky},
	{"Sigmoid", op_sigmoid},
	{"Clip", op_clip},
	{"Softmax", op_softmax},
	{"MaxPool", op_maxpool},
	{"AveragePool", op_avgpool},
	{"GlobalAveragePool", op_global_avgpool},
	{"GlobalMaxPool", op_global_maxpool},
	{"ReduceMean", op_reduce_mean},
	{"MaxUnpool", op_maxunpool},
	{"Resize", op_resize},
	{"Upsample", op_resize},
	{"Concat", op_concat},
	{"Add", op_add},
	{"Gemm", op_gemm},
	{"MatMul", op_matmul},
	{"Flatten", op_flatten},
	{"Reshape", op_reshape},
	{"Squeeze", op_squeeze},
	{"Unsqueeze", op_squeeze},
	{"Dropout", op_dropout},
	{"Identity", op_identity},
	{"Pad", op_pad},
};

int aoi_onnx_map(aoi_onnx_importer *im, aoi_error *err)
{
	const Onnx__NodeProto *n = im->node;
	const char *dom = n->domain && *n->domain && strcmp(n->domain, "ai.onnx") ? n->domain : NULL;

	for (size_t i = 0; !dom && i < sizeof op_table / sizeof op_table[0]; i++)
		if (!strcmp(n->op_type, op_table[i].op))
			return op_table[i].fn(im, err);
	return aoi_error_set(err, AOI_EFORMAT, im->file.path, 0,
			     "unsupported operator '%s%s%s' (node '%s')", dom ? dom : "",
			     dom ? ":" : "", n->op_type, n->name && *n->name ? n->name : "(unnamed)");
}
