/* graph.h: the generic graph architecture (man/aoi-model.5): a network
 * written out node by node in the model header, beside the named ones of
 * arch.h. ONNX import makes one; any net built from net.h's layers can be
 * described as one.
 *
 * A graph is a JSON object {"nodes": [...], "output": N, "head": M} and,
 * for a segmentation net with an image decision head (arch.h), "decision":
 * D, the node of its one logit, the net's second output. Node
 * 0 is the input; the i-th entry of "nodes" (counting from 1) is node i:
 * an object with "op", "in" (the ids of the nodes it reads, all below i),
 * "block" and the op's own fields:
 *   conv            out, kernel, stride, pad, dilation, groups, bias
 *   conv_transpose  out, kernel, stride, pad, output_pad, bias
 *   batchnorm
 *   relu, relu6, sigmoid, leaky_relu (alpha)
 *   softmax
 *   maxpool, avgpool  kernel, stride, pad
 *   maxunpool       in: [x, the max pool whose indices it uses]
 *   adaptive_avgpool  size [h, w];   global_avgpool, global_maxpool
 *   detach          the input unchanged; no gradient flows back through it
 *   upsample        factor, mode ("nearest" or "bilinear")
 *   concat, add
 *   dense           out, bias
 *   dropout         p
 *   flatten
 *   pad             pads [top, left, bottom, right], value (a number or "-inf")
 * "output" is the output node; "head" the node whose outputs are the
 * classes (a conv, transposed conv or dense; 0 if none): building for
 * another class count changes its "out", and --freeze encoder keeps
 * everything but the "head" block.
 *
 * Ownership: functions here borrow the JSON they are given; returned JSON
 * belongs to the caller. */
#ifndef AOI_GRAPH_H
#define AOI_GRAPH_H

#include <jansson.h>

#include "base/error.h"
#include "nn/net.h"

#define AOI_GRAPH_ARCH "graph"

/* Add one node (a "nodes" entry) to net, after aoi_net_set_block(net,
 * node's block). out_override > 0 replaces its "out" (the head for another
 * class count). Returns the node id or -1. */
int aoi_graph_add(aoi_net *net, const json_t *node, int out_override, aoi_error *err);

/* A whole net from a graph: in_channels input channels, shapes checked at
 * input_h x input_w, the head built with `classes` outputs (0: as
 * written). Not planned; parameters zero (aoi_net_init_params). */
aoi_net *aoi_graph_build(const json_t *graph, int in_channels, int input_h, int input_w,
			 int classes, aoi_error *err);

/* Check that graph has the shape above (before it is stored in an
 * aoi_model_info): nodes, in ranges, output and head ids. */
int aoi_graph_check(const json_t *graph, aoi_error *err);

/* The decision node (the second output), 0 if none, -1 if not a number. */
int aoi_graph_decision(const json_t *graph);

/* The head's current output count ("out" of the head node), 0 if none. */
int aoi_graph_head_out(const json_t *graph);

/* A copy of graph with the head's "out" set to classes. */
json_t *aoi_graph_with_classes(const json_t *graph, int classes);

#endif
