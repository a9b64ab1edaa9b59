/* test_nn.c: the network engine: shapes, known answers (by hand and from
 * PyTorch 1.13), max-pool indices and unpooling, parameter layout and
 * names, freezing, determinism, inference fusion and planning errors. */
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/rng.h"
#include "nn/net.h"

/* v[i] = s * sin(i * a + off): the same values are made in Python for the
 * PyTorch references below (x = seq(n, 0.37); weights seq(n, 0.11, 0.3,
 * 0.5); biases seq(n, 1.3, 0.1)). */
static void fill_seq(float *v, size_t n, double a, double s, double off)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (float)(s * sin((double)i * a + off));
}

/* The reference input: 2 x 4 x 7 x 6. */
static float ref_x[2 * 4 * 7 * 6];

static void fill_params(aoi_net *net)
{
	for (int t = 0; t < aoi_net_param_tensors(net); t++) {
		const aoi_param_info *pi = aoi_net_param_info(net, t);
		float *p = aoi_net_params(net) + pi->offset;
		if (pi->ndim > 1)
			fill_seq(p, pi->count, 0.11, 0.3, 0.5);
		else
			fill_seq(p, pi->count, 1.3, 0.1, 0.0);
	}
}

typedef struct ref {
	int n, c, h, w;
	size_t idx[6];
	double val[6], sum;
} ref;

/* Run net on ref_x (training or not) and compare with the reference. */
static const float *check_ref(const char *name, aoi_net *net, int training,
			      const ref *r)
{
	aoi_error err;
	aoi_rng rng;
	const float *y;
	aoi_shape s;
	double sum = 0.0;

	aoi_rng_seed(&rng, 1);
	if (aoi_net_plan(net, 2, 7, 6, &err) < 0) {
		CHECK_MSG(0, "%s: %s", name, err.msg);
		return NULL;
	}
	y = aoi_net_forward(net, ref_x, training, &rng, &err);
	s = aoi_net_output_shape(net);
	CHECK_MSG(s.n == r->n && s.c == r->c && s.h == r->h && s.w == r->w,
		  "%s: shape %dx%dx%dx%d", name, s.n, s.c, s.h, s.w);
	if (!y || s.n != r->n || s.c != r->c || s.h != r->h || s.w != r->w)
		return NULL;
	for (size_t i = 0; i < (size_t)s.n * s.c * s.h * s.w; i++)
		sum += y[i];
	for (int k = 0; k < 6; k++)
		CHECK_MSG(fabs(y[r->idx[k]] - r->val[k]) < 2e-5 * fmax(1, fabs(r->val[k])),
			  "%s[%zu]: %.7g, PyTorch %.7g", name, r->idx[k], y[r->idx[k]],
			  r->val[k]);
	CHECK_MSG(fabs(sum - r->sum) < 1e-4 * fmax(1, fabs(r->sum)),
		  "%s: sum %.7g, PyTorch %.7g", name, sum, r->sum);
	return y;
}

/* Hand-computed: a 3x3 box of ones over 1..16 with padding 1. */
static void check_conv_by_hand(void)
{
	float x[16], w[9];
	aoi_net *net = aoi_net_new(1, NULL);
	const float *y;

	for (int i = 0; i < 16; i++)
		x[i] = (float)(i + 1);
	for (int i = 0; i < 9; i++)
		w[i] = 1.0f;
	CHECK(aoi_net_conv(net, 0, 1, 3, 1, 1, 1, 1, 0, NULL) == 1);
	memcpy(aoi_net_params(net), w, sizeof w);
	CHECK(aoi_net_plan(net, 1, 4, 4, NULL) == 0);
	y = aoi_net_forward(net, x, 0, NULL, NULL);
	CHECK_NEAR(y[0], 1 + 2 + 5 + 6, 1e-5);
	CHECK_NEAR(y[5], 1 + 2 + 3 + 5 + 6 + 7 + 9 + 10 + 11, 1e-5);
	CHECK_NEAR(y[15], 11 + 12 + 15 + 16, 1e-5);
	CHECK_NEAR(y[3], 3 + 4 + 7 + 8, 1e-5);
	aoi_net_free(net);
}

/* Values printed by PyTorch 1.13 (torch.nn layers, float32) for the same
 * inputs and weights (the script is in the commit message of this test). */
static void check_against_pytorch(void)
{
	aoi_net *net;
	int a;

	net = aoi_net_new(4, NULL); /* Conv2d(4, 6, 3, 2, 2, dilation 2, groups 2) */
	aoi_net_conv(net, 0, 6, 3, 2, 2, 2, 2, 1, NULL);
	fill_params(net);
	check_ref("conv", net, 0, &(ref){2, 6, 4, 3, {0, 1, 2, 48, 72, 143},
		{-0.05203324, -0.01062245, -0.02849701, -0.5826561, -0.05640072, -0.05369328},
		0.375548});
	aoi_net_free(net);

	net = aoi_net_new(4, NULL); /* Conv2d(4, 8, 3, 2, 1, groups 4) */
	aoi_net_conv(net, 0, 8, 3, 2, 1, 1, 4, 1, NULL);
	fill_params(net);
	check_ref("depthwise", net, 0, &(ref){2, 8, 4, 3, {0, 1, 2, 64, 96, 191},
		{0.4767026, 0.6172084, 0.2505395, 0.03258967, 0.3352621, 0.03052113},
		5.595994});
	aoi_net_free(net);

	net = aoi_net_new(4, NULL); /* ConvTranspose2d(4, 3, 3, 2, 1, output_padding 1) */
	aoi_net_conv_transpose(net, 0, 3, 3, 2, 1, 1, 1, NULL);
	fill_params(net);
	check_ref("conv_transpose", net, 0, &(ref){2, 3, 14, 12, {0, 1, 2, 336, 504, 1007},
		{-0.1501887, -0.06745151, 0.1186692, -0.1178775, -0.5628306, 0.1010051},
		167.614});
	aoi_net_free(net);

	net = aoi_net_new(4, NULL); /* Linear(168, 5) on torch.flatten(x, 1) */
	aoi_net_set_input_size(net, 7, 6, NULL);
	a = aoi_net_flatten(net, 0, NULL);
	aoi_net_dense(net, a, 5, 1, NULL);
	fill_params(net);
	check_ref("dense", net, 0, &(ref){2, 5, 1, 1, {0, 1, 2, 3, 5, 9},
		{0.1796077, 0.1902991, 0.0471444, -0.1709367, 0.1665624, -0.4962872},
		-0.7467972});
	aoi_net_free(net);
}

static void check_batchnorm_pytorch(void)
{
	aoi_net *net = aoi_net_new(4, NULL);
	static const double rmean[] = {0.01001638, -0.00871774, 0.007173736, -0.005427824};
	static const double rvar[] = {0.949741, 0.9498442, 0.9499482, 0.9500415};
	float *p, *state;
	size_t nstate;

	aoi_net_batchnorm(net, 0, NULL);
	p = aoi_net_params(net);
	fill_seq(p, 4, 0.7, 1.0, 1.0);     /* weight */
	fill_seq(p + 4, 4, 0.3, 0.5, 0.0); /* bias */
	check_ref("batchnorm train", net, 1, &(ref){2, 4, 7, 6, {0, 1, 2, 112, 168, 335},
		{-0.1202233, 0.3138118, 0.6891024, -0.3289826, -0.8673146, 0.3363439},
		69.02656});
	state = aoi_net_state(net, &nstate);
	CHECK_INT(nstate, 8);
	for (int c = 0; c < 4; c++) {
		CHECK_NEAR(state[c], rmean[c], 1e-6);
		CHECK_NEAR(state[4 + c], rvar[c], 1e-6);
	}
	check_ref("batchnorm eval", net, 0, &(ref){2, 4, 7, 6, {0, 1, 2, 112, 168, 335},
		{-0.008648585, 0.3035861, 0.5735613, -0.1135591, -0.5460885, 0.3496702},
		72.44238});
	aoi_net_free(net);
}

/* Max pooling over rows wide enough for the vector path (16 outputs at a
 * time, stride 1 and 2, with and without padding), with ties and a NaN,
 * against a plain scan: the same maxima and the same (first) indices,
 * seen through unpooling. */
static void check_maxpool_wide(void)
{
	static const int cfg[4][3] = {{3, 2, 1}, {2, 1, 0}, {3, 2, 0}, {3, 1, 1}};
	enum { C = 2, H = 9, W = 45 };
	static float x[C * H * W], u[C * H * W];
	aoi_rng rng;

	aoi_rng_seed(&rng, 7);
	for (int i = 0; i < C * H * W; i++) /* few levels: many ties */
		x[i] = (float)aoi_rng_below(&rng, 5);
	x[W + 33] = NAN;
	for (int t = 0; t < 4; t++) {
		int k = cfg[t][0], s = cfg[t][1], pad = cfg[t][2], bad = 0;
		aoi_net *net = aoi_net_new(C, NULL);
		int p = aoi_net_maxpool(net, 0, k, s, pad, NULL);
		int oh = (H + 2 * pad - k) / s + 1, ow = (W + 2 * pad - k) / s + 1;
		const float *y;

		aoi_net_maxunpool(net, p, p, NULL);
		aoi_net_set_output(net, p, NULL);
		CHECK(aoi_net_plan(net, 1, H, W, NULL) == 0);
		y = aoi_net_forward(net, x, 0, NULL, NULL);
		CHECK(y != NULL);
		for (int i = 0; i < C * H * W; i++)
			u[i] = 0.0f;
		for (int c = 0; y && c < C; c++)
			for (int oy = 0; oy < oh; oy++)
				for (int ox = 0; ox < ow; ox++) {
					int y0 = oy * s - pad, x0 = ox * s - pad, y1 = y0 + k, x1 = x0 + k;
					const float *xc = x + c * H * W;
					float m, got = y[(c * oh + oy) * ow + ox];
					int best;

					y0 = y0 < 0 ? 0 : y0, x0 = x0 < 0 ? 0 : x0;
					y1 = y1 > H ? H : y1, x1 = x1 > W ? W : x1;
					best = y0 * W + x0, m = xc[best];
					for (int iy = y0; iy < y1; iy++)
						for (int ix = x0; ix < x1; ix++) {
							float v = xc[iy * W + ix];
							if (v > m || v != v)
								m = v, best = iy * W + ix;
						}
					bad += !(got == m || (got != got && m != m));
					u[c * H * W + best] = m;
				}
		aoi_net_set_output(net, p + 1, NULL);
		const float *un = aoi_net_forward(net, x, 0, NULL, NULL);
		for (int i = 0; un && i < C * H * W; i++)
			bad += !(un[i] == u[i] || (un[i] != un[i] && u[i] != u[i]));
		CHECK_MSG(bad == 0, "maxpool k %d s %d p %d: %d values or indices off", k, s,
			  pad, bad);
		aoi_net_free(net);
	}
}

static void check_pools_pytorch(void)
{
	static const int32_t first_idx[8] = {6, 3, 4, 6, 21, 21, 19, 21};
	aoi_net *net;
	const float *y;
	int p;

	net = aoi_net_new(4, NULL);
	p = aoi_net_maxpool(net, 0, 3, 2, 1, NULL);
	aoi_net_maxunpool(net, p, p, NULL);
	aoi_net_set_output(net, p, NULL);
	y = check_ref("maxpool", net, 0, &(ref){2, 4, 4, 3, {0, 1, 2, 32, 48, 95},
		{0.7965655, 0.8956987, 0.9958808, 0.9987549, 0.9997435, 0.9992519},
		81.27842});
	/* the unpooled map holds each max where PyTorch's index says */
	if (y) {
		aoi_net_set_output(net, 2, NULL);
		const float *u = aoi_net_forward(net, ref_x, 0, NULL, NULL);
		aoi_shape us = aoi_net_output_shape(net);
		int nonzero = 0;

		CHECK(us.h == 7 && us.w == 6 && us.c == 4);
		for (int k = 0; k < 8; k++) /* plane 0 */
			CHECK_NEAR(u[first_idx[k]], y[k], 0);
		for (int i = 0; i < 3; i++) /* never a max in plane 0 */
			CHECK_NEAR(u[i], 0, 0);
		for (int i = 0; i < 2 * 4 * 42; i++)
			nonzero += u[i] != 0.0f;
		CHECK(nonzero <= 2 * 4 * 12 && nonzero >= 2 * 4 * 4);
	}
	aoi_net_free(net);

	net = aoi_net_new(4, NULL);
	aoi_net_avgpool(net, 0, 3, 2, 1, NULL);
	check_ref("avgpool", net, 0, &(ref){2, 4, 4, 3, {0, 1, 2, 32, 48, 95},
		{0.1869139, 0.2721053, 0.1483397, 0.03754216, 0.113366, 0.01474494},
		0.5780574});
	aoi_net_free(net);

	net = aoi_net_new(4, NULL);
	aoi_net_adaptive_avgpool(net, 0, 3, 4, NULL);
	check_ref("adaptive avgpool", net, 0, &(ref){2, 4, 3, 4, {0, 1, 2, 32, 48, 95},
		{-0.04602426, -0.02455726, 0.02499255, 0.06843808, -0.06761122, -0.05678876},
		-0.04992605});
	aoi_net_free(net);
}

static void check_resample_pytorch(void)
{
	aoi_net *net;

	net = aoi_net_new(4, NULL);
	aoi_net_upsample(net, 0, 2, 1, NULL);
	check_ref("bilinear x2", net, 0, &(ref){2, 4, 14, 12, {0, 1, 2, 448, 672, 1343},
		{0, 0.09040385, 0.2712116, -0.05514442, -0.6224374, -0.9898058}, 10.2297});
	aoi_net_free(net);

	net = aoi_net_new(4, NULL);
	aoi_net_upsample(net, 0, 4, 1, NULL);
	check_ref("bilinear x4", net, 0, &(ref){2, 4, 28, 24, {0, 1, 2, 1792, 2688, 5375},
		{0, 0, 0.04520193, -0.4377173, -0.6224374, -0.9898058}, 40.91878});
	aoi_net_free(net);

	net = aoi_net_new(4, NULL);
	aoi_net_upsample(net, 0, 2, 0, NULL);
	check_ref("nearest x2", net, 0, &(ref){2, 4, 14, 12, {0, 1, 2, 448, 672, 1343},
		{0, 0, 0.3616154, 0.1402407, -0.6224374, -0.9898058}, 10.22969});
	aoi_net_free(net);

	net = aoi_net_new(4, NULL);
	aoi_net_softmax(net, 0, NULL);
	check_ref("softmax", net, 0, &(ref){2, 4, 7, 6, {0, 1, 2, 112, 168, 335},
		{0.2211507, 0.3239789, 0.407381, 0.1253849, 0.09603146, 0.06181301}, 84});
	aoi_net_free(net);
}

static aoi_net *small_net(aoi_error *err)
{
	aoi_net *net = aoi_net_new(3, err);
	int x;

	aoi_net_set_block(net, "encoder");
	x = aoi_net_conv(net, 0, 8, 3, 2, 1, 1, 1, 0, err);
	x = aoi_net_batchnorm(net, x, err);
	x = aoi_net_activation(net, x, AOI_ACT_RELU6, 0, err);
	x = aoi_net_conv(net, x, 8, 3, 1, 1, 1, 8, 0, err);
	x = aoi_net_batchnorm(net, x, err);
	x = aoi_net_activation(net, x, AOI_ACT_RELU, 0, err);
	aoi_net_set_block(net, "head");
	x = aoi_net_global_avgpool(net, x, err);
	x = aoi_net_flatten(net, x, err);
	x = aoi_net_dropout(net, x, 0.5f, err);
	x = aoi_net_dense(net, x, 4, 1, err);
	return x < 0 ? (aoi_net_free(net), NULL) : net;
}

static void check_params_and_info(void)
{
	aoi_error err;
	aoi_net *net = small_net(&err);
	aoi_node_info info;
	const aoi_param_info *pi;

	CHECK(net != NULL);
	if (!net)
		return;
	/* conv 8x3x3x3, bn 8+8, dw 8x1x3x3, bn 8+8, dense 4x8 + 4 */
	CHECK_INT(aoi_net_param_count(net), 216 + 16 + 72 + 16 + 32 + 4);
	CHECK_INT(aoi_net_param_tensors(net), 8);
	pi = aoi_net_param_info(net, 0);
	CHECK_STR(pi->name, "encoder/conv1.weight");
	CHECK(pi->ndim == 4 && pi->shape[0] == 8 && pi->shape[1] == 3 && pi->shape[3] == 3);
	CHECK(pi->decay == 1 && pi->offset == 0 && pi->count == 216);
	pi = aoi_net_param_info(net, 1);
	CHECK_STR(pi->name, "encoder/batchnorm2.weight");
	CHECK_INT(pi->decay, 0);
	pi = aoi_net_param_info(net, 3); /* depthwise: in/groups = 1 */
	CHECK(pi->shape[0] == 8 && pi->shape[1] == 1);
	pi = aoi_net_param_info(net, 7);
	CHECK_STR(pi->name, "head/dense10.bias");
	CHECK(aoi_net_param_info(net, 8) == NULL);
	CHECK(aoi_net_plan(net, 2, 32, 32, &err) == 0);
	CHECK(aoi_net_node_info(net, 1, &info) == 0);
	CHECK_STR(info.kind, "conv");
	CHECK_STR(info.block, "encoder");
	CHECK(info.out.n == 2 && info.out.c == 8 && info.out.h == 16 && info.out.w == 16);
	CHECK_NEAR(info.flops, 2.0 * 2 * 8 * 16 * 16 * 27, 0.5);
	CHECK(aoi_net_node_info(net, 3, &info) == 0);
	CHECK_STR(info.kind, "relu6");
	CHECK(info.ninputs == 1 && info.inputs[0] == 2);
	CHECK(aoi_net_node_info(net, 7, &info) == 0);
	CHECK_STR(info.kind, "global_avgpool");
	CHECK(aoi_net_node_info(net, 11, &info) == -1);
	CHECK_INT(aoi_net_node_count(net), 11);
	aoi_net_free(net);
}

static float *random_input(size_t n, uint64_t seed)
{
	float *x = malloc(sizeof(float) * n);
	aoi_rng rng;

	aoi_rng_seed(&rng, seed);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)aoi_rng_range(&rng, -1, 1);
	return x;
}

/* One training step's output and gradients for a seed. */
static void train_once(aoi_net *net, uint64_t seed, const float *x, float *out)
{
	aoi_rng rng;
	const float *y;
	float dout[8];

	aoi_rng_seed(&rng, seed);
	aoi_net_init_params(net, &rng);
	aoi_net_zero_grads(net);
	y = aoi_net_forward(net, x, 1, &rng, NULL);
	memcpy(out, y, sizeof dout);
	for (int i = 0; i < 8; i++)
		dout[i] = 1.0f;
	aoi_net_backward(net, dout, NULL);
}

static void check_determinism_and_freezing(void)
{
	aoi_net *a = small_net(NULL), *b = small_net(NULL);
	float *x = random_input(2 * 3 * 16 * 16, 5), ya[8], yb[8];
	size_t np = aoi_net_param_count(a);
	const aoi_param_info *head;
	int zero = 1, nonzero = 0;

	aoi_net_plan(a, 2, 16, 16, NULL);
	aoi_net_plan(b, 2, 16, 16, NULL);
	train_once(a, 42, x, ya);
	train_once(b, 42, x, yb);
	CHECK(memcmp(ya, yb, sizeof ya) == 0);
	CHECK(memcmp(aoi_net_params(a), aoi_net_params(b), sizeof(float) * np) == 0);
	CHECK(memcmp(aoi_net_grads(a), aoi_net_grads(b), sizeof(float) * np) == 0);
	train_once(b, 43, x, yb);
	CHECK(memcmp(ya, yb, sizeof ya) != 0);

	CHECK_INT(aoi_net_freeze_block(a, "encoder", 1), 6);
	CHECK_INT(aoi_net_freeze_block(a, "encoder", 1), 0);
	train_once(a, 42, x, ya);
	head = aoi_net_param_info(a, 6);
	for (size_t i = 0; i < head->offset; i++)
		zero &= aoi_net_grads(a)[i] == 0.0f;
	for (size_t i = head->offset; i < np; i++)
		nonzero += aoi_net_grads(a)[i] != 0.0f;
	CHECK(zero);
	CHECK(nonzero > 0);
	CHECK(aoi_net_param_info(a, 0)->frozen && !head->frozen);
	/* the input gradient still goes through the frozen encoder */
	CHECK(aoi_net_input_grad(a) != NULL);
	CHECK_INT(aoi_net_freeze_block(a, "", 0), 6);
	CHECK_INT(aoi_net_freeze_nodes(a, 1, 2, 1), 3);
	aoi_net_free(a);
	aoi_net_free(b);
	free(x);
}

static double max_diff(const float *a, const float *b, size_t n)
{
	double m = 0.0;

	for (size_t i = 0; i < n; i++)
		m = fmax(m, fabs((double)a[i] - b[i]) / fmax(1.0, fabs((double)b[i])));
	return m;
}

/* Inference output of node `id` (made the output, copied into out, then
 * the last node made the output again: that plans again, so the net's own
 * pointer would not outlive it). */
static int net_node_output(aoi_net *net, int id, const float *x, float *out,
			   size_t n)
{
	int last = aoi_net_node_count(net) - 1;
	const float *y;

	if (aoi_net_set_output(net, id, NULL) < 0)
		return -1;
	y = aoi_net_forward(net, x, 0, NULL, NULL);
	if (y)
		memcpy(out, y, sizeof(float) * n);
	aoi_net_set_output(net, last, NULL);
	return y ? 0 : -1;
}

static void check_fusion(void)
{
	aoi_net *net = aoi_net_new(3, NULL);
	float *x = random_input(2 * 3 * 9 * 9, 3), *ref;
	aoi_error err;
	aoi_rng rng;
	const float *y;
	size_t n;
	int c, skip;

	skip = aoi_net_conv(net, 0, 6, 3, 1, 1, 1, 1, 0, NULL);
	c = aoi_net_batchnorm(net, skip, NULL);
	c = aoi_net_activation(net, c, AOI_ACT_RELU6, 0, NULL);
	c = aoi_net_conv(net, c, 6, 3, 2, 1, 1, 6, 1, NULL);
	c = aoi_net_batchnorm(net, c, NULL);
	c = aoi_net_activation(net, c, AOI_ACT_LEAKY, 0.1f, NULL);
	c = aoi_net_conv(net, c, 4, 1, 1, 0, 1, 1, 0, NULL);
	c = aoi_net_batchnorm(net, c, NULL);
	aoi_net_upsample(net, c, 2, 0, NULL);
	aoi_rng_seed(&rng, 9);
	aoi_net_init_params(net, &rng);
	aoi_net_plan(net, 2, 9, 9, NULL);
	/* non-trivial running statistics */
	for (int i = 0; i < 3; i++)
		aoi_net_forward(net, x, 1, &rng, NULL);
	y = aoi_net_forward(net, x, 0, NULL, NULL);
	n = (size_t)2 * 4 * 10 * 10;
	CHECK_INT(aoi_net_output_shape(net).h, 10);
	ref = malloc(sizeof(float) * n);
	memcpy(ref, y, sizeof(float) * n);
	CHECK(aoi_net_fuse_for_inference(net, &err) == 0);
	y = aoi_net_forward(net, x, 0, NULL, &err);
	CHECK(y != NULL);
	for (size_t i = 0; y && i < n; i++)
		if (fabsf(y[i] - ref[i]) > 1e-5f * fmaxf(1.0f, fabsf(ref[i]))) {
			CHECK_MSG(0, "fused output %zu: %g vs %g", i, y[i], ref[i]);
			break;
		}
	CHECK(aoi_net_forward(net, x, 1, &rng, &err) == NULL);
	CHECK(strstr(err.msg, "fused") != NULL);
	aoi_net_free(net);
	free(ref);
	free(x);
}

/* A small U-Net with a residual and skips: after fusion the outputs share
 * memory by lifetime; the answer must not change, for the last node and
 * for an earlier one made the output after planning. */
static void check_fused_unet(void)
{
	aoi_net *net = aoi_net_new(2, NULL);
	float *x = random_input(2 * 2 * 16 * 16, 4), *ref, *mid, *got;
	aoi_rng rng;
	const float *y;
	int e1, e2, d, r, m;
	size_t n = (size_t)2 * 3 * 16 * 16, nm = (size_t)2 * 8 * 8 * 8;

	e1 = aoi_net_conv(net, 0, 4, 3, 1, 1, 1, 1, 0, NULL);
	e1 = aoi_net_batchnorm(net, e1, NULL);
	e1 = aoi_net_activation(net, e1, AOI_ACT_RELU, 0, NULL);
	e2 = aoi_net_maxpool(net, e1, 2, 2, 0, NULL);
	e2 = aoi_net_conv(net, e2, 8, 3, 1, 1, 1, 1, 0, NULL);
	e2 = aoi_net_batchnorm(net, e2, NULL);
	m = aoi_net_activation(net, e2, AOI_ACT_RELU6, 0, NULL);
	r = aoi_net_conv(net, m, 8, 3, 1, 1, 1, 8, 0, NULL);
	r = aoi_net_add(net, r, m, NULL);
	d = aoi_net_upsample(net, r, 2, 1, NULL);
	d = aoi_net_concat(net, 2, (int[]){d, e1}, NULL);
	d = aoi_net_conv(net, d, 3, 3, 1, 1, 1, 1, 1, NULL);
	aoi_rng_seed(&rng, 11);
	aoi_net_init_params(net, &rng);
	CHECK(aoi_net_plan(net, 2, 16, 16, NULL) == 0);
	aoi_net_forward(net, x, 1, &rng, NULL);
	ref = malloc(sizeof(float) * n);
	mid = malloc(sizeof(float) * nm);
	got = malloc(sizeof(float) * nm);
	memcpy(ref, aoi_net_forward(net, x, 0, NULL, NULL), sizeof(float) * n);
	CHECK(net_node_output(net, m, x, mid, nm) == 0);
	CHECK(aoi_net_fuse_for_inference(net, NULL) == 0);
	y = aoi_net_forward(net, x, 0, NULL, NULL);
	CHECK(y && max_diff(y, ref, n) < 1e-5);
	CHECK(net_node_output(net, m, x, got, nm) == 0);
	CHECK(max_diff(got, mid, nm) < 1e-5);
	aoi_net_free(net);
	free(x);
	free(ref);
	free(mid);
	free(got);
}

/* Folded into a batch norm, the Winograd filters are made once at fusion. */
static void check_winograd_fused(void)
{
	aoi_net *net = aoi_net_new(64, NULL);
	float *x = random_input(2 * 64 * 6 * 6, 8), *ref;
	size_t n = (size_t)2 * 64 * 6 * 6;
	aoi_rng rng;
	int c;

	c = aoi_net_conv(net, 0, 64, 3, 1, 1, 1, 1, 0, NULL);
	c = aoi_net_batchnorm(net, c, NULL);
	aoi_net_activation(net, c, AOI_ACT_RELU, 0, NULL);
	aoi_rng_seed(&rng, 5);
	aoi_net_init_params(net, &rng);
	aoi_net_plan(net, 2, 6, 6, NULL);
	aoi_net_forward(net, x, 1, &rng, NULL);
	ref = malloc(sizeof(float) * n);
	memcpy(ref, aoi_net_forward(net, x, 0, NULL, NULL), sizeof(float) * n);
	CHECK(aoi_net_fuse_for_inference(net, NULL) == 0);
	CHECK(max_diff(aoi_net_forward(net, x, 0, NULL, NULL), ref, n) < 1e-5);
	aoi_net_free(net);
	free(ref);
	free(x);
}

/* A k x k convolution by definition, in double, one image. */
static double conv_k_at(const float *x, const float *w, int cin, int h, int wd,
			int k, int p, int co, int oy, int ox)
{
	double s = 0.0;

	for (int ci = 0; ci < cin; ci++)
		for (int ky = 0; ky < k; ky++)
			for (int kx = 0; kx < k; kx++) {
				int iy = oy - p + ky, ix = ox - p + kx;
				if (iy >= 0 && iy < h && ix >= 0 && ix < wd)
					s += (double)w[((co * cin + ci) * k + ky) * k + kx] *
					     x[(ci * h + iy) * wd + ix];
			}
	return s;
}

/* Its gradient to the input at (ci, iy, ix). */
static double conv_dx_at(const float *dy, const float *w, int cin, int cout, int oh,
			 int ow, int k, int p, int ci, int iy, int ix)
{
	double s = 0.0;

	for (int co = 0; co < cout; co++)
		for (int ky = 0; ky < k; ky++)
			for (int kx = 0; kx < k; kx++) {
				int oy = iy + p - ky, ox = ix + p - kx;
				if (oy >= 0 && oy < oh && ox >= 0 && ox < ow)
					s += (double)w[((co * cin + ci) * k + ky) * k + kx] *
					     dy[(co * oh + oy) * ow + ox];
			}
	return s;
}

/* And to weight (co, ci, ky, kx), over the batch. */
static double conv_dw_at(const float *x, const float *dy, int n, int cin, int cout,
			 int h, int wd, int oh, int ow, int p, int co, int ci, int ky,
			 int kx)
{
	double s = 0.0;

	for (int b = 0; b < n; b++)
		for (int oy = 0; oy < oh; oy++)
			for (int ox = 0; ox < ow; ox++) {
				int iy = oy - p + ky, ix = ox - p + kx;
				if (iy >= 0 && iy < h && ix >= 0 && ix < wd)
					s += (double)dy[((b * cout + co) * oh + oy) * ow + ox] *
					     x[((b * cin + ci) * h + iy) * wd + ix];
			}
	return s;
}

/* Training runs Winograd too, forward, back to the input and (from 65
 * outputs) to the weights: two images whose tiles share a block, outputs
 * not in whole blocks of 8, 3x3 with every padding and 5x5; images wide
 * enough for rows of 16 tiles side by side (read as vectors). */
static void check_winograd_training(int k, int p, int cout, int H, int W)
{
	enum { N = 2, CIN = 16 };
	aoi_net *net = aoi_net_new(CIN, NULL);
	float *x = random_input(N * CIN * H * W, 31 + p), *dy;
	const float *y, *w, *dx, *dw;
	double worst = 0.0, worst_dx = 0.0, worst_dw = 0.0;
	aoi_rng rng;
	aoi_shape s;

	aoi_net_conv(net, 0, cout, k, 1, p, 1, 1, 0, NULL);
	aoi_rng_seed(&rng, 4);
	aoi_net_init_params(net, &rng);
	w = aoi_net_params(net);
	CHECK(aoi_net_plan(net, N, H, W, NULL) == 0);
	y = aoi_net_forward(net, x, 1, &rng, NULL);
	s = aoi_net_output_shape(net);
	dy = random_input((size_t)N * cout * s.h * s.w, 41 + p);
	for (int n = 0; n < N; n++)
		for (int co = 0; co < cout; co++)
			for (int oy = 0; oy < s.h; oy++)
				for (int ox = 0; ox < s.w; ox++)
					worst = fmax(worst, fabs(y[((n * cout + co) * s.h + oy) * s.w + ox] -
						conv_k_at(x + n * CIN * H * W, w, CIN, H, W, k, p, co, oy, ox)));
	CHECK_MSG(worst < 1e-4, "winograd %dx%d pad %d: off by %g", k, k, p, worst);
	aoi_net_zero_grads(net);
	CHECK(aoi_net_backward(net, dy, NULL) == 0);
	dx = aoi_net_input_grad(net);
	for (int n = 0; n < N; n++)
		for (int ci = 0; ci < CIN; ci++)
			for (int iy = 0; iy < H; iy++)
				for (int ix = 0; ix < W; ix++)
					worst_dx = fmax(worst_dx, fabs(dx[((n * CIN + ci) * H + iy) * W + ix] -
						conv_dx_at(dy + n * cout * s.h * s.w, w, CIN, cout,
							   s.h, s.w, k, p, ci, iy, ix)));
	CHECK_MSG(worst_dx < 1e-4, "winograd %dx%d input gradient pad %d: off by %g", k, k,
		  p, worst_dx);
	dw = aoi_net_grads(net);
	for (int co = 0; co < cout; co += 7)
		for (int ci = 0; ci < CIN; ci += 3)
			for (int t = 0; t < k * k; t++) {
				double ref = conv_dw_at(x, dy, N, CIN, cout, H, W, s.h, s.w, p, co,
							ci, t / k, t % k);
				worst_dw = fmax(worst_dw, fabs(dw[(co * CIN + ci) * k * k + t] - ref) /
							  fmax(1.0, fabs(ref)));
			}
	CHECK_MSG(worst_dw < 1e-4, "winograd %dx%d weight gradient pad %d, %d outputs: off by %g",
		  k, k, p, cout, worst_dw);
	aoi_net_free(net);
	free(dy);
	free(x);
}

/* Turning Winograd off or on resizes the scratch: a planned net refuses to
 * run until planned again, then gives the direct sums. */
static void check_winograd_switch(void)
{
	aoi_net *net = aoi_net_new(16, NULL);
	float *x = random_input(16 * 9 * 9, 51), *wino;
	size_t n = (size_t)16 * 9 * 9;
	aoi_error err;
	aoi_rng rng;

	aoi_net_conv(net, 0, 16, 3, 1, 1, 1, 1, 0, NULL);
	aoi_rng_seed(&rng, 6);
	aoi_net_init_params(net, &rng);
	CHECK(aoi_net_plan(net, 1, 9, 9, NULL) == 0);
	wino = malloc(sizeof(float) * n);
	memcpy(wino, aoi_net_forward(net, x, 0, NULL, NULL), sizeof(float) * n);
	aoi_net_set_winograd(net, 1); /* no change: still planned */
	CHECK(aoi_net_forward(net, x, 0, NULL, NULL) != NULL);
	aoi_net_set_winograd(net, 0);
	CHECK(aoi_net_forward(net, x, 0, NULL, &err) == NULL);
	CHECK(strstr(err.msg, "aoi_net_plan") != NULL);
	CHECK(aoi_net_plan(net, 1, 9, 9, NULL) == 0);
	CHECK(max_diff(aoi_net_forward(net, x, 0, NULL, NULL), wino, n) < 1e-4);
	aoi_net_free(net);
	free(wino);
	free(x);
}

/* Fused for inference, 3x3 convolutions between 16 or more channels take
 * the Winograd path: check it against the definition (odd sizes, padding 1
 * and 2), then folded into a batch norm, then in training. */
static void check_winograd(void)
{
	static const int pads[2] = {1, 2};

	for (int k = 0; k < 2; k++) {
		aoi_net *net = aoi_net_new(64, NULL);
		float *x = random_input(64 * 7 * 9, 21);
		const float *y, *w;
		aoi_shape s;
		double worst = 0.0;
		aoi_rng rng;

		aoi_net_conv(net, 0, 70, 3, 1, pads[k], 1, 1, 0, NULL);
		aoi_rng_seed(&rng, 3);
		aoi_net_init_params(net, &rng);
		w = aoi_net_params(net);
		CHECK(aoi_net_fuse_for_inference(net, NULL) == 0);
		CHECK(aoi_net_plan(net, 1, 7, 9, NULL) == 0);
		y = aoi_net_forward(net, x, 0, NULL, NULL);
		s = aoi_net_output_shape(net);
		CHECK(s.h == 5 + 2 * pads[k] && s.w == 7 + 2 * pads[k]);
		for (int co = 0; co < 70; co++)
			for (int oy = 0; oy < s.h; oy++)
				for (int ox = 0; ox < s.w; ox++)
					worst = fmax(worst, fabs(y[(co * s.h + oy) * s.w + ox] -
						conv_k_at(x, w, 64, 7, 9, 3, pads[k], co, oy, ox)));
		CHECK_MSG(worst < 1e-4, "winograd pad %d: off by %g", pads[k], worst);
		aoi_net_free(net);
		free(x);
	}
	check_winograd_fused();
	check_winograd_switch();
	for (int p = 0; p <= 2; p++)
		check_winograd_training(3, p, 20, 19, 23);
	check_winograd_training(3, 1, 70, 19, 23);
	check_winograd_training(5, 2, 20, 19, 23);
	check_winograd_training(5, 1, 66, 19, 23);
	check_winograd_training(3, 1, 20, 9, 150);
	check_winograd_training(5, 0, 66, 10, 141);
}

static void check_errors(void)
{
	aoi_error err;
	aoi_net *net = aoi_net_new(3, &err);
	float x[3 * 8 * 8] = {0};
	int a, b;

	CHECK(aoi_net_new(0, &err) == NULL && err.code == AOI_EINVAL);
	CHECK(aoi_net_conv(net, 5, 4, 3, 1, 1, 1, 1, 0, &err) == -1);
	CHECK(strstr(err.msg, "does not exist") != NULL);
	CHECK(aoi_net_conv(net, 0, 4, 3, 1, 1, 1, 2, 0, &err) == -1);
	CHECK_INT(err.code, AOI_ESHAPE);
	CHECK(strstr(err.msg, "groups") != NULL);
	CHECK(aoi_net_conv(net, 0, 4, 0, 1, 1, 1, 1, 0, &err) == -1);
	CHECK(aoi_net_dropout(net, 0, 1.0f, &err) == -1);
	a = aoi_net_flatten(net, 0, &err);
	CHECK(aoi_net_dense(net, a, 4, 1, &err) == -1); /* size unknown */
	CHECK(strstr(err.msg, "aoi_net_set_input_size") != NULL);
	CHECK(aoi_net_forward(net, x, 0, NULL, &err) == NULL);
	CHECK(aoi_net_backward(net, x, &err) == -1);
	CHECK_INT(aoi_net_node_count(net), 2);
	aoi_net_free(net);

	/* a dense layer built for 8x8 inputs, planned at 9x9 */
	net = aoi_net_new(3, NULL);
	CHECK(aoi_net_set_input_size(net, 8, 8, &err) == 0);
	a = aoi_net_conv(net, 0, 2, 3, 1, 1, 1, 1, 1, &err);
	a = aoi_net_flatten(net, a, &err);
	CHECK(aoi_net_dense(net, a, 4, 1, &err) == 3);
	CHECK(aoi_net_set_input_size(net, 9, 9, &err) == -1);
	CHECK(aoi_net_plan(net, 1, 9, 9, &err) == -1);
	CHECK_INT(err.code, AOI_ESHAPE);
	CHECK(strstr(err.msg, "built for 128 input features, gets 162") != NULL);
	CHECK(aoi_net_plan(net, 1, 8, 8, &err) == 0);
	CHECK(aoi_net_forward(net, x, 0, NULL, &err) != NULL);
	CHECK(aoi_net_input_grad(net) == NULL);
	CHECK(aoi_net_backward(net, x, &err) == -1); /* not a training forward */
	aoi_net_free(net);

	/* concat of maps whose sizes differ only for odd inputs */
	net = aoi_net_new(1, NULL);
	a = aoi_net_maxpool(net, 0, 2, 2, 0, NULL);
	a = aoi_net_upsample(net, a, 2, 0, NULL);
	b = aoi_net_concat(net, 2, (int[]){a, 0}, &err);
	CHECK(b == 3);
	CHECK(aoi_net_plan(net, 1, 8, 8, &err) == 0);
	CHECK(aoi_net_plan(net, 1, 9, 9, &err) == -1);
	CHECK(strstr(err.msg, "node 3 (concat)") != NULL);
	CHECK(aoi_net_add(net, b, 0, &err) == -1);
	CHECK(strstr(err.msg, "cannot add") != NULL);
	CHECK(aoi_net_maxunpool(net, a, a, &err) == -1);
	aoi_net_free(net);
	aoi_net_free(NULL);
}

int main(void)
{
	fill_seq(ref_x, sizeof ref_x / sizeof ref_x[0], 0.37, 1.0, 0.0);
	check_conv_by_hand();
	check_against_pytorch();
	check_batchnorm_pytorch();
	check_pools_pytorch();
	check_maxpool_wide();
	check_resample_pytorch();
	check_params_and_info();
	check_determinism_and_freezing();
	check_fusion();
	check_fused_unet();
	check_winograd();
	check_errors();
	return check_done();
}
