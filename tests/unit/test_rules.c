/* test_rules: the rules classifier on a hand-made mask, and the messages
 * of malformed rules files. */
#include "check.h"
#include "eval/rules.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A 20x10 mask (200 pixels), classes 1 = scratch, 2 = dust:
 *   scratch A: 2x2 at x 1..2, y 1..2 (area 4, centroid near (1.5, 1.5))
 *   scratch B: 3x1 at x 15..17, y 5  (area 3, centroid near (16, 5))
 *   dust:      1 pixel at (10, 8)
 * 8 defect pixels: share 0.04. */
static void make_mask(aoi_mask *m, aoi_classes *c)
{
	aoi_error err;

	aoi_mask_alloc(m, 20, 10, &err);
	for (int y = 1; y <= 2; y++)
		for (int x = 1; x <= 2; x++)
			m->data[y * 20 + x] = 1;
	for (int x = 15; x <= 17; x++)
		m->data[5 * 20 + x] = 1;
	m->data[8 * 20 + 10] = 2;
	aoi_classes_init(c);
	aoi_classes_add(c, "scratch");
	aoi_classes_add(c, "dust");
}

static aoi_rules *rules(const char *text)
{
	aoi_error err;
	aoi_rules *r = aoi_rules_parse(text, strlen(text), "test.json", &err);

	CHECK_MSG(r != NULL, "%s", err.msg);
	return r;
}

/* The reasons as "rule:class:value:limit;" for one comparison. */
static int eval_to(const char *text, const aoi_rules_input *in, char *out, size_t size)
{
	aoi_rules *r = rules(text);
	json_t *reasons, *o;
	aoi_error err;
	size_t i, used = 0;
	int reject = -1;

	out[0] = '\0';
	if (!r)
		return -1;
	if (aoi_rules_eval(r, in, &reject, &reasons, &err) < 0) {
		snprintf(out, size, "error: %.400s", err.msg);
		aoi_rules_free(r);
		return -1;
	}
	json_array_foreach(reasons, i, o) {
		const char *cls = json_string_value(json_object_get(o, "class"));

		used += (size_t)snprintf(out + used, size - used, "%s:%s:%g:%g;",
					 json_string_value(json_object_get(o, "rule")),
					 cls ? cls : "-",
					 json_number_value(json_object_get(o, "value")),
					 json_number_value(json_object_get(o, "limit")));
	}
	CHECK_INT(reject, json_array_size(reasons) > 0);
	json_decref(reasons);
	aoi_rules_free(r);
	return reject;
}

#define REGIONS                                                                        \
	"\"classes\": [\"scratch\", \"dust\"],"                                       \
	"\"regions\": {\"pole\": {\"box\": [12, 0, 20, 10]},"                         \
	"              \"corner\": {\"polygon\": [[0,0],[5,0],[0,5]]},"                \
	"              \"right\": {\"box\": [0.5, 0, 1, 1], \"units\": \"fraction\"}},"

static void test_mask_rules(void)
{
	aoi_mask m;
	aoi_classes c;
	aoi_rules_input in = {.prob = NAN};
	char buf[512], *got = buf;

	make_mask(&m, &c);
	in.mask = &m;
	in.classes = &c;

	/* A (4 >= 4) counts for scratch; B is renamed pole-scratch (3 >= 2);
	 * dust (1 < 2) does not count; share 0.04 < 0.05. */
	CHECK_INT(eval_to("{" REGIONS "\"region_rules\": [{\"class\": \"scratch\", "
			  "\"region\": \"pole\", \"action\": \"rename\", \"as\": "
			  "\"pole-scratch\"}],"
			  "\"limits\": {\"scratch\": {\"min_area\": 4},"
			  " \"pole-scratch\": {\"min_area\": 2}, \"dust\": {\"min_area\": 2}},"
			  "\"defect_share\": 0.05}",
			  &in, got, sizeof buf),
		  1);
	CHECK_STR(got, "min_count:scratch:1:1;min_count:pole-scratch:1:1;");

	/* min_area 5 and min_count 2: nothing reaches them; no limit for an
	 * unlisted class without "default"; share 0.04 >= 0.04 (seed 001). */
	CHECK_INT(eval_to("{" REGIONS "\"limits\": {\"scratch\": {\"min_area\": 3, "
			  "\"min_count\": 3}}, \"defect_share\": 0.04}",
			  &in, got, sizeof buf),
		  1);
	CHECK_STR(got, "defect_share:-:0.04:0.04;");
	CHECK_INT(eval_to("{" REGIONS "\"limits\": {\"scratch\": {\"min_area\": 3, "
			  "\"min_count\": 3}}, \"defect_share\": 0.0401}",
			  &in, got, sizeof buf),
		  0);
	/* min_count 2 over A and B (both >= 3) */
	CHECK_INT(eval_to("{\"limits\": {\"scratch\": {\"min_area\": 3, \"min_count\": 2}}}",
			  &in, got, sizeof buf),
		  1);
	CHECK_STR(got, "min_count:scratch:2:2;");

	/* "default" judges dust; per-class share: scratch 7/200 >= 0.035 */
	eval_to("{\"default\": {}, \"limits\": {\"scratch\": {\"min_area\": 100, "
		"\"max_share\": 0.035}}}",
		&in, got, sizeof buf);
	CHECK_STR(got, "max_share:scratch:0.035:0.035;min_count:dust:1:1;");

	/* ignore scratch in the corner triangle (A's centroid), dust only
	 * in the right half (it is at x = 10 of 20: inside) */
	eval_to("{" REGIONS "\"region_rules\": [{\"class\": \"scratch\", \"region\": "
		"\"corner\", \"action\": \"ignore\"}, {\"class\": \"dust\", \"region\": "
		"\"right\", \"action\": \"only\"}], \"default\": {}}",
		&in, got, sizeof buf);
	CHECK_STR(got, "min_count:scratch:1:1;min_count:dust:1:1;");
	/* dust only in the pole: dropped; "*" ignores everything in the pole */
	eval_to("{" REGIONS "\"region_rules\": [{\"class\": \"dust\", \"region\": "
		"\"pole\", \"action\": \"only\"}, {\"class\": \"*\", \"region\": \"pole\", "
		"\"action\": \"ignore\"}], \"default\": {}}",
		&in, got, sizeof buf);
	CHECK_STR(got, "min_count:scratch:1:1;");

	/* minimum probability */
	CHECK_INT(eval_to("{\"min_prob\": 0.9}", &in, got, sizeof buf), -1);
	CHECK(strstr(got, "prob") != NULL);
	in.prob = 0.85;
	eval_to("{\"min_prob\": 0.9}", &in, got, sizeof buf);
	CHECK_STR(got, "min_prob:-:0.85:0.9;");
	in.prob = 0.9;
	CHECK_INT(eval_to("{\"min_prob\": 0.9}", &in, got, sizeof buf), 0);

	aoi_mask_release(&m);
	aoi_classes_release(&c);
}

static void test_placement(void)
{
	static const double shifted[] = {3, 4, 13, 4, 3, 14, 13, 14};
	static const double turned[] = {10, 0, 10, 10, 0, 0, 0, 10};
	static const double sq[] = {0, 0, 10, 0, 0, 10, 10, 10};
	aoi_rules_input in = {.prob = NAN, .keypoints = shifted, .nkeypoints = 4};
	char buf[512], *got = buf;
	const char *nominal = "\"nominal\": [[0,0],[10,0],[0,10],[10,10]]";
	char text[256];

	/* offset 5: allowed at 5, rejected at 4.9 */
	snprintf(text, sizeof text, "{\"placement\": {%s, \"max_offset\": 5}}", nominal);
	CHECK_INT(eval_to(text, &in, got, sizeof buf), 0);
	snprintf(text, sizeof text, "{\"placement\": {%s, \"max_offset\": 4.9}}", nominal);
	eval_to(text, &in, got, sizeof buf);
	CHECK_STR(got, "max_offset:-:5:4.9;");
	in.keypoints = turned;
	snprintf(text, sizeof text,
		 "{\"placement\": {%s, \"max_offset\": 1, \"max_rotation\": 2}}", nominal);
	eval_to(text, &in, got, sizeof buf);
	CHECK_STR(got, "max_rotation:-:90:2;");
	/* nominal from the record's truth keypoints */
	CHECK_INT(eval_to("{\"placement\": {\"nominal\": \"truth\", \"max_rotation\": 2}}",
			  &in, got, sizeof buf),
		  -1);
	CHECK(strstr(got, "lacks") != NULL);
	in.truth_keypoints = turned;
	in.ntruth_keypoints = 4;
	CHECK_INT(eval_to("{\"placement\": {\"nominal\": \"truth\", \"max_rotation\": 2}}",
			  &in, got, sizeof buf),
		  0);
	in.truth_keypoints = sq;
	in.nkeypoints = 3;
	CHECK_INT(eval_to("{\"placement\": {\"nominal\": \"truth\", \"max_rotation\": 2}}",
			  &in, got, sizeof buf),
		  -1);
	in.keypoints = NULL;
	CHECK_INT(eval_to("{\"placement\": {\"nominal\": \"truth\", \"max_rotation\": 2}}",
			  &in, got, sizeof buf),
		  -1);
}

/* The image score against a fixed limit and the model's own threshold
 * ("reject when score > limit": a score at the limit passes). */
static void test_score(void)
{
	double score = 0.7, threshold = 0.8;
	aoi_rules_input in = {.prob = NAN};
	char buf[512], *got = buf;

	CHECK_INT(eval_to("{\"max_score\": 0.5}", &in, got, sizeof buf), -1);
	CHECK_STR(got, "error: the rules set max_score but the record has no \"pred\" "
		       "\"score\"");
	in.score = &score;
	eval_to("{\"max_score\": 0.5}", &in, got, sizeof buf);
	CHECK_STR(got, "max_score:-:0.7:0.5;");
	CHECK_INT(eval_to("{\"max_score\": 0.7}", &in, got, sizeof buf), 0);
	CHECK_INT(eval_to("{\"max_score\": \"model\"}", &in, got, sizeof buf), -1);
	CHECK(strstr(got, "\"threshold\"") != NULL);
	in.threshold = &threshold;
	CHECK_INT(eval_to("{\"max_score\": \"model\"}", &in, got, sizeof buf), 0);
	threshold = 0.6;
	eval_to("{\"max_score\": \"model\"}", &in, got, sizeof buf);
	CHECK_STR(got, "max_score:-:0.7:0.6;");
	/* a score rule does not need a mask, a mask rule no score */
	in.score = NULL;
	CHECK_INT(eval_to("{\"default\": {}}", &in, got, sizeof buf), 0);
}

/* An anomaly map of 6x4 on scale 2: a region of 3 pixels at 1.5, one
 * pixel at 1.0, the rest 0.2. */
static void test_anomaly_rules(void)
{
	aoi_anomaly a = {.scale = 2.0};
	aoi_rules_input in = {.prob = NAN};
	aoi_error err;
	char buf[512], *got = buf;
	double threshold = 1.2;

	CHECK(aoi_gray16_alloc(&a.map, 6, 4, &err) == 0);
	for (int i = 0; i < 24; i++)
		a.map.data[i] = (uint16_t)(0.1 * 65535);
	a.map.data[7] = a.map.data[8] = a.map.data[14] = (uint16_t)(0.75 * 65535);
	a.map.data[23] = (uint16_t)(0.5 * 65535 + 1); /* just above 1.0 */
	CHECK_INT(eval_to("{\"anomaly\": {\"threshold\": 0.5}}", &in, got, sizeof buf), -1);
	CHECK(strstr(got, "\"anomaly\"") != NULL);
	in.anomaly = &a;
	eval_to("{\"anomaly\": {\"threshold\": 1.0}}", &in, got, sizeof buf);
	CHECK_STR(got, "anomaly_area:-:3:1;");
	/* min_area 3: the region of 3 counts, the single pixel does not */
	eval_to("{\"anomaly\": {\"threshold\": 1.0, \"min_area\": 3}}", &in, got, sizeof buf);
	CHECK_STR(got, "anomaly_area:-:3:3;");
	CHECK_INT(eval_to("{\"anomaly\": {\"threshold\": 1.0, \"min_area\": 4}}", &in, got,
			  sizeof buf),
		  0);
	CHECK_INT(eval_to("{\"anomaly\": {\"threshold\": 1.5}}", &in, got, sizeof buf), 0);
	CHECK_INT(eval_to("{\"anomaly\": {\"threshold\": \"model\"}}", &in, got, sizeof buf),
		  -1);
	in.threshold = &threshold;
	eval_to("{\"anomaly\": {\"threshold\": \"model\"}}", &in, got, sizeof buf);
	CHECK_STR(got, "anomaly_area:-:3:1;");
	aoi_gray16_release(&a.map);
}

/* A record with inline RLE predictions through aoi_rules_apply. */
static void test_apply(void)
{
	aoi_mask m;
	aoi_classes c;
	aoi_error err;
	json_t *rec = json_pack("{s:s, s:i, s:i, s:{s:f}}", "id", "a", "width", 20,
				"height", 10, "pred", "prob", 0.99);
	const char *text = "{\"limits\": {\"scratch\": {\"min_area\": 4}}}";
	aoi_rules *r = aoi_rules_parse(text, strlen(text), "t", &err);

	make_mask(&m, &c);
	CHECK(aoi_record_set_masks(json_object_get(rec, "pred"), &m, &c, &err) == 0);
	CHECK_MSG(aoi_rules_apply(r, rec, ".", &err) == 0, "%s", err.msg);
	CHECK_STR(aoi_record_str(rec, "decision"), "reject");
	CHECK_INT(json_array_size(json_object_get(rec, "reasons")), 1);
	CHECK_STR(json_string_value(json_object_get(
			  json_array_get(json_object_get(rec, "reasons"), 0), "class")),
		  "scratch");

	/* no mask at all: nothing to reject */
	json_object_set_new(rec, "pred", json_pack("{s:f}", "prob", 0.5));
	CHECK(aoi_rules_apply(r, rec, ".", &err) == 0);
	CHECK_STR(aoi_record_str(rec, "decision"), "accept");
	CHECK_INT(json_array_size(json_object_get(rec, "reasons")), 0);
	/* no pred */
	json_object_del(rec, "pred");
	CHECK(aoi_rules_apply(r, rec, ".", &err) < 0);
	CHECK(strstr(err.msg, "pred") != NULL);

	aoi_rules_free(r);
	json_decref(rec);

	/* nominal corners from a field of the record: offset 5 > 1 */
	text = "{\"placement\": {\"nominal\": {\"field\": \"design\"}, \"max_offset\": 1}}";
	r = aoi_rules_parse(text, strlen(text), "t", &err);
	CHECK(r != NULL);
	rec = json_loads("{\"id\": \"p\", \"design\": [[0,0],[10,0],[0,10],[10,10]], "
			 "\"pred\": {\"keypoints\": [[3,4],[13,4],[3,14],[13,14]]}}",
			 0, NULL);
	CHECK_MSG(aoi_rules_apply(r, rec, ".", &err) == 0, "%s", err.msg);
	CHECK_STR(aoi_record_str(rec, "decision"), "reject");
	CHECK_NEAR(json_number_value(json_object_get(
			   json_array_get(json_object_get(rec, "reasons"), 0), "value")),
		   5.0, 1e-12);
	json_object_del(rec, "design");
	CHECK(aoi_rules_apply(r, rec, ".", &err) < 0);
	CHECK(strstr(err.msg, "\"design\"") != NULL);
	aoi_rules_free(r);
	json_decref(rec);
	aoi_mask_release(&m);
	aoi_classes_release(&c);
}

/* pred.mask: a class-index PNG relative to the dataset's directory, its
 * indices following pred.classes (here reversed: 1 dust, 2 scratch). */
static void test_png_mask(void)
{
	char dir[] = "/tmp/aoi-test-rules.XXXXXX", path[4200];
	aoi_mask m;
	aoi_classes c;
	aoi_error err;
	const char *text = "{\"limits\": {\"scratch\": {\"min_area\": 4}}}";
	aoi_rules *r = aoi_rules_parse(text, strlen(text), "t", &err);
	json_t *rec;

	CHECK(mkdtemp(dir) != NULL);
	make_mask(&m, &c);
	for (int i = 0; i < 200; i++)
		m.data[i] = m.data[i] ? (uint8_t)(3 - m.data[i]) : 0;
	snprintf(path, sizeof path, "%s/m.png", dir);
	CHECK(aoi_mask_save_png(path, &m, &err) == 0);
	rec = json_loads("{\"id\": \"a\", \"pred\": {\"mask\": \"m.png\", "
			 "\"classes\": [\"dust\", \"scratch\"]}}", 0, NULL);
	CHECK_MSG(aoi_rules_apply(r, rec, dir, &err) == 0, "%s", err.msg);
	CHECK_STR(aoi_record_str(rec, "decision"), "reject");
	CHECK_STR(json_string_value(json_object_get(
			  json_array_get(json_object_get(rec, "reasons"), 0), "class")),
		  "scratch");
	CHECK_INT(json_array_size(json_object_get(rec, "reasons")), 1);
	/* the same file read from elsewhere: not found, named */
	CHECK(aoi_rules_apply(r, rec, "/nonexistent", &err) < 0);
	CHECK(strstr(err.where, "m.png") != NULL || strstr(err.msg, "m.png") != NULL);
	remove(path);
	remove(dir);
	json_decref(rec);
	aoi_rules_free(r);
	aoi_mask_release(&m);
	aoi_classes_release(&c);
}

/* pred.score, pred.threshold and pred.anomaly read from a record: the map
 * a 16-bit PNG relative to the dataset, read only for an anomaly rule. */
static void test_apply_scores(void)
{
	char dir[] = "/tmp/aoi-test-rules.XXXXXX", path[4200];
	const char *text = "{\"max_score\": \"model\", \"anomaly\": {\"threshold\": 0.5}}";
	aoi_error err;
	aoi_rules *r = aoi_rules_parse(text, strlen(text), "t", &err);
	aoi_gray16 g;
	json_t *rec;

	CHECK(mkdtemp(dir) != NULL);
	CHECK(aoi_gray16_alloc(&g, 4, 4, &err) == 0);
	g.data[5] = 65535; /* one pixel at the full scale of 1 */
	snprintf(path, sizeof path, "%s/a.png", dir);
	CHECK(aoi_gray16_save_png(path, &g, &err) == 0);
	rec = json_loads("{\"id\": \"a\", \"pred\": {\"score\": 0.2, \"threshold\": 0.3, "
			 "\"anomaly\": {\"map\": \"a.png\", \"scale\": 1}}}", 0, NULL);
	CHECK_MSG(aoi_rules_apply(r, rec, dir, &err) == 0, "%s", err.msg);
	CHECK_STR(aoi_record_str(rec, "decision"), "reject");
	CHECK_STR(json_string_value(json_object_get(
			  json_array_get(json_object_get(rec, "reasons"), 0), "rule")),
		  "anomaly_area");
	CHECK_INT(json_array_size(json_object_get(rec, "reasons")), 1);
	/* the map on a scale of 0.4: nothing above 0.5 */
	json_object_set_new(json_object_get(json_object_get(rec, "pred"), "anomaly"), "scale",
			    json_real(0.4));
	CHECK(aoi_rules_apply(r, rec, dir, &err) == 0);
	CHECK_STR(aoi_record_str(rec, "decision"), "accept");
	json_object_set_new(json_object_get(json_object_get(rec, "pred"), "anomaly"), "scale",
			    json_integer(0));
	CHECK(aoi_rules_apply(r, rec, dir, &err) < 0);
	CHECK(strstr(err.msg, "scale") != NULL);
	json_object_set_new(json_object_get(rec, "pred"), "score", json_string("high"));
	CHECK(aoi_rules_apply(r, rec, dir, &err) < 0);
	CHECK(strstr(err.msg, "\"score\" must be a number") != NULL);
	remove(path);
	remove(dir);
	json_decref(rec);
	aoi_rules_free(r);
	aoi_gray16_release(&g);
}

/* A malformed file: the message names the line and the reason. */
static void expect_refused(const char *text, long line, const char *words)
{
	aoi_error err;
	aoi_rules *r = aoi_rules_parse(text, strlen(text), "bad.json", &err);

	CHECK(r == NULL);
	aoi_rules_free(r);
	CHECK_INT(err.code, AOI_EFORMAT);
	CHECK_STR(err.where, "bad.json");
	CHECK_MSG(err.line == line, "line %ld, expected %ld (%s)", err.line, line, err.msg);
	CHECK_MSG(strstr(err.msg, words) != NULL, "'%s' lacks '%s'", err.msg, words);
}

static void test_malformed(void)
{
	expect_refused("{\n  \"limits\": {\n    \"open\": {\"min_area\": 3,}\n  }\n}", 3,
		       "malformed JSON");
	expect_refused("{\n  \"limits\": {\n    \"open\": {\"min_aera\": 3}\n  }\n}", 3,
		       "'limits.open.min_aera': unknown key");
	expect_refused("{\n  \"limits\": {\n    \"open\": {\n      \"min_area\": \"3\"\n"
		       "    }\n  }\n}",
		       4, "'limits.open.min_area': must be an integer");
	expect_refused("{\"classes\": [\"open\"],\n \"limits\": {\n  \"opne\": {}}}", 3,
		       "'limits.opne': unknown class");
	expect_refused("{\n\"defect_share\": 1.5}", 2, "out of range");
	expect_refused("{\n\"colour\": 1}", 2, "'colour': unknown key");
	expect_refused("[1, 2]", 0, "must be a JSON object");
	expect_refused("{\"regions\": {\"a\": {\"box\": [1, 1, 0, 2]}}}", 1, "x2 > x1");
	expect_refused("{\"regions\": {\"a\": {\"box\": [0, 0, 1, 1]}},\n\"region_rules\": "
		       "[{\"class\": \"x\", \"region\": \"b\", \"action\": \"ignore\"}]}",
		       2, "unknown region 'b'");
	expect_refused("{\"regions\": {\"a\": {\"box\": [0, 0, 1, 1]}},\n\"region_rules\": "
		       "[{\"class\": \"x\", \"region\": \"a\", \"action\": \"rename\"}]}",
		       2, "\"as\"");
	expect_refused("{\"placement\": {\"max_offset\": 2}}", 1, "nominal");
	expect_refused("{\"placement\": {\"nominal\": \"truth\"}}", 1, "max_offset");
	expect_refused("{\"placement\": {\"nominal\": {\"feld\": \"x\"}, \"max_offset\": 1}}",
		       1, "'placement.nominal': must be {\"field\"");
	expect_refused("{\n\"max_score\": \"0.5\"}", 2,
		       "'max_score': must be a number or \"model\"");
	expect_refused("{\"anomaly\": {\n\"min_area\": 3}}", 1, "'anomaly': needs \"threshold\"");
	expect_refused("{\"anomaly\": {\"threshold\": 1,\n\"area\": 3}}", 2,
		       "'anomaly.area': unknown key");
	expect_refused("{\"anomaly\": {\"threshold\": \"auto\"}}", 1,
		       "'anomaly.threshold': must be a number");
}

int main(void)
{
	aoi_error err;

	test_mask_rules();
	test_placement();
	test_score();
	test_anomaly_rules();
	test_apply();
	test_png_mask();
	test_apply_scores();
	test_malformed();
	CHECK(aoi_rules_load("/nonexistent/rules.json", &err) == NULL);
	CHECK_INT(err.code, AOI_ENOTFOUND);
	return check_done();
}
