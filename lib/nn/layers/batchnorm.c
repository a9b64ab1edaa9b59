/* batchnorm.c: BatchNorm2d as PyTorch has it. Training normalises with the
 * batch mean and biased variance and moves the running statistics by
 * momentum 0.1 towards the mean and the unbiased variance; inference uses
 * the running statistics. Parameters weight (gamma) and bias (beta); state
 * running_mean then running_var; aux keeps the batch mean and 1/std for
 * backward. In a net planned for training, a batch norm read only by an
 * activation also applies it (node->absorbs, set by fuse.c): one pass over
 * memory less each way, and no gradient buffer between the two. */
#include "nn/layers/layers.h"
#include "nn/kernels/kernels.h"

#include <math.h>
#include <stdint.h>

typedef struct bn_priv {
	float eps, momentum;
} bn_priv;

/* The activation applied after normalising, and where the gradient of its
 * output is (the node's own dy when there is none). */
typedef struct bn_act {
	enum aoi_act act;
	float alpha;
	const float *dy;
} bn_act;

static bn_act fused_act(const aoi_net *net, const aoi_node *node)
{
	bn_act a = {AOI_ACT_NONE, 0.0f, node->dy};

	if (node->absorbs >= 0) {
		aoi_nn_activation_get(&net->nodes[node->absorbs], &a.act, &a.alpha);
		a.dy = net->nodes[node->absorbs].dy;
	}
	return a;
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

/* The gradient at the batch norm's output from the activation's output y
 * and gradient dy (the formulas of aoi_nn_act_backward). */
static inline float act_grad(float y, float dy, enum aoi_act act, float alpha)
{
	switch (act) {
	case AOI_ACT_RELU:
		return y > 0.0f ? dy : 0.0f;
	case AOI_ACT_RELU6: { /* two selects: && would be a branch */
		float g = y > 0.0f ? dy : 0.0f;
		return y < 6.0f ? g : 0.0f;
	}
	case AOI_ACT_LEAKY:
		return y > 0.0f ? dy : dy * alpha;
	case AOI_ACT_SIGMOID:
		return dy * y * (1.0f - y);
	default:
		return dy;
	}
}

/* 16 floats, and their lane masks: GCC's vector extension, because with
 * the selects of act_grad the loop over 16 lanes no longer vectorises. */
typedef float bn_v16 __attribute__((vector_size(64)));
typedef float bn_v16u __attribute__((vector_size(64), aligned(4)));
typedef int32_t bn_i16 __attribute__((vector_size(64)));

/* act_grad on the 16 lanes at y and dy, the same values (through
 * pointers: vectors passed by value change the ABI without AVX-512). */
static inline void act_grad16(const float *yp, const float *dyp, enum aoi_act act,
			      float alpha, bn_v16 *g)
{
	const bn_v16 zero = {0}, six = zero + 6.0f, one = zero + 1.0f;
	bn_v16 y = *(const bn_v16u *)yp, dy = *(const bn_v16u *)dyp;
	bn_i16 m;

	switch (act) {
	case AOI_ACT_RELU:
		m = y > zero;
		*g = (bn_v16)(m & (bn_i16)dy);
		break;
	case AOI_ACT_RELU6:
		m = (y > zero) & (y < six);
		*g = (bn_v16)(m & (bn_i16)dy);
		break;
	case AOI_ACT_LEAKY:
		m = y > zero;
		*g = (bn_v16)((m & (bn_i16)dy) | (~m & (bn_i16)(dy * alpha)));
		break;
	case AOI_ACT_SIGMOID:
		*g = dy * y * (one - y);
		break;
	default:
		*g = dy;
		break;
	}
}

/* Sum of g and of g * (x - mu), g the gradient at the output (act is a
 * constant where this is inlined: one loop per activation), in 16 float
 * lanes added up in double. */
static inline void plane_dot_act(const float *dy, const float *y, const float *x,
				 size_t n, float mu, enum aoi_act act, float alpha,
				 double *sdy, double *sdyx)
{
	bn_v16 a = {0}, b = {0};
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		bn_v16 g;

		act_grad16(y + i, dy + i, act, alpha, &g);
		a += g;
		b += g * (*(const bn_v16u *)(x + i) - mu);
	}
	for (int j = 0; j < 16; j++) {
		*sdy += a[j];
		*sdyx += b[j];
	}
	for (; i < n; i++) {
		float g = act_grad(y[i], dy[i], act, alpha);
		*sdy += g;
		*sdyx += (double)g * (x[i] - mu);
	}
}

/* What a channel's input gradient needs besides the planes. */
typedef struct bn_dx {
	float mean, k, mdy, mdyx;
	int assign; /* dx holds nothing yet */
} bn_dx;

/* dx += k (g - mean(g) - (x - mu) mean(g (x - mu)) / var), or = with
 * assign. */
static inline void plane_dx_act(const float *dy, const float *y, const float *x,
				float *dx, size_t n, const bn_dx *d, enum aoi_act act,
				float alpha)
{
	float mu = d->mean, k = d->k, mdy = d->mdy, mdyx = d->mdyx;

	if (d->assign)
		for (size_t i = 0; i < n; i++)
			dx[i] = k * (act_grad(y[i], dy[i], act, alpha) - mdy - (x[i] - mu) * mdyx);
	else
		for (size_t i = 0; i < n; i++)
			dx[i] += k * (act_grad(y[i], dy[i], act, alpha) - mdy - (x[i] - mu) * mdyx);
}

static void plane_dot(const float *dy, const float *y, const float *x, size_t n,
		      float mu, const bn_act *a, double *sdy, double *sdyx)
{
	switch (a->act) {
	case AOI_ACT_RELU:
		plane_dot_act(dy, y, x, n, mu, AOI_ACT_RELU, 0.0f, sdy, sdyx);
		break;
	case AOI_ACT_RELU6:
		plane_dot_act(dy, y, x, n, mu, AOI_ACT_RELU6, 0.0f, sdy, sdyx);
		break;
	case AOI_ACT_LEAKY:
		plane_dot_act(dy, y, x, n, mu, AOI_ACT_LEAKY, a->alpha, sdy, sdyx);
		break;
	case AOI_ACT_SIGMOID:
		plane_dot_act(dy, y, x, n, mu, AOI_ACT_SIGMOID, 0.0f, sdy, sdyx);
		break;
	default:
		plane_dot_act(dy, y, x, n, mu, AOI_ACT_NONE, 0.0f, sdy, sdyx);
		break;
	}
}

static void plane_dx(const float *dy, const float *y, const float *x, float *dx,
		     size_t n, const bn_dx *d, const bn_act *a)
{
	switch (a->act) {
	case AOI_ACT_RELU:
		plane_dx_act(dy, y, x, dx, n, d, AOI_ACT_RELU, 0.0f);
		break;
	case AOI_ACT_RELU6:
		plane_dx_act(dy, y, x, dx, n, d, AOI_ACT_RELU6, 0.0f);
		break;
	case AOI_ACT_LEAKY:
		plane_dx_act(dy, y, x, dx, n, d, AOI_ACT_LEAKY, a->alpha);
		break;
	case AOI_ACT_SIGMOID:
		plane_dx_act(dy, y, x, dx, n, d, AOI_ACT_SIGMOID, 0.0f);
		break;
	default:
		plane_dx_act(dy, y, x, dx, n, d, AOI_ACT_NONE, 0.0f);
		break;
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
			      float scale, float shift, const bn_act *a)
{
	size_t hw = (size_t)s.h * s.w;

	/* last image first: the planes the statistics read last are still
	 * in L2 */
	for (int n = s.n - 1; n >= 0; n--) {
		const float *p = x + ((size_t)n * s.c + c) * hw;
		float *q = y + ((size_t)n * s.c + c) * hw;
		for (size_t i = 0; i < hw; i++)
			q[i] = p[i] * scale + shift;
		aoi_nn_act_row(q, hw, a->act, a->alpha); /* still in cache */
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
	bn_act a = fused_act(net, node);

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
				  (float)(beta[c] - mean * gamma[c] * invstd), &a);
	}
}

static void bn_backward(aoi_net *net, aoi_node *node, const aoi_bwd *b)
{
	aoi_node *in = aoi_nn_in(net, node, 0);
	const float *gamma = aoi_nn_param(net, node, 0);
	float *dgamma = aoi_nn_grad_if(net, node, b, 0), *dbeta = aoi_nn_grad_if(net, node, b, 1);
	aoi_shape s = node->out;
	size_t hw = (size_t)s.h * s.w;
	double m = (double)s.n * hw;
	bn_act a = fused_act(net, node);
	/* the activation's output (no activation: never read) */
	const float *ay = node->absorbs >= 0 ? node->y : a.dy;

#pragma omp parallel for schedule(static)
	for (int c = 0; c < s.c; c++) {
		float mean = node->aux[c], invstd = node->aux[s.c + c];
		double sdy = 0.0, sdyx = 0.0;

		for (int n = 0; n < s.n; n++) {
			size_t o = ((size_t)n * s.c + c) * hw;
			plane_dot(a.dy + o, ay + o, in->y + o, hw, mean, &a, &sdy, &sdyx);
		}
		sdyx *= invstd;
		if (dgamma)
			dgamma[c] += (float)sdyx;
		if (dbeta)
			dbeta[c] += (float)sdy;
		if (!aoi_nn_dx_wanted(b, 0))
			continue;
		bn_dx d = {mean, gamma[c] * invstd, (float)(sdy / m),
			   (float)(sdyx / m) * invstd, aoi_nn_dx_assign(b, 0)};
		/* last image first: the planes the sums read last are still
		 * in L2 */
		for (int n = s.n - 1; n >= 0; n--) {
			size_t o = ((size_t)n * s.c + c) * hw;
			plane_dx(a.dy + o, ay + o, in->y + o, in->dy + o, hw, &d, &a);
		}
	}
}

const aoi_layer_ops aoi_nn_batchnorm_ops = {
	.kind = "batchnorm",
	.shape = aoi_nn_shape_as_input,
	.aux_floats = bn_aux,
	.flops = bn_flops,
	.init = bn_init,
	.forward = bn_forward,
	.backward = bn_backward,
	.assigns_dx = 1,
	.normalizes = 1,
};

int aoi_net_batchnorm(aoi_net *net, int in, aoi_error *err)
{
	bn_priv bp = {1e-5f, (float)AOI_BN_MOMENTUM};
	int id, c;

	id = aoi_nn_add_node(net, &aoi_nn_batchnorm_ops, 1, &in, &bp, sizeof bp, err);
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
		if (net->nodes[i].ops == &aoi_nn_batchnorm_ops)
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
