/* formats.c: the table of dataset layouts (formats.h). */
#include "formats/formats.h"

#include <string.h>

#include "data/record.h"

/* mask-dir's importer takes its directories from the options */
static json_t *import_mask_dir(const char *dir, const aoi_import_opts *o, aoi_error *err)
{
	(void)dir;
	return aoi_import_mask_dir(o, err);
}

static const aoi_format formats[] = {
	{ "deeppcb", aoi_import_deeppcb, 1, NULL },
	{ "yolo", aoi_import_yolo, 1, aoi_export_yolo },
	{ "mask-dir", import_mask_dir, 0, aoi_export_mask_dir },
	{ "class-dirs", aoi_import_class_dirs, 1, NULL },
};

enum { NFORMATS = sizeof formats / sizeof formats[0] };

static int serves(const aoi_format *f, int exporting)
{
	return exporting ? f->export != NULL : f->import != NULL;
}

const aoi_format *aoi_formats_find(const char *name, int exporting)
{
	for (int i = 0; i < NFORMATS; i++)
		if (strcmp(formats[i].name, name) == 0 && serves(&formats[i], exporting))
			return &formats[i];
	return NULL;
}

const char *aoi_formats_names(int exporting, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < NFORMATS && n < size; i++)
		if (serves(&formats[i], exporting))
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "",
					      formats[i].name);
	return buf;
}

int aoi_formats_import(const aoi_format *f, const char *dir, const aoi_import_opts *o,
		       FILE *out, aoi_error *err)
{
	aoi_import_opts io = *o;
	aoi_progress progress;
	json_t *recs;

	aoi_progress_init(&progress, "import", 0);
	io.progress = &progress;
	recs = f->import(f->takes_dir ? dir : NULL, &io, err);
	aoi_progress_end(&progress);
	if (!recs)
		return -1;
	int rc = aoi_datatool_write(out, recs, err);
	json_decref(recs);
	return rc;
}

int aoi_formats_export(const aoi_format *f, const aoi_datatool *t, const char *dir,
		       aoi_error *err)
{
	aoi_dataset ds;
	aoi_export_summary sum = { 0 };
	int rc;

	if (aoi_dataset_load(&ds, t->path ? t->path : "-", t->root, err) != 0)
		return -1;
	rc = f->export(&ds, dir, &sum, err);
	aoi_dataset_release(&ds);
	if (rc != 0)
		return -1;
	json_t *v = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I}", "export", f->name, "dir", dir,
			      "images", (json_int_t)sum.images, "labels", (json_int_t)sum.labels,
			      "boxes", (json_int_t)sum.boxes, "polygons",
			      (json_int_t)sum.polygons);
	rc = aoi_record_write(t->out, v, err);
	json_decref(v);
	return rc;
}
