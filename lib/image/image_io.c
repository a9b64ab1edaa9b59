/* image_io.c: format sniffing, and the decode/load/probe/save entry points
 * that dispatch to the codecs in image_png.c, image_jpeg.c and image_bmp.c. */
#include "image/image.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/fileio.h"
#include "image/image_codec.h"

enum aoi_image_format aoi_image_sniff(const unsigned char *buf, size_t len)
{
	static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

	if (len >= 8 && memcmp(buf, png_sig, 8) == 0)
		return AOI_FORMAT_PNG;
	if (len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff)
		return AOI_FORMAT_JPEG;
	if (len >= 2 && buf[0] == 'B' && buf[1] == 'M')
		return AOI_FORMAT_BMP;
	return AOI_FORMAT_UNKNOWN;
}

int aoi_image_decode(const unsigned char *buf, size_t len, const char *name,
		     aoi_image *img, aoi_error *err)
{
	memset(img, 0, sizeof *img);
	if (len == 0)
		return aoi_error_set(err, AOI_EFORMAT, name, 0, "empty file, not an image");
	switch (aoi_image_sniff(buf, len)) {
	case AOI_FORMAT_PNG:
		return aoi_image_decode_png(buf, len, name, img, err);
	case AOI_FORMAT_JPEG:
		return aoi_image_decode_jpeg(buf, len, name, img, err);
	case AOI_FORMAT_BMP:
		return aoi_image_decode_bmp(buf, len, name, img, err);
	default:
		return aoi_error_set(err, AOI_EFORMAT, name, 0,
				     "not a PNG, JPEG or BMP image");
	}
}

int aoi_image_load(const char *path, aoi_image *img, aoi_error *err)
{
	unsigned char *buf;
	size_t len;
	int rc;

	memset(img, 0, sizeof *img);
	if (aoi_file_read(path, &buf, &len, err) != 0)
		return -1;
	rc = aoi_image_decode(buf, len, path, img, err);
	free(buf);
	return rc;
}

int aoi_image_probe(const char *path, int *width, int *height, int *channels,
		    aoi_error *err)
{
	unsigned char head[8];
	size_t got;
	FILE *fp = fopen(path, "rb");
	int rc;

	if (!fp)
		return aoi_error_errno(err, path, "cannot open");
	got = fread(head, 1, sizeof head, fp);
	rewind(fp);
	switch (got == 0 ? AOI_FORMAT_UNKNOWN : aoi_image_sniff(head, got)) {
	case AOI_FORMAT_PNG:
		rc = aoi_image_probe_png(fp, path, width, height, channels, err);
		break;
	case AOI_FORMAT_JPEG:
		rc = aoi_image_probe_jpeg(fp, path, width, height, channels, err);
		break;
	case AOI_FORMAT_BMP:
		rc = aoi_image_probe_bmp(fp, path, width, height, channels, err);
		break;
	default:
		rc = aoi_error_set(err, AOI_EFORMAT, path, 0, got == 0 ?
				   "empty file, not an image" :
				   "not a PNG, JPEG or BMP image");
	}
	fclose(fp);
	return rc;
}

static int has_suffix(const char *path, const char *ext)
{
	size_t n = strlen(path), m = strlen(ext);

	return n > m && strcasecmp(path + n - m, ext) == 0;
}

int aoi_image_save(const char *path, const aoi_image *img, aoi_error *err)
{
	if (has_suffix(path, ".png"))
		return aoi_image_save_png(path, img, err);
	if (has_suffix(path, ".jpg") || has_suffix(path, ".jpeg"))
		return aoi_image_save_jpeg(path, img, 95, err);
	return aoi_error_set(err, AOI_EINVAL, path, 0,
			     "cannot tell the image format from the name "
			     "(use .png, .jpg or .jpeg)");
}
