/* loss.c: losses over network outputs and their gradients.
 *
 * Each loss is written once as an accumulating kernel (grad += scale *
 * d(loss)/d(x)), so that a weighted sum of losses needs no scratch buffer;
 * the public functions zero the gradient and call it with scale 1. */
#include "train/loss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[AOI_LOSS_COUNT] = {
	"ce", "bce", "dice", "iou", "mse", "rect"};

void aoi_loss_opts_init(aoi_loss_opts *o)
{
	o->class_weight = NULL;
	o->ignore_index = -1;
	o->smooth = 1.0f;
	o->first_class = 0;
	o->pixels[0] = o->pixels[1] = 0.0f;
}

static size_t numel(aoi_shape s)
{
	return (size_t)s.n * s.c * s.h * s.w;
}

static void zero_grad(float *grad, size_t n)
{
	if (grad)
		memset(grad, 0, n * sizeof *grad);
}

/* Check labels against the class count; sum the class weight of the
 * counted pixels into *wsum. */
static int check_labels(const int *labels, size_t npix, int classes,
			const aoi_loss_opts *o, double *wsum, aoi_error *err)
{
	double w = 0.0;
	int binary = classes == 1;

	for (size_t i = 0; i < npix; i++) {
		int y = labels[i];
		if (y == o->ignore_index)
			continue;
		if (y < 0 || (!binary && y >= classes))
			return aoi_error_set(err, AOI_ESHAPE, NULL, 0,
					     "label %d outside 0..%d at pixel %zu", y,
					     classes - 1, i);
		w += o->class_weight && !binary ? o->class_weight[y] : 1.0;
	}
	*wsum = w;
	return 0;
}

/* Softmax over the channels of one pixel (stride hw apart) into p. */
static void pixel_softmax(const float *x, size_t hw, int c, float *p)
{
	float mx = x[0];
	double sum = 0.0;

	for (int k = 1; k < c; k++)
		if (x[k * hw] > mx)
			mx = x[k * hw];
	for (int k = 0; k < c; k++) {
		p[k] = expf(x[k * hw] - mx);
		sum += p[k];
	}
	for (int k = 0; k < c; k++)
		p[k] = (float)(p[k] / sum);
}

static double ce_acc(const float *x, const int *labels, aoi_shape s, const aoi_loss_opts *o,
		     float *grad, float scale, aoi_error *err)
{
	size_t hw = (size_t)s.h * s.w;
	long npix = (long)(s.n * hw);
	double wsum, total = 0.0;

	if (s.c < 2 || s.c > AOI_LOSS_MAX_CLASSES)
		return aoi_error_set(err, AOI_ESHAPE, NULL, 0,
				     "cross-entropy needs 2..%d channels, not %d",
				     AOI_LOSS_MAX_CLASSES, s.c);
	if (check_labels(labels, (size_t)npix, s.c, o, &wsum, err) < 0)
		return -1;
	if (wsum <= 0.0)
		return 0.0;
#pragma omp parallel for reduction(+ : total) schedule(static)
	for (long i = 0; i < npix; i++) {
		int y = labels[i];
		if (y == o->ignore_index)
			continue;
		size_t base = (size_t)(i / (long)hw) * s.c * hw + (size_t)(i % (long)hw);
		float p[AOI_LOSS_MAX_CLASSES];
		double w = o->class_weight ? o->class_weight[y] : 1.0;
		pixel_softmax(x + base, hw, s.c, p);
		total += -w * log(p[y] > 1e-30f ? p[y] : 1e-30f);
		if (grad)
			for (int k = 0; k < s.c; k++)
				grad[base + k * hw] +=
					(float)(scale * w * (p[k] - (k == y)) / wsum);
	}
	return total / wsum;
}

static double bce_acc(const float *x, const float *y, size_t n, float *grad, float scale)
{
	double total = 0.0;

	if (n == 0)
		return 0.0;
#pragma omp parallel for reduction(+ : total) schedule(static)
	for (size_t i = 0; i < n; i++) {
		double v = x[i], t = y[i];
		total += (v > 0 ? v : 0) - v * t + log1p(exp(-fabs(v)));
		if (grad)
			grad[i] += (float)(scale * (1.0 / (1.0 + exp(-v)) - t) / n);
	}
	return total / n;
}

double aoi_loss_bce(const float *logits, const float *targets, size_t n, float *grad)
{
	zero_grad(grad, n);
	return bce_acc(logits, targets, n, grad, 1.0f);
}

/* ---- soft dice and IoU ---- */

typedef struct overlap {
	double inter[AOI_LOSS_MAX_CLASSES], pred[AOI_LOSS_MAX_CLASSES],
		truth[AOI_LOSS_MAX_CLASSES];
} overlap;

/* Class probabilities of one pixel: softmax, or a sigmoid for one channel. */
static void pixel_probs(const float *x, size_t hw, int c, float *p)
{
	if (c == 1)
		p[0] = 1.0f / (1.0f + expf(-x[0]));
	else
		pixel_softmax(x, hw, c, p);
}

static float truth_of(int label, int c, int k)
{
	return c == 1 ? (label != 0) : (label == k);
}

static void overlap_sums(const float *x, const int *labels, aoi_shape s,
			 const aoi_loss_opts *o, overlap *ov)
{
	size_t hw = (size_t)s.h * s.w;
	long npix = (long)(s.n * hw);
	double *in = ov->inter, *pr = ov->pred, *tr = ov->truth;
	int c = s.c;

	memset(ov, 0, sizeof *ov);
#pragma omp parallel for reduction(+ : in[:c], pr[:c], tr[:c]) schedule(static)
	for (long i = 0; i < npix; i++) {
		if (labels[i] == o->ignore_index)
			continue;
		size_t base = (size_t)(i / (long)hw) * c * hw + (size_t)(i % (long)hw);
		float p[AOI_LOSS_MAX_CLASSES];
		pixel_probs(x + base, hw, c, p);
		for (int k = 0; k < c; k++) {
			float t = truth_of(labels[i], c, k);
			in[k] += p[k] * t;
			pr[k] += p[k];
			tr[k] += t;
		}
	}
}

/* Per class: the loss term and the two coefficients of its derivative
 * d/dp = (a * t + b) for one pixel. */
static double overlap_coef(const overlap *ov, int k, int jaccard, double sm, double *a,
			   double *b)
{
	double I = ov->inter[k], S = ov->pred[k] + ov->truth[k];

	if (!jaccard) {
		double D = S + sm, N = 2 * I + sm;
		*a = -2.0 / D;     /* -(2t D - N) / D^2 */
		*b = N / (D * D);
		return 1.0 - N / D;
	}
	double U = S - I + sm, N = I + sm;
	/* -(t U - N (1 - t)) / U^2 = -t (U + N)/U^2 + N/U^2 */
	*a = -(U + N) / (U * U);
	*b = N / (U * U);
	return 1.0 - N / U;
}

static void overlap_grad(const float *x, const int *labels, aoi_shape s,
			 const aoi_loss_opts *o, const double *a, const double *b,
			 float *grad, float scale)
{
	size_t hw = (size_t)s.h * s.w;
	long npix = (long)(s.n * hw);
	int c = s.c;

#pragma omp parallel for schedule(static)
	for (long i = 0; i < npix; i++) {
		if (labels[i] == o->ignore_index)
			continue;
		size_t base = (size_t)(i / (long)hw) * c * hw + (size_t)(i % (long)hw);
		float p[AOI_LOSS_MAX_CLASSES];
		double g[AOI_LOSS_MAX_CLASSES], dot = 0.0;
		pixel_probs(x + base, hw, c, p);
		for (int k = 0; k < c; k++) {
			g[k] = a[k] * truth_of(labels[i], c, k) + b[k];
			dot += g[k] * p[k];
		}
		for (int k = 0; k < c; k++) {
			double dz = c == 1 ? g[0] * p[0] * (1.0 - p[0]) : p[k] * (g[k] - dot);
			grad[base + k * hw] += (float)(scale * dz);
		}
	}
}

static double overlap_acc(const float *x, const int *labels, aoi_shape s,
			  const aoi_loss_opts *o, int jaccard, float *grad, float scale,
			  aoi_error *err)
{
	overlap ov;
	double a[AOI_LOSS_MAX_CLASSES] = {0}, b[AOI_LOSS_MAX_CLASSES] = {0}, wsum, total = 0.0;
	int first = s.c == 1 ? 0 : o->first_class, nc = s.c - first;

	if (s.c < 1 || s.c > AOI_LOSS_MAX_CLASSES || nc < 1)
		return aoi_error_set(err, AOI_ESHAPE, NULL, 0,
				     "%s loss: %d channels, first class %d",
				     jaccard ? "IoU" : "dice", s.c, o->first_class);
	if (check_labels(labels, (size_t)s.n * s.h * s.w, s.c, o, &wsum, err) < 0)
		return -1;
	overlap_sums(x, labels, s, o, &ov);
	for (int k = first; k < s.c; k++) {
		total += overlap_coef(&ov, k, jaccard, o->smooth, &a[k], &b[k]);
		a[k] /= nc;
		b[k] /= nc;
	}
	if (grad)
		overlap_grad(x, labels, s, o, a, b, grad, scale);
	return total / nc;
}

/* The losses over class labels alone: the defaults for a NULL o, the
 * gradient zeroed, scale 1. */
static double labelled(enum aoi_loss_kind kind, const float *logits, const int *labels,
		       aoi_shape s, const aoi_loss_opts *o, float *grad, aoi_error *err)
{
	aoi_loss_opts d;

	if (!o) {
		aoi_loss_opts_init(&d);
		o = &d;
	}
	zero_grad(grad, numel(s));
	if (kind == AOI_LOSS_CE)
		return ce_acc(logits, labels, s, o, grad, 1.0f, err);
	return overlap_acc(logits, labels, s, o, kind == AOI_LOSS_IOU, grad, 1.0f, err);
}

double aoi_loss_softmax_ce(const float *logits, const int *labels, aoi_shape s,
			   const aoi_loss_opts *o, float *grad, aoi_error *err)
{
	return labelled(AOI_LOSS_CE, logits, labels, s, o, grad, err);
}

double aoi_loss_dice(const float *logits, const int *labels, aoi_shape s,
		     const aoi_loss_opts *o, float *grad, aoi_error *err)
{
	return labelled(AOI_LOSS_DICE, logits, labels, s, o, grad, err);
}

double aoi_loss_iou(const float *logits, const int *labels, aoi_shape s,
		    const aoi_loss_opts *o, float *grad, aoi_error *err)
{
	return labelled(AOI_LOSS_IOU, logits, labels, s, o, grad, err);
}

/* ---- regression ---- */

/* The MSE of (x, y) pairs whose differences count times sx and sy
 * (fractions of the image in pixels; 1 and 1: the plain MSE, the same bits,
 * as a product with 1.0 is exact). */
static double mse_acc(const float *p, const float *t, size_t n, float sx, float sy,
		      float *grad, float scale)
{
	double total = 0.0;

	if (n == 0)
		return 0.0;
#pragma omp parallel for reduction(+ : total) schedule(static)
	for (size_t i = 0; i < n; i++) {
		double s = i % 2 ? sy : sx, d = ((double)p[i] - t[i]) * s;
		total += d * d;
		if (grad)
			grad[i] += (float)(scale * 2.0 * d * s / n);
	}
	return total / n;
}

double aoi_loss_mse(const float *pred, const float *targets, size_t n, float *grad)
{
	zero_grad(grad, n);
	return mse_acc(pred, targets, n, 1.0f, 1.0f, grad, 1.0f);
}

/* e_i = sum_j edge_of[i][j] c_j: e1 = c3 - c1, e2 = c4 - c3, e3 = c2 - c4,
 * e4 = c2 - c1 (seed 002, eq. 5). */
static const int edge_of[4][4] = {{-1, 0, 1, 0}, {0, 0, -1, 1}, {0, 1, 0, -1}, {-1, 1, 0, 0}};

/* |<a,b>| / (|a||b|) and its gradient added (times scale) into ga, gb.
 * A tiny epsilon keeps degenerate (zero-length) edges finite. */
static double abs_cos(const double *a, const double *b, double *ga, double *gb, double scale)
{
	double d = a[0] * b[0] + a[1] * b[1];
	double na = sqrt(a[0] * a[0] + a[1] * a[1] + 1e-12);
	double nb = sqrt(b[0] * b[0] + b[1] * b[1] + 1e-12);
	double f = fabs(d) / (na * nb), sg = d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0;

	for (int k = 0; k < 2; k++) {
		ga[k] += scale * (sg * b[k] / (na * nb) - f * a[k] / (na * na));
		gb[k] += scale * (sg * a[k] / (na * nb) - f * b[k] / (nb * nb));
	}
	return f;
}

static double perp_row(const float *c, float *grad, double scale)
{
	double e[4][2] = {{0}}, ge[4][2] = {{0}}, total = 0.0;

	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			for (int k = 0; k < 2; k++)
				e[i][k] += edge_of[i][j] * (double)c[2 * j + k];
	for (int i = 0; i < 4; i++)
		total += abs_cos(e[i], e[(i + 1) % 4], ge[i], ge[(i + 1) % 4], scale);
	for (int j = 0; grad && j < 4; j++)
		for (int k = 0; k < 2; k++)
			for (int i = 0; i < 4; i++)
				grad[2 * j + k] += (float)(edge_of[i][j] * ge[i][k]);
	return total;
}

static double perp_acc(const float *pred, int n, float *grad, float scale)
{
	double total = 0.0;

	for (int r = 0; r < n; r++)
		total += perp_row(pred + 8 * r, grad ? grad + 8 * r : NULL, scale / n);
	return n > 0 ? total / n : 0.0;
}

double aoi_loss_perp(const float *pred, int n, float *grad)
{
	zero_grad(grad, (size_t)n * 8);
	return perp_acc(pred, n, grad, 1.0f);
}

double aoi_loss_rect(const float *pred, const float *targets, int n, float *grad)
{
	zero_grad(grad, (size_t)n * 8);
	return mse_acc(pred, targets, (size_t)n * 8, 1.0f, 1.0f, grad, 1.0f) +
	       perp_acc(pred, n, grad, 1.0f);
}

/* ---- weighted sums ---- */

const char *aoi_loss_kind_name(enum aoi_loss_kind kind)
{
	return (unsigned)kind < AOI_LOSS_COUNT ? kind_names[kind] : "unknown";
}

static int parse_term(aoi_loss *loss, const char *t, size_t len, aoi_error *err)
{
	char buf[64], *end = buf, *name = buf;
	float w = 1.0f;

	if (len == 0 || len >= sizeof buf || loss->nterms >= AOI_LOSS_COUNT)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "bad loss term '%.*s'",
				     (int)len, t);
	memcpy(buf, t, len);
	buf[len] = '\0';
	if (strchr(buf, '*')) {
		w = strtof(buf, &end);
		if (*end != '*' || !(w > 0.0f) || !isfinite(w))
			return aoi_error_set(err, AOI_EINVAL, NULL, 0,
					     "bad weight in loss term '%s'", buf);
		name = end + 1;
	}
	for (int k = 0; k < AOI_LOSS_COUNT; k++)
		if (strcmp(name, kind_names[k]) == 0) {
			loss->kind[loss->nterms] = (enum aoi_loss_kind)k;
			loss->weight[loss->nterms++] = w;
			return 0;
		}
	return aoi_error_set(err, AOI_EINVAL, NULL, 0,
			     "unknown loss '%s' (ce, bce, dice, iou, mse, rect)", name);
}

int aoi_loss_parse(aoi_loss *loss, const char *spec, aoi_error *err)
{
	const char *p = spec;

	memset(loss, 0, sizeof *loss);
	aoi_loss_opts_init(&loss->opts);
	for (;;) {
		const char *q = strchr(p, '+');
		size_t len = q ? (size_t)(q - p) : strlen(p);
		if (parse_term(loss, p, len, err) < 0)
			return -1;
		if (!q)
			return 0;
		p = q + 1;
	}
}

void aoi_loss_format(const aoi_loss *loss, char *buf, size_t size)
{
	size_t used = 0;

	if (size)
		buf[0] = '\0';
	for (int i = 0; i < loss->nterms && used < size; i++) {
		int n = snprintf(buf + used, size - used, "%s%g*%s", i ? "+" : "",
				 loss->weight[i], kind_names[loss->kind[i]]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

static double term_acc(const aoi_loss *loss, enum aoi_loss_kind kind, const float *out,
		       aoi_shape s, const aoi_loss_target *t, float *grad, float w,
		       aoi_error *err)
{
	int labelled = kind == AOI_LOSS_CE || kind == AOI_LOSS_DICE || kind == AOI_LOSS_IOU;

	if (labelled ? !t->labels : !t->values)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "loss '%s' needs %s targets",
				     kind_names[kind], labelled ? "class label" : "value");
	switch (kind) {
	case AOI_LOSS_CE:
		return ce_acc(out, t->labels, s, &loss->opts, grad, w, err);
	case AOI_LOSS_BCE:
		return bce_acc(out, t->values, numel(s), grad, w);
	case AOI_LOSS_DICE:
		return overlap_acc(out, t->labels, s, &loss->opts, 0, grad, w, err);
	case AOI_LOSS_IOU:
		return overlap_acc(out, t->labels, s, &loss->opts, 1, grad, w, err);
	case AOI_LOSS_MSE:
		return mse_acc(out, t->values, numel(s), 1.0f, 1.0f, grad, w);
	case AOI_LOSS_RECT: {
		if (numel(s) != (size_t)s.n * 8)
			return aoi_error_set(err, AOI_ESHAPE, NULL, 0,
					     "rect loss needs 8 outputs per image, not %zu",
					     numel(s) / (s.n ? s.n : 1));
		int px = loss->opts.pixels[0] > 0.0f && loss->opts.pixels[1] > 0.0f;
		return mse_acc(out, t->values, numel(s), px ? loss->opts.pixels[0] : 1.0f,
			       px ? loss->opts.pixels[1] : 1.0f, grad, w) +
		       perp_acc(out, s.n, grad, w);
	}
	default:
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "unknown loss kind %d", kind);
	}
}

double aoi_loss_eval(const aoi_loss *loss, const float *out, aoi_shape s,
		     const aoi_loss_target *t, float *grad, aoi_error *err)
{
	double total = 0.0;

	zero_grad(grad, numel(s));
	for (int i = 0; i < loss->nterms; i++) {
		double v = term_acc(loss, loss->kind[i], out, s, t, grad, loss->weight[i], err);
		if (v < 0)
			return -1;
		total += loss->weight[i] * v;
	}
	return total;
}
