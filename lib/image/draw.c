/* draw.c: lines, rectangles, discs, mask overlays and 5x7 text on images.
 * Every primitive ends in fill_span(), which clips, so no caller can write
 * outside the image whatever coordinates it passes. */
#include "image/draw.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Sasha Trubetskoy's "20 distinct colours", the first twelve: chosen to be
 * told apart on screen and in print. */
static const aoi_rgb palette[] = {
	{230, 25, 75},   {60, 180, 75},   {255, 225, 25}, {0, 130, 200},
	{245, 130, 48},  {145, 30, 180},  {70, 240, 240}, {240, 50, 230},
	{210, 245, 60},  {250, 190, 212}, {0, 128, 128},  {170, 110, 40},
};
#define NPALETTE ((int)(sizeof palette / sizeof palette[0]))

/* The classic 5x7 font, ASCII 32..126: five columns per glyph, bit 0 the
 * top row. */
static const uint8_t font5x7[95][5] = {
	{0x00, 0x00, 0x00, 0x00, 0x00}, {0x00, 0x00, 0x5F, 0x00, 0x00}, /*   ! */
	{0x00, 0x07, 0x00, 0x07, 0x00}, {0x14, 0x7F, 0x14, 0x7F, 0x14}, /* " # */
	{0x24, 0x2A, 0x7F, 0x2A, 0x12}, {0x23, 0x13, 0x08, 0x64, 0x62}, /* $ % */
	{0x36, 0x49, 0x55, 0x22, 0x50}, {0x00, 0x05, 0x03, 0x00, 0x00}, /* & ' */
	{0x00, 0x1C, 0x22, 0x41, 0x00}, {0x00, 0x41, 0x22, 0x1C, 0x00}, /* ( ) */
	{0x14, 0x08, 0x3E, 0x08, 0x14}, {0x08, 0x08, 0x3E, 0x08, 0x08}, /* * + */
	{0x00, 0x50, 0x30, 0x00, 0x00}, {0x08, 0x08, 0x08, 0x08, 0x08}, /* , - */
	{0x00, 0x60, 0x60, 0x00, 0x00}, {0x20, 0x10, 0x08, 0x04, 0x02}, /* . / */
	{0x3E, 0x51, 0x49, 0x45, 0x3E}, {0x00, 0x42, 0x7F, 0x40, 0x00}, /* 0 1 */
	{0x42, 0x61, 0x51, 0x49, 0x46}, {0x21, 0x41, 0x45, 0x4B, 0x31}, /* 2 3 */
	{0x18, 0x14, 0x12, 0x7F, 0x10}, {0x27, 0x45, 0x45, 0x45, 0x39}, /* 4 5 */
	{0x3C, 0x4A, 0x49, 0x49, 0x30}, {0x01, 0x71, 0x09, 0x05, 0x03}, /* 6 7 */
	{0x36, 0x49, 0x49, 0x49, 0x36}, {0x06, 0x49, 0x49, 0x29, 0x1E}, /* 8 9 */
	{0x00, 0x36, 0x36, 0x00, 0x00}, {0x00, 0x56, 0x36, 0x00, 0x00}, /* : ; */
	{0x08, 0x14, 0x22, 0x41, 0x00}, {0x14, 0x14, 0x14, 0x14, 0x14}, /* < = */
	{0x00, 0x41, 0x22, 0x14, 0x08}, {0x02, 0x01, 0x51, 0x09, 0x06}, /* > ? */
	{0x32, 0x49, 0x79, 0x41, 0x3E}, {0x7E, 0x11, 0x11, 0x11, 0x7E}, /* @ A */
	{0x7F, 0x49, 0x49, 0x49, 0x36}, {0x3E, 0x41, 0x41, 0x41, 0x22}, /* B C */
	{0x7F, 0x41, 0x41, 0x22, 0x1C}, {0x7F, 0x49, 0x49, 0x49, 0x41}, /* D E */
	{0x7F, 0x09, 0x09, 0x09, 0x01}, {0x3E, 0x41, 0x49, 0x49, 0x7A}, /* F G */
	{0x7F, 0x08, 0x08, 0x08, 0x7F}, {0x00, 0x41, 0x7F, 0x41, 0x00}, /* H I */
	{0x20, 0x40, 0x41, 0x3F, 0x01}, {0x7F, 0x08, 0x14, 0x22, 0x41}, /* J K */
	{0x7F, 0x40, 0x40, 0x40, 0x40}, {0x7F, 0x02, 0x0C, 0x02, 0x7F}, /* L M */
	{0x7F, 0x04, 0x08, 0x10, 0x7F}, {0x3E, 0x41, 0x41, 0x41, 0x3E}, /* N O */
	{0x7F, 0x09, 0x09, 0x09, 0x06}, {0x3E, 0x41, 0x51, 0x21, 0x5E}, /* P Q */
	{0x7F, 0x09, 0x19, 0x29, 0x46}, {0x46, 0x49, 0x49, 0x49, 0x31}, /* R S */
	{0x01, 0x01, 0x7F, 0x01, 0x01}, {0x3F, 0x40, 0x40, 0x40, 0x3F}, /* T U */
	{0x1F, 0x20, 0x40, 0x20, 0x1F}, {0x3F, 0x40, 0x38, 0x40, 0x3F}, /* V W */
	{0x63, 0x14, 0x08, 0x14, 0x63}, {0x07, 0x08, 0x70, 0x08, 0x07}, /* X Y */
	{0x61, 0x51, 0x49, 0x45, 0x43}, {0x00, 0x7F, 0x41, 0x41, 0x00}, /* Z [ */
	{0x02, 0x04, 0x08, 0x10, 0x20}, {0x00, 0x41, 0x41, 0x7F, 0x00}, /* \ ] */
	{0x04, 0x02, 0x01, 0x02, 0x04}, {0x40, 0x40, 0x40, 0x40, 0x40}, /* ^ _ */
	{0x00, 0x01, 0x02, 0x04, 0x00}, {0x20, 0x54, 0x54, 0x54, 0x78}, /* ` a */
	{0x7F, 0x48, 0x44, 0x44, 0x38}, {0x38, 0x44, 0x44, 0x44, 0x20}, /* b c */
	{0x38, 0x44, 0x44, 0x48, 0x7F}, {0x38, 0x54, 0x54, 0x54, 0x18}, /* d e */
	{0x08, 0x7E, 0x09, 0x01, 0x02}, {0x0C, 0x52, 0x52, 0x52, 0x3E}, /* f g */
	{0x7F, 0x08, 0x04, 0x04, 0x78}, {0x00, 0x44, 0x7D, 0x40, 0x00}, /* h i */
	{0x20, 0x40, 0x44, 0x3D, 0x00}, {0x7F, 0x10, 0x28, 0x44, 0x00}, /* j k */
	{0x00, 0x41, 0x7F, 0x40, 0x00}, {0x7C, 0x04, 0x18, 0x04, 0x78}, /* l m */
	{0x7C, 0x08, 0x04, 0x04, 0x78}, {0x38, 0x44, 0x44, 0x44, 0x38}, /* n o */
	{0x7C, 0x14, 0x14, 0x14, 0x08}, {0x08, 0x14, 0x14, 0x18, 0x7C}, /* p q */
	{0x7C, 0x08, 0x04, 0x04, 0x08}, {0x48, 0x54, 0x54, 0x54, 0x20}, /* r s */
	{0x04, 0x3F, 0x44, 0x40, 0x20}, {0x3C, 0x40, 0x40, 0x20, 0x7C}, /* t u */
	{0x1C, 0x20, 0x40, 0x20, 0x1C}, {0x3C, 0x40, 0x30, 0x40, 0x3C}, /* v w */
	{0x44, 0x28, 0x10, 0x28, 0x44}, {0x0C, 0x50, 0x50, 0x50, 0x3C}, /* x y */
	{0x44, 0x64, 0x54, 0x4C, 0x44}, {0x00, 0x08, 0x36, 0x41, 0x00}, /* z { */
	{0x00, 0x00, 0x7F, 0x00, 0x00}, {0x00, 0x41, 0x36, 0x08, 0x00}, /* | } */
	{0x08, 0x04, 0x08, 0x10, 0x08},                                 /* ~   */
};

#define GLYPH_W 5
#define GLYPH_H 7
#define GLYPH_ADVANCE 6

aoi_rgb aoi_draw_palette(int k)
{
	int i = k % NPALETTE;

	return palette[i < 0 ? i + NPALETTE : i];
}

static int drawable(const aoi_image *img)
{
	return img && img->data && img->width > 0 && img->height > 0 &&
	       (img->channels == 1 || img->channels == 3);
}

static uint8_t gray_of(aoi_rgb c)
{
	return (uint8_t)((299u * c.r + 587u * c.g + 114u * c.b + 500) / 1000);
}

/* Fill [x0, x1) x [y0, y1) after clipping; long so that callers' sums of
 * int coordinates cannot overflow. */
static void fill_span(aoi_image *img, long x0, long y0, long x1, long y1, aoi_rgb c)
{
	int ch = img->channels;

	x0 = x0 < 0 ? 0 : x0;
	y0 = y0 < 0 ? 0 : y0;
	x1 = x1 > img->width ? img->width : x1;
	y1 = y1 > img->height ? img->height : y1;
	for (long y = y0; y < y1; y++) {
		uint8_t *p = img->data + ((size_t)y * img->width + x0) * ch;
		if (ch == 1) {
			if (x1 > x0)
				memset(p, gray_of(c), x1 - x0);
			continue;
		}
		for (long x = x0; x < x1; x++, p += 3) {
			p[0] = c.r;
			p[1] = c.g;
			p[2] = c.b;
		}
	}
}

/* Corners in either order: (x0, y0) the smaller. */
static void order_corners(int *x0, int *y0, int *x1, int *y1)
{
	int t;

	if (*x0 > *x1) {
		t = *x0; *x0 = *x1; *x1 = t;
	}
	if (*y0 > *y1) {
		t = *y0; *y0 = *y1; *y1 = t;
	}
}

void aoi_draw_fill_rect(aoi_image *img, int x0, int y0, int x1, int y1, aoi_rgb c)
{
	if (!drawable(img))
		return;
	order_corners(&x0, &y0, &x1, &y1);
	fill_span(img, x0, y0, x1, y1, c);
}

void aoi_draw_rect(aoi_image *img, int x0, int y0, int x1, int y1, aoi_rgb c,
		   int thickness)
{
	long t = thickness < 1 ? 1 : thickness;

	if (!drawable(img))
		return;
	order_corners(&x0, &y0, &x1, &y1);
	fill_span(img, x0, y0, x1, (long)y0 + t, c);         /* top */
	fill_span(img, x0, (long)y1 - t, x1, y1, c);         /* bottom */
	fill_span(img, x0, y0, (long)x0 + t, y1, c);         /* left */
	fill_span(img, (long)x1 - t, y0, x1, y1, c);         /* right */
}

/* Liang-Barsky: shrink the segment to the box [lo, hi] on both axes so that
 * Bresenham never walks a billion pixels off the image. 0 when nothing of
 * the segment is inside. */
static int clip_segment(double *x0, double *y0, double *x1, double *y1,
			double xlo, double ylo, double xhi, double yhi)
{
	double dx = *x1 - *x0, dy = *y1 - *y0, t0 = 0, t1 = 1;
	double p[4] = {-dx, dx, -dy, dy};
	double q[4] = {*x0 - xlo, xhi - *x0, *y0 - ylo, yhi - *y0};

	for (int i = 0; i < 4; i++) {
		if (p[i] == 0) {
			if (q[i] < 0)
				return 0;
			continue;
		}
		double r = q[i] / p[i];
		if (p[i] < 0 && r > t0)
			t0 = r;
		else if (p[i] > 0 && r < t1)
			t1 = r;
	}
	if (t0 > t1)
		return 0;
	*x1 = *x0 + t1 * dx;
	*y1 = *y0 + t1 * dy;
	*x0 += t0 * dx;
	*y0 += t0 * dy;
	return 1;
}

void aoi_draw_line(aoi_image *img, int x0, int y0, int x1, int y1, aoi_rgb c,
		   int thickness)
{
	int t = thickness < 1 ? 1 : thickness;
	double fx0 = x0, fy0 = y0, fx1 = x1, fy1 = y1;

	if (drawable(img) && t > img->width + img->height)
		t = img->width + img->height; /* anything wider covers it all */
	if (!drawable(img) ||
	    !clip_segment(&fx0, &fy0, &fx1, &fy1, -t, -t, img->width + t, img->height + t))
		return;
	long ax = lround(fx0), ay = lround(fy0), bx = lround(fx1), by = lround(fy1);
	long dx = labs(bx - ax), dy = -labs(by - ay);
	long sx = ax < bx ? 1 : -1, sy = ay < by ? 1 : -1, e = dx + dy;
	long lo = (t - 1) / 2, hi = t / 2 + 1;

	for (;;) {
		fill_span(img, ax - lo, ay - lo, ax + hi, ay + hi, c);
		if (ax == bx && ay == by)
			break;
		long e2 = 2 * e;
		if (e2 >= dy) {
			e += dy;
			ax += sx;
		}
		if (e2 <= dx) {
			e += dx;
			ay += sy;
		}
	}
}

void aoi_draw_disc(aoi_image *img, int cx, int cy, int radius, aoi_rgb c)
{
	long r = radius;

	if (!drawable(img) || r < 0)
		return;
	for (long dy = -r; dy <= r; dy++) {
		long y = cy + dy;
		if (y < 0 || y >= img->height)
			continue;
		/* widest dx with dx^2 + dy^2 <= r^2 + r */
		long half = (long)sqrt((double)(r * r + r - dy * dy));
		while (half * half > r * r + r - dy * dy)
			half--;
		while ((half + 1) * (half + 1) <= r * r + r - dy * dy)
			half++;
		fill_span(img, (long)cx - half, y, (long)cx + half + 1, y + 1, c);
	}
}

void aoi_draw_mask(aoi_image *img, const uint8_t *mask, int value, aoi_rgb c,
		   double alpha)
{
	size_t n;
	unsigned a;

	if (!drawable(img) || !mask || !(alpha > 0))
		return;
	/* alpha in 1/256 steps: 256 paints c exactly */
	a = alpha >= 1 ? 256 : (unsigned)lround(alpha * 256);
	n = (size_t)img->width * img->height;
	const unsigned col[3] = {c.r, c.g, c.b}, gray = gray_of(c);
	for (size_t i = 0; i < n; i++) {
		if (value < 0 ? mask[i] == 0 : mask[i] != value)
			continue;
		uint8_t *p = img->data + i * img->channels;
		for (int k = 0; k < img->channels; k++) {
			unsigned v = img->channels == 1 ? gray : col[k];
			p[k] = (uint8_t)((p[k] * (256 - a) + v * a + 128) >> 8);
		}
	}
}

static const uint8_t *glyph(char ch)
{
	unsigned char u = (unsigned char)ch;

	return font5x7[(u >= 32 && u <= 126 ? u : '?') - 32];
}

int aoi_draw_text_width(const char *text, int scale)
{
	size_t n = text ? strlen(text) : 0;
	long s = scale < 1 ? 1 : scale;
	long w = n ? (long)n * GLYPH_ADVANCE * s - s : 0;

	return w > INT_MAX ? INT_MAX : (int)w;
}

int aoi_draw_text(aoi_image *img, int x, int y, const char *text, aoi_rgb c, int scale)
{
	long s = scale < 1 ? 1 : scale, px = x;

	if (!text)
		return 0;
	for (const char *p = text; *p && drawable(img); p++, px += GLYPH_ADVANCE * s) {
		if (px >= img->width)
			break;
		const uint8_t *g = glyph(*p);
		for (int col = 0; col < GLYPH_W; col++)
			for (int row = 0; row < GLYPH_H; row++)
				if (g[col] >> row & 1)
					fill_span(img, px + col * s, (long)y + row * s,
						  px + (col + 1) * s, (long)y + (row + 1) * s, c);
	}
	return aoi_draw_text_width(text, scale);
}
