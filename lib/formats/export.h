/* export.h: records written back out in other layouts, the way back from
 * import.h: import(export(x)) keeps the annotations.
 *
 * Every file is written whole or not at all (aoi_atomic_open/commit), and
 * every record's image and annotation are checked before the first file is
 * written, so that bad input leaves no partial export behind. */
#ifndef AOI_EXPORT_H
#define AOI_EXPORT_H

#include <stddef.h>

#include "data/dataset.h"

typedef struct aoi_export_summary {
	long images;  /* images written */
	long labels;  /* label or mask files written */
	long boxes;   /* YOLO box lines */
	long polygons; /* YOLO polygon lines */
} aoi_export_summary;

/* YOLO: DIR/data.yaml, DIR/images/<split>/ID.ext, DIR/labels/<split>/ID.txt
 * (flat images/ and labels/ for records without a split). A record whose
 * mask is exactly its boxes gets box lines; other masks are traced into
 * polygons (YOLOv8-seg), one per connected region (holes are lost). */
int aoi_export_yolo(const aoi_dataset *ds, const char *dir, aoi_export_summary *sum,
		    aoi_error *err);

/* mask-dir: DIR/images/ID.ext, DIR/masks/ID.png (class indices, only for
 * images with a defect) and DIR/masks/classes.txt. */
int aoi_export_mask_dir(const aoi_dataset *ds, const char *dir, aoi_export_summary *sum,
			aoi_error *err);

#endif
