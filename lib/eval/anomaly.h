/* anomaly.h: a prediction's anomaly map, "pred": {"anomaly": {"map": PATH,
 * "scale": S}} (man/aoi-dataset.5): a 16-bit gray PNG the size of the
 * image, the score of a pixel value / 65535 x S. Read here for the rules
 * (the area of the map above a threshold) and for aoi-metrics (pixel
 * AUROC, PRO). */
#ifndef AOI_ANOMALY_H
#define AOI_ANOMALY_H

#include <jansson.h>

#include "base/error.h"
#include "image/image.h"

typedef struct aoi_anomaly {
	aoi_gray16 map;
	double scale;
} aoi_anomaly;

/* Read pred.anomaly, its PNG relative to base: 1 when read, 0 when pred
 * has no "anomaly", -1 on error (a malformed object, a scale that is not
 * a positive number, an unreadable PNG; the error names the PNG when the
 * PNG is at fault, else nothing: the caller locates it). */
int aoi_anomaly_read(const json_t *pred, const char *base, aoi_anomaly *a, aoi_error *err);
void aoi_anomaly_release(aoi_anomaly *a);

/* The score of a map value, as every reader computes it. */
double aoi_anomaly_score(const aoi_anomaly *a, unsigned value);

/* The 8-connected regions of the pixels whose score is above threshold:
 * *largest the area of the largest (0 when none), *count how many have at
 * least min_area pixels. */
int aoi_anomaly_regions(const aoi_anomaly *a, double threshold, long min_area,
			long *largest, long *count, aoi_error *err);

#endif
