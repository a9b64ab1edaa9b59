/* synth_paint.c: defects painted into an image with their exact mask.
 *
 * Contract (tested): every pixel set in the mask differs from before, and no
 * other pixel changes. On a binarised PCB (DeepPCB) a defect flips pixels
 * between copper and bare board: open cuts across a trace, short bridges two
 * traces, mousebite bites the edge, spur grows from the edge, copper is a
 * stray blob, pin-hole a hole inside copper. On anything else a scratch,
 * blob or spot shifts the intensity under its shape. */
#include "synth/synth.h"

#include <math.h>
#include <stdlib.h>

#include "data/raster.h"

static const char *const defect_names[AOI_DEFECT_COUNT] = {
	"open", "short", "mousebite", "spur", "copper", "pin-hole", "scratch", "blob", "spot",
};

const char *aoi_synth_defect_name(enum aoi_synth_defect d)
{
	return d >= 0 && d < AOI_DEFECT_COUNT ? defect_names[d] : "defect";
}

/* The mean of a pixel's channels. */
static int luma(const aoi_image *img, int x, int y)
{
	const uint8_t *p = img->data + ((size_t)y * img->width + x) * img->channels;
	int s = 0;

	for (int c = 0; c < img->channels; c++)
		s += p[c];
	return s / img->channels;
}

int aoi_synth_is_binary(const aoi_image *img)
{
	long n = (long)img->width * img->height, extreme = 0, step = n > 200000 ? 7 : 1;
	long seen = 0;

	for (long i = 0; i < n; i += step, seen++) {
		int v = luma(img, (int)(i % img->width), (int)(i / img->width));
		extreme += v < 40 || v > 215;
	}
	return seen > 0 && extreme >= seen * 9 / 10;
}

/* ---- binarised PCB ---- */

/* Copper is the minority of the two levels (traces cover less than the
 * bare board on DeepPCB). */
typedef struct pcb {
	aoi_image *img;
	aoi_mask *mask;
	uint8_t value;
	int copper_high; /* copper is the bright level */
} pcb;

static int in_img(const pcb *p, int x, int y)
{
	return x >= 0 && y >= 0 && x < p->img->width && y < p->img->height;
}

static int is_cu(const pcb *p, int x, int y)
{
	return in_img(p, x, y) && (luma(p->img, x, y) >= 128) == p->copper_high;
}

/* Flip (x, y) to copper (to_cu) or bare board when it is the other; mark it. */
static int flip(pcb *p, int x, int y, int to_cu)
{
	if (!in_img(p, x, y) || is_cu(p, x, y) == to_cu)
		return 0;
	uint8_t v = (to_cu == p->copper_high) ? 255 : 0;
	uint8_t *px = p->img->data + ((size_t)y * p->img->width + x) * p->img->channels;

	for (int c = 0; c < p->img->channels; c++)
		px[c] = v;
	p->mask->data[(size_t)y * p->mask->width + x] = p->value;
	return 1;
}

/* A random pixel that is copper (want = 1), bare (0) or a copper pixel
 * with bare board beside it (2, an edge; *dir gets that side 0..3). */
static const int DX[4] = { 1, 0, -1, 0 }, DY[4] = { 0, 1, 0, -1 };

static int pick(const pcb *p, aoi_rng *rng, int want, int *x, int *y, int *dir)
{
	for (int t = 0; t < 20000; t++) {
		*x = (int)aoi_rng_below(rng, (uint32_t)p->img->width);
		*y = (int)aoi_rng_below(rng, (uint32_t)p->img->height);
		int cu = is_cu(p, *x, *y);
		if (want < 2 && cu == want)
			return 1;
		if (want == 2 && cu) {
			int d0 = (int)aoi_rng_below(rng, 4);
			for (int k = 0; k < 4; k++) {
				int d = (d0 + k) % 4, nx = *x + DX[d], ny = *y + DY[d];
				if (in_img(p, nx, ny) && !is_cu(p, nx, ny)) {
					*dir = d;
					return 1;
				}
			}
		}
	}
	return 0;
}

/* Length of the run of copper (or bare) from (x, y) in direction d, not
 * counting (x, y), up to cap. */
static int run(const pcb *p, int x, int y, int d, int cu, int cap)
{
	int n = 0;

	while (n < cap && in_img(p, x + DX[d] * (n + 1), y + DY[d] * (n + 1)) &&
	       is_cu(p, x + DX[d] * (n + 1), y + DY[d] * (n + 1)) == cu)
		n++;
	return n;
}

static int all_in_disc(const pcb *p, int cx, int cy, double r, int cu)
{
	int ri = (int)ceil(r);

	for (int y = cy - ri; y <= cy + ri; y++)
		for (int x = cx - ri; x <= cx + ri; x++)
			if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r &&
			    (!in_img(p, x, y) || is_cu(p, x, y) != cu))
				return 0;
	return 1;
}

static int flip_disc(pcb *p, double cx, double cy, double r, int to_cu)
{
	int n = 0;

	for (int y = (int)floor(cy - r); y <= (int)ceil(cy + r); y++)
		for (int x = (int)floor(cx - r); x <= (int)ceil(cx + r); x++)
			if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r)
				n += flip(p, x, y, to_cu);
	return n;
}

/* The band of an open: rows s of the cut, each spanning the trace; -1 when
 * a row leaves the copper or runs much wider than the trace at its centre
 * (a junction or a pad, not a trace). */
static int open_band(const pcb *p, int x, int y, int across, int gap, int width, int *a, int *b)
{
	for (int s = -gap / 2, j = 0; s < gap - gap / 2; s++, j++) {
		int bx = x + DX[1 - across] * s, by = y + DY[1 - across] * s;
		if (!is_cu(p, bx, by))
			return -1;
		a[j] = run(p, bx, by, across, 1, 40);
		b[j] = run(p, bx, by, across + 2, 1, 40);
		if (a[j] + b[j] + 1 > width + 3)
			return -1;
	}
	return 0;
}

/* The PCB defects below are tried at picked places: at (x, y) (d: the
 * side of bare board, at an edge), the pixels painted; 0 when the place
 * does not suit. */
typedef int (*paint_at_fn)(pcb *p, aoi_rng *rng, int x, int y, int d);

/* Up to `tries` places picked (pick(want)) until one is painted; 0 when
 * none is or no such place is left. */
static int paint_somewhere(pcb *p, aoi_rng *rng, int want, int tries, paint_at_fn paint_at)
{
	int x, y, d = 0; /* pick sets d at edges only */

	for (int t = 0; t < tries; t++) {
		if (!pick(p, rng, want, &x, &y, &d))
			return 0;
		if (paint_at(p, rng, x, y, d) > 0)
			return 1;
	}
	return 0;
}

/* open (on copper): a band 2..6 pixels long cut across a trace at most 24
 * wide. */
static int open_at(pcb *p, aoi_rng *rng, int x, int y, int d)
{
	int a[8], b[8];
	int wh = run(p, x, y, 0, 1, 64) + run(p, x, y, 2, 1, 64) + 1;
	int wv = run(p, x, y, 1, 1, 64) + run(p, x, y, 3, 1, 64) + 1;
	int across = wh < wv ? 0 : 1; /* the direction across the trace */
	int width = across == 0 ? wh : wv, length = across == 0 ? wv : wh;
	int gap = 2 + (int)aoi_rng_below(rng, 5), n = 0;

	(void)d;
	if (width > 24 || length < gap + 6 || open_band(p, x, y, across, gap, width, a, b) < 0)
		return 0;
	for (int s = -gap / 2, j = 0; s < gap - gap / 2; s++, j++) {
		int bx = x + DX[1 - across] * s, by = y + DY[1 - across] * s;
		for (int k = -b[j]; k <= a[j]; k++)
			n += flip(p, bx + DX[across] * k, by + DY[across] * k, 0);
	}
	return n;
}

/* short (on bare board): a bridge 2..4 thick across a bare gap of 3..14
 * pixels between two pieces of copper. */
static int short_at(pcb *p, aoi_rng *rng, int x, int y, int d)
{
	int along = (int)aoi_rng_below(rng, 2); /* 0 horizontal, 1 vertical */
	int a = run(p, x, y, along, 0, 16), b = run(p, x, y, along + 2, 0, 16);
	int gap = a + b + 1;

	(void)d;
	if (a >= 16 || b >= 16 || gap < 3 || gap > 14 ||
	    !is_cu(p, x + DX[along] * (a + 1), y + DY[along] * (a + 1)) ||
	    !is_cu(p, x - DX[along] * (b + 1), y - DY[along] * (b + 1)))
		return 0;
	int thick = 2 + (int)aoi_rng_below(rng, 3), n = 0;
	for (int s = 0; s < thick; s++) {
		int ox = x + DX[1 - along] * s, oy = y + DY[1 - along] * s;
		for (int k = -b; k <= a; k++)
			n += flip(p, ox + DX[along] * k, oy + DY[along] * k, 1);
	}
	return n;
}

/* mousebite (at an edge): one to three bites of radius 2..4 out of a
 * trace. */
static int mousebite_at(pcb *p, aoi_rng *rng, int x, int y, int d)
{
	int depth = run(p, x, y, (d + 2) % 4, 1, 16);

	if (depth < 9) /* too thin: the bite would cut it */
		return 0;
	int bites = 1 + (int)aoi_rng_below(rng, 3), n = 0;
	for (int b = 0; b < bites; b++) {
		double r = aoi_rng_range(rng, 2.0, 4.0);
		double off = (b - (bites - 1) / 2.0) * 2.2 * r;
		n += flip_disc(p, x + DX[(d + 1) % 4] * off, y + DY[(d + 1) % 4] * off, r, 0);
	}
	return n;
}

/* spur (at an edge): a tapering finger 5..14 long grown from a trace into
 * bare board, stopping short of other copper. */
static int spur_at(pcb *p, aoi_rng *rng, int x, int y, int d)
{
	int len = 5 + (int)aoi_rng_below(rng, 10);

	if (run(p, x, y, d, 0, len + 4) < len + 3)
		return 0;
	double w0 = aoi_rng_range(rng, 1.0, 3.0);
	int n = 0, side = (d + 1) % 4;
	for (int s = 1; s <= len; s++) {
		double hw = w0 * (1.0 - 0.6 * s / len);
		for (int k = -(int)floor(hw); k <= (int)floor(hw); k++)
			n += flip(p, x + DX[d] * s + DX[side] * k, y + DY[d] * s + DY[side] * k, 1);
	}
	return n;
}

/* copper (a stray blob) and pin-hole (a hole in copper): a disc-like shape
 * well inside bare board, or well inside copper. */
static int paint_blob_pcb(pcb *p, aoi_rng *rng, int to_cu)
{
	int x, y, d;

	for (int t = 0; t < 500; t++) {
		double r = to_cu ? aoi_rng_range(rng, 2.0, 7.0) : aoi_rng_range(rng, 1.5, 4.5);
		if (!pick(p, rng, !to_cu, &x, &y, &d) || !all_in_disc(p, x, y, r + 3, !to_cu))
			continue;
		int n = flip_disc(p, x, y, r, to_cu);
		if (to_cu) /* irregular: a second lobe */
			n += flip_disc(p, x + aoi_rng_range(rng, -r, r) * 0.6,
				       y + aoi_rng_range(rng, -r, r) * 0.6, r * 0.7, 1);
		if (n)
			return 1;
	}
	return 0;
}

static int copper_is_bright(const aoi_image *img)
{
	long bright = 0, n = 0;

	for (int y = 0; y < img->height; y += 3)
		for (int x = 0; x < img->width; x += 3, n++)
			bright += luma(img, x, y) >= 128;
	return bright * 2 < n;
}

/* ---- generic: intensity changes under a shape ---- */

/* Shift the pixels under `shape` (a mask the size of img, nonzero = inside)
 * by delta (per pixel, so shading can vary); a pixel that the clamp would
 * leave unchanged goes the other way, so every marked pixel differs. */
static void shift_under(aoi_image *img, aoi_mask *mask, const aoi_mask *shape, int x1,
			int y1, int x2, int y2, int delta, uint8_t value)
{
	for (int y = y1; y < y2; y++)
		for (int x = x1; x < x2; x++) {
			if (!shape->data[(size_t)(y - y1) * shape->width + (x - x1)])
				continue;
			uint8_t *px = img->data + ((size_t)y * img->width + x) * img->channels;
			for (int c = 0; c < img->channels; c++) {
				int v = px[c] + delta;
				if (v < 0 || v > 255)
					v = px[c] - delta;
				px[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
			}
			mask->data[(size_t)y * mask->width + x] = value;
		}
}

/* A scratch (a thin wandering polyline), blob (two overlapping ellipses)
 * or spot (a small ellipse) rasterised into a box-local mask, then
 * applied. */
static int paint_generic(aoi_image *img, aoi_mask *mask, enum aoi_synth_defect d,
			 uint8_t value, aoi_rng *rng)
{
	int w = img->width, h = img->height, m = w < h ? w : h;
	double cx = aoi_rng_range(rng, 0.1, 0.9) * w, cy = aoi_rng_range(rng, 0.1, 0.9) * h;
	double ext = d == AOI_DEFECT_SCRATCH ? 0.25 * m : d == AOI_DEFECT_BLOB ? 0.08 * m : 0.02 * m;
	ext = fmax(ext, d == AOI_DEFECT_SPOT ? 2.5 : 4.0);
	int x1 = (int)fmax(0, cx - ext - 4), y1 = (int)fmax(0, cy - ext - 4);
	int x2 = (int)fmin(w, cx + ext + 5), y2 = (int)fmin(h, cy + ext + 5);
	aoi_mask shape = { 0 };

	if (x2 <= x1 || y2 <= y1 || aoi_mask_alloc(&shape, x2 - x1, y2 - y1, NULL) < 0)
		return 0;
	double lx = cx - x1, ly = cy - y1;
	if (d == AOI_DEFECT_SCRATCH) {
		double a = aoi_rng_range(rng, 0, M_PI), width = aoi_rng_range(rng, 1.0, 3.0);
		double px = lx - cos(a) * ext * 0.5, py = ly - sin(a) * ext * 0.5;
		for (int s = 0; s < 4; s++) {
			a += aoi_rng_range(rng, -0.25, 0.25);
			double nx = px + cos(a) * ext * 0.25, ny = py + sin(a) * ext * 0.25;
			aoi_raster_line(&shape, px, py, nx, ny, width, 1);
			px = nx;
			py = ny;
		}
	} else {
		int lobes = d == AOI_DEFECT_BLOB ? 2 : 1;
		for (int k = 0; k < lobes; k++)
			aoi_raster_ellipse(&shape, lx + aoi_rng_range(rng, -0.3, 0.3) * ext * k,
					   ly + aoi_rng_range(rng, -0.3, 0.3) * ext * k,
					   ext * aoi_rng_range(rng, 0.5, 1.0), ext * aoi_rng_range(rng, 0.3, 0.8),
					   aoi_rng_range(rng, 0, M_PI), 1);
	}
	int mag = d == AOI_DEFECT_BLOB ? 25 + (int)aoi_rng_below(rng, 40) : 45 + (int)aoi_rng_below(rng, 60);
	int delta = aoi_rng_below(rng, 2) ? mag : -mag;
	long area = aoi_mask_count(&shape, -1);
	if (area > 0)
		shift_under(img, mask, &shape, x1, y1, x2, y2, delta, value);
	aoi_mask_release(&shape);
	return area > 0;
}

int aoi_synth_paint_defect(aoi_image *img, aoi_mask *mask, enum aoi_synth_defect d,
			   uint8_t value, aoi_rng *rng)
{
	pcb p = { img, mask, value, 0 };

	if (d >= AOI_DEFECT_SCRATCH)
		return paint_generic(img, mask, d, value, rng);
	p.copper_high = copper_is_bright(img);
	switch (d) {
	case AOI_DEFECT_OPEN:
		return paint_somewhere(&p, rng, 1, 300, open_at);
	case AOI_DEFECT_SHORT:
		return paint_somewhere(&p, rng, 0, 2000, short_at);
	case AOI_DEFECT_MOUSEBITE:
		return paint_somewhere(&p, rng, 2, 300, mousebite_at);
	case AOI_DEFECT_SPUR:
		return paint_somewhere(&p, rng, 2, 300, spur_at);
	case AOI_DEFECT_COPPER:
		return paint_blob_pcb(&p, rng, 1);
	case AOI_DEFECT_PINHOLE:
		return paint_blob_pcb(&p, rng, 0);
	default:
		return 0;
	}
}
