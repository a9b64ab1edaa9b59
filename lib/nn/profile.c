/* profile.c: a forward pass timed node by node, for aoi-bench --layers.
 * The same work as aoi_net_forward() (run.c) with a clock read around
 * each node; kept apart so that the plain forward carries no timing. */
#include "nn/layer.h"

#include <string.h>

#include <omp.h>

#include "base/cli.h"

const float *aoi_net_forward_profile(aoi_net *net, const float *input, int training,
				     aoi_rng *rng, double *seconds, aoi_error *err)
{
	aoi_node *in = &net->nodes[0];

	if (!net->planned) {
		aoi_error_set(err, AOI_EINVAL, NULL, 0, "forward before aoi_net_plan");
		return NULL;
	}
	if (training && net->fused) {
		aoi_error_set(err, AOI_EINVAL, NULL, 0,
			      "the net is fused for inference: it cannot train");
		return NULL;
	}
	if (net->threads > 0)
		omp_set_num_threads(net->threads);
	seconds[0] = 0;
	memcpy(in->y, input, sizeof(float) * aoi_nn_numel(in->out));
	for (int i = 1; i < net->nnodes; i++) {
		aoi_node *node = &net->nodes[i];
		double t0;

		seconds[i] = 0;
		if (node->fused_into >= 0)
			continue;
		t0 = aoi_now();
		aoi_nn_ops(node->kind)->forward(net, node, training, rng);
		seconds[i] = aoi_now() - t0;
	}
	net->last_training = training;
	net->backward_done = 0;
	net->input_grad_ready = 0;
	return net->nodes[net->output].y;
}
