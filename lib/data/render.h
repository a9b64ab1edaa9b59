/* render.h: dataset records drawn as PNG files a person can look at: the
 * image with its truth (mask overlay, boxes named by class, keypoints) and,
 * when the record has "pred", the prediction beside it. */
#ifndef AOI_RENDER_H
#define AOI_RENDER_H

#include "data/dataset.h"
#include "image/image.h"

/* Draw one record (paths against base) into out (3 channels, allocated). */
int aoi_render_record(const json_t *rec, const char *base, aoi_image *out,
		      aoi_error *err);

/* Render every record into DIR/ID.png (in parallel, each file atomic) and
 * set each record's "render" field to that path; progress (may be NULL)
 * steps once per record. On error, err is located at the record, no record
 * is changed and the files of the run are removed. */
int aoi_render_dataset(aoi_dataset *ds, const char *dir, aoi_progress *progress,
		       aoi_error *err);

#endif
