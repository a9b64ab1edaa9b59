/* datatool.h: aoi-datatool's dataset subcommands, one call each: read the
 * dataset, do one thing (dataset.h, render.h), write the result: records
 * as JSON lines, a JSON summary line, or the fingerprint. Errors are
 * located at the record (file:line). Importers and exporters, which need
 * formats/, are in formats/formats.h. */
#ifndef AOI_DATATOOL_H
#define AOI_DATATOOL_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "base/error.h"
#include "data/dataset.h"

/* Where a subcommand reads and writes. */
typedef struct aoi_datatool {
	const char *path;  /* the dataset; "-" or NULL: standard input */
	const char *root;  /* base of relative paths; NULL: the dataset's directory
			    * (the working directory for standard input) */
	FILE *out;         /* the result */
} aoi_datatool;

/* The records of an array as JSON lines; 0 or -1. */
int aoi_datatool_write(FILE *out, const json_t *records, aoi_error *err);

/* Every record with "split" set (aoi_dataset_split). */
int aoi_datatool_split(const aoi_datatool *t, const aoi_split_opts *o, aoi_error *err);
/* n records chosen by seed (aoi_dataset_sample). */
int aoi_datatool_sample(const aoi_datatool *t, long n, uint64_t seed, const char *stratify,
			aoi_error *err);
/* The records f passes, read and written one at a time. */
int aoi_datatool_filter(const aoi_datatool *t, const aoi_filter *f, aoi_error *err);
/* The statistics as one JSON line, or as a table. */
int aoi_datatool_stats(const aoi_datatool *t, int table, aoi_error *err);
/* The fingerprint's hex digest and a newline; a progress line on stderr. */
int aoi_datatool_hash(const aoi_datatool *t, aoi_error *err);
/* Every record drawn into dir (aoi_render_dataset) and written with its
 * "render" path; a progress line on stderr. */
int aoi_datatool_render(const aoi_datatool *t, const char *dir, aoi_error *err);
/* Every problem to report() (aoi_dataset_validate), then the summary line
 * {records, valid, problems, images, templates, masks}; *problems counts
 * them. A progress line on stderr. */
int aoi_datatool_validate(const aoi_datatool *t, aoi_validate_report report, void *ctx,
			  long *problems, aoi_error *err);

#endif
