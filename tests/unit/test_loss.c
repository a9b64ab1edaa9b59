/* test_loss.c: known values and finite-difference gradient checks for every loss. */
#include "check.h"

#include <stdlib.h>

#include "base/rng.h"
#include "train/loss.h"

#define MAXN 512

/* A loss under test: evaluate at x, gradient into g (may be NULL). */
typedef double (*loss_fn)(const float *x, float *g, const void *ctx);

typedef struct seg_case {
	const int *labels;
	aoi_shape s;
	aoi_loss_opts o;
	int which; /* 0 ce, 1 dice, 2 iou */
} seg_case;

static double seg_loss(const float *x, float *g, const void *ctx)
{
	const seg_case *c = ctx;
	aoi_error err;

	if (c->which == 0)
		return aoi_loss_softmax_ce(x, c->labels, c->s, &c->o, g, &err);
	if (c->which == 1)
		return aoi_loss_dice(x, c->labels, c->s, &c->o, g, &err);
	return aoi_loss_iou(x, c->labels, c->s, &c->o, g, &err);
}

typedef struct val_case {
	const float *t;
	size_t n;
	int which; /* 0 bce, 1 mse, 2 perp, 3 rect */
} val_case;

static double val_loss(const float *x, float *g, const void *ctx)
{
	const val_case *c = ctx;

	switch (c->which) {
	case 0: return aoi_loss_bce(x, c->t, c->n, g);
	case 1: return aoi_loss_mse(x, c->t, c->n, g);
	case 2: return aoi_loss_perp(x, (int)(c->n / 8), g);
	default: return aoi_loss_rect(x, c->t, (int)(c->n / 8), g);
	}
}

typedef struct sum_case {
	const aoi_loss *loss;
	aoi_shape s;
	aoi_loss_target t;
} sum_case;

static double sum_loss(const float *x, float *g, const void *ctx)
{
	const sum_case *c = ctx;
	aoi_error err;

	return aoi_loss_eval(c->loss, x, c->s, &c->t, g, &err);
}

/* Central differences in double around float inputs; returns the worst
 * error relative to max(1e-2, |analytic|). */
static double grad_check(loss_fn f, const void *ctx, float *x, size_t n)
{
	float g[MAXN];
	double worst = 0.0;
	const float h = 1e-2f;

	f(x, g, ctx);
	for (size_t i = 0; i < n; i++) {
		float keep = x[i];
		x[i] = keep + h;
		double up = f(x, NULL, ctx);
		x[i] = keep - h;
		double down = f(x, NULL, ctx);
		x[i] = keep;
		double num = (up - down) / (2.0 * h);
		double scale = fabs(g[i]) > 1e-2 ? fabs(g[i]) : 1e-2;
		double e = fabs(num - g[i]) / scale;
		if (e > worst)
			worst = e;
	}
	return worst;
}

static void fill(float *x, size_t n, aoi_rng *r, double lo, double hi)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)aoi_rng_range(r, lo, hi);
}

static void test_ce_values(void)
{
	float x[2 * 3 * 2 * 2] = {0}, g[24];
	int labels[8] = {0, 1, 2, 0, 1, 1, 2, 0};
	aoi_shape s = {2, 3, 2, 2};
	aoi_loss_opts o;
	aoi_error err;

	aoi_loss_opts_init(&o);
	/* equal logits: -log(1/3) whatever the labels; grads 1/3 - onehot over 8 px */
	CHECK_NEAR(aoi_loss_softmax_ce(x, labels, s, &o, g, &err), log(3.0), 1e-6);
	CHECK_NEAR(g[0], (1.0 / 3 - 1) / 8, 1e-6);
	CHECK_NEAR(g[4], 1.0 / 3 / 8, 1e-6);
	/* one pixel, logits (1, 2, 3), label 2: PyTorch gives 0.40760596 */
	float y[3] = {1, 2, 3};
	int l1 = 2;
	CHECK_NEAR(aoi_loss_softmax_ce(y, &l1, (aoi_shape){1, 3, 1, 1}, &o, NULL, &err),
		   0.40760596, 1e-6);
	/* weights (1, 2, 3): F.cross_entropy(x, t, weight=w) on the same
	 * uniform logits still averages to log 3; ignored pixels drop out */
	float w[3] = {1, 2, 3};
	o.class_weight = w;
	o.ignore_index = 2;
	CHECK_NEAR(aoi_loss_softmax_ce(x, labels, s, &o, g, &err), log(3.0), 1e-6);
	CHECK_NEAR(g[2], 0.0, 0.0); /* pixel 2 of image 0 is ignored */
	/* labels 0,1,0,1,1,0 counted: weights 1,2,1,2,2,1 = 9 */
	CHECK_NEAR(g[5], 2.0 * (1.0 / 3 - 1) / 9, 1e-6);
	CHECK_NEAR(g[1], 2.0 / 3 / 9, 1e-6);
	/* F.cross_entropy(x, t, weight=(1,2,3), ignore_index=2) with
	 * x[i] = sin(0.9 i): PyTorch 1.13 gives 1.1276016 and the gradient
	 * below; without ignore_index 1.0103806 */
	float xs[24];
	static const double want_g[6] = {-0.082280345, 0.093488611, 0, -0.057589989,
					 0.018521322, -0.20615177};
	for (int i = 0; i < 24; i++)
		xs[i] = (float)sin(0.9 * i);
	CHECK_NEAR(aoi_loss_softmax_ce(xs, labels, s, &o, g, &err), 1.1276016, 1e-6);
	for (int i = 0; i < 6; i++)
		CHECK_NEAR(g[i], want_g[i], 1e-7);
	o.ignore_index = -1;
	CHECK_NEAR(aoi_loss_softmax_ce(xs, labels, s, &o, g, &err), 1.0103806, 1e-6);
	/* F.binary_cross_entropy_with_logits(x, sigmoid(cos(i))) = 0.83831167 */
	float ts[24];
	for (int i = 0; i < 24; i++)
		ts[i] = (float)(1.0 / (1.0 + exp(-cos((double)i))));
	CHECK_NEAR(aoi_loss_bce(xs, ts, 24, NULL), 0.83831167, 1e-6);
	/* a label out of range is an error, not a crash */
	int bad[8] = {0, 1, 7, 0, 1, 1, 2, 0};
	o.ignore_index = -1;
	CHECK(aoi_loss_softmax_ce(x, bad, s, &o, g, &err) < 0);
	CHECK(strstr(err.msg, "label 7") != NULL);
}

static void test_seg_grads(aoi_rng *r)
{
	float x[2 * 4 * 3 * 5];
	int labels[2 * 3 * 5];
	float w[4] = {0.5f, 1.0f, 2.0f, 1.5f};
	seg_case c = {labels, {2, 4, 3, 5}, {0}, 0};

	for (int i = 0; i < 30; i++)
		labels[i] = (int)aoi_rng_below(r, 4);
	labels[3] = 255;
	fill(x, 120, r, -2, 2);
	aoi_loss_opts_init(&c.o);
	c.o.class_weight = w;
	c.o.ignore_index = 255;
	for (c.which = 0; c.which < 3; c.which++) {
		CHECK_MSG(grad_check(seg_loss, &c, x, 120) < 2e-3, "loss %d", c.which);
		CHECK(seg_loss(x, NULL, &c) > 0);
	}
	c.o.first_class = 1; /* dice and IoU without the background */
	for (c.which = 1; c.which < 3; c.which++)
		CHECK_MSG(grad_check(seg_loss, &c, x, 120) < 2e-3, "loss %d bg", c.which);
	/* binary: one channel with a sigmoid */
	c.s.c = 1;
	for (int i = 0; i < 30; i++)
		labels[i] = labels[i] == 255 ? 255 : (int)aoi_rng_below(r, 2);
	for (c.which = 1; c.which < 3; c.which++)
		CHECK_MSG(grad_check(seg_loss, &c, x, 30) < 2e-3, "binary %d", c.which);
}

static void test_overlap_values(void)
{
	/* confident and right: dice and IoU near 0; confident and wrong: near 1 */
	float good[2 * 4], bad[2 * 4];
	int labels[4] = {0, 1, 1, 0};
	aoi_shape s = {1, 2, 2, 2};
	aoi_loss_opts o;
	aoi_error err;

	aoi_loss_opts_init(&o);
	o.smooth = 0.0f;
	for (int i = 0; i < 4; i++) {
		good[i] = labels[i] == 0 ? 20.0f : -20.0f;
		good[4 + i] = -good[i];
		bad[i] = -good[i];
		bad[4 + i] = good[i];
	}
	CHECK_NEAR(aoi_loss_dice(good, labels, s, &o, NULL, &err), 0.0, 1e-6);
	CHECK_NEAR(aoi_loss_iou(good, labels, s, &o, NULL, &err), 0.0, 1e-6);
	CHECK_NEAR(aoi_loss_dice(bad, labels, s, &o, NULL, &err), 1.0, 1e-6);
	CHECK_NEAR(aoi_loss_iou(bad, labels, s, &o, NULL, &err), 1.0, 1e-6);
	/* zero logits: p = 1/2 everywhere; per class I = 1, P = 2, T = 2:
	 * dice = 2/4, IoU = 1/3 */
	float zero[8] = {0};
	CHECK_NEAR(aoi_loss_dice(zero, labels, s, &o, NULL, &err), 0.5, 1e-6);
	CHECK_NEAR(aoi_loss_iou(zero, labels, s, &o, NULL, &err), 2.0 / 3, 1e-6);
}

static void test_value_grads(aoi_rng *r)
{
	float x[32], t[32];
	val_case c = {t, 32, 0};
	/* c1, c2, c3, c4 of a parallelogram: every pair of edges at ~67 deg */
	static const float skewed[8] = {0, 0, 5, 12, 20, 0, 25, 12};

	fill(x, 32, r, -3, 3);
	fill(t, 32, r, 0, 1);
	for (c.which = 0; c.which < 4; c.which++) {
		if (c.which >= 2) /* skewed quadrilaterals: |cos| is smooth there */
			for (int i = 0; i < 32; i++)
				x[i] = skewed[i % 8] + (float)(3 * (i / 8)) +
				       (float)aoi_rng_range(r, -1, 1);
		double worst = grad_check(val_loss, &c, x, 32);
		CHECK_MSG(worst < 2e-3, "loss %d: %g", c.which, worst);
	}
	/* known values: BCE of logit 0 is log 2; MSE of (1, 3) against 0 is 5 */
	float z = 0.0f, half = 0.5f, p2[2] = {1, 3}, t2[2] = {0, 0};
	CHECK_NEAR(aoi_loss_bce(&z, &half, 1, NULL), log(2.0), 1e-7);
	CHECK_NEAR(aoi_loss_mse(p2, t2, 2, NULL), 5.0, 1e-7);
}

static void test_perp_values(void)
{
	/* c1 (0,0), c2 (0,2), c3 (4,0), c4 (4,2): e1 = (4,0), e2 = (0,2),
	 * e3 = (-4,0), e4 = (0,2), all pairs perpendicular */
	float ok[8] = {0, 0, 0, 2, 4, 0, 4, 2};
	CHECK_NEAR(aoi_loss_perp(ok, 1, NULL), 0.0, 1e-6);
	/* a parallelogram: c1 (0,0), c3 (4,0), c4 (5,2), c2 (1,2):
	 * e1 (4,0), e2 (1,2), e3 (-4,0), e4 (1,2): each |cos| = 1/sqrt(5) */
	float para[8] = {0, 0, 1, 2, 4, 0, 5, 2};
	CHECK_NEAR(aoi_loss_perp(para, 1, NULL), 4.0 / sqrt(5.0), 1e-6);
	/* rect = MSE + P~ */
	float zero[8] = {0};
	CHECK_NEAR(aoi_loss_rect(para, zero, 1, NULL), (1 + 4 + 16 + 25 + 4) / 8.0 + 4.0 / sqrt(5.0),
		   1e-5);
}

static void test_sums(aoi_rng *r)
{
	aoi_loss loss;
	aoi_error err;
	char buf[128];
	float x[2 * 3 * 4 * 4], g[96], g1[96], g2[96];
	int labels[32];
	sum_case c = {&loss, {2, 3, 4, 4}, {labels, NULL}};

	CHECK(aoi_loss_parse(&loss, "ce+0.5*dice", &err) == 0);
	CHECK_INT(loss.nterms, 2);
	aoi_loss_format(&loss, buf, sizeof buf);
	CHECK(strcmp(buf, "1*ce+0.5*dice") == 0);
	CHECK(aoi_loss_parse(&loss, "ce+", &err) < 0);
	CHECK(aoi_loss_parse(&loss, "focal", &err) < 0);
	CHECK(strstr(err.msg, "focal") != NULL);
	CHECK(aoi_loss_parse(&loss, "-1*ce", &err) < 0);
	CHECK(aoi_loss_parse(&loss, "2*iou+ce", &err) == 0);
	fill(x, 96, r, -2, 2);
	for (int i = 0; i < 32; i++)
		labels[i] = (int)aoi_rng_below(r, 3);
	/* the sum equals the weighted parts, value and gradient */
	double v = aoi_loss_eval(&loss, x, c.s, &c.t, g, &err);
	double a = aoi_loss_iou(x, labels, c.s, &loss.opts, g1, &err);
	double b = aoi_loss_softmax_ce(x, labels, c.s, &loss.opts, g2, &err);
	CHECK_NEAR(v, 2 * a + b, 1e-6);
	for (int i = 0; i < 96; i++)
		CHECK_NEAR(g[i], 2 * g1[i] + g2[i], 1e-6);
	CHECK(grad_check(sum_loss, &c, x, 96) < 2e-3);
	/* a value loss without values is an error */
	CHECK(aoi_loss_parse(&loss, "mse", &err) == 0);
	CHECK(aoi_loss_eval(&loss, x, c.s, &c.t, g, &err) < 0);
	CHECK(strstr(err.msg, "mse") != NULL);
}

/* The rect term with pixels set: seed 002's MSE counts pixel coordinates
 * (outputs are fractions of width 64 and height 32), P~ is unchanged. */
static void test_rect_pixels(aoi_rng *r)
{
	aoi_loss loss;
	aoi_error err;
	float para[16] = {0, 0, 1, 2, 4, 0, 5, 2}, t[16] = {0}, g[16];
	sum_case c = {&loss, {2, 8, 1, 1}, {NULL, t}};

	CHECK(aoi_loss_parse(&loss, "rect", &err) == 0);
	CHECK(loss.opts.pixels[0] == 0.0f && loss.opts.pixels[1] == 0.0f);
	loss.opts.pixels[0] = 64.0f;
	loss.opts.pixels[1] = 32.0f;
	for (int i = 0; i < 8; i++)
		para[i] /= 64.0f;
	for (int i = 8; i < 16; i++)
		para[i] = para[i - 8];
	/* x: 0 1 4 5 (pixels), y: 0 2 0 2; P~ of a parallelogram is scale-free */
	double want = (0 + 1 + 16 + 25 + (0 + 4 + 0 + 4) / 4.0) / 8.0 + 4.0 / sqrt(5.0);
	CHECK_NEAR(aoi_loss_eval(&loss, para, c.s, &c.t, g, &err), want, 1e-4);
	/* the MSE part of the gradient: 2 d s^2 / n in the fractions */
	fill(para, 16, r, 0.2, 0.8);
	fill(t, 16, r, 0.2, 0.8);
	CHECK(grad_check(sum_loss, &c, para, 16) < 2e-3);
	aoi_loss_opts_init(&loss.opts);
	double frac = aoi_loss_eval(&loss, para, c.s, &c.t, NULL, &err);
	CHECK_NEAR(frac, aoi_loss_rect(para, t, 2, NULL), 1e-6);
}

int main(void)
{
	aoi_rng r;

	aoi_rng_seed(&r, 42);
	test_ce_values();
	test_seg_grads(&r);
	test_overlap_values();
	test_value_grads(&r);
	test_perp_values();
	test_sums(&r);
	test_rect_pixels(&r);
	return check_done();
}
