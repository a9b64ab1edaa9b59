/* test_train: the training loop on the tiny boards of testdata/train:
 * frozen parameters stay bit for bit, the others move, and the stop flag
 * ends the run with a checkpoint. Mixed supervision: a decision head
 * learns what no mask shows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data/loader.h"
#include "image/image.h"
#include "model/arch.h"
#include "model/model.h"
#include "train/train.h"

static aoi_loader *boards(aoi_classes *cls)
{
	aoi_loader_opts o;
	aoi_error err;
	aoi_loader_opts_init(&o);
	o.width = o.height = 32;
	o.gray = 1;
	o.use_template = 1;
	o.target = AOI_TARGET_MASK;
	o.classes = cls;
	aoi_loader *l = aoi_loader_new(&o, &err);
	json_t *all = aoi_dataset_read("testdata/train/train.jsonl", NULL, &err);
	CHECK(all != NULL);
	if (!all)
		return l;
	size_t i;
	json_t *rec;
	json_array_foreach(all, i, rec) {
		aoi_classes_from_record(cls, rec, NULL);
		CHECK(aoi_loader_add(l, rec, "testdata/train", "train.jsonl", (long)i + 1, &err) == 0);
	}
	json_decref(all);
	aoi_norm norm;
	CHECK(aoi_loader_compute_norm(l, 0, &norm, NULL) == 0);
	aoi_loader_set_norm(l, &norm);
	return l;
}

static aoi_net *unet(void)
{
	aoi_arch_opts o;
	aoi_rng rng;
	memset(&o, 0, sizeof(o));
	o.in_channels = 2;
	o.classes = 3;
	o.input_w = o.input_h = 32;
	aoi_net *net = aoi_arch_build("mbv2-unet-s", &o, NULL);
	CHECK(net != NULL);
	aoi_rng_seed(&rng, 5);
	aoi_net_init_params(net, &rng);
	aoi_net_set_threads(net, 1);
	return net;
}

static void test_freeze(void)
{
	aoi_classes cls;
	aoi_classes_init(&cls);
	aoi_loader *l = boards(&cls);
	aoi_net *net = unet();
	aoi_error err;
	CHECK(aoi_net_freeze_block(net, "encoder", 1) > 0);
	size_t n = aoi_net_param_count(net);
	float *before = malloc(n * sizeof(float));
	memcpy(before, aoi_net_params(net), n * sizeof(float));

	aoi_train_opts o;
	aoi_train_opts_init(&o);
	o.epochs = 1;
	o.batch = 4;
	o.max_steps = 2;
	o.optim.lr = 0.01;
	aoi_model_info info;
	aoi_model_info_init(&info);
	o.info = &info;
	aoi_trainer *t = aoi_trainer_new(net, l, NULL, &o, &err);
	CHECK(t != NULL);
	CHECK(aoi_trainer_run(t, &err) == 0);
	CHECK_INT(aoi_trainer_progress(t)->epoch, 1);

	const float *after = aoi_net_params(net);
	int frozen_same = 1, free_moved = 0;
	for (int i = 0; i < aoi_net_param_tensors(net); i++) {
		const aoi_param_info *p = aoi_net_param_info(net, i);
		int same = memcmp(before + p->offset, after + p->offset,
				  p->count * sizeof(float)) == 0;
		if (p->frozen)
			frozen_same &= same;
		else
			free_moved += !same;
	}
	CHECK(frozen_same);
	CHECK(free_moved > 0);
	aoi_trainer_free(t);
	free(before);
	aoi_model_info_release(&info);
	aoi_net_free(net);
	aoi_loader_free(l);
	aoi_classes_release(&cls);
}

/* The flag set before the run: one step, a checkpoint, status 1. */
static void test_stop(void)
{
	aoi_classes cls;
	aoi_classes_init(&cls);
	aoi_loader *l = boards(&cls);
	aoi_net *net = unet();
	aoi_error err;
	volatile sig_atomic_t stop = 1;
	char path[256];
	snprintf(path, sizeof(path), "%s/aoi-test-train.%d.ckpt",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	aoi_train_opts o;
	aoi_train_opts_init(&o);
	o.epochs = 5;
	o.batch = 4;
	o.stop = &stop;
	o.interrupt_path = path;
	aoi_model_info info;
	aoi_model_info_init(&info);
	CHECK(aoi_model_info_set_arch(&info, "mbv2-unet-s", &(aoi_arch_opts){ .in_channels = 2, .classes = 3, .input_w = 32, .input_h = 32 }, &err) == 0);
	o.info = &info;
	aoi_trainer *t = aoi_trainer_new(net, l, NULL, &o, &err);
	CHECK(t != NULL);
	CHECK_INT(aoi_trainer_run(t, &err), 1);
	CHECK_INT(aoi_trainer_progress(t)->epoch, 0);
	CHECK(access(path, F_OK) == 0);
	unlink(path);
	aoi_trainer_free(t);
	aoi_model_info_release(&info);
	aoi_net_free(net);
	aoi_loader_free(l);
	aoi_classes_release(&cls);
}

/* A fresh run's first step sets the running statistics to that batch's
 * (momentum 1 at step 1, not PyTorch's 0.1 towards mean 0, variance 1):
 * the same as one training forward of the initial weights over the same
 * samples with momentum 1. */
static void test_bn_warmup(void)
{
	aoi_classes cls;
	aoi_classes_init(&cls);
	aoi_loader *l = boards(&cls);
	aoi_net *net = unet();
	aoi_error err;
	int n = aoi_loader_count(l), c = (int)aoi_net_param_info(net, 1)->count;
	size_t np = aoi_net_param_count(net), ns;
	float *p0 = malloc(np * sizeof(float)), *st1 = malloc(2 * c * sizeof(float));
	memcpy(p0, aoi_net_params(net), np * sizeof(float));

	aoi_train_opts o;
	aoi_train_opts_init(&o);
	o.epochs = 1;
	o.batch = n; /* one step over every sample, in any order */
	o.max_steps = 1;
	aoi_model_info info;
	aoi_model_info_init(&info);
	o.info = &info;
	aoi_trainer *t = aoi_trainer_new(net, l, NULL, &o, &err);
	CHECK(t != NULL && aoi_trainer_run(t, &err) == 0);
	memcpy(st1, aoi_net_state(net, &ns), 2 * c * sizeof(float));
	aoi_trainer_free(t);

	aoi_batch b;
	int idx[64];
	CHECK(n <= 64 && aoi_batch_alloc(&b, l, n, &err) == 0);
	for (int i = 0; i < n; i++)
		idx[i] = i;
	CHECK(aoi_loader_fill(l, &b, idx, n, 0, 1, &err) == 0);
	memcpy(aoi_net_params(net), p0, np * sizeof(float));
	aoi_net_set_bn_momentum(net, 1.0);
	CHECK(aoi_net_forward(net, b.x, 1, NULL, &err) != NULL);
	const float *st = aoi_net_state(net, &ns);
	double worst = 0.0;
	for (int i = 0; i < 2 * c; i++) {
		double e = fabs(st[i] - st1[i]) / (fabs(st[i]) + 1e-3);
		worst = e > worst ? e : worst;
	}
	CHECK_MSG(worst < 1e-3, "running statistics after one step differ by %g", worst);
	CHECK_MSG(st1[c] < 0.8f, "running variance %g still near the initial 1", st1[c]);
	aoi_batch_release(&b);
	free(p0);
	free(st1);
	aoi_model_info_release(&info);
	aoi_net_free(net);
	aoi_loader_free(l);
	aoi_classes_release(&cls);
}

/* A batch of one at 32x32 reaches mbv2's stride 32 as 1x1: batch norm
 * there would see one value per channel. */
static void test_single_value_bn(void)
{
	aoi_classes cls;
	aoi_classes_init(&cls);
	aoi_loader *l = boards(&cls);
	aoi_net *net = unet();
	aoi_error err;
	aoi_train_opts o;
	aoi_train_opts_init(&o);
	o.batch = 1;
	aoi_model_info info;
	aoi_model_info_init(&info);
	o.info = &info;
	aoi_trainer *t = aoi_trainer_new(net, l, NULL, &o, &err);
	CHECK(t == NULL);
	CHECK_MSG(t == NULL && strstr(err.msg, "one value per channel") &&
			  strstr(err.msg, "encoder.") && strstr(err.msg, "1 image of 32x32"),
		  "message: %s", t ? "(none)" : err.msg);
	aoi_trainer_free(t);
	o.batch = 2;
	t = aoi_trainer_new(net, l, NULL, &o, &err);
	CHECK(t != NULL);
	aoi_trainer_free(t);
	aoi_model_info_release(&info);
	aoi_net_free(net);
	aoi_loader_free(l);
	aoi_classes_release(&cls);
}

/* A 32x32 gray image in dir: flat noise, or (striped) with faint stripes
 * every fourth column. */
static void write_texture(const char *dir, const char *name, int striped, uint64_t seed)
{
	aoi_image img = { 0 };
	aoi_rng rng;
	char path[512];
	aoi_rng_seed(&rng, seed);
	CHECK(aoi_image_alloc(&img, 32, 32, 1, NULL) == 0);
	for (int i = 0; i < 32 * 32; i++)
		img.data[i] = (uint8_t)(110 + aoi_rng_below(&rng, 30) +
					(striped && i % 4 == 0 ? 40 : 0));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK(aoi_image_save_png(path, &img, NULL) == 0);
	aoi_image_release(&img);
}

/* n records, half good (their empty masks known) and half labelled
 * defective without any mask: their stripes are for the decision alone. */
static aoi_loader *textures(const char *dir, aoi_classes *cls, int n, uint64_t seed,
			    int training)
{
	aoi_loader_opts o;
	aoi_loader_opts_init(&o);
	o.width = o.height = 32;
	o.gray = 1;
	o.crop = 1;
	o.target = AOI_TARGET_MASK;
	o.classes = cls;
	o.cache_limit = 1 << 20;
	o.augment = training;
	o.aug.hflip = o.aug.vflip = 1;
	aoi_loader *l = aoi_loader_new(&o, NULL);
	for (int i = 0; i < n; i++) {
		char name[64], js[256];
		snprintf(name, sizeof(name), "tex%llu-%d.png", (unsigned long long)seed, i);
		write_texture(dir, name, i % 2, seed * 100 + (uint64_t)i);
		snprintf(js, sizeof(js),
			 "{\"id\":\"%s\",\"image\":\"%s\",\"label\":\"%s\",\"classes\":[\"scratch\"]}",
			 name, name, i % 2 ? "defective" : "good");
		json_t *rec = json_loads(js, 0, NULL);
		CHECK(aoi_loader_add(l, rec, dir, "mixed.jsonl", i + 1, NULL) == 0);
		json_decref(rec);
	}
	aoi_norm norm;
	CHECK(aoi_loader_compute_norm(l, 0, &norm, NULL) == 0);
	aoi_loader_set_norm(l, &norm);
	return l;
}

/* Pixels of the defective records of l that the net's segmentation
 * marks as defect (argmax of its two classes). */
static long defect_pixels(aoi_net *net, aoi_loader *l)
{
	aoi_batch b;
	aoi_error err;
	long n = 0;
	CHECK(aoi_batch_alloc(&b, l, 4, NULL) == 0);
	CHECK(aoi_net_plan(net, 4, 32, 32, &err) == 0);
	for (int i = 0; i < aoi_loader_count(l); i += 4) {
		int idx[4] = { i, i + 1, i + 2, i + 3 };
		CHECK(aoi_loader_fill(l, &b, idx, 4, 0, 0, NULL) == 0);
		const float *y = aoi_net_forward(net, b.x, 0, NULL, &err);
		for (int r = 0; y && r < 4; r++)
			for (int p = 0; aoi_loader_defective(l, idx[r]) && p < 32 * 32; p++)
				n += y[(r * 2 + 1) * 1024 + p] > y[r * 2 * 1024 + p];
	}
	aoi_batch_release(&b);
	return n;
}

static void test_mixed_supervision(void)
{
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/aoi-mixed.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	CHECK(mkdtemp(dir) != NULL);
	aoi_classes cls;
	aoi_classes_init(&cls);
	aoi_classes_add(&cls, "scratch");
	aoi_loader *train = textures(dir, &cls, 16, 1, 1), *val = textures(dir, &cls, 8, 2, 0);
	aoi_arch_opts ao;
	memset(&ao, 0, sizeof(ao));
	ao.in_channels = 1;
	ao.classes = 2;
	ao.input_w = ao.input_h = 32;
	ao.decision = 1;
	aoi_error err;
	aoi_net *net = aoi_arch_build("mbv2-unet-s", &ao, &err);
	CHECK_MSG(net != NULL, "%s", err.msg);
	aoi_rng rng;
	aoi_rng_seed(&rng, 3);
	aoi_net_init_params(net, &rng);
	aoi_net_set_threads(net, 1);
	aoi_train_opts o;
	aoi_train_opts_init(&o);
	o.epochs = 10;
	o.batch = 4;
	o.balance = 1;
	o.optim.lr = 0.003;
	aoi_model_info info;
	aoi_model_info_init(&info);
	o.info = &info;
	aoi_trainer *t = aoi_trainer_new(net, train, val, &o, &err);
	CHECK_MSG(t != NULL, "%s", err.msg);
	CHECK(t && aoi_trainer_run(t, &err) == 0);
	const aoi_checkpoint *ck = t ? aoi_trainer_progress(t) : NULL;
	/* the best epoch's image AP, by the decision's scores */
	CHECK_MSG(ck && -ck->best_metric >= 0.99, "image AP %.3f", ck ? -ck->best_metric : 0);
	CHECK(info.threshold > 0 && info.threshold < 1);
	/* the segmentation, never shown a defect pixel, marks none: a rule on
	 * its components passes every part */
	CHECK_INT(defect_pixels(net, val), 0);
	aoi_trainer_free(t);
	aoi_model_info_release(&info);
	aoi_net_free(net);
	aoi_loader_free(train);
	aoi_loader_free(val);
	aoi_classes_release(&cls);
	for (int s = 1; s <= 2; s++)
		for (int i = 0; i < (s == 1 ? 16 : 8); i++) {
			char path[512];
			snprintf(path, sizeof(path), "%s/tex%d-%d.png", dir, s, i);
			unlink(path);
		}
	rmdir(dir);
}

int main(void)
{
	test_single_value_bn();
	test_bn_warmup();
	test_freeze();
	test_stop();
	test_mixed_supervision();
	return check_done();
}
