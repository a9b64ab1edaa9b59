/* raster.h: shapes into masks, and masks back into shapes (connected
 * components). Coordinates are pixels; a pixel (x, y) is covered when its
 * centre (x + 0.5, y + 0.5) is inside the shape. Boxes are [x1, x2) x
 * [y1, y2) in integer pixel units as in DeepPCB and COCO. */
#ifndef AOI_RASTER_H
#define AOI_RASTER_H

#include "base/error.h"
#include "data/mask.h"

void aoi_raster_box(aoi_mask *m, double x1, double y1, double x2, double y2,
		    uint8_t value);
/* Polygon with n vertices xy[2*i], xy[2*i+1]; even-odd rule. */
void aoi_raster_polygon(aoi_mask *m, const double *xy, int n, uint8_t value);
/* Ellipse centred at (cx, cy), semi-axes rx, ry, rotated by angle radians. */
void aoi_raster_ellipse(aoi_mask *m, double cx, double cy, double rx, double ry,
			double angle, uint8_t value);
/* A line segment `width` pixels wide (scratches). */
void aoi_raster_line(aoi_mask *m, double x0, double y0, double x1, double y1,
		     double width, uint8_t value);

typedef struct aoi_component {
	int x1, y1, x2, y2; /* bounding box, x2/y2 exclusive */
	long area;          /* pixels */
	int label;          /* the class most of its pixels have */
	double cx, cy;      /* centroid */
} aoi_component;

/* 8-connected components of the nonzero pixels of m (pixels of different
 * nonzero classes that touch join one component; its label is the majority
 * class). When value > 0 only pixels equal to value count. *comps is
 * malloc'd (caller frees); returns the count, or -1. */
int aoi_components(const aoi_mask *m, int value, aoi_component **comps,
		   aoi_error *err);
/* The same components as a label image: labels[y * width + x] is 0 for
 * background and 1..n for the component holding the pixel (numbered as
 * aoi_components numbers them, plus one). labels has width x height
 * entries; returns n, or -1. */
int aoi_components_label(const aoi_mask *m, int value, int *labels, aoi_error *err);

#endif
