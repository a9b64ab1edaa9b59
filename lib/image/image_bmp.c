/* image_bmp.c: uncompressed Windows BMP, as line-scan cameras write them:
 * 24-bit BGR, or 8-bit with a palette (a gray palette gives a 1-channel
 * image), rows bottom-up (positive height) or top-down (negative height).
 * Every size in the header is checked against the bytes really present. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "image/image_codec.h"

#define BMP_FILE_HEADER 14
#define BMP_CORE_HEADER 12   /* OS/2 BITMAPCOREHEADER: 16-bit sizes */
#define BMP_MAX_PALETTE 256

struct bmp_info {
	long width, height; /* height > 0 after flipping the sign */
	int top_down;
	int bits;
	size_t pixel_offset, stride;
	int ncolors;
	uint8_t palette[BMP_MAX_PALETTE][3]; /* RGB */
	int gray;                            /* every palette entry r == g == b */
};

static unsigned get16(const unsigned char *p)
{
	return p[0] | (unsigned)p[1] << 8;
}

static uint32_t get32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int bmp_read_palette(const unsigned char *buf, size_t len, size_t at,
			    int entry, struct bmp_info *bi, const char *name,
			    aoi_error *err)
{
	if (at > len || (size_t)bi->ncolors * entry > len - at)
		return aoi_error_set(err, AOI_EFORMAT, name, 0,
				     "corrupt BMP: palette reaches beyond the file");
	bi->gray = 1;
	for (int i = 0; i < bi->ncolors; i++) {
		const unsigned char *p = buf + at + (size_t)i * entry;
		bi->palette[i][0] = p[2];
		bi->palette[i][1] = p[1];
		bi->palette[i][2] = p[0];
		if (p[0] != p[1] || p[1] != p[2])
			bi->gray = 0;
	}
	return 0;
}

/* The info header: sizes, depth, compression and the palette. */
static int bmp_parse_info(const unsigned char *buf, size_t len, struct bmp_info *bi,
			  const char *name, aoi_error *err)
{
	uint32_t hsize = get32(buf + BMP_FILE_HEADER);
	int32_t h;
	uint32_t compression = 0, used = 0;

	if (hsize != BMP_CORE_HEADER && hsize < 40)
		return aoi_error_set(err, AOI_EFORMAT, name, 0,
				     "corrupt BMP: info header of %u bytes", (unsigned)hsize);
	if (len < BMP_FILE_HEADER + (size_t)(hsize == BMP_CORE_HEADER ? 12 : 40))
		return aoi_error_set(err, AOI_EFORMAT, name, 0, "corrupt BMP: file is truncated");
	const unsigned char *p = buf + BMP_FILE_HEADER;
	if (hsize == BMP_CORE_HEADER) {
		bi->width = get16(p + 4);
		h = (int32_t)get16(p + 6);
		bi->bits = (int)get16(p + 10);
	} else {
		bi->width = (int32_t)get32(p + 4);
		h = (int32_t)get32(p + 8);
		bi->bits = (int)get16(p + 14);
		compression = get32(p + 16);
		used = get32(p + 32);
	}
	bi->top_down = h < 0;
	bi->height = h < 0 ? -(long)h : (long)h;
	if (compression != 0)
		return aoi_error_set(err, AOI_EFORMAT, name, 0,
				     "unsupported BMP: compressed (type %u)",
				     (unsigned)compression);
	if (bi->bits != 24 && bi->bits != 8)
		return aoi_error_set(err, AOI_EFORMAT, name, 0,
				     "unsupported BMP: %d bits per pixel (24 or 8 only)",
				     bi->bits);
	if (bi->bits == 8) {
		if (used > BMP_MAX_PALETTE)
			return aoi_error_set(err, AOI_EFORMAT, name, 0,
					     "corrupt BMP: %u palette colours", (unsigned)used);
		bi->ncolors = used ? (int)used : BMP_MAX_PALETTE;
		return bmp_read_palette(buf, len, BMP_FILE_HEADER + (size_t)hsize,
					hsize == BMP_CORE_HEADER ? 3 : 4, bi, name, err);
	}
	return 0;
}

/* Parse the headers in buf (the whole file, or at least its headers and
 * palette). */
static int bmp_parse_headers(const unsigned char *buf, size_t len, struct bmp_info *bi,
			     const char *name, aoi_error *err)
{
	memset(bi, 0, sizeof *bi);
	if (len < BMP_FILE_HEADER + 4 || buf[0] != 'B' || buf[1] != 'M')
		return aoi_error_set(err, AOI_EFORMAT, name, 0,
				     "corrupt BMP: file is truncated");
	if (bmp_parse_info(buf, len, bi, name, err) != 0)
		return -1;
	if (aoi_image_check_size(bi->width, bi->height, bi->bits == 8 && bi->gray ? 1 : 3,
				 name, err) != 0)
		return -1;
	bi->pixel_offset = get32(buf + 10);
	bi->stride = ((size_t)bi->width * bi->bits + 31) / 32 * 4;
	return 0;
}

/* A header may lie: the pixel rows it describes must fit in the file. The
 * last row may omit its padding; all else must be there. */
static int bmp_check_pixels(const struct bmp_info *bi, size_t file_len,
			    const char *name, aoi_error *err)
{
	size_t need = bi->stride * (size_t)(bi->height - 1) +
		      (size_t)bi->width * (bi->bits / 8);

	if (bi->pixel_offset > file_len || need > file_len - bi->pixel_offset)
		return aoi_error_set(err, AOI_EFORMAT, name, 0,
				     "corrupt BMP: header says %ldx%ld at %d bits "
				     "from byte %zu, but the file has only %zu bytes",
				     bi->width, bi->height, bi->bits, bi->pixel_offset,
				     file_len);
	return 0;
}

static void bmp_copy_row(const struct bmp_info *bi, const unsigned char *s,
			 uint8_t *d, int channels)
{
	if (bi->bits == 24) {
		for (long x = 0; x < bi->width; x++, s += 3, d += 3) {
			d[0] = s[2];
			d[1] = s[1];
			d[2] = s[0];
		}
		return;
	}
	/* An index past the palette is black rather than a read out of bounds. */
	for (long x = 0; x < bi->width; x++, d += channels) {
		int i = s[x];
		if (i >= bi->ncolors) {
			memset(d, 0, channels);
			continue;
		}
		if (channels == 1)
			d[0] = bi->palette[i][0];
		else
			memcpy(d, bi->palette[i], 3);
	}
}

int aoi_image_decode_bmp(const unsigned char *buf, size_t len, const char *name,
			 aoi_image *img, aoi_error *err)
{
	struct bmp_info bi;
	int ch;

	memset(img, 0, sizeof *img);
	if (bmp_parse_headers(buf, len, &bi, name, err) != 0 ||
	    bmp_check_pixels(&bi, len, name, err) != 0)
		return -1;
	ch = bi.bits == 8 && bi.gray ? 1 : 3;
	if (aoi_image_alloc(img, bi.width, bi.height, ch, err) != 0) {
		aoi_error_locate(err, name, 0);
		return -1;
	}
	for (long y = 0; y < bi.height; y++) {
		long row = bi.top_down ? y : bi.height - 1 - y;
		bmp_copy_row(&bi, buf + bi.pixel_offset + (size_t)row * bi.stride,
			     img->data + (size_t)y * bi.width * ch, ch);
	}
	return 0;
}

/* Reads the headers and palette (at most 14 + 124 + 1024 bytes); the pixel
 * rows are checked against the file size without being read. */
int aoi_image_probe_bmp(FILE *fp, const char *name, int *width, int *height,
			int *channels, aoi_error *err)
{
	unsigned char head[BMP_FILE_HEADER + 124 + 4 * BMP_MAX_PALETTE];
	struct bmp_info bi;
	size_t got = fread(head, 1, sizeof head, fp);
	long len;

	if (ferror(fp))
		return aoi_error_errno(err, name, "read failed");
	if (fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0)
		return aoi_error_errno(err, name, "cannot seek");
	if (bmp_parse_headers(head, got, &bi, name, err) != 0 ||
	    bmp_check_pixels(&bi, (size_t)len, name, err) != 0)
		return -1;
	*width = (int)bi.width;
	*height = (int)bi.height;
	*channels = bi.bits == 8 && bi.gray ? 1 : 3;
	return 0;
}
