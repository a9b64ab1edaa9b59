/* dense.c: Linear on the flattened NCHW values of each sample: weight
 * out x in, bias out, y = x W^T + b, as PyTorch's nn.Linear. */
#include "nn/layer.h"

#include <math.h>
#include <stdlib.h>

#include <cblas.h>

typedef struct dense_priv {
	int in, out, bias;
} dense_priv;

static int dense_shape(aoi_net *net, aoi_node *node, aoi_error *err)
{
	const dense_priv *d = node->priv;
	aoi_shape in = aoi_nn_in(net, node, 0)->out;
	long feat = (long)in.c * in.h * in.w;

	if (feat != d->in)
		return aoi_nn_shape_error(err, net, node,
					  "built for %d input features, gets %ld (%dx%dx%d)",
					  d->in, feat, in.c, in.h, in.w);
	node->out = (aoi_shape){in.n, d->out, 1, 1};
	node->fixed = 1;
	return 0;
}

static double dense_flops(const aoi_net *net, const aoi_node *node)
{
	const dense_priv *d = node->priv;

	(void)net;
	return 2.0 * node->out.n * d->in * d->out;
}

static void dense_init(aoi_net *net, aoi_node *node, aoi_rng *rng)
{
	const dense_priv *d = node->priv;
	float *w = aoi_nn_param(net, node, 0);
	double bound = 1.0 / sqrt((double)d->in);

	for (size_t i = 0; i < (size_t)d->in * d->out; i++)
		w[i] = (float)aoi_rng_range(rng, -bound, bound);
	if (d->bias) {
		float *b = aoi_nn_param(net, node, 1);
		for (int i = 0; i < d->out; i++)
			b[i] = (float)aoi_rng_range(rng, -bound, bound);
	}
}

static void dense_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	const dense_priv *d = node->priv;
	int n = node->out.n;

	(void)training;
	(void)rng;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, d->out, d->in, 1.0f,
		    aoi_nn_in(net, node, 0)->y, d->in, aoi_nn_param(net, node, 0),
		    d->in, 0.0f, node->y, d->out);
	if (d->bias) {
		const float *b = aoi_nn_param(net, node, 1);
		for (int i = 0; i < n; i++)
			for (int o = 0; o < d->out; o++)
				node->y[(size_t)i * d->out + o] += b[o];
	}
}

static void dense_backward(aoi_net *net, aoi_node *node, const aoi_bwd *b)
{
	const dense_priv *d = node->priv;
	aoi_node *in = aoi_nn_in(net, node, 0);
	int n = node->out.n;

	if (aoi_nn_grad_wanted(b, 0))
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d->out, d->in, n,
			    1.0f, node->dy, d->out, in->y, d->in, 1.0f,
			    aoi_nn_grad(net, node, 0), d->in);
	if (d->bias && aoi_nn_grad_wanted(b, 1)) {
		float *db = aoi_nn_grad(net, node, 1);
		for (int i = 0; i < n; i++)
			for (int o = 0; o < d->out; o++)
				db[o] += node->dy[(size_t)i * d->out + o];
	}
	if (aoi_nn_dx_wanted(b, 0))
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d->in, d->out,
			    1.0f, node->dy, d->out, aoi_nn_param(net, node, 0), d->in,
			    1.0f, in->dy, d->in);
}

const aoi_layer_ops aoi_nn_dense_ops = {
	.kind = "dense",
	.shape = dense_shape,
	.flops = dense_flops,
	.init = dense_init,
	.forward = dense_forward,
	.backward = dense_backward,
};

int aoi_net_dense(aoi_net *net, int in, int out_features, int bias, aoi_error *err)
{
	dense_priv *d;
	const aoi_node *src;
	long feat;
	int id;

	if (aoi_nn_check_input(net, in, err) < 0)
		return -1;
	src = &net->nodes[in];
	if (out_features < 1)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "dense: %d output features", out_features);
	if (!src->fixed && !net->size_set)
		return aoi_error_set(err, AOI_ESHAPE, NULL, 0,
				     "dense after node %d: its size depends on the input size; "
				     "call aoi_net_set_input_size() first or pool first", in);
	feat = (long)src->out.c * src->out.h * src->out.w;
	if (feat > 1L << 30)
		return aoi_error_set(err, AOI_ESHAPE, NULL, 0,
				     "dense: %ld input features is too many", feat);
	if (!(d = malloc(sizeof *d)))
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	*d = (dense_priv){(int)feat, out_features, bias != 0};
	id = aoi_nn_add_node(net, AOI_LAYER_DENSE, 1, &in, d, err);
	if (id < 0)
		return -1;
	if (aoi_nn_add_param(net, id, "weight", 2, (int[]){out_features, (int)feat}, 1,
			     err) < 0 ||
	    (bias && aoi_nn_add_param(net, id, "bias", 1, &out_features, 0, err) < 0))
		return aoi_nn_fail_node(net, id);
	return id;
}
