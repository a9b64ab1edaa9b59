/* test_nn_dense.c: the dense layer's own products (batches of 24 to 32
 * and 56 to 64 samples) against sums in double, forward and backward, at
 * batch sizes on both sides of where it leaves OpenBLAS. */
#include "check.h"

#include <math.h>
#include <stdlib.h>

#include "base/rng.h"
#include "nn/net.h"

/* Dense against a sum in double, at batch sizes on both sides of where
 * the layer switches from OpenBLAS to its own panels (24 to 32 samples:
 * one panel; 56 to 64: a full and a partial one), with 8-row blocks and a tail
 * (13 outputs), with and without bias, in training and inference. */
static void check_dense_batches(void)
{
	static const int batches[] = {1, 23, 24, 32, 33, 55, 56, 57, 64, 65};
	enum { IN = 37, OUT = 13 };

	for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++)
		for (int bias = 0; bias < 2; bias++) {
			int n = batches[bi];
			aoi_error err;
			aoi_rng rng;
			aoi_net *net = aoi_net_new(IN, NULL);
			float *x = malloc(sizeof(float) * (size_t)n * IN);
			const float *w, *b, *y;
			double worst = 0.0;

			aoi_net_set_input_size(net, 1, 1, NULL);
			aoi_net_dense(net, aoi_net_flatten(net, 0, NULL), OUT, bias, NULL);
			CHECK(aoi_net_plan(net, n, 1, 1, &err) == 0);
			aoi_rng_seed(&rng, 5);
			aoi_net_init_params(net, &rng);
			for (int i = 0; i < n * IN; i++)
				x[i] = (float)aoi_rng_range(&rng, -1, 1);
			w = aoi_net_params(net);
			b = bias ? w + OUT * IN : NULL;
			y = aoi_net_forward(net, x, bias, &rng, &err);
			for (int i = 0; y && i < n; i++)
				for (int o = 0; o < OUT; o++) {
					double s = b ? b[o] : 0.0;
					for (int k = 0; k < IN; k++)
						s += (double)x[i * IN + k] * w[o * IN + k];
					worst = fmax(worst, fabs(y[i * OUT + o] - s));
				}
			CHECK_MSG(y && worst < 1e-5, "dense batch %d bias %d: off by %g", n,
				  bias, worst);
			free(x);
			aoi_net_free(net);
		}
}

/* The dense layer's gradients against sums in double, at batch sizes on
 * both sides of its own panels (two, the last one partial, at 57), with more input features than one
 * column chunk of its input-gradient product (1024) and a row tail. */
static void check_dense_backward(void)
{
	static const int batches[] = {23, 32, 57};
	enum { IN = 1100, OUT = 13 };

	for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
		int n = batches[bi];
		aoi_error err;
		aoi_rng rng;
		aoi_net *net = aoi_net_new(IN, NULL);
		float *x = malloc(sizeof(float) * (size_t)n * IN);
		float *dout = malloc(sizeof(float) * (size_t)n * OUT);
		const float *w, *gw, *gb, *dx = NULL;
		double worst_dx = 0.0, worst_dw = 0.0, worst_db = 0.0;

		aoi_net_set_input_size(net, 1, 1, NULL);
		aoi_net_dense(net, aoi_net_flatten(net, 0, NULL), OUT, 1, NULL);
		CHECK(aoi_net_plan(net, n, 1, 1, &err) == 0);
		aoi_rng_seed(&rng, 9);
		aoi_net_init_params(net, &rng);
		for (int i = 0; i < n * IN; i++)
			x[i] = (float)aoi_rng_range(&rng, -1, 1);
		for (int i = 0; i < n * OUT; i++)
			dout[i] = (float)aoi_rng_range(&rng, -1, 1);
		aoi_net_zero_grads(net);
		if (aoi_net_forward(net, x, 1, &rng, &err) && aoi_net_backward(net, dout, &err) == 0)
			dx = aoi_net_input_grad(net);
		CHECK_MSG(dx != NULL, "dense backward, batch %d: %s", n, err.msg);
		w = aoi_net_params(net);
		gw = aoi_net_grads(net);
		gb = gw + OUT * IN;
		for (int j = 0; dx && j < n; j++)
			for (int k = 0; k < IN; k++) {
				double s = 0.0;
				for (int o = 0; o < OUT; o++)
					s += (double)dout[j * OUT + o] * w[o * IN + k];
				worst_dx = fmax(worst_dx, fabs(dx[j * IN + k] - s));
			}
		for (int o = 0; dx && o < OUT; o++) {
			double sb = 0.0;
			for (int k = 0; k < IN; k++) {
				double s = 0.0;
				for (int j = 0; j < n; j++)
					s += (double)dout[j * OUT + o] * x[j * IN + k];
				worst_dw = fmax(worst_dw, fabs(gw[o * IN + k] - s));
			}
			for (int j = 0; j < n; j++)
				sb += dout[j * OUT + o];
			worst_db = fmax(worst_db, fabs(gb[o] - sb));
		}
		CHECK_MSG(worst_dx < 1e-5 && worst_dw < 1e-4 && worst_db < 1e-5,
			  "dense backward, batch %d: input %g, weight %g, bias %g off", n,
			  worst_dx, worst_dw, worst_db);
		free(x);
		free(dout);
		aoi_net_free(net);
	}
}

int main(void)
{
	check_dense_batches();
	check_dense_backward();
	return check_done();
}
