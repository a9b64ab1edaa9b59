/* record.h: dataset records, one JSON object per line (man/aoi-dataset.5).
 *
 * Records are jansson objects (json_t). A reader hands out one new
 * reference per line (the caller json_decref()s it); objects keep their keys
 * in insertion order, so a record passed through keeps its fields in place,
 * including fields aoi does not know.
 *
 * Relative paths in a record (image, template, mask) are relative to the
 * dataset file's directory; for standard input, to the working directory or
 * to the root given to aoi_reader_open(). */
#ifndef AOI_RECORD_H
#define AOI_RECORD_H

#include <stdio.h>

#include <jansson.h>

#include "base/error.h"
#include "data/mask.h"

#define AOI_MAX_CLASSES 255

typedef struct aoi_reader aoi_reader;

/* path "-" or NULL reads standard input. root, when not NULL, overrides the
 * base directory for relative paths. */
aoi_reader *aoi_reader_open(const char *path, const char *root, aoi_error *err);
/* 1 and *rec set, 0 at the end, -1 on error (located at name:line). Blank
 * lines are skipped. */
int aoi_reader_next(aoi_reader *r, json_t **rec, aoi_error *err);
const char *aoi_reader_name(const aoi_reader *r); /* file name or "<stdin>" */
long aoi_reader_line(const aoi_reader *r);        /* line of the last record */
const char *aoi_reader_base(const aoi_reader *r); /* directory for paths */
void aoi_reader_free(aoi_reader *r);

/* Read a whole dataset into an array (caller json_decref()s it). */
json_t *aoi_dataset_read(const char *path, const char *root, aoi_error *err);

/* One compact line and '\n'. */
int aoi_record_write(FILE *fp, const json_t *rec, aoi_error *err);

/* Field accessors; NULL or the fallback when absent or of another type. */
const char *aoi_record_str(const json_t *rec, const char *key);
double aoi_record_num(const json_t *rec, const char *key, double fallback);
/* A path field resolved against base into out; -1 if absent or too long. */
int aoi_record_path(const json_t *rec, const char *key, const char *base, char *out,
		    size_t size);

/* Check the record against the format: required fields and their types,
 * label, annotations well formed (RLE strings decode to their size, boxes
 * have 4 numbers and a class, keypoints are pairs). The error carries no
 * place; the caller locates it with aoi_error_locate(). */
int aoi_record_check(const json_t *rec, aoi_error *err);

/* Class names of a dataset, index k+1 in a class-index mask for names[k]. */
typedef struct aoi_classes {
	int n;
	char *names[AOI_MAX_CLASSES];
} aoi_classes;

void aoi_classes_init(aoi_classes *c);
void aoi_classes_release(aoi_classes *c);
/* Index (1-based) of name, adding it when absent; -1 when full. */
int aoi_classes_add(aoi_classes *c, const char *name);
int aoi_classes_find(const aoi_classes *c, const char *name); /* 1-based, 0 if absent */
/* From a record's "classes" array if it has one, else from the keys of its
 * "masks" object and the classes of its "boxes", added in order met. */
int aoi_classes_from_record(aoi_classes *c, const json_t *rec, aoi_error *err);
/* "classes" array as JSON (new reference). */
json_t *aoi_classes_to_json(const aoi_classes *c);

/* The record's annotation as one class-index mask of its image's size,
 * indices per `classes`: from the inline RLE "masks" (later classes win
 * where they overlap), or the "mask" PNG file (its indices mapped through
 * the record's own "classes" to those of `classes`), or rasterised from
 * "boxes" when it has neither. A record with no annotation gives an empty
 * mask. Needs "width" and "height" (or the mask's own size). */
int aoi_record_mask(const json_t *rec, const char *base, const aoi_classes *classes,
		    aoi_mask *out, aoi_error *err);

/* Store a class-index mask as the record's inline "masks" (RLE per class
 * present), replacing any there. */
int aoi_record_set_masks(json_t *rec, const aoi_mask *m, const aoi_classes *classes,
			 aoi_error *err);

/* A record id as a file name: characters other than [A-Za-z0-9._-]
 * become '_'. */
void aoi_record_file_name(const char *id, char *out, size_t size);

#endif
