/* test_annot.c: record checking (one message per kind of mistake), class
 * lists, a record's annotation as a mask (RLE, PNG, boxes) and back. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data/raster.h"
#include "data/record.h"

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);

	if (!v)
		fprintf(stderr, "test JSON: %s: %s\n", jerr.text, text);
	return v;
}

static void check_ok(const char *text)
{
	json_t *rec = parse(text);
	aoi_error err;

	aoi_error_clear(&err);
	CHECK_MSG(rec && aoi_record_check(rec, &err) == 0, "%s: %s", text, err.msg);
	json_decref(rec);
}

static void check_bad(const char *text, const char *want)
{
	json_t *rec = parse(text);
	aoi_error err;

	aoi_error_clear(&err);
	CHECK_MSG(rec && aoi_record_check(rec, &err) < 0, "accepted: %s", text);
	CHECK_STR(err.msg, want);
	CHECK_INT(err.where[0], 0); /* the caller locates it */
	json_decref(rec);
}

#define R "\"id\":\"a\",\"image\":\"a.png\""

static void test_check(void)
{
	check_ok("{" R "}");
	check_ok("{" R ",\"width\":25,\"height\":25,\"channels\":3,\"label\":\"defective\","
		 "\"split\":\"val\",\"classes\":[\"open\",\"short\"],"
		 "\"masks\":{\"short\":{\"size\":[25,25],\"counts\":\"05d00000000d?\"}},"
		 "\"boxes\":[[0,0,5,5,\"short\"],[1.5,2,3,4.5,\"open\"]],"
		 "\"keypoints\":[[1,2],[3.5,4]],\"unknown\":{\"kept\":1}}");
	check_ok("{" R ",\"mask\":\"m.png\",\"pred\":{\"label\":\"good\"},\"decision\":\"accept\"}");

	check_bad("{\"image\":\"a.png\"}", "missing field 'id'");
	check_bad("{\"id\":3,\"image\":\"a.png\"}", "field 'id' must be a string");
	check_bad("{\"id\":\"a\"}", "missing field 'image'");
	check_bad("{\"id\":\"a\",\"image\":\"\"}", "field 'image' must not be empty");
	check_bad("{" R ",\"label\":1}", "field 'label' must be a string");
	check_bad("{" R ",\"width\":0,\"height\":5}", "field 'width' must be a positive integer");
	check_bad("{" R ",\"width\":5.5,\"height\":5}", "field 'width' must be a positive integer");
	check_bad("{" R ",\"width\":5}", "missing field 'height'");
	check_bad("{" R ",\"channels\":4}", "field 'channels' must be 1 or 3");
	check_bad("{" R ",\"split\":\"dev\"}",
		  "field 'split' must be one of \"train\", \"val\", \"test\"");
	check_bad("{" R ",\"classes\":\"open\"}", "field 'classes' must be an array of strings");
	check_bad("{" R ",\"classes\":[\"open\",2]}", "classes[1] must be a non-empty string");
	check_bad("{" R ",\"classes\":[\"open\",\"open\"]}", "classes[1]: 'open' appears twice");
	check_bad("{" R ",\"masks\":[]}", "field 'masks' must be an object of class: RLE");
	check_bad("{" R ",\"masks\":{\"open\":{\"size\":[25],\"counts\":\"0ac0\"}}}",
		  "masks.open: 'size' must be [height, width], positive integers");
	check_bad("{" R ",\"masks\":{\"open\":{\"size\":[25,25],\"counts\":[625]}}}",
		  "masks.open: 'counts' must be a COCO RLE string");
	check_bad("{" R ",\"width\":24,\"height\":25,"
		  "\"masks\":{\"open\":{\"size\":[25,25],\"counts\":\"0ac0\"}}}",
		  "masks.open is 25x25 (h x w) but the record is 25x24");
	check_bad("{" R ",\"masks\":{\"open\":{\"size\":[25,25],\"counts\":\"0ac1\"}}}",
		  "masks.open: RLE counts exceed 25x25 = 625 pixels");
	check_bad("{" R ",\"masks\":{\"open\":{\"size\":[25,25],\"counts\":\"0a c0\"}}}",
		  "masks.open: RLE counts: bad character ' ' at offset 2");
	check_bad("{" R ",\"classes\":[\"short\"],"
		  "\"masks\":{\"open\":{\"size\":[25,25],\"counts\":\"0ac0\"}}}",
		  "masks.open: class 'open' is not in 'classes'");
	check_bad("{" R ",\"mask\":7}", "field 'mask' must be a string");
	check_bad("{" R ",\"boxes\":{}}",
		  "field 'boxes' must be an array of [x1, y1, x2, y2, \"class\"]");
	check_bad("{" R ",\"boxes\":[[0,0,5,5,\"a\"],[1,1,2,2]]}",
		  "boxes[1] must be [x1, y1, x2, y2, \"class\"]");
	check_bad("{" R ",\"boxes\":[[0,0,5,5,\"a\"],[1,1,2,2,\"a\"],[12,0,10,4,\"a\"]]}",
		  "boxes[2]: x2 (10) must be greater than x1 (12)");
	check_bad("{" R ",\"boxes\":[[0,3,5,3,\"a\"]]}",
		  "boxes[0]: y2 (3) must be greater than y1 (3)");
	check_bad("{" R ",\"boxes\":[[0,\"3\",5,3,\"a\"]]}", "boxes[0]: y1 must be a number");
	check_bad("{" R ",\"boxes\":[[0,0,5,3,4]]}", "boxes[0]: the class must be a string");
	check_bad("{" R ",\"classes\":[\"a\"],\"boxes\":[[0,0,5,3,\"b\"]]}",
		  "boxes[0]: class 'b' is not in 'classes'");
	check_bad("{" R ",\"keypoints\":[[1,2],[3]]}", "keypoints[1] must be [x, y], two numbers");
	check_bad("{" R ",\"keypoints\":[[1,\"2\"]]}", "keypoints[0] must be [x, y], two numbers");
	check_bad("{" R ",\"keypoints\":3}", "field 'keypoints' must be an array of [x, y]");
	check_bad("{" R ",\"decision\":\"maybe\"}",
		  "field 'decision' must be one of \"accept\", \"reject\"");
	check_bad("{" R ",\"pred\":[]}", "field 'pred' must be an object");
	check_bad("[1]", "a record must be a JSON object");
}

static void test_classes(void)
{
	aoi_classes c;
	aoi_error err;
	json_t *rec, *arr;

	aoi_classes_init(&c);
	CHECK_INT(aoi_classes_add(&c, "open"), 1);
	CHECK_INT(aoi_classes_add(&c, "short"), 2);
	CHECK_INT(aoi_classes_add(&c, "open"), 1);
	CHECK_INT(aoi_classes_find(&c, "short"), 2);
	CHECK_INT(aoi_classes_find(&c, "spur"), 0);
	/* Without "classes": masks keys, then box classes, in order met. */
	rec = parse("{\"masks\":{\"spur\":{},\"open\":{}},"
		    "\"boxes\":[[0,0,1,1,\"copper\"],[0,0,1,1,\"spur\"]]}");
	CHECK(aoi_classes_from_record(&c, rec, &err) == 0);
	CHECK_INT(c.n, 4);
	CHECK_STR(c.names[2], "spur");
	CHECK_STR(c.names[3], "copper");
	json_decref(rec);
	/* With "classes": that order only. */
	rec = parse("{\"classes\":[\"pin\",\"open\"],\"boxes\":[[0,0,1,1,\"hole\"]]}");
	CHECK(aoi_classes_from_record(&c, rec, &err) == 0);
	CHECK_INT(c.n, 5);
	CHECK_INT(aoi_classes_find(&c, "pin"), 5);
	CHECK_INT(aoi_classes_find(&c, "hole"), 0);
	json_decref(rec);
	arr = aoi_classes_to_json(&c);
	char *s = json_dumps(arr, JSON_COMPACT);
	CHECK_STR(s, "[\"open\",\"short\",\"spur\",\"copper\",\"pin\"]");
	free(s);
	json_decref(arr);
	rec = parse("{\"classes\":[\"a\",1]}");
	CHECK(aoi_classes_from_record(&c, rec, &err) < 0);
	CHECK_STR(err.msg, "classes[1] must be a string");
	json_decref(rec);
	aoi_classes_release(&c);
	CHECK_INT(c.n, 0);

	/* Full at 255. */
	char name[16];
	for (int i = 0; i < AOI_MAX_CLASSES; i++) {
		snprintf(name, sizeof name, "c%d", i);
		aoi_classes_add(&c, name);
	}
	CHECK_INT(c.n, AOI_MAX_CLASSES);
	CHECK_INT(aoi_classes_add(&c, "one-more"), -1);
	CHECK_INT(aoi_classes_add(&c, "c7"), 8);
	aoi_classes_release(&c);
	aoi_classes_release(NULL);
}

static aoi_classes classes_of(const char *a, const char *b, const char *c3)
{
	aoi_classes c;

	aoi_classes_init(&c);
	aoi_classes_add(&c, a);
	aoi_classes_add(&c, b);
	if (c3)
		aoi_classes_add(&c, c3);
	return c;
}

static void test_mask_from_rle(void)
{
	aoi_classes c = classes_of("open", "short", NULL);
	aoi_mask m;
	aoi_error err;
	/* short: rows and columns 5..14; open: 0..4 (pycocotools strings). */
	json_t *rec = parse("{\"width\":25,\"height\":25,\"masks\":{"
			    "\"short\":{\"size\":[25,25],\"counts\":\"R4:?00000000000000000e7\"},"
			    "\"open\":{\"size\":[25,25],\"counts\":\"05d00000000d?\"}}}");

	CHECK(aoi_record_mask(rec, ".", &c, &m, &err) == 0);
	CHECK_INT(m.width, 25);
	CHECK_INT(aoi_mask_count(&m, 1), 25);
	CHECK_INT(aoi_mask_count(&m, 2), 100);
	CHECK_INT(m.data[2 * 25 + 3], 1);
	CHECK_INT(m.data[14 * 25 + 5], 2);

	/* And back: set_masks writes one RLE per class present. */
	json_t *out = parse("{\"id\":\"x\",\"masks\":{\"old\":1}}");
	aoi_mask back;
	CHECK(aoi_record_set_masks(out, &m, &c, &err) == 0);
	CHECK_STR(json_string_value(json_object_get(json_object_get(
			  json_object_get(out, "masks"), "short"), "counts")),
		  "R4:?00000000000000000e7");
	CHECK(json_object_get(json_object_get(out, "masks"), "old") == NULL);
	CHECK_INT(json_object_size(json_object_get(out, "masks")), 2);
	CHECK(aoi_record_mask(out, ".", &c, &back, &err) == 0);
	CHECK(back.data && memcmp(back.data, m.data, 625) == 0);
	aoi_mask_release(&back);
	/* A class index beyond the list is refused. */
	m.data[0] = 7;
	CHECK(aoi_record_set_masks(out, &m, &c, &err) < 0);
	CHECK_STR(err.msg, "mask has class index 7 but there are 2 classes");
	json_decref(out);
	aoi_mask_release(&m);
	json_decref(rec);

	/* Overlap (open 5..9 inside short 5..14): the later class wins,
	 * whatever the order of the keys. */
	rec = parse("{\"masks\":{\"open\":{\"size\":[25,25],\"counts\":\"R45d00000000b;\"},"
		    "\"short\":{\"size\":[25,25],\"counts\":\"R4:?00000000000000000e7\"}}}");
	CHECK(aoi_record_mask(rec, ".", &c, &m, &err) == 0);
	CHECK_INT(aoi_mask_count(&m, 1), 0);
	CHECK_INT(aoi_mask_count(&m, 2), 100);
	aoi_mask_release(&m);
	aoi_classes swapped = classes_of("short", "open", NULL);
	CHECK(aoi_record_mask(rec, ".", &swapped, &m, &err) == 0);
	CHECK_INT(aoi_mask_count(&m, 2), 25);
	CHECK_INT(aoi_mask_count(&m, 1), 75);
	aoi_mask_release(&m);
	aoi_classes_release(&swapped);
	json_decref(rec);

	/* Without width/height, the RLE's size; a bad string is an error. */
	rec = parse("{\"masks\":{\"open\":{\"size\":[4,4],\"counts\":\"52203\"}}}");
	CHECK(aoi_record_mask(rec, ".", &c, &m, &err) == 0);
	CHECK_INT(m.width * m.height, 16);
	CHECK_INT(aoi_mask_count(&m, 1), 4);
	aoi_mask_release(&m);
	json_decref(rec);
	rec = parse("{\"masks\":{\"open\":{\"size\":[4,4],\"counts\":\"52204\"}}}");
	CHECK(aoi_record_mask(rec, ".", &c, &m, &err) < 0);
	CHECK_STR(err.msg, "masks.open: RLE counts exceed 4x4 = 16 pixels");
	CHECK(m.data == NULL);
	json_decref(rec);
	rec = parse("{\"masks\":{\"hole\":{\"size\":[4,4],\"counts\":\"52203\"}}}");
	CHECK(aoi_record_mask(rec, ".", &c, &m, &err) < 0);
	CHECK_STR(err.msg, "masks.hole: unknown class 'hole'");
	json_decref(rec);
	aoi_classes_release(&c);
}

static void test_mask_from_png(void)
{
	char dir[] = "/tmp/aoi-test-annot-XXXXXX", path[256];
	aoi_classes c = classes_of("open", "short", "spur");
	aoi_mask png, m;
	aoi_error err;
	json_t *rec;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/m.png", dir);
	/* The PNG's indices follow the record's own classes [spur, open]. */
	aoi_mask_alloc(&png, 6, 4, &err);
	png.data[0] = 1;
	png.data[1] = 2;
	png.data[23] = 2;
	CHECK(aoi_mask_save_png(path, &png, &err) == 0);
	rec = parse("{\"width\":6,\"height\":4,\"mask\":\"m.png\",\"classes\":[\"spur\",\"open\"]}");
	CHECK(aoi_record_mask(rec, dir, &c, &m, &err) == 0);
	CHECK_INT(m.data[0], 3);
	CHECK_INT(m.data[1], 1);
	CHECK_INT(m.data[23], 1);
	CHECK_INT(aoi_mask_count(&m, -1), 3);
	aoi_mask_release(&m);
	json_decref(rec);
	/* Without its own classes: indices taken as they are. */
	rec = parse("{\"mask\":\"m.png\"}");
	CHECK(aoi_record_mask(rec, dir, &c, &m, &err) == 0);
	CHECK_INT(m.data[1], 2);
	CHECK_INT(m.width, 6);
	aoi_mask_release(&m);
	json_decref(rec);
	/* An index the record's classes do not name. */
	rec = parse("{\"mask\":\"m.png\",\"classes\":[\"spur\"]}");
	CHECK(aoi_record_mask(rec, dir, &c, &m, &err) < 0);
	CHECK_STR(err.msg, "pixel value 2 names no class (the record has 1)");
	CHECK(strcmp(err.where, path) == 0);
	json_decref(rec);
	/* Size mismatch; missing file. */
	rec = parse("{\"width\":5,\"height\":4,\"mask\":\"m.png\"}");
	CHECK(aoi_record_mask(rec, dir, &c, &m, &err) < 0);
	CHECK_STR(err.msg, "mask is 6x4 but the record says 5x4");
	json_decref(rec);
	rec = parse("{\"width\":6,\"height\":4,\"mask\":\"nothere.png\"}");
	CHECK(aoi_record_mask(rec, dir, &c, &m, &err) < 0);
	CHECK(strstr(err.where, "nothere.png") != NULL);
	json_decref(rec);
	/* Inline RLE wins over the PNG. */
	rec = parse("{\"mask\":\"m.png\",\"masks\":{\"short\":{\"size\":[4,4],\"counts\":\"52203\"}}}");
	CHECK(aoi_record_mask(rec, dir, &c, &m, &err) == 0);
	CHECK_INT(m.width, 4);
	CHECK_INT(aoi_mask_count(&m, 2), 4);
	aoi_mask_release(&m);
	json_decref(rec);
	aoi_mask_release(&png);
	unlink(path);
	rmdir(dir);
	aoi_classes_release(&c);
}

static void test_mask_from_boxes(void)
{
	aoi_classes c = classes_of("open", "short", NULL);
	aoi_mask m;
	aoi_error err;
	json_t *rec = parse("{\"width\":10,\"height\":8,"
			    "\"boxes\":[[1,1,4,3,\"short\"],[3,2,6,5,\"open\"]]}");

	CHECK(aoi_record_mask(rec, ".", &c, &m, &err) == 0);
	CHECK_INT(aoi_mask_count(&m, 1), 9);
	CHECK_INT(aoi_mask_count(&m, 2), 5); /* (3,2) went to the later box */
	aoi_mask_release(&m);
	json_decref(rec);
	/* No annotation: an empty mask of the record's size. */
	rec = parse("{\"width\":10,\"height\":8}");
	CHECK(aoi_record_mask(rec, ".", &c, &m, &err) == 0);
	CHECK_INT(aoi_mask_count(&m, -1), 0);
	CHECK_INT(m.width * m.height, 80);
	aoi_mask_release(&m);
	json_decref(rec);
	rec = parse("{\"boxes\":[[1,1,4,3,\"short\"]]}");
	CHECK(aoi_record_mask(rec, ".", &c, &m, &err) < 0);
	CHECK_STR(err.msg, "missing field 'width' or 'height' (needed for the mask)");
	json_decref(rec);
	rec = parse("{\"width\":10,\"height\":8,\"boxes\":[[1,1,4,3,\"hole\"]]}");
	CHECK(aoi_record_mask(rec, ".", &c, &m, &err) < 0);
	CHECK_STR(err.msg, "boxes[0]: unknown class 'hole'");
	CHECK(m.data == NULL);
	json_decref(rec);
	aoi_classes_release(&c);
}

int main(void)
{
	test_check();
	test_classes();
	test_mask_from_rle();
	test_mask_from_png();
	test_mask_from_boxes();
	return check_done();
}
