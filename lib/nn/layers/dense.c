/* dense.c: Linear on the flattened NCHW values of each sample: weight
 * out x in, bias out, y = x W^T + b, as PyTorch's nn.Linear. */
#include "nn/layers/layers.h"

#include <math.h>
#include <string.h>

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

	aoi_nn_init_weight_bias(net, node, 1.0 / sqrt((double)d->in), 0, rng);
}

/* Batches of 24 to 32 or 56 to 64 samples get our own products for the
 * output and the input gradient: OpenBLAS packs the whole weight matrix
 * for a product this thin. On AlexNet's fc6 (32 x 9216 by 9216 x 4096,
 * one core) the forward took 50 ms there and takes 31 here (23 alone:
 * 100 GFLOP/s). Samples go in panels of DENSE_NB, transposed into
 * net->work, so that one weight times DENSE_NB samples is two vector
 * FMAs; DENSE_RB weight rows share each panel load. Every output is one
 * sum in a fixed order, whatever the number of threads. The weight
 * gradient (a product over only the batch) stays with OpenBLAS, which
 * does it well. */
#define DENSE_NB 32
#define DENSE_RB 8

static int dense_own_kernel(int n)
{
	int padding = (DENSE_NB - n % DENSE_NB) % DENSE_NB;

	/* a last panel mostly empty would cost more than OpenBLAS saves */
	return n >= 24 && n <= 2 * DENSE_NB && padding <= 8;
}

static size_t dense_work(const aoi_net *net, const aoi_node *node)
{
	const dense_priv *d = node->priv;

	(void)net;
	/* the forward's input panel; the backward's output-gradient panel
	 * and input-gradient sums */
	return dense_own_kernel(node->out.n) ? (size_t)DENSE_NB * ((size_t)d->in + d->out) : 0;
}

/* xt[k][j] = x[j][k] for the nb samples of a panel, zero beyond them */
static void dense_pack_panel(const float *x, int nb, int in, float *xt)
{
	for (int k = 0; k < in; k++)
		for (int j = 0; j < DENSE_NB; j++)
			xt[(size_t)k * DENSE_NB + j] = j < nb ? x[(size_t)j * in + k] : 0.0f;
}

/* The products below are written with GCC's vector extension so that
 * the accumulators stay in registers; with -std=c11 GCC does not fuse
 * a multiply and an add unless asked, and fused is twice as fast here
 * (clang fuses within an expression by default). */
typedef float dense_vec __attribute__((vector_size(64)));
#if defined(__GNUC__) && !defined(__clang__)
#define DENSE_FUSED __attribute__((optimize("fp-contract=fast")))
#else
#define DENSE_FUSED
#endif
/* The build targets baseline x86-64: these products get an AVX2+FMA copy
 * too, picked by CPUID when the program loads (they are not among the
 * kernel levels of nn/kernels/isa.h yet, and AOI_ISA does not reach them). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__AVX2__)
#define DENSE_WIDE __attribute__((target_clones("arch=haswell", "default")))
#else
#define DENSE_WIDE
#endif

/* acc[r][j] = sum_k w[r][k] xt[k][j] for rb rows of w, rb a constant;
 * always inlined, so that each target clone of its callers has a copy */
DENSE_FUSED static inline __attribute__((always_inline)) void
dense_rows(const float *w, size_t in, const float *xt, int rb, float (*acc)[DENSE_NB])
{
	dense_vec a[DENSE_RB][2];

	memset(a, 0, sizeof a);
	for (size_t k = 0; k < in; k++) {
		dense_vec x0, x1;

		memcpy(&x0, xt + k * DENSE_NB, sizeof x0);
		memcpy(&x1, xt + k * DENSE_NB + 16, sizeof x1);
		for (int r = 0; r < rb; r++) {
			const float wr = w[(size_t)r * in + k];
			a[r][0] += wr * x0;
			a[r][1] += wr * x1;
		}
	}
	memcpy(acc, a, sizeof a[0] * (size_t)rb);
}

DENSE_FUSED DENSE_WIDE static void dense_rows_block(const float *w, int in, const float *xt,
					 float (*acc)[DENSE_NB])
{
	dense_rows(w, (size_t)in, xt, DENSE_RB, acc);
}

DENSE_FUSED DENSE_WIDE static void dense_rows_one(const float *w, int in, const float *xt,
				       float (*acc)[DENSE_NB])
{
	dense_rows(w, (size_t)in, xt, 1, acc);
}

/* y[j][o] = sum_k x[j][k] w[o][k] (+ b[o]) for nb samples of one panel */
static void dense_forward_panel(const dense_priv *d, const float *xt, const float *w,
				const float *b, int nb, float *y)
{
	int blocks = (d->out + DENSE_RB - 1) / DENSE_RB;

#pragma omp parallel for schedule(static)
	for (int blk = 0; blk < blocks; blk++) {
		float acc[DENSE_RB][DENSE_NB];
		int o0 = blk * DENSE_RB, rb = d->out - o0 < DENSE_RB ? d->out - o0 : DENSE_RB;

		if (rb == DENSE_RB)
			dense_rows_block(w + (size_t)o0 * d->in, d->in, xt, acc);
		for (int r = 0; r < rb && rb < DENSE_RB; r++)
			dense_rows_one(w + (size_t)(o0 + r) * d->in, d->in, xt, acc + r);
		for (int r = 0; r < rb; r++)
			for (int j = 0; j < nb; j++)
				y[(size_t)j * d->out + o0 + r] = acc[r][j] + (b ? b[o0 + r] : 0.0f);
	}
}

static void dense_forward_own(const dense_priv *d, const float *x, const float *w,
			      const float *b, int n, float *xt, float *y)
{
	for (int j0 = 0; j0 < n; j0 += DENSE_NB) {
		int nb = n - j0 < DENSE_NB ? n - j0 : DENSE_NB;

		dense_pack_panel(x + (size_t)j0 * d->in, nb, d->in, xt);
		dense_forward_panel(d, xt, w, b, nb, y + (size_t)j0 * d->out);
	}
}

static void dense_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	const dense_priv *d = node->priv;
	int n = node->out.n;

	(void)training;
	(void)rng;
	if (dense_own_kernel(n)) {
		dense_forward_own(d, aoi_nn_in(net, node, 0)->y, aoi_nn_param(net, node, 0),
				  d->bias ? aoi_nn_param(net, node, 1) : NULL, n, net->work,
				  node->y);
		return;
	}
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

/* dxt[k][0..32) += sum_r w[r][k] g[r][0..32) for rb rows r (a constant)
 * and k in [k0, k1): the output gradient of the rows stays in registers
 * while the weight rows stream by in order. */
DENSE_FUSED static inline __attribute__((always_inline)) void
dense_dx_rows(const float *w, size_t in, const float *g, int rb, size_t k0, size_t k1,
	      float *dxt)
{
	dense_vec gv[DENSE_RB][2];

	for (int r = 0; r < rb; r++) {
		memcpy(&gv[r][0], g + (size_t)r * DENSE_NB, sizeof gv[r][0]);
		memcpy(&gv[r][1], g + (size_t)r * DENSE_NB + 16, sizeof gv[r][1]);
	}
	for (size_t k = k0; k < k1; k++) {
		dense_vec a0, a1;

		memcpy(&a0, dxt + k * DENSE_NB, sizeof a0);
		memcpy(&a1, dxt + k * DENSE_NB + 16, sizeof a1);
		for (int r = 0; r < rb; r++) {
			const float wr = w[(size_t)r * in + k];
			a0 += wr * gv[r][0];
			a1 += wr * gv[r][1];
		}
		memcpy(dxt + k * DENSE_NB, &a0, sizeof a0);
		memcpy(dxt + k * DENSE_NB + 16, &a1, sizeof a1);
	}
}

DENSE_FUSED DENSE_WIDE static void dense_dx_block(const float *w, size_t in, const float *g, size_t k0,
				       size_t k1, float *dxt)
{
	dense_dx_rows(w, in, g, DENSE_RB, k0, k1, dxt);
}

DENSE_FUSED DENSE_WIDE static void dense_dx_one(const float *w, size_t in, const float *g, size_t k0,
				     size_t k1, float *dxt)
{
	dense_dx_rows(w, in, g, 1, k0, k1, dxt);
}

/* Columns of the input gradient per chunk: 128 KB of it stays in L2 while
 * every weight row goes by. */
#define DENSE_KC 1024

/* dx[j][k] += sum_o dy[j][o] w[o][k] for the nb samples of one panel (gt
 * = dy transposed and padded); dxt collects the sums in row order */
static void dense_dx_panel(const dense_priv *d, const float *gt, const float *w, int nb,
			   float *dxt, float *dx)
{
	size_t in = (size_t)d->in, out = (size_t)d->out;
	int chunks = (d->in + DENSE_KC - 1) / DENSE_KC;

	memset(dxt, 0, sizeof(float) * DENSE_NB * in);
#pragma omp parallel for schedule(static)
	for (int c = 0; c < chunks; c++) {
		size_t k0 = (size_t)c * DENSE_KC, k1 = k0 + DENSE_KC < in ? k0 + DENSE_KC : in;
		size_t o = 0;

		for (; o + DENSE_RB <= out; o += DENSE_RB)
			dense_dx_block(w + o * in, in, gt + o * DENSE_NB, k0, k1, dxt);
		for (; o < out; o++)
			dense_dx_one(w + o * in, in, gt + o * DENSE_NB, k0, k1, dxt);
		for (int j = 0; j < nb; j++)
			for (size_t k = k0; k < k1; k++)
				dx[(size_t)j * in + k] += dxt[k * DENSE_NB + j];
	}
}

static void dense_dx_own(const dense_priv *d, const float *dy, const float *w, int n,
			 float *work, float *dx)
{
	float *gt = work, *dxt = work + (size_t)DENSE_NB * d->out;

	for (int j0 = 0; j0 < n; j0 += DENSE_NB) {
		int nb = n - j0 < DENSE_NB ? n - j0 : DENSE_NB;

		dense_pack_panel(dy + (size_t)j0 * d->out, nb, d->out, gt);
		dense_dx_panel(d, gt, w, nb, dxt, dx + (size_t)j0 * d->in);
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
	if (aoi_nn_dx_wanted(b, 0) && dense_own_kernel(n))
		dense_dx_own(d, node->dy, aoi_nn_param(net, node, 0), n, net->work, in->dy);
	else if (aoi_nn_dx_wanted(b, 0))
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d->in, d->out,
			    1.0f, node->dy, d->out, aoi_nn_param(net, node, 0), d->in,
			    1.0f, in->dy, d->in);
}

const aoi_layer_ops aoi_nn_dense_ops = {
	.kind = "dense",
	.shape = dense_shape,
	.work_floats = dense_work,
	.flops = dense_flops,
	.init = dense_init,
	.forward = dense_forward,
	.backward = dense_backward,
};

int aoi_net_dense(aoi_net *net, int in, int out_features, int bias, aoi_error *err)
{
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
	id = aoi_nn_add_node(net, &aoi_nn_dense_ops, 1, &in,
			     &(dense_priv){(int)feat, out_features, bias != 0},
			     sizeof(dense_priv), err);
	return aoi_nn_add_weight_bias(net, id, 2, (int[]){out_features, (int)feat},
				      bias ? out_features : 0, err);
}
