/* infer_io.h: where aoi-infer's records come from and go: a dataset read in
 * chunks of the batch, predicted and written out in input order; one
 * record at a time for a queue worker; the stages of a pipeline, the first
 * reading records into the stage stream, the last writing them out.
 *
 * Over infer.h and infer_stage.h: a program opens the model
 * (infer_load.h), makes an aoi_infer and hands it here with its streams. */
#ifndef AOI_INFER_IO_H
#define AOI_INFER_IO_H

#include <jansson.h>
#include <stdio.h>

#include "base/cli.h"
#include "base/error.h"
#include "infer/infer.h"
#include "infer/infer_stage.h"
#include "nn/net.h"

typedef struct aoi_infer_io {
	aoi_infer *inf;        /* borrowed */
	int batch;             /* records a chunk: the aoi_infer's batch */
	const char *dataset;   /* NULL or "-": standard input */
	const char *root;      /* base of relative paths; NULL: the dataset's
				* directory (the working directory for stdin) */
	int keep_going;        /* a record whose image cannot be read is skipped
				* with a note instead of ending the run */
	FILE *in;              /* the stage stream of the stage before */
	const char *in_name;   /* in, as errors name it */
	FILE *out;             /* records, or the stage stream */
	FILE *notes;           /* skipped records: "PREFIX (at f:3): msg (skipped)" */
	const char *prefix;
	aoi_progress *progress; /* steps once per record read; may be NULL */
} aoi_infer_io;

/* Every record of io->dataset predicted and written to io->out in input
 * order. An unreadable record ends the run after the records before it
 * (unless keep_going); 0 or -1. */
int aoi_infer_io_file(const aoi_infer_io *io, aoi_error *err);

/* One record of a queue, as an aoi_worker_fn (queue/worker.h) with ctx an
 * aoi_infer_io (its root, "." when NULL, is the base of relative paths):
 * 0 with "pred" set, its mask file committed and fsynced; -1 when the
 * record cannot be read (err says why); -2 when the network fails. */
int aoi_infer_io_record(void *ctx, json_t *rec, aoi_error *err);

/* The nodes this process runs: stage `stage` of `stages` (stages > 0), or
 * nodes a..b (a <= 1: from the input). *first..*end-1; -1 (AOI_EINVAL)
 * when the net has no such part. */
int aoi_infer_io_nodes(const aoi_net *net, int stage, int stages, int a, int b, int *first,
		       int *end, aoi_error *err);

/* Run stage st (of io->inf) between io->in and io->out: the first stage
 * reads the dataset into the stream, a middle one relays it, the last
 * writes the predicted records as aoi_infer_io_file() does. 0 or -1. */
int aoi_infer_io_stage(const aoi_infer_io *io, aoi_infer_stage *st, aoi_error *err);

#endif
