/* range.c: part of a net: which tensors cross a cut, where they live,
 * where to cut for stages of equal work (pipeline stages, aoi-infer
 * --stage). Running a range is in run.c. */
#include "nn/layers/layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The node whose buffer holds node id's output: itself, or the node it
 * was fused into. */
static int storage(const aoi_net *net, int id)
{
	return net->nodes[id].fused_into >= 0 ? net->nodes[id].fused_into : id;
}

int aoi_net_cut_valid(const aoi_net *net, int p)
{
	return p >= 1 && p < net->nnodes && net->nodes[p].fused_into < 0;
}

/* Mark in want[] (2 per node: output, indices) what nodes from p on read
 * of the nodes before p. */
static void mark_crossing(const aoi_net *net, int p, unsigned char *want)
{
	for (int i = p; i < net->nnodes; i++) {
		const aoi_node *node = &net->nodes[i];

		for (int j = 0; j < node->ninputs; j++) {
			int s = storage(net, node->inputs[j]);
			/* an unpool's second input is the pool: it reads the indices */
			int idx = node->ops == &aoi_nn_maxunpool_ops && j == 1;

			if (s < p)
				want[2 * s + idx] = 1;
		}
	}
	for (int k = 0; k < aoi_net_output_count(net); k++) {
		int s = storage(net, aoi_net_output_node(net, k));
		if (s < p)
			want[2 * s] = 1;
	}
}

int aoi_net_cut_live(const aoi_net *net, int p, aoi_live_tensor *live, int max,
		     aoi_error *err)
{
	unsigned char *want;
	int n = 0;

	if (!net->planned || !aoi_net_cut_valid(net, p))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "node %d is not a cut of this %s net", p,
				     net->planned ? "planned" : "unplanned");
	want = calloc(2 * (size_t)net->nnodes, 1);
	if (!want)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	mark_crossing(net, p, want);
	for (int k = 0; k < 2 * net->nnodes && n <= max; k++) {
		aoi_shape s = net->nodes[k / 2].out;

		if (!want[k])
			continue;
		if (n < max)
			live[n] = (aoi_live_tensor){ k / 2, k % 2, s, (size_t)s.c * s.h * s.w };
		n++;
	}
	free(want);
	if (n > max)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "more than %d tensors cross the cut before node %d", max, p);
	return n;
}

void *aoi_net_live_data(aoi_net *net, const aoi_live_tensor *t)
{
	aoi_node *node = &net->nodes[t->node];

	return t->indices ? (void *)node->aux : (void *)node->y;
}

const float *aoi_net_node_output(aoi_net *net, int node)
{
	if (!net->planned || node < 0 || node >= net->nnodes)
		return NULL;
	return net->nodes[storage(net, node)].y;
}

/* The dynamic programme of aoi_net_split_costs(): for the first i items
 * in s runs, the best bottleneck b, its sum of squares q and where its
 * last stage starts (j). Row s - 1 of each table holds s runs. */
typedef struct cut_tables {
	int n;
	double *prefix, *b, *q;
	int *j;
} cut_tables;

static void cut_row(cut_tables *t, int s)
{
	const double *p = t->prefix;
	int n = t->n, row = (s - 1) * (n + 1), prev = (s - 2) * (n + 1);

	for (int i = s; i <= n; i++) {
		double bb = HUGE_VAL, bq = HUGE_VAL;
		int bj = s - 1;

		for (int j = s - 1; j < i; j++) {
			double c = p[i] - p[j];
			double b = fmax(t->b[prev + j], c), q = t->q[prev + j] + c * c;

			if (b < bb || (b == bb && q < bq))
				bb = b, bq = q, bj = j;
		}
		t->b[row + i] = bb, t->q[row + i] = bq, t->j[row + i] = bj;
	}
}

static int check_costs(const double *cost, int n, int stages, aoi_error *err)
{
	if (n < 1 || stages < 1 || stages > n)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "cannot cut %d items into %d stages", n, stages);
	for (int i = 0; i < n; i++)
		if (!(cost[i] >= 0) || isinf(cost[i]))
			return aoi_error_set(err, AOI_EINVAL, NULL, 0,
					     "item %d has a bad cost %g", i, cost[i]);
	return 0;
}

int aoi_net_split_costs(const double *cost, int n, int stages, int *cuts,
			double *stage_cost, aoi_error *err)
{
	size_t cells;
	cut_tables t;

	if (check_costs(cost, n, stages, err) < 0)
		return -1;
	cells = (size_t)stages * (size_t)(n + 1);
	t.n = n;
	t.prefix = malloc((size_t)(n + 1) * sizeof *t.prefix);
	t.b = calloc(cells, sizeof *t.b);
	t.q = calloc(cells, sizeof *t.q);
	t.j = calloc(cells, sizeof *t.j);
	if (!t.prefix || !t.b || !t.q || !t.j) {
		free(t.prefix), free(t.b), free(t.q), free(t.j);
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "no memory for stage cuts");
	}
	t.prefix[0] = 0;
	for (int i = 0; i < n; i++)
		t.prefix[i + 1] = t.prefix[i] + cost[i];
	for (int i = 0; i <= n; i++) /* one stage: everything so far */
		t.b[i] = t.prefix[i], t.q[i] = t.prefix[i] * t.prefix[i], t.j[i] = 0;
	for (int s = 2; s <= stages; s++)
		cut_row(&t, s);
	/* walk back from all n layers in `stages` stages */
	for (int s = stages, end = n; s >= 1; s--) {
		int start = t.j[(s - 1) * (n + 1) + end];

		if (stage_cost)
			stage_cost[s - 1] = t.prefix[end] - t.prefix[start];
		if (s >= 2)
			cuts[s - 2] = start;
		end = start;
	}
	free(t.prefix), free(t.b), free(t.q), free(t.j);
	return 0;
}

/* The valid cuts after node 1 split nodes 1.. into segments; each
 * segment's cost is its nodes' (node_cost, or FLOPs). Returns how many
 * segments, starting at seg[]. */
static int segments(const aoi_net *net, const double *node_cost, int *seg, double *cost)
{
	int n = 0;
	aoi_node_info info;

	for (int i = 1; i < net->nnodes; i++) {
		if (i == 1 || aoi_net_cut_valid(net, i)) {
			seg[n] = i;
			cost[n++] = 0;
		}
		if (node_cost)
			cost[n - 1] += node_cost[i];
		else if (aoi_net_node_info(net, i, &info) == 0)
			cost[n - 1] += info.flops;
	}
	return n;
}

int aoi_net_stage_bounds(const aoi_net *net, int stages, const double *node_cost,
			 int *bounds, double *stage_cost, aoi_error *err)
{
	int *seg = malloc(sizeof(int) * (size_t)(net->nnodes + stages));
	double *cost = malloc(sizeof(double) * (size_t)net->nnodes);
	int *cuts = seg ? seg + net->nnodes : NULL, nseg, rc = 0;

	if (!seg || !cost) {
		free(seg), free(cost);
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	}
	nseg = net->nnodes > 1 ? segments(net, node_cost, seg, cost) : 0;
	if (stages < 1 || stages > nseg)
		rc = aoi_error_set(err, AOI_EINVAL, NULL, 0,
				   "cannot cut the net into %d stages: %d at most", stages,
				   nseg);
	else
		rc = aoi_net_split_costs(cost, nseg, stages, cuts, stage_cost, err);
	if (rc == 0) {
		bounds[0] = 0;
		for (int k = 1; k < stages; k++)
			bounds[k] = seg[cuts[k - 1]];
		bounds[stages] = net->nnodes;
	}
	free(seg), free(cost);
	return rc;
}
