/* test_infer_io.c: a model file made ready for inference (infer_load.h)
 * and records through it (infer_io.h): in input order, an unreadable record
 * ending the run after the ones before it or skipped with a note, one
 * record for a queue, and two pipeline stages giving the same records as
 * one process. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "image/image.h"
#include "infer/infer_io.h"
#include "infer/infer_load.h"
#include "model/model.h"

enum { SIDE = 32 };

static char dir[] = "/tmp/aoi-test-infer-io.XXXXXX";
static char model[300], dataset[300];

/* A segmentation model with random weights, two gray images and a dataset
 * of three records whose second names a missing image. */
static int make_files(void)
{
	aoi_model_info info;
	aoi_arch_opts ao = { .input_h = SIDE, .input_w = SIDE, .in_channels = 1, .classes = 3 };
	const char *names[] = { "background", "open", "short" };
	aoi_error err;
	aoi_rng rng;
	aoi_image im;
	char path[400];

	aoi_model_info_init(&info);
	aoi_net *net = aoi_arch_build("mbv2-unet-s", &ao, &err);
	CHECK_MSG(net != NULL, "%s", err.msg);
	if (!net)
		return -1;
	aoi_rng_seed(&rng, 3);
	aoi_net_init_params(net, &rng);
	CHECK(aoi_model_info_set_arch(&info, "mbv2-unet-s", &ao, &err) == 0);
	CHECK(aoi_model_info_set_classes(&info, 3, names, &err) == 0);
	snprintf(model, sizeof model, "%s/seg.aoim", dir);
	CHECK_MSG(aoi_model_save(model, &info, net, &err) == 0, "%s", err.msg);
	aoi_net_free(net);
	aoi_model_info_release(&info);
	CHECK(aoi_image_alloc(&im, SIDE, SIDE, 1, &err) == 0);
	for (int i = 0; i < SIDE * SIDE; i++)
		im.data[i] = (uint8_t)(i * 7 % 251);
	snprintf(path, sizeof path, "%s/a.png", dir);
	CHECK(aoi_image_save_png(path, &im, &err) == 0);
	aoi_image_release(&im);
	snprintf(dataset, sizeof dataset, "%s/d.jsonl", dir);
	FILE *f = fopen(dataset, "w");
	fputs("{\"id\":\"a\",\"image\":\"a.png\"}\n{\"id\":\"b\",\"image\":\"none.png\"}\n"
	      "{\"id\":\"c\",\"image\":\"a.png\"}\n", f);
	fclose(f);
	return 0;
}

static aoi_infer *open_infer(aoi_infer_loaded *l, int batch)
{
	aoi_infer_opts o;
	aoi_error err;

	CHECK_MSG(aoi_infer_load(l, model, &err) == 0, "%s", err.msg);
	aoi_infer_opts_init(&o);
	o.batch = batch;
	aoi_infer *inf = aoi_infer_new(l->net, &l->m, &o, &err);
	CHECK_MSG(inf != NULL, "%s", err.msg);
	return inf;
}

static void test_load(void)
{
	aoi_infer_loaded l;
	aoi_error err;

	CHECK_MSG(aoi_infer_load(&l, model, &err) == 0, "%s", err.msg);
	CHECK(l.m.task == AOI_TASK_SEGMENTATION);
	CHECK_INT(l.m.width, SIDE);
	CHECK_INT(l.m.gray, 1);
	CHECK_INT(l.classes.n, 2); /* without "background" */
	CHECK_STR(l.classes.names[0], "open");
	CHECK_INT(l.crop, 0);
	CHECK(aoi_infer_load_resize(&l, 48, 48, &err) < 0);
	CHECK(strstr(err.msg, "multiples of 32") != NULL);
	CHECK(aoi_infer_load_resize(&l, 64, 96, &err) == 0);
	CHECK_INT(l.m.height, 96);
	aoi_infer_load_release(&l);
	CHECK(aoi_infer_load(&l, dataset, &err) < 0); /* not a model */
	aoi_infer_load_release(&l);
}

static void test_file(int keep_going)
{
	aoi_infer_loaded l;
	aoi_infer *inf = open_infer(&l, 2);
	FILE *out = tmpfile(), *notes = tmpfile();
	aoi_infer_io io = { .inf = inf, .batch = 2, .dataset = dataset,
			    .keep_going = keep_going, .out = out, .notes = notes,
			    .prefix = "p: warning" };
	aoi_error err;
	char buf[8192];

	int rc = inf ? aoi_infer_io_file(&io, &err) : -1;
	const char *t = check_text_of(out, buf, sizeof buf);
	CHECK(strncmp(t, "{\"id\":\"a\"", 9) == 0 && strstr(t, "\"pred\":{") != NULL);
	if (keep_going) {
		CHECK_INT(rc, 0);
		CHECK(strstr(t, "\n{\"id\":\"c\"") != NULL);
		CHECK(strstr(check_text_of(notes, buf, sizeof buf), "p: warning (at ") == buf);
		CHECK(strstr(buf, "d.jsonl:2): ") != NULL && strstr(buf, "(skipped)\n") != NULL);
	} else {
		CHECK_INT(rc, -1);
		CHECK(strstr(t, "\"c\"") == NULL); /* nothing after the bad record */
		CHECK_INT(err.line, 2);
		CHECK_STR(check_text_of(notes, buf, sizeof buf), "");
	}
	fclose(out), fclose(notes);
	aoi_infer_free(inf);
	aoi_infer_load_release(&l);
}

static void test_record(void)
{
	aoi_infer_loaded l;
	aoi_infer *inf = open_infer(&l, 1);
	aoi_infer_io io = { .inf = inf, .batch = 1, .root = dir };
	json_t *good = json_pack("{s:s, s:s}", "id", "a", "image", "a.png");
	json_t *bad = json_pack("{s:s, s:s}", "id", "b", "image", "none.png");
	aoi_error err;

	CHECK(inf && aoi_infer_io_record(&io, good, &err) == 0);
	CHECK(json_object_get(good, "pred") != NULL);
	CHECK(inf && aoi_infer_io_record(&io, bad, &err) == -1);
	CHECK(strstr(err.msg, "none.png") != NULL || strstr(err.where, "none.png") != NULL);
	json_decref(good), json_decref(bad);
	aoi_infer_free(inf);
	aoi_infer_load_release(&l);
}

/* One stage of k of 2 between the streams; 0 or -1. */
static int stage(int k, FILE *in, FILE *out, int first_check)
{
	aoi_infer_loaded l;
	aoi_infer *inf = open_infer(&l, 2);
	aoi_infer_io io = { .inf = inf, .batch = 2, .dataset = dataset, .keep_going = 1,
			    .in = in, .in_name = "stage stream", .out = out };
	aoi_error err;
	int first, end, rc = -1;

	if (inf && aoi_infer_io_nodes(l.net, k, 2, -1, -1, &first, &end, &err) == 0) {
		CHECK(k == 1 ? first == 0 : end == aoi_net_node_count(l.net));
		aoi_infer_stage *st = aoi_infer_stage_new(inf, first, end, &err);
		rc = st ? aoi_infer_io_stage(&io, st, &err) : -1;
		CHECK_MSG(rc == 0, "%s", err.msg);
		aoi_infer_stage_free(st);
	}
	if (first_check) { /* --nodes past the end */
		CHECK(aoi_infer_io_nodes(l.net, 0, 0, 0, 9999, &first, &end, &err) < 0);
		CHECK(strstr(err.msg, "the net has nodes 0-") != NULL);
		CHECK(aoi_infer_io_nodes(l.net, 0, 0, 1, 3, &first, &end, &err) == 0);
		CHECK(first == 0 && end == 4);
	}
	aoi_infer_free(inf);
	aoi_infer_load_release(&l);
	return rc;
}

static void test_stages(void)
{
	FILE *one = tmpfile(), *mid = tmpfile(), *two = tmpfile();
	aoi_infer_loaded l;
	aoi_infer *inf = open_infer(&l, 2);
	aoi_infer_io io = { .inf = inf, .batch = 2, .dataset = dataset, .keep_going = 1,
			    .out = one };
	aoi_error err;
	static char a[8192], b[8192];

	CHECK(inf && aoi_infer_io_file(&io, &err) == 0);
	aoi_infer_free(inf);
	aoi_infer_load_release(&l);
	CHECK(stage(1, NULL, mid, 1) == 0);
	rewind(mid);
	CHECK(stage(2, mid, two, 0) == 0);
	CHECK_STR(check_text_of(two, b, sizeof b), check_text_of(one, a, sizeof a));
	fclose(one), fclose(mid), fclose(two);
}

int main(void)
{
	CHECK(mkdtemp(dir) != NULL);
	if (make_files() == 0) {
		test_load();
		test_file(0);
		test_file(1);
		test_record();
		test_stages();
	}
	CHECK(check_remove_dir(dir) == 0);
	return check_done();
}
