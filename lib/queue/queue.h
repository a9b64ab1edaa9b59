/* queue.h: a small wrapper around rabbitmq-c (AMQP 0-9-1) for the queue
 * workers (issue 10, man/aoi-classify.1 QUEUES).
 *
 * One aoi_queue is one connection with one channel, used either to
 * consume or to publish, never both: publisher confirms are read from
 * the same socket as deliveries, and keeping them apart means waiting
 * for a confirm never swallows a delivery.
 *
 * Every queue Q is declared durable with a dead-letter queue "Q.dead"
 * (x-dead-letter-exchange "" and x-dead-letter-routing-key "Q.dead"); a
 * queue whose name already ends in ".dead" is declared plainly. All aoi
 * programs declare queues the same way, so any of them may come first.
 *
 * Built without rabbitmq-c (AOI_HAVE_AMQP unset), every function fails
 * with "built without AMQP support". */
#ifndef AOI_QUEUE_H
#define AOI_QUEUE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* 1 when libaoi was built with rabbitmq-c. */
int aoi_queue_available(void);

typedef struct aoi_queue aoi_queue;

/* Connect to an amqp://user:pass@host:port/vhost URL, declare `queue`
 * (and its dead-letter queue); prefetch > 0 sets basic.qos. */
aoi_queue *aoi_queue_open(const char *url, const char *queue, int prefetch,
			  aoi_error *err);
void aoi_queue_close(aoi_queue *q);

/* Drop the connection and connect again, waiting 0.25 s, 0.5 s, ... up to
 * 8 s between tries, until it works or *stop becomes nonzero (then -1).
 * A consuming handle consumes again; unacked deliveries of the old
 * connection go back to the queue (the broker redelivers them). */
int aoi_queue_reconnect(aoi_queue *q, const volatile sig_atomic_t *stop,
			aoi_error *err);

/* ---- consuming ---- */

typedef struct aoi_queue_msg {
	char *body;           /* NUL-terminated copy of the body */
	size_t len;
	uint64_t tag;         /* delivery tag, for ack */
	int redelivered;
	char *reason;         /* its "x-aoi-error" header, or NULL */
} aoi_queue_msg;

/* basic.consume with manual acks. */
int aoi_queue_consume(aoi_queue *q, aoi_error *err);
/* Wait up to `timeout` seconds: 1 and *m filled, 0 on timeout, -1 when
 * the connection or channel is gone (reconnect). */
int aoi_queue_next(aoi_queue *q, double timeout, aoi_queue_msg *m, aoi_error *err);
void aoi_queue_msg_free(aoi_queue_msg *m);
int aoi_queue_ack(aoi_queue *q, uint64_t tag, aoi_error *err);
/* basic.reject without requeue: the broker dead-letters the message. */
int aoi_queue_reject(aoi_queue *q, uint64_t tag, aoi_error *err);

/* ---- publishing ---- */

/* Publish a persistent message to `queue` through the default exchange
 * and wait for the broker's confirm; reason, when not NULL, goes in the
 * "x-aoi-error" header. Returns 0 once confirmed, -1 on nack or a lost
 * connection. */
int aoi_queue_publish(aoi_queue *q, const char *queue, const char *body, size_t len,
		      const char *reason, aoi_error *err);

/* "Q.dead" for Q, in buf. */
const char *aoi_queue_dead_name(const char *queue, char *buf, size_t size);

#endif
