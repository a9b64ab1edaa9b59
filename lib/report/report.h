/* report.h: an inspection report people open in a browser, from disk, with
 * no server and no network: everything it needs is written into one
 * directory.
 *
 *   DIR/index.html     the page (report.css, report.js beside it)
 *   DIR/data.js        the records as the page needs them, and the metrics
 *                      (a script, not JSON: pages opened from file:// may
 *                      not fetch files)
 *   DIR/thumbs/        one thumbnail a record: truth beside prediction,
 *                      masks, heatmap, boxes and the decision drawn on it
 *   DIR/full/          the images (and templates) at full size
 *   DIR/heat/          heatmaps, coloured from pred.heatmap or pred.anomaly
 *   DIR/masks/         truth and predicted masks as COCO RLE, one script a
 *                      record, loaded when the record is opened
 *   DIR/charts/        aoi-metrics' charts
 *
 * Files made for a record are named by its id and a hash of everything
 * they are made from (the record, its truth, the size and time of the files
 * they read), so that writing the report again into the same DIR makes
 * only what changed; files of records no longer in the report are removed.
 *
 * The truth of a record is the record of the same id in `truth`, or, with
 * no truth file, the annotations the record itself carries (aoi-infer keeps
 * those of its input). The metrics are aoi-metrics' (eval/evaluate.h). */
#ifndef AOI_REPORT_H
#define AOI_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "base/cli.h"
#include "base/error.h"
#include "data/datatool.h"

typedef struct aoi_report_opts {
	const char *records;  /* the predictions: a dataset file */
	const char *truth;    /* a dataset file, or NULL */
	const char *root;     /* base of relative paths (NULL: each file's dir) */
	const char *out;      /* the directory to write */
	const char *title;    /* NULL: the records' file name */
	int thumb;            /* thumbnail height in pixels (0: 160) */
	aoi_progress *progress; /* steps once per record; may be NULL */
} aoi_report_opts;

typedef struct aoi_report_summary {
	long records;
	long with_truth;  /* records with a truth */
	long made;        /* records whose files were made this time */
	long reused;      /* records whose files were there already */
	int charts;
} aoi_report_summary;

/* Write the report. On error err names the file and line (or the record)
 * and the page is not written (files made for records before the error
 * stay, to be reused). */
int aoi_report_write(const aoi_report_opts *o, aoi_report_summary *sum, aoi_error *err);

/* aoi-datatool report's --truth, --title and --thumb. */
#define AOI_REPORT_CLI_OPTS(r) \
	AOI_CLI_OPT_STR(0, "truth", &(r)->truth), AOI_CLI_OPT_STR(0, "title", &(r)->title), \
	AOI_CLI_OPT_INT(0, "thumb", &(r)->thumb, 16, 1024)

/* aoi-datatool report: the report of t's records (t->path, t->root: o's
 * records and root), a progress line on stderr (when it is a terminal),
 * then the summary as one JSON line on t->out:
 * {"report", "records", "truth", "made", "reused", "charts"}. */
int aoi_report_run(const aoi_datatool *t, const aoi_report_opts *o, aoi_error *err);

/* The page's own files, built into the program (lib/report/assets/):
 * asset i (0, 1, ...) into *out; -1 past the last. */
typedef struct aoi_report_asset {
	const char *name;          /* "index.html", "report.css", "report.js" */
	const unsigned char *data;
	size_t size;
} aoi_report_asset;

int aoi_report_asset_get(int i, aoi_report_asset *out);

#endif
