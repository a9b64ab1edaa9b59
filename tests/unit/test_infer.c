/* test_infer.c: lib/infer.c's flips (test-time augmentation). A network
 * with random weights is not symmetric, so its prediction of a mirrored
 * image is not the mirrored prediction; averaged over the four flips it
 * is, up to the order of the float sums. That holds only if every flipped
 * output is mapped back to the right pixels, in whole inputs and tiles. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "data/mask.h"
#include "image/image.h"
#include "infer/infer.h"
#include "model/arch.h"
#include "nn/net.h"

enum { SIDE = 32, BIG = 80 };

static char dir[] = "/tmp/aoi-test-infer.XXXXXX";

/* A gray image with a pattern that is not symmetric, and its mirror. */
static void write_images(int side)
{
	aoi_image a, b;
	aoi_error err;
	char path[256];

	CHECK(aoi_image_alloc(&a, side, side, 1, &err) == 0);
	CHECK(aoi_image_alloc(&b, side, side, 1, &err) == 0);
	for (int y = 0; y < side; y++)
		for (int x = 0; x < side; x++) {
			uint8_t v = (uint8_t)((x * 7 + y * y * 3 + (x > y ? 90 : 0)) & 255);
			a.data[y * side + x] = v;
			b.data[y * side + (side - 1 - x)] = v;
		}
	snprintf(path, sizeof(path), "%s/a%d.png", dir, side);
	CHECK(aoi_image_save_png(path, &a, &err) == 0);
	snprintf(path, sizeof(path), "%s/b%d.png", dir, side);
	CHECK(aoi_image_save_png(path, &b, &err) == 0);
	aoi_image_release(&a);
	aoi_image_release(&b);
}

/* Predict a<side> and b<side>; masks in dir/ma<side>.png and mb... */
static void predict(aoi_net *net, const aoi_classes *classes, int side, int flips, int tile)
{
	aoi_infer_model m = {0};
	aoi_infer_opts o;
	aoi_error err;
	char name[2][32];

	m.task = AOI_TASK_SEGMENTATION;
	m.width = m.height = SIDE;
	m.gray = 1;
	m.norm.channels = 1;
	m.norm.mean[0] = 0.5f;
	m.norm.std[0] = 0.25f;
	m.classes = classes;
	aoi_infer_opts_init(&o);
	o.batch = 3; /* the four flips of an input straddle batches */
	o.tile = tile;
	o.overlap = 8;
	o.flips = flips;
	o.mask_dir = dir;
	aoi_infer *inf = aoi_infer_new(net, &m, &o, &err);
	CHECK_MSG(inf != NULL, "%s", err.msg);
	if (!inf)
		return;
	aoi_infer_item items[2];
	memset(items, 0, sizeof(items));
	for (int i = 0; i < 2; i++) {
		snprintf(name[i], sizeof(name[i]), "%c%d.png", "ab"[i], side);
		items[i].rec = json_pack("{s:s, s:s}", "id", i ? "mb" : "ma", "image", name[i]);
		items[i].base = dir;
		items[i].where = "test";
	}
	CHECK_MSG(aoi_infer_run(inf, items, 2, &err) == 0, "%s", err.msg);
	for (int i = 0; i < 2; i++) {
		CHECK_MSG(!items[i].failed, "%s", items[i].err.msg);
		json_decref(items[i].rec);
	}
	aoi_infer_free(inf);
}

/* Pixels where mask ma is not the mirror of mb. */
static long mirror_mismatches(int side)
{
	aoi_mask a, b;
	aoi_error err;
	char path[256];
	long bad = 0;

	snprintf(path, sizeof(path), "%s/ma.png", dir);
	CHECK(aoi_mask_load_png(path, &a, &err) == 0);
	snprintf(path, sizeof(path), "%s/mb.png", dir);
	CHECK(aoi_mask_load_png(path, &b, &err) == 0);
	CHECK(a.width == side && b.width == side);
	for (int y = 0; y < side; y++)
		for (int x = 0; x < side; x++)
			bad += a.data[y * side + x] != b.data[y * side + side - 1 - x];
	aoi_mask_release(&a);
	aoi_mask_release(&b);
	return bad;
}

static void test_flips_are_mapped_back(aoi_net *net, const aoi_classes *classes)
{
	write_images(SIDE);
	predict(net, classes, SIDE, 0, 0);
	long plain = mirror_mismatches(SIDE);
	CHECK_MSG(plain > 0, "without flips the net should not be symmetric (%ld)", plain);
	predict(net, classes, SIDE, 1, 0);
	long flipped = mirror_mismatches(SIDE);
	/* float sums in another order may tip a near tie, nothing more */
	CHECK_MSG(flipped <= 2, "%ld of %d pixels not mirrored with flips", flipped,
		  SIDE * SIDE);

	/* tiles: 80x80 in 32x32 windows at 0, 24 and 48 (overlap 8), a set
	 * that is its own mirror; the windows of a mirrored image
	 * are the mirrored windows, so the symmetry holds there too */
	write_images(BIG);
	predict(net, classes, BIG, 1, 1);
	flipped = mirror_mismatches(BIG);
	CHECK_MSG(flipped <= 4, "tiled: %ld of %d pixels not mirrored", flipped, BIG * BIG);
}

static void test_flips_only_for_segmentation(aoi_net *net, const aoi_classes *classes)
{
	aoi_infer_model m = {0};
	aoi_infer_opts o;
	aoi_error err;

	m.task = AOI_TASK_CLASSIFICATION;
	m.width = m.height = SIDE;
	m.gray = 1;
	m.classes = classes;
	aoi_infer_opts_init(&o);
	o.flips = 1;
	CHECK(aoi_infer_new(net, &m, &o, &err) == NULL);
	CHECK(strstr(err.msg, "segmentation") != NULL);
}

int main(void)
{
	aoi_error err;
	aoi_arch_opts ao = {0};
	aoi_classes classes;
	aoi_rng rng;

	CHECK(mkdtemp(dir) != NULL);
	aoi_classes_init(&classes);
	aoi_classes_add(&classes, "open");
	aoi_classes_add(&classes, "short");
	ao.input_h = ao.input_w = SIDE;
	ao.in_channels = 1;
	ao.classes = 3;
	aoi_net *net = aoi_arch_build("mbv2-unet-s", &ao, &err);
	CHECK_MSG(net != NULL, "%s", err.msg);
	if (!net)
		return check_done();
	/* weights and batch-norm statistics far from their initial values, so
	 * that the classes change from pixel to pixel */
	aoi_rng_seed(&rng, 11);
	float *w = aoi_net_params(net);
	for (size_t i = 0; i < aoi_net_param_count(net); i++)
		w[i] = (float)(aoi_rng_uniform(&rng) - 0.5);
	size_t ns;
	float *st = aoi_net_state(net, &ns);
	for (size_t i = 0; i < ns; i++)
		st[i] = 0.5f + 0.25f * (float)aoi_rng_uniform(&rng);
	CHECK(aoi_net_fuse_for_inference(net, &err) == 0);
	test_flips_are_mapped_back(net, &classes);
	test_flips_only_for_segmentation(net, &classes);
	aoi_net_free(net);
	aoi_classes_release(&classes);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return check_done();
}
