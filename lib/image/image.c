/* image.c: image lifecycle: sizes we accept, allocation, copies. Reading
 * and writing files is image_io.c's. */
#include "image/image.h"

#include <stdlib.h>
#include <string.h>

#include "image/image_codec.h"

int aoi_image_check_size(long width, long height, int channels, const char *name,
			 aoi_error *err)
{
	if (width <= 0 || height <= 0)
		return aoi_error_set(err, AOI_EFORMAT, name, 0,
				     "bad image size %ldx%ld", width, height);
	if (width > AOI_IMAGE_MAX_DIM || height > AOI_IMAGE_MAX_DIM)
		return aoi_error_set(err, AOI_EFORMAT, name, 0,
				     "image size %ldx%ld is beyond the limit of %d",
				     width, height, AOI_IMAGE_MAX_DIM);
	if (channels < 1 || channels > 4)
		return aoi_error_set(err, AOI_EINVAL, name, 0,
				     "bad channel count %d", channels);
	/* Both sides are at most 65535, so this product cannot overflow. */
	if ((size_t)width * (size_t)height * (size_t)channels > AOI_IMAGE_MAX_BYTES)
		return aoi_error_set(err, AOI_EFORMAT, name, 0,
				     "image %ldx%ldx%d is too large", width, height,
				     channels);
	return 0;
}

int aoi_image_check_writable(const aoi_image *img, const char *name, aoi_error *err)
{
	if (!img || !img->data)
		return aoi_error_set(err, AOI_EINVAL, name, 0, "no image to write");
	return aoi_image_check_size(img->width, img->height, img->channels, name, err);
}

int aoi_image_alloc(aoi_image *img, int width, int height, int channels, aoi_error *err)
{
	memset(img, 0, sizeof *img);
	if (aoi_image_check_size(width, height, channels, NULL, err) != 0)
		return -1;
	img->data = calloc((size_t)width * height * channels, 1);
	if (!img->data)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0,
				     "out of memory for a %dx%dx%d image", width,
				     height, channels);
	img->width = width;
	img->height = height;
	img->channels = channels;
	return 0;
}

void aoi_image_release(aoi_image *img)
{
	if (!img)
		return;
	free(img->data);
	memset(img, 0, sizeof *img);
}

int aoi_image_copy(const aoi_image *src, aoi_image *dst, aoi_error *err)
{
	if (!src || !src->data) {
		memset(dst, 0, sizeof *dst);
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "no image to copy");
	}
	if (aoi_image_alloc(dst, src->width, src->height, src->channels, err) != 0)
		return -1;
	memcpy(dst->data, src->data, (size_t)src->width * src->height * src->channels);
	return 0;
}
