/* image_codec.h: private to lib/image*.c, what the codec files share. Not
 * part of the public API. Each decoder fills *img only on success and leaves
 * it zeroed on failure; each error names `name`. */
#ifndef AOI_IMAGE_CODEC_H
#define AOI_IMAGE_CODEC_H

#include <stdio.h>

#include "image/image.h"

/* 0 when width x height x channels is a size we accept, else an error. */
int aoi_image_check_size(long width, long height, int channels, const char *name,
			 aoi_error *err);

/* 0 when img has pixels and a size a writer accepts. */
int aoi_image_check_writable(const aoi_image *img, const char *name, aoi_error *err);

int aoi_image_decode_png(const unsigned char *buf, size_t len, const char *name,
			 aoi_image *img, aoi_error *err);
int aoi_image_decode_jpeg(const unsigned char *buf, size_t len, const char *name,
			  aoi_image *img, aoi_error *err);
int aoi_image_decode_bmp(const unsigned char *buf, size_t len, const char *name,
			 aoi_image *img, aoi_error *err);

/* Header-only reads from an open file positioned at its start. */
int aoi_image_probe_png(FILE *fp, const char *name, int *width, int *height,
			int *channels, aoi_error *err);
int aoi_image_probe_jpeg(FILE *fp, const char *name, int *width, int *height,
			 int *channels, aoi_error *err);
int aoi_image_probe_bmp(FILE *fp, const char *name, int *width, int *height,
			int *channels, aoi_error *err);

#endif
