#include "image/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/draw.h"
#include "image/image.h"

#define MAX_SERIES 16
#define MAX_TICKS 24
#define TEXT 2 /* text scale: 10x14-pixel glyphs, readable at a glance */

enum kind { LINE, BARS };

typedef struct series {
	enum kind kind;
	char name[64];
	double *x, *y;
	int n;
	char **cats; /* BARS */
} series;

typedef struct heatmap {
	double *shade;
	char **text, **rows, **cols;
	int nrows, ncols;
} heatmap;

struct aoi_plot {
	int width, height;
	char title[160], xlabel[80], ylabel[80];
	int fixx, fixy;
	double x0, x1, y0, y1;
	series s[MAX_SERIES];
	int ns;
	heatmap hm;
	int has_hm;
	/* the plot area in pixels, set when rendering */
	int left, top, right, bottom;
};

static const aoi_rgb WHITE = {255, 255, 255}, BLACK = {0, 0, 0}, GRID = {225, 225, 225},
		     INK = {60, 60, 60};

aoi_plot *aoi_plot_new(int width, int height, const char *title, aoi_error *err)
{
	aoi_plot *p;

	if (width < 200 || height < 150 || width > 8000 || height > 8000) {
		aoi_error_set(err, AOI_EINVAL, NULL, 0, "plot size %dx%d out of range", width,
			      height);
		return NULL;
	}
	p = calloc(1, sizeof *p);
	if (!p) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		return NULL;
	}
	p->width = width;
	p->height = height;
	snprintf(p->title, sizeof p->title, "%s", title ? title : "");
	return p;
}

static void free_strings(char **v, int n)
{
	for (int i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void aoi_plot_free(aoi_plot *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->ns; i++) {
		free(p->s[i].x);
		free(p->s[i].y);
		free_strings(p->s[i].cats, p->s[i].n);
	}
	free(p->hm.shade);
	free_strings(p->hm.text, p->hm.nrows * p->hm.ncols);
	free_strings(p->hm.rows, p->hm.nrows);
	free_strings(p->hm.cols, p->hm.ncols);
	free(p);
}

void aoi_plot_labels(aoi_plot *p, const char *xlabel, const char *ylabel)
{
	snprintf(p->xlabel, sizeof p->xlabel, "%s", xlabel ? xlabel : "");
	snprintf(p->ylabel, sizeof p->ylabel, "%s", ylabel ? ylabel : "");
}

void aoi_plot_xrange(aoi_plot *p, double lo, double hi)
{
	p->fixx = 1;
	p->x0 = lo;
	p->x1 = hi;
}

void aoi_plot_yrange(aoi_plot *p, double lo, double hi)
{
	p->fixy = 1;
	p->y0 = lo;
	p->y1 = hi;
}

static char **copy_strings(const char *const *v, int n)
{
	char **out = calloc((size_t)n + 1, sizeof *out);

	for (int i = 0; out && i < n; i++)
		if (!(out[i] = strdup(v[i] ? v[i] : ""))) {
			free_strings(out, i);
			return NULL;
		}
	return out;
}

static series *new_series(aoi_plot *p, enum kind kind, int n, const char *name,
			  aoi_error *err)
{
	series *s;

	if (p->ns == MAX_SERIES || p->has_hm || n < 0) {
		aoi_error_set(err, AOI_EINVAL, NULL, 0, "a plot holds at most %d series",
			      MAX_SERIES);
		return NULL;
	}
	s = &p->s[p->ns];
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->n = n;
	snprintf(s->name, sizeof s->name, "%s", name ? name : "");
	s->x = calloc((size_t)n + 1, sizeof *s->x);
	s->y = calloc((size_t)n + 1, sizeof *s->y);
	if (!s->x || !s->y) {
		free(s->x);
		free(s->y);
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		return NULL;
	}
	p->ns++;
	return s;
}

int aoi_plot_line(aoi_plot *p, const double *x, const double *y, int n,
		  const char *name, aoi_error *err)
{
	series *s = new_series(p, LINE, n, name, err);

	if (!s)
		return -1;
	memcpy(s->x, x, (size_t)n * sizeof *x);
	memcpy(s->y, y, (size_t)n * sizeof *y);
	return 0;
}

int aoi_plot_bars(aoi_plot *p, const char *const *categories, const double *v, int n,
		  const char *name, aoi_error *err)
{
	series *s = new_series(p, BARS, n, name, err);

	if (!s)
		return -1;
	memcpy(s->y, v, (size_t)n * sizeof *v);
	for (int i = 0; i < n; i++)
		s->x[i] = i;
	if (!(s->cats = copy_strings(categories, n)))
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	return 0;
}

int aoi_plot_heatmap(aoi_plot *p, const double *shade, const char *const *text,
		     int rows, int cols, const char *const *rownames,
		     const char *const *colnames, aoi_error *err)
{
	heatmap *h = &p->hm;
	size_t n = (size_t)rows * (size_t)cols;

	if (p->ns || p->has_hm || rows < 1 || cols < 1)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "a heatmap needs rows and columns and a plot of its own");
	h->shade = malloc(n * sizeof *h->shade);
	h->text = copy_strings(text, (int)n);
	h->rows = copy_strings(rownames, rows);
	h->cols = copy_strings(colnames, cols);
	h->nrows = rows;
	h->ncols = cols;
	p->has_hm = 1;
	if (!h->shade || !h->text || !h->rows || !h->cols)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	memcpy(h->shade, shade, n * sizeof *shade);
	return 0;
}

/* ---- ticks and ranges -------------------------------------------------- */

int aoi_plot_ticks(double lo, double hi, int want, double *ticks, int max, double *step)
{
	double span = hi - lo, raw, mag, st;
	int n = 0;

	if (!(span > 0) || want < 1)
		span = fabs(lo) > 0 ? fabs(lo) : 1;
	raw = span / want;
	mag = pow(10, floor(log10(raw)));
	st = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag
										 : 10 * mag;
	for (double t = ceil(lo / st - 1e-9) * st; t <= hi + st * 1e-9 && n < max; t += st)
		ticks[n++] = fabs(t) < st * 1e-9 ? 0 : t;
	*step = st;
	return n;
}

static void data_range(const aoi_plot *p, int axis, double *lo, double *hi)
{
	*lo = INFINITY;
	*hi = -INFINITY;
	for (int i = 0; i < p->ns; i++)
		for (int k = 0; k < p->s[i].n; k++) {
			double v = axis ? p->s[i].y[k] : p->s[i].x[k];

			if (isfinite(v)) {
				*lo = fmin(*lo, v);
				*hi = fmax(*hi, v);
			}
		}
	if (!isfinite(*lo)) {
		*lo = 0;
		*hi = 1;
	}
	if (*hi - *lo < 1e-12) {
		*lo -= 0.5;
		*hi += 0.5;
	}
}

/* Auto ranges: y from 0 when the data is positive and starts within half
 * its span of 0 (losses, shares), and extended to round ticks. */
static void fit_ranges(aoi_plot *p)
{
	double lo, hi, t[MAX_TICKS], st;
	int n;

	if (!p->fixx) {
		data_range(p, 0, &p->x0, &p->x1);
		if (p->ns && p->s[0].kind == BARS) {
			p->x0 = -0.5;
			p->x1 += 0.5;
		}
	}
	if (!p->fixy) {
		data_range(p, 1, &lo, &hi);
		if (lo > 0 && lo < (hi - lo) * 0.5)
			lo = 0;
		if (p->ns && p->s[0].kind == BARS && lo > 0)
			lo = 0;
		n = aoi_plot_ticks(lo, hi, 6, t, MAX_TICKS, &st);
		p->y0 = n && t[0] <= lo ? t[0] : floor(lo / st) * st;
		p->y1 = n && t[n - 1] >= hi ? t[n - 1] : ceil(hi / st) * st;
	}
}

/* ---- drawing ----------------------------------------------------------- */

static int px(const aoi_plot *p, double x)
{
	return p->left + (int)lround((x - p->x0) / (p->x1 - p->x0) * (p->right - p->left));
}

static int py(const aoi_plot *p, double y)
{
	return p->bottom - (int)lround((y - p->y0) / (p->y1 - p->y0) * (p->bottom - p->top));
}

static void fmt_tick(char *buf, size_t size, double v, double step)
{
	int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);

	if (fabs(v) >= 1e5 || (fabs(v) > 0 && fabs(v) < 1e-4))
		snprintf(buf, size, "%.0e", v);
	else
		snprintf(buf, size, "%.*f", dec > 6 ? 6 : dec, v);
}

static void text_centred(aoi_image *img, int cx, int y, const char *s, aoi_rgb c, int scale)
{
	aoi_draw_text(img, cx - aoi_draw_text_width(s, scale) / 2, y, s, c, scale);
}

static void draw_frame(aoi_plot *p, aoi_image *img)
{
	double t[MAX_TICKS], st;
	char buf[32];
	int n;

	text_centred(img, p->width / 2, 12, p->title, BLACK, TEXT);
	aoi_draw_text(img, 12, p->top - 26, p->ylabel, INK, TEXT);
	text_centred(img, (p->left + p->right) / 2, p->height - 24, p->xlabel, INK, TEXT);
	n = aoi_plot_ticks(p->y0, p->y1, 6, t, MAX_TICKS, &st);
	for (int i = 0; i < n; i++) {
		int y = py(p, t[i]);

		aoi_draw_line(img, p->left, y, p->right, y, GRID, 1);
		fmt_tick(buf, sizeof buf, t[i], st);
		aoi_draw_text(img, p->left - 8 - aoi_draw_text_width(buf, TEXT), y - 7, buf, INK,
			      TEXT);
	}
	if (!(p->ns && p->s[0].kind == BARS)) {
		n = aoi_plot_ticks(p->x0, p->x1, 8, t, MAX_TICKS, &st);
		for (int i = 0; i < n; i++) {
			int x = px(p, t[i]);

			aoi_draw_line(img, x, p->top, x, p->bottom, GRID, 1);
			fmt_tick(buf, sizeof buf, t[i], st);
			text_centred(img, x, p->bottom + 8, buf, INK, TEXT);
		}
	}
	aoi_draw_rect(img, p->left, p->top, p->right, p->bottom, BLACK, 1);
}

static void draw_line_series(const aoi_plot *p, aoi_image *img, const series *s,
			     aoi_rgb c)
{
	for (int k = 0; k < s->n; k++) {
		if (!isfinite(s->x[k]) || !isfinite(s->y[k]))
			continue;
		if (k > 0 && isfinite(s->x[k - 1]) && isfinite(s->y[k - 1]))
			aoi_draw_line(img, px(p, s->x[k - 1]), py(p, s->y[k - 1]),
				      px(p, s->x[k]), py(p, s->y[k]), c, 2);
		if (s->n <= 40)
			aoi_draw_disc(img, px(p, s->x[k]), py(p, s->y[k]), 3, c);
	}
}

static void draw_bars(const aoi_plot *p, aoi_image *img)
{
	int nb = p->ns, ncat = p->s[0].n;
	double group = (double)(p->right - p->left) / (ncat ? ncat : 1);
	int bw = (int)(group * 0.8 / nb);
	char buf[32];

	for (int b = 0; b < nb; b++)
		for (int k = 0; k < p->s[b].n && k < ncat; k++) {
			int x = p->left + (int)(group * (k + 0.1)) + b * bw;
			double v = p->s[b].y[k];

			if (!isfinite(v))
				continue;
			aoi_draw_fill_rect(img, x, py(p, v), x + bw - 2, py(p, fmax(p->y0, 0)),
					   aoi_draw_palette(b));
			snprintf(buf, sizeof buf, "%.2f", v);
			if (aoi_draw_text_width(buf, 1) < bw)
				text_centred(img, x + bw / 2, py(p, v) - 10, buf, INK, 1);
		}
	for (int k = 0; k < ncat; k++) {
		int cx = p->left + (int)(group * (k + 0.5));
		int scale = aoi_draw_text_width(p->s[0].cats[k], TEXT) < group ? TEXT : 1;

		text_centred(img, cx, p->bottom + 8, p->s[0].cats[k], INK, scale);
	}
}

/* Data points (and points along the lines between them) inside a box. */
static int covered(const aoi_plot *p, int x0, int y0, int x1, int y1)
{
	int n = 0;

	for (int i = 0; i < p->ns; i++)
		for (int k = 0; k < p->s[i].n; k++)
			for (int t = 0; t < 4; t++) {
				int j = k + 1 < p->s[i].n ? k + 1 : k;
				double x = p->s[i].x[k] + (p->s[i].x[j] - p->s[i].x[k]) * t / 4;
				double y = p->s[i].y[k] + (p->s[i].y[j] - p->s[i].y[k]) * t / 4;
				int X, Y;

				if (!isfinite(x) || !isfinite(y))
					continue;
				X = px(p, x);
				Y = py(p, y);
				n += X >= x0 && X <= x1 && Y >= y0 && Y <= y1;
			}
	return n;
}

/* The legend goes in the corner of the plot area with the least data. */
static void draw_legend(const aoi_plot *p, aoi_image *img)
{
	int w = 0, named = 0, x, y, best = -1, bx = 0, by = 0;

	for (int i = 0; i < p->ns; i++)
		if (p->s[i].name[0]) {
			int tw = aoi_draw_text_width(p->s[i].name, TEXT);

			w = tw > w ? tw : w;
			named++;
		}
	if (!named)
		return;
	w += 50;
	for (int corner = 0; corner < 4; corner++) {
		int cx = corner & 1 ? p->left + 10 : p->right - 10 - w;
		int cy = corner & 2 ? p->bottom - 10 - 20 * named - 6 : p->top + 4;
		int n = p->s[0].kind == BARS ? (corner ? 1 << 20 : 0)
					     : covered(p, cx, cy, cx + w, cy + 20 * named + 6);

		if (best < 0 || n < best) {
			best = n;
			bx = cx;
			by = cy;
		}
	}
	x = bx + 8;
	y = by + 6;
	aoi_draw_fill_rect(img, bx, by, bx + w, by + 20 * named + 6, WHITE);
	aoi_draw_rect(img, bx, by, bx + w, by + 20 * named + 6, GRID, 1);
	for (int i = 0; i < p->ns; i++) {
		if (!p->s[i].name[0])
			continue;
		if (p->s[i].kind == LINE)
			aoi_draw_line(img, x, y + 7, x + 24, y + 7, aoi_draw_palette(i), 3);
		else
			aoi_draw_fill_rect(img, x, y, x + 24, y + 14, aoi_draw_palette(i));
		aoi_draw_text(img, x + 32, y, p->s[i].name, BLACK, TEXT);
		y += 20;
	}
}

/* White to dark blue; text flips to white on the dark half. */
static aoi_rgb shade_colour(double v)
{
	v = v < 0 ? 0 : v > 1 ? 1 : v;
	return (aoi_rgb){(uint8_t)(255 - v * 225), (uint8_t)(255 - v * 185),
			 (uint8_t)(255 - v * 95)};
}

static void draw_heatmap(aoi_plot *p, aoi_image *img)
{
	const heatmap *h = &p->hm;
	int names = 0, cw, ch;

	for (int r = 0; r < h->nrows; r++) {
		int w = aoi_draw_text_width(h->rows[r], TEXT);

		names = w > names ? w : names;
	}
	p->left = 40 + names;
	cw = (p->right - p->left) / h->ncols;
	ch = (p->bottom - p->top) / h->nrows;
	for (int r = 0; r < h->nrows; r++) {
		int y = p->top + r * ch;

		aoi_draw_text(img, p->left - 8 - aoi_draw_text_width(h->rows[r], TEXT),
			      y + ch / 2 - 7, h->rows[r], INK, TEXT);
		for (int c = 0; c < h->ncols; c++) {
			int x = p->left + c * cw;
			double v = h->shade[r * h->ncols + c];
			const char *t = h->text[r * h->ncols + c];
			int scale = aoi_draw_text_width(t, TEXT) < cw - 4 ? TEXT : 1;

			aoi_draw_fill_rect(img, x, y, x + cw, y + ch, shade_colour(v));
			aoi_draw_rect(img, x, y, x + cw, y + ch, GRID, 1);
			text_centred(img, x + cw / 2, y + ch / 2 - 3 * scale - 1, t,
				     v > 0.55 ? WHITE : BLACK, scale);
		}
	}
	for (int c = 0; c < h->ncols; c++) {
		const char *t = h->cols[c];
		int scale = aoi_draw_text_width(t, TEXT) < cw - 4 ? TEXT : 1;

		text_centred(img, p->left + c * cw + cw / 2, p->top + h->nrows * ch + 8, t, INK,
			     scale);
	}
	text_centred(img, p->width / 2, 12, p->title, BLACK, TEXT);
	aoi_draw_text(img, 12, p->top - 26, p->ylabel, INK, TEXT);
	text_centred(img, (p->left + p->right) / 2, p->height - 24, p->xlabel, INK, TEXT);
}

static void render(aoi_plot *p, aoi_image *img)
{
	int ylabels = 0;
	double t[MAX_TICKS], st;
	char buf[32];

	memset(img->data, 255, (size_t)img->width * img->height * 3);
	fit_ranges(p);
	/* room on the left for the widest y tick label */
	for (int i = 0, n = aoi_plot_ticks(p->y0, p->y1, 6, t, MAX_TICKS, &st); i < n; i++) {
		fmt_tick(buf, sizeof buf, t[i], st);
		ylabels = aoi_draw_text_width(buf, TEXT) > ylabels ? aoi_draw_text_width(buf, TEXT)
								  : ylabels;
	}
	p->left = 24 + ylabels;
	p->right = p->width - 24;
	p->top = 70;
	p->bottom = p->height - 62;
	if (p->has_hm) {
		draw_heatmap(p, img);
		return;
	}
	draw_frame(p, img);
	if (p->ns && p->s[0].kind == BARS)
		draw_bars(p, img);
	else
		for (int i = 0; i < p->ns; i++)
			draw_line_series(p, img, &p->s[i], aoi_draw_palette(i));
	draw_legend(p, img);
}

int aoi_plot_save(aoi_plot *p, const char *path, aoi_error *err)
{
	aoi_image img = {0};
	int rc;

	if (aoi_image_alloc(&img, p->width, p->height, 3, err) < 0)
		return -1;
	render(p, &img);
	rc = aoi_image_save_png(path, &img, err);
	aoi_image_release(&img);
	return rc;
}
