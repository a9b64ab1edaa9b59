/* conv_transpose.c: ConvTranspose2d as PyTorch's (groups 1, dilation 1):
 * output (in-1)*s - 2p + k + output_pad, weight in x out x k x k. It is
 * the backward of a convolution: columns = W^T x, then col2im; its own
 * backward is im2col of dy and sgemm. Bands of input rows bound the column
 * buffer as in conv.c. */
#include "nn/layers/layers.h"
#include "nn/kernels/kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

typedef struct convt_priv {
	int cout, k, s, p, op, bias;
} convt_priv;

/* The geometry of the convolution this one is the transpose of: it maps
 * our output (h x w) to our input (oh x ow). */
static aoi_conv_geom convt_geom(const aoi_net *net, const aoi_node *node)
{
	const convt_priv *c = node->priv;
	const aoi_node *in = aoi_nn_in(net, node, 0);

	return (aoi_conv_geom){c->k, c->s, c->p, 1, node->out.h, node->out.w,
			       in->out.h, in->out.w};
}

static int convt_shape(aoi_net *net, aoi_node *node, aoi_error *err)
{
	const convt_priv *c = node->priv;
	aoi_shape in = aoi_nn_in(net, node, 0)->out;
	int oh = (in.h - 1) * c->s - 2 * c->p + c->k + c->op;
	int ow = (in.w - 1) * c->s - 2 * c->p + c->k + c->op;

	if (oh < 1 || ow < 1)
		return aoi_nn_shape_error(err, net, node, "output would be %dx%d", ow, oh);
	node->out = (aoi_shape){in.n, c->cout, oh, ow};
	return 0;
}

static size_t convt_work(const aoi_net *net, const aoi_node *node)
{
	const convt_priv *c = node->priv;
	aoi_shape in = aoi_nn_in(net, node, 0)->out;
	size_t k = (size_t)c->cout * c->k * c->k;

	return k * aoi_nn_band_rows(k, in.h, in.w) * in.w;
}

static double convt_flops(const aoi_net *net, const aoi_node *node)
{
	const convt_priv *c = node->priv;

	return 2.0 * aoi_nn_numel(aoi_nn_in(net, node, 0)->out) * c->cout * c->k * c->k;
}

static void convt_init(aoi_net *net, aoi_node *node, aoi_rng *rng)
{
	const convt_priv *c = node->priv;
	/* PyTorch takes fan_in from dim 1 of the weight, here out x k x k */
	double bound = 1.0 / sqrt((double)c->cout * c->k * c->k);

	aoi_nn_init_weight_bias(net, node, bound,
				aoi_nn_followed_by_norm(net, aoi_nn_id(net, node)), rng);
}

static void convt_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	const convt_priv *c = node->priv;
	const aoi_node *in = aoi_nn_in(net, node, 0);
	aoi_conv_geom g = convt_geom(net, node);
	const float *w = aoi_nn_param(net, node, 0);
	int cin = in->out.c, k = c->cout * c->k * c->k;
	size_t ihw = (size_t)g.oh * g.ow, ohw = (size_t)g.h * g.w;
	int rows = aoi_nn_band_rows((size_t)k, g.oh, g.ow);

	(void)training;
	(void)rng;
	memset(node->y, 0, sizeof(float) * aoi_nn_numel(node->out));
	for (int n = 0; n < in->out.n; n++) {
		const float *x = in->y + n * cin * ihw;
		float *y = node->y + n * c->cout * ohw;

		for (int r = 0; r < g.oh; r += rows) {
			int r1 = r + rows < g.oh ? r + rows : g.oh, ncols = (r1 - r) * g.ow;

			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, ncols, cin,
				    1.0f, w, k, x + (size_t)r * g.ow, (int)ihw, 0.0f,
				    net->work, ncols);
			aoi_nn_col2im(net->work, c->cout, &g, r, r1, y);
		}
		aoi_nn_bias_act(y, c->cout, ohw, c->bias ? aoi_nn_param(net, node, 1) : NULL,
				AOI_ACT_NONE, 0.0f);
	}
}

static void convt_backward(aoi_net *net, aoi_node *node, const aoi_bwd *b)
{
	const convt_priv *c = node->priv;
	aoi_node *in = aoi_nn_in(net, node, 0);
	aoi_conv_geom g = convt_geom(net, node);
	const float *w = aoi_nn_param(net, node, 0);
	float *dw = aoi_nn_grad_if(net, node, b, 0), *db = aoi_nn_grad_if(net, node, b, 1);
	int cin = in->out.c, k = c->cout * c->k * c->k, want_dx = aoi_nn_dx_wanted(b, 0);
	size_t ihw = (size_t)g.oh * g.ow, ohw = (size_t)g.h * g.w;
	int rows = aoi_nn_band_rows((size_t)k, g.oh, g.ow);

	for (int n = 0; n < in->out.n; n++) {
		const float *dy = node->dy + n * c->cout * ohw, *x = in->y + n * cin * ihw;

		if (db)
			aoi_nn_bias_grad(dy, c->cout, ohw, db);
		for (int r = 0; r < g.oh && (dw || want_dx); r += rows) {
			int r1 = r + rows < g.oh ? r + rows : g.oh, ncols = (r1 - r) * g.ow;

			aoi_nn_im2col(dy, c->cout, &g, r, r1, net->work);
			if (dw)
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cin, k,
					    ncols, 1.0f, x + (size_t)r * g.ow, (int)ihw,
					    net->work, ncols, 1.0f, dw, k);
			if (want_dx)
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cin,
					    ncols, k, 1.0f, w, k, net->work, ncols, 1.0f,
					    in->dy + n * cin * ihw + (size_t)r * g.ow, (int)ihw);
		}
	}
}

const aoi_layer_ops aoi_nn_conv_transpose_ops = {
	.kind = "conv_transpose",
	.shape = convt_shape,
	.work_floats = convt_work,
	.flops = convt_flops,
	.init = convt_init,
	.forward = convt_forward,
	.backward = convt_backward,
};

int aoi_net_conv_transpose(aoi_net *net, int in, int out_channels, int kernel,
			   int stride, int pad, int output_pad, int bias, aoi_error *err)
{
	int id, cin;

	if (aoi_nn_check_input(net, in, err) < 0)
		return -1;
	if (out_channels < 1 || kernel < 1 || stride < 1 || pad < 0 || output_pad < 0 ||
	    output_pad >= stride)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "conv_transpose: bad arguments (out %d, kernel %d, stride %d, pad %d, output pad %d; output pad must be below the stride)",
				     out_channels, kernel, stride, pad, output_pad);
	cin = net->nodes[in].out.c;
	id = aoi_nn_add_node(net, &aoi_nn_conv_transpose_ops, 1, &in,
			     &(convt_priv){out_channels, kernel, stride, pad, output_pad,
					   bias != 0},
			     sizeof(convt_priv), err);
	return aoi_nn_add_weight_bias(net, id, 4, (int[]){cin, out_channels, kernel, kernel},
				      bias ? out_channels : 0, err);
}
