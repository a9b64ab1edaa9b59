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

#include <stdlib.h>

#include "arch.h"

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
	{"mbv2-linknet-s", 3, 2, 64, 2038510, 20120, 27737088.0, 2, 64},
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

/* One forward pass through each compact net at 64x64: the graph runs. */
static void test_forward(void)
{
	const char *names[] = {"mbv2-unet-s", "mbv2-linknet-s", "segnet-s", "mbv2-cls-s",
			       "mbv2-corners-s"};
	float *x = malloc(sizeof(float) * 2 * 3 * 64 * 64);
	aoi_rng rng;

	aoi_rng_seed(&rng, 1);
	for (int i = 0; x && i < 2 * 3 * 64 * 64; i++)
		x[i] = (float)aoi_rng_uniform(&rng);
	for (size_t k = 0; x && k < sizeof names / sizeof names[0]; k++) {
		aoi_arch_opts o = {0};
		aoi_error err;
		o.input_h = o.input_w = 64;
		aoi_net *net = aoi_arch_build(names[k], &o, &err);
		CHECK_MSG(net && aoi_net_plan(net, 2, 64, 64, &err) == 0, "%s: %s", names[k], err.msg);
		if (!net)
			continue;
		aoi_net_init_params(net, &rng);
		const float *y = aoi_net_forward(net, x, 0, &rng, &err);
		CHECK_MSG(y != NULL, "%s: %s", names[k], err.msg);
		aoi_shape s = aoi_net_output_shape(net);
		int finite = 1;
		for (size_t i = 0; y && i < (size_t)s.n * s.c * s.h * s.w; i++)
			finite &= isfinite(y[i]) != 0;
		CHECK_MSG(finite, "%s: non-finite output", names[k]);
		aoi_net_free(net);
	}
	free(x);
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
	test_forward();
	return check_done();
}
