/* test_model.c: model files round trip bit-exact; every kind of damage is
 * refused with a message naming the file; checkpoints; --init transfer. */
#include "check.h"

#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/fileio.h"
#include "model/model.h"

static char dir[64];

static void path_of(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

static aoi_net *small_net(const char *name, int in_channels, int classes, aoi_rng *rng)
{
	aoi_arch_opts o = {0};
	aoi_error err;
	aoi_net *net;
	size_t ns;

	o.in_channels = in_channels;
	o.classes = classes;
	o.input_h = o.input_w = 64;
	net = aoi_arch_build(name, &o, &err);
	CHECK_MSG(net != NULL, "%s: %s", name, err.msg);
	if (!net)
		return NULL;
	aoi_net_init_params(net, rng);
	float *st = aoi_net_state(net, &ns); /* running stats that are not 0/1 */
	for (size_t i = 0; i < ns; i++)
		st[i] = (float)aoi_rng_range(rng, 0.1, 2.0);
	return net;
}

static void fill_info(aoi_model_info *info, const char *arch, int in_channels, int classes)
{
	const char *names[3] = {"background", "open", "short"};
	aoi_arch_opts o = {0};
	aoi_error err;

	aoi_model_info_init(info);
	o.in_channels = in_channels;
	o.classes = classes;
	o.input_h = o.input_w = 64;
	CHECK(aoi_model_info_set_arch(info, arch, &o, &err) == 0);
	CHECK(aoi_model_info_set_classes(info, classes, names, &err) == 0);
	info->mean[0] = 0.485f, info->mean[1] = 0.456f, info->mean[2] = 0.406f;
	info->std[0] = 0.229f, info->std[1] = 0.224f, info->std[2] = 0.225f;
	aoi_model_info_set_provenance(
		info, json_pack("{s:s, s:i, s:{s:f}, s:s}", "dataset_sha256", "ab12", "epochs",
				3, "metrics", "miou", 0.5, "date", "2026-11-21T10:00:00Z"));
}

static int same_floats(const float *a, const float *b, size_t n)
{
	return memcmp(a, b, n * sizeof *a) == 0;
}

static void test_round_trip(aoi_rng *rng)
{
	aoi_model_info info, back;
	aoi_error err;
	char path[128];
	aoi_net *net = small_net("mbv2-unet-s", 3, 3, rng), *got;
	size_t na, nb;

	fill_info(&info, "mbv2-unet-s", 3, 3);
	path_of(path, sizeof path, "m.aoim");
	CHECK(aoi_model_save(path, &info, net, &err) == 0);
	got = aoi_model_load(path, &back, &err);
	CHECK_MSG(got != NULL, "%s", err.msg);
	if (got) {
		CHECK_INT(aoi_net_param_count(got), aoi_net_param_count(net));
		CHECK(same_floats(aoi_net_params(got), aoi_net_params(net),
				  aoi_net_param_count(net)));
		float *sa = aoi_net_state(net, &na), *sb = aoi_net_state(got, &nb);
		CHECK(na == nb && same_floats(sa, sb, na));
		CHECK_STR(back.arch, "mbv2-unet-s");
		CHECK(back.task == AOI_TASK_SEGMENTATION);
		CHECK(memcmp(&back.opts, &info.opts, sizeof info.opts) == 0);
		CHECK(back.mean[1] == 0.456f && back.std[2] == 0.225f);
		CHECK_INT(back.nclasses, 3);
		CHECK_STR(back.classes[2], "short");
		CHECK_STR(json_string_value(json_object_get(back.provenance, "date")),
			  "2026-11-21T10:00:00Z");
		CHECK_NEAR(json_real_value(json_object_get(
				   json_object_get(back.provenance, "metrics"), "miou")), 0.5, 0);
		CHECK(back.threshold < 0); /* none chosen */
		aoi_model_info_release(&back);
		aoi_net_free(got);
	}
	aoi_model_info_release(&info);
	aoi_net_free(net);
}

/* The image threshold (a decision head's or an anomaly model's) is the
 * header's one "threshold"; a plain net stays a version 1 file. */
static void test_threshold(aoi_rng *rng)
{
	aoi_model_info info, back;
	aoi_error err;
	char path[128];
	unsigned char *b = NULL;
	size_t n;
	aoi_net *net = small_net("mbv2-unet-s", 3, 3, rng), *got;

	fill_info(&info, "mbv2-unet-s", 3, 3);
	info.threshold = 0.375;
	path_of(path, sizeof path, "t.aoim");
	CHECK(aoi_model_save(path, &info, net, &err) == 0);
	CHECK(aoi_file_read(path, &b, &n, &err) == 0);
	CHECK(b && n > 24 && b[8] == 1 && b[9] == 0);
	CHECK(b && strstr((const char *)b + 24, "\"threshold\": 0.375") != NULL);
	free(b);
	got = aoi_model_load(path, &back, &err);
	CHECK_MSG(got != NULL, "%s", err.msg);
	if (got) {
		CHECK_NEAR(back.threshold, 0.375, 0);
		aoi_model_info_release(&back);
		aoi_net_free(got);
	}
	aoi_model_info_release(&info);
	aoi_net_free(net);
	unlink(path);
}

static void write_bytes(const char *path, const unsigned char *b, size_t n)
{
	FILE *fp = fopen(path, "wb");

	CHECK(fp != NULL);
	if (fp) {
		fwrite(b, 1, n, fp);
		fclose(fp);
	}
}

/* Load `bytes` as a model and expect failure with `text` in the message
 * and the file named. */
static void expect_refused(const char *what, const unsigned char *bytes, size_t n,
			   const char *text)
{
	char path[128];
	aoi_model_info info;
	aoi_error err;
	aoi_net *net;

	path_of(path, sizeof path, "bad.aoim");
	write_bytes(path, bytes, n);
	aoi_error_clear(&err);
	net = aoi_model_load(path, &info, &err);
	CHECK_MSG(net == NULL, "%s: loaded", what);
	CHECK_MSG(strstr(err.msg, text) != NULL, "%s: '%s'", what, err.msg);
	CHECK_MSG(strcmp(err.where, path) == 0, "%s: where '%s'", what, err.where);
	aoi_net_free(net);
	CHECK(info.classes == NULL && info.provenance == NULL);
}

static void put_u32(unsigned char *p, unsigned long v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void test_damage(void)
{
	char path[128];
	unsigned char *b, *c;
	size_t n;
	aoi_error err;
	static const unsigned char png[16] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
					      0, 0, 0, 13, 'I', 'H', 'D', 'R'};

	path_of(path, sizeof path, "m.aoim");
	CHECK(aoi_file_read(path, &b, &n, &err) == 0);
	if (!b)
		return;
	CHECK(b[24] == '{'); /* the header is readable JSON */
	c = malloc(n);
	expect_refused("truncated", b, n - 100, "truncated");
	expect_refused("truncated in the header", b, 200, "truncated");
	expect_refused("only the magic", b, 12, "truncated");
	expect_refused("empty", b, 0, "not an aoi model file");
	memcpy(c, b, n);
	c[n / 2] ^= 0x10;
	expect_refused("flipped data byte", c, n, "checksum");
	memcpy(c, b, n);
	c[40] ^= 0x01;
	expect_refused("flipped header byte", c, n, "checksum");
	memcpy(c, b, n);
	c[n - 1] ^= 0x80;
	expect_refused("flipped checksum byte", c, n, "checksum");
	expect_refused("a PNG", png, sizeof png, "PNG");
	memcpy(c, b, n);
	put_u32(c + 8, AOI_MODEL_VERSION + 1);
	char newer[32];
	snprintf(newer, sizeof newer, "version %d", AOI_MODEL_VERSION + 1);
	expect_refused("newer version", c, n, newer);
	/* a header that disagrees with the tensors, checksum made right */
	memcpy(c, b, n);
	char *k = strstr((char *)c + 24, "\"width\": 0.5");
	CHECK(k != NULL);
	if (k) {
		k[11] = '8'; /* width 0.8: a stem of 24 channels, not 16 */
		put_u32(c + n - 4, aoi_model_crc32(0, c, n - 4));
		expect_refused("wrong shapes", c, n, "encoder.0/conv1.weight");
	}
	aoi_model_info info;
	path_of(path, sizeof path, "missing.aoim");
	CHECK(aoi_model_load(path, &info, &err) == NULL);
	CHECK(err.code == AOI_ENOTFOUND && strcmp(err.where, path) == 0);
	free(c);
	free(b);
}

static void test_atomic(aoi_rng *rng)
{
	aoi_model_info info;
	aoi_error err;
	char path[128];
	aoi_net *net = small_net("mbv2-cls-s", 3, 2, rng);

	fill_info(&info, "mbv2-cls-s", 3, 2);
	path_of(path, sizeof path, "no/such/dir/m.aoim");
	CHECK(aoi_model_save(path, &info, net, &err) < 0);
	CHECK(strcmp(err.where, path) == 0);
	/* the CRC is zlib's crc32: "123456789" -> cbf43926 */
	CHECK(aoi_model_crc32(0, "123456789", 9) == 0xcbf43926UL);
	CHECK(aoi_model_crc32(aoi_model_crc32(0, "1234", 4), "56789", 5) == 0xcbf43926UL);
	aoi_model_info_release(&info);
	aoi_net_free(net);
}

static void test_checkpoint(aoi_rng *rng)
{
	aoi_model_info info, back;
	aoi_optim_opts oo;
	aoi_checkpoint ck = {0}, ck2;
	aoi_error err;
	char path[128], mpath[128];
	aoi_net *net = small_net("mbv2-corners-s", 3, 8, rng), *got;
	aoi_optim *opt, *opt2 = NULL;
	size_t ns, ns2;

	fill_info(&info, "mbv2-corners-s", 3, 0);
	aoi_optim_opts_init(&oo, AOI_OPTIM_ADAMW);
	oo.lr = 3e-4;
	opt = aoi_optim_new_for(&oo, net, &err);
	float *st = aoi_optim_state(opt, &ns);
	for (size_t i = 0; i < ns; i++) /* step counts first: whole numbers */
		st[i] = i < (size_t)aoi_net_param_tensors(net) ? (float)(i % 5)
							     : (float)aoi_rng_normal(rng);
	ck.epoch = 7;
	aoi_rng_fork(rng, 3, &ck.rng);
	ck.best_metric = 0.25;
	ck.best_epoch = 5;
	aoi_sched_init(&ck.sched, AOI_SCHED_PLATEAU, 1e-4, 0);
	ck.sched.bad_epochs = 2;
	ck.sched.best = 0.3;
	aoi_early_stop_init(&ck.stop, 15);
	path_of(path, sizeof path, "c.aoic");
	CHECK(aoi_checkpoint_save(path, &info, net, opt, &ck, &err) == 0);
	got = aoi_checkpoint_load(path, &back, &opt2, &ck2, &err);
	CHECK_MSG(got && opt2, "%s", err.msg);
	if (got && opt2) {
		CHECK(same_floats(aoi_net_params(got), aoi_net_params(net), aoi_net_param_count(net)));
		float *st2 = aoi_optim_state(opt2, &ns2);
		CHECK(ns == ns2 && same_floats(st, st2, ns));
		CHECK(aoi_optim_options(opt2)->kind == AOI_OPTIM_ADAMW);
		CHECK(aoi_optim_lr(opt2) == 3e-4);
		CHECK(ck2.epoch == 7 && ck2.best_epoch == 5 && ck2.best_metric == 0.25);
		CHECK(memcmp(&ck2.rng, &ck.rng, sizeof ck.rng) == 0);
		CHECK(ck2.sched.kind == AOI_SCHED_PLATEAU && ck2.sched.bad_epochs == 2);
		CHECK(ck2.sched.best == 0.3 && ck2.sched.min_lr == 1e-10 && ck2.sched.lr == 1e-4);
		CHECK(ck2.stop.patience == 15 && ck2.stop.best == HUGE_VAL && ck2.stop.best_epoch == -1);
		aoi_model_info_release(&back);
	}
	aoi_net_free(got);
	aoi_optim_free(opt2);
	/* the model inside a checkpoint loads as a model */
	got = aoi_model_load(path, &back, &err);
	CHECK_MSG(got != NULL, "%s", err.msg);
	aoi_net_free(got);
	aoi_model_info_release(&back);
	/* a model is not a checkpoint */
	path_of(mpath, sizeof mpath, "m2.aoim");
	CHECK(aoi_model_save(mpath, &info, net, &err) == 0);
	CHECK(aoi_checkpoint_load(mpath, &back, &opt2, &ck2, &err) == NULL);
	CHECK(strstr(err.msg, "not a checkpoint") != NULL && opt2 == NULL);
	aoi_optim_free(opt);
	aoi_model_info_release(&info);
	aoi_net_free(net);
}

static unsigned long get_u32(const unsigned char *p)
{
	return p[0] | (unsigned long)p[1] << 8 | (unsigned long)p[2] << 16 |
	       (unsigned long)p[3] << 24;
}

/* c.aoic with checkpoint field `key` of object `obj` ("" for the
 * checkpoint itself) set to the JSON text `value` (NULL: leave the header)
 * and, unless step is NaN, the optimiser's first step count set to step;
 * written whole with its checksum made right, then loaded as a checkpoint:
 * it must be refused with `text` in a message that names the file. */
static void expect_ck_refused(const char *obj, const char *key, const char *value, float step,
			      const char *text)
{
	char src[128], path[128];
	unsigned char *b = NULL;
	size_t n;
	aoi_error err;
	json_t *h, *c, *ts, *t;
	size_t i;

	path_of(src, sizeof src, "c.aoic");
	path_of(path, sizeof path, "bad.aoic");
	if (aoi_file_read(src, &b, &n, &err) < 0 || n < 28)
		return;
	size_t hlen = get_u32(b + 12);
	h = json_loadb((const char *)b + 24, hlen, 0, NULL);
	c = json_object_get(h, "checkpoint");
	if (value) {
		json_object_set_new(obj[0] ? json_object_get(c, obj) : c, key,
				    json_loads(value, JSON_DECODE_ANY, NULL));
		char *js = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
		CHECK(js && strlen(js) < hlen);
		memset(b + 24, ' ', hlen - 1);
		memcpy(b + 24, js, strlen(js));
		free(js);
	}
	ts = json_object_get(h, "tensors");
	json_array_foreach(ts, i, t)
		if (!isnan(step) && strcmp(json_string_value(json_object_get(t, "name")), "optimizer.state") == 0)
			memcpy(b + 24 + hlen + json_integer_value(json_object_get(t, "offset")), &step, 4);
	put_u32(b + n - 4, aoi_model_crc32(0, b, n - 4));
	write_bytes(path, b, n);

	aoi_model_info info;
	aoi_optim *opt = NULL;
	aoi_checkpoint ck;
	aoi_error_clear(&err);
	aoi_net *net = aoi_checkpoint_load(path, &info, &opt, &ck, &err);
	value = value ? value : "(as saved)";
	CHECK_MSG(net == NULL && opt == NULL, "%s %s=%s: loaded", obj, key, value);
	CHECK_MSG(strstr(err.msg, text) != NULL, "%s %s=%s: '%s'", obj, key, value, err.msg);
	CHECK_MSG(strcmp(err.where, path) == 0, "%s: where '%s'", key, err.where);
	CHECK(strchr(err.msg, '\n') == NULL);
	if (net)
		aoi_model_info_release(&info);
	aoi_net_free(net);
	aoi_optim_free(opt);
	json_decref(h);
	free(b);
}

/* Checkpoint fields out of range are refused before they are used:
 * "epoch": 1e300 was a float-to-int cast of undefined behaviour, a
 * negative epoch trained extra epochs, an all-zero generator state gives
 * only zeros. */
static void test_checkpoint_ranges(void)
{
	expect_ck_refused("", "epoch", "1e300", NAN, "'epoch' is 1.0000000000000001e+300");
	expect_ck_refused("", "epoch", "-1", NAN, "'epoch' is -1: it must be an integer from 0");
	expect_ck_refused("", "epoch", "2.5", NAN, "'epoch' is 2.5");
	expect_ck_refused("", "epoch", "\"7\"", NAN, "'epoch' is not a number");
	expect_ck_refused("", "epoch", "null", NAN, "'epoch' is not a number");
	expect_ck_refused("", "best_epoch", "-1e19", NAN, "'best_epoch'");
	expect_ck_refused("schedule", "step", "0", NAN, "'schedule.step' is 0");
	expect_ck_refused("schedule", "epochs", "1e10", NAN, "'schedule.epochs'");
	expect_ck_refused("schedule", "bad_epochs", "-3", NAN, "'schedule.bad_epochs'");
	expect_ck_refused("early_stop", "wait", "4294967296", NAN, "'early_stop.wait'");
	expect_ck_refused("early_stop", "patience", "-1", NAN, "'early_stop.patience'");
	expect_ck_refused("optimizer", "lr", "-0.1", NAN, "'optimizer.lr' is -0.1");
	expect_ck_refused("optimizer", "beta2", "1.5", NAN, "'optimizer.beta2'");
	expect_ck_refused("", "rng",
			  "[\"0000000000000000\", \"0\", \"0\", \"0000000000000000\"]", NAN,
			  "all zero");
	expect_ck_refused("", "epoch", NULL, -2.0f, "step count 0 is -2");
	expect_ck_refused("", "epoch", NULL, 0.5f, "step count 0 is 0.5");
	expect_ck_refused("", "epoch", NULL, 1e30f, "step count 0");
}

static void test_transfer(aoi_rng *rng)
{
	aoi_net *src = small_net("mbv2-cls-s", 3, 5, rng);
	aoi_net *dst = small_net("mbv2-unet-s", 3, 2, rng);
	aoi_net *dst6 = small_net("mbv2-unet-s", 6, 2, rng);
	int total, encoder = 0;
	size_t ns, nd;

	if (!src || !dst || !dst6)
		goto out;
	for (int i = 0; i < aoi_net_param_tensors(src); i++)
		encoder += strncmp(aoi_net_param_info(src, i)->name, "encoder", 7) == 0;
	CHECK_INT(aoi_model_transfer(dst, src, &total), encoder);
	CHECK_INT(total, aoi_net_param_tensors(dst));
	/* the encoder and its batch-norm statistics came over; the head did not */
	const aoi_param_info *p0 = aoi_net_param_info(dst, 0);
	CHECK(same_floats(aoi_net_params(dst), aoi_net_params(src), p0->count));
	CHECK(same_floats(aoi_net_state(dst, &nd), aoi_net_state(src, &ns), 64));
	const aoi_param_info *last = aoi_net_param_info(dst, total - 1);
	CHECK(strncmp(last->name, "head/", 5) == 0);
	/* six input channels: every encoder tensor but the stem conv */
	CHECK_INT(aoi_model_transfer(dst6, src, NULL), encoder - 1);
out:
	aoi_net_free(src);
	aoi_net_free(dst);
	aoi_net_free(dst6);
}

int main(void)
{
	aoi_rng rng;

	snprintf(dir, sizeof dir, "/tmp/aoi-test-model-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	aoi_rng_seed(&rng, 7);
	test_round_trip(&rng);
	test_threshold(&rng);
	test_damage();
	test_atomic(&rng);
	test_checkpoint(&rng);
	test_checkpoint_ranges();
	test_transfer(&rng);
	const char *files[] = {"m.aoim", "bad.aoim", "c.aoic", "m2.aoim", "bad.aoic"};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char p[128];
		path_of(p, sizeof p, files[i]);
		unlink(p);
	}
	CHECK_MSG(rmdir(dir) == 0, "%s not empty: a temporary file was left", dir);
	return check_done();
}
