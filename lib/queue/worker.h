/* worker.h: a queue worker with at-least-once delivery, and the bridges
 * between JSON-lines files and queues (aoi-datatool publish/consume).
 *
 * The worker takes one record at a time from the input queue, hands it
 * to a callback that adds its result to the record, publishes the record
 * to the output queue, waits for the broker's confirm, and only then acks
 * the input. A crash anywhere before the ack means the broker delivers the
 * record again (to this or another worker), so each record comes out at
 * least once; a callback that writes files must make them durable before
 * it returns (aoi_atomic_commit fsyncs).
 *
 * A message that is not a JSON object, or that the callback refuses, is
 * published to the dead-letter queue "IN.dead" with the reason in its
 * "x-aoi-error" header and acked; the worker goes on. When the broker
 * goes away the worker reconnects with backoff. When *stop becomes
 * nonzero (SIGTERM in the program) the record in hand is finished and the
 * worker returns 0. */
#ifndef AOI_WORKER_H
#define AOI_WORKER_H

#include <jansson.h>
#include <signal.h>
#include <stdio.h>

#include "base/cli.h"
#include "base/error.h"

/* Add the result to rec. 0: publish it; -1: the record is bad (err says
 * why; it is dead-lettered); -2: the worker cannot go on (err; the
 * record is not acked and will be delivered again). */
typedef int (*aoi_worker_fn)(void *ctx, json_t *rec, aoi_error *err);

typedef struct aoi_worker_opts {
	const char *url;       /* amqp://... */
	const char *consume;   /* input queue */
	const char *publish;   /* output queue */
	int prefetch;          /* basic.qos; default 1 */
	long max;              /* stop after this many records (0: no limit) */
	const volatile sig_atomic_t *stop; /* set by the program's signal handler */
} aoi_worker_opts;

/* A program's options for working as a queue worker, as entries of its
 * option table (base/cli.h): --amqp URL, --consume QUEUE, --publish QUEUE,
 * --prefetch N. */
#define AOI_WORKER_CLI_OPTS(w) \
	AOI_CLI_OPT_STR(0, "amqp", &(w)->url), AOI_CLI_OPT_STR(0, "consume", &(w)->consume), \
	AOI_CLI_OPT_STR(0, "publish", &(w)->publish), \
	AOI_CLI_OPT_INT(0, "prefetch", &(w)->prefetch, 1, 65535)

/* Their conflicts: --amqp needs --consume and --publish, which need it,
 * and it takes no input (`inputs` operands, named `what` in the message).
 * 0, or -1 with err (a usage error). */
int aoi_worker_check_opts(const aoi_worker_opts *o, int inputs, const char *what,
			  aoi_error *err);

typedef struct aoi_worker_stats {
	long done, dead, reconnects;
} aoi_worker_stats;

int aoi_worker_run(const aoi_worker_opts *o, aoi_worker_fn fn, void *ctx,
		   aoi_worker_stats *st, aoi_error *err);

/* Publish every record of a JSON-lines stream (name in messages) to
 * `queue`, each confirmed; a line that is not a JSON object is an error
 * at name:line and nothing after it is published. *n counts them. */
int aoi_worker_publish_file(const char *url, const char *queue, FILE *in,
			    const char *name, long *n, aoi_error *err);
/* The same for the file at path ("-" or NULL: standard input, named
 * "stdin" in messages). */
int aoi_worker_publish_path(const char *url, const char *queue, const char *path, long *n,
			    aoi_error *err);

/* Write messages of `queue` to out as JSON lines, acking each once it is
 * written and flushed; stop after max (0: no limit), after `idle` seconds
 * without a message (0: never) or when *stop is set. The reason of a dead
 * letter goes to `notes` (when not NULL) as "PREFIX: REASON" lines. */
typedef struct aoi_consume_opts {
	long max;
	double idle;
	FILE *notes;
	const char *prefix;
	const volatile sig_atomic_t *stop;
} aoi_consume_opts;

int aoi_worker_consume_file(const char *url, const char *queue, FILE *out,
			    const aoi_consume_opts *o, long *n, aoi_error *err);

#endif
