/* formats.h: the dataset layouts aoi-datatool imports and exports, found by
 * name in one table, so that a new layout is one entry here (and its
 * importer or exporter in import_X.c or export.c). */
#ifndef AOI_FORMATS_H
#define AOI_FORMATS_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "base/error.h"
#include "data/datatool.h"
#include "formats/export.h"
#include "formats/import.h"

typedef struct aoi_format {
	const char *name;  /* "deeppcb", "yolo", ... */
	/* Read the layout in dir into a new array of records; NULL when the
	 * layout is only exported. takes_dir 0: the importer takes no
	 * directory (mask-dir: --images and --masks), dir is NULL. */
	json_t *(*import)(const char *dir, const aoi_import_opts *o, aoi_error *err);
	int takes_dir;
	/* Write ds out into dir; NULL when the layout is only imported. */
	int (*export)(const aoi_dataset *ds, const char *dir, aoi_export_summary *sum,
		      aoi_error *err);
} aoi_format;

/* The layout called name that imports (or, with exporting, exports); NULL
 * when there is none. */
const aoi_format *aoi_formats_find(const char *name, int exporting);

/* The names of the layouts that import (or export), in table order, as
 * "deeppcb, yolo, ..." into buf (for messages); buf. */
const char *aoi_formats_names(int exporting, char *buf, size_t size);

/* Import dir (o->progress is set here: a progress line on stderr) and
 * write the records to out as JSON lines; 0 or -1. */
int aoi_formats_import(const aoi_format *f, const char *dir, const aoi_import_opts *o,
		       FILE *out, aoi_error *err);

/* Export the dataset of t into dir and write the summary line {export,
 * dir, images, labels, boxes, polygons} to t->out; 0 or -1. */
int aoi_formats_export(const aoi_format *f, const aoi_datatool *t, const char *dir,
		       aoi_error *err);

#endif
