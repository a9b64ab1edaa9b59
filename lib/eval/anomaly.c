/* anomaly.c: reading pred.anomaly and measuring its regions (anomaly.h). */
#include "eval/anomaly.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/mask.h"
#include "data/raster.h"

int aoi_anomaly_read(const json_t *pred, const char *base, aoi_anomaly *a, aoi_error *err)
{
	json_t *an = json_object_get(pred, "anomaly");
	const char *map = json_string_value(json_object_get(an, "map"));
	json_t *scale = json_object_get(an, "scale");
	char path[4096];

	memset(a, 0, sizeof *a);
	if (!an)
		return 0;
	if (!json_is_object(an) || !map || !map[0] || !json_is_number(scale))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "\"pred\" \"anomaly\" must be {\"map\": PATH, \"scale\": S}");
	a->scale = json_number_value(scale);
	if (!isfinite(a->scale) || !(a->scale > 0))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "\"pred\" \"anomaly\" \"scale\" %g: want a positive number",
				     a->scale);
	if (aoi_path_join(path, sizeof path, base, map) < 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "anomaly map path too long");
	if (aoi_gray16_load_png(path, &a->map, err) < 0)
		return -1;
	return 1;
}

void aoi_anomaly_release(aoi_anomaly *a)
{
	aoi_gray16_release(&a->map);
	a->scale = 0;
}

double aoi_anomaly_score(const aoi_anomaly *a, unsigned value)
{
	return (double)value / 65535.0 * a->scale;
}

int aoi_anomaly_regions(const aoi_anomaly *a, double threshold, long min_area,
			long *largest, long *count, aoi_error *err)
{
	size_t npix = (size_t)a->map.width * a->map.height;
	unsigned level = 0;
	aoi_component *comps;
	aoi_mask m;
	int n;

	*largest = *count = 0;
	/* the lowest value above the threshold, by the readers' own formula */
	while (level < 65536 && !(aoi_anomaly_score(a, level) > threshold))
		level++;
	if (aoi_mask_alloc(&m, a->map.width, a->map.height, err) < 0)
		return -1;
	for (size_t i = 0; i < npix; i++)
		m.data[i] = a->map.data[i] >= level;
	n = aoi_components(&m, -1, &comps, err);
	aoi_mask_release(&m);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		*largest = comps[i].area > *largest ? comps[i].area : *largest;
		*count += comps[i].area >= min_area;
	}
	free(comps);
	return 0;
}
