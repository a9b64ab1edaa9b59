/* draw.h: drawing on 3-channel images, for renders and charts a person looks
 * at: lines, rectangles, filled rectangles, discs, mask overlays and text in
 * a built-in 5x7 bitmap font. Everything clips at the image border.
 * On a 1-channel image the colour's gray value (0.299 R + 0.587 G +
 * 0.114 B) is drawn; other channel counts are left untouched. */
#ifndef AOI_DRAW_H
#define AOI_DRAW_H

#include <stdint.h>

#include "image/image.h"

typedef struct aoi_rgb {
	uint8_t r, g, b;
} aoi_rgb;

/* A fixed palette of well-separated colours; class k uses aoi_draw_palette(k). */
aoi_rgb aoi_draw_palette(int k);

/* Line from (x0, y0) to (x1, y1), both ends included (Bresenham), each
 * point a thickness x thickness square. */
void aoi_draw_line(aoi_image *img, int x0, int y0, int x1, int y1, aoi_rgb c,
		   int thickness);
/* Rectangles cover [x0, x1) x [y0, y1), x1 and y1 exclusive like the
 * dataset's boxes; the outline's thickness grows inward. */
void aoi_draw_rect(aoi_image *img, int x0, int y0, int x1, int y1, aoi_rgb c,
		   int thickness);
void aoi_draw_fill_rect(aoi_image *img, int x0, int y0, int x1, int y1, aoi_rgb c);
/* Pixels with dx^2 + dy^2 <= r^2 + r (a round disc even for small r). */
void aoi_draw_disc(aoi_image *img, int cx, int cy, int radius, aoi_rgb c);
/* Blend colour c over pixels where mask[y * img->width + x] == value (or
 * != 0 when value < 0), with opacity alpha in [0, 1]. */
void aoi_draw_mask(aoi_image *img, const uint8_t *mask, int value, aoi_rgb c,
		   double alpha);
/* Text at (x, y) top-left, scale 1 = 5x7 pixels per glyph + 1 spacing.
 * Printable ASCII (others drawn as '?'); returns the width drawn in
 * pixels, 6 * scale per character less the last spacing; the height is
 * 7 * scale. */
int aoi_draw_text(aoi_image *img, int x, int y, const char *text, aoi_rgb c, int scale);
int aoi_draw_text_width(const char *text, int scale);

#endif
