/* test_nn_grad.c: every layer kind's backward against central finite
 * differences, w.r.t. the input and every parameter. The loss is
 * sum(y * r) for a fixed random r (summed over the outputs of a net with
 * several), accumulated in double; batch norm runs in training mode;
 * dropout sees the same rng state in every pass so that its mask is
 * fixed. */
#include "check.h"

#include <stdint.h>
#include <stdlib.h>

#include "base/rng.h"
#include "nn/net.h"

#define EPS 1e-3
#define MAX_PROBES 48

typedef struct gcase {
	aoi_net *net;
	float *x, *r[AOI_NET_MAX_OUTPUTS];
	size_t nx, ny[AOI_NET_MAX_OUTPUTS];
	int nout;
	unsigned outputs; /* bit k: output k counts in the loss */
	double eps; /* the finite-difference step */
} gcase;

static double loss_of(gcase *g)
{
	aoi_rng rng;
	aoi_error err;
	double s = 0.0;

	aoi_rng_seed(&rng, 99); /* same dropout mask in every pass */
	if (!aoi_net_forward(g->net, g->x, 1, &rng, &err))
		return NAN;
	for (int k = 0; k < g->nout; k++) {
		const float *y = aoi_net_output_at(g->net, k);
		for (size_t i = 0; (g->outputs >> k & 1) && i < g->ny[k]; i++)
			s += (double)y[i] * g->r[k][i];
	}
	return s;
}

static int close_enough(double a, double n)
{
	double scale = fmax(1.0, fmax(fabs(a), fabs(n)));
	return fabs(a - n) <= 5e-3 + 2e-2 * scale;
}

/* Compare analytic gradients in `ana` against finite differences of the
 * values in `v` (input or parameters); probe at most MAX_PROBES spread
 * indices. */
static int probe(const char *what, const char *name, gcase *g, float *v,
		 size_t n, const float *ana)
{
	size_t step = n > MAX_PROBES ? n / MAX_PROBES : 1;
	int bad = 0;

	for (size_t i = 0; i < n; i += step) {
		float keep = v[i];
		double up, down, num;

		v[i] = keep + (float)g->eps;
		up = loss_of(g);
		v[i] = keep - (float)g->eps;
		down = loss_of(g);
		v[i] = keep;
		num = (up - down) / (2 * g->eps);
		if (!close_enough(ana[i], num)) {
			if (bad++ < 3)
				fprintf(stderr, "%s: %s[%zu]: analytic %.6g numeric %.6g\n",
					name, what, i, ana[i], num);
		}
	}
	return bad;
}

/* Plan, initialise, run forward/backward and check every gradient. With
 * cut > 0, the gradients of the input and of the parameters of nodes
 * before node `cut` are checked against the loss of output 0 alone: what
 * reaches them when a detach at the cut keeps the other outputs out. */
static void grad_check_cut(const char *name, aoi_net *net, int batch, int h, int w,
			   float input_scale, double eps, int cut)
{
	aoi_error err;
	aoi_rng rng;
	gcase g = {net, NULL, {NULL}, 0, {0}, aoi_net_output_count(net), ~0u, eps};
	aoi_shape is;
	float *ana_x, *ana_p;
	size_t np = aoi_net_param_count(net);
	int bad = 0;

	if (aoi_net_plan(net, batch, h, w, &err) < 0) {
		CHECK_MSG(0, "%s: plan: %s", name, err.msg);
		aoi_net_free(net);
		return;
	}
	is = aoi_net_input_shape(net);
	g.nx = (size_t)is.n * is.c * is.h * is.w;
	g.x = malloc(sizeof(float) * g.nx);
	for (int k = 0; k < g.nout; k++) {
		aoi_shape os = aoi_net_output_shape_at(net, k);
		g.ny[k] = (size_t)os.n * os.c * os.h * os.w;
		g.r[k] = malloc(sizeof(float) * g.ny[k]);
	}
	ana_x = malloc(sizeof(float) * g.nx);
	ana_p = malloc(sizeof(float) * (np ? np : 1));
	aoi_rng_seed(&rng, 7);
	aoi_net_init_params(net, &rng);
	/* move batch-norm gamma/beta off 1/0 so that their gradients matter */
	for (size_t i = 0; i < np; i++)
		aoi_net_params(net)[i] += (float)aoi_rng_range(&rng, -0.2, 0.2);
	for (size_t i = 0; i < g.nx; i++)
		g.x[i] = input_scale * (float)aoi_rng_range(&rng, -1, 1);
	for (int k = 0; k < g.nout; k++)
		for (size_t i = 0; i < g.ny[k]; i++)
			g.r[k][i] = (float)aoi_rng_range(&rng, -1, 1);
	aoi_net_zero_grads(net);
	CHECK_MSG(!isnan(loss_of(&g)), "%s: forward failed", name);
	CHECK_MSG(aoi_net_backward_outputs(net, (const float *const *)g.r, &err) == 0,
		  "%s: backward: %s", name, err.msg);
	memcpy(ana_x, aoi_net_input_grad(net), sizeof(float) * g.nx);
	if (np)
		memcpy(ana_p, aoi_net_grads(net), sizeof(float) * np);
	g.outputs = cut > 0 ? 1u : ~0u;
	bad += probe("input", name, &g, g.x, g.nx, ana_x);
	for (int t = 0; t < aoi_net_param_tensors(net); t++) {
		const aoi_param_info *pi = aoi_net_param_info(net, t);
		g.outputs = cut > 0 && pi->node < cut ? 1u : ~0u;
		if (pi->frozen) { /* no gradient at all */
			for (size_t i = 0; i < pi->count; i++)
				bad += ana_p[pi->offset + i] != 0.0f;
			continue;
		}
		bad += probe(pi->name, name, &g, aoi_net_params(net) + pi->offset,
			     pi->count, ana_p + pi->offset);
	}
	CHECK_MSG(bad == 0, "%s: %d gradients off", name, bad);
	free(g.x);
	for (int k = 0; k < g.nout; k++)
		free(g.r[k]);
	free(ana_x);
	free(ana_p);
	aoi_net_free(net);
}

static void grad_check_step(const char *name, aoi_net *net, int batch, int h, int w,
			    float input_scale, double eps)
{
	grad_check_cut(name, net, batch, h, w, input_scale, eps, 0);
}

static void grad_check(const char *name, aoi_net *net, int batch, int h, int w,
		       float input_scale)
{
	grad_check_step(name, net, batch, h, w, input_scale, EPS);
}

static aoi_net *new_net(int c)
{
	return aoi_net_new(c, NULL);
}

static void check_convs(void)
{
	aoi_net *net;

	net = new_net(2);
	aoi_net_conv(net, 0, 3, 3, 1, 1, 1, 1, 1, NULL);
	grad_check("conv3x3", net, 2, 5, 6, 1);

	net = new_net(4);
	aoi_net_conv(net, 0, 6, 3, 2, 1, 1, 2, 0, NULL);
	grad_check("conv grouped stride 2", net, 2, 7, 6, 1);

	net = new_net(2);
	aoi_net_conv(net, 0, 3, 3, 1, 2, 2, 1, 1, NULL);
	grad_check("conv dilated", net, 1, 6, 7, 1);

	/* the nine-tap weight gradient: whole 16-pixel tiles and an edge,
	 * dilation 2, an odd number of outputs */
	net = new_net(2);
	aoi_net_conv(net, 0, 5, 3, 1, 2, 2, 1, 0, NULL);
	grad_check("conv 3x3 dilated, 21 wide", net, 1, 4, 21, 1);

	/* the direct kernel's 16-channel blocks, a partial one, partial tiles */
	net = new_net(3);
	aoi_net_conv(net, 0, 21, 3, 1, 1, 1, 1, 1, NULL);
	grad_check("conv 3x3 21 channels", net, 2, 4, 19, 1);

	net = new_net(10); /* input gradient through 16-channel blocks */
	aoi_net_conv(net, 0, 2, 3, 1, 1, 1, 1, 1, NULL);
	grad_check("conv 3x3 10 in, 2 out", net, 2, 5, 17, 1);

	net = new_net(64); /* direct, 16-channel blocks both ways */
	aoi_net_set_winograd(net, 0);
	aoi_net_conv(net, 0, 64, 3, 1, 1, 1, 1, 1, NULL);
	grad_check("conv 3x3 64 to 64", net, 1, 5, 4, 1);

	/* Winograd (forward, to the input, and to the weights from 65
	 * outputs): its float32 sums are a few units in the last place off,
	 * noise that a 1e-3 step magnifies past the tolerance; a convolution
	 * is linear, so a longer step is as exact */
	net = new_net(24);
	aoi_net_conv(net, 0, 70, 3, 1, 1, 1, 1, 1, NULL);
	grad_check_step("conv 3x3 Winograd, 24 to 70", net, 2, 9, 11, 1, 0.05);

	net = new_net(16);
	aoi_net_conv(net, 0, 66, 5, 1, 2, 1, 1, 0, NULL);
	grad_check_step("conv 5x5 Winograd, 16 to 66", net, 1, 9, 7, 1, 0.05);

	net = new_net(2);
	aoi_net_conv(net, 0, 3, 5, 1, 1, 1, 1, 0, NULL);
	grad_check("conv 5x5 pad 1", net, 1, 7, 6, 1);

	net = new_net(4);
	aoi_net_conv(net, 0, 8, 3, 2, 1, 1, 4, 1, NULL);
	grad_check("conv depthwise x2", net, 2, 7, 7, 1);

	net = new_net(3); /* the flat 3x3 backward: whole vectors and a tail */
	aoi_net_conv(net, 0, 3, 3, 1, 1, 1, 3, 1, NULL);
	grad_check("conv depthwise 3x3, 21 wide", net, 2, 5, 21, 1);

	net = new_net(3); /* stride 2 by parity planes: vectors and a tail */
	aoi_net_conv(net, 0, 3, 3, 2, 1, 1, 3, 1, NULL);
	grad_check("conv depthwise 3x3 stride 2, 36 wide", net, 2, 6, 36, 1);

	net = new_net(3);
	aoi_net_conv(net, 0, 3, 5, 1, 2, 1, 3, 0, NULL);
	grad_check("conv depthwise 5x5", net, 1, 6, 6, 1);

	net = new_net(5);
	aoi_net_conv(net, 0, 4, 1, 1, 0, 1, 1, 1, NULL);
	grad_check("conv 1x1", net, 2, 4, 5, 1);

	net = new_net(3);
	aoi_net_conv(net, 0, 4, 1, 2, 0, 1, 1, 0, NULL);
	grad_check("conv 1x1 stride 2", net, 2, 5, 5, 1);

	net = new_net(3);
	aoi_net_conv_transpose(net, 0, 2, 3, 2, 1, 1, 1, NULL);
	grad_check("conv_transpose", net, 2, 4, 3, 1);

	net = new_net(2);
	aoi_net_conv_transpose(net, 0, 3, 2, 2, 0, 0, 0, NULL);
	grad_check("conv_transpose 2/2", net, 1, 3, 4, 1);
}

static void check_norm_act(void)
{
	static const struct {
		enum aoi_act act;
		float alpha, scale;
		const char *name;
	} acts[] = {
		{AOI_ACT_RELU, 0, 1, "relu"},
		{AOI_ACT_RELU6, 0, 8, "relu6"},
		{AOI_ACT_LEAKY, 0.1f, 1, "leaky"},
		{AOI_ACT_SIGMOID, 0, 3, "sigmoid"},
		{AOI_ACT_NONE, 0, 1, "identity"},
	};
	aoi_net *net;
	int c;

	net = new_net(3);
	aoi_net_batchnorm(net, 0, NULL);
	grad_check("batchnorm", net, 2, 3, 4, 2);

	net = new_net(2);
	c = aoi_net_conv(net, 0, 3, 3, 1, 1, 1, 1, 0, NULL);
	c = aoi_net_batchnorm(net, c, NULL);
	aoi_net_activation(net, c, AOI_ACT_RELU6, 0, NULL);
	grad_check("conv+bn+relu6", net, 2, 4, 4, 2);

	for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
		char name[64];

		net = new_net(2);
		aoi_net_activation(net, 0, acts[i].act, acts[i].alpha, NULL);
		grad_check(acts[i].name, net, 2, 3, 3, acts[i].scale);
		/* a batch norm doing its activation's work (planes of 25:
		 * whole vectors and a tail) */
		net = new_net(2);
		c = aoi_net_conv(net, 0, 2, 1, 1, 0, 1, 1, 0, NULL);
		c = aoi_net_batchnorm(net, c, NULL);
		aoi_net_activation(net, c, acts[i].act, acts[i].alpha, NULL);
		snprintf(name, sizeof name, "conv+bn+%s", acts[i].name);
		grad_check(name, net, 2, 5, 5, 2);
	}
	net = new_net(4);
	aoi_net_softmax(net, 0, NULL);
	grad_check("softmax", net, 2, 3, 2, 2);

	net = new_net(3);
	aoi_net_dropout(net, 0, 0.3f, NULL);
	grad_check("dropout", net, 2, 3, 3, 1);
}

static void check_pools(void)
{
	aoi_net *net;
	int p, c;

	net = new_net(2);
	aoi_net_maxpool(net, 0, 3, 2, 1, NULL);
	grad_check("maxpool 3/2 pad 1", net, 2, 7, 6, 1);

	net = new_net(2);
	p = aoi_net_maxpool(net, 0, 2, 2, 0, NULL);
	c = aoi_net_conv(net, p, 2, 1, 1, 0, 1, 1, 1, NULL);
	aoi_net_maxunpool(net, c, p, NULL);
	grad_check("maxpool+unpool", net, 2, 4, 6, 1);

	net = new_net(2);
	aoi_net_avgpool(net, 0, 3, 2, 1, NULL);
	grad_check("avgpool", net, 2, 7, 6, 1);

	net = new_net(2);
	aoi_net_adaptive_avgpool(net, 0, 3, 2, NULL);
	grad_check("adaptive avgpool", net, 2, 7, 5, 1);

	net = new_net(3);
	aoi_net_global_avgpool(net, 0, NULL);
	grad_check("global avgpool", net, 2, 4, 3, 1);

	net = new_net(2);
	aoi_net_upsample(net, 0, 2, 0, NULL);
	grad_check("upsample nearest", net, 2, 3, 4, 1);

	net = new_net(2);
	aoi_net_upsample(net, 0, 2, 1, NULL);
	grad_check("upsample bilinear x2", net, 2, 3, 4, 1);

	net = new_net(1);
	aoi_net_upsample(net, 0, 4, 1, NULL);
	grad_check("upsample bilinear x4", net, 1, 3, 3, 1);
}

static void check_graph_layers(void)
{
	aoi_net *net;
	int a, b, f;

	net = new_net(2);
	a = aoi_net_conv(net, 0, 3, 3, 1, 1, 1, 1, 1, NULL);
	b = aoi_net_conv(net, 0, 2, 1, 1, 0, 1, 1, 0, NULL);
	aoi_net_concat(net, 3, (int[]){a, b, 0}, NULL);
	grad_check("concat", net, 2, 4, 4, 1);

	net = new_net(3);
	a = aoi_net_conv(net, 0, 3, 3, 1, 1, 1, 1, 1, NULL);
	aoi_net_add(net, a, 0, NULL);
	grad_check("add (residual)", net, 2, 4, 4, 1);

	/* who writes a gradient first (backward goes from the output down)
	 * assigns it or zeroes it: c is read by a convolution, by a branch
	 * the output does not use, and twice by an add (assigned, then
	 * added); u twice by a concat */
	net = new_net(2);
	a = aoi_net_conv(net, 0, 3, 3, 1, 1, 1, 1, 1, NULL);
	int c = aoi_net_batchnorm(net, a, NULL);
	int d = aoi_net_conv(net, c, 3, 1, 1, 0, 1, 1, 0, NULL);
	aoi_net_conv(net, c, 2, 1, 1, 0, 1, 1, 0, NULL); /* read by nothing */
	int s = aoi_net_add(net, c, c, NULL);
	int u = aoi_net_upsample(net, aoi_net_add(net, s, d, NULL), 2, 0, NULL);
	aoi_net_concat(net, 2, (int[]){u, u}, NULL);
	grad_check("first writers", net, 2, 3, 4, 1);

	net = new_net(2);
	aoi_net_set_input_size(net, 3, 4, NULL);
	f = aoi_net_flatten(net, 0, NULL);
	aoi_net_dense(net, f, 5, 1, NULL);
	grad_check("flatten+dense", net, 3, 3, 4, 1);

	net = new_net(3);
	a = aoi_net_global_avgpool(net, 0, NULL);
	a = aoi_net_flatten(net, a, NULL);
	a = aoi_net_dropout(net, a, 0.2f, NULL);
	aoi_net_dense(net, a, 4, 0, NULL);
	grad_check("pool+dropout+dense", net, 2, 5, 5, 1);
}

/* An image decision beside a segmentation, as in Bozic et al. (2021):
 * pooled features (global average and max) and the global max and average
 * of the segmentation output, concatenated, a dense layer, one logit; two
 * outputs. Then the same with the segmentation detached: its parameters
 * and the input get no gradient from the decision. */
static void check_decision_head(void)
{
	aoi_net *net = new_net(2);
	int f = aoi_net_conv(net, 0, 4, 3, 1, 1, 1, 1, 0, NULL);
	f = aoi_net_activation(net, aoi_net_batchnorm(net, f, NULL), AOI_ACT_RELU, 0, NULL);
	int seg = aoi_net_conv(net, f, 3, 3, 1, 1, 1, 1, 1, NULL);
	int d = aoi_net_conv(net, f, 5, 3, 2, 1, 1, 1, 1, NULL);
	int pools[4] = { aoi_net_global_avgpool(net, d, NULL), aoi_net_global_maxpool(net, d, NULL),
			 aoi_net_global_maxpool(net, seg, NULL),
			 aoi_net_global_avgpool(net, seg, NULL) };
	int c = aoi_net_flatten(net, aoi_net_concat(net, 4, pools, NULL), NULL);
	int dec = aoi_net_dense(net, c, 1, 1, NULL);
	CHECK(aoi_net_set_output(net, seg, NULL) == 0);
	CHECK_INT(aoi_net_add_output(net, dec, NULL), 1);
	CHECK_INT(aoi_net_output_count(net), 2);
	grad_check("decision head: two outputs, global max and average pools", net, 2, 6, 5, 1);

	/* the detach is the only way from the first two convolutions to the
	 * decision: they learn from the segmentation alone */
	net = new_net(2);
	f = aoi_net_conv(net, 0, 4, 3, 1, 1, 1, 1, 1, NULL);
	seg = aoi_net_conv(net, f, 3, 3, 1, 1, 1, 1, 1, NULL);
	int cut = aoi_net_detach(net, seg, NULL);
	pools[0] = aoi_net_global_maxpool(net, cut, NULL);
	pools[1] = aoi_net_global_avgpool(net, cut, NULL);
	c = aoi_net_flatten(net, aoi_net_concat(net, 2, pools, NULL), NULL);
	dec = aoi_net_dense(net, c, 1, 1, NULL);
	aoi_net_set_output(net, seg, NULL);
	aoi_net_add_output(net, dec, NULL);
	grad_check_cut("decision head: detached segmentation", net, 2, 5, 4, 1, EPS, cut);
}

/* A MobileNetV2 inverted residual block with its first conv frozen: the
 * input gradient then needs the second pass through the frozen part. */
static void check_block_frozen(void)
{
	aoi_net *net = new_net(4);
	int x, e;

	aoi_net_set_block(net, "stem");
	x = aoi_net_conv(net, 0, 4, 3, 1, 1, 1, 1, 0, NULL);
	x = aoi_net_batchnorm(net, x, NULL);
	x = aoi_net_activation(net, x, AOI_ACT_RELU6, 0, NULL);
	aoi_net_set_block(net, "block");
	e = aoi_net_conv(net, x, 8, 1, 1, 0, 1, 1, 0, NULL);
	e = aoi_net_batchnorm(net, e, NULL);
	e = aoi_net_activation(net, e, AOI_ACT_RELU6, 0, NULL);
	e = aoi_net_conv(net, e, 8, 3, 1, 1, 1, 8, 0, NULL);
	e = aoi_net_batchnorm(net, e, NULL);
	e = aoi_net_activation(net, e, AOI_ACT_RELU6, 0, NULL);
	e = aoi_net_conv(net, e, 4, 1, 1, 0, 1, 1, 0, NULL);
	e = aoi_net_batchnorm(net, e, NULL);
	aoi_net_add(net, e, x, NULL);
	CHECK_INT(aoi_net_freeze_block(net, "stem", 1), 3);
	grad_check("frozen stem + inverted residual", net, 2, 5, 5, 2);
}

/* conv + batch norm + act: the plan fuses act into the batch norm unless
 * the batch norm has another reader; `spare` adds one (an identity
 * activation nobody reads). */
static aoi_net *bn_act_net(enum aoi_act act, float alpha, int spare)
{
	aoi_net *net = new_net(3);
	int c = aoi_net_conv(net, 0, 4, 3, 1, 1, 1, 1, 0, NULL);
	int bn = aoi_net_batchnorm(net, c, NULL);
	int out = aoi_net_activation(net, bn, act, alpha, NULL);

	if (spare)
		aoi_net_activation(net, bn, AOI_ACT_NONE, 0, NULL);
	aoi_net_set_output(net, out, NULL);
	return net;
}

static int same_floats(const float *a, const float *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

/* The fused batch norm + activation gives the values of the two layers
 * run apart, bit for bit: outputs (training and inference), input and
 * parameter gradients, running statistics. gamma 3 and beta 0.5 put
 * values on both sides of ReLU6's 0 and 6. */
static void check_bn_act_fused(void)
{
	static const struct {
		enum aoi_act act;
		float alpha;
	} acts[] = {{AOI_ACT_RELU, 0}, {AOI_ACT_RELU6, 0}, {AOI_ACT_LEAKY, 0.1f},
		    {AOI_ACT_SIGMOID, 0}};
	enum { N = 2, C = 3, H = 7, W = 9 };

	for (size_t k = 0; k < sizeof acts / sizeof acts[0]; k++) {
		aoi_net *net[2];
		const float *y[2], *yi[2];
		float *x = malloc(sizeof(float) * N * C * H * W), *r = NULL;
		size_t ny = 0, np = 0;
		aoi_rng rng;

		for (int f = 0; f < 2; f++) {
			net[f] = bn_act_net(acts[k].act, acts[k].alpha, f);
			CHECK(aoi_net_plan(net[f], N, H, W, NULL) == 0);
			aoi_rng_seed(&rng, 5);
			aoi_net_init_params(net[f], &rng);
			np = aoi_net_param_count(net[f]);
			for (size_t i = 0; i < np; i++) /* conv weights, then gamma, beta */
				aoi_net_params(net[f])[i] = i < np - 8 ? aoi_net_params(net[f])[i]
							 : i < np - 4 ? 3.0f : 0.5f;
		}
		aoi_shape os = aoi_net_output_shape(net[0]);
		ny = (size_t)os.n * os.c * os.h * os.w;
		r = malloc(sizeof(float) * ny);
		aoi_rng_seed(&rng, 6);
		for (size_t i = 0; i < (size_t)N * C * H * W; i++)
			x[i] = (float)aoi_rng_range(&rng, -1, 1);
		for (size_t i = 0; i < ny; i++)
			r[i] = (float)aoi_rng_range(&rng, -1, 1);
		for (int f = 0; f < 2; f++) {
			aoi_net_zero_grads(net[f]);
			y[f] = aoi_net_forward(net[f], x, 1, NULL, NULL);
			CHECK(y[f] && aoi_net_backward(net[f], r, NULL) == 0);
		}
		int clipped = 0;
		for (size_t i = 0; y[0] && i < ny; i++)
			clipped += y[0][i] == 0.0f || y[0][i] == 6.0f;
		CHECK_MSG(acts[k].act != AOI_ACT_RELU6 || clipped > 10, "relu6: %d clipped", clipped);
		CHECK_MSG(y[0] && y[1] && same_floats(y[0], y[1], ny), "act %d: outputs differ",
			  (int)acts[k].act);
		CHECK_MSG(same_floats(aoi_net_grads(net[0]), aoi_net_grads(net[1]), np),
			  "act %d: parameter gradients differ", (int)acts[k].act);
		CHECK_MSG(same_floats(aoi_net_input_grad(net[0]), aoi_net_input_grad(net[1]),
				      (size_t)N * C * H * W),
			  "act %d: input gradients differ", (int)acts[k].act);
		CHECK(same_floats(aoi_net_state(net[0], NULL), aoi_net_state(net[1], NULL), 8));
		for (int f = 0; f < 2; f++)
			yi[f] = aoi_net_forward(net[f], x, 0, NULL, NULL);
		CHECK_MSG(yi[0] && yi[1] && same_floats(yi[0], yi[1], ny),
			  "act %d: inference outputs differ", (int)acts[k].act);
		/* made the output, the batch norm gives its own values again */
		CHECK(aoi_net_set_output(net[0], 2, NULL) == 0);
		yi[0] = aoi_net_forward(net[0], x, 0, NULL, NULL);
		int negative = 0;
		for (size_t i = 0; yi[0] && i < ny; i++)
			negative += yi[0][i] < 0.0f;
		CHECK_MSG(negative > 10, "batch norm output: %d negative", negative);
		aoi_net_free(net[0]), aoi_net_free(net[1]);
		free(x), free(r);
	}
}

int main(void)
{
	check_convs();
	check_norm_act();
	check_bn_act_fused();
	check_pools();
	check_graph_layers();
	check_block_frozen();
	check_decision_head();
	return check_done();
}
