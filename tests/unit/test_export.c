/* test_export: masks traced into YOLO polygons come back pixel for pixel
 * (concave shapes, diagonal joins, a region inside a ring, regions of two
 * classes that touch, the image border); boxes stay boxes. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "data/record.h"
#include "formats/export.h"
#include "formats/import.h"
#include "image/image.h"

enum { W = 16, H = 12 };

static void set(aoi_mask *m, int x1, int y1, int x2, int y2, int v)
{
	for (int y = y1; y < y2; y++)
		for (int x = x1; x < x2; x++)
			m->data[y * W + x] = (uint8_t)v;
}

static void tricky_mask(aoi_mask *m)
{
	set(m, 1, 1, 2, 5, 1); /* a U, open at the top */
	set(m, 5, 1, 6, 5, 1);
	set(m, 1, 4, 6, 5, 1);
	for (int i = 0; i < 3; i++) /* a diagonal chain: one 8-connected region */
		set(m, 8 + i, 1 + i, 9 + i, 2 + i, 1);
	set(m, 12, 1, 15, 4, 1); /* a ring with a class-2 pixel inside */
	set(m, 13, 2, 14, 3, 2);
	set(m, 0, 11, 1, 12, 2); /* a corner pixel */
	set(m, 6, 7, 9, 10, 1);  /* two classes side by side */
	set(m, 9, 7, 11, 10, 2);
	set(m, 15, 6, 16, 12, 1); /* along the right border */
}

static json_t *read_back(const char *dir)
{
	aoi_import_opts o = { 0 };
	aoi_error err;
	json_t *recs = aoi_import_yolo(dir, &o, &err);

	CHECK_MSG(recs != NULL, "%s", err.msg);
	return recs;
}

int main(void)
{
	char dir[] = "/tmp/aoi-test-export.XXXXXX", path[4200], out[4200], cmd[8600];
	aoi_image img = { 0 };
	aoi_mask m = { 0 }, back = { 0 };
	aoi_classes cls;
	aoi_dataset ds = { 0 };
	aoi_export_summary sum;
	aoi_error err;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/board.png", dir);
	CHECK_INT(aoi_image_alloc(&img, W, H, 1, &err), 0);
	CHECK_INT(aoi_image_save_png(path, &img, &err), 0);
	aoi_classes_init(&cls);
	aoi_classes_add(&cls, "open");
	aoi_classes_add(&cls, "short");
	CHECK_INT(aoi_mask_alloc(&m, W, H, &err), 0);
	tricky_mask(&m);

	json_t *traced = json_pack("{s:s,s:s,s:i,s:i,s:s}", "id", "t", "image", "board.png",
				   "width", W, "height", H, "split", "train");
	json_object_set_new(traced, "classes", aoi_classes_to_json(&cls));
	CHECK_INT(aoi_record_set_masks(traced, &m, &cls, &err), 0);
	json_t *boxed = json_pack("{s:s,s:s,s:i,s:i,s:[[i,i,i,i,s],[i,i,i,i,s]]}", "id", "b",
				  "image", "board.png", "width", W, "height", H, "boxes", 1, 2,
				  5, 6, "short", 9, 0, 16, 3, "open");
	ds.records = json_pack("[o,o]", traced, boxed);
	snprintf(ds.name, sizeof ds.name, "test");
	snprintf(ds.base, sizeof ds.base, "%s", dir);
	snprintf(out, sizeof out, "%s/yolo", dir);
	CHECK_INT(aoi_export_yolo(&ds, out, &sum, &err), 0);
	CHECK_INT(sum.images, 2);
	CHECK_INT(sum.boxes, 2);
	CHECK_INT(sum.polygons, 8);

	json_t *recs = read_back(out);
	CHECK_INT(json_array_size(recs), 2);
	json_t *t = json_array_get(recs, 1), *b = json_array_get(recs, 0);
	CHECK_STR(aoi_record_str(t, "id"), "t");
	CHECK_STR(aoi_record_str(t, "split"), "train");
	CHECK_INT(aoi_record_mask(t, out, &cls, &back, &err), 0);
	int same = back.width == W && back.height == H && memcmp(back.data, m.data, W * H) == 0;
	CHECK(same);
	for (int y = 0; !same && y < H; y++, putc('\n', stderr))
		for (int x = 0; x < W; x++)
			fprintf(stderr, "%d%d ", m.data[y * W + x], back.data[y * W + x]);
	char *got = json_dumps(json_object_get(b, "boxes"), JSON_COMPACT);
	CHECK_STR(got, "[[1.0,2.0,5.0,6.0,\"short\"],[9.0,0.0,16.0,3.0,\"open\"]]");
	free(got);

	aoi_mask_release(&back);
	aoi_mask_release(&m);
	aoi_image_release(&img);
	aoi_classes_release(&cls);
	json_decref(recs);
	json_decref(ds.records);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	CHECK_INT(system(cmd), 0);
	return check_done();
}
