/* test_draw.c: exact pixels for each primitive, clipping far outside the
 * image, blending, and the font. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "image/draw.h"

static const aoi_rgb RED = {255, 0, 0}, WHITE = {255, 255, 255};

static int is(const aoi_image *img, int x, int y, aoi_rgb c)
{
	const uint8_t *p = img->data + ((size_t)y * img->width + x) * 3;
	return p[0] == c.r && p[1] == c.g && p[2] == c.b;
}

static int count_set(const aoi_image *img)
{
	int n = 0;
	for (int i = 0; i < img->width * img->height; i++)
		n += img->data[3 * i] || img->data[3 * i + 1] || img->data[3 * i + 2];
	return n;
}

static void blank(aoi_image *img)
{
	memset(img->data, 0, (size_t)img->width * img->height * img->channels);
}

static void test_palette(void)
{
	aoi_rgb a = aoi_draw_palette(0), b = aoi_draw_palette(1);
	CHECK(a.r != b.r || a.g != b.g || a.b != b.b);
	aoi_rgb c = aoi_draw_palette(12), d = aoi_draw_palette(-12);
	CHECK(c.r == a.r && c.g == a.g && c.b == a.b);
	CHECK(d.r == a.r && d.g == a.g && d.b == a.b);
	/* the twelve colours are pairwise distinct */
	int same = 0;
	for (int i = 0; i < 12; i++)
		for (int j = i + 1; j < 12; j++) {
			aoi_rgb p = aoi_draw_palette(i), q = aoi_draw_palette(j);
			same += abs(p.r - q.r) + abs(p.g - q.g) + abs(p.b - q.b) < 60;
		}
	CHECK_INT(same, 0);
}

static void test_rects(aoi_image *img)
{
	blank(img);
	aoi_draw_fill_rect(img, 2, 3, 5, 5, RED);
	CHECK_INT(count_set(img), 3 * 2);
	CHECK(is(img, 2, 3, RED) && is(img, 4, 4, RED) && !is(img, 5, 4, RED) &&
	      !is(img, 4, 5, RED));
	blank(img);
	aoi_draw_fill_rect(img, 5, 5, 2, 3, RED); /* corners swapped */
	CHECK_INT(count_set(img), 6);
	blank(img);
	aoi_draw_rect(img, 1, 1, 6, 5, WHITE, 1); /* 5x4 outline */
	CHECK_INT(count_set(img), 5 * 4 - 3 * 2);
	CHECK(is(img, 1, 1, WHITE) && is(img, 5, 4, WHITE) && !is(img, 3, 2, WHITE));
	blank(img);
	aoi_draw_rect(img, 0, 0, 10, 10, WHITE, 2);
	CHECK_INT(count_set(img), 100 - 36);
	blank(img);
	aoi_draw_fill_rect(img, -2000000000, -5, 2000000000, 2, RED);
	CHECK_INT(count_set(img), 20);
	aoi_draw_rect(img, -2147483647 - 1, 0, 2147483647, 30, RED, 2147483647);
}

static void test_lines(aoi_image *img)
{
	blank(img);
	aoi_draw_line(img, 1, 2, 8, 2, RED, 1);
	CHECK_INT(count_set(img), 8); /* both ends included */
	CHECK(is(img, 1, 2, RED) && is(img, 8, 2, RED));
	blank(img);
	aoi_draw_line(img, 0, 0, 9, 9, RED, 1);
	CHECK_INT(count_set(img), 10);
	for (int i = 0; i < 10; i++)
		CHECK(is(img, i, i, RED));
	blank(img);
	aoi_draw_line(img, 9, 0, 0, 3, RED, 1); /* shallow, right to left */
	CHECK_INT(count_set(img), 10);
	CHECK(is(img, 9, 0, RED) && is(img, 0, 3, RED));
	blank(img);
	aoi_draw_line(img, 2, 5, 7, 5, RED, 3); /* 6 long, 3 thick */
	CHECK_INT(count_set(img), 8 * 3);
	CHECK(is(img, 1, 4, RED) && is(img, 8, 6, RED) && !is(img, 4, 7, RED));
	blank(img);
	/* far outside in both directions: clipped, quick, and still exact */
	aoi_draw_line(img, -1000000000, 4, 1000000000, 4, RED, 1);
	CHECK_INT(count_set(img), 10);
	blank(img);
	aoi_draw_line(img, -100, -100, -50, 300, RED, 1);
	CHECK_INT(count_set(img), 0);
	aoi_draw_line(img, 0, 0, 0, 0, RED, 2147483647);
	CHECK_INT(count_set(img), 100);
}

static void test_disc(aoi_image *img)
{
	int want[4] = {1, 9, 21, 37}; /* dx^2 + dy^2 <= r^2 + r */
	for (int r = 0; r < 4; r++) {
		blank(img);
		aoi_draw_disc(img, 5, 5, r, RED);
		CHECK_MSG(count_set(img) == want[r], "r=%d: %d pixels", r, count_set(img));
	}
	blank(img);
	aoi_draw_disc(img, 0, 0, 1, RED); /* the 3x3 disc clipped to a quarter */
	CHECK_INT(count_set(img), 4);
	aoi_draw_disc(img, 5, 5, -1, RED);
	CHECK_INT(count_set(img), 4);
}

static void test_mask(aoi_image *img)
{
	uint8_t mask[100] = {0};
	mask[0] = 2;
	mask[1] = 1;
	mask[2] = 2;
	memset(img->data, 100, 300);
	aoi_draw_mask(img, mask, 2, (aoi_rgb){200, 0, 100}, 0.5);
	CHECK(img->data[0] == 150 && img->data[1] == 50 && img->data[2] == 100);
	CHECK(img->data[3] == 100 && img->data[6] == 150);
	aoi_draw_mask(img, mask, -1, RED, 1.0); /* every non-zero label, opaque */
	CHECK(is(img, 0, 0, RED) && is(img, 1, 0, RED) && is(img, 2, 0, RED));
	CHECK(img->data[9] == 100);
	aoi_draw_mask(img, mask, -1, WHITE, 0);
	CHECK(is(img, 1, 0, RED));
	aoi_draw_mask(img, NULL, -1, WHITE, 1);
}

static void test_text(void)
{
	aoi_image img = {0};
	aoi_error err;
	aoi_image_alloc(&img, 40, 20, 3, &err);
	CHECK_INT(aoi_draw_text(&img, 1, 2, "A", WHITE, 1), 5);
	/* 'A' columns 0x7E 0x11 0x11 0x11 0x7E: column 0 rows 1..6 */
	CHECK(!is(&img, 1, 2, WHITE) && is(&img, 1, 3, WHITE) && is(&img, 1, 8, WHITE));
	CHECK(is(&img, 3, 2, WHITE) && is(&img, 3, 6, WHITE) && !is(&img, 3, 4, WHITE));
	CHECK_INT(count_set(&img), 6 + 2 + 2 + 2 + 6); /* bits set per column of 'A' */
	blank(&img);
	CHECK_INT(aoi_draw_text(&img, 0, 0, "I", WHITE, 2), 10);
	CHECK_INT(count_set(&img), (2 + 7 + 2) * 4);
	CHECK_INT(aoi_draw_text_width("ab1", 1), 17);
	CHECK_INT(aoi_draw_text_width("ab1", 3), 51);
	CHECK_INT(aoi_draw_text_width("", 1), 0);
	blank(&img);
	aoi_draw_text(&img, 0, 0, "\t", WHITE, 1); /* drawn as '?' */
	int q = count_set(&img);
	blank(&img);
	aoi_draw_text(&img, 0, 0, "?", WHITE, 1);
	CHECK(q > 0 && q == count_set(&img));
	/* off the image, huge scale: nothing breaks */
	aoi_draw_text(&img, -1000, -1000, "hello", WHITE, 1);
	aoi_draw_text(&img, 0, 0, "Wide text goes off the edge", WHITE, 100000);
	aoi_draw_text(&img, 2147483600, 0, "x", WHITE, 1);
	aoi_image_release(&img);
}

static void test_other_channels(void)
{
	aoi_image g = {0}, ga = {0};
	aoi_error err;
	aoi_image_alloc(&g, 4, 4, 1, &err);
	aoi_draw_fill_rect(&g, 0, 0, 2, 1, RED);
	CHECK(g.data[0] == 76 && g.data[1] == 76 && g.data[2] == 0); /* gray of red */
	aoi_image_alloc(&ga, 4, 4, 2, &err);
	aoi_draw_fill_rect(&ga, 0, 0, 4, 4, RED);
	aoi_draw_line(&ga, 0, 0, 3, 3, RED, 1);
	aoi_draw_text(&ga, 0, 0, "A", RED, 1);
	int set = 0;
	for (int i = 0; i < 32; i++)
		set += ga.data[i] != 0;
	CHECK_INT(set, 0);
	aoi_draw_fill_rect(NULL, 0, 0, 1, 1, RED);
	aoi_image_release(&g);
	aoi_image_release(&ga);
}

int main(void)
{
	aoi_image img = {0};
	aoi_error err;
	if (aoi_image_alloc(&img, 10, 10, 3, &err) != 0)
		return 1;
	test_palette();
	test_rects(&img);
	test_lines(&img);
	test_disc(&img);
	test_mask(&img);
	test_text();
	test_other_channels();
	aoi_image_release(&img);
	return check_done();
}
