/* test_nn_dropout.c: dropout as PyTorch's: in training each value is kept
 * with probability 1 - p and then scaled by 1 / (1 - p), the mask is the
 * same for the same seed, and at inference the layer passes values on. */
#include "check.h"

#include <math.h>
#include <stdlib.h>

#include "base/rng.h"
#include "nn/net.h"

enum { N = 4, C = 5001 };

static aoi_net *dropout_net(float p)
{
	aoi_error err;
	aoi_net *net = aoi_net_new(C, NULL);

	aoi_net_set_input_size(net, 1, 1, NULL);
	aoi_net_dropout(net, 0, p, NULL);
	CHECK(aoi_net_plan(net, N, 1, 1, &err) == 0);
	return net;
}

static void check_dropout(float p)
{
	aoi_net *net = dropout_net(p);
	float *x = malloc(sizeof(float) * N * C), *first = malloc(sizeof(float) * N * C);
	const float *y;
	aoi_error err;
	aoi_rng rng;
	int kept = 0, scaled = 1, same = 1, passed = 1;

	for (int i = 0; i < N * C; i++)
		x[i] = 1.0f + (float)(i % 7);
	aoi_rng_seed(&rng, 11);
	y = aoi_net_forward(net, x, 1, &rng, &err);
	for (int i = 0; y && i < N * C; i++) {
		first[i] = y[i];
		kept += y[i] != 0.0f;
		scaled &= y[i] == 0.0f || y[i] == x[i] * (1.0f / (1.0f - p));
	}
	/* binomial: the kept share within 5 standard deviations */
	CHECK_MSG(fabs(kept / (double)(N * C) - (1 - p)) <
			  5 * sqrt(p * (1 - p) / (N * C)) + 1e-9,
		  "p %g: kept %d of %d", p, kept, N * C);
	CHECK_MSG(scaled, "p %g: kept values not scaled by 1 / (1 - p)", p);
	aoi_rng_seed(&rng, 11);
	y = aoi_net_forward(net, x, 1, &rng, &err);
	for (int i = 0; y && i < N * C; i++)
		same &= y[i] == first[i];
	CHECK_MSG(same, "p %g: the same seed gives another mask", p);
	y = aoi_net_forward(net, x, 0, &rng, &err);
	for (int i = 0; y && i < N * C; i++)
		passed &= y[i] == x[i];
	CHECK_MSG(y && passed, "p %g: inference changes values", p);
	free(x);
	free(first);
	aoi_net_free(net);
}

int main(void)
{
	check_dropout(0.5f);
	check_dropout(0.2f);
	check_dropout(0.0f);
	return check_done();
}
