/* infer_io.c: records in and out of inference (infer_io.h). */
#include "infer/infer_io.h"

#include <stdlib.h>

#include "data/record.h"

/* Items of one chunk: records read but not yet written. */
typedef struct chunk {
	aoi_infer_item *items;
	int n, cap;
} chunk;

static void drop_chunk(chunk *c)
{
	for (int i = 0; i < c->n; i++)
		json_decref(c->items[i].rec);
	c->n = 0;
}

/* Write predicted records in order; a record that failed ends the run
 * unless keep_going, after the records before it. */
static int write_items(const aoi_infer_io *io, const aoi_infer_item *items, int n,
		       aoi_error *err)
{
	for (int i = 0; i < n; i++) {
		char buf[1200];
		if (items[i].failed && !io->keep_going) {
			*err = items[i].err;
			return -1;
		}
		if (items[i].failed && io->notes)
			fprintf(io->notes, "%s %s (skipped)\n", io->prefix,
				aoi_error_text(&items[i].err, buf, sizeof(buf)));
		else if (!items[i].failed && aoi_record_write(io->out, items[i].rec, err) < 0)
			return -1;
	}
	return 0;
}

/* What to do with each chunk of records read: predict and write them, or
 * send them down a stage stream. */
typedef int (*chunk_fn)(const aoi_infer_io *io, void *ctx, chunk *c, aoi_error *err);

/* Hand the chunk on, then drop it; 0 or -1. */
static int flush_chunk(const aoi_infer_io *io, chunk_fn fn, void *ctx, chunk *c,
		       aoi_error *err)
{
	int n = c->n, rc = n ? fn(io, ctx, c, err) : 0;

	drop_chunk(c);
	if (io->progress)
		aoi_progress_step(io->progress, n, NULL);
	return rc;
}

/* Read the dataset in chunks of io->batch records and hand each to fn. */
static int read_chunks(const aoi_infer_io *io, chunk_fn fn, void *ctx, aoi_error *err)
{
	aoi_reader *r = aoi_reader_open(io->dataset, io->root, err);
	if (!r)
		return -1;
	chunk c = { calloc((size_t)io->batch, sizeof(aoi_infer_item)), 0, io->batch };
	int rc = c.items ? 0 : aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	while (rc == 0) {
		json_t *rec;
		int got = aoi_reader_next(r, &rec, err);
		if (got < 0) {
			rc = -1;
			break;
		}
		if (got == 1) {
			c.items[c.n++] = (aoi_infer_item){ rec, aoi_reader_base(r),
							   aoi_reader_name(r),
							   aoi_reader_line(r), 0, { 0 } };
			if (c.n < c.cap)
				continue;
		}
		rc = flush_chunk(io, fn, ctx, &c, err);
		if (got == 0)
			break;
	}
	drop_chunk(&c);
	free(c.items);
	aoi_reader_free(r);
	return rc;
}

static int predict_chunk(const aoi_infer_io *io, void *ctx, chunk *c, aoi_error *err)
{
	(void)ctx;
	if (aoi_infer_run(io->inf, c->items, c->n, err) < 0)
		return -1;
	return write_items(io, c->items, c->n, err);
}

int aoi_infer_io_file(const aoi_infer_io *io, aoi_error *err)
{
	return read_chunks(io, predict_chunk, NULL, err);
}

int aoi_infer_io_record(void *ctx, json_t *rec, aoi_error *err)
{
	const aoi_infer_io *io = ctx;
	/* no file name and line: errors keep the mask file they name */
	aoi_infer_item it = { rec, io->root ? io->root : ".", NULL, 0, 0, { 0 } };

	if (aoi_infer_run(io->inf, &it, 1, err) < 0)
		return -2; /* the network failed: not the record's fault */
	if (it.failed) {
		*err = it.err;
		return -1;
	}
	return 0;
}

int aoi_infer_io_nodes(const aoi_net *net, int stage, int stages, int a, int b, int *first,
		       int *end, aoi_error *err)
{
	int n = aoi_net_node_count(net);

	if (stages)
		return aoi_infer_stage_nodes(net, stage, stages, first, end, err);
	if (b >= n)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--nodes %d-%d: the net has nodes "
				     "0-%d", a, b, n - 1);
	*first = a <= 1 ? 0 : a;
	*end = b + 1;
	return 0;
}

static int send_chunk(const aoi_infer_io *io, void *ctx, chunk *c, aoi_error *err)
{
	return aoi_infer_stage_send(ctx, c->items, c->n, io->out, err);
}

/* The last stage: predicted records out, as aoi_infer_io_file() writes them. */
static int receive_records(const aoi_infer_io *io, aoi_infer_stage *st, aoi_error *err)
{
	aoi_infer_item *items;
	int n, got;

	while ((got = aoi_infer_stage_receive(st, io->in, &items, &n, err)) == 1)
		if (write_items(io, items, n, err) < 0)
			return -1;
	return got;
}

int aoi_infer_io_stage(const aoi_infer_io *io, aoi_infer_stage *st, aoi_error *err)
{
	int rc = aoi_infer_stage_begin(st, io->in, io->in_name, io->out, err);

	/* the first stage: records in chunks of the batch, as
	 * aoi_infer_io_file() reads them; failed ones travel on, the last
	 * stage reports them */
	if (rc == 0 && aoi_infer_stage_first(st))
		rc = read_chunks(io, send_chunk, st, err) < 0 ? -1
		     : aoi_infer_stage_end(st, io->out, err);
	else if (rc == 0 && aoi_infer_stage_last(st))
		rc = receive_records(io, st, err);
	else
		while (rc == 0 && (rc = aoi_infer_stage_relay(st, io->in, io->out, err)) == 1)
			rc = 0;
	return rc < 0 ? -1 : 0;
}
