/* test_overfit: a correct net, loss and optimiser learn a handful of
 * samples by heart. Small mbv2-linknet-s (the board and its template,
 * squares of six defect classes; ce+dice with the background weighed
 * 0.1, Adam 0.01 as examples/deeppcb) and mbv2-corners-s (the corners of
 * a bright square; the rectangle loss in pixels, Adam 0.001) on fixed
 * generated inputs. Before their fixes the first stayed at a loss of
 * about 0.7 marking no defect pixel, the second some 40 px off. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/arch.h"
#include "nn/optim.h"
#include "train/loss.h"

typedef struct problem {
	int n, size, task;
	float *x;     /* n x 2 x size x size: image, template */
	int *labels;  /* n x size x size (segmentation) */
	float *pts;   /* n x 8: corners as fractions (keypoints) */
} problem;

/* Noise on both channels; one square per sample of class 1 + s % 6, added
 * to the image only. */
static void make_problem(problem *p, int n, int size, int task, aoi_rng *rng)
{
	size_t plane = (size_t)size * size;

	p->n = n;
	p->size = size;
	p->task = task;
	p->x = calloc((size_t)n * 2 * plane, sizeof *p->x);
	p->labels = calloc((size_t)n * plane, sizeof *p->labels);
	p->pts = calloc((size_t)n * 8, sizeof *p->pts);
	if (!p->x || !p->labels || !p->pts)
		return;
	for (int s = 0; s < n; s++) {
		float *a = p->x + (size_t)s * 2 * plane, *t = a + plane;
		int k = 1 + s % 6, sq = size / 4;
		int x0 = (int)aoi_rng_below(rng, (uint32_t)(size - sq));
		int y0 = (int)aoi_rng_below(rng, (uint32_t)(size - sq));
		for (size_t i = 0; i < plane; i++)
			a[i] = t[i] = (float)(0.3 * aoi_rng_normal(rng));
		for (int y = y0; y < y0 + sq; y++)
			for (int x = x0; x < x0 + sq; x++) {
				a[(size_t)y * size + x] += 1.0f + 0.2f * k;
				p->labels[(size_t)s * plane + (size_t)y * size + x] = k;
			}
		float c[8] = {x0, y0, x0 + sq, y0, x0, y0 + sq, x0 + sq, y0 + sq};
		for (int j = 0; j < 8; j++)
			p->pts[8 * s + j] = c[j] / size;
	}
}

static void free_problem(problem *p)
{
	free(p->x);
	free(p->labels);
	free(p->pts);
}

/* Segmentation: pixels whose argmax is a defect class. Keypoints: the
 * mean distance of the predicted centre from the true one, in pixels. */
static double score(const problem *p, const float *out, int classes)
{
	size_t plane = (size_t)p->size * p->size;
	double sum = 0.0;

	for (int s = 0; s < p->n; s++) {
		if (p->task == AOI_TASK_SEGMENTATION) {
			for (size_t i = 0; i < plane; i++) {
				const float *q = out + (size_t)s * classes * plane + i;
				int best = 0;
				for (int k = 1; k < classes; k++)
					best = q[k * plane] > q[best * plane] ? k : best;
				sum += best != 0;
			}
			continue;
		}
		double dx = 0.0, dy = 0.0;
		for (int j = 0; j < 4; j++) {
			dx += out[8 * s + 2 * j] - p->pts[8 * s + 2 * j];
			dy += out[8 * s + 2 * j + 1] - p->pts[8 * s + 2 * j + 1];
		}
		sum += hypot(dx / 4, dy / 4) * p->size / p->n;
	}
	return sum;
}

/* Train `steps` Adam steps on the whole problem as one batch; the first
 * and last loss and the last score. */
static void overfit(const char *arch, const problem *p, const char *spec, double lr,
		    int steps, double *first, double *last, double *last_score)
{
	aoi_arch_opts o = { .in_channels = 2,
			    .classes = p->task == AOI_TASK_SEGMENTATION ? 7 : 8,
			    .width = 0.35, .input_h = p->size, .input_w = p->size };
	static const float weights[7] = {0.1f, 1, 1, 1, 1, 1, 1};
	aoi_error err;
	aoi_rng rng;
	aoi_loss loss;
	aoi_optim_opts oo;
	aoi_net *net = aoi_arch_build(arch, &o, &err);

	*first = *last = *last_score = -1.0;
	CHECK_MSG(net && aoi_net_plan(net, p->n, p->size, p->size, &err) == 0, "%s: %s", arch,
		  err.msg);
	if (!net)
		return;
	aoi_net_set_threads(net, 1);
	aoi_rng_seed(&rng, 1);
	aoi_net_init_params(net, &rng);
	CHECK(aoi_loss_parse(&loss, spec, &err) == 0);
	if (p->task == AOI_TASK_SEGMENTATION)
		loss.opts.class_weight = weights;
	else /* as the trainer sets it */
		loss.opts.pixels[0] = loss.opts.pixels[1] = (float)p->size;
	aoi_optim_opts_init(&oo, AOI_OPTIM_ADAM);
	oo.lr = lr;
	aoi_optim *opt = aoi_optim_new_for(&oo, net, &err);
	aoi_shape os = aoi_net_output_shape(net);
	float *grad = malloc(sizeof(float) * os.n * os.c * os.h * os.w);
	aoi_loss_target tg = {p->labels, p->pts};
	for (int st = 0; opt && grad && st < steps; st++) {
		aoi_net_zero_grads(net);
		const float *out = aoi_net_forward(net, p->x, 1, &rng, &err);
		double l = out ? aoi_loss_eval(&loss, out, os, &tg, grad, &err) : -1.0;
		CHECK_MSG(l >= 0.0, "%s step %d: %s", arch, st, err.msg);
		if (l < 0.0)
			break;
		if (st == 0)
			*first = l;
		*last = l;
		*last_score = score(p, out, os.c);
		CHECK(aoi_net_backward(net, grad, &err) == 0);
		aoi_optim_step(opt, net);
	}
	free(grad);
	aoi_optim_free(opt);
	aoi_net_free(net);
}

static void test_linknet(void)
{
	aoi_rng rng;
	problem p;
	double first, last, marked;

	aoi_rng_seed(&rng, 7);
	make_problem(&p, 4, 32, AOI_TASK_SEGMENTATION, &rng);
	overfit("mbv2-linknet-s", &p, "ce+dice", 0.01, 80, &first, &last, &marked);
	printf("mbv2-linknet-s: loss %.4g -> %.4g, %g defect pixels\n", first, last, marked);
	CHECK_MSG(last < first / 30, "mbv2-linknet-s: loss %g -> %g", first, last);
	/* 4 squares of 8 x 8 */
	CHECK_MSG(fabs(marked - 256) <= 16, "mbv2-linknet-s marks %g defect pixels of 256",
		  marked);
	free_problem(&p);
}

static void test_corners(void)
{
	aoi_rng rng;
	problem p;
	double first, last, centre;

	aoi_rng_seed(&rng, 8);
	make_problem(&p, 4, 64, AOI_TASK_KEYPOINTS, &rng);
	overfit("mbv2-corners-s", &p, "rect", 0.001, 40, &first, &last, &centre);
	printf("mbv2-corners-s: loss %.4g -> %.4g, centre %.2f px off\n", first, last, centre);
	CHECK_MSG(last < first / 30, "mbv2-corners-s: loss %g -> %g", first, last);
	CHECK_MSG(centre < 4.0, "mbv2-corners-s: centre %g px off", centre);
	free_problem(&p);
}

int main(void)
{
	test_linknet();
	test_corners();
	return check_done();
}
