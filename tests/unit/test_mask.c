/* test_mask.c: COCO RLE against pycocotools' strings, malformed strings,
 * class-index PNG round trips and errors, nearest resize, count. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <png.h>

#include "base/fileio.h"
#include "check.h"
#include "data/mask.h"

static void fill_box(aoi_mask *m, int x1, int y1, int x2, int y2, uint8_t v)
{
	for (int y = y1; y < y2; y++)
		for (int x = x1; x < x2; x++)
			m->data[y * m->width + x] = v;
}

static void check_encode(const aoi_mask *m, int value, const char *want)
{
	aoi_error err;
	char *s = aoi_rle_encode(m, value, &err);

	CHECK_STR(s, want);
	free(s);
}

/* Strings from pycocotools.mask.encode as asserted in the tests of
 * pytorchcocotools (tests/mask/test_encode.py, test_merge.py,
 * test_rle_to_string.py): 25x25 masks with mask[a:b, a:b] = 1. */
static void test_known_pycocotools(void)
{
	aoi_mask m;
	aoi_error err;

	aoi_mask_alloc(&m, 25, 25, &err);
	fill_box(&m, 0, 0, 5, 5, 1);
	check_encode(&m, 1, "05d00000000d?");
	memset(m.data, 0, 625);
	fill_box(&m, 5, 5, 10, 10, 1);
	check_encode(&m, 1, "R45d00000000b;");
	fill_box(&m, 10, 10, 15, 15, 1); /* two squares touching at a corner */
	check_encode(&m, 1, "R45d0000000050K0000000`7");
	memset(m.data, 0, 625);
	fill_box(&m, 20, 20, 25, 25, 1);
	check_encode(&m, 1, "X`05d00000000");
	memset(m.data, 0, 625);
	fill_box(&m, 5, 5, 15, 15, 3);
	check_encode(&m, 3, "R4:?00000000000000000e7");
	check_encode(&m, -1, "R4:?00000000000000000e7");
	check_encode(&m, 1, "ac0"); /* nothing set: one run of 625 zeros */
	memset(m.data, 1, 625);
	check_encode(&m, 1, "0ac0");
	aoi_mask_release(&m);
}

/* Hand-made masks; strings from a Python transcription of maskApi.c's
 * rleEncode + rleToString (checked first against the strings above). */
static void test_known_handmade(void)
{
	aoi_mask m;
	aoi_error err;

	/* h=5, w=7, set where (3x + 5y) % 7 < 3: starts with a one (count 0),
	 * 15 pixels. */
	aoi_mask_alloc(&m, 7, 5, &err);
	for (int y = 0; y < 5; y++)
		for (int x = 0; x < 7; x++)
			m.data[y * 7 + x] = (x * 3 + y * 5) % 7 < 3;
	check_encode(&m, 1, "0120000001O01O000001O01");
	CHECK_INT(aoi_mask_count(&m, 1), 15);
	CHECK_INT(aoi_rle_area("0120000001O01O000001O01", 5, 7, &err), 15);
	aoi_mask_release(&m);

	/* h=300, w=200, box x 150..199, y 250..260: first count 45250 needs
	 * four groups; the last delta (39 - 289) is negative. */
	aoi_mask_alloc(&m, 200, 300, &err);
	fill_box(&m, 150, 250, 200, 261, 1);
	char want[200] = "RV\\1;Q9";
	memset(want + 7, '0', 97);
	memcpy(want + 104, "VH", 3);
	check_encode(&m, 1, want);
	CHECK_INT(aoi_rle_area(want, 300, 200, &err), 50 * 11);
	aoi_mask_release(&m);
}

/* counts <-> string directly: rpycocotools' docs give [5,2,2,2,5] (4x4)
 * as "52203"; pycocotools allows leading zero counts. */
static void test_counts(void)
{
	uint32_t c1[] = {5, 2, 2, 2, 5}, *got;
	uint32_t big[] = {0, 4294967295u, 0, 1, 4294967295u, 7};
	size_t n;
	char *s;
	aoi_error err;

	CHECK(aoi_rle_counts_to_string(c1, 5, &s, &err) == 0);
	CHECK_STR(s, "52203");
	free(s);
	CHECK(aoi_rle_string_to_counts("52203", &got, &n, &err) == 0);
	CHECK_INT(n, 5);
	CHECK(n == 5 && memcmp(got, c1, sizeof c1) == 0);
	free(got);
	/* Extreme values survive the round trip (7 groups, both signs). */
	CHECK(aoi_rle_counts_to_string(big, 6, &s, &err) == 0);
	CHECK(aoi_rle_string_to_counts(s, &got, &n, &err) == 0);
	CHECK(n == 6 && memcmp(got, big, sizeof big) == 0);
	free(got);
	free(s);
	CHECK(aoi_rle_string_to_counts("", &got, &n, &err) == 0);
	CHECK_INT(n, 0);
	free(got);
}

/* A real COCO annotation (427x640) from pycocotools' decode/encode tests
 * in pytorchcocotools: decoding and encoding again gives the same string. */
static void test_real_roundtrip(void)
{
	const char *s = "\\`_3;j<6M3E_OjCd0T<:O1O2O001O00001O00001O001O0000O1K6J5J"
			"6A^C0g<N=O001O0O2Omk^4";
	aoi_mask m;
	aoi_error err;
	long area = aoi_rle_area(s, 427, 640, &err);

	CHECK(area > 0);
	aoi_mask_alloc(&m, 640, 427, &err);
	CHECK(aoi_rle_decode(s, &m, 1, &err) == 0);
	CHECK_INT(aoi_mask_count(&m, 1), area);
	check_encode(&m, 1, s);
	aoi_mask_release(&m);
}

static void test_random_roundtrip(void)
{
	aoi_mask m, back;
	aoi_error err;
	unsigned state = 12345;

	aoi_mask_alloc(&m, 37, 23, &err);
	aoi_mask_alloc(&back, 37, 23, &err);
	for (int trial = 0; trial < 50; trial++) {
		memset(m.data, 0, 37 * 23);
		memset(back.data, 0, 37 * 23);
		for (int i = 0; i < 37 * 23; i++) {
			state = state * 1103515245u + 12345u;
			m.data[i] = ((state >> 16) % 7 < (unsigned)(trial % 7)) ? 2 : 0;
		}
		char *s = aoi_rle_encode(&m, 2, &err);
		CHECK(s && aoi_rle_decode(s, &back, 2, &err) == 0);
		CHECK(memcmp(m.data, back.data, 37 * 23) == 0);
		CHECK_INT(aoi_rle_area(s, 23, 37, &err), aoi_mask_count(&m, 2));
		free(s);
	}
	aoi_mask_release(&m);
	aoi_mask_release(&back);
}

static void check_bad_decode(const char *s, int h, int w, const char *msg_part)
{
	aoi_mask m;
	aoi_error err;

	aoi_error_clear(&err);
	aoi_mask_alloc(&m, w, h, &err);
	CHECK(aoi_rle_decode(s, &m, 1, &err) < 0);
	CHECK_MSG(strstr(err.msg, msg_part), "'%s' lacks '%s'", err.msg, msg_part);
	CHECK(aoi_rle_area(s, h, w, &err) < 0);
	aoi_mask_release(&m);
}

static void test_malformed(void)
{
	check_bad_decode("05d0 0000000d?", 25, 25, "bad character ' '");
	check_bad_decode("05d00000000d~", 25, 25, "bad character '~'");
	check_bad_decode("05d00000000d", 25, 25, "ends inside a count");
	check_bad_decode("05d00000000d?", 25, 24, "exceed");
	check_bad_decode("05d00000000d?", 26, 25, "do not add up");
	check_bad_decode("ac1", 25, 25, "exceed");
	check_bad_decode("", 25, 25, "do not add up");
	check_bad_decode("ooooooooo0", 25, 25, "too long");
	/* A delta that makes a count negative. */
	check_bad_decode("R45K", 25, 25, "out of range");
	/* A valid string whose runs would reach past the mask: huge counts. */
	check_bad_decode("0oooooo3", 25, 25, "exceed");
}

static void test_png(void)
{
	char dir[] = "/tmp/aoi-test-mask-XXXXXX", path[256], bad[256];
	aoi_mask m, back;
	aoi_error err;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/m.png", dir);
	aoi_mask_alloc(&m, 13, 9, &err);
	for (int i = 0; i < 13 * 9; i++)
		m.data[i] = (uint8_t)(i % 5);
	CHECK(aoi_mask_save_png(path, &m, &err) == 0);
	CHECK(aoi_mask_load_png(path, &back, &err) == 0);
	CHECK_INT(back.width, 13);
	CHECK_INT(back.height, 9);
	CHECK(back.data && memcmp(back.data, m.data, 13 * 9) == 0);
	aoi_mask_release(&back);

	/* Truncated file: an error naming the file, nothing left allocated. */
	unsigned char *buf;
	size_t len;
	CHECK(aoi_file_read(path, &buf, &len, &err) == 0);
	snprintf(bad, sizeof bad, "%s/trunc.png", dir);
	FILE *fp = fopen(bad, "wb");
	fwrite(buf, 1, len / 2, fp);
	fclose(fp);
	free(buf);
	CHECK(aoi_mask_load_png(bad, &back, &err) < 0);
	CHECK(strcmp(err.where, bad) == 0);
	CHECK(back.data == NULL);
	unlink(bad);

	/* Not a PNG. */
	fp = fopen(bad, "wb");
	fputs("hello", fp);
	fclose(fp);
	CHECK(aoi_mask_load_png(bad, &back, &err) < 0);
	CHECK(strstr(err.msg, "not a PNG") != NULL);
	unlink(bad);

	/* An RGB PNG is refused. */
	fp = fopen(bad, "wb");
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	png_init_io(png, fp);
	png_set_IHDR(png, info, 2, 1, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	png_byte row[6] = {1, 2, 3, 4, 5, 6};
	png_write_row(png, row);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	fclose(fp);
	CHECK(aoi_mask_load_png(bad, &back, &err) < 0);
	CHECK(strstr(err.msg, "single-channel") != NULL);
	unlink(bad);

	/* Missing file; unwritable destination leaves nothing behind. */
	CHECK(aoi_mask_load_png("/nonexistent/m.png", &back, &err) < 0);
	CHECK(aoi_mask_save_png("/nonexistent/dir/m.png", &m, &err) < 0);
	aoi_mask_release(&m);
	unlink(path);
	rmdir(dir);
}

/* A 2-bit palette PNG, interlaced: indices come out as they are. */
static void test_png_palette(void)
{
	char path[] = "/tmp/aoi-test-palette-XXXXXX";
	int fd = mkstemp(path);
	FILE *fp = fdopen(fd, "wb");
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	png_color pal[4] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
	aoi_mask m;
	aoi_error err;

	png_init_io(png, fp);
	png_set_IHDR(png, info, 9, 5, 2, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_ADAM7,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_set_PLTE(png, info, pal, 4);
	png_write_info(png, info);
	png_set_packing(png);
	int passes = png_set_interlace_handling(png);
	png_byte rows[5][9];
	for (int y = 0; y < 5; y++)
		for (int x = 0; x < 9; x++)
			rows[y][x] = (png_byte)((x + y) % 4);
	for (int p = 0; p < passes; p++)
		for (int y = 0; y < 5; y++)
			png_write_row(png, rows[y]);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	fclose(fp);
	CHECK(aoi_mask_load_png(path, &m, &err) == 0);
	CHECK_INT(m.width, 9);
	CHECK_INT(m.height, 5);
	CHECK(m.data && memcmp(m.data, rows, sizeof rows) == 0);
	aoi_mask_release(&m);
	unlink(path);
}

/* Random strings: the decoder either accepts (then the counts cover the
 * mask exactly) or fails; never reads or writes out of bounds (ASan). */
static void test_fuzz_decode(void)
{
	aoi_mask m;
	aoi_error err;
	unsigned st = 7;
	char s[40];
	int accepted = 0;

	aoi_mask_alloc(&m, 5, 5, &err);
	for (int trial = 0; trial < 20000; trial++) {
		int len = (int)((st = st * 1103515245u + 12345u) >> 16) % 12;

		for (int i = 0; i < len; i++) {
			st = st * 1103515245u + 12345u;
			/* Mostly small counts '0'..'9', some other characters. */
			s[i] = (char)((st >> 16) % 8 ? '0' + (st >> 20) % 10 : 40 + (st >> 20) % 80);
		}
		s[len] = '\0';
		int rc = aoi_rle_decode(s, &m, 1, &err);
		long area = aoi_rle_area(s, 5, 5, &err);
		CHECK((rc == 0) == (area >= 0));
		accepted += rc == 0;
	}
	CHECK(accepted > 0);
	aoi_mask_release(&m);
}

static void test_resize_count(void)
{
	aoi_mask m, r = {0};
	aoi_error err;

	aoi_mask_alloc(&m, 4, 2, &err);
	/* 0 1 2 3 / 4 5 6 7 */
	for (int i = 0; i < 8; i++)
		m.data[i] = (uint8_t)i;
	CHECK(aoi_mask_resize(&m, &r, 8, 4, &err) == 0);
	CHECK_INT(r.data[0], 0);
	CHECK_INT(r.data[1], 0);
	CHECK_INT(r.data[7], 3);
	CHECK_INT(r.data[3 * 8 + 5], 6);
	CHECK(aoi_mask_resize(&m, &r, 2, 1, &err) == 0);
	/* Centres map to source x 1 and 3 of row 1. */
	CHECK_INT(r.data[0], 5);
	CHECK_INT(r.data[1], 7);
	CHECK(aoi_mask_resize(&m, &r, 0, 3, &err) < 0);
	CHECK_INT(aoi_mask_count(&m, -1), 7);
	CHECK_INT(aoi_mask_count(&m, 3), 1);
	CHECK_INT(aoi_mask_count(&m, 0), 1);
	CHECK(aoi_mask_alloc(&r, -1, 3, &err) < 0);
	aoi_mask_release(&r);
	aoi_mask_release(&m);
	aoi_mask_release(NULL);
}

int main(void)
{
	test_known_pycocotools();
	test_known_handmade();
	test_counts();
	test_real_roundtrip();
	test_random_roundtrip();
	test_malformed();
	test_png();
	test_png_palette();
	test_fuzz_decode();
	test_resize_count();
	return check_done();
}
