/* pool.c: 2-D pooling as PyTorch's MaxPool2d (floor mode, padding counts as
 * -inf, argmax kept per plane as iy * W + ix like return_indices=True),
 * AvgPool2d (floor mode, padding counted in the divisor) and
 * AdaptiveAvgPool2d (bin i covers floor(i*H/oh) .. ceil((i+1)*H/oh)); the
 * global average pool is the adaptive one to 1x1. */
#include "nn/layers/layers.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct pool_priv {
	int k, s, p;
} pool_priv;

typedef struct adaptive_priv {
	int oh, ow, global;
} adaptive_priv;

static int window_shape(aoi_net *net, aoi_node *node, aoi_error *err)
{
	const pool_priv *pp = node->priv;
	aoi_shape in = aoi_nn_in(net, node, 0)->out;

	if (in.h + 2 * pp->p < pp->k || in.w + 2 * pp->p < pp->k)
		return aoi_nn_shape_error(err, net, node,
					  "input %dx%d is smaller than the %dx%d window",
					  in.w, in.h, pp->k, pp->k);
	node->out = (aoi_shape){in.n, in.c, (in.h + 2 * pp->p - pp->k) / pp->s + 1,
				(in.w + 2 * pp->p - pp->k) / pp->s + 1};
	return 0;
}

static double pool_flops(const aoi_net *net, const aoi_node *node)
{
	const pool_priv *pp = node->priv;

	(void)net;
	return (double)aoi_nn_numel(node->out) * pp->k * pp->k;
}

static size_t maxpool_aux(const aoi_net *net, const aoi_node *node)
{
	(void)net;
	return aoi_nn_numel(node->out); /* int32 indices */
}

/* Output ox of a row from its window clipped to the image: branch-free, a
 * NaN wins as in PyTorch, the first of equal maxima keeps its index. */
static void maxpool_one(const float *x, float *y, int32_t *idx, int w,
			const pool_priv *pp, int y0, int y1, int ox)
{
	int x0 = ox * pp->s - pp->p, x1 = x0 + pp->k, best;
	float m;

	x0 = x0 < 0 ? 0 : x0;
	x1 = x1 > w ? w : x1;
	best = y0 * w + x0;
	m = x[best];
	for (int iy = y0; iy < y1; iy++)
		for (int ix = x0; ix < x1; ix++) {
			float v = x[iy * w + ix];
			int take = v > m || v != v;
			m = take ? v : m;
			best = take ? iy * w + ix : best;
		}
	y[ox] = m;
	idx[ox] = best;
}

typedef float pool_v16 __attribute__((vector_size(64)));
typedef float pool_v16u __attribute__((vector_size(64), aligned(4)));
typedef int32_t pool_i16 __attribute__((vector_size(64)));

/* x[off + j s] for j < 16, of a plane of n floats. */
static void strided16(const float *x, size_t off, int s, size_t n, pool_v16 *v)
{
	if (s == 1) {
		*v = *(const pool_v16u *)(x + off);
	} else if (s == 2 && off + 32 <= n) {
		pool_v16 a = *(const pool_v16u *)(x + off), b = *(const pool_v16u *)(x + off + 16);
		*v = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,
					     22, 24, 26, 28, 30);
	} else {
		for (int j = 0; j < 16; j++)
			(*v)[j] = x[off + (size_t)j * s];
	}
}

/* x[off + step[j]]: whole vectors when all 16 lanes are used. */
static void lanes(const float *x, int off, const pool_i16 *step, int c, int s,
		  size_t n, pool_v16 *v)
{
	if (c == 16) {
		strided16(x, (size_t)off, s, n, v);
		return;
	}
	for (int j = 0; j < 16; j++)
		(*v)[j] = x[off + (*step)[j]];
}

/* Outputs [ox, ox + c) of a row (c <= 16), whose windows lie inside the
 * image's columns, in one vector with the same scan (window rows, then
 * columns) and the same rule as maxpool_one: the compares are masks, not
 * branches that a random image mispredicts. Lanes past c repeat the last
 * output. */
static void maxpool_block(const float *x, float *y, int32_t *idx, int h, int w,
			  const pool_priv *pp, int y0, int y1, int ox, int c)
{
	size_t n = (size_t)h * w;
	pool_i16 step;
	pool_v16 m;
	pool_i16 b;
	int first = y0 * w + ox * pp->s - pp->p;
	float ys[16];
	int32_t is[16];

	for (int j = 0; j < 16; j++)
		step[j] = (j < c ? j : c - 1) * pp->s;
	lanes(x, first, &step, c, pp->s, n, &m);
	b = first + step;
	for (int iy = y0; iy < y1; iy++)
		for (int kx = 0; kx < pp->k; kx++) {
			int base = iy * w + kx - pp->p + ox * pp->s;
			pool_v16 v;
			pool_i16 take;

			lanes(x, base, &step, c, pp->s, n, &v);
			take = (v > m) | (v != v);
			m = (pool_v16)(((pool_i16)v & take) | ((pool_i16)m & ~take));
			b = ((base + step) & take) | (b & ~take);
		}
	memcpy(ys, &m, sizeof ys);
	memcpy(is, &b, sizeof is);
	memcpy(y + ox, ys, sizeof(float) * c);
	memcpy(idx + ox, is, sizeof(int32_t) * c);
}

static void maxpool_plane(const float *x, float *y, int32_t *idx, int h, int w,
			  const pool_priv *pp, int oh, int ow)
{
	/* outputs whose window starts at column >= 0 and ends by w */
	int lo = (pp->p + pp->s - 1) / pp->s, hi = (w - pp->k + pp->p) / pp->s + 1;

	hi = hi > ow ? ow : hi;
	lo = lo > hi ? hi : lo;
	for (int oy = 0; oy < oh; oy++) {
		int y0 = oy * pp->s - pp->p, y1 = y0 + pp->k;
		float *yr = y + (size_t)oy * ow;
		int32_t *ir = idx + (size_t)oy * ow;

		y0 = y0 < 0 ? 0 : y0;
		y1 = y1 > h ? h : y1;
		for (int ox = 0; ox < lo; ox++)
			maxpool_one(x, yr, ir, w, pp, y0, y1, ox);
		for (int ox = lo; ox < hi; ox += 16)
			maxpool_block(x, yr, ir, h, w, pp, y0, y1, ox,
				      hi - ox < 16 ? hi - ox : 16);
		for (int ox = hi; ox < ow; ox++)
			maxpool_one(x, yr, ir, w, pp, y0, y1, ox);
	}
}

static void maxpool_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	const aoi_node *in = aoi_nn_in(net, node, 0);
	aoi_shape s = node->out;
	size_t ihw = (size_t)in->out.h * in->out.w, ohw = (size_t)s.h * s.w;
	int32_t *idx = (int32_t *)node->aux;

	(void)training;
	(void)rng;
#pragma omp parallel for schedule(static)
	for (int pl = 0; pl < s.n * s.c; pl++)
		maxpool_plane(in->y + pl * ihw, node->y + pl * ohw, idx + pl * ohw,
			      in->out.h, in->out.w, node->priv, s.h, s.w);
}

static void maxpool_backward(aoi_net *net, aoi_node *node, const aoi_bwd *b)
{
	aoi_node *in = aoi_nn_in(net, node, 0);
	aoi_shape s = node->out;
	size_t ihw = (size_t)in->out.h * in->out.w, ohw = (size_t)s.h * s.w;
	const int32_t *idx = (const int32_t *)node->aux;

	if (!aoi_nn_dx_wanted(b, 0))
		return;
#pragma omp parallel for schedule(static)
	for (int pl = 0; pl < s.n * s.c; pl++) {
		float *dx = in->dy + pl * ihw;
		for (size_t i = 0; i < ohw; i++)
			dx[idx[pl * ohw + i]] += node->dy[pl * ohw + i];
	}
}

/* Average over [y0, y1) x [x0, x1) divided by div; backward spreads it. */
typedef struct avg_bin {
	int y0, y1, x0, x1;
	float div;
} avg_bin;

static avg_bin window_bin(const pool_priv *pp, int oy, int ox, int h, int w)
{
	avg_bin b = {oy * pp->s - pp->p, 0, ox * pp->s - pp->p, 0,
		     (float)(pp->k * pp->k)};

	b.y1 = b.y0 + pp->k < h ? b.y0 + pp->k : h;
	b.x1 = b.x0 + pp->k < w ? b.x0 + pp->k : w;
	b.y0 = b.y0 < 0 ? 0 : b.y0;
	b.x0 = b.x0 < 0 ? 0 : b.x0;
	return b;
}

static avg_bin adaptive_bin(int oy, int ox, int h, int w, int oh, int ow)
{
	avg_bin b;

	b.y0 = oy * h / oh;
	b.y1 = ((oy + 1) * h + oh - 1) / oh;
	b.x0 = ox * w / ow;
	b.x1 = ((ox + 1) * w + ow - 1) / ow;
	b.div = (float)((b.y1 - b.y0) * (b.x1 - b.x0));
	return b;
}

static avg_bin node_bin(const aoi_node *node, int oy, int ox, int h, int w)
{
	if (node->ops == &aoi_nn_avgpool_ops)
		return window_bin(node->priv, oy, ox, h, w);
	return adaptive_bin(oy, ox, h, w, node->out.h, node->out.w);
}

static void avg_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	const aoi_node *in = aoi_nn_in(net, node, 0);
	aoi_shape s = node->out;
	int h = in->out.h, w = in->out.w;

	(void)training;
	(void)rng;
#pragma omp parallel for schedule(static)
	for (int pl = 0; pl < s.n * s.c; pl++) {
		const float *x = in->y + (size_t)pl * h * w;
		for (int oy = 0; oy < s.h; oy++)
			for (int ox = 0; ox < s.w; ox++) {
				avg_bin b = node_bin(node, oy, ox, h, w);
				double sum = 0.0;
				for (int iy = b.y0; iy < b.y1; iy++)
					for (int ix = b.x0; ix < b.x1; ix++)
						sum += x[iy * w + ix];
				node->y[((size_t)pl * s.h + oy) * s.w + ox] = (float)(sum / b.div);
			}
	}
}

static void avg_backward(aoi_net *net, aoi_node *node, const aoi_bwd *bw)
{
	aoi_node *in = aoi_nn_in(net, node, 0);
	aoi_shape s = node->out;
	int h = in->out.h, w = in->out.w;

	if (!aoi_nn_dx_wanted(bw, 0))
		return;
#pragma omp parallel for schedule(static)
	for (int pl = 0; pl < s.n * s.c; pl++) {
		float *dx = in->dy + (size_t)pl * h * w;
		for (int oy = 0; oy < s.h; oy++)
			for (int ox = 0; ox < s.w; ox++) {
				avg_bin b = node_bin(node, oy, ox, h, w);
				float g = node->dy[((size_t)pl * s.h + oy) * s.w + ox] / b.div;
				for (int iy = b.y0; iy < b.y1; iy++)
					for (int ix = b.x0; ix < b.x1; ix++)
						dx[iy * w + ix] += g;
			}
	}
}

static int adaptive_shape(aoi_net *net, aoi_node *node, aoi_error *err)
{
	const adaptive_priv *a = node->priv;
	aoi_shape in = aoi_nn_in(net, node, 0)->out;

	(void)err;
	node->out = (aoi_shape){in.n, in.c, a->oh, a->ow};
	node->fixed = 1;
	return 0;
}

static double adaptive_flops(const aoi_net *net, const aoi_node *node)
{
	return (double)aoi_nn_numel(aoi_nn_in(net, node, 0)->out);
}

static const char *adaptive_name(const aoi_node *node)
{
	const adaptive_priv *a = node->priv;
	return a->global ? "global_avgpool" : "adaptive_avgpool";
}

const aoi_layer_ops aoi_nn_maxpool_ops = {
	.kind = "maxpool",
	.shape = window_shape,
	.aux_floats = maxpool_aux,
	.flops = pool_flops,
	.forward = maxpool_forward,
	.backward = maxpool_backward,
};

const aoi_layer_ops aoi_nn_avgpool_ops = {
	.kind = "avgpool",
	.shape = window_shape,
	.flops = pool_flops,
	.forward = avg_forward,
	.backward = avg_backward,
};

const aoi_layer_ops aoi_nn_adaptive_avgpool_ops = {
	.kind = "adaptive_avgpool",
	.shape = adaptive_shape,
	.flops = adaptive_flops,
	.forward = avg_forward,
	.backward = avg_backward,
	.name = adaptive_name,
};

static int add_window_pool(aoi_net *net, const aoi_layer_ops *ops, int in,
			   int kernel, int stride, int pad, aoi_error *err)
{
	pool_priv pp = {kernel, stride, pad};

	if (aoi_nn_check_input(net, in, err) < 0)
		return -1;
	if (kernel < 1 || stride < 1 || pad < 0 || pad > kernel / 2)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "pool: bad kernel %d, stride %d, pad %d (pad at most half the kernel)",
				     kernel, stride, pad);
	return aoi_nn_add_node(net, ops, 1, &in, &pp, sizeof pp, err);
}

int aoi_net_maxpool(aoi_net *net, int in, int kernel, int stride, int pad,
		    aoi_error *err)
{
	return add_window_pool(net, &aoi_nn_maxpool_ops, in, kernel, stride, pad, err);
}

int aoi_net_avgpool(aoi_net *net, int in, int kernel, int stride, int pad,
		    aoi_error *err)
{
	return add_window_pool(net, &aoi_nn_avgpool_ops, in, kernel, stride, pad, err);
}

static int add_adaptive(aoi_net *net, int in, int oh, int ow, int global,
			aoi_error *err)
{
	adaptive_priv a = {oh, ow, global};

	if (aoi_nn_check_input(net, in, err) < 0)
		return -1;
	if (oh < 1 || ow < 1)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "adaptive pool to %dx%d", ow, oh);
	return aoi_nn_add_node(net, &aoi_nn_adaptive_avgpool_ops, 1, &in, &a, sizeof a, err);
}

int aoi_net_adaptive_avgpool(aoi_net *net, int in, int out_h, int out_w,
			     aoi_error *err)
{
	return add_adaptive(net, in, out_h, out_w, 0, err);
}

int aoi_net_global_avgpool(aoi_net *net, int in, aoi_error *err)
{
	return add_adaptive(net, in, 1, 1, 1, err);
}
