/* test_loader: records into batches: normalisation, targets, crops, the
 * cache, determinism of augmentation, the paint hook, and bad records. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "check.h"
#include "data/loader.h"
#include "image/image.h"

static char dir[256];

/* A 64x64 gray image: left half `lo`, right half `hi`. */
static void write_halves(const char *name, int lo, int hi)
{
	aoi_image img = { 0 };
	char path[512];
	aoi_image_alloc(&img, 64, 64, 1, NULL);
	for (int y = 0; y < 64; y++)
		for (int x = 0; x < 64; x++)
			img.data[y * 64 + x] = (uint8_t)(x < 32 ? lo : hi);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK(aoi_image_save_png(path, &img, NULL) == 0);
	aoi_image_release(&img);
}

static json_t *record(const char *json)
{
	json_t *r = json_loads(json, 0, NULL);
	CHECK(r != NULL);
	return r;
}

static aoi_loader *seg_loader(aoi_classes *cls, int crop, size_t cache)
{
	aoi_loader_opts o;
	aoi_loader_opts_init(&o);
	o.width = o.height = 32;
	o.gray = 1;
	o.use_template = 1;
	o.crop = crop;
	o.target = AOI_TARGET_MASK;
	o.classes = cls;
	o.cache_limit = cache;
	aoi_loader *l = aoi_loader_new(&o, NULL);
	json_t *r = record("{\"id\":\"a\",\"image\":\"a.png\",\"template\":\"t.png\","
			   "\"width\":64,\"height\":64,"
			   "\"boxes\":[[8,8,24,24,\"short\"],[40,40,64,64,\"open\"]]}");
	CHECK(aoi_loader_add(l, r, dir, "d.jsonl", 1, NULL) == 0);
	json_decref(r);
	return l;
}

static void test_segmentation(void)
{
	aoi_classes cls;
	aoi_error err;
	aoi_classes_init(&cls);
	aoi_classes_add(&cls, "open");
	aoi_classes_add(&cls, "short");
	aoi_loader *l = seg_loader(&cls, 0, 0);
	CHECK_INT(aoi_loader_count(l), 1);

	aoi_norm norm;
	CHECK(aoi_loader_compute_norm(l, 0, &norm, &err) == 0);
	CHECK_INT(norm.channels, 2);
	CHECK_NEAR(norm.mean[0], 0.5, 1e-6);  /* halves 0 and 255 */
	CHECK_NEAR(norm.std[0], 0.5, 1e-6);
	CHECK_NEAR(norm.mean[1], 100 / 255.0, 1e-6); /* constant template */
	CHECK_NEAR(norm.std[1], 1.0, 1e-6);
	aoi_loader_set_norm(l, &norm);

	aoi_batch b;
	int idx = 0;
	CHECK(aoi_batch_alloc(&b, l, 2, &err) == 0);
	CHECK(aoi_loader_fill(l, &b, &idx, 1, 0, 0, &err) == 0);
	CHECK_INT(b.n, 1);
	CHECK_NEAR(b.x[0], -1.0, 1e-5);            /* left half of the image */
	CHECK_NEAR(b.x[31], 1.0, 1e-5);            /* right half */
	CHECK_NEAR(b.x[32 * 32], 0.0, 1e-5);       /* template channel */
	CHECK_INT(b.mask[8 * 32 + 8], 2);          /* short: box 8..24 -> 4..12 */
	CHECK_INT(b.mask[3 * 32 + 3], 0);
	CHECK_INT(b.mask[31 * 32 + 31], 1);        /* open */
	CHECK_INT(b.index[1], -1);                 /* the padding row */
	CHECK_NEAR(b.x[2 * 32 * 32], 0.0, 0);
	CHECK_NEAR(b.scale[0], 2.0, 1e-6);

	double px[3];
	CHECK(aoi_loader_class_pixels(l, px, &err) == 0);
	CHECK_NEAR(px[2], 64, 0);
	CHECK_NEAR(px[1], 144, 0);
	aoi_batch_release(&b);
	aoi_loader_free(l);
	aoi_classes_release(&cls);
}

/* A paint hook: a 4x4 square of gray 128 at a place drawn from rng,
 * marked 1 in the mask (the one class). */
static int paint_square(void *ctx, aoi_image *img, aoi_mask *mask, aoi_rng *rng,
			aoi_error *err)
{
	(void)ctx, (void)err;
	int x0 = (int)aoi_rng_below(rng, (uint64_t)img->width - 4);
	int y0 = (int)aoi_rng_below(rng, (uint64_t)img->height - 4);
	for (int y = y0; y < y0 + 4; y++)
		for (int x = x0; x < x0 + 4; x++) {
			img->data[y * img->width + x] = 128;
			mask->data[y * mask->width + x] = 1;
		}
	return 0;
}

/* Where row 0's mask is set: its first pixel, or -1. */
static int painted_at(aoi_loader *l, aoi_batch *b, int epoch, int training)
{
	int idx = 0;
	CHECK(aoi_loader_fill(l, b, &idx, 1, epoch, training, NULL) == 0);
	for (int i = 0; i < 32 * 32; i++)
		if (b->mask[i]) {
			CHECK_NEAR(b->x[i], 0.0, 0.01); /* gray 128 under the mask */
			return i;
		}
	return -1;
}

/* The paint hook (anomalies painted on the fly): mask and image agree, the
 * place depends on seed, epoch and sample only, validation (not training)
 * sees the same every epoch, and the cached image stays unpainted. */
static void test_paint(void)
{
	aoi_classes cls;
	aoi_loader_opts o;
	aoi_batch b;
	aoi_norm norm = { 1, { 0.5f }, { 0.5f } };

	aoi_classes_init(&cls);
	aoi_classes_add(&cls, "anomaly");
	aoi_loader_opts_init(&o);
	o.width = o.height = 32;
	o.gray = 1;
	o.target = AOI_TARGET_MASK;
	o.classes = &cls;
	o.cache_limit = 1 << 20;
	o.seed = 9;
	o.paint = paint_square;
	aoi_loader *l = aoi_loader_new(&o, NULL);
	json_t *r = record("{\"image\":\"a.png\",\"width\":64,\"height\":64}");
	CHECK(aoi_loader_add(l, r, dir, "d.jsonl", 1, NULL) == 0);
	json_decref(r);
	aoi_loader_set_norm(l, &norm);
	CHECK(aoi_batch_alloc(&b, l, 1, NULL) == 0);
	int v0 = painted_at(l, &b, 0, 0), v5 = painted_at(l, &b, 5, 0);
	CHECK(v0 >= 0 && v0 == v5);
	int seen[8], differ = 0;
	for (int e = 0; e < 8; e++) {
		seen[e] = painted_at(l, &b, e, 1);
		CHECK(seen[e] >= 0);
		differ += e && seen[e] != seen[0];
	}
	CHECK(differ > 0);
	CHECK_INT(painted_at(l, &b, 3, 1), seen[3]);
	/* the cache holds the unpainted image: a square painted elsewhere
	 * leaves no gray behind where the last one was */
	int squares = 0;
	for (int i = 0; i < 32 * 32; i++)
		squares += fabsf(b.x[i]) < 0.01f;
	CHECK_MSG(squares <= 16, "%d gray pixels", squares);
	aoi_batch_release(&b);
	aoi_loader_free(l);
	aoi_classes_release(&cls);
}

/* The centred 32x32 window of the 64x64 image when not training. */
static void test_crop(void)
{
	aoi_classes cls;
	aoi_batch b;
	int idx = 0;
	aoi_classes_init(&cls);
	aoi_classes_add(&cls, "open");
	aoi_classes_add(&cls, "short");
	aoi_loader *l = seg_loader(&cls, 1, 0);
	CHECK(aoi_batch_alloc(&b, l, 1, NULL) == 0);
	CHECK(aoi_loader_fill(l, &b, &idx, 1, 0, 0, NULL) == 0);
	CHECK_NEAR(b.x[15], 0.0, 1e-6);            /* x = 31 in the image */
	CHECK_NEAR(b.x[16], 1.0, 1e-6);            /* x = 32: 255 / 255 */
	CHECK_INT(b.mask[0], 2);                   /* (16,16) inside 'short' */
	CHECK_INT(b.mask[8 * 32 + 8], 0);          /* (24,24) just outside */
	CHECK_INT(b.mask[31 * 32 + 31], 1);        /* (47,47) 'open' */
	CHECK_NEAR(b.scale[2], 16, 0);
	/* a training window lies inside the image and moves with the epoch */
	int moved = 0;
	for (int e = 0; e < 8; e++) {
		CHECK(aoi_loader_fill(l, &b, &idx, 1, e, 1, NULL) == 0);
		CHECK(b.scale[2] >= 0 && b.scale[2] <= 32);
		moved += b.scale[2] != 16;
	}
	CHECK(moved > 0);
	aoi_batch_release(&b);
	aoi_loader_free(l);
	aoi_classes_release(&cls);
}

/* A loader of 16x16 windows over three 64x64 records: a small defect in
 * a corner, a good image, and a defective label without a mask. */
static aoi_loader *window_loader(aoi_classes *cls, double defect_windows, int w)
{
	aoi_loader_opts o;
	aoi_loader_opts_init(&o);
	o.width = o.height = w;
	o.gray = 1;
	o.crop = 1;
	o.target = AOI_TARGET_MASK;
	o.classes = cls;
	o.defect_windows = defect_windows;
	aoi_loader *l = aoi_loader_new(&o, NULL);
	const char *recs[] = {
		"{\"id\":\"d\",\"image\":\"a.png\",\"width\":64,\"height\":64,"
		"\"label\":\"defective\",\"boxes\":[[60,60,62,62,\"open\"]]}",
		"{\"id\":\"g\",\"image\":\"b.png\",\"label\":\"good\"}",
		"{\"id\":\"u\",\"image\":\"b.png\",\"label\":\"defective\"}" };
	for (int i = 0; i < 3; i++) {
		json_t *r = record(recs[i]);
		CHECK(aoi_loader_add(l, r, dir, "d.jsonl", i + 1, NULL) == 0);
		json_decref(r);
	}
	return l;
}

/* Defect windows hold the 2x2 defect in the corner; random ones mostly
 * do not. A defective label without annotations: mask unknown, decision
 * target 1. */
static void test_defect_windows(void)
{
	aoi_classes cls;
	aoi_batch b;
	aoi_classes_init(&cls);
	aoi_classes_add(&cls, "open");
	aoi_loader *all = window_loader(&cls, 1.0, 16), *none = window_loader(&cls, 0, 16);
	CHECK(aoi_loader_defective(all, 0) && !aoi_loader_defective(all, 1) &&
	      aoi_loader_defective(all, 2));
	CHECK(aoi_batch_alloc(&b, all, 3, NULL) == 0);
	int idx[3] = { 0, 1, 2 }, with = 0, without = 0;
	for (int e = 0; e < 20; e++) {
		CHECK(aoi_loader_fill(all, &b, idx, 3, e, 1, NULL) == 0);
		with += b.defect[0];
		CHECK_INT(b.defect[1], 0);
		CHECK_INT(b.defect[2], 1);
		CHECK_INT(b.mask[2 * 256 + 100], AOI_MASK_UNKNOWN);
		CHECK(aoi_loader_fill(none, &b, idx, 3, e, 1, NULL) == 0);
		without += b.defect[0];
	}
	CHECK_INT(with, 20);
	CHECK(without < 10);
	aoi_batch_release(&b);
	aoi_loader_free(all);
	aoi_loader_free(none);
	aoi_classes_release(&cls);
}

/* Evaluation windows: tiles of a larger image count each pixel once;
 * a smaller image is centred in one window. */
static void test_windows(void)
{
	aoi_classes cls;
	aoi_window w[16];
	aoi_batch b;
	aoi_classes_init(&cls);
	aoi_classes_add(&cls, "open");
	aoi_loader *l = window_loader(&cls, 0, 24);
	int n = aoi_loader_windows(l, 0, w, 16, NULL);
	CHECK_INT(n, 9); /* 64 = 24 + 24 + 16 more: origins 0, 24, 40 */
	long own = 0;
	for (int i = 0; i < n; i++)
		own += (long)(w[i].own[2] - w[i].own[0]) * (w[i].own[3] - w[i].own[1]);
	CHECK_INT(own, 64 * 64);
	CHECK_INT(w[2].x0, 40);
	CHECK_INT(w[2].own[0], 8);
	CHECK(aoi_batch_alloc(&b, l, 9, NULL) == 0);
	CHECK(aoi_loader_fill_windows(l, &b, w, n, NULL) == 0);
	CHECK_INT(b.defect[8], 1);  /* the corner window has the defect */
	CHECK_INT(b.defect[0], 0);
	CHECK_INT(b.mask[8 * 576 + 21 * 24 + 21], 1); /* (61,61) */
	CHECK(aoi_loader_windows(l, 0, w, 4, NULL) < 0);
	aoi_batch_release(&b);
	aoi_loader_free(l);
	aoi_loader_opts o;
	aoi_loader_opts_init(&o);
	o.width = o.height = 96;
	o.gray = 1;
	o.crop = 1;
	o.target = AOI_TARGET_MASK;
	o.classes = &cls;
	l = aoi_loader_new(&o, NULL);
	json_t *r = record("{\"id\":\"g\",\"image\":\"b.png\",\"label\":\"good\"}");
	CHECK(aoi_loader_add(l, r, dir, "d.jsonl", 1, NULL) == 0);
	json_decref(r);
	CHECK_INT(aoi_loader_windows(l, 0, w, 16, NULL), 1);
	CHECK_INT(w[0].x0, -16);
	CHECK(w[0].own[0] == 16 && w[0].own[2] == 80);
	aoi_loader_free(l);
	aoi_classes_release(&cls);
}

static aoi_loader *label_loader(aoi_classes *cls, size_t cache, const char *aug)
{
	aoi_loader_opts o;
	aoi_loader_opts_init(&o);
	o.width = o.height = 16;
	o.target = AOI_TARGET_LABEL;
	o.classes = cls;
	o.cache_limit = cache;
	o.seed = 7;
	if (aug) {
		o.augment = 1;
		CHECK(aoi_loader_parse_augment(aug, &o.aug, NULL) == 0);
	}
	aoi_loader *l = aoi_loader_new(&o, NULL);
	const char *recs[] = { "{\"image\":\"a.png\",\"label\":\"good\"}",
			       "{\"image\":\"b.png\",\"label\":\"defective\"}",
			       "{\"image\":\"a.png\",\"label\":\"defective\"}" };
	for (int i = 0; i < 3; i++) {
		json_t *r = record(recs[i]);
		CHECK(aoi_loader_add(l, r, dir, "c.jsonl", i + 1, NULL) == 0);
		json_decref(r);
	}
	return l;
}

static int fill_all(aoi_loader *l, aoi_batch *b, int epoch)
{
	int idx[3] = { 2, 0, 1 };
	return aoi_loader_fill(l, b, idx, 3, epoch, 1, NULL);
}

/* Same (seed, epoch, index): same pixels, cached or not; another epoch
 * draws another transform. */
static void test_determinism(void)
{
	aoi_classes cls;
	aoi_batch b1, b2;
	aoi_classes_init(&cls);
	aoi_classes_add(&cls, "good");
	aoi_classes_add(&cls, "defective");
	const char *aug = "flip,vflip,rot=30,zoom=0.8:1.2,bright=20,contrast=0.2";
	aoi_loader *plain = label_loader(&cls, 0, aug);
	aoi_loader *cached = label_loader(&cls, 1 << 20, aug);
	CHECK(aoi_batch_alloc(&b1, plain, 3, NULL) == 0);
	CHECK(aoi_batch_alloc(&b2, cached, 3, NULL) == 0);
	size_t bytes = 3 * 3 * 16 * 16 * sizeof(float);
	CHECK(fill_all(plain, &b1, 1) == 0);
	CHECK(fill_all(cached, &b2, 1) == 0);
	CHECK(memcmp(b1.x, b2.x, bytes) == 0);
	CHECK(fill_all(cached, &b2, 1) == 0);  /* now from the cache */
	CHECK(memcmp(b1.x, b2.x, bytes) == 0);
	CHECK_INT(b1.label[0], 1);
	CHECK_INT(b1.label[1], 0);
	CHECK(fill_all(cached, &b2, 2) == 0);
	CHECK(memcmp(b1.x, b2.x, bytes) != 0);
	aoi_batch_release(&b1);
	aoi_batch_release(&b2);
	aoi_loader_free(plain);
	aoi_loader_free(cached);
	aoi_classes_release(&cls);
}

static void test_points(void)
{
	aoi_loader_opts o;
	aoi_batch b;
	int idx = 0;
	aoi_loader_opts_init(&o);
	o.width = o.height = 32;
	o.gray = 1;
	o.target = AOI_TARGET_POINTS;
	o.npoints = 2;
	aoi_loader *l = aoi_loader_new(&o, NULL);
	json_t *r = record("{\"image\":\"a.png\",\"keypoints\":[[16,32],[64,0]]}");
	CHECK(aoi_loader_add(l, r, dir, "k.jsonl", 1, NULL) == 0);
	json_decref(r);
	CHECK(aoi_batch_alloc(&b, l, 1, NULL) == 0);
	CHECK(aoi_loader_fill(l, &b, &idx, 1, 0, 0, NULL) == 0);
	CHECK_NEAR(b.points[0], 0.25, 1e-6);
	CHECK_NEAR(b.points[1], 0.5, 1e-6);
	CHECK_NEAR(b.points[2], 1.0, 1e-6);
	CHECK_NEAR(b.points[3], 0.0, 1e-6);
	aoi_batch_release(&b);
	aoi_loader_free(l);
}

static void test_errors(void)
{
	aoi_classes cls;
	aoi_error err;
	aoi_loader_opts o;
	aoi_classes_init(&cls);
	aoi_classes_add(&cls, "good");
	aoi_loader_opts_init(&o);
	o.classes = &cls;
	aoi_loader *l = aoi_loader_new(&o, NULL);
	json_t *r = record("{\"image\":\"a.png\",\"label\":\"cat\"}");
	CHECK(aoi_loader_add(l, r, dir, "e.jsonl", 4, &err) < 0);
	CHECK(strstr(err.msg, "cat") != NULL);
	CHECK_INT(err.line, 4);
	json_decref(r);
	r = record("{\"image\":\"nothere.png\",\"label\":\"good\"}");
	CHECK(aoi_loader_add(l, r, dir, "e.jsonl", 5, &err) < 0);
	CHECK_INT(err.code, AOI_ENOTFOUND);
	json_decref(r);
	r = record("{\"image\":\"bad.png\",\"label\":\"good\"}");
	CHECK(aoi_loader_add(l, r, dir, "e.jsonl", 6, &err) == 0);
	json_decref(r);
	aoi_batch b;
	int idx = 0;
	CHECK(aoi_batch_alloc(&b, l, 1, NULL) == 0);
	CHECK(aoi_loader_fill(l, &b, &idx, 1, 0, 0, &err) < 0);
	CHECK_STR(err.where, "e.jsonl");
	CHECK_INT(err.line, 6);
	aoi_batch_release(&b);
	aoi_loader_free(l);
	aoi_classes_release(&cls);

	aoi_augment_opts a;
	aoi_augment_opts_init(&a);
	CHECK(aoi_loader_parse_augment("flip,rot=15,zoom=0.9:1.1,crop=0.8", &a, NULL) == 0);
	CHECK(a.hflip && !a.vflip);
	CHECK_NEAR(a.rotate, 15, 0);
	CHECK_NEAR(a.zoom_hi, 1.1, 1e-12);
	CHECK(aoi_loader_parse_augment("spin=3", &a, &err) < 0);
	CHECK(aoi_loader_parse_augment("rot", &a, &err) < 0);
	CHECK(aoi_loader_parse_augment("zoom=1.2:0.8", &a, &err) < 0);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "%s/aoi-loader.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	CHECK(mkdtemp(dir) != NULL);
	write_halves("a.png", 0, 255);
	write_halves("b.png", 255, 0);
	write_halves("t.png", 100, 100);
	char path[512];
	snprintf(path, sizeof(path), "%s/bad.png", dir);
	FILE *fp = fopen(path, "w");
	fputs("\x89PNG\r\n\x1a\n truncated", fp);
	fclose(fp);

	test_segmentation();
	test_crop();
	test_paint();
	test_defect_windows();
	test_windows();
	test_determinism();
	test_points();
	test_errors();

	const char *names[] = { "a.png", "b.png", "t.png", "bad.png" };
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	return check_done();
}
