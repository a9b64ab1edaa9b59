/* image.h: images in memory, and reading and writing them.
 *
 * In memory an image is 8 bits per sample, interleaved, row-major:
 * data[(y * width + x) * channels + c]. Loading gives 1 channel (gray) or
 * 3 (RGB): alpha is dropped (composited on black), palettes are expanded,
 * 16-bit samples are scaled to 8 bits. The struct is plain data owned by the
 * caller: aoi_image_alloc() fills it, aoi_image_release() frees data. */
#ifndef AOI_IMAGE_H
#define AOI_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* Limits that guard against absurd headers: a side longer than
 * AOI_IMAGE_MAX_DIM or more than AOI_IMAGE_MAX_BYTES of samples is refused. */
#define AOI_IMAGE_MAX_DIM 65535
#define AOI_IMAGE_MAX_BYTES ((size_t)1 << 31)

typedef struct aoi_image {
	int width, height, channels;
	uint8_t *data;
} aoi_image;

enum aoi_image_format { AOI_FORMAT_UNKNOWN, AOI_FORMAT_PNG, AOI_FORMAT_JPEG, AOI_FORMAT_BMP };

enum aoi_resize_mode { AOI_RESIZE_NEAREST, AOI_RESIZE_BILINEAR, AOI_RESIZE_AREA };

/* data zeroed; 0 or -1. Width and height 1..AOI_IMAGE_MAX_DIM, channels
 * 1..4. Load, decode, copy and alloc overwrite *img without releasing it;
 * the geometry calls below release dst first. */
int aoi_image_alloc(aoi_image *img, int width, int height, int channels, aoi_error *err);
void aoi_image_release(aoi_image *img); /* frees data; safe on a zeroed struct */
int aoi_image_copy(const aoi_image *src, aoi_image *dst, aoi_error *err);

/* Format by magic bytes, not by extension. */
enum aoi_image_format aoi_image_sniff(const unsigned char *buf, size_t len);

/* PNG (any bit depth and colour type), JPEG (gray, YCbCr/RGB; not CMYK)
 * or uncompressed BMP (24-bit, or 8-bit palette: gray palettes give 1
 * channel; bottom-up or top-down). A corrupt or truncated file (bad
 * CRC, premature end of JPEG data) is an error naming path. */
int aoi_image_load(const char *path, aoi_image *img, aoi_error *err);
int aoi_image_decode(const unsigned char *buf, size_t len, const char *name,
		     aoi_image *img, aoi_error *err);
/* Width, height and channels (after the conversion above) from the header
 * alone, without decoding the pixels. */
int aoi_image_probe(const char *path, int *width, int *height, int *channels,
		    aoi_error *err);

/* Atomic writes (temporary name, then rename). The format follows the
 * extension: .png, .jpg/.jpeg; anything else is an error. */
int aoi_image_save(const char *path, const aoi_image *img, aoi_error *err);
int aoi_image_save_png(const char *path, const aoi_image *img, aoi_error *err);
int aoi_image_save_jpeg(const char *path, const aoi_image *img, int quality,
			aoi_error *err);
/* PNG into a malloc'd buffer (for hashing, queues). */
int aoi_image_encode_png(const aoi_image *img, unsigned char **buf, size_t *len,
			 aoi_error *err);
/* JPEG (1 or 3 channels, quality 1..100) into a malloc'd buffer. */
int aoi_image_encode_jpeg(const aoi_image *img, int quality, unsigned char **buf,
			  size_t *len, aoi_error *err);

/* 16-bit gray maps (anomaly maps, man/aoi-dataset.5): width x height
 * samples, row-major, plain data owned by the caller like aoi_image.
 * Loading takes any gray PNG: 16-bit samples as they are, 1- to 8-bit ones
 * widened so that the share of full scale stays (8-bit v becomes v x 257);
 * alpha is dropped; a colour or palette PNG is an error. Saving writes a
 * 16-bit gray PNG (atomic). */
typedef struct aoi_gray16 {
	int width, height;
	uint16_t *data;
} aoi_gray16;

int aoi_gray16_alloc(aoi_gray16 *g, int width, int height, aoi_error *err); /* zeroed */
void aoi_gray16_release(aoi_gray16 *g);
int aoi_gray16_load_png(const char *path, aoi_gray16 *g, aoi_error *err);
int aoi_gray16_save_png(const char *path, const aoi_gray16 *g, aoi_error *err);

/* Geometry. dst is allocated by the call (any old data is released first)
 * and must not alias src.
 * NEAREST picks the source pixel under the destination pixel centre
 * (like PIL NEAREST and PyTorch 'nearest-exact'). BILINEAR aligns pixel
 * centres like OpenCV INTER_LINEAR and PyTorch align_corners=False. AREA
 * averages the source pixels each destination pixel covers (fractional
 * coverage at the edges, like OpenCV INTER_AREA); along an axis that grows
 * it is bilinear. Results are rounded to nearest. */
int aoi_image_resize(const aoi_image *src, aoi_image *dst, int width, int height,
		     enum aoi_resize_mode mode, aoi_error *err);
/* The rectangle may reach outside src; outside pixels are `fill`. */
int aoi_image_crop(const aoi_image *src, aoi_image *dst, int x, int y, int width,
		   int height, uint8_t fill, aoi_error *err);
/* Negative margins crop. */
int aoi_image_pad(const aoi_image *src, aoi_image *dst, int top, int right,
		  int bottom, int left, uint8_t fill, aoi_error *err);
/* Resize img itself (area filter when shrinking); nothing to do when it
 * already has that size. img is left as it was on failure. */
int aoi_image_resize_in_place(aoi_image *img, int width, int height, aoi_error *err);
/* 1 <-> 3 channels (gray = 0.299 R + 0.587 G + 0.114 B, rounded). */
int aoi_image_convert(const aoi_image *src, aoi_image *dst, int channels,
		      aoi_error *err);

#endif
