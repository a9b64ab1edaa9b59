/* corrections.h: what reviewers decided in the report (report.h), folded
 * back into a dataset as labels.
 *
 * A corrections file is JSON lines, one line per reviewed record
 * (man/aoi-dataset.5, CORRECTIONS):
 *
 *   {"id":"b07","verdict":"reject","class":"short",
 *    "mask":{"size":[h,w],"counts":"..."},"reviewer":"ana",
 *    "time":"2026-11-22T10:31:02Z"}
 *
 * "verdict" is the reviewer's decision on the part (accept or reject);
 * "mask", when there, is the whole defect annotation in COCO RLE, every
 * pixel of class "class"; a reviewer who painted several classes gives
 * "masks" ({class: RLE}, as a record's inline masks) instead. A correction
 * without a mask leaves the record's annotation as it is.
 *
 * Folding a correction into its record: "decision" becomes the verdict
 * (the model's goes to "review"), "label" good or defective (or "class",
 * for a record whose label is a class name), the mask replaces "masks",
 * "mask" and "boxes", and "review" keeps who decided and when. */
#ifndef AOI_CORRECTIONS_H
#define AOI_CORRECTIONS_H

#include <stdio.h>

#include <jansson.h>

#include "base/cli.h"
#include "base/error.h"
#include "data/dataset.h"
#include "data/datatool.h"

typedef struct aoi_merge_summary {
	long corrections; /* lines read */
	long masks;       /* of them with a mask */
} aoi_merge_summary;

/* Read every correction of path ("-": standard input), check each against
 * ds (an id of ds, at most one correction per id, fields well formed, the
 * mask of the record's image size), then fold them all into ds->records.
 * On the first problem err names path:line and ds is left unchanged.
 * reviewed (may be NULL) gets one byte per record of ds: 1 where a
 * correction was folded in. */
int aoi_corrections_merge(aoi_dataset *ds, const char *path, unsigned char *reviewed,
			  aoi_merge_summary *sum, aoi_error *err);

/* aoi-datatool merge: its options (--corrections FILE, --reviewed-only). */
typedef struct aoi_merge_opts {
	const char *corrections;
	int reviewed_only; /* write only the records a correction changed */
} aoi_merge_opts;

#define AOI_MERGE_CLI_OPTS(m) \
	AOI_CLI_OPT_STR(0, "corrections", &(m)->corrections), \
	AOI_CLI_OPT_FLAG(0, "reviewed-only", &(m)->reviewed_only)

/* aoi-datatool merge: the dataset of t with the corrections folded in,
 * written to t->out as JSON lines: every record, or only those corrected.
 * Nothing is written when a correction is refused. */
int aoi_corrections_merge_run(const aoi_datatool *t, const aoi_merge_opts *m, aoi_error *err);

/* One correction into rec (paths against base: the image is probed when
 * the record has no width and height). On error rec may be half changed:
 * give it a copy. The error carries no place. */
int aoi_correction_apply(json_t *rec, const json_t *corr, const char *base,
			 aoi_error *err);

#endif
