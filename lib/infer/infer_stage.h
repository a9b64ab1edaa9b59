/* infer_stage.h: aoi-infer as pipeline stages (aoi-infer --stage K/N): the
 * network cut into node ranges, one process each, the tensors crossing
 * each cut passed down a pipe as a binary stream (man/aoi-model.5, STAGE
 * STREAM).
 *
 * The first stage reads records, decodes their images, resizes them or
 * cuts them into tiles, normalises them and runs the first nodes; for each
 * chunk of records the stream carries the records themselves (JSON), what
 * became of each (read, or failed and why), original and plane sizes and
 * the tile layout, then for each network batch every tensor that crosses
 * the cut (with skip connections, several). Middle stages run their nodes
 * on each batch and pass the rest on. The last stage runs the remaining
 * nodes and makes the predictions exactly as aoi_infer_run() does: the
 * same records and masks, bit for bit, as one process.
 *
 * Each stage holds an aoi_infer made as usual (aoi_infer_new, same model,
 * --size and --batch in every stage); the stream's header carries a digest
 * of the model and the cut so that a stage refuses a stream from another
 * model, size, batch or cut. */
#ifndef AOI_INFER_STAGE_H
#define AOI_INFER_STAGE_H

#include <stdio.h>

#include "infer/infer.h"

/* The nodes of stage k (1-based) of n, cut by FLOPs at valid cuts
 * (aoi_net_stage_bounds): *first..*end-1. -1 (AOI_EINVAL) when k or n is
 * out of range or the net has fewer cuts than n - 1. */
int aoi_infer_stage_nodes(const aoi_net *net, int k, int n, int *first, int *end,
			  aoi_error *err);

typedef struct aoi_infer_stage aoi_infer_stage;

/* A stage running nodes first..end-1 of inf's net (planned by
 * aoi_infer_new): first 0 reads records, end = node count predicts; both
 * must otherwise be valid cuts (AOI_EINVAL). inf is borrowed. */
aoi_infer_stage *aoi_infer_stage_new(aoi_infer *inf, int first, int end, aoi_error *err);
void aoi_infer_stage_free(aoi_infer_stage *st);
int aoi_infer_stage_first(const aoi_infer_stage *st);
int aoi_infer_stage_last(const aoi_infer_stage *st);

/* Read and check the header of the stream from the stage before (not the
 * first stage; in_name names it in errors), and write the header for the
 * stage after (not the last). */
int aoi_infer_stage_begin(aoi_infer_stage *st, FILE *in, const char *in_name, FILE *out,
			  aoi_error *err);

/* First stage: n records (as for aoi_infer_run, n at most the batch) into
 * one chunk of the stream. Records whose image cannot be read go on marked failed, with
 * their error: the last stage reports them. */
int aoi_infer_stage_send(aoi_infer_stage *st, aoi_infer_item *items, int n, FILE *out,
			 aoi_error *err);

/* Middle stage: one chunk through; 1 for a chunk, 0 at the end marker
 * (passed on), -1 on error. */
int aoi_infer_stage_relay(aoi_infer_stage *st, FILE *in, FILE *out, aoi_error *err);

/* Last stage: the next chunk's records with "pred" set, as aoi_infer_run
 * leaves them (failed ones marked, with their error); *items and the
 * records stay the stage's until the next call. 1 for a chunk, 0 at the
 * end marker, -1 on error. */
int aoi_infer_stage_receive(aoi_infer_stage *st, FILE *in, aoi_infer_item **items, int *n,
			    aoi_error *err);

/* First and middle stages: the end marker, flushed. */
int aoi_infer_stage_end(aoi_infer_stage *st, FILE *out, aoi_error *err);

#endif
