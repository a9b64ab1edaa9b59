/* test_arch.c: the named networks against their PyTorch references:
 * parameter counts, batch-norm state, FLOPs, output shapes, block names.
 *
 * Reference numbers were printed by PyTorch 1.13 / torchvision 0.14
 * (Debian python3-torch) from ../shared/bench/torch_ref.py's classes
 * (MBV2Unet, AlexNet3, MBV2Corners), torchvision's mobilenet_v2 and
 * alexnet, and, for the networks torch_ref.py does not have, PyTorch
 * modules written layer for layer as ../shared/ARCHITECTURES.md says
 * (LinkNet with transposed conv 3/2; SegNet with VGG16 stages 1-4).
 * FLOPs are ../shared/bench/flops.py's count: 2 x the multiply-adds of
 * convolutions (transposed too) and dense layers. */
#include "check.h"

#include <stdint.h>
#include <stdlib.h>

#include "model/arch.h"
#include "nn/optim.h"
#include "train/loss.h"

typedef struct ref {
	const char *name;
	int in_channels, classes, size;
	long params, state;
	double flops; /* per image at size x size */
	int out_c, out_hw;
} ref;

static const ref refs[] = {
	/* MBV2Unet(3, 2); at 512x512 flops.py prints 26.84 GFLOP = 64 x this */
	{"mbv2-unet", 3, 2, 64, 6629090, 36096, 419306496.0, 2, 64},
	{"mbv2-unet", 1, 3, 64, 6628659, 36096, 419306496.0, 3, 64},
	{"mbv2-unet", 6, 2, 64, 6629954, 36096, 421075968.0, 2, 64},
	/* MBV2Unet(3, 2, 0.5, (64, 32, 24, 16, 8)) */
	{"mbv2-unet-s", 3, 2, 64, 1546642, 19120, 82889216.0, 2, 64},
	{"mbv2-unet-s", 6, 3, 64, 1547147, 19120, 84363776.0, 3, 64},
	{"mbv2-linknet", 3, 2, 64, 3597886, 35960, 63507456.0, 2, 64},
	/* LinkNet with every bottleneck at least 8 channels */
	{"mbv2-linknet-s", 3, 2, 64, 2040338, 20176, 30143488.0, 2, 64},
	{"segnet", 3, 2, 64, 15274306, 9728, 4553441280.0, 2, 64},
	{"segnet-s", 3, 2, 64, 957010, 2432, 289013760.0, 2, 64},
	/* torchvision.models.alexnet(num_classes=2); AlexNet3 has 57016131 */
	{"alexnet", 3, 2, 64, 57012034, 0, 188114304.0, 2, 1},
	{"alexnet", 3, 3, 64, 57016131, 0, 188114304.0 + 2 * 4096, 3, 1},
	/* AlexNet3 at 224x224: flops.py "alexnet 224: 1.42 GFLOP" */
	{"alexnet", 3, 3, 224, 57016131, 0, 1420209536.0, 3, 1},
	/* torchvision.models.mobilenet_v2(num_classes=1000): 3504872 */
	{"mbv2-cls", 3, 1000, 64, 3504872, 34112, -1, 1000, 1},
	{"mbv2-cls", 3, 2, 64, 2226434, 34112, 48902144.0, 2, 1},
	{"mbv2-cls-s", 3, 2, 64, 690242, 18544, 15654400.0, 2, 1},
	/* MBV2Corners with dense 8 x (64/32)^2 -> 512 for a 64x64 input */
	{"mbv2-corners", 3, 8, 64, 2288400, 34112, 49275904.0, 8, 1},
	/* torch_ref.py's MBV2Corners at 256x256: flops.py "0.79 GFLOP" */
	{"mbv2-corners", 3, 8, 256, 2534160, 34112, 788291584.0, 8, 1},
	{"mbv2-corners-s", 3, 8, 64, 752208, 18544, 16028160.0, 8, 1},
};

/* 2 x multiply-adds of the conv, transposed conv and dense nodes, per image */
static double mac_flops(const aoi_net *net)
{
	double total = 0.0;
	aoi_node_info ni;

	for (int i = 0; i < aoi_net_node_count(net); i++)
		if (aoi_net_node_info(net, i, &ni) == 0 &&
		    (strcmp(ni.kind, "conv") == 0 || strcmp(ni.kind, "conv_transpose") == 0 ||
		     strcmp(ni.kind, "dense") == 0))
			total += ni.flops;
	return total;
}

static long params_with_prefix(const aoi_net *net, const char *prefix)
{
	long n = 0;

	for (int i = 0; i < aoi_net_param_tensors(net); i++) {
		const aoi_param_info *p = aoi_net_param_info(net, i);
		if (strncmp(p->name, prefix, strlen(prefix)) == 0)
			n += (long)p->count;
	}
	return n;
}

static void check_ref(const ref *r)
{
	aoi_arch_opts o = {0};
	aoi_error err;
	aoi_net *net;
	size_t state = 0;

	o.in_channels = r->in_channels;
	o.classes = r->classes;
	o.input_h = o.input_w = r->size;
	net = aoi_arch_build(r->name, &o, &err);
	CHECK_MSG(net != NULL, "%s: %s", r->name, err.msg);
	if (!net)
		return;
	CHECK_MSG((long)aoi_net_param_count(net) == r->params, "%s/%d/%d: %zu params, torch %ld",
		  r->name, r->in_channels, r->classes, aoi_net_param_count(net), r->params);
	aoi_net_state(net, &state);
	CHECK_MSG((long)state == r->state, "%s: state %zu, torch %ld", r->name, state,
		  r->state);
	CHECK_MSG(aoi_net_plan(net, 1, r->size, r->size, &err) == 0, "%s: plan: %s", r->name,
		  err.msg);
	aoi_shape out = aoi_net_output_shape(net);
	CHECK_MSG(out.n == 1 && out.c == r->out_c && out.h == r->out_hw && out.w == r->out_hw,
		  "%s: output %dx%dx%dx%d", r->name, out.n, out.c, out.h, out.w);
	if (r->flops > 0)
		CHECK_MSG(mac_flops(net) == r->flops, "%s: %.0f FLOP, torch %.0f", r->name,
			  mac_flops(net), r->flops);
	aoi_net_free(net);
}

/* flops.py: "mbv2-unet 512x512: 26.84 GFLOP per image" (26,835,615,744) */
static void test_unet_512(void)
{
	aoi_error err;
	aoi_net *net = aoi_arch_build("mbv2-unet", NULL, &err);

	CHECK(net != NULL);
	if (!net)
		return;
	CHECK(aoi_net_plan(net, 1, 512, 512, &err) == 0);
	CHECK_MSG(mac_flops(net) == 26835615744.0, "%.0f", mac_flops(net));
	aoi_net_free(net);
}

static void test_make_divisible(void)
{
	CHECK_INT(aoi_arch_make_divisible(32 * 0.5, 8), 16);
	CHECK_INT(aoi_arch_make_divisible(24 * 0.5, 8), 16);
	CHECK_INT(aoi_arch_make_divisible(16 * 0.35, 8), 8);
	CHECK_INT(aoi_arch_make_divisible(96 * 0.75, 8), 72);
	CHECK_INT(aoi_arch_make_divisible(160 * 0.35, 8), 56);
	CHECK_INT(aoi_arch_make_divisible(20, 8), 24);
	CHECK_INT(aoi_arch_make_divisible(36, 8), 40); /* 32 would be < 90% of 36 */
	CHECK_INT(aoi_arch_make_divisible(1280, 8), 1280);
}

/* torchvision mobilenet_v2().features: 2,223,872 parameters */
static void test_mbv2_features(void)
{
	aoi_arch_opts o = {0};
	aoi_error err;
	aoi_net *net;

	o.classes = 1000;
	net = aoi_arch_build("mbv2-cls", &o, &err);
	CHECK(net != NULL);
	if (!net)
		return;
	CHECK_INT(params_with_prefix(net, "encoder"), 2223872);
	CHECK_INT(params_with_prefix(net, "head/"), 1281000);
	CHECK(strncmp(aoi_net_param_info(net, 0)->name, "encoder.0/", 10) == 0);
	CHECK(strncmp(aoi_net_param_info(net, aoi_net_param_tensors(net) - 1)->name, "head/",
		      5) == 0);
	/* the last encoder block is features[18], the 1x1 conv to 1280 */
	CHECK(params_with_prefix(net, "encoder.18/") == 320 * 1280 + 2 * 1280);
	int frozen = aoi_net_freeze_block(net, "encoder", 1);
	CHECK_INT(frozen, aoi_net_param_tensors(net) - 2);
	aoi_net_free(net);
}

static void test_unet_blocks(void)
{
	aoi_error err;
	aoi_net *net = aoi_arch_build("mbv2-unet-s", NULL, &err);
	long dec = 0;
	char name[32];

	CHECK(net != NULL);
	if (!net)
		return;
	for (int k = 0; k < 5; k++) {
		snprintf(name, sizeof name, "decoder.%d/", k);
		CHECK_MSG(params_with_prefix(net, name) > 0, "no %s", name);
		dec += params_with_prefix(net, name);
	}
	CHECK_INT(params_with_prefix(net, "encoder") + dec + params_with_prefix(net, "head/"),
		  aoi_net_param_count(net));
	/* head: conv 3/1 8 -> 2 with bias */
	CHECK_INT(params_with_prefix(net, "head/"), 8 * 2 * 9 + 2);
	aoi_net_free(net);
}

static void test_table_and_errors(void)
{
	aoi_arch_opts o = {0}, r;
	aoi_error err;
	const aoi_arch_info *a;

	CHECK(aoi_arch_count() >= 11);
	for (int i = 0; i < aoi_arch_count(); i++) {
		a = aoi_arch_at(i);
		CHECK(aoi_arch_find(a->name) == a);
		CHECK(aoi_arch_resolve(a->name, NULL, &r, &err) == 0);
	}
	a = aoi_arch_find("mbv2-corners");
	CHECK(a && a->task == AOI_TASK_KEYPOINTS && a->input_h == 256 && a->fixed_size);
	a = aoi_arch_find("segnet");
	CHECK(a && a->task == AOI_TASK_SEGMENTATION && a->input_w == 896);
	CHECK_STR(aoi_task_name(aoi_arch_find("alexnet")->task), "classification");
	CHECK_INT(aoi_task_parse("keypoints"), AOI_TASK_KEYPOINTS);
	CHECK(aoi_arch_build("resnet50", NULL, &err) == NULL);
	CHECK(strstr(err.msg, "resnet50") != NULL);
	o.in_channels = 100;
	CHECK(aoi_arch_build("mbv2-unet", &o, &err) == NULL);
	o.in_channels = 0;
	o.ndecoder = 3;
	o.decoder[0] = o.decoder[1] = o.decoder[2] = 16;
	CHECK(aoi_arch_build("mbv2-unet", &o, &err) == NULL);
	CHECK(strstr(err.msg, "5 decoder") != NULL);
	o.ndecoder = 0;
	o.input_h = o.input_w = 250;
	CHECK(aoi_arch_build("mbv2-corners", &o, &err) == NULL);
	CHECK(strstr(err.msg, "multiple of 32") != NULL);
	o.input_h = o.input_w = 0;
	o.width = -1;
	CHECK(aoi_arch_build("mbv2-cls", &o, &err) == NULL);
}

/* Outputs of the PyTorch references (eval mode) with every parameter and
 * running statistic set by the formula in fill_formula() and the input
 * x[i] = sin(0.01 i), 1x3x64x64: samples at flat indices 0, 1, n/3, n/2,
 * n-1 and the sum of |y|. The same numbers from our nets show that the
 * weights map one to one, tensor for tensor and element for element. */
typedef struct torch_out {
	const char *name;
	double y[5], abs_sum;
	int n;
} torch_out;

static const torch_out torch_outs[] = {
	{"mbv2-unet-s", {0.9942475, -0.8530684, 36.93578, 1.344593, -13.62316}, 648749.2, 8192},
	{"mbv2-linknet-s", {0.1753084, 0.1695253, 0.2011422, 0.2530438, 0.1621579}, 1681.09, 8192},
	{"segnet-s", {-40423.47, -41246.77, 1913.712, -39744.73, 51047.97}, 3.489976e+08, 8192},
	{"mbv2-cls-s", {0.5246058, -0.2031064, 0.5246058, -0.2031064, -0.2031064}, 0.7277122, 2},
	{"mbv2-corners-s", {0.7442505, 0.6179907, 0.4373226, -0.1042954, -0.9248542}, 4.151449, 8},
	{"alexnet", {1.396309, -2.406789, 1.396309, -2.406789, -2.406789}, 3.803098, 2},
};

static int is_bn_weight(const aoi_param_info *p)
{
	size_t n = strlen(p->name);

	return strstr(p->name, "/batchnorm") && n > 7 && strcmp(p->name + n - 7, ".weight") == 0;
}

/* In the order of PyTorch's parameters(): tensor t, element k:
 * sin(0.7 k + t) x 1.5 / sqrt(fan_in) for weights, x 0.1 for vectors;
 * batch norm b (in module order): gamma 1 + 0.1 sin(0.7 k + b), running
 * mean 0.05 sin(0.3 k + b), running var 1 + 0.5 sin^2(0.5 k + b). */
static void fill_formula(aoi_net *net)
{
	float *w = aoi_net_params(net), *st;
	size_t ns, off = 0;
	int b = 0;

	for (int t = 0; t < aoi_net_param_tensors(net); t++) {
		const aoi_param_info *p = aoi_net_param_info(net, t);
		double scale = p->ndim > 1 ? 1.5 / sqrt((double)(p->count / p->shape[0])) : 0.1;
		for (size_t k = 0; k < p->count; k++)
			w[p->offset + k] = (float)(sin(0.7 * k + t) * scale);
	}
	st = aoi_net_state(net, &ns);
	for (int t = 0; t < aoi_net_param_tensors(net); t++) {
		const aoi_param_info *p = aoi_net_param_info(net, t);
		if (!is_bn_weight(p))
			continue;
		for (size_t k = 0; k < p->count && off + 2 * p->count <= ns; k++) {
			w[p->offset + k] = (float)(1 + 0.1 * sin(0.7 * k + b));
			st[off + k] = (float)(0.05 * sin(0.3 * k + b));
			st[off + p->count + k] = (float)(1 + 0.5 * pow(sin(0.5 * k + b), 2));
		}
		off += 2 * p->count;
		b++;
	}
	CHECK_INT(off, ns);
}

static void test_torch_forward(void)
{
	float *x = malloc(sizeof(float) * 3 * 64 * 64);
	aoi_rng rng;

	aoi_rng_seed(&rng, 1);
	for (int i = 0; x && i < 3 * 64 * 64; i++)
		x[i] = (float)sin(0.01 * i);
	for (size_t k = 0; x && k < sizeof torch_outs / sizeof torch_outs[0]; k++) {
		const torch_out *r = &torch_outs[k];
		aoi_arch_opts o = {0};
		aoi_error err;
		o.input_h = o.input_w = 64;
		aoi_net *net = aoi_arch_build(r->name, &o, &err);
		/* SegNet's unpooling carries the first max pool's argmax to the
		 * output, and this smooth input gives that pool near-ties that
		 * Winograd's last-place differences break the other way */
		if (net && strncmp(r->name, "segnet", 6) == 0)
			aoi_net_set_winograd(net, 0);
		CHECK_MSG(net && aoi_net_plan(net, 1, 64, 64, &err) == 0, "%s: %s", r->name, err.msg);
		if (!net)
			continue;
		fill_formula(net);
		const float *y = aoi_net_forward(net, x, 0, &rng, &err);
		CHECK_MSG(y != NULL, "%s: %s", r->name, err.msg);
		double sum = 0.0, tol;
		for (int i = 0; y && i < r->n; i++)
			sum += fabs(y[i]);
		tol = 1e-3 * r->abs_sum / r->n + 1e-4;
		CHECK_MSG(fabs(sum - r->abs_sum) <= 1e-3 * r->abs_sum, "%s: sum |y| %.7g, torch %.7g",
			  r->name, sum, r->abs_sum);
		int at[5] = {0, 1, r->n / 3, r->n / 2, r->n - 1};
		for (int i = 0; y && i < 5; i++)
			CHECK_MSG(fabs(y[at[i]] - r->y[i]) <= tol + 1e-3 * fabs(r->y[i]),
				  "%s: y[%d] %.7g, torch %.7g", r->name, at[i], y[at[i]], r->y[i]);
		aoi_net_free(net);
	}
	free(x);
}

/* splitmix64 of (i, stream) as a uniform in [-1, 1), and the raw hash */
static double hash_u(uint64_t i, uint64_t stream, uint64_t *raw)
{
	uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull + stream * 0xD1B54A32D192ED03ull;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	if (raw)
		*raw = z;
	return (double)(z >> 11) * 0x1p-53 * 2.0 - 1.0;
}

/* Full-rank pseudo-random weights for training (the sine formula gives
 * rank-2 matrices, whose batch statistics are too ill-conditioned to
 * compare): flat index k of the parameter array, u = hash_u(k, 1);
 * weights u sqrt(3 / fan_in), batch-norm gamma 1 + 0.1 u, other vectors
 * 0.1 u; running statistics 0 and 1. */
static void fill_hash(aoi_net *net)
{
	float *w = aoi_net_params(net), *st;
	size_t ns;

	for (int t = 0; t < aoi_net_param_tensors(net); t++) {
		const aoi_param_info *p = aoi_net_param_info(net, t);
		double scale = p->ndim > 1 ? sqrt(3.0 / (double)(p->count / p->shape[0])) : 0.1;
		for (size_t k = 0; k < p->count; k++) {
			double u = hash_u(p->offset + k, 1, NULL);
			w[p->offset + k] = (float)(is_bn_weight(p) ? 1 + 0.1 * u : u * scale);
		}
	}
	st = aoi_net_state(net, &ns);
	for (int t = 0, off = 0; t < aoi_net_param_tensors(net); t++) {
		const aoi_param_info *p = aoi_net_param_info(net, t);
		if (!is_bn_weight(p))
			continue;
		for (size_t k = 0; k < p->count; k++) {
			st[off + k] = 0.0f;
			st[off + p->count + k] = 1.0f;
		}
		off += 2 * (int)p->count;
	}
}

/* Two training steps of mbv2-unet-s (3 classes, batch 2, 64x64) from
 * fill_hash() weights: batch statistics, cross-entropy, backward, SGD
 * with momentum 0.9, lr 0.01 and weight decay 1e-3 on weights only,
 * against PyTorch 1.13 in float64 (torch_ref.py's MBV2Unet(3, 3, 0.5,
 * (64, 32, 24, 16, 8)) with running statistics reset to 0 and 1; input
 * hash_u(i, 2), labels hash(i, 3) mod 3).
 * The stem's gradient passes through some sixty batch norms, some over 8
 * values (stride 32, batch 2): PyTorch in float32 moves the stem 2.4% less
 * far than in float64 and its second loss differs by 6e-4, so the stem is
 * checked by how far it moved (8%: the kernel levels and thread counts,
 * summing in other orders, give 0.209 to 0.222 against PyTorch's 0.2221;
 * even compiling this file otherwise moves it by 0.5%) and the second loss
 * to 3e-3; the head
 * and the first batch norm's statistics are well conditioned, but our
 * float32 kernels still land 1e-5 to 3e-5 off float64 there (direct or
 * Winograd convolutions; builds that contract multiply-adds differently
 * differ by as much), so the head is checked to 5e-5. */
static void test_torch_train_step(void)
{
	static const double want_loss[2] = {1.2577758, 1.2531562};
	static const double want_stem_move = 0.22214798; /* |w2 - w0| of the stem conv */
	static const double want_head[4] = {-0.082509681, -0.13173426, 0.1340866, -0.036042807};
	static const double want_rm[3] = {0.00042056834, -0.0010642971, -0.0026020741};
	static const double want_rv[3] = {0.8488917, 0.87198476, 0.86353733};
	aoi_arch_opts o = {0};
	aoi_optim_opts oo;
	aoi_optim *opt = NULL;
	aoi_error err;
	aoi_rng rng;
	aoi_net *net;
	float *x = malloc(sizeof(float) * 2 * 3 * 64 * 64), *dy = malloc(sizeof(float) * 2 * 3 * 64 * 64);
	int *t = malloc(sizeof(int) * 2 * 64 * 64);

	o.classes = 3;
	o.input_h = o.input_w = 64;
	net = aoi_arch_build("mbv2-unet-s", &o, &err);
	CHECK(net && x && dy && t && aoi_net_plan(net, 2, 64, 64, &err) == 0);
	if (!net || !x || !dy || !t)
		goto out;
	fill_hash(net);
	const aoi_param_info *stem = aoi_net_param_info(net, 0);
	float w0[16 * 3 * 3 * 3];
	CHECK_INT(stem->count, 16 * 27);
	memcpy(w0, aoi_net_params(net), sizeof w0);
	for (int i = 0; i < 2 * 3 * 64 * 64; i++)
		x[i] = (float)hash_u((uint64_t)i, 2, NULL);
	for (int i = 0; i < 2 * 64 * 64; i++) {
		uint64_t raw;
		hash_u((uint64_t)i, 3, &raw);
		t[i] = (int)(raw % 3);
	}
	aoi_optim_opts_init(&oo, AOI_OPTIM_SGD);
	oo.lr = 0.01;
	oo.momentum = 0.9;
	oo.weight_decay = 1e-3;
	opt = aoi_optim_new_for(&oo, net, &err);
	aoi_rng_seed(&rng, 1);
	for (int step = 0; opt && step < 2; step++) {
		aoi_net_zero_grads(net);
		const float *y = aoi_net_forward(net, x, 1, &rng, &err);
		double loss = y ? aoi_loss_softmax_ce(y, t, aoi_net_output_shape(net), NULL, dy, &err) : -1;
		CHECK_MSG(fabs(loss - want_loss[step]) < (step ? 3e-3 : 1e-5),
			  "step %d: loss %.8g, torch %.8g", step, loss, want_loss[step]);
		CHECK(aoi_net_backward(net, dy, &err) == 0);
		aoi_optim_step(opt, net);
	}
	const float *w = aoi_net_params(net);
	const aoi_param_info *head = aoi_net_param_info(net, aoi_net_param_tensors(net) - 2);
	size_t ns;
	const float *st = aoi_net_state(net, &ns);
	int c0 = (int)aoi_net_param_info(net, 1)->count; /* the first batch norm */
	double move = 0.0;
	for (int i = 0; i < 16 * 27; i++)
		move += ((double)w[i] - w0[i]) * ((double)w[i] - w0[i]);
	CHECK_MSG(fabs(sqrt(move) - want_stem_move) < 0.08 * want_stem_move,
		  "stem moved %.8g, torch %.8g", sqrt(move), want_stem_move);
	for (int i = 0; i < 4; i++)
		CHECK_MSG(fabs(w[head->offset + i] - want_head[i]) < 5e-5,
			  "head[%d] %.8g, torch %.8g", i, w[head->offset + i], want_head[i]);
	for (int i = 0; i < 3; i++) {
		CHECK_MSG(fabs(st[i] - want_rm[i]) < 1e-5, "running mean[%d] %.8g, torch %.8g", i,
			  st[i], want_rm[i]);
		CHECK_MSG(fabs(st[c0 + i] - want_rv[i]) < 1e-4, "running var[%d] %.8g, torch %.8g",
			  i, st[c0 + i], want_rv[i]);
	}
out:
	aoi_optim_free(opt);
	aoi_net_free(net);
	free(x);
	free(dy);
	free(t);
}

int main(void)
{
	test_make_divisible();
	for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
		check_ref(&refs[i]);
	test_unet_512();
	test_mbv2_features();
	test_unet_blocks();
	test_table_and_errors();
	test_torch_forward();
	test_torch_train_step();
	return check_done();
}
