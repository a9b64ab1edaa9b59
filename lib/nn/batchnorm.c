/* batchnorm.c: BatchNorm2d as PyTorch has it. Training normalises with the
 * batch mean and biased variance and moves the running statistics by
 * momentum 0.1 towards the mean and the unbiased variance; inference uses
 * the running statistics. Parameters weight (gamma) and bias (beta); state
 * running_mean then running_var; aux keeps the batch mean and 1/std for
 * backward. */
#include "nn/layer.h"

#include <math.h>
#include <stdlib.h>

typedef struct bn_priv {
	float eps, momentum;
} bn_priv;

static int bn_shape(aoi_net *net, aoi_node *node, aoi_error *err)
{
	(void)err;
	node->out = aoi_nn_in(net, node, 0)->out;
	return 0;
}

static size_t bn_aux(const aoi_net *net, const aoi_node *node)
{
	(void)net;
	return 2 * (size_t)node->out.c;
}

static double bn_flops(const aoi_net *net, const aoi_node *node)
{
	(void)net;
	return 2.0 * aoi_nn_numel(node->out);
}

static void bn_init(aoi_net *net, aoi_node *node, aoi_rng *rng)
{
	float *gamma = aoi_nn_param(net, node, 0), *beta = aoi_nn_param(net, node, 1);
	float *state = net->state + node->state_off;

	(void)rng;
	for (int c = 0; c < node->out.c; c++) {
		gamma[c] = 1.0f;
		beta[c] = 0.0f;
		state[c] = 0.0f;
		state[node->out.c + c] = 1.0f;
	}
}

/* Sum of n floats: 16 float partial sums (they vectorise), added up in
 * double. */
static double plane_sum(const float *p, size_t n)
{
	float acc[16] = {0};
	double s = 0.0;
	size_t i = 0;

	for (; i + 16 <= n; i += 16)
		for (int j = 0; j < 16; j++)
			acc[j] += p[i + j];
	for (int j = 0; j < 16; j++)
		s += acc[j];
	for (; i < n; i++)
		s += p[i];
	return s;
}

/* Sum of (p - mu)^2, the same way. */
static double plane_sqdev(const float *p, size_t n, float mu)
{
	float acc[16] = {0};
	double s = 0.0;
	size_t i = 0;

	for (; i + 16 <= n; i += 16)
		for (int j = 0; j < 16; j++)
			acc[j] += (p[i + j] - mu) * (p[i + j] - mu);
	for (int j = 0; j < 16; j++)
		s += acc[j];
	for (; i < n; i++)
		s += (double)(p[i] - mu) * (p[i] - mu);
	return s;
}

/* Sum of dy and of dy * (x - mu). */
static void plane_dot(const float *dy, const float *x, size_t n, float mu,
		      double *sdy, double *sdyx)
{
	float a[16] = {0}, b[16] = {0};
	size_t i = 0;

	for (; i + 16 <= n; i += 16)
		for (int j = 0; j < 16; j++) {
			a[j] += dy[i + j];
			b[j] += dy[i + j] * (x[i + j] - mu);
		}
	for (int j = 0; j < 16; j++) {
		*sdy += a[j];
		*sdyx += b[j];
	}
	for (; i < n; i++) {
		*sdy += dy[i];
		*sdyx += (double)dy[i] * (x[i] - mu);
	}
}

/* Mean and biased variance of channel c over the batch. */
static void channel_stats(const float *x, aoi_shape s, int c, double *mean,
			  double *var)
{
	size_t hw = (size_t)s.h * s.w, m = hw * s.n;
	double sum = 0.0, sq = 0.0, mu;

	for (int n = 0; n < s.n; n++)
		sum += plane_sum(x + ((size_t)n * s.c + c) * hw, hw);
	mu = sum / (double)m;
	for (int n = 0; n < s.n; n++)
		sq += plane_sqdev(x + ((size_t)n * s.c + c) * hw, hw, (float)mu);
	*mean = mu;
	*var = sq / (double)m;
}

static void normalize_channel(const float *x, float *y, aoi_shape s, int c,
			      float scale, float shift)
{
	size_t hw = (size_t)s.h * s.w;

	/* last image first: the planes the statistics read last are still
	 * in L2 */
	for (int n = s.n - 1; n >= 0; n--) {
		const float *p = x + ((size_t)n * s.c + c) * hw;
		float *q = y + ((size_t)n * s.c + c) * hw;
		for (size_t i = 0; i < hw; i++)
			q[i] = p[i] * scale + shift;
	}
}

static void bn_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	const bn_priv *bp = node->priv;
	const aoi_node *in = aoi_nn_in(net, node, 0);
	const float *gamma = aoi_nn_param(net, node, 0), *beta = aoi_nn_param(net, node, 1);
	float *rmean = net->state + node->state_off, *rvar = rmean + node->out.c;
	aoi_shape s = node->out;
	double m = (double)s.n * s.h * s.w;

	(void)rng;
#pragma omp parallel for schedule(static)
	for (int c = 0; c < s.c; c++) {
		double mean = rmean[c], var = rvar[c], invstd;

		if (training) {
			channel_stats(in->y, s, c, &mean, &var);
			rmean[c] = (float)((1.0 - bp->momentum) * rmean[c] +
					   bp->momentum * mean);
			rvar[c] = (float)((1.0 - bp->momentum) * rvar[c] +
					  bp->momentum * var * (m > 1 ? m / (m - 1) : 1.0));
		}
		invstd = 1.0 / sqrt(var + bp->eps);
		node->aux[c] = (float)mean;
		node->aux[s.c + c] = (float)invstd;
		normalize_channel(in->y, node->y, s, c, (float)(gamma[c] * invstd),
				  (float)(beta[c] - mean * gamma[c] * invstd));
	}
}

static void bn_backward(aoi_net *net, aoi_node *node, const aoi_bwd *b)
{
	aoi_node *in = aoi_nn_in(net, node, 0);
	const float *gamma = aoi_nn_param(net, node, 0);
	float *dgamma = aoi_nn_grad_wanted(b, 0) ? aoi_nn_grad(net, node, 0) : NULL;
	float *dbeta = aoi_nn_grad_wanted(b, 1) ? aoi_nn_grad(net, node, 1) : NULL;
	aoi_shape s = node->out;
	size_t hw = (size_t)s.h * s.w;
	double m = (double)s.n * hw;

#pragma omp parallel for schedule(static)
	for (int c = 0; c < s.c; c++) {
		float mean = node->aux[c], invstd = node->aux[s.c + c];
		double sdy = 0.0, sdyx = 0.0;

		for (int n = 0; n < s.n; n++) {
			size_t o = ((size_t)n * s.c + c) * hw;
			plane_dot(node->dy + o, in->y + o, hw, mean, &sdy, &sdyx);
		}
		sdyx *= invstd;
		if (dgamma)
			dgamma[c] += (float)sdyx;
		if (dbeta)
			dbeta[c] += (float)sdy;
		if (!aoi_nn_dx_wanted(b, 0))
			continue;
		float k = gamma[c] * invstd, mdy = (float)(sdy / m),
		      mdyx = (float)(sdyx / m) * invstd;
		/* last image first: the planes the sums read last are still
		 * in L2 */
		for (int n = s.n - 1; n >= 0; n--) {
			size_t o = ((size_t)n * s.c + c) * hw;
			for (size_t i = 0; i < hw; i++)
				in->dy[o + i] += k * (node->dy[o + i] - mdy -
						      (in->y[o + i] - mean) * mdyx);
		}
	}
}

const aoi_layer_ops aoi_nn_batchnorm_ops = {
	.kind = "batchnorm",
	.shape = bn_shape,
	.aux_floats = bn_aux,
	.flops = bn_flops,
	.init = bn_init,
	.forward = bn_forward,
	.backward = bn_backward,
};

int aoi_net_batchnorm(aoi_net *net, int in, aoi_error *err)
{
	bn_priv *bp;
	int id, c;

	if (aoi_nn_check_input(net, in, err) < 0)
		return -1;
	if (!(bp = malloc(sizeof *bp)))
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	*bp = (bn_priv){1e-5f, (float)AOI_BN_MOMENTUM};
	id = aoi_nn_add_node(net, AOI_LAYER_BATCHNORM, 1, &in, bp, err);
	if (id < 0)
		return -1;
	c = net->nodes[id].out.c;
	if (aoi_nn_add_param(net, id, "weight", 1, &c, 0, err) < 0 ||
	    aoi_nn_add_param(net, id, "bias", 1, &c, 0, err) < 0 ||
	    aoi_nn_add_state(net, id, 2 * (size_t)c, err) < 0)
		return aoi_nn_fail_node(net, id);
	/* usable before aoi_net_init_params: gamma 1, running var 1 */
	bn_init(net, &net->nodes[id], NULL);
	return id;
}

void aoi_net_set_bn_momentum(aoi_net *net, double momentum)
{
	for (int i = 0; i < net->nnodes; i++)
		if (net->nodes[i].kind == AOI_LAYER_BATCHNORM)
			((bn_priv *)net->nodes[i].priv)->momentum = (float)momentum;
}

void aoi_nn_batchnorm_affine(const aoi_net *net, const aoi_node *node,
			     float *scale, float *shift)
{
	const bn_priv *bp = node->priv;
	const float *gamma = aoi_nn_param(net, node, 0), *beta = aoi_nn_param(net, node, 1);
	const float *rmean = net->state + node->state_off, *rvar = rmean + node->out.c;

	for (int c = 0; c < node->out.c; c++) {
		double sc = gamma[c] / sqrt((double)rvar[c] + bp->eps);
		scale[c] = (float)sc;
		shift[c] = (float)(beta[c] - rmean[c] * sc);
	}
}
