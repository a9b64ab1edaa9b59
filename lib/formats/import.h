/* import.h: datasets in other layouts read into records (man/aoi-dataset.5).
 *
 * Each importer returns a new JSON array of records. Image paths in them are
 * the directory as given joined with the layout's relative paths, so that a
 * dataset file written in the working directory finds its images; with
 * `absolute` set they are absolute paths. Width, height and channels come
 * from the image headers (aoi_image_probe), not from decoding. */
#ifndef AOI_IMPORT_H
#define AOI_IMPORT_H

#include <stddef.h>

#include <jansson.h>

#include "base/cli.h"
#include "base/error.h"

typedef struct aoi_import_opts {
	int absolute;        /* write absolute paths */
	const char *split;   /* deeppcb: "trainval", "test" or "all" (NULL = all) */
	const char *images;  /* mask-dir: the images directory */
	const char *masks;   /* mask-dir: the masks directory */
	const char *classes; /* mask-dir: comma-separated class names, or NULL */
	/* binary masks (one class): a pixel is a defect where its value is at
	 * least this; 0 = auto: 128 in a mask with values above 127 (0/255
	 * masks with soft edges), else any non-zero value (0/1 masks) */
	int mask_threshold;
	aoi_progress *progress; /* deeppcb: steps once per pair; may be NULL */
} aoi_import_opts;

/* DeepPCB: PCBData/{trainval,test}.txt, tested image + template, boxes of
 * six classes rasterised into inline masks, split and board group. */
json_t *aoi_import_deeppcb(const char *dir, const aoi_import_opts *o, aoi_error *err);
/* The six DeepPCB classes in type order (type k is names[k-1]). */
extern const char *const aoi_deeppcb_classes[6];

/* YOLO: images/<split>/x.jpg with labels/<split>/x.txt (or <split>/images
 * and <split>/labels, or flat images/ and labels/), class names from
 * data.yaml. Lines `c cx cy w h` are boxes, `c x1 y1 x2 y2 ...` polygons
 * (YOLOv8-seg), all normalised; both become inline masks, and boxes. An
 * empty or missing label file is a good image. */
json_t *aoi_import_yolo(const char *dir, const aoi_import_opts *o, aoi_error *err);
/* Class names from a data.yaml `names:` entry, as a flow list [a, b] or a
 * block of `0: a` / `- a` lines. A new array of strings. */
json_t *aoi_import_yaml_names(const char *text, const char *name, aoi_error *err);

/* Images with same-stem mask PNGs (one class: a binary mask cut at
 * o->mask_threshold; several: class indices); an image without a mask is
 * good. */
json_t *aoi_import_mask_dir(const aoi_import_opts *o, aoi_error *err);

/* One folder per class (its images anywhere below it); label = folder
 * name. train/, val/ and test/ above the class folders become the split.
 * When images have masks beside them (NAME.png or NAME_mask.png next to
 * NAME.jpg: the layout of magnetic-tile), the folder name is instead the
 * defect class of its masks: a folder none of whose masks marks a pixel
 * holds good images (label "good"), the others defective ones (label
 * "defective", the mask as inline "masks" of that class, no mask at all
 * when it is missing or empty: the label alone is known). */
json_t *aoi_import_class_dirs(const char *dir, const aoi_import_opts *o, aoi_error *err);

/* Shared by importers and exporters: the image files (by extension .png,
 * .jpg, .jpeg, .bmp, any case) of a directory, sorted by name; or its
 * subdirectories. A new array of file names (not paths). */
json_t *aoi_import_list_dir(const char *dir, int want_dirs, aoi_error *err);
/* dir as given, or its absolute path when `absolute`, into out. */
int aoi_import_prefix(const char *dir, int absolute, char *out, size_t size,
		      aoi_error *err);
/* Lines of a text buffer, modified in place: returns the next line without
 * its '\n' (and '\r'), NULL at the end; *cursor advances. */
char *aoi_import_next_line(char **cursor);
/* A record's id, image, width, height, channels from the image header. */
json_t *aoi_import_record(const char *id, const char *image, aoi_error *err);

#endif
