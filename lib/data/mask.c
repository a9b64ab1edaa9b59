/* mask.c: masks in memory, COCO RLE (compatible with pycocotools'
 * maskApi.c byte for byte), class-index PNG files, nearest resize. */
#include "data/mask.h"

#include <limits.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "base/fileio.h"

/* A count is a uint32 and a delta of two counts needs 34 bits with its
 * sign: at most 7 groups of 5 bits. */
#define RLE_MAX_GROUPS 7

int aoi_mask_alloc(aoi_mask *m, int width, int height, aoi_error *err)
{
	m->width = m->height = 0;
	m->data = NULL;
	if (width <= 0 || height <= 0 || (size_t)width > SIZE_MAX / (size_t)height ||
	    (long long)width * height > UINT32_MAX)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "bad mask size %dx%d", width, height);
	m->data = calloc((size_t)width * (size_t)height, 1);
	if (!m->data)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	m->width = width;
	m->height = height;
	return 0;
}

void aoi_mask_release(aoi_mask *m)
{
	if (!m)
		return;
	free(m->data);
	m->data = NULL;
	m->width = m->height = 0;
}

/* ---- counts <-> string (maskApi.c rleToString / rleFrString) ---- */

int aoi_rle_counts_to_string(const uint32_t *counts, size_t n, char **out,
			     aoi_error *err)
{
	char *s;
	size_t p = 0;

	*out = NULL;
	if (n > (SIZE_MAX - 1) / RLE_MAX_GROUPS)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	s = malloc(n * RLE_MAX_GROUPS + 1);
	if (!s)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	for (size_t i = 0; i < n; i++) {
		long long x = counts[i];
		int more = 1;

		/* Counts after the second are stored as the difference from the
		 * count two before (same-valued runs tend to repeat). */
		if (i > 2)
			x -= counts[i - 2];
		while (more) {
			int c = (int)(x & 0x1f);

			x >>= 5; /* arithmetic: the sign extends */
			more = (c & 0x10) ? x != -1 : x != 0;
			if (more)
				c |= 0x20;
			s[p++] = (char)(c + 48);
		}
	}
	s[p] = '\0';
	*out = s;
	return 0;
}

/* One value from s at *p (5-bit groups, sign-extended from the last). */
static int rle_read_value(const char *s, size_t *p, long long *value, aoi_error *err)
{
	long long x = 0;
	int k = 0, more = 1;

	while (more) {
		int c = (unsigned char)s[*p];

		if (c == '\0')
			return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
					     "RLE counts: string ends inside a count");
		if (c < 48 || c > 111)
			return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
					     "RLE counts: bad character '%c' at offset %zu",
					     c >= 32 && c < 127 ? c : '?', *p);
		if (k == RLE_MAX_GROUPS)
			return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
					     "RLE counts: count too long at offset %zu", *p);
		c -= 48;
		x |= (long long)(c & 0x1f) << (5 * k);
		more = c & 0x20;
		(*p)++;
		k++;
		if (!more && (c & 0x10))
			x |= (long long)((unsigned long long)-1 << (5 * k));
	}
	*value = x;
	return 0;
}

int aoi_rle_string_to_counts(const char *s, uint32_t **counts, size_t *n,
			     aoi_error *err)
{
	size_t len = strlen(s), p = 0, m = 0;
	uint32_t *c;

	*counts = NULL;
	*n = 0;
	/* Each count takes at least one character. */
	c = malloc((len ? len : 1) * sizeof *c);
	if (!c)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	while (s[p]) {
		long long x = 0;

		if (rle_read_value(s, &p, &x, err) < 0) {
			free(c);
			return -1;
		}
		if (m > 2)
			x += c[m - 2];
		if (x < 0 || x > UINT32_MAX) {
			free(c);
			return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
					     "RLE counts: count %zu is out of range (%lld)",
					     m + 1, x);
		}
		c[m++] = (uint32_t)x;
	}
	*counts = c;
	*n = m;
	return 0;
}

/* Parse and check that the counts cover exactly h*w pixels. */
static int rle_parse_sized(const char *s, int height, int width, uint32_t **counts,
			   size_t *n, aoi_error *err)
{
	unsigned long long total = 0, area = (unsigned long long)height * width;

	if (!s)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "RLE counts: no string");
	if (aoi_rle_string_to_counts(s, counts, n, err) < 0)
		return -1;
	for (size_t i = 0; i < *n; i++) {
		total += (*counts)[i];
		if (total > area)
			break;
	}
	if (total != area) {
		free(*counts);
		*counts = NULL;
		return aoi_error_set(err, AOI_ESHAPE, NULL, 0,
				     "RLE counts %s %dx%d = %llu pixels",
				     total > area ? "exceed" : "do not add up to",
				     height, width, area);
	}
	return 0;
}

/* ---- mask <-> RLE ---- */

static int is_set(uint8_t v, int value)
{
	return value < 0 ? v != 0 : v == value;
}

/* Append to a growing counts array. */
static int counts_push(uint32_t **c, size_t *n, size_t *cap, uint32_t v)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		uint32_t *t = realloc(*c, nc * sizeof *t);

		if (!t)
			return -1;
		*c = t;
		*cap = nc;
	}
	(*c)[(*n)++] = v;
	return 0;
}

char *aoi_rle_encode(const aoi_mask *m, int value, aoi_error *err)
{
	uint32_t *c = NULL, run = 0;
	size_t n = 0, cap = 0;
	int cur = 0; /* counts start with a run of zeros */
	char *s = NULL;

	/* Column-major, as pycocotools sees a Fortran-ordered array. */
	for (int x = 0; x < m->width; x++) {
		const uint8_t *col = m->data + x;

		for (int y = 0; y < m->height; y++) {
			int v = is_set(col[(size_t)y * m->width], value);

			if (v != cur) {
				if (counts_push(&c, &n, &cap, run) < 0)
					goto oom;
				run = 0;
				cur = v;
			}
			run++;
		}
	}
	if (counts_push(&c, &n, &cap, run) < 0)
		goto oom;
	aoi_rle_counts_to_string(c, n, &s, err);
	free(c);
	return s;
oom:
	free(c);
	aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	return NULL;
}

int aoi_rle_decode(const char *counts, aoi_mask *m, uint8_t value, aoi_error *err)
{
	uint32_t *c;
	size_t n, pos = 0;
	size_t h = (size_t)m->height, w = (size_t)m->width;

	if (rle_parse_sized(counts, m->height, m->width, &c, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (i % 2 == 1) {
			/* A run of ones, pixel index pos in column-major order. */
			size_t x = pos / h, y = pos % h;

			for (uint32_t k = 0; k < c[i]; k++) {
				m->data[y * w + x] = value;
				if (++y == h) {
					y = 0;
					x++;
				}
			}
		}
		pos += c[i];
	}
	free(c);
	return 0;
}

long aoi_rle_area(const char *counts, int height, int width, aoi_error *err)
{
	uint32_t *c;
	size_t n;
	long area = 0;

	if (height <= 0 || width <= 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "bad RLE size %dx%d", height, width);
	if (rle_parse_sized(counts, height, width, &c, &n, err) < 0)
		return -1;
	for (size_t i = 1; i < n; i += 2)
		area += c[i];
	free(c);
	return area;
}

/* ---- class-index PNG ---- */

typedef struct png_ctx {
	const unsigned char *buf;
	size_t len, pos;
	png_bytep *rows;
	char msg[256];
	jmp_buf jmp;
} png_ctx;

static void png_on_error(png_structp png, png_const_charp msg)
{
	png_ctx *ctx = png_get_error_ptr(png);

	snprintf(ctx->msg, sizeof ctx->msg, "%s", msg);
	longjmp(ctx->jmp, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg; /* warnings (such as unknown chunks) do not stop a load */
}

static void png_read_mem(png_structp png, png_bytep out, png_size_t n)
{
	png_ctx *ctx = png_get_io_ptr(png);

	if (n > ctx->len - ctx->pos)
		png_error(png, "truncated file");
	memcpy(out, ctx->buf + ctx->pos, n);
	ctx->pos += n;
}

/* Read the pixels into m, after the header; libpng errors longjmp out. */
static void png_read_pixels(png_structp png, png_infop info, png_ctx *ctx,
			    aoi_mask *m, aoi_error *err)
{
	png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);

	if (png_get_bit_depth(png, info) < 8)
		png_set_packing(png); /* one index per byte, not rescaled */
	png_set_interlace_handling(png);
	png_read_update_info(png, info);
	if (w > INT_MAX || h > INT_MAX || aoi_mask_alloc(m, (int)w, (int)h, err) < 0)
		png_error(png, "image too large");
	ctx->rows = malloc(h * sizeof *ctx->rows);
	if (!ctx->rows)
		png_error(png, "out of memory");
	for (png_uint_32 y = 0; y < h; y++)
		ctx->rows[y] = m->data + (size_t)y * w;
	png_read_image(png, ctx->rows);
	png_read_end(png, NULL);
}

/* The pixels of an 8-bit (or less) single-channel image: gray or palette
 * indices (the palette's colours are ignored: an index is a class). */
static int png_decode_mask(png_ctx *ctx, const char *path, aoi_mask *m,
			   aoi_error *err)
{
	png_structp png;
	png_infop info = NULL;
	int type, depth;

	png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, png_on_error,
				     png_on_warning);
	if (!png || !(info = png_create_info_struct(png))) {
		png_destroy_read_struct(&png, NULL, NULL);
		return aoi_error_set(err, AOI_ENOMEM, path, 0, "out of memory");
	}
	if (setjmp(ctx->jmp)) {
		png_destroy_read_struct(&png, &info, NULL);
		aoi_mask_release(m);
		return aoi_error_set(err, AOI_EFORMAT, path, 0, "bad PNG: %s", ctx->msg);
	}
	png_set_read_fn(png, ctx, png_read_mem);
	png_read_info(png, info);
	type = png_get_color_type(png, info);
	depth = png_get_bit_depth(png, info);
	if ((type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_PALETTE) && depth <= 8)
		png_read_pixels(png, info, ctx, m, err);
	png_destroy_read_struct(&png, &info, NULL);
	if (!m->data)
		return aoi_error_set(err, AOI_EFORMAT, path, 0,
				     "a mask must be an 8-bit single-channel PNG "
				     "(this one has color type %d, %d bits)", type, depth);
	return 0;
}

int aoi_mask_load_png(const char *path, aoi_mask *m, aoi_error *err)
{
	unsigned char *buf;
	size_t len;
	png_ctx ctx;
	int rc;

	m->data = NULL;
	m->width = m->height = 0;
	if (aoi_file_read(path, &buf, &len, err) < 0)
		return -1;
	if (len < 8 || png_sig_cmp(buf, 0, 8) != 0) {
		free(buf);
		return aoi_error_set(err, AOI_EFORMAT, path, 0, "not a PNG file");
	}
	memset(&ctx, 0, sizeof ctx);
	ctx.buf = buf;
	ctx.len = len;
	rc = png_decode_mask(&ctx, path, m, err);
	free(ctx.rows);
	free(buf);
	return rc;
}

static int png_write_mask(FILE *fp, const aoi_mask *m, png_ctx *ctx)
{
	png_structp png;
	png_infop info = NULL;

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, png_on_error,
				      png_on_warning);
	if (!png || !(info = png_create_info_struct(png))) {
		png_destroy_write_struct(&png, NULL);
		snprintf(ctx->msg, sizeof ctx->msg, "out of memory");
		return -1;
	}
	if (setjmp(ctx->jmp)) {
		png_destroy_write_struct(&png, &info);
		return -1;
	}
	png_init_io(png, fp);
	png_set_IHDR(png, info, (png_uint_32)m->width, (png_uint_32)m->height, 8,
		     PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < m->height; y++)
		png_write_row(png, m->data + (size_t)y * m->width);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	return 0;
}

int aoi_mask_save_png(const char *path, const aoi_mask *m, aoi_error *err)
{
	aoi_atomic_file f;
	png_ctx ctx;

	if (!m->data || m->width <= 0 || m->height <= 0)
		return aoi_error_set(err, AOI_EINVAL, path, 0, "empty mask");
	if (aoi_atomic_open(&f, path, err) < 0)
		return -1;
	memset(&ctx, 0, sizeof ctx);
	if (png_write_mask(f.fp, m, &ctx) < 0) {
		aoi_atomic_abort(&f);
		return aoi_error_set(err, AOI_EIO, path, 0, "cannot write PNG: %s",
				     ctx.msg);
	}
	return aoi_atomic_commit(&f, err);
}

/* ---- geometry ---- */

int aoi_mask_resize(const aoi_mask *src, aoi_mask *dst, int width, int height,
		    aoi_error *err)
{
	aoi_mask_release(dst);
	if (aoi_mask_alloc(dst, width, height, err) < 0)
		return -1;
	for (int y = 0; y < height; y++) {
		/* The source pixel under this pixel's centre. */
		size_t sy = ((size_t)(2 * y + 1) * src->height) / (2 * (size_t)height);
		const uint8_t *srow = src->data + sy * src->width;
		uint8_t *drow = dst->data + (size_t)y * width;

		for (int x = 0; x < width; x++)
			drow[x] = srow[((size_t)(2 * x + 1) * src->width) / (2 * (size_t)width)];
	}
	return 0;
}

long aoi_mask_count(const aoi_mask *m, int value)
{
	size_t n = (size_t)m->width * m->height;
	long count = 0;

	for (size_t i = 0; i < n; i++)
		count += is_set(m->data[i], value);
	return count;
}
