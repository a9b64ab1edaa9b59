/* mask.h: defect masks: COCO run-length encoding and class-index PNG files.
 *
 * A mask in memory is one byte per pixel, row-major, width x height; 0 is
 * background, k > 0 is class k (or 1 = defect for a binary mask).
 *
 * COCO RLE (as pycocotools): the mask is scanned in column-major order
 * (down each column, then the next column), counts alternate runs of 0 and
 * 1 starting with 0, and the compressed string stores each count as 5-bit
 * groups + 48 with a continuation bit, counts after the second as the
 * difference from the count two before. In a record: {"size":[h,w],
 * "counts":"..."}. */
#ifndef AOI_MASK_H
#define AOI_MASK_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct aoi_mask {
	int width, height;
	uint8_t *data;
} aoi_mask;

int aoi_mask_alloc(aoi_mask *m, int width, int height, aoi_error *err); /* zeroed */
void aoi_mask_release(aoi_mask *m);

/* The compressed counts string of the pixels where data == value (or != 0
 * when value < 0). Returns a malloc'd string the caller frees, or NULL. */
char *aoi_rle_encode(const aoi_mask *m, int value, aoi_error *err);
/* Set pixels covered by the RLE string to `value` in m (m is width x height
 * and must match the RLE's size). A malformed string or one whose counts do
 * not add up to h*w is an error. */
int aoi_rle_decode(const char *counts, aoi_mask *m, uint8_t value, aoi_error *err);
/* Area (pixels set) of an RLE string over h*w pixels, without decoding. */
long aoi_rle_area(const char *counts, int height, int width, aoi_error *err);

/* Uncompressed counts <-> string, exposed for tests against pycocotools. */
int aoi_rle_counts_to_string(const uint32_t *counts, size_t n, char **out,
			     aoi_error *err);
int aoi_rle_string_to_counts(const char *s, uint32_t **counts, size_t *n,
			     aoi_error *err);

/* Class-index masks as 8-bit gray PNG (atomic write). Loading a PNG that is
 * not single-channel is an error. */
int aoi_mask_load_png(const char *path, aoi_mask *m, aoi_error *err);
int aoi_mask_save_png(const char *path, const aoi_mask *m, aoi_error *err);

/* Resize with nearest neighbour (class indices must not be blended). */
int aoi_mask_resize(const aoi_mask *src, aoi_mask *dst, int width, int height,
		    aoi_error *err);
long aoi_mask_count(const aoi_mask *m, int value); /* value < 0: nonzero */

#endif
