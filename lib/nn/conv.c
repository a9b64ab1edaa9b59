/* conv.c: 2-D convolution as PyTorch's Conv2d (square kernel, stride,
 * padding, dilation, groups). Weight out x in/groups x k x k, bias out.
 * Three ways to run it: depthwise (groups = in channels) with the direct
 * kernel, 1x1 stride 1 as a plain sgemm on the NCHW planes, and the rest as
 * im2col + sgemm over bands of output rows so that the column buffer stays
 * small. After aoi_net_fuse_for_inference() a following batch norm lives
 * in folded weights and an activation in the epilogue. */
#include "nn/layer.h"
#include "nn/kernels.h"
#include "nn/kernels_direct.h"
#include "nn/kernels_winograd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

/* Weight gradients of direct convolutions with at most this many outputs
 * (a segmentation head) are direct too: sgemm with M = 2 crawls. Above it
 * sgemm wins (measured: 16 and 32 outputs were slower direct, as the
 * direct kernel streams dy from L2 once per tap). */
#define DIRECT_WGRAD_MAX_COUT 4
/* 3x3 ones have a kernel with all nine taps in registers
 * (aoi_nn_direct_weight_grad3) that beats im2col + sgemm up to this many
 * outputs. */
#define DIRECT_WGRAD3_MAX_COUT 64

/* Column buffer budget (floats) for one band of output rows. */
#define CONV_BAND_FLOATS ((size_t)1 << 21)

typedef struct conv_priv {
	int cout, k, s, p, d, groups, bias;
	enum aoi_act act; /* fused epilogue (inference) */
	float alpha;
	float *fw, *fb;   /* batch norm folded in (inference), else NULL */
	float *wu;        /* Winograd filters of fw, else NULL */
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

/* In a net fused for inference, 3x3 stride-1 convolutions between many
 * channels run by Winograd F(2x2, 3x3): its 16 sgemms are cout x cin, so
 * both must be large enough for them to run at speed; below these the
 * direct kernel wins (measured on mbv2-unet's decoder at 512x512: 80 -> 32
 * faster, 32 -> 32 slower). Training keeps the direct kernel: on batches
 * of 256x256 images the per-image tile counts are too small to gain. */
#define WINOGRAD_MIN_IN 64
#define WINOGRAD_MIN_OUT 32

static int is_winograd(const conv_priv *c, int cin)
{
	return c->groups == 1 && c->k == 3 && c->s == 1 && c->d == 1 && c->p <= 2 &&
	       cin >= WINOGRAD_MIN_IN && c->cout >= WINOGRAD_MIN_OUT;
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

static int band_rows(size_t k, int oh, int ow)
{
	size_t rows = CONV_BAND_FLOATS / (k * (size_t)ow);

	if (rows < 1)
		rows = 1;
	return rows > (size_t)oh ? oh : (int)rows;
}

static size_t conv_work(const aoi_net *net, const aoi_node *node)
{
	const conv_priv *c = node->priv;
	const aoi_node *in = aoi_nn_in(net, node, 0);
	int cin = in->out.c, oh = node->out.h, ow = node->out.w;
	size_t k = (size_t)cin / c->groups * c->k * c->k, band, fwd, bwd;

	if (is_dw3(c, cin))
		return (size_t)cin * aoi_nn_dw3_work_floats(in->out.h, in->out.w);
	if (is_dw3s2(c, cin, in->out.h, in->out.w) && !net->fused)
		return (size_t)cin * aoi_nn_dw3s2_work_floats(in->out.h, in->out.w);
	if (is_depthwise(c, cin) || is_pointwise(c))
		return 0;
	band = k * band_rows(k, oh, ow) * ow;
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
	if (net->fused && is_winograd(c, cin)) {
		size_t wino = aoi_nn_winograd_filter_floats(c->cout, cin) +
			      aoi_nn_winograd_work_floats(c->cout, cin, oh, ow);
		fwd = wino > fwd ? wino : fwd;
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
	float *w = aoi_nn_param(net, node, 0);
	/* PyTorch: kaiming_uniform_(a = sqrt(5)) = U(-1/sqrt(fan_in), ..) */
	double bound = 1.0 / sqrt((double)t->shape[1] * c->k * c->k);

	for (size_t i = 0; i < t->count; i++)
		w[i] = (float)aoi_rng_range(rng, -bound, bound);
	if (c->bias) {
		float *b = aoi_nn_param(net, node, 1);
		int zero = aoi_nn_followed_by_bn(net, aoi_nn_id(net, node));
		for (int i = 0; i < c->cout; i++)
			b[i] = zero ? 0.0f : (float)aoi_rng_range(rng, -bound, bound);
	}
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
	rows = band_rows(k, g->oh, g->ow);
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

static void conv_forward_winograd(aoi_net *net, aoi_node *node, const float *w,
				  const float *b)
{
	const conv_priv *c = node->priv;
	const aoi_node *in = aoi_nn_in(net, node, 0);
	int cin = in->out.c, h = in->out.h, wd = in->out.w;
	int oh = node->out.h, ow = node->out.w;
	const float *u = c->wu;
	float *work = net->work;

	if (!u) { /* weights that train: transform them every time */
		aoi_nn_winograd_filter(w, c->cout, cin, work);
		u = work;
		work += aoi_nn_winograd_filter_floats(c->cout, cin);
	}
	for (int n = 0; n < in->out.n; n++) {
		float *y = node->y + (size_t)n * c->cout * oh * ow;

		aoi_nn_winograd_conv(in->y + (size_t)n * cin * h * wd, cin, h, wd, c->p, u,
				     y, c->cout, oh, ow, work);
		aoi_nn_bias_act(y, c->cout, (size_t)oh * ow, b, c->act, c->alpha);
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
	if (net->fused && is_winograd(c, cin)) {
		conv_forward_winograd(net, node, w, b);
		return;
	}
	if (is_direct(c, cin)) {
		conv_forward_direct(net, node, w, b);
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
	int rows = band_rows(k, g->oh, g->ow);

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
	float *dw = aoi_nn_grad_wanted(b, 0) ? aoi_nn_grad(net, node, 0) : NULL;
	float *db = c->bias && aoi_nn_grad_wanted(b, 1) ? aoi_nn_grad(net, node, 1) : NULL;
	int want_dx = aoi_nn_dx_wanted(b, 0);
	int cin = in->out.c, cg = cin / c->groups, og = c->cout / c->groups;
	size_t hw = (size_t)g.h * g.w, ohw = (size_t)g.oh * g.ow;
	size_t wg = (size_t)og * cg * c->k * c->k;

	float *col = net->work;

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
	conv_priv *c;
	int id, cin;

	if (aoi_nn_check_input(net, in, err) < 0)
		return -1;
	if (out_channels < 1 || kernel < 1 || stride < 1 || pad < 0 || dilation < 1 ||
	    groups < 1)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "conv: bad arguments (out %d, kernel %d, stride %d, pad %d, dilation %d, groups %d)",
				     out_channels, kernel, stride, pad, dilation, groups);
	if (!(c = calloc(1, sizeof *c)))
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	*c = (conv_priv){out_channels, kernel, stride, pad, dilation, groups, bias != 0,
			 AOI_ACT_NONE, 0.0f, NULL, NULL, NULL};
	id = aoi_nn_add_node(net, AOI_LAYER_CONV, 1, &in, c, err);
	if (id < 0)
		return -1;
	cin = net->nodes[in].out.c;
	if (aoi_nn_add_param(net, id, "weight", 4,
			     (int[]){out_channels, cin / groups, kernel, kernel}, 1, err) < 0 ||
	    (bias && aoi_nn_add_param(net, id, "bias", 1, (int[]){out_channels}, 0, err) < 0))
		return aoi_nn_fail_node(net, id);
	return id;
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
	if (is_winograd(c, cin)) { /* the folded weights never change again */
		c->wu = malloc(sizeof(float) * aoi_nn_winograd_filter_floats(c->cout, cin));
		if (!c->wu)
			return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		aoi_nn_winograd_filter(c->fw, c->cout, cin, c->wu);
	}
	return 0;
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
