/* plot.h: small charts drawn into a PNG with draw.h: axes with ticks at
 * round numbers, axis labels, a title, a legend, and line, bar or heatmap
 * series. Series are kept until the chart is saved, so that the axes can
 * fit all of them.
 *
 *     aoi_plot *p = aoi_plot_new(800, 500, "Loss", &err);
 *     aoi_plot_labels(p, "epoch", "loss");
 *     aoi_plot_line(p, epochs, loss, n, "train", &err);
 *     aoi_plot_line(p, epochs, val_loss, n, "validation", &err);
 *     aoi_plot_save(p, "loss.png", &err);
 *     aoi_plot_free(p);
 */
#ifndef AOI_PLOT_H
#define AOI_PLOT_H

#include "base/error.h"

typedef struct aoi_plot aoi_plot;

aoi_plot *aoi_plot_new(int width, int height, const char *title, aoi_error *err);
void aoi_plot_free(aoi_plot *p);

void aoi_plot_labels(aoi_plot *p, const char *xlabel, const char *ylabel);
/* Fix an axis range; by default each axis fits the data (y from 0 when all
 * values are positive and start near it). */
void aoi_plot_xrange(aoi_plot *p, double lo, double hi);
void aoi_plot_yrange(aoi_plot *p, double lo, double hi);

/* A line through n points (NaN values break the line). */
int aoi_plot_line(aoi_plot *p, const double *x, const double *y, int n,
		  const char *name, aoi_error *err);
/* Bars: one value per category; several calls make grouped bars (the
 * categories of the first call name the groups). */
int aoi_plot_bars(aoi_plot *p, const char *const *categories, const double *v, int n,
		  const char *name, aoi_error *err);
/* A heatmap of rows x cols values (row-major), shaded by `shade` in [0, 1]
 * and written with `text` per cell (NULL: the value); row names go left,
 * column names below. A plot holds one heatmap and nothing else. */
int aoi_plot_heatmap(aoi_plot *p, const double *shade, const char *const *text,
		     int rows, int cols, const char *const *rownames,
		     const char *const *colnames, aoi_error *err);

/* Render and write a PNG (atomic). */
int aoi_plot_save(aoi_plot *p, const char *path, aoi_error *err);

/* Tick positions: about `want` round numbers (1, 2, 5 x 10^k) covering
 * [lo, hi]; returns the count (at most max) and the step. */
int aoi_plot_ticks(double lo, double hi, int want, double *ticks, int max,
		   double *step);

#endif
