/* test_net_range.c: running a net in parts (lib/nn/range.c, run.c): the
 * tensors crossing a cut, handed from one net to another as pipeline
 * stages in separate processes would, give the full forward's output bit
 * for bit, at every valid cut and at balanced stage bounds; on a U-Net
 * (skip connections), on SegNet (max-pool indices read across a cut), on
 * a classifier; fused for inference and not. */
#include "check.h"

#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "model/arch.h"
#include "nn/net.h"

enum { SIDE = 32, BATCH = 2 };

static aoi_net *build(const char *arch, int fuse)
{
	aoi_error err;
	aoi_arch_opts o = {0};
	aoi_rng rng;

	o.input_h = o.input_w = SIDE;
	aoi_net *net = aoi_arch_build(arch, &o, &err);
	CHECK_MSG(net != NULL, "%s: %s", arch, err.msg);
	if (!net)
		return NULL;
	aoi_rng_seed(&rng, 7);
	aoi_net_init_params(net, &rng);
	/* batch-norm statistics that are not the identity */
	size_t ns;
	float *st = aoi_net_state(net, &ns);
	for (size_t i = 0; i < ns; i++)
		st[i] = 0.5f + 0.25f * (float)aoi_rng_uniform(&rng);
	CHECK(!fuse || aoi_net_fuse_for_inference(net, &err) == 0);
	CHECK(aoi_net_plan(net, BATCH, SIDE, SIDE, &err) == 0);
	return net;
}

static size_t numel(aoi_shape s)
{
	return (size_t)s.n * s.c * s.h * s.w;
}

/* Copy what crosses cut p from net a (which ran up to p) into net b. */
static int hand_over(aoi_net *a, aoi_net *b, int p)
{
	aoi_live_tensor la[AOI_NET_MAX_LIVE], lb[AOI_NET_MAX_LIVE];
	aoi_error err;
	int n = aoi_net_cut_live(a, p, la, AOI_NET_MAX_LIVE, &err);

	CHECK_MSG(n > 0, "cut %d: %s", p, err.msg);
	CHECK_INT(aoi_net_cut_live(b, p, lb, AOI_NET_MAX_LIVE, &err), n);
	for (int i = 0; i < n; i++) {
		CHECK(la[i].node == lb[i].node && la[i].per_row == lb[i].per_row);
		memcpy(aoi_net_live_data(b, &lb[i]), aoi_net_live_data(a, &la[i]),
		       4 * la[i].per_row * BATCH);
	}
	return n;
}

/* Scribble over b's activations: a forward on other data. */
static void scribble(aoi_net *b, const float *other)
{
	aoi_error err;

	CHECK(aoi_net_forward(b, other, 0, NULL, &err) != NULL);
}

/* The output of running [0, bounds[1]) on a, [bounds[1], bounds[2]) on b,
 * and so on alternately, compared with the full forward `want`. */
static int staged_equal(aoi_net *a, aoi_net *b, const int *bounds, int stages,
			const float *x, const float *other, const float *want)
{
	aoi_error err;
	aoi_net *nets[2] = { a, b };
	const float *y = NULL;

	scribble(b, other);
	for (int k = 0; k < stages; k++) {
		aoi_net *cur = nets[k % 2];

		if (k > 0)
			hand_over(nets[(k + 1) % 2], cur, bounds[k]);
		y = aoi_net_forward_range(cur, k == 0 ? x : NULL, bounds[k], bounds[k + 1], &err);
		CHECK_MSG(y != NULL, "%s", err.msg);
		if (!y)
			return 0;
		if (k == 0)
			scribble(b, other); /* b must not rely on its own past */
	}
	return memcmp(y, want, 4 * numel(aoi_net_output_shape(a))) == 0;
}

static void test_arch(const char *arch, int fuse, int every_cut)
{
	aoi_net *a = build(arch, fuse), *b = build(arch, fuse);
	aoi_rng rng;
	aoi_error err;

	if (!a || !b) {
		aoi_net_free(a), aoi_net_free(b);
		return;
	}
	size_t nin = numel(aoi_net_input_shape(a)), nout = numel(aoi_net_output_shape(a));
	float *x = malloc(4 * nin), *other = malloc(4 * nin), *want = malloc(4 * nout);
	aoi_rng_seed(&rng, 11);
	for (size_t i = 0; i < nin; i++) {
		x[i] = (float)aoi_rng_normal(&rng);
		other[i] = (float)aoi_rng_normal(&rng);
	}
	memcpy(want, aoi_net_forward(a, x, 0, NULL, &err), 4 * nout);

	int n = aoi_net_node_count(a), cuts = 0, bad = 0, most = 0;
	for (int p = 1; p < n && every_cut; p++) {
		/* the second half, where the skip connections cross, and a
		 * sample of the first (time under the sanitizers) */
		if (!aoi_net_cut_valid(a, p) || (p < n / 2 && p % 5))
			continue;
		int bounds[3] = { 0, p, n };
		cuts++;
		bad += !staged_equal(a, b, bounds, 2, x, other, want);
		aoi_live_tensor live[AOI_NET_MAX_LIVE];
		int nl = aoi_net_cut_live(a, p, live, AOI_NET_MAX_LIVE, &err);
		most = nl > most ? nl : most;
	}
	CHECK_MSG(bad == 0, "%s (fused %d): %d of %d cuts differ", arch, fuse, bad, cuts);
	if (every_cut)
		CHECK_MSG(cuts > 5, "%s: only %d cuts", arch, cuts);

	/* balanced stages: a third of the FLOPs each, give or take the
	 * largest node (which cannot be split) */
	int bounds[4];
	double f[3], total = 0, largest = 0, sum[3] = {0, 0, 0};
	aoi_node_info info;
	CHECK_INT(aoi_net_stage_bounds(a, 3, NULL, bounds, f, &err), 0);
	CHECK(bounds[0] == 0 && bounds[3] == n && bounds[1] < bounds[2]);
	CHECK(aoi_net_cut_valid(a, bounds[1]) && aoi_net_cut_valid(a, bounds[2]));
	for (int i = 0; i < n; i++) {
		CHECK(aoi_net_node_info(a, i, &info) == 0);
		total += info.flops;
		largest = info.flops > largest ? info.flops : largest;
		sum[i >= bounds[2] ? 2 : i >= bounds[1]] += info.flops;
	}
	for (int k = 0; k < 3; k++) {
		CHECK_MSG(f[k] > 0 && f[k] <= total / 3 + largest, "%s stage %d: %.0f of %.0f",
			  arch, k, f[k], total);
		CHECK_NEAR(f[k], sum[k], 1e-6 * total);
	}
	CHECK_MSG(staged_equal(a, b, bounds, 3, x, other, want), "%s: 3 stages differ", arch);
	printf("%s fused %d: %d nodes, %d cuts, at most %d tensors cross; 3 stages at %d, %d\n",
	       arch, fuse, n, cuts, most, bounds[1], bounds[2]);
	free(x), free(other), free(want);
	aoi_net_free(a), aoi_net_free(b);
}

static void test_errors(void)
{
	aoi_net *net = build("mbv2-unet-s", 1);
	aoi_error err;
	aoi_live_tensor live[AOI_NET_MAX_LIVE];
	int bounds[4096];

	if (!net)
		return;
	int n = aoi_net_node_count(net), fused = -1;
	for (int p = 1; p < n && fused < 0; p++)
		if (!aoi_net_cut_valid(net, p))
			fused = p;
	CHECK(fused > 0); /* a batch norm folded into its convolution */
	CHECK_INT(aoi_net_cut_live(net, fused, live, AOI_NET_MAX_LIVE, &err), -1);
	CHECK(!aoi_net_cut_valid(net, 0) && !aoi_net_cut_valid(net, n));
	CHECK(aoi_net_forward_range(net, NULL, 0, n, &err) == NULL); /* no input */
	CHECK(aoi_net_forward_range(net, NULL, fused, n, &err) == NULL);
	CHECK(aoi_net_forward_range(net, NULL, 5, 5, &err) == NULL);
	CHECK_INT(aoi_net_stage_bounds(net, n, NULL, bounds, NULL, &err), -1);
	CHECK(strstr(err.msg, "at most") != NULL);
	CHECK_INT(aoi_net_stage_bounds(net, 0, NULL, bounds, NULL, &err), -1);
	CHECK_INT(aoi_net_stage_bounds(net, 1, NULL, bounds, NULL, &err), 0);
	CHECK(bounds[0] == 0 && bounds[1] == n);
	/* somewhere the skip connections make several tensors cross */
	int several = 0;
	for (int p = 1; p < n && !several; p++)
		if (aoi_net_cut_valid(net, p) &&
		    aoi_net_cut_live(net, p, live, AOI_NET_MAX_LIVE, &err) > 1) {
			several = p;
			CHECK_INT(aoi_net_cut_live(net, p, live, 1, &err), -1);
		}
	CHECK(several > 0);
	aoi_net_free(net);
}

static void test_split(void)
{
	double cost[6] = { 1, 1, 1, 1, 1, 1 }, rc[3];
	int cuts[2];
	aoi_error err;

	CHECK_INT(aoi_net_split_costs(cost, 6, 3, cuts, rc, &err), 0);
	CHECK(cuts[0] == 2 && cuts[1] == 4 && rc[0] == 2 && rc[2] == 2);
	CHECK_INT(aoi_net_split_costs(cost, 2, 3, cuts, rc, &err), -1);
}

int main(void)
{
	test_split();
	test_arch("mbv2-unet-s", 1, 1);
	test_arch("mbv2-unet-s", 0, 0);
	test_arch("segnet-s", 1, 1);
	test_arch("mbv2-cls-s", 1, 0);
	test_errors();
	return check_done();
}
