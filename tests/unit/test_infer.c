/* test_infer.c: lib/infer.c's flips (test-time augmentation). A network
 * with random weights is not symmetric, so its prediction of a mirrored
 * image is not the mirrored prediction; averaged over the four flips it
 * is, up to the order of the float sums. That holds only if every flipped
 * output is mapped back to the right pixels, in whole inputs and tiles.
 *
 * Ensembles: two models' ensemble equals the mean of their own
 * probabilities, computed here from the networks' raw outputs; with
 * decision heads, its score is the mean of their scores. */
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "data/loader.h"
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

/* ---- ensembles ---------------------------------------------------------- */

static aoi_infer_model seg_model(const aoi_classes *classes, const char *name)
{
	aoi_infer_model m = {0};

	m.task = AOI_TASK_SEGMENTATION;
	m.width = m.height = SIDE;
	m.gray = 1;
	m.norm.channels = 1;
	m.norm.mean[0] = 0.5f;
	m.norm.std[0] = 0.25f;
	m.classes = classes;
	m.name = name;
	return m;
}

/* Random weights and batch-norm statistics far from their initial values. */
static void randomise(aoi_net *net, uint64_t seed)
{
	aoi_rng rng;
	size_t ns;

	aoi_rng_seed(&rng, seed);
	float *w = aoi_net_params(net);
	for (size_t i = 0; i < aoi_net_param_count(net); i++)
		w[i] = (float)(aoi_rng_uniform(&rng) - 0.5);
	float *st = aoi_net_state(net, &ns);
	for (size_t i = 0; i < ns; i++)
		st[i] = 0.5f + 0.25f * (float)aoi_rng_uniform(&rng);
}

/* The softmax of a net's output for image a<SIDE> (input = image size, so
 * no resizing): SIDE*SIDE pixels x k classes into p[c * SIDE*SIDE + i]. */
static void net_probs(aoi_net *net, const aoi_infer_model *m, int k, double *p)
{
	aoi_image img;
	aoi_error err;
	char path[256];
	float x[SIDE * SIDE];
	int n = SIDE * SIDE;

	snprintf(path, sizeof(path), "%s/a%d.png", dir, SIDE);
	CHECK(aoi_image_load(path, &img, &err) == 0);
	aoi_loader_to_tensor(&img, NULL, 0, 0, SIDE, SIDE, &m->norm, x);
	CHECK(aoi_net_plan(net, 1, SIDE, SIDE, &err) == 0);
	const float *y = aoi_net_forward(net, x, 0, NULL, &err);
	CHECK_MSG(y != NULL, "%s", err.msg);
	for (int i = 0; y && i < n; i++) {
		double mx = y[i], sum = 0;
		for (int c = 1; c < k; c++)
			mx = y[c * n + i] > mx ? y[c * n + i] : mx;
		for (int c = 0; c < k; c++)
			sum += p[c * n + i] = exp(y[c * n + i] - mx);
		for (int c = 0; c < k; c++)
			p[c * n + i] /= sum;
	}
	aoi_image_release(&img);
}

/* Run inf over one image; the record (caller decrefs) and its mask. */
static json_t *run_one(aoi_infer *inf, const char *image, const char *id, aoi_mask *mask)
{
	aoi_infer_item it = {0};
	aoi_error err;
	char path[256];

	it.rec = json_pack("{s:s, s:s}", "id", id, "image", image);
	it.base = dir;
	it.where = "test";
	CHECK_MSG(aoi_infer_run(inf, &it, 1, &err) == 0, "%s", err.msg);
	CHECK_MSG(!it.failed, "%s", it.err.msg);
	snprintf(path, sizeof(path), "%s/%s.png", dir, id);
	if (mask)
		CHECK(aoi_mask_load_png(path, mask, &err) == 0);
	return it.rec;
}

static double defect_prob(const json_t *rec)
{
	return json_number_value(json_object_get(json_object_get(rec, "pred"), "defect_prob"));
}

/* Two different nets: the ensemble's mask is the argmax of the mean of
 * their probabilities (ties within float rounding aside), its defect_prob
 * the highest 1 - mean background probability. */
static void test_ensemble_is_the_mean(aoi_net *a, aoi_net *b, const aoi_classes *classes)
{
	enum { N = SIDE * SIDE };
	static double pa[3 * N], pb[3 * N];
	aoi_infer_model ma = seg_model(classes, "a.aoim"), mb = seg_model(classes, "b.aoim");
	aoi_infer_opts o;
	aoi_error err;
	aoi_mask mask = {0};
	char image[32];
	long wrong = 0, differ = 0;
	double top = 0;

	write_images(SIDE);
	snprintf(image, sizeof(image), "a%d.png", SIDE);
	net_probs(a, &ma, 3, pa);
	net_probs(b, &mb, 3, pb);
	aoi_infer_opts_init(&o);
	o.mask_dir = dir;
	aoi_infer *inf = aoi_infer_new(a, &ma, &o, &err);
	CHECK_MSG(inf != NULL, "%s", err.msg);
	if (!inf)
		return;
	CHECK_INT(aoi_infer_models(inf), 1);
	CHECK_MSG(aoi_infer_add(inf, b, &mb, &o, &err) == 0, "%s", err.msg);
	CHECK_INT(aoi_infer_models(inf), 2);
	json_t *rec = run_one(inf, image, "ens", &mask);
	for (int i = 0; i < N && mask.data; i++) {
		double m[3], best = -1, second = -1;
		int arg = 0;
		for (int c = 0; c < 3; c++) {
			m[c] = (pa[c * N + i] + pb[c * N + i]) / 2;
			if (m[c] > best) {
				second = best;
				best = m[c];
				arg = c;
			} else if (m[c] > second) {
				second = m[c];
			}
		}
		top = 1 - m[0] > top ? 1 - m[0] : top;
		wrong += mask.data[i] != arg && best - second > 1e-5;
		/* the mean is not either model's answer */
		int aa = pa[N + i] > pa[i] ? 1 : 0, ab = pb[N + i] > pb[i] ? 1 : 0;
		for (int c = 2; c < 3; c++) {
			aa = pa[c * N + i] > pa[aa * N + i] ? c : aa;
			ab = pb[c * N + i] > pb[ab * N + i] ? c : ab;
		}
		differ += aa != ab;
	}
	CHECK_MSG(differ > 20, "the two nets should disagree (%ld pixels)", differ);
	CHECK_MSG(wrong == 0, "%ld pixels are not the argmax of the mean", wrong);
	CHECK_NEAR(defect_prob(rec), top, 2e-6);
	json_decref(rec);
	aoi_mask_release(&mask);
	aoi_infer_free(inf);
}

/* One model twice, on tiles of a larger image: the mean of two equal
 * answers is that answer, bit for bit (the tiles' overlaps averaged once
 * per model, then the models'). */
static void test_ensemble_of_one_model(aoi_net *a, const aoi_classes *classes)
{
	aoi_infer_model m = seg_model(classes, "a.aoim");
	aoi_infer_opts o;
	aoi_error err;
	aoi_mask alone = {0}, twice = {0};
	char image[32];

	write_images(BIG);
	snprintf(image, sizeof(image), "a%d.png", BIG);
	aoi_infer_opts_init(&o);
	o.mask_dir = dir;
	o.tile = 1;
	o.overlap = 8;
	aoi_infer *inf = aoi_infer_new(a, &m, &o, &err);
	json_t *r1 = run_one(inf, image, "alone", &alone);
	CHECK(aoi_infer_add(inf, a, &m, &o, &err) == 0);
	json_t *r2 = run_one(inf, image, "twice", &twice);
	CHECK(alone.data && twice.data && memcmp(alone.data, twice.data, BIG * BIG) == 0);
	CHECK_NEAR(defect_prob(r1), defect_prob(r2), 0);
	CHECK(defect_prob(r1) > 0 && defect_prob(r1) <= 1);
	json_decref(r1);
	json_decref(r2);
	aoi_mask_release(&alone);
	aoi_mask_release(&twice);
	aoi_infer_free(inf);
}

/* Classifiers: the ensemble's probabilities are the mean of the two
 * models' own (each rounded to 1e-4 in the records). */
static void test_ensemble_classifiers(void)
{
	aoi_arch_opts ao = {0};
	aoi_classes labels;
	aoi_infer_opts o;
	aoi_error err;
	aoi_net *net[2];
	aoi_infer_model m = seg_model(NULL, "a.aoim");
	json_t *rec[3];
	char image[32];
	double sum = 0;

	aoi_classes_init(&labels);
	aoi_classes_add(&labels, "good");
	aoi_classes_add(&labels, "scratch");
	aoi_classes_add(&labels, "dent");
	ao.input_h = ao.input_w = SIDE;
	ao.in_channels = 1;
	ao.classes = 3;
	m.task = AOI_TASK_CLASSIFICATION;
	m.classes = &labels;
	aoi_infer_opts_init(&o);
	snprintf(image, sizeof(image), "a%d.png", SIDE);
	for (int k = 0; k < 2; k++) {
		net[k] = aoi_arch_build("mbv2-cls-s", &ao, &err);
		CHECK_MSG(net[k] != NULL, "%s", err.msg);
		if (!net[k])
			return;
		randomise(net[k], 21 + (uint64_t)k);
		CHECK(aoi_net_fuse_for_inference(net[k], &err) == 0);
		aoi_infer *inf = aoi_infer_new(net[k], &m, &o, &err);
		rec[k] = run_one(inf, image, "c", NULL);
		aoi_infer_free(inf);
	}
	aoi_infer *inf = aoi_infer_new(net[0], &m, &o, &err);
	CHECK(aoi_infer_add(inf, net[1], &m, &o, &err) == 0);
	rec[2] = run_one(inf, image, "c", NULL);
	for (int c = 0; c < 3; c++) {
		double p[3];
		for (int k = 0; k < 3; k++)
			p[k] = json_number_value(json_object_get(
				json_object_get(json_object_get(rec[k], "pred"), "probs"),
				labels.names[c]));
		CHECK_NEAR(p[2], (p[0] + p[1]) / 2, 1.01e-4);
		sum += fabs(p[0] - p[1]);
	}
	CHECK_MSG(sum > 0.01, "the two classifiers should differ (%g)", sum);
	for (int k = 0; k < 3; k++)
		json_decref(rec[k]);
	aoi_infer_free(inf);
	aoi_net_free(net[0]);
	aoi_net_free(net[1]);
	aoi_classes_release(&labels);
}

/* Models that cannot be combined: the error names the added model's file
 * and the first one. */
static void test_ensemble_refused(aoi_net *a, aoi_net *b, const aoi_classes *classes)
{
	aoi_infer_model ma = seg_model(classes, "a.aoim"), mb = seg_model(classes, "b.aoim");
	aoi_classes other;
	aoi_infer_opts o;
	aoi_error err;

	aoi_infer_opts_init(&o);
	aoi_infer *inf = aoi_infer_new(a, &ma, &o, &err);
	mb.task = AOI_TASK_CLASSIFICATION;
	CHECK(aoi_infer_add(inf, b, &mb, &o, &err) < 0);
	CHECK_STR(err.where, "b.aoim");
	CHECK(strstr(err.msg, "classification") && strstr(err.msg, "a.aoim"));
	mb = seg_model(classes, "b.aoim");
	mb.gray = 0;
	CHECK(aoi_infer_add(inf, b, &mb, &o, &err) < 0);
	CHECK(strstr(err.msg, "colour") && strstr(err.msg, "gray"));
	aoi_classes_init(&other);
	aoi_classes_add(&other, "open");
	aoi_classes_add(&other, "spur");
	mb = seg_model(&other, "b.aoim");
	CHECK(aoi_infer_add(inf, b, &mb, &o, &err) < 0);
	CHECK(strstr(err.msg, "'spur'") && strstr(err.msg, "'short'"));
	CHECK_INT(aoi_infer_models(inf), 1);
	mb = seg_model(classes, "b.aoim");
	o.flips = 1;
	CHECK(aoi_infer_add(inf, b, &mb, &o, &err) < 0);
	aoi_classes_release(&other);
	aoi_infer_free(inf);
}

static double pred_number(const json_t *rec, const char *key)
{
	json_t *v = json_object_get(json_object_get(rec, "pred"), key);
	return v ? json_number_value(v) : -1;
}

/* A segmentation net with a decision head, random weights. */
static aoi_net *decision_net(uint64_t seed)
{
	aoi_arch_opts ao = {0};
	aoi_error err;

	ao.input_h = ao.input_w = SIDE;
	ao.in_channels = 1;
	ao.classes = 3;
	ao.decision = 1;
	aoi_net *net = aoi_arch_build("mbv2-unet-xs", &ao, &err);
	CHECK_MSG(net != NULL, "%s", err.msg);
	if (!net)
		return NULL;
	randomise(net, seed);
	CHECK(aoi_net_fuse_for_inference(net, &err) == 0);
	return net;
}

/* Decision heads: the ensemble's score is the mean of the two models'
 * (each rounded to 1e-6 in the records), its threshold the mean of
 * theirs; a model without a head is refused beside one with a head. */
static void test_ensemble_decisions(aoi_net *plain, const aoi_classes *classes)
{
	aoi_net *net[2] = { decision_net(31), decision_net(32) };
	aoi_infer_model m[2] = { seg_model(classes, "a.aoim"), seg_model(classes, "b.aoim") };
	aoi_infer_model mp = seg_model(classes, "plain.aoim");
	aoi_infer_opts o;
	aoi_error err;
	json_t *rec[3];
	char image[32];

	if (!net[0] || !net[1])
		goto out;
	write_images(SIDE);
	snprintf(image, sizeof(image), "a%d.png", SIDE);
	m[0].threshold = 0.25;
	m[1].threshold = 0.75;
	mp.threshold = -1;
	aoi_infer_opts_init(&o);
	for (int k = 0; k < 2; k++) {
		aoi_infer *inf = aoi_infer_new(net[k], &m[k], &o, &err);
		CHECK_MSG(inf != NULL, "%s", err.msg);
		rec[k] = run_one(inf, image, "d", NULL);
		aoi_infer_free(inf);
	}
	aoi_infer *inf = aoi_infer_new(net[0], &m[0], &o, &err);
	CHECK(aoi_infer_add(inf, plain, &mp, &o, &err) < 0);
	CHECK_STR(err.where, "plain.aoim");
	CHECK(strstr(err.msg, "decision head") && strstr(err.msg, "a.aoim"));
	CHECK(aoi_infer_add(inf, net[1], &m[1], &o, &err) == 0);
	rec[2] = run_one(inf, image, "d", NULL);
	double s0 = pred_number(rec[0], "score"), s1 = pred_number(rec[1], "score");
	CHECK(s0 >= 0 && s0 <= 1 && s1 >= 0 && s1 <= 1);
	CHECK_MSG(fabs(s0 - s1) > 1e-4, "the two heads should differ (%g, %g)", s0, s1);
	CHECK_NEAR(pred_number(rec[2], "score"), (s0 + s1) / 2, 1.01e-6);
	CHECK_NEAR(pred_number(rec[0], "threshold"), 0.25, 1e-9);
	CHECK_NEAR(pred_number(rec[2], "threshold"), 0.5, 1e-9);
	for (int k = 0; k < 3; k++)
		json_decref(rec[k]);
	aoi_infer_free(inf);
out:
	aoi_net_free(net[0]);
	aoi_net_free(net[1]);
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
	aoi_net *other = aoi_arch_build("mbv2-unet-s", &ao, &err);
	CHECK_MSG(other != NULL, "%s", err.msg);
	if (other) {
		randomise(other, 12);
		CHECK(aoi_net_fuse_for_inference(other, &err) == 0);
		test_ensemble_is_the_mean(net, other, &classes);
		test_ensemble_of_one_model(net, &classes);
		test_ensemble_refused(net, other, &classes);
		test_ensemble_classifiers();
		test_ensemble_decisions(other, &classes);
		aoi_net_free(other);
	}
	aoi_net_free(net);
	aoi_classes_release(&classes);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return check_done();
}
