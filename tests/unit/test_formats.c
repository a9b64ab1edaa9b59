/* test_formats.c: the table of dataset layouts (formats/formats.h): found
 * by name and direction, listed for messages, and a dataset exported to
 * mask folders and imported back record for record. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"

static char dir[] = "/tmp/aoi-test-formats.XXXXXX";

static void test_table(void)
{
	char buf[200];

	CHECK(aoi_formats_find("yolo", 0) && aoi_formats_find("yolo", 1));
	CHECK(aoi_formats_find("deeppcb", 0) != NULL);
	CHECK(aoi_formats_find("deeppcb", 1) == NULL); /* import only */
	CHECK(aoi_formats_find("coco-typo", 0) == NULL);
	CHECK_INT(aoi_formats_find("mask-dir", 0)->takes_dir, 0);
	CHECK_STR(aoi_formats_names(0, buf, sizeof buf), "deeppcb, yolo, mask-dir, class-dirs");
	CHECK_STR(aoi_formats_names(1, buf, sizeof buf), "yolo, mask-dir");
	CHECK_STR(aoi_formats_names(0, buf, 10), "deeppcb, "); /* cut, not overrun */
}

static void test_round_trip(void)
{
	aoi_datatool t = { "testdata/train/train.jsonl", NULL, tmpfile() };
	aoi_import_opts io = { 0 };
	char out[300], images[320], masks[320], text[8192];
	aoi_error err;

	snprintf(out, sizeof out, "%s/md", dir);
	CHECK_MSG(aoi_formats_export(aoi_formats_find("mask-dir", 1), &t, out, &err) == 0, "%s",
		  err.msg);
	rewind(t.out);
	text[fread(text, 1, sizeof text - 1, t.out)] = '\0';
	fclose(t.out);
	CHECK(strstr(text, "{\"export\":\"mask-dir\",\"dir\":\"") == text);
	CHECK(strstr(text, "\"images\":16,") != NULL);

	snprintf(images, sizeof images, "%s/images", out);
	snprintf(masks, sizeof masks, "%s/masks", out);
	io.images = images, io.masks = masks, io.classes = "open,short";
	FILE *recs = tmpfile();
	CHECK_MSG(aoi_formats_import(aoi_formats_find("mask-dir", 0), "ignored", &io, recs,
				     &err) == 0, "%s", err.msg);
	rewind(recs);
	int n = 0, c;
	while ((c = fgetc(recs)) != EOF)
		n += c == '\n';
	fclose(recs);
	CHECK_INT(n, 16);
	CHECK(io.progress == NULL); /* the caller's options are left alone */
}

int main(void)
{
	CHECK(mkdtemp(dir) != NULL);
	test_table();
	test_round_trip();
	CHECK(check_remove_dir(dir) == 0);
	return check_done();
}
