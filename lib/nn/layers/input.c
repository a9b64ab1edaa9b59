/* input.c: the input node, node 0 of every net: aoi_net_plan() sets its
 * shape and forward copies the batch into its output; as a layer it never
 * runs (every pass starts at node 1). */
#include "nn/layers/layers.h"

const aoi_layer_ops aoi_nn_input_ops = {
	.kind = "input",
};

aoi_net *aoi_net_new(int in_channels, aoi_error *err)
{
	return aoi_nn_new_net(in_channels, &aoi_nn_input_ops, err);
}
