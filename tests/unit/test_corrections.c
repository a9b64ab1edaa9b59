/* test_corrections.c: reviewers' corrections into records (labels, masks,
 * provenance), and whole files refused at the first bad line with nothing
 * merged: unknown ids, masks of the wrong size, malformed lines. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data/dataset.h"
#include "data/mask.h"
#include "data/record.h"
#include "report/corrections.h"

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	return path;
}

static void write_file(const char *name, const char *text)
{
	FILE *fp = fopen(tmp_path(name), "w");

	if (fp) {
		fputs(text, fp);
		fclose(fp);
	}
}

/* An RLE of a w x h mask with the rectangle [x1,x2) x [y1,y2) set. */
static char *rect_rle(int w, int h, int x1, int y1, int x2, int y2)
{
	aoi_mask m;
	aoi_error err;
	char *s;

	aoi_mask_alloc(&m, w, h, &err);
	for (int y = y1; y < y2; y++)
		for (int x = x1; x < x2; x++)
			m.data[y * w + x] = 1;
	s = aoi_rle_encode(&m, 1, &err);
	aoi_mask_release(&m);
	return s;
}

static json_t *parse(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, 0, &je);

	CHECK_MSG(v != NULL, "bad JSON in test: %s", je.text);
	return v;
}

/* The class-index mask of rec as the record itself names its classes. */
static long class_pixels(const json_t *rec, const char *cls, int x, int y, int *value)
{
	aoi_classes c;
	aoi_mask m = { 0 };
	aoi_error err;
	long n = -1;

	aoi_classes_init(&c);
	*value = -1;
	if (aoi_classes_from_record(&c, rec, &err) == 0 &&
	    aoi_record_mask(rec, tmpdir, &c, &m, &err) == 0) {
		n = aoi_mask_count(&m, aoi_classes_find(&c, cls));
		*value = m.data[y * m.width + x];
	}
	aoi_mask_release(&m);
	aoi_classes_release(&c);
	return n;
}

static void test_apply_mask(void)
{
	char *counts = rect_rle(8, 6, 2, 1, 5, 3), text[1024];
	json_t *rec = parse("{\"id\":\"a\",\"image\":\"a.png\",\"width\":8,\"height\":6,"
			    "\"label\":\"good\",\"classes\":[\"open\",\"short\"],"
			    "\"boxes\":[[0,0,2,2,\"open\"]],\"decision\":\"accept\","
			    "\"reasons\":[],\"pred\":{\"label\":\"good\"}}");
	aoi_error err;
	int v;

	snprintf(text, sizeof text,
		 "{\"id\":\"a\",\"verdict\":\"reject\",\"class\":\"spur\",\"mask\":{\"size\":[6,8],"
		 "\"counts\":\"%s\"},\"reviewer\":\"ana\",\"time\":\"2026-11-22T10:31:02Z\"}",
		 counts);
	json_t *corr = parse(text);
	CHECK(aoi_correction_apply(rec, corr, tmpdir, &err) == 0);
	CHECK_STR(aoi_record_str(rec, "label"), "defective");
	CHECK_STR(aoi_record_str(rec, "decision"), "reject");
	CHECK(!json_object_get(rec, "boxes") && !json_object_get(rec, "reasons"));
	CHECK(json_object_get(rec, "pred") != NULL);
	/* the new class joins the record's, in order */
	CHECK_INT(json_array_size(json_object_get(rec, "classes")), 3);
	CHECK_STR(json_string_value(json_array_get(json_object_get(rec, "classes"), 2)), "spur");
	CHECK_INT(class_pixels(rec, "spur", 3, 2, &v), 6);
	CHECK_INT(v, 3);
	class_pixels(rec, "spur", 0, 0, &v);
	CHECK_INT(v, 0); /* the old box is gone */
	json_t *review = json_object_get(rec, "review");
	CHECK_STR(aoi_record_str(review, "reviewer"), "ana");
	CHECK_STR(aoi_record_str(review, "model_decision"), "accept");
	CHECK_STR(aoi_record_str(review, "time"), "2026-11-22T10:31:02Z");
	json_decref(corr);
	json_decref(rec);
	free(counts);
}

/* Accepting with an empty mask clears the annotation; without a mask the
 * annotation stays. A classification record takes the class as label. */
static void test_apply_accept_and_class(void)
{
	char *empty = rect_rle(4, 4, 0, 0, 0, 0), text[512];
	json_t *rec = parse("{\"id\":\"a\",\"image\":\"a.png\",\"width\":4,\"height\":4,"
			    "\"label\":\"defective\",\"boxes\":[[0,0,2,2,\"open\"]]}");
	aoi_error err;

	snprintf(text, sizeof text,
		 "{\"id\":\"a\",\"verdict\":\"accept\",\"class\":null,\"mask\":{\"size\":[4,4],"
		 "\"counts\":\"%s\"},\"reviewer\":\"ana\",\"time\":\"t\"}", empty);
	json_t *corr = parse(text);
	CHECK(aoi_correction_apply(rec, corr, tmpdir, &err) == 0);
	CHECK_STR(aoi_record_str(rec, "label"), "good");
	CHECK(!json_object_get(rec, "boxes") && !json_object_get(rec, "masks"));
	json_decref(corr);
	json_decref(rec);

	rec = parse("{\"id\":\"c\",\"image\":\"c.png\",\"label\":\"scratch\","
		    "\"boxes\":[[0,0,2,2,\"open\"]]}");
	corr = parse("{\"id\":\"c\",\"verdict\":\"reject\",\"class\":\"dent\","
		     "\"reviewer\":\"bo\",\"time\":\"t\"}");
	CHECK(aoi_correction_apply(rec, corr, tmpdir, &err) == 0);
	CHECK_STR(aoi_record_str(rec, "label"), "dent");
	CHECK(json_array_size(json_object_get(rec, "boxes")) == 1);
	json_decref(corr);
	json_decref(rec);
	free(empty);
}

/* Several classes as "masks"; later classes win where they overlap. */
static void test_apply_masks(void)
{
	char *a = rect_rle(6, 6, 0, 0, 3, 3), *b = rect_rle(6, 6, 2, 2, 6, 6), text[1024];
	json_t *rec = parse("{\"id\":\"a\",\"image\":\"a.png\",\"width\":6,\"height\":6}");
	aoi_error err;
	int v;

	snprintf(text, sizeof text,
		 "{\"id\":\"a\",\"verdict\":\"reject\",\"masks\":{\"open\":{\"size\":[6,6],"
		 "\"counts\":\"%s\"},\"short\":{\"size\":[6,6],\"counts\":\"%s\"}},"
		 "\"reviewer\":\"ana\",\"time\":\"t\"}", a, b);
	json_t *corr = parse(text);
	CHECK(aoi_correction_apply(rec, corr, tmpdir, &err) == 0);
	CHECK_INT(class_pixels(rec, "open", 2, 2, &v), 8);
	CHECK_INT(v, 2);
	CHECK_INT(class_pixels(rec, "short", 5, 5, &v), 16);
	CHECK(!json_object_get(json_object_get(rec, "review"), "model_decision"));
	json_decref(corr);
	json_decref(rec);
	free(a);
	free(b);
}

/* Each bad correction alone, and the message it gives. */
static void test_apply_errors(void)
{
	static const struct {
		const char *corr, *msg;
	} cases[] = {
		{ "{\"id\":\"a\",\"reviewer\":\"r\",\"time\":\"t\"}", "missing field 'verdict'" },
		{ "{\"id\":\"a\",\"verdict\":\"maybe\",\"reviewer\":\"r\",\"time\":\"t\"}",
		  "must be \"accept\" or \"reject\"" },
		{ "{\"id\":\"a\",\"verdict\":\"accept\",\"time\":\"t\"}", "missing field 'reviewer'" },
		{ "{\"id\":\"a\",\"verdict\":\"accept\",\"reviewer\":\"\",\"time\":\"t\"}",
		  "'reviewer' must be a non-empty string" },
		{ "{\"id\":\"a\",\"verdict\":\"accept\",\"reviewer\":\"r\",\"time\":\"t\",\"class\":3}",
		  "'class' must be" },
		{ "{\"id\":\"a\",\"verdict\":\"accept\",\"reviewer\":\"r\",\"time\":\"t\",\"mask\":[1]}",
		  "'mask' must be" },
		{ "{\"id\":\"a\",\"verdict\":\"reject\",\"reviewer\":\"r\",\"time\":\"t\",\"class\":\"x\","
		  "\"mask\":{\"size\":[4,5],\"counts\":\"0\"}}", "mask is 4x5 (h x w) but the record's image is 4x4" },
		{ "{\"id\":\"a\",\"verdict\":\"reject\",\"reviewer\":\"r\",\"time\":\"t\",\"class\":\"x\","
		  "\"mask\":{\"size\":[4,4],\"counts\":\"0%\"}}", "mask: " },
		{ "{\"id\":\"a\",\"verdict\":\"reject\",\"reviewer\":\"r\",\"time\":\"t\","
		  "\"mask\":{\"size\":[4,4],\"counts\":\"0`0\"}}", "no 'class'" },
		{ "{\"id\":\"a\",\"verdict\":\"reject\",\"reviewer\":\"r\",\"time\":\"t\","
		  "\"masks\":{\"x\":{\"size\":[4,4]}}}", "masks.x must be" },
	};
	aoi_error err;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *rec = parse("{\"id\":\"a\",\"image\":\"a.png\",\"width\":4,\"height\":4}");
		json_t *corr = parse(cases[i].corr);

		aoi_error_clear(&err);
		CHECK_MSG(aoi_correction_apply(rec, corr, tmpdir, &err) == -1, "case %zu", i);
		CHECK_MSG(strstr(err.msg, cases[i].msg) != NULL, "case %zu: '%s' lacks '%s'", i,
			  err.msg, cases[i].msg);
		json_decref(corr);
		json_decref(rec);
	}
}

static const char dataset_text[] =
	"{\"id\":\"a\",\"image\":\"a.png\",\"width\":4,\"height\":4,\"label\":\"good\"}\n"
	"{\"id\":\"b\",\"image\":\"b.png\",\"width\":4,\"height\":4,\"label\":\"good\"}\n";

/* A file whose line `bad` is wrong: refused at that line, nothing merged. */
static void check_refused(const char *text, long bad, const char *msg)
{
	aoi_dataset ds;
	aoi_error err;
	char *before, *after;

	write_file("ds.jsonl", dataset_text);
	write_file("corr.jsonl", text);
	if (aoi_dataset_load(&ds, tmp_path("ds.jsonl"), NULL, &err) != 0) {
		CHECK(0);
		return;
	}
	before = json_dumps(ds.records, JSON_COMPACT);
	CHECK(aoi_corrections_merge(&ds, tmp_path("corr.jsonl"), NULL, NULL, &err) == -1);
	after = json_dumps(ds.records, JSON_COMPACT);
	CHECK_STR(before, after);
	CHECK_MSG(strstr(err.where, "corr.jsonl") && err.line == bad, "at %s:%ld, want line %ld",
		  err.where, err.line, bad);
	CHECK_MSG(strstr(err.msg, msg) != NULL, "'%s' lacks '%s'", err.msg, msg);
	free(before);
	free(after);
	aoi_dataset_release(&ds);
}

static void test_merge_file(void)
{
	static const char good[] =
		"{\"id\":\"b\",\"verdict\":\"reject\",\"class\":\"open\",\"mask\":{\"size\":[4,4],"
		"\"counts\":\"0`0\"},\"reviewer\":\"r\",\"time\":\"t\"}\n";
	aoi_dataset ds;
	aoi_merge_summary sum;
	aoi_error err;
	unsigned char reviewed[2] = { 9, 9 };
	char text[1024];

	write_file("ds.jsonl", dataset_text);
	write_file("corr.jsonl", good);
	CHECK(aoi_dataset_load(&ds, tmp_path("ds.jsonl"), NULL, &err) == 0);
	CHECK(aoi_corrections_merge(&ds, tmp_path("corr.jsonl"), reviewed, &sum, &err) == 0);
	CHECK(reviewed[0] == 0 && reviewed[1] == 1);
	CHECK(sum.corrections == 1 && sum.masks == 1);
	CHECK_STR(aoi_record_str(json_array_get(ds.records, 1), "label"), "defective");
	CHECK(json_object_get(json_array_get(ds.records, 1), "masks") != NULL);
	CHECK(!json_object_get(json_array_get(ds.records, 0), "review"));
	aoi_dataset_release(&ds);

	/* the good line first, then a bad one: still nothing merged */
	snprintf(text, sizeof text, "%s{\"id\":\"zz\",\"verdict\":\"accept\",\"reviewer\":\"r\","
		 "\"time\":\"t\"}\n", good);
	check_refused(text, 2, "id 'zz' is not in");
	snprintf(text, sizeof text, "%s\n{\"id\":\"a\",\"verdict\":\"accept\",\"reviewer\":\"r\","
		 "\"time\":\"t\"\n", good);
	check_refused(text, 3, "");
	snprintf(text, sizeof text, "%s%s", good, good);
	check_refused(text, 2, "corrected already at line 1");
	check_refused("{\"id\":\"a\",\"verdict\":\"reject\",\"class\":\"open\",\"mask\":{\"size\":"
		      "[5,4],\"counts\":\"0`0\"},\"reviewer\":\"r\",\"time\":\"t\"}\n",
		      1, "the record's image is 4x4");
	check_refused("[1,2]\n", 1, "");
}

/* Duplicate ids in the dataset make the merge ambiguous: refused there. */
static void test_duplicate_dataset_ids(void)
{
	aoi_dataset ds;
	aoi_error err;

	write_file("dup.jsonl", "{\"id\":\"a\",\"image\":\"a.png\"}\n{\"id\":\"a\",\"image\":\"b.png\"}\n");
	write_file("corr.jsonl", "{\"id\":\"a\",\"verdict\":\"accept\",\"reviewer\":\"r\",\"time\":\"t\"}\n");
	CHECK(aoi_dataset_load(&ds, tmp_path("dup.jsonl"), NULL, &err) == 0);
	CHECK(aoi_corrections_merge(&ds, tmp_path("corr.jsonl"), NULL, NULL, &err) == -1);
	CHECK(err.line == 2 && strstr(err.where, "dup.jsonl"));
	aoi_dataset_release(&ds);
}

int main(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(tmpdir, sizeof tmpdir, "%s/test_corrections.XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_apply_mask();
	test_apply_accept_and_class();
	test_apply_masks();
	test_apply_errors();
	test_merge_file();
	test_duplicate_dataset_ids();
	unlink(tmp_path("ds.jsonl"));
	unlink(tmp_path("dup.jsonl"));
	unlink(tmp_path("corr.jsonl"));
	rmdir(tmpdir);
	return check_done();
}
