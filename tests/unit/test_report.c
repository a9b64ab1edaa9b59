/* test_report.c: the report's own pieces: the one-pass RLE of every class
 * against aoi_rle_encode, the page's files built into the program, and the
 * heatmap colours. (The site as a whole: tests/cli/report*.sh.) */
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "check.h"
#include "data/mask.h"
#include "report/report.h"
#include "report/report_impl.h"

static void check_classes(const aoi_mask *m, const char *what)
{
	char *all[256];
	aoi_error err;

	aoi_error_clear(&err);
	CHECK_MSG(report_rle_classes(m, all, &err) == 0, "%s: %s", what, err.msg);
	CHECK(all[0] == NULL);
	for (int k = 1; k < 256; k++) {
		char *one = aoi_mask_count(m, k) ? aoi_rle_encode(m, k, &err) : NULL;

		CHECK_MSG((one == NULL) == (all[k] == NULL), "%s: class %d present in one only", what, k);
		if (one && all[k])
			CHECK_MSG(strcmp(one, all[k]) == 0, "%s: class %d: '%s' != '%s'", what, k,
				  all[k], one);
		free(one);
		free(all[k]);
	}
}

static void test_rle_classes(void)
{
	aoi_mask m;
	aoi_error err;
	aoi_rng rng;

	aoi_rng_seed(&rng, 5);
	aoi_mask_alloc(&m, 13, 7, &err);
	check_classes(&m, "empty");
	m.data[0] = 3; /* first pixel */
	m.data[13 * 7 - 1] = 3; /* last pixel */
	check_classes(&m, "corners");
	memset(m.data, 2, 13 * 7);
	check_classes(&m, "full");
	for (int round = 0; round < 50; round++) {
		int classes = 1 + round % 5;

		for (int i = 0; i < 13 * 7; i++)
			m.data[i] = aoi_rng_next(&rng) % 3 ? 0 : (uint8_t)(1 + aoi_rng_next(&rng) % classes);
		check_classes(&m, "random");
	}
	/* runs that cross columns, classes meeting head on */
	memset(m.data, 0, 13 * 7);
	for (int y = 0; y < 7; y++)
		for (int x = 2; x < 6; x++)
			m.data[y * 13 + x] = (uint8_t)(x < 4 ? 1 : 255);
	check_classes(&m, "blocks");
	aoi_mask_release(&m);
}

static void test_assets(void)
{
	aoi_report_asset a;
	int n = 0, found = 0;

	for (int i = 0; aoi_report_asset_get(i, &a) == 0; i++, n++) {
		CHECK(a.size > 100 && a.data[a.size] == '\0' && strlen((const char *)a.data) == a.size);
		if (strcmp(a.name, "index.html") == 0)
			found += strstr((const char *)a.data, "<script src=\"data.js\">") != NULL;
		if (strcmp(a.name, "report.js") == 0)
			found += strstr((const char *)a.data, "AOI_MASK") != NULL;
		if (strcmp(a.name, "report.css") == 0)
			found += strstr((const char *)a.data, "#viewer") != NULL;
	}
	CHECK_INT(n, 3);
	CHECK_INT(found, 3);
	CHECK(aoi_report_asset_get(3, &a) == -1 && a.name == NULL);
}

/* The threshold in the middle of the colours: below it blue-green, above
 * it yellow to red; without a threshold the 8-bit range is the scale. */
static void test_heat(void)
{
	aoi_image map, heat = { 0 };
	aoi_error err;

	aoi_image_alloc(&map, 3, 1, 1, &err);
	map.data[0] = 0;
	map.data[1] = 50;
	map.data[2] = 255;
	/* threshold 0.2 at scale 65535: 8-bit value 51 is the middle */
	CHECK(report_heat_colour(&map, 0.2, 65535, &heat, &err) == 0);
	CHECK(heat.channels == 3 && heat.width == 3);
	CHECK(heat.data[2] > heat.data[0]);            /* cold: blue */
	CHECK(heat.data[4] > 150 && heat.data[5] < 150); /* at the threshold: green */
	CHECK(heat.data[6] > 200 && heat.data[7] < 60); /* far above: red */
	aoi_image_release(&heat);
	CHECK(report_heat_colour(&map, 0, 0, &heat, &err) == 0);
	CHECK(heat.data[7] < 60 && heat.data[6] > 200); /* 255: the top */
	aoi_image_release(&heat);
	aoi_image_release(&map);
}

int main(void)
{
	test_rle_classes();
	test_assets();
	test_heat();
	return check_done();
}
