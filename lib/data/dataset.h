/* dataset.h: whole-dataset operations behind aoi-datatool: loading with line
 * numbers, seeded splits and samples, filters, statistics and validation.
 *
 * Seeded operations sort by a hash of (seed, record id) instead of shuffling
 * the input, so that the same seed gives the same result whatever the order
 * of the input records. */
#ifndef AOI_DATASET_H
#define AOI_DATASET_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "base/cli.h"
#include "base/error.h"

/* A dataset read whole, with the input line of every record (for messages). */
typedef struct aoi_dataset {
	json_t *records;  /* array */
	long *lines;      /* lines[i]: input line of record i */
	char name[4096];  /* file name or "<stdin>" */
	char base[4096];  /* directory relative paths resolve against */
} aoi_dataset;

/* path "-" or NULL reads standard input; root overrides the base. */
int aoi_dataset_load(aoi_dataset *ds, const char *path, const char *root,
		     aoi_error *err);
void aoi_dataset_release(aoi_dataset *ds);
size_t aoi_dataset_size(const aoi_dataset *ds);
/* Set err's place to record i of ds. */
void aoi_dataset_locate(const aoi_dataset *ds, size_t i, aoi_error *err);
/* Set err's place to name:line; a file the error named before (an image
 * that does not decode) moves into the message. */
void aoi_dataset_place(aoi_error *err, const char *name, long line);

/* split: writes "split" (train/val/test) into every record. Units are
 * records, or the values of field `by` (all records of a group go to the
 * same split). With `stratify`, each value of that field (of the group's
 * most common value with `by`) is split in the same proportions. */
typedef struct aoi_split_opts {
	double val, test;     /* shares in [0, 1], val + test <= 1 */
	uint64_t seed;
	const char *stratify; /* field name or NULL */
	const char *by;       /* field name or NULL */
} aoi_split_opts;

int aoi_dataset_split(json_t *records, const aoi_split_opts *o, aoi_error *err);

/* sample: n records (all when fewer), chosen by seed, in input order; with
 * `stratify` each value of that field keeps its share (largest remainder).
 * Returns a new array holding new references. */
json_t *aoi_dataset_sample(const json_t *records, long n, uint64_t seed,
			   const char *stratify, aoi_error *err);

/* filter: a record passes when, for every criterion given, one of its
 * values matches (values OR'ed, criteria AND'ed). */
enum aoi_filter_field {
	AOI_FILTER_LABEL, AOI_FILTER_CLASS, AOI_FILTER_SPLIT, AOI_FILTER_SOURCE,
	AOI_FILTER_GROUP, AOI_FILTER_NFIELDS
};

typedef struct aoi_filter {
	char **values[AOI_FILTER_NFIELDS];
	int n[AOI_FILTER_NFIELDS];
} aoi_filter;

void aoi_filter_init(aoi_filter *f);
void aoi_filter_release(aoi_filter *f);
/* Add the comma-separated values of `list` to a criterion. */
int aoi_filter_add(aoi_filter *f, enum aoi_filter_field field, const char *list,
		   aoi_error *err);
/* 1 when rec passes, 0 when not, -1 on error (a "mask" file that cannot be
 * read when filtering by class). */
int aoi_filter_match(const aoi_filter *f, const json_t *rec, const char *base,
		     aoi_error *err);

/* stats: counts per label, split and class (images and instances), the
 * defective share, image sizes and the distribution of per-instance defect
 * areas (box areas, or connected components of masks when a record has no
 * boxes). A new JSON object; on error err is located at the record. */
json_t *aoi_dataset_stats(const aoi_dataset *ds, aoi_error *err);
/* The same for people: aligned text. */
int aoi_stats_print_table(FILE *fp, const json_t *stats, aoi_error *err);

/* validate: every record against the format (aoi_record_check), its image
 * and template decoded whole (in parallel), sizes compared with the record
 * and with each other, masks checked against the image size. Each problem
 * goes to report() in input order, located at its record; malformed lines
 * are problems too. progress (may be NULL) steps once per record. Returns -1
 * only when the dataset cannot be read at all. */
typedef struct aoi_validate_summary {
	long records;  /* lines that held a record, well formed or not */
	long valid;    /* records without a problem */
	long problems;
	long images, templates, masks; /* files decoded */
} aoi_validate_summary;

typedef void (*aoi_validate_report)(void *ctx, const aoi_error *problem);

int aoi_dataset_validate(const char *path, const char *root, aoi_validate_report report,
			 void *ctx, aoi_progress *progress, aoi_validate_summary *sum,
			 aoi_error *err);

/* The fingerprint of a dataset: for versioning it and for recording in a
 * trained model which data it saw. It changes when any record, or any byte
 * of an image, template or mask file a record names, changes. */
typedef struct aoi_fingerprint {
	char hex[65];
	long records;
	long files;     /* file references hashed (image, template, mask) */
	long long bytes; /* their total size */
	long failed;    /* on error: index of the record whose file failed */
} aoi_fingerprint;

/* The SHA-256 over, for each record in order, its canonical JSON and the
 * digests of the files its "image", "template" and "mask" fields name
 * (resolved against base). Files are hashed in parallel; progress (may be
 * NULL) steps once per record. A missing or
 * unreadable file is an error naming it; fp->failed is then the index of
 * the first record with such a file. */
int aoi_hash_dataset(const json_t *records, const char *base, aoi_progress *progress,
		     aoi_fingerprint *fp, aoi_error *err);

#endif
