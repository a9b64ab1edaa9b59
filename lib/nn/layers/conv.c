/* conv.c: 2-D convolution as PyTorch's Conv2d (square kernel, stride,
 * padding, dilation, groups). Weight out x in/groups x k x k, bias out.
 * Three ways to run it: depthwise (groups = in channels) with the direct
 * kernel, 1x1 stride 1 as a plain product on the NCHW planes (forward:
 * aoi's own, kernels_direct.h; backward: sgemm), and the rest as
 * im2col + sgemm over bands of output rows so that the column buffer stays
 * small. After aoi_net_fuse_for_inference() a following batch norm lives
 * in folded weights and an activation in the epilogue. */
#include "nn/layers/layers.h"
#include "nn/kernels/kernels.h"
#include "nn/kernels/kernels_direct.h"
#include "nn/kernels/kernels_winograd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>

/* Weight gradients of direct convolutions with at most this many outputs
 * (a segmentation head) are direct too: sgemm with M = 2 crawls. Above it
 * sgemm wins (measured: 16 and 32 outputs were slower direct, as the
 * direct kernel streams dy from L2 once per tap). */
#define DIRECT_WGRAD_MAX_COUT 4
/* 3x3 ones have a kernel with all nine taps in registers
 * (aoi_nn_direct_weight_grad3) that beats im2col + sgemm up to this many
 * outputs. */
#define DIRECT_WGRAD3_MAX_COUT 64

typedef struct conv_priv {
	int cout, k, s, p, d, groups, bias;
	enum aoi_act act; /* fused epilogue (inference) */
	float alpha;
	float *fw, *fb;   /* batch norm folded in (inference), else NULL */
	float *wu;        /* Winograd filters of fw, else NULL */
	int slots;        /* threads the Winograd scratch was planned for */
} conv_priv;

static aoi_conv_geom conv_geom(const aoi_net *net, const aoi_node *node)
{
	const conv_priv *c = node->priv;
	const aoi_node *in = aoi_nn_in(net, node, 0);

	return (aoi_conv_geom){c->k, c->s, c->p, c->d, in->out.h, in->out.w,
			       node->out.h, node->out.w};
}

static int is_depthwise(const conv_priv *c, int cin)
{
	return c->groups == cin && cin > 1;
}

/* Depthwise 3x3 stride 1 padding 1, multiplier 1: the flat backward. */
static int is_dw3(const conv_priv *c, int cin)
{
	return is_depthwise(c, cin) && c->cout == cin && c->k == 3 && c->s == 1 &&
	       c->p == 1 && c->d == 1;
}

/* The same with stride 2 on an even-sized input. */
static int is_dw3s2(const conv_priv *c, int cin, int h, int w)
{
	return is_depthwise(c, cin) && c->cout == cin && c->k == 3 && c->s == 2 &&
	       c->p == 1 && c->d == 1 && h % 2 == 0 && w % 2 == 0;
}

static int is_pointwise(const conv_priv *c)
{
	return c->k == 1 && c->s == 1 && c->p == 0;
}

/* Stride-1 k x k convolutions run directly (kernels_direct.c) instead of
 * im2col + sgemm; their backward to the input is the same kind of
 * convolution with the weights transposed and flipped, padded by
 * d(k-1) - p. */
static int is_direct(const conv_priv *c, int cin)
{
	(void)cin;
	return c->groups == 1 && c->s == 1 && c->k > 1 && c->p <= c->d * (c->k - 1);
}

/* 3x3 and 5x5 stride-1 convolutions between enough channels run by
 * Winograd's F(4x4, 3x3) (a 5x5 as four 3x3 windows), in training too:
 * forward, and backward to the input, which is the same kind of
 * convolution. Below these counts the transforms outweigh the saved
 * multiplies and the direct kernel wins (measured on mbv2-unet's
 * decoder). */
#define WINOGRAD_MIN_IN 16
#define WINOGRAD_MIN_OUT 16
/* Weight gradients by Winograd above this many outputs; up to it the
 * direct nine-tap kernel is faster (aoi_nn_direct_weight_grad3). */
#define WINOGRAD_WGRAD_MIN_OUT (DIRECT_WGRAD3_MAX_COUT + 1)

static int is_winograd(const aoi_net *net, const conv_priv *c, int cin)
{
	return !net->exact_conv && c->groups == 1 && (c->k == 3 || c->k == 5) &&
	       c->s == 1 && c->d == 1 && c->p < c->k && cin >= WINOGRAD_MIN_IN &&
	       c->cout >= WINOGRAD_MIN_OUT;
}

static int is_winograd_wgrad(const aoi_net *net, const conv_priv *c, int cin)
{
	return is_winograd(net, c, cin) && c->cout >= WINOGRAD_WGRAD_MIN_OUT;
}

/* Threads a Winograd convolution may use: its scratch has room for this
 * many, fixed when the net is planned. */
static int winograd_slots(const aoi_net *net)
{
	int t = aoi_nn_threads(net), procs = omp_get_num_procs();

	return t > procs ? t : procs;
}

static int conv_shape(aoi_net *net, aoi_node *node, aoi_error *err)
{
	const conv_priv *c = node->priv;
	aoi_shape in = aoi_nn_in(net, node, 0)->out;
	int span = c->d * (c->k - 1) + 1;

	if (in.c % c->groups || c->cout % c->groups)
		return aoi_nn_shape_error(err, net, node,
					  "%d input and %d output channels do not split into %d groups",
					  in.c, c->cout, c->groups);
	if (in.h + 2 * c->p < span || in.w + 2 * c->p < span)
		return aoi_nn_shape_error(err, net, node,
					  "input %dx%d is smaller than the %dx%d kernel",
					  in.w, in.h, span, span);
	node->out = (aoi_shape){in.n, c->cout, (in.h + 2 * c->p - span) / c->s + 1,
				(in.w + 2 * c->p - span) / c->s + 1};
	return 0;
}

/* Winograd's filters and scratch, for the forward (transpose 0) or the
 * backward to the input (1). */
static size_t winograd_floats(const conv_priv *c, int cin, int transpose)
{
	int from = transpose ? c->cout : cin, to = transpose ? cin : c->cout;

	return aoi_nn_winograd_filter_floats(to, from, c->k) +
	       aoi_nn_winograd_work_floats(to, from, c->slots);
}

/* Also fixes how many threads a Winograd convolution may use: as many as
 * its scratch here has room for. */
static size_t conv_work(const aoi_net *net, const aoi_node *node)
{
	conv_priv *c = node->priv;
	const aoi_node *in = aoi_nn_in(net, node, 0);
	int cin = in->out.c, oh = node->out.h, ow = node->out.w;
	size_t k = (size_t)cin / c->groups * c->k * c->k, band, fwd, bwd;

	if (is_dw3(c, cin))
		return (size_t)cin * aoi_nn_dw3_work_floats(in->out.h, in->out.w);
	if (is_dw3s2(c, cin, in->out.h, in->out.w) && !net->fused)
		return (size_t)cin * aoi_nn_dw3s2_work_floats(in->out.h, in->out.w);
	if (is_pointwise(c) && c->groups == 1) {
		c->slots = winograd_slots(net);
		return aoi_nn_gemm_packed_floats(c->cout, cin) +
		       aoi_nn_gemm_work_floats(cin, c->slots);
	}
	if (is_depthwise(c, cin) || is_pointwise(c))
		return 0;
	band = k * aoi_nn_band_rows(k, oh, ow) * ow;
	if (!is_direct(c, cin))
		return band;
	fwd = aoi_nn_direct_packed_floats(c->cout, cin, c->k) +
	      aoi_nn_direct_padded_floats(cin, in->out.h, in->out.w, c->p);
	/* backward: packed weights, then columns, the padded input or the
	 * padded gradient, one after the other */
	bwd = aoi_nn_direct_padded_floats(c->cout, oh, ow, c->d * (c->k - 1) - c->p);
	if (band > bwd)
		bwd = band;
	if (aoi_nn_direct_padded_floats(cin, in->out.h, in->out.w, c->p) > bwd)
		bwd = aoi_nn_direct_padded_floats(cin, in->out.h, in->out.w, c->p);
	bwd += aoi_nn_direct_packed_floats(cin, c->cout, c->k);
	if (is_winograd(net, c, cin)) {
		size_t wgrad = aoi_nn_winograd_wgrad_floats(c->cout, cin, c->k, in->out.n,
							    oh, ow);

		c->slots = winograd_slots(net);
		if (winograd_floats(c, cin, 0) > fwd)
			fwd = winograd_floats(c, cin, 0);
		if (!net->fused && winograd_floats(c, cin, 1) > bwd)
			bwd = winograd_floats(c, cin, 1);
		if (!net->fused && is_winograd_wgrad(net, c, cin) && wgrad > bwd)
			bwd = wgrad;
	}
	return fwd > bwd ? fwd : bwd;
}

static double conv_flops(const aoi_net *net, const aoi_node *node)
{
	const conv_priv *c = node->priv;
	int cin = aoi_nn_in(net, node, 0)->out.c;

	return 2.0 * aoi_nn_numel(node->out) * (cin / c->groups) * c->k * c->k;
}

static void conv_init(aoi_net *net, aoi_node *node, aoi_rng *rng)
{
	const conv_priv *c = node->priv;
	const aoi_param_info *t = &net->tensors[node->first_tensor];
	/* PyTorch: kaiming_uniform_(a = sqrt(5)) = U(-1/sqrt(fan_in), ..) */
	double bound = 1.0 / sqrt((double)t->shape[1] * c->k * c->k);

	aoi_nn_init_weight_bias(net, node, bound,
				aoi_nn_followed_by_norm(net, aoi_nn_id(net, node)), rng);
}

/* One image, one group, gemm part only: y = W * columns(x). */
static void conv_gemm(const aoi_net *net, const float *x, const float *w,
		      float *y, int cg, int og, const aoi_conv_geom *g)
{
	size_t k = (size_t)cg * g->k * g->k, ohw = (size_t)g->oh * g->ow;
	int rows;

	if (g->k == 1 && g->s == 1 && g->p == 0) {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, og, (int)ohw, cg,
			    1.0f, w, cg, x, (int)ohw, 0.0f, y, (int)ohw);
		return;
	}
	rows = aoi_nn_band_rows(k, g->oh, g->ow);
	for (int oy = 0; oy < g->oh; oy += rows) {
		int oy1 = oy + rows < g->oh ? oy + rows : g->oh;
		int ncols = (oy1 - oy) * g->ow;

		aoi_nn_im2col(x, cg, g, oy, oy1, net->work);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, og, ncols,
			    (int)k, 1.0f, w, (int)k, net->work, ncols, 0.0f,
			    y + (size_t)oy * g->ow, (int)ohw);
	}
}

static void conv_forward_direct(aoi_net *net, aoi_node *node, const float *w,
				const float *b)
{
	const conv_priv *c = node->priv;
	const aoi_node *in = aoi_nn_in(net, node, 0);
	int cin = in->out.c, h = in->out.h, wd = in->out.w;
	float *packed = net->work;
	float *xp = packed + aoi_nn_direct_packed_floats(c->cout, cin, c->k);
	size_t ohw = (size_t)node->out.h * node->out.w;

	aoi_nn_direct_pack(w, c->cout, cin, c->k, 0, packed);
	for (int n = 0; n < in->out.n; n++) {
		aoi_direct_out o = {node->y + n * c->cout * ohw, c->cout, node->out.h,
				    node->out.w, b, c->act, c->alpha, 0};

		aoi_nn_direct_pad(in->y + (size_t)n * cin * h * wd, cin, h, wd, c->p, xp);
		aoi_nn_direct_conv(xp, cin, h + 2 * c->p, wd + 2 * c->p, packed, c->k,
				   c->d, &o);
	}
}

/* The convolution of a batch as a Winograd job: x to y, or back from
 * dy to dx (transpose: the flipped kernels, padded by k - 1 - p). */
static aoi_wino_job winograd_job(const aoi_net *net, const aoi_node *node, int transpose)
{
	const conv_priv *c = node->priv;
	const aoi_node *in = aoi_nn_in(net, node, 0);
	aoi_shape a = in->out, b = node->out;
	int p = transpose ? c->k - 1 - c->p : c->p;

	if (transpose)
		return (aoi_wino_job){node->dy, b.n, b.c, b.h, b.w, -p, -p, c->k,
				      {in->dy, a.c, a.h, a.w, NULL, AOI_ACT_NONE, 0.0f, 1}};
	return (aoi_wino_job){in->y, a.n, a.c, a.h, a.w, -p, -p, c->k,
			      {node->y, b.c, b.h, b.w, NULL, c->act, c->alpha, 0}};
}

static void conv_forward_winograd(aoi_net *net, aoi_node *node, const float *w,
				  const float *b)
{
	const conv_priv *c = node->priv;
	aoi_wino_job j = winograd_job(net, node, 0);
	const float *u = c->wu;
	float *work = net->work;

	if (!u) { /* weights that train: transform them every time */
		aoi_nn_winograd_filter(w, j.out.cout, j.cin, c->k, 0, work);
		u = work;
		work += aoi_nn_winograd_filter_floats(j.out.cout, j.cin, c->k);
	}
	j.out.bias = b;
	aoi_nn_winograd_conv(&j, u, c->slots, work);
}

/* dx += the backward of the convolution to its input. */
static void conv_backward_winograd(aoi_net *net, aoi_node *node, const float *w)
{
	const conv_priv *c = node->priv;
	aoi_wino_job j = winograd_job(net, node, 1);
	float *u = net->work;

	aoi_nn_winograd_filter(w, j.out.cout, j.cin, c->k, 1, u);
	aoi_nn_winograd_conv(&j, u, c->slots,
			     u + aoi_nn_winograd_filter_floats(j.out.cout, j.cin, c->k));
}

/* dw += the weight gradient over the batch. */
static void conv_weight_grad_winograd(aoi_net *net, aoi_node *node, float *dw)
{
	aoi_wino_job j = winograd_job(net, node, 0);

	j.out.y = node->dy;
	aoi_nn_winograd_weight_grad(&j, dw, net->work);
}

/* A 1x1 stride-1 convolution of one group by the own packed product,
 * bias and activation on the way out: its speed does not depend on which
 * kernels OpenBLAS picks for the CPU. */
static void conv_forward_pointwise(aoi_net *net, aoi_node *node, const float *w,
				   const float *b)
{
	const conv_priv *c = node->priv;
	const aoi_node *in = aoi_nn_in(net, node, 0);
	int cin = in->out.c;
	size_t ohw = (size_t)node->out.h * node->out.w;
	float *packed = net->work, *work = packed + aoi_nn_gemm_packed_floats(c->cout, cin);

	aoi_nn_gemm_pack(w, c->cout, cin, packed);
	for (int n = 0; n < in->out.n; n++) {
		aoi_direct_out o = {node->y + n * c->cout * ohw, c->cout, node->out.h,
				    node->out.w, b, c->act, c->alpha, 0};

		aoi_nn_gemm_conv1x1(packed, in->y + n * cin * ohw, cin, &o, c->slots, work);
	}
}

static void conv_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	const conv_priv *c = node->priv;
	const aoi_node *in = aoi_nn_in(net, node, 0);
	aoi_conv_geom g = conv_geom(net, node);
	const float *w = c->fw ? c->fw : aoi_nn_param(net, node, 0);
	const float *b = c->fw ? c->fb : c->bias ? aoi_nn_param(net, node, 1) : NULL;
	int cin = in->out.c, cg = cin / c->groups, og = c->cout / c->groups;
	size_t in_img = (size_t)cin * g.h * g.w, ohw = (size_t)g.oh * g.ow;
	size_t wg = (size_t)og * cg * c->k * c->k;

	(void)training;
	(void)rng;
	if (is_winograd(net, c, cin)) {
		conv_forward_winograd(net, node, w, b);
		return;
	}
	if (is_direct(c, cin)) {
		conv_forward_direct(net, node, w, b);
		return;
	}
	if (is_pointwise(c) && c->groups == 1) {
		conv_forward_pointwise(net, node, w, b);
		return;
	}
	for (int n = 0; n < in->out.n; n++) {
		const float *x = in->y + n * in_img;
		float *y = node->y + n * c->cout * ohw;

		if (is_dw3(c, cin)) {
			aoi_nn_dw3_forward(x, w, b, y, cin, g.h, g.w, c->act, c->alpha,
					   net->work);
			continue;
		}
		if (is_depthwise(c, cin)) {
			aoi_nn_dw_forward(x, w, b, y, c->cout, c->cout / cin, &g,
					  c->act, c->alpha);
			continue;
		}
		for (int gi = 0; gi < c->groups; gi++)
			conv_gemm(net, x + gi * cg * (size_t)g.h * g.w, w + gi * wg,
				  y + gi * og * ohw, cg, og, &g);
		aoi_nn_bias_act(y, c->cout, ohw, b, c->act, c->alpha);
	}
}

typedef struct conv_grad_job {
	const float *x, *w, *dy;
	float *dx, *dw; /* either may be NULL */
	int cg, og;
	float *col;     /* scratch for a band of columns */
} conv_grad_job;

/* One image, one group: dw += dy * columns(x)^T, dx += col2im(W^T dy). */
static void conv_grad_pointwise(const conv_grad_job *j, size_t hw)
{
	if (j->dw)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->og, j->cg,
			    (int)hw, 1.0f, j->dy, (int)hw, j->x, (int)hw, 1.0f, j->dw,
			    j->cg);
	if (j->dx)
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, j->cg, (int)hw,
			    j->og, 1.0f, j->w, j->cg, j->dy, (int)hw, 1.0f, j->dx,
			    (int)hw);
}

static void conv_grad_image(const conv_grad_job *j, const aoi_conv_geom *g)
{
	size_t k = (size_t)j->cg * g->k * g->k, ohw = (size_t)g->oh * g->ow;
	int rows = aoi_nn_band_rows(k, g->oh, g->ow);

	if (g->k == 1 && g->s == 1 && g->p == 0) {
		conv_grad_pointwise(j, ohw);
		return;
	}
	for (int oy = 0; oy < g->oh; oy += rows) {
		int oy1 = oy + rows < g->oh ? oy + rows : g->oh;
		int ncols = (oy1 - oy) * g->ow;
		const float *dy = j->dy + (size_t)oy * g->ow;

		if (j->dw) {
			aoi_nn_im2col(j->x, j->cg, g, oy, oy1, j->col);
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->og,
				    (int)k, ncols, 1.0f, dy, (int)ohw, j->col, ncols,
				    1.0f, j->dw, (int)k);
		}
		if (j->dx) {
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k,
				    ncols, j->og, 1.0f, j->w, (int)k, dy, (int)ohw, 0.0f,
				    j->col, ncols);
			aoi_nn_col2im(j->col, j->cg, g, oy, oy1, j->dx);
		}
	}
}

static void conv_backward(aoi_net *net, aoi_node *node, const aoi_bwd *b)
{
	const conv_priv *c = node->priv;
	aoi_node *in = aoi_nn_in(net, node, 0);
	aoi_conv_geom g = conv_geom(net, node);
	const float *w = aoi_nn_param(net, node, 0);
	float *dw = aoi_nn_grad_if(net, node, b, 0), *db = aoi_nn_grad_if(net, node, b, 1);
	int want_dx = aoi_nn_dx_wanted(b, 0);
	int cin = in->out.c, cg = cin / c->groups, og = c->cout / c->groups;
	size_t hw = (size_t)g.h * g.w, ohw = (size_t)g.oh * g.ow;
	size_t wg = (size_t)og * cg * c->k * c->k;

	float *col = net->work;
	int wino_dx = want_dx && is_winograd(net, c, cin);
	float *wino_dw = is_winograd_wgrad(net, c, cin) ? dw : NULL;

	/* Winograd's run on the whole batch after the loop */
	if (wino_dx)
		want_dx = 0;
	if (wino_dw)
		dw = NULL;
	if (is_direct(c, cin) && want_dx) {
		/* the input gradient goes the direct way; packed weights first */
		aoi_nn_direct_pack(w, cin, c->cout, c->k, 1, net->work);
		col = net->work + aoi_nn_direct_packed_floats(cin, c->cout, c->k);
	}
	for (int n = 0; n < in->out.n; n++) {
		const float *x = in->y + n * cin * hw, *dy = node->dy + n * c->cout * ohw;
		float *dx = want_dx ? in->dy + n * cin * hw : NULL;

		if (db)
			aoi_nn_bias_grad(dy, c->cout, ohw, db);
		if (is_direct(c, cin)) {
			conv_grad_job j = {x, w, dy, NULL, dw, cin, c->cout, col};
			int pt = c->d * (c->k - 1) - c->p;
			aoi_direct_out o = {dx, cin, g.h, g.w, NULL, AOI_ACT_NONE, 0.0f, 1};

			if (dw && c->k == 3 && c->cout <= DIRECT_WGRAD3_MAX_COUT) {
				aoi_nn_direct_pad(x, cin, g.h, g.w, c->p, col);
				aoi_nn_direct_weight_grad3(col, cin, g.h + 2 * c->p,
							   g.w + 2 * c->p, dy, c->cout,
							   g.oh, g.ow, c->d, dw);
			} else if (dw && c->cout <= DIRECT_WGRAD_MAX_COUT) {
				aoi_nn_direct_pad(x, cin, g.h, g.w, c->p, col);
				aoi_nn_direct_weight_grad(col, cin, g.h + 2 * c->p,
							  g.w + 2 * c->p, dy, c->cout,
							  g.oh, g.ow, c->k, c->d, dw);
			} else if (dw) {
				conv_grad_image(&j, &g);
			}
			if (!dx)
				continue;
			aoi_nn_direct_pad(dy, c->cout, g.oh, g.ow, pt, col);
			aoi_nn_direct_conv(col, c->cout, g.oh + 2 * pt, g.ow + 2 * pt,
					   net->work, c->k, c->d, &o);
			continue;
		}
		if (is_dw3(c, cin)) {
			aoi_nn_dw3_backward(x, w, dy, dx, dw, cin, g.h, g.w, net->work);
			continue;
		}
		if (is_dw3s2(c, cin, g.h, g.w)) {
			aoi_nn_dw3s2_backward(x, w, dy, dx, dw, cin, g.h, g.w, net->work);
			continue;
		}
		if (is_depthwise(c, cin)) {
			aoi_nn_dw_backward(x, w, dy, dx, dw, c->cout, c->cout / cin, &g);
			continue;
		}
		for (int gi = 0; gi < c->groups; gi++) {
			conv_grad_job j = {x + gi * cg * hw, w + gi * wg,
					   dy + gi * og * ohw,
					   dx ? dx + gi * cg * hw : NULL,
					   dw ? dw + gi * wg : NULL, cg, og, col};
			conv_grad_image(&j, &g);
		}
	}
	if (wino_dw)
		conv_weight_grad_winograd(net, node, wino_dw);
	if (wino_dx)
		conv_backward_winograd(net, node, w);
}

static void conv_free(void *p)
{
	conv_priv *c = p;

	if (c) {
		free(c->fw);
		free(c->fb);
		free(c->wu);
	}
	free(c);
}

const aoi_layer_ops aoi_nn_conv_ops = {
	.kind = "conv",
	.shape = conv_shape,
	.work_floats = conv_work,
	.flops = conv_flops,
	.init = conv_init,
	.forward = conv_forward,
	.backward = conv_backward,
	.free_priv = conv_free,
};

int aoi_net_conv(aoi_net *net, int in, int out_channels, int kernel, int stride,
		 int pad, int dilation, int groups, int bias, aoi_error *err)
{
	int id, cin;

	if (aoi_nn_check_input(net, in, err) < 0)
		return -1;
	if (out_channels < 1 || kernel < 1 || stride < 1 || pad < 0 || dilation < 1 ||
	    groups < 1)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "conv: bad arguments (out %d, kernel %d, stride %d, pad %d, dilation %d, groups %d)",
				     out_channels, kernel, stride, pad, dilation, groups);
	cin = net->nodes[in].out.c;
	id = aoi_nn_add_node(net, &aoi_nn_conv_ops, 1, &in,
			     &(conv_priv){out_channels, kernel, stride, pad, dilation, groups,
					  bias != 0, AOI_ACT_NONE, 0.0f, NULL, NULL, NULL, 1},
			     sizeof(conv_priv), err);
	return aoi_nn_add_weight_bias(net, id, 4,
				      (int[]){out_channels, cin / groups, kernel, kernel},
				      bias ? out_channels : 0, err);
}

int aoi_nn_conv_fold(aoi_net *net, aoi_node *node, const float *scale,
		     const float *shift, aoi_error *err)
{
	conv_priv *c = node->priv;
	const aoi_param_info *t = &net->tensors[node->first_tensor];
	const float *w = aoi_nn_param(net, node, 0);
	const float *b = c->bias ? aoi_nn_param(net, node, 1) : NULL;
	size_t per = t->count / c->cout;
	int cin;

	c->fw = malloc(sizeof(float) * t->count);
	c->fb = malloc(sizeof(float) * c->cout);
	if (!c->fw || !c->fb)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	for (int co = 0; co < c->cout; co++) {
		for (size_t i = 0; i < per; i++)
			c->fw[co * per + i] = w[co * per + i] * scale[co];
		c->fb[co] = (b ? b[co] : 0.0f) * scale[co] + shift[co];
	}
	cin = aoi_nn_in(net, node, 0)->out.c;
	if (is_winograd(net, c, cin)) { /* the folded weights never change again */
		c->wu = malloc(sizeof(float) * aoi_nn_winograd_filter_floats(c->cout, cin, c->k));
		if (!c->wu)
			return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		aoi_nn_winograd_filter(c->fw, c->cout, cin, c->k, 0, c->wu);
	}
	return 0;
}

/* The choice sizes the convolutions' scratch: a change waits for a new
 * aoi_net_plan (forward refuses until then). */
void aoi_net_set_winograd(aoi_net *net, int on)
{
	if (net->exact_conv != !on)
		net->planned = 0;
	net->exact_conv = !on;
}

int aoi_nn_conv_set_act(aoi_node *node, enum aoi_act act, float alpha)
{
	conv_priv *c = node->priv;

	if (c->act != AOI_ACT_NONE)
		return -1;
	c->act = act;
	c->alpha = alpha;
	return 0;
}
