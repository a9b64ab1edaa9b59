/* test_image.c: codecs (round trips through files written by libpng,
 * libjpeg and by hand), geometry known answers, and every corrupt input the
 * loader must refuse with an error naming the file. */
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "check.h"
#include "image/image.h"

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
	static char buf[8][512];
	static int k;
	char *p = buf[k++ % 8];
	snprintf(p, 512, "%s/%s", tmpdir, name);
	return p;
}

static void write_bytes(const char *path, const void *data, size_t n)
{
	FILE *fp = fopen(path, "wb");
	if (!fp || fwrite(data, 1, n, fp) != n)
		perror(path);
	if (fp)
		fclose(fp);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
	unsigned char *buf;
	aoi_error err;
	if (aoi_file_read(path, &buf, n, &err) != 0)
		return NULL;
	return buf;
}

/* A PNG written with libpng directly, so that the decoder is tested against
 * files it did not write. samples: 8- or 16-bit (big-endian) rows. */
struct raw_png {
	int w, h, type, depth, interlace;
	const unsigned char *samples;
	const png_color *palette;
	int npalette;
	const png_byte *trns;
	int ntrns;
	const png_color_16 *trns_gray;
};

static void write_raw_png(const char *path, const struct raw_png *r)
{
	FILE *fp = fopen(path, "wb");
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	int ch = r->type == PNG_COLOR_TYPE_GRAY || r->type == PNG_COLOR_TYPE_PALETTE ? 1 :
		 r->type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : r->type == PNG_COLOR_TYPE_RGB ? 3 : 4;
	size_t stride = ((size_t)r->w * ch * r->depth + 7) / 8;

	if (setjmp(png_jmpbuf(png))) {
		fprintf(stderr, "test PNG writer failed\n");
		exit(1);
	}
	png_init_io(png, fp);
	png_set_IHDR(png, info, r->w, r->h, r->depth, r->type, r->interlace,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (r->palette)
		png_set_PLTE(png, info, r->palette, r->npalette);
	if (r->trns || r->trns_gray)
		png_set_tRNS(png, info, r->trns, r->ntrns, r->trns_gray);
	png_write_info(png, info);
	int passes = png_set_interlace_handling(png);
	for (int p = 0; p < passes; p++)
		for (int y = 0; y < r->h; y++)
			png_write_row(png, r->samples + y * stride);
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	fclose(fp);
}

static int load_ok(const char *path, aoi_image *img)
{
	aoi_error err;
	aoi_error_clear(&err);
	int rc = aoi_image_load(path, img, &err);
	CHECK_MSG(rc == 0, "%s: %s", path, err.msg);
	return rc == 0;
}

/* The load must fail with `code` and name the file. */
static void check_load_fails(const char *path, int code, const char *what)
{
	aoi_image img = {0};
	aoi_error err;
	int w, h, c;

	aoi_error_clear(&err);
	CHECK_MSG(aoi_image_load(path, &img, &err) == -1, "%s loaded", what);
	CHECK_MSG(err.code == code, "%s: code %d, want %d (%s)", what, err.code, code, err.msg);
	CHECK_STR(err.where, path);
	CHECK(img.data == NULL && img.width == 0);
	(void)w; (void)h; (void)c;
}

static void test_png_gray8_interlaced(void)
{
	unsigned char px[5 * 3];
	for (int i = 0; i < 15; i++)
		px[i] = (unsigned char)(i * 17);
	struct raw_png r = {.w = 5, .h = 3, .type = PNG_COLOR_TYPE_GRAY, .depth = 8, .interlace = PNG_INTERLACE_ADAM7, .samples = px};
	const char *path = tmp_path("g8.png");
	aoi_image img = {0};
	write_raw_png(path, &r);
	if (load_ok(path, &img)) {
		CHECK_INT(img.width, 5);
		CHECK_INT(img.height, 3);
		CHECK_INT(img.channels, 1);
		CHECK(memcmp(img.data, px, 15) == 0);
	}
	aoi_image_release(&img);
}

static void test_png_gray16(void)
{
	/* big-endian 16-bit: 0, 65535, 257*100, 32768 -> 0, 255, 100, 128 */
	unsigned char px[8] = {0, 0, 0xff, 0xff, 100, 100, 0x80, 0x00};
	struct raw_png r = {.w = 2, .h = 2, .type = PNG_COLOR_TYPE_GRAY, .depth = 16, .interlace = PNG_INTERLACE_NONE, .samples = px};
	const char *path = tmp_path("g16.png");
	aoi_image img = {0};
	write_raw_png(path, &r);
	if (load_ok(path, &img)) {
		CHECK_INT(img.channels, 1);
		CHECK_INT(img.data[0], 0);
		CHECK_INT(img.data[1], 255);
		CHECK_INT(img.data[2], 100);
		CHECK_INT(img.data[3], 128);
	}
	aoi_image_release(&img);
}

/* 16-bit gray maps: a foreign 16-bit interlaced file as it is, an 8-bit
 * one widened (v x 257), our own round trip, colour and damage refused. */
static void test_gray16(void)
{
	unsigned char px16[8] = {0, 0, 0xff, 0xff, 0x12, 0x34, 0x80, 0x01};
	unsigned char px8[4] = {0, 255, 100, 1};
	unsigned char rgb[12] = {0};
	struct raw_png r = {.w = 2, .h = 2, .type = PNG_COLOR_TYPE_GRAY, .depth = 16,
			    .interlace = PNG_INTERLACE_ADAM7, .samples = px16};
	aoi_gray16 g = {0}, back = {0};
	aoi_error err;

	write_raw_png(tmp_path("m16.png"), &r);
	CHECK(aoi_gray16_load_png(tmp_path("m16.png"), &g, &err) == 0);
	CHECK_INT(g.width, 2);
	CHECK_INT(g.data[0], 0);
	CHECK_INT(g.data[1], 65535);
	CHECK_INT(g.data[2], 0x1234);
	CHECK_INT(g.data[3], 0x8001);
	aoi_gray16_release(&g);
	r.depth = 8;
	r.samples = px8;
	write_raw_png(tmp_path("m8.png"), &r);
	CHECK(aoi_gray16_load_png(tmp_path("m8.png"), &g, &err) == 0);
	CHECK_INT(g.data[1], 65535);
	CHECK_INT(g.data[2], 25700);
	CHECK_INT(g.data[3], 257);
	CHECK(aoi_gray16_save_png(tmp_path("ours16.png"), &g, &err) == 0);
	CHECK(aoi_gray16_load_png(tmp_path("ours16.png"), &back, &err) == 0);
	CHECK(back.width == 2 && back.height == 2 &&
	      memcmp(back.data, g.data, 4 * sizeof *g.data) == 0);
	aoi_gray16_release(&back);
	aoi_gray16_release(&g);
	r = (struct raw_png){.w = 2, .h = 2, .type = PNG_COLOR_TYPE_RGB, .depth = 8,
			     .samples = rgb};
	write_raw_png(tmp_path("rgb.png"), &r);
	CHECK(aoi_gray16_load_png(tmp_path("rgb.png"), &g, &err) < 0);
	CHECK(strstr(err.msg, "not a gray image") != NULL);
	CHECK_STR(err.where, tmp_path("rgb.png"));
	CHECK(g.data == NULL);
	size_t n;
	unsigned char *buf = read_bytes(tmp_path("ours16.png"), &n);
	if (buf) {
		write_bytes(tmp_path("cut16.png"), buf, n / 2);
		CHECK(aoi_gray16_load_png(tmp_path("cut16.png"), &g, &err) < 0);
		CHECK(err.code == AOI_EFORMAT && g.data == NULL);
		free(buf);
	}
	CHECK(aoi_gray16_load_png(tmp_path("none.png"), &g, &err) < 0);
}

static void test_png_gray_alpha(void)
{
	/* (200, alpha 255), (200, alpha 0), (200, 128) on black */
	unsigned char px[6] = {200, 255, 200, 0, 200, 128};
	struct raw_png r = {.w = 3, .h = 1, .type = PNG_COLOR_TYPE_GRAY_ALPHA, .depth = 8, .interlace = PNG_INTERLACE_NONE, .samples = px};
	const char *path = tmp_path("ga.png");
	aoi_image img = {0};
	write_raw_png(path, &r);
	if (load_ok(path, &img)) {
		CHECK_INT(img.channels, 1);
		CHECK_INT(img.data[0], 200);
		CHECK_INT(img.data[1], 0);
		CHECK_INT(img.data[2], 100); /* round(200 * 128 / 255) */
	}
	aoi_image_release(&img);
}

static void test_png_rgb16_rgba(void)
{
	unsigned char px16[6] = {0xff, 0xff, 0, 0, 0x80, 0x80}; /* 1x1 RGB16 */
	struct raw_png r = {.w = 1, .h = 1, .type = PNG_COLOR_TYPE_RGB, .depth = 16, .interlace = PNG_INTERLACE_NONE, .samples = px16};
	unsigned char pxa[8] = {10, 20, 30, 255, 255, 255, 255, 0};
	struct raw_png ra = {.w = 2, .h = 1, .type = PNG_COLOR_TYPE_RGBA, .depth = 8, .interlace = PNG_INTERLACE_NONE, .samples = pxa};
	aoi_image img = {0};

	write_raw_png(tmp_path("rgb16.png"), &r);
	if (load_ok(tmp_path("rgb16.png"), &img)) {
		CHECK_INT(img.channels, 3);
		CHECK(img.data[0] == 255 && img.data[1] == 0 && img.data[2] == 128);
	}
	aoi_image_release(&img);
	write_raw_png(tmp_path("rgba.png"), &ra);
	if (load_ok(tmp_path("rgba.png"), &img)) {
		CHECK_INT(img.channels, 3);
		CHECK(img.data[0] == 10 && img.data[1] == 20 && img.data[2] == 30);
		CHECK(img.data[3] == 0 && img.data[4] == 0 && img.data[5] == 0);
	}
	aoi_image_release(&img);
}

static void test_png_palette(void)
{
	png_color pal[3] = {{255, 0, 0}, {0, 255, 0}, {1, 2, 3}};
	png_byte trns[3] = {255, 255, 0};
	/* 4-bit palette indices: row "0 1 2 1" packed two per byte */
	unsigned char px[2] = {0x01, 0x21};
	struct raw_png r = {.w = 4, .h = 1, .type = PNG_COLOR_TYPE_PALETTE, .depth = 4,
			    .interlace = PNG_INTERLACE_NONE, .samples = px, .palette = pal,
			    .npalette = 3, .trns = trns, .ntrns = 3};
	aoi_image img = {0};
	int w, h, c;
	aoi_error err;

	write_raw_png(tmp_path("pal.png"), &r);
	CHECK(aoi_image_probe(tmp_path("pal.png"), &w, &h, &c, &err) == 0);
	CHECK(w == 4 && h == 1 && c == 3);
	if (load_ok(tmp_path("pal.png"), &img)) {
		static const uint8_t want[12] = {255, 0, 0, 0, 255, 0, 0, 0, 0, 0, 255, 0};
		CHECK_INT(img.channels, 3);
		CHECK(memcmp(img.data, want, 12) == 0); /* index 2 is transparent */
	}
	aoi_image_release(&img);
}

static void test_png_roundtrip_ours(void)
{
	aoi_image a = {0}, b = {0};
	aoi_error err;
	unsigned char *buf = NULL;
	size_t len = 0;

	for (int ch = 1; ch <= 3; ch += 2) {
		aoi_image_alloc(&a, 7, 5, ch, &err);
		for (size_t i = 0; i < 35u * ch; i++)
			a.data[i] = (uint8_t)(i * 37 + 11);
		CHECK(aoi_image_save(tmp_path("ours.png"), &a, &err) == 0);
		if (load_ok(tmp_path("ours.png"), &b)) {
			CHECK(b.width == 7 && b.height == 5 && b.channels == ch);
			CHECK(memcmp(a.data, b.data, 35u * ch) == 0);
		}
		aoi_image_release(&b);
		CHECK(aoi_image_encode_png(&a, &buf, &len, &err) == 0);
		CHECK(aoi_image_decode(buf, len, "mem", &b, &err) == 0);
		CHECK(b.data && memcmp(a.data, b.data, 35u * ch) == 0);
		free(buf);
		aoi_image_release(&b);
		aoi_image_release(&a);
	}
	CHECK(access(tmp_path("ours.png.tmp"), F_OK) != 0);
}

static double mean_abs_diff(const aoi_image *a, const aoi_image *b)
{
	size_t n = (size_t)a->width * a->height * a->channels;
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += abs(a->data[i] - b->data[i]);
	return s / n;
}

static void make_smooth(aoi_image *img, int w, int h, int ch)
{
	aoi_error err;
	aoi_image_alloc(img, w, h, ch, &err);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			for (int c = 0; c < ch; c++)
				img->data[(y * w + x) * ch + c] =
					(uint8_t)((x * 2 + y + c * 30) % 256);
}

static void test_jpeg_roundtrip(void)
{
	aoi_image a = {0}, b = {0};
	aoi_error err;
	int w, h, c;

	for (int ch = 1; ch <= 3; ch += 2) {
		make_smooth(&a, 64, 48, ch);
		CHECK(aoi_image_save(tmp_path("rt.jpg"), &a, &err) == 0);
		CHECK(aoi_image_probe(tmp_path("rt.jpg"), &w, &h, &c, &err) == 0);
		CHECK(w == 64 && h == 48 && c == ch);
		if (load_ok(tmp_path("rt.jpg"), &b)) {
			CHECK(b.width == 64 && b.height == 48 && b.channels == ch);
			CHECK_MSG(mean_abs_diff(&a, &b) < 2.0, "JPEG error %g",
				  mean_abs_diff(&a, &b));
		}
		aoi_image_release(&b);
		/* the same bytes into memory as into the file */
		unsigned char *buf = NULL, *file = NULL;
		size_t len = 0, flen = 0;
		CHECK(aoi_image_encode_jpeg(&a, 95, &buf, &len, &err) == 0);
		CHECK(aoi_file_read(tmp_path("rt.jpg"), &file, &flen, &err) == 0);
		CHECK(len > 0 && len == flen && buf && file && memcmp(buf, file, len) == 0);
		CHECK(aoi_image_decode(buf, len, "mem", &b, &err) == 0 && b.channels == ch);
		free(buf);
		CHECK(aoi_image_encode_jpeg(&a, 0, &buf, &len, &err) == -1 && !buf);
		free(file);
		aoi_image_release(&b);
		aoi_image_release(&a);
	}
}

static void le16(unsigned char *p, unsigned v)
{
	p[0] = v & 255;
	p[1] = v >> 8 & 255;
}

static void le32(unsigned char *p, uint32_t v)
{
	le16(p, v & 0xffff);
	le16(p + 2, v >> 16);
}

/* A BMP built byte by byte: 24-bit or 8-bit with a palette of ncolors. */
static size_t make_bmp(unsigned char *out, int w, int h, int bits, int top_down,
		       const unsigned char *pal, int ncolors, const unsigned char *pixels)
{
	size_t stride = ((size_t)w * bits + 31) / 32 * 4;
	size_t off = 14 + 40 + (size_t)ncolors * 4, n = off + stride * h;

	memset(out, 0, n);
	out[0] = 'B';
	out[1] = 'M';
	le32(out + 2, (uint32_t)n);
	le32(out + 10, (uint32_t)off);
	le32(out + 14, 40);
	le32(out + 18, (uint32_t)w);
	le32(out + 22, (uint32_t)(top_down ? -h : h));
	le16(out + 26, 1);
	le16(out + 28, (unsigned)bits);
	le32(out + 46, (uint32_t)ncolors);
	if (ncolors > 0)
		memcpy(out + 54, pal, (size_t)ncolors * 4);
	for (int y = 0; y < h; y++) {
		int row = top_down ? y : h - 1 - y;
		memcpy(out + off + row * stride, pixels + (size_t)y * w * bits / 8,
		       (size_t)w * bits / 8);
	}
	return n;
}

static void test_bmp(void)
{
	/* 3x2, 24-bit BGR; row 0: red green blue, row 1: white black gray */
	unsigned char bgr[18] = {0, 0, 255, 0, 255, 0, 255, 0, 0,
				 255, 255, 255, 0, 0, 0, 9, 8, 7};
	unsigned char file[4096];
	aoi_image img = {0};
	int w, h, c;
	aoi_error err;

	for (int td = 0; td <= 1; td++) {
		size_t n = make_bmp(file, 3, 2, 24, td, NULL, 0, bgr);
		write_bytes(tmp_path("c24.bmp"), file, n);
		CHECK(aoi_image_probe(tmp_path("c24.bmp"), &w, &h, &c, &err) == 0);
		CHECK(w == 3 && h == 2 && c == 3);
		if (load_ok(tmp_path("c24.bmp"), &img)) {
			CHECK(img.data[0] == 255 && img.data[1] == 0 && img.data[2] == 0);
			CHECK(img.data[5] == 0 && img.data[4] == 255);
			CHECK(img.data[15] == 7 && img.data[16] == 8 && img.data[17] == 9);
		}
		aoi_image_release(&img);
	}
	/* 8-bit gray palette (identity) -> 1 channel */
	unsigned char gpal[256 * 4], idx[5 * 2] = {0, 50, 100, 200, 255, 1, 2, 3, 4, 5};
	for (int i = 0; i < 256; i++)
		gpal[4 * i] = gpal[4 * i + 1] = gpal[4 * i + 2] = (unsigned char)i, gpal[4 * i + 3] = 0;
	size_t n = make_bmp(file, 5, 2, 8, 0, gpal, 256, idx);
	write_bytes(tmp_path("g8.bmp"), file, n);
	if (load_ok(tmp_path("g8.bmp"), &img)) {
		CHECK_INT(img.channels, 1);
		CHECK(memcmp(img.data, idx, 10) == 0);
	}
	aoi_image_release(&img);
	/* 8-bit colour palette of 2 -> 3 channels; index 7 is past it -> black */
	unsigned char cpal[8] = {255, 0, 0, 0, 0, 0, 255, 0}; /* blue, red */
	unsigned char cidx[2] = {0, 1}, cidx2[2] = {7, 1};
	n = make_bmp(file, 2, 1, 8, 1, cpal, 2, cidx);
	write_bytes(tmp_path("p8.bmp"), file, n);
	if (load_ok(tmp_path("p8.bmp"), &img)) {
		static const uint8_t want[6] = {0, 0, 255, 255, 0, 0};
		CHECK_INT(img.channels, 3);
		CHECK(memcmp(img.data, want, 6) == 0);
	}
	aoi_image_release(&img);
	n = make_bmp(file, 2, 1, 8, 1, cpal, 2, cidx2);
	if (aoi_image_decode(file, n, "p8", &img, &err) == 0)
		CHECK(img.data[0] == 0 && img.data[1] == 0 && img.data[2] == 0);
	aoi_image_release(&img);
}

static void test_bmp_line_camera_size(void)
{
	/* seed 004's line cameras: 1591x491, stride 4776 with padding */
	int w = 1591, h = 491;
	unsigned char *px = malloc((size_t)w * h * 3), *file = malloc((size_t)4776 * h + 54);
	aoi_image img = {0};
	aoi_error err;

	for (size_t i = 0; i < (size_t)w * h * 3; i++)
		px[i] = (unsigned char)(i % 251);
	size_t n = make_bmp(file, w, h, 24, 0, NULL, 0, px);
	CHECK_INT(n, 54 + 4776 * 491);
	if (aoi_image_decode(file, n, "line.bmp", &img, &err) == 0) {
		CHECK(img.width == w && img.height == h);
		/* pixel (1590, 490): BGR stored, RGB out */
		size_t i = ((size_t)490 * w + 1590) * 3;
		CHECK(img.data[i] == px[i + 2] && img.data[i + 2] == px[i]);
	} else {
		CHECK_MSG(0, "%s", err.msg);
	}
	aoi_image_release(&img);
	/* a lying header: claims more rows than the file holds */
	write_bytes(tmp_path("lying.bmp"), file, n - 4776 * 10);
	check_load_fails(tmp_path("lying.bmp"), AOI_EFORMAT, "lying BMP");
	int pw, ph, pc;
	CHECK(aoi_image_probe(tmp_path("lying.bmp"), &pw, &ph, &pc, &err) == -1);
	CHECK_STR(err.where, tmp_path("lying.bmp"));
	/* a header with absurd sizes */
	le32(file + 18, 100000);
	write_bytes(tmp_path("huge.bmp"), file, n);
	check_load_fails(tmp_path("huge.bmp"), AOI_EFORMAT, "huge BMP");
	le32(file + 18, 0x7fffffff);
	le32(file + 22, 0x80000000u);
	write_bytes(tmp_path("huge.bmp"), file, n);
	check_load_fails(tmp_path("huge.bmp"), AOI_EFORMAT, "INT_MIN BMP");
	free(px);
	free(file);
}

/* Offset of the first IDAT chunk's data in a PNG buffer. */
static size_t find_idat(const unsigned char *buf, size_t len)
{
	for (size_t i = 8; i + 8 <= len;) {
		uint32_t n = (uint32_t)buf[i] << 24 | buf[i + 1] << 16 | buf[i + 2] << 8 | buf[i + 3];
		if (memcmp(buf + i + 4, "IDAT", 4) == 0)
			return i + 8;
		i += 12 + n;
	}
	return 0;
}

static void test_corrupt_png(void)
{
	aoi_image a = {0};
	aoi_error err;
	unsigned char *buf;
	size_t len;

	make_smooth(&a, 40, 30, 3);
	aoi_image_save_png(tmp_path("good.png"), &a, &err);
	aoi_image_release(&a);
	buf = read_bytes(tmp_path("good.png"), &len);
	if (!buf) {
		CHECK(0);
		return;
	}
	size_t idat = find_idat(buf, len);
	CHECK(idat > 0);
	/* bad CRC: flip a byte in IDAT */
	buf[idat + 5] ^= 0x40;
	write_bytes(tmp_path("crc.png"), buf, len);
	check_load_fails(tmp_path("crc.png"), AOI_EFORMAT, "PNG bad CRC");
	buf[idat + 5] ^= 0x40;
	/* bad CRC with intact data: flip a bit of the IDAT chunk's CRC itself */
	size_t idat_len = (size_t)buf[idat - 8] << 24 | buf[idat - 7] << 16 |
			  buf[idat - 6] << 8 | buf[idat - 5];
	buf[idat + idat_len + 3] ^= 1;
	write_bytes(tmp_path("crc.png"), buf, len);
	check_load_fails(tmp_path("crc.png"), AOI_EFORMAT, "PNG bad CRC only");
	aoi_image_load(tmp_path("crc.png"), &a, &err);
	CHECK_MSG(strstr(err.msg, "CRC") != NULL, "%s", err.msg);
	buf[idat + idat_len + 3] ^= 1;
	/* truncated: in the middle of IDAT, and just before IEND */
	write_bytes(tmp_path("cut.png"), buf, len / 2);
	check_load_fails(tmp_path("cut.png"), AOI_EFORMAT, "PNG cut in half");
	write_bytes(tmp_path("cut.png"), buf, len - 6);
	check_load_fails(tmp_path("cut.png"), AOI_EFORMAT, "PNG without IEND");
	/* only the signature and part of IHDR */
	write_bytes(tmp_path("cut.png"), buf, 20);
	check_load_fails(tmp_path("cut.png"), AOI_EFORMAT, "PNG cut in IHDR");
	int w, h, c;
	CHECK(aoi_image_probe(tmp_path("cut.png"), &w, &h, &c, &err) == -1);
	CHECK_STR(err.where, tmp_path("cut.png"));
	CHECK(strstr(err.msg, "PNG") != NULL);
	/* decode from memory names the given name */
	CHECK(aoi_image_decode(buf, len / 3, "memory.png", &a, &err) == -1);
	CHECK_STR(err.where, "memory.png");
	free(buf);
}

static void test_corrupt_jpeg(void)
{
	aoi_image a = {0};
	aoi_error err;
	unsigned char *buf;
	size_t len;

	make_smooth(&a, 96, 64, 3);
	aoi_image_save_jpeg(tmp_path("good.jpg"), &a, 90, &err);
	aoi_image_release(&a);
	buf = read_bytes(tmp_path("good.jpg"), &len);
	if (!buf) {
		CHECK(0);
		return;
	}
	/* cut in half: libjpeg only warns "Premature end of JPEG file" */
	write_bytes(tmp_path("half.jpg"), buf, len / 2);
	check_load_fails(tmp_path("half.jpg"), AOI_EFORMAT, "JPEG cut in half");
	aoi_image_load(tmp_path("half.jpg"), &a, &err);
	CHECK_MSG(strstr(err.msg, "Premature end") != NULL, "%s", err.msg);
	/* missing only the EOI marker */
	write_bytes(tmp_path("noeoi.jpg"), buf, len - 2);
	check_load_fails(tmp_path("noeoi.jpg"), AOI_EFORMAT, "JPEG without EOI");
	/* cut inside the header */
	write_bytes(tmp_path("head.jpg"), buf, 40);
	check_load_fails(tmp_path("head.jpg"), AOI_EFORMAT, "JPEG cut in header");
	int w, h, c;
	CHECK(aoi_image_probe(tmp_path("head.jpg"), &w, &h, &c, &err) == -1);
	CHECK_STR(err.where, tmp_path("head.jpg"));
	/* garbage in the entropy-coded data: an RST marker where none belongs */
	size_t mid = len / 2;
	buf[mid] = 0xff;
	buf[mid + 1] = 0xd3;
	write_bytes(tmp_path("bad.jpg"), buf, len);
	check_load_fails(tmp_path("bad.jpg"), AOI_EFORMAT, "JPEG corrupt data");
	free(buf);
}

static void test_not_images(void)
{
	int w, h, c;
	aoi_error err;

	write_bytes(tmp_path("empty.png"), "", 0);
	check_load_fails(tmp_path("empty.png"), AOI_EFORMAT, "empty file");
	CHECK(aoi_image_probe(tmp_path("empty.png"), &w, &h, &c, &err) == -1);
	CHECK(err.code == AOI_EFORMAT);
	write_bytes(tmp_path("text.png"), "hello, world\n", 13);
	check_load_fails(tmp_path("text.png"), AOI_EFORMAT, "text file");
	CHECK(strstr(err.msg, "empty") != NULL);
	check_load_fails(tmp_path("missing.png"), AOI_ENOTFOUND, "missing file");
	CHECK(aoi_image_probe(tmp_path("missing.png"), &w, &h, &c, &err) == -1);
	CHECK(err.code == AOI_ENOTFOUND);
	write_bytes(tmp_path("bm.bmp"), "BM", 2);
	check_load_fails(tmp_path("bm.bmp"), AOI_EFORMAT, "2-byte BMP");
}

static void test_save_errors(void)
{
	aoi_image a = {0};
	aoi_error err;

	make_smooth(&a, 4, 4, 3);
	CHECK(aoi_image_save(tmp_path("x.tif"), &a, &err) == -1);
	CHECK(err.code == AOI_EINVAL);
	CHECK(aoi_image_save(tmp_path("nodir/x.png"), &a, &err) == -1);
	CHECK(aoi_image_save_jpeg(tmp_path("q.jpg"), &a, 0, &err) == -1);
	CHECK(access(tmp_path("q.jpg"), F_OK) != 0);
	aoi_image_release(&a);
	make_smooth(&a, 4, 4, 4);
	CHECK(aoi_image_save(tmp_path("x.jpg"), &a, &err) == -1);
	CHECK(aoi_image_save(tmp_path("rgba.png"), &a, &err) == 0);
	aoi_image_release(&a);
	CHECK(aoi_image_save(tmp_path("none.png"), &a, &err) == -1);
}

static void test_sniff_alloc(void)
{
	aoi_image a;
	aoi_error err;

	CHECK(aoi_image_sniff((const unsigned char *)"\x89PNG\r\n\x1a\n", 8) == AOI_FORMAT_PNG);
	CHECK(aoi_image_sniff((const unsigned char *)"\xff\xd8\xff\xe0", 4) == AOI_FORMAT_JPEG);
	CHECK(aoi_image_sniff((const unsigned char *)"BM", 2) == AOI_FORMAT_BMP);
	CHECK(aoi_image_sniff((const unsigned char *)"GIF8", 4) == AOI_FORMAT_UNKNOWN);
	CHECK(aoi_image_sniff((const unsigned char *)"", 0) == AOI_FORMAT_UNKNOWN);
	CHECK(aoi_image_alloc(&a, 0, 5, 1, &err) == -1 && a.data == NULL);
	CHECK(aoi_image_alloc(&a, 70000, 5, 1, &err) == -1);
	CHECK(aoi_image_alloc(&a, 5, 5, 5, &err) == -1);
	CHECK(aoi_image_alloc(&a, 65535, 65535, 3, &err) == -1); /* > 2 GiB */
	aoi_image_release(&a);
	aoi_image_release(NULL);
}

/* Every truncation of a PNG or JPEG is refused; random byte damage is
 * refused or decoded, never a crash or a leak (the sanitizers watch). */
static void test_damage_sweep(void)
{
	aoi_image a = {0}, b = {0};
	aoi_error err;
	const char *names[3] = {"sweep.png", "sweep.jpg", "sweepg.jpg"};
	unsigned long s = 12345;

	make_smooth(&a, 24, 16, 3);
	aoi_image_save(tmp_path(names[0]), &a, &err);
	aoi_image_save(tmp_path(names[1]), &a, &err);
	aoi_image_convert(&a, &b, 1, &err);
	aoi_image_save(tmp_path(names[2]), &b, &err);
	aoi_image_release(&a);
	aoi_image_release(&b);
	for (int f = 0; f < 3; f++) {
		size_t len, accepted = 0;
		unsigned char *buf = read_bytes(tmp_path(names[f]), &len), *m;
		if (!buf || !(m = malloc(len))) {
			CHECK(0);
			free(buf);
			continue;
		}
		for (size_t n = 0; n < len; n++)
			if (aoi_image_decode(buf, n, "cut", &a, &err) == 0) {
				accepted++;
				aoi_image_release(&a);
			}
		CHECK_MSG(accepted == 0, "%s: %zu truncations decoded", names[f], accepted);
		for (int it = 0; it < 400; it++) {
			memcpy(m, buf, len);
			for (int j = 0; j <= it % 3; j++) {
				s = s * 6364136223846793005UL + 1442695040888963407UL;
				m[(s >> 33) % len] ^= (unsigned char)(1 + (s >> 20 & 0xfe));
			}
			if (aoi_image_decode(m, len, "damaged", &a, &err) == 0)
				aoi_image_release(&a);
			else
				CHECK(err.code == AOI_EFORMAT && strcmp(err.where, "damaged") == 0);
		}
		free(m);
		free(buf);
	}
}

/* The real data, when it is there: DeepPCB's 640x640 gray JPEGs. */
static void test_deeppcb(void)
{
	const char *rel = "datasets/deeppcb/PCBData/group12300/12300/12300060_test.jpg";
	const char *bases[3] = {getenv("AOI_SHARED"), "../shared", "../../shared"};
	char path[1024];
	aoi_image img = {0};
	aoi_error err;
	int w, h, c;

	for (int i = 0; i < 3; i++) {
		if (!bases[i])
			continue;
		snprintf(path, sizeof path, "%s/%s", bases[i], rel);
		if (access(path, R_OK) != 0)
			continue;
		CHECK(aoi_image_probe(path, &w, &h, &c, &err) == 0);
		CHECK(w == 640 && h == 640 && c == 1);
		if (load_ok(path, &img))
			CHECK(img.width == 640 && img.height == 640 && img.channels == 1);
		aoi_image_release(&img);
		return;
	}
	printf("skipped: ../shared/datasets/deeppcb is absent\n");
}

/* ---- geometry ---- */

static void test_resize_bilinear_known(void)
{
	/* 2x2 -> 4x4, pixel centres: source x = (i + 0.5) / 2 - 0.5 =
	 * -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1). */
	uint8_t px[4] = {0, 100, 200, 40};
	aoi_image src = {2, 2, 1, px}, dst = {0};
	aoi_error err;
	/* rows: y weights as x. row0 = [0,25,75,100], row1 = [200,160,80,40] */
	static const uint8_t want[16] = {
		0, 25, 75, 100,
		50, 63, 75, 85,     /* 0.75*row0 + 0.25*row1: 50, 58.75, 76.25, 85 */
		150, 138, 78, 55,   /* 0.25*row0 + 0.75*row1 */
		200, 160, 80, 40,
	};
	uint8_t want_fixed[16];
	memcpy(want_fixed, want, 16);
	want_fixed[5] = 59;  /* 0.75*25 + 0.25*160 = 58.75 */
	want_fixed[6] = 76;  /* 0.75*75 + 0.25*80 = 76.25 */
	want_fixed[9] = 126; /* 0.25*25 + 0.75*160 = 126.25 */
	want_fixed[10] = 79; /* 0.25*75 + 0.75*80 = 78.75 */
	want_fixed[11] = 55; /* 0.25*100 + 0.75*40 = 55 */
	CHECK(aoi_image_resize(&src, &dst, 4, 4, AOI_RESIZE_BILINEAR, &err) == 0);
	for (int i = 0; i < 16; i++)
		CHECK_MSG(dst.data[i] == want_fixed[i], "pixel %d: %d != %d", i,
			  dst.data[i], want_fixed[i]);
	aoi_image_release(&dst);
}

/* Direct 4-neighbour bilinear in double precision, as OpenCV INTER_LINEAR
 * defines it, against the library's separable float version. */
static double bilinear_ref(const aoi_image *s, double sx, double sy, int c)
{
	sx = sx < 0 ? 0 : sx;
	sy = sy < 0 ? 0 : sy;
	int x0 = (int)sx, y0 = (int)sy;
	double fx = sx - x0, fy = sy - y0;
	if (x0 >= s->width - 1)
		x0 = s->width - 1, fx = 0;
	if (y0 >= s->height - 1)
		y0 = s->height - 1, fy = 0;
	int x1 = x0 + 1 < s->width ? x0 + 1 : x0, y1 = y0 + 1 < s->height ? y0 + 1 : y0;
#define P(x, y) s->data[((y) * s->width + (x)) * s->channels + c]
	return (1 - fy) * ((1 - fx) * P(x0, y0) + fx * P(x1, y0)) +
	       fy * ((1 - fx) * P(x0, y1) + fx * P(x1, y1));
#undef P
}

static void test_resize_bilinear_reference(void)
{
	aoi_image src = {0}, dst = {0};
	aoi_error err;
	int sizes[3][2] = {{5, 11}, {29, 3}, {13, 7}}, worst = 0;
	unsigned s = 7;

	aoi_image_alloc(&src, 13, 7, 3, &err);
	for (int i = 0; i < 13 * 7 * 3; i++)
		src.data[i] = (uint8_t)((s = s * 1103515245 + 12345) >> 16);
	for (int k = 0; k < 3; k++) {
		int w = sizes[k][0], h = sizes[k][1];
		CHECK(aoi_image_resize(&src, &dst, w, h, AOI_RESIZE_BILINEAR, &err) == 0);
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++)
				for (int c = 0; c < 3; c++) {
					double v = bilinear_ref(&src, (x + 0.5) * 13 / w - 0.5,
								(y + 0.5) * 7 / h - 0.5, c);
					int d = abs(dst.data[(y * w + x) * 3 + c] - (int)floor(v + 0.5));
					worst = d > worst ? d : worst;
				}
	}
	CHECK_INT(worst, 0);
	/* 4 -> 2 samples at 0.5 and 2.5: means of neighbours */
	uint8_t p4[4] = {10, 20, 30, 50};
	aoi_image s4 = {4, 1, 1, p4};
	CHECK(aoi_image_resize(&s4, &dst, 2, 1, AOI_RESIZE_BILINEAR, &err) == 0);
	CHECK(dst.data[0] == 15 && dst.data[1] == 40);
	aoi_image_release(&dst);
	aoi_image_release(&src);
}

static void test_resize_area_known(void)
{
	/* 4x2 -> 2x1: each output averages a 2x2 block */
	uint8_t px[8] = {0, 10, 100, 200, 20, 30, 50, 51};
	aoi_image src = {4, 2, 1, px}, dst = {0};
	aoi_error err;
	CHECK(aoi_image_resize(&src, &dst, 2, 1, AOI_RESIZE_AREA, &err) == 0);
	CHECK_INT(dst.data[0], 15);  /* (0+10+20+30)/4 */
	CHECK_INT(dst.data[1], 100); /* (100+200+50+51)/4 = 100.25 */
	aoi_image_release(&dst);
	/* 3 -> 2 fractional coverage: out0 = (p0 + 0.5 p1) / 1.5 */
	uint8_t p3[3] = {30, 60, 90};
	aoi_image s3 = {3, 1, 1, p3};
	CHECK(aoi_image_resize(&s3, &dst, 2, 1, AOI_RESIZE_AREA, &err) == 0);
	CHECK_INT(dst.data[0], 40); /* (30 + 30) / 1.5 */
	CHECK_INT(dst.data[1], 80); /* (30 + 90) / 1.5 */
	aoi_image_release(&dst);
	/* constant image stays constant under every mode */
	aoi_image c = {0};
	aoi_image_alloc(&c, 37, 23, 3, &err);
	memset(c.data, 77, 37 * 23 * 3);
	for (int m = 0; m < 3; m++) {
		CHECK(aoi_image_resize(&c, &dst, 11, 50, m, &err) == 0);
		int bad = 0;
		for (int i = 0; i < 11 * 50 * 3; i++)
			bad += dst.data[i] != 77;
		CHECK_INT(bad, 0);
		aoi_image_release(&dst);
	}
	aoi_image_release(&c);
	/* a whole row into one pixel: the mean */
	aoi_image_alloc(&c, 1000, 1, 1, &err);
	for (int i = 0; i < 1000; i++)
		c.data[i] = (uint8_t)(i % 2 ? 200 : 100);
	CHECK(aoi_image_resize(&c, &dst, 1, 3, AOI_RESIZE_AREA, &err) == 0);
	CHECK(dst.data[0] == 150 && dst.data[2] == 150);
	aoi_image_release(&dst);
	aoi_image_release(&c);
}

static void test_resize_nearest(void)
{
	uint8_t px[4] = {1, 2, 3, 4};
	aoi_image src = {4, 1, 1, px}, dst = {0};
	aoi_error err;
	CHECK(aoi_image_resize(&src, &dst, 2, 1, AOI_RESIZE_NEAREST, &err) == 0);
	CHECK(dst.data[0] == 2 && dst.data[1] == 4); /* centres 1.0 and 3.0 */
	CHECK(aoi_image_resize(&src, &dst, 8, 1, AOI_RESIZE_NEAREST, &err) == 0);
	static const uint8_t want[8] = {1, 1, 2, 2, 3, 3, 4, 4};
	CHECK(memcmp(dst.data, want, 8) == 0);
	CHECK(aoi_image_resize(&src, &dst, 0, 1, AOI_RESIZE_NEAREST, &err) == -1);
	CHECK(dst.data == NULL);
	CHECK(aoi_image_resize(&src, &src, 2, 1, AOI_RESIZE_NEAREST, &err) == -1);
	aoi_image_release(&dst);
}

static void test_resize_in_place(void)
{
	aoi_image img = { 0 };
	uint8_t *before;

	CHECK(aoi_image_alloc(&img, 4, 2, 1, NULL) == 0);
	for (int i = 0; i < 8; i++)
		img.data[i] = (uint8_t)(i < 4 ? 10 : 30);
	before = img.data;
	CHECK(aoi_image_resize_in_place(&img, 4, 2, NULL) == 0);
	CHECK(img.data == before); /* same size: untouched */
	CHECK(aoi_image_resize_in_place(&img, 2, 1, NULL) == 0);
	CHECK_INT(img.width, 2);
	CHECK_INT(img.height, 1);
	CHECK_INT(img.data[0], 20); /* area: the mean of 10 and 30 */
	aoi_image_release(&img);
}

static void test_crop_pad_convert(void)
{
	uint8_t px[6] = {1, 2, 3, 4, 5, 6}; /* 3x2 */
	aoi_image src = {3, 2, 1, px}, dst = {0}, back = {0};
	aoi_error err;

	CHECK(aoi_image_crop(&src, &dst, -1, 1, 3, 2, 9, &err) == 0);
	static const uint8_t want[6] = {9, 4, 5, 9, 9, 9};
	CHECK(dst.width == 3 && dst.height == 2 && memcmp(dst.data, want, 6) == 0);
	CHECK(aoi_image_crop(&src, &dst, 100, -100, 2, 2, 7, &err) == 0);
	CHECK(dst.data[0] == 7 && dst.data[3] == 7);
	CHECK(aoi_image_crop(&src, &dst, 2147483000, 0, 2, 2, 7, &err) == 0);
	CHECK(aoi_image_pad(&src, &dst, 1, 0, 0, 2, 0, &err) == 0);
	CHECK(dst.width == 5 && dst.height == 3);
	CHECK(dst.data[5 + 2] == 1 && dst.data[2 * 5 + 4] == 6 && dst.data[0] == 0);
	CHECK(aoi_image_pad(&src, &dst, 0, -3, 0, 0, 0, &err) == -1);
	/* convert: gray -> rgb -> gray is exact; rgb weights */
	CHECK(aoi_image_convert(&src, &dst, 3, &err) == 0);
	CHECK(dst.channels == 3 && dst.data[3] == 2 && dst.data[4] == 2 && dst.data[5] == 2);
	CHECK(aoi_image_convert(&dst, &back, 1, &err) == 0);
	CHECK(memcmp(back.data, px, 6) == 0);
	uint8_t rgb[6] = {255, 0, 0, 10, 200, 30};
	aoi_image c = {2, 1, 3, rgb};
	CHECK(aoi_image_convert(&c, &back, 1, &err) == 0);
	CHECK_INT(back.data[0], 76);  /* 0.299 * 255 = 76.2 */
	CHECK_INT(back.data[1], 124); /* 2.99 + 117.4 + 3.42 = 123.8 */
	CHECK(aoi_image_convert(&c, &back, 2, &err) == -1 && err.code == AOI_EINVAL);
	aoi_image_release(&dst);
	aoi_image_release(&back);
}

int main(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tmpdir, sizeof tmpdir, "%s/test_image.XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_sniff_alloc();
	test_png_gray8_interlaced();
	test_png_gray16();
	test_gray16();
	test_png_gray_alpha();
	test_png_rgb16_rgba();
	test_png_palette();
	test_png_roundtrip_ours();
	test_jpeg_roundtrip();
	test_bmp();
	test_bmp_line_camera_size();
	test_corrupt_png();
	test_corrupt_jpeg();
	test_damage_sweep();
	test_deeppcb();
	test_not_images();
	test_save_errors();
	test_resize_bilinear_known();
	test_resize_bilinear_reference();
	test_resize_area_known();
	test_resize_nearest();
	test_resize_in_place();
	test_crop_pad_convert();
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return check_done();
}
