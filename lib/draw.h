/* draw.h: drawing on 3-channel images, for renders and charts a person looks
 * at: lines, rectangles, filled rectangles, discs, mask overlays and text in
 * a built-in 5x7 bitmap font. Everything clips at the image border. */
#ifndef AOI_DRAW_H
#define AOI_DRAW_H

#include <stdint.h>

#include "image.h"

typedef struct aoi_rgb {
	uint8_t r, g, b;
} aoi_rgb;

/* A fixed palette of well-separated colours; class k uses aoi_draw_palette(k). */
aoi_rgb aoi_draw_palette(int k);

void aoi_draw_line(aoi_image *img, int x0, int y0, int x1, int y1, aoi_rgb c,
		   int thickness);
void aoi_draw_rect(aoi_image *img, int x0, int y0, int x1, int y1, aoi_rgb c,
		   int thickness);
void aoi_draw_fill_rect(aoi_image *img, int x0, int y0, int x1, int y1, aoi_rgb c);
void aoi_draw_disc(aoi_image *img, int cx, int cy, int radius, aoi_rgb c);
/* Blend colour c over pixels where mask[y * img->width + x] == value (or
 * != 0 when value < 0), with opacity alpha in [0, 1]. */
void aoi_draw_mask(aoi_image *img, const uint8_t *mask, int value, aoi_rgb c,
		   double alpha);
/* Text at (x, y) top-left, scale 1 = 5x7 pixels per glyph + 1 spacing.
 * Printable ASCII; returns the width drawn in pixels. */
int aoi_draw_text(aoi_image *img, int x, int y, const char *text, aoi_rgb c, int scale);
int aoi_draw_text_width(const char *text, int scale);

#endif
