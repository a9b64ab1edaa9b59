/* queue.c: rabbitmq-c behind queue.h. */
#include "queue/queue.h"

#include <stdio.h>
#include <string.h>

const char *aoi_queue_dead_name(const char *queue, char *buf, size_t size)
{
	snprintf(buf, size, "%s.dead", queue);
	return buf;
}

static int is_dead_name(const char *queue)
{
	size_t n = strlen(queue);

	return n >= 5 && strcmp(queue + n - 5, ".dead") == 0;
}

#ifdef AOI_HAVE_AMQP

#include <errno.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#if defined(__has_include) && __has_include(<rabbitmq-c/amqp.h>)
#include <rabbitmq-c/amqp.h>
#include <rabbitmq-c/tcp_socket.h>
#else
#include <amqp.h>
#include <amqp_tcp_socket.h>
#endif

enum { CHANNEL = 1, MAX_QUEUE_NAME = 255 };

struct aoi_queue {
	char *url;                  /* as given, for reconnects */
	char shown[256];            /* the URL without its password, for messages */
	char queue[MAX_QUEUE_NAME + 1];
	int prefetch;
	int consuming, confirming;
	amqp_connection_state_t conn;
	uint64_t published;         /* publish sequence number on this channel */
	char declared[MAX_QUEUE_NAME + 1]; /* last queue published to, declared */
};

int aoi_queue_available(void)
{
	return 1;
}

/* The text of an rpc reply that is not normal. */
static int reply_error(aoi_error *err, const aoi_queue *q, amqp_rpc_reply_t r,
		       const char *what)
{
	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
		return aoi_error_set(err, AOI_EIO, q->shown, 0, "%s: %s", what,
				     amqp_error_string2(r.library_error));
	if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION) {
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			const amqp_connection_close_t *c = r.reply.decoded;
			return aoi_error_set(err, AOI_EIO, q->shown, 0, "%s: connection closed: %.*s",
					     what, (int)c->reply_text.len,
					     (const char *)c->reply_text.bytes);
		}
		if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			const amqp_channel_close_t *c = r.reply.decoded;
			return aoi_error_set(err, AOI_EIO, q->shown, 0, "%s: channel closed: %.*s",
					     what, (int)c->reply_text.len,
					     (const char *)c->reply_text.bytes);
		}
		return aoi_error_set(err, AOI_EIO, q->shown, 0, "%s: server error 0x%08x",
				     what, (unsigned)r.reply.id);
	}
	return aoi_error_set(err, AOI_EIO, q->shown, 0, "%s: no reply", what);
}

static int check_reply(aoi_queue *q, const char *what, aoi_error *err)
{
	amqp_rpc_reply_t r = amqp_get_rpc_reply(q->conn);

	return r.reply_type == AMQP_RESPONSE_NORMAL ? 0 : reply_error(err, q, r, what);
}

static void drop_connection(aoi_queue *q)
{
	if (!q->conn)
		return;
	amqp_connection_close(q->conn, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(q->conn);
	q->conn = NULL;
}

static int declare(aoi_queue *q, const char *queue, aoi_error *err)
{
	char dead[MAX_QUEUE_NAME + 8];
	amqp_table_entry_t args[2];
	amqp_table_t table = { 0, args };

	if (!is_dead_name(queue)) {
		aoi_queue_dead_name(queue, dead, sizeof dead);
		amqp_queue_declare(q->conn, CHANNEL, amqp_cstring_bytes(dead), 0, 1, 0, 0,
				   amqp_empty_table);
		if (check_reply(q, "declaring the dead-letter queue", err) < 0)
			return -1;
		args[0].key = amqp_cstring_bytes("x-dead-letter-exchange");
		args[0].value.kind = AMQP_FIELD_KIND_UTF8;
		args[0].value.value.bytes = amqp_cstring_bytes("");
		args[1].key = amqp_cstring_bytes("x-dead-letter-routing-key");
		args[1].value.kind = AMQP_FIELD_KIND_UTF8;
		args[1].value.value.bytes = amqp_cstring_bytes(dead);
		table.num_entries = 2;
	}
	amqp_queue_declare(q->conn, CHANNEL, amqp_cstring_bytes(queue), 0, 1, 0, 0, table);
	return check_reply(q, "declaring the queue", err);
}

static int start_consuming(aoi_queue *q, aoi_error *err)
{
	amqp_basic_consume(q->conn, CHANNEL, amqp_cstring_bytes(q->queue), amqp_empty_bytes,
			   0, 0, 0, amqp_empty_table);
	return check_reply(q, "consuming", err);
}

/* One try: socket, login, channel, qos, declare, and consume or confirm
 * again if the handle did before. */
static int connect_once(aoi_queue *q, aoi_error *err)
{
	struct amqp_connection_info ci;
	amqp_socket_t *sock;
	struct timeval tv = { 10, 0 };
	char *buf = strdup(q->url);
	int rc;

	if (!buf)
		return aoi_error_set(err, AOI_ENOMEM, q->shown, 0, "out of memory");
	amqp_default_connection_info(&ci);
	if (amqp_parse_url(buf, &ci) != AMQP_STATUS_OK) {
		free(buf);
		return aoi_error_set(err, AOI_EINVAL, q->shown, 0,
				     "not an amqp://user:password@host:port/vhost URL");
	}
	if (ci.ssl) {
		free(buf);
		return aoi_error_set(err, AOI_EINVAL, q->shown, 0, "amqps:// is not supported");
	}
	q->conn = amqp_new_connection();
	sock = q->conn ? amqp_tcp_socket_new(q->conn) : NULL;
	if (!sock) {
		free(buf);
		drop_connection(q);
		return aoi_error_set(err, AOI_ENOMEM, q->shown, 0, "out of memory");
	}
	rc = amqp_socket_open_noblock(sock, ci.host, ci.port, &tv);
	if (rc != AMQP_STATUS_OK) {
		aoi_error_set(err, AOI_EIO, q->shown, 0, "cannot connect to %s:%d: %s", ci.host,
			      ci.port, amqp_error_string2(rc));
		free(buf);
		amqp_destroy_connection(q->conn);
		q->conn = NULL;
		return -1;
	}
	{
		amqp_rpc_reply_t r = amqp_login(q->conn, ci.vhost, 0, 131072, 30,
						AMQP_SASL_METHOD_PLAIN, ci.user, ci.password);
		free(buf);
		if (r.reply_type != AMQP_RESPONSE_NORMAL) {
			reply_error(err, q, r, "login");
			amqp_destroy_connection(q->conn);
			q->conn = NULL;
			return -1;
		}
	}
	amqp_channel_open(q->conn, CHANNEL);
	rc = check_reply(q, "opening a channel", err);
	if (rc == 0 && q->prefetch > 0) {
		amqp_basic_qos(q->conn, CHANNEL, 0, (uint16_t)q->prefetch, 0);
		rc = check_reply(q, "setting the prefetch", err);
	}
	if (rc == 0)
		rc = declare(q, q->queue, err);
	if (rc == 0 && q->consuming)
		rc = start_consuming(q, err);
	q->confirming = 0;
	q->published = 0;
	q->declared[0] = '\0';
	if (rc < 0)
		drop_connection(q);
	return rc;
}

/* url with "user:password@" shown as "user:***@": messages end up in logs. */
static void hide_password(const char *url, char *out, size_t size)
{
	const char *scheme = strstr(url, "://");
	const char *at = strchr(url, '@');
	const char *colon = scheme ? strchr(scheme + 3, ':') : NULL;

	if (scheme && at && colon && colon < at)
		snprintf(out, size, "%.*s:***%s", (int)(colon - url), url, at);
	else
		snprintf(out, size, "%s", url);
}

aoi_queue *aoi_queue_open(const char *url, const char *queue, int prefetch,
			  aoi_error *err)
{
	aoi_queue *q;

	if (strlen(queue) == 0 || strlen(queue) > MAX_QUEUE_NAME - 5) {
		aoi_error_set(err, AOI_EINVAL, url, 0, "queue name '%s': empty or too long",
			      queue);
		return NULL;
	}
	q = calloc(1, sizeof *q);
	if (!q || !(q->url = strdup(url))) {
		free(q);
		aoi_error_set(err, AOI_ENOMEM, url, 0, "out of memory");
		return NULL;
	}
	snprintf(q->queue, sizeof q->queue, "%s", queue);
	hide_password(url, q->shown, sizeof q->shown);
	q->prefetch = prefetch > 0xffff ? 0xffff : prefetch;
	if (connect_once(q, err) < 0) {
		aoi_queue_close(q);
		return NULL;
	}
	return q;
}

void aoi_queue_close(aoi_queue *q)
{
	if (!q)
		return;
	drop_connection(q);
	free(q->url);
	free(q);
}

/* Sleep `s` seconds in short naps, returning early (-1) once *stop is set. */
static int nap(double s, const volatile sig_atomic_t *stop)
{
	while (s > 0) {
		double step = s < 0.05 ? s : 0.05;
		struct timespec ts = { 0, (long)(step * 1e9) };

		if (stop && *stop)
			return -1;
		nanosleep(&ts, NULL);
		s -= step;
	}
	return stop && *stop ? -1 : 0;
}

int aoi_queue_reconnect(aoi_queue *q, const volatile sig_atomic_t *stop, aoi_error *err)
{
	double wait = 0.25;

	drop_connection(q);
	for (;;) {
		if (nap(wait, stop) < 0)
			return aoi_error_set(err, AOI_EIO, q->shown, 0,
					     "stopped while reconnecting");
		if (connect_once(q, err) == 0)
			return 0;
		wait = wait * 2 > 8 ? 8 : wait * 2;
	}
}

int aoi_queue_consume(aoi_queue *q, aoi_error *err)
{
	if (!q->conn)
		return aoi_error_set(err, AOI_EIO, q->shown, 0, "not connected");
	if (start_consuming(q, err) < 0)
		return -1;
	q->consuming = 1;
	return 0;
}

/* A frame that is not a delivery arrived while consuming: a close from
 * the broker means reconnect; anything else is skipped. */
static int other_frame(aoi_queue *q, aoi_error *err)
{
	amqp_frame_t f;
	int rc = amqp_simple_wait_frame(q->conn, &f);

	if (rc != AMQP_STATUS_OK)
		return aoi_error_set(err, AOI_EIO, q->shown, 0, "connection lost: %s",
				     amqp_error_string2(rc));
	if (f.frame_type == AMQP_FRAME_METHOD &&
	    (f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD ||
	     f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD))
		return aoi_error_set(err, AOI_EIO, q->shown, 0, "the broker closed the %s",
				     f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD
					     ? "channel" : "connection");
	return 0;
}

/* The "x-aoi-error" header of a dead letter into m->reason (left NULL
 * when absent or out of memory: the reason is a note, not the message). */
static void copy_reason(const amqp_basic_properties_t *p, aoi_queue_msg *m)
{
	if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG))
		return;
	for (int i = 0; i < p->headers.num_entries; i++) {
		const amqp_table_entry_t *e = &p->headers.entries[i];

		if (e->key.len == 11 && memcmp(e->key.bytes, "x-aoi-error", 11) == 0 &&
		    (e->value.kind == AMQP_FIELD_KIND_UTF8 ||
		     e->value.kind == AMQP_FIELD_KIND_BYTES)) {
			m->reason = strndup(e->value.value.bytes.bytes, e->value.value.bytes.len);
			return;
		}
	}
}

int aoi_queue_next(aoi_queue *q, double timeout, aoi_queue_msg *m, aoi_error *err)
{
	amqp_envelope_t env;
	struct timeval tv;
	amqp_rpc_reply_t r;

	memset(m, 0, sizeof *m);
	if (!q->conn)
		return aoi_error_set(err, AOI_EIO, q->shown, 0, "not connected");
	tv.tv_sec = (time_t)timeout;
	tv.tv_usec = (suseconds_t)((timeout - (double)tv.tv_sec) * 1e6);
	amqp_maybe_release_buffers(q->conn);
	r = amqp_consume_message(q->conn, &env, &tv, 0);
	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
	    r.library_error == AMQP_STATUS_TIMEOUT)
		return 0;
	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
	    r.library_error == AMQP_STATUS_UNEXPECTED_STATE)
		return other_frame(q, err);
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		return reply_error(err, q, r, "receiving");
	m->body = malloc(env.message.body.len + 1);
	if (!m->body) {
		amqp_destroy_envelope(&env);
		return aoi_error_set(err, AOI_ENOMEM, q->shown, 0, "out of memory");
	}
	memcpy(m->body, env.message.body.bytes, env.message.body.len);
	m->body[env.message.body.len] = '\0';
	m->len = env.message.body.len;
	m->tag = env.delivery_tag;
	m->redelivered = env.redelivered;
	copy_reason(&env.message.properties, m);
	amqp_destroy_envelope(&env);
	return 1;
}

void aoi_queue_msg_free(aoi_queue_msg *m)
{
	free(m->body);
	free(m->reason);
	m->body = m->reason = NULL;
	m->len = 0;
}

int aoi_queue_ack(aoi_queue *q, uint64_t tag, aoi_error *err)
{
	int rc = q->conn ? amqp_basic_ack(q->conn, CHANNEL, tag, 0) : AMQP_STATUS_SOCKET_ERROR;

	return rc == AMQP_STATUS_OK ? 0
				    : aoi_error_set(err, AOI_EIO, q->shown, 0, "ack: %s",
						    amqp_error_string2(rc));
}

int aoi_queue_reject(aoi_queue *q, uint64_t tag, aoi_error *err)
{
	int rc = q->conn ? amqp_basic_reject(q->conn, CHANNEL, tag, 0)
			 : AMQP_STATUS_SOCKET_ERROR;

	return rc == AMQP_STATUS_OK ? 0
				    : aoi_error_set(err, AOI_EIO, q->shown, 0, "reject: %s",
						    amqp_error_string2(rc));
}

/* Wait for the broker's basic.ack (or nack) of publish number `seq`. */
static int wait_confirm(aoi_queue *q, uint64_t seq, aoi_error *err)
{
	for (;;) {
		amqp_frame_t f;
		struct timeval tv = { 30, 0 };
		int rc = amqp_simple_wait_frame_noblock(q->conn, &f, &tv);

		if (rc == AMQP_STATUS_TIMEOUT)
			return aoi_error_set(err, AOI_EIO, q->shown, 0,
					     "no publisher confirm within 30 s");
		if (rc != AMQP_STATUS_OK)
			return aoi_error_set(err, AOI_EIO, q->shown, 0, "connection lost: %s",
					     amqp_error_string2(rc));
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
			const amqp_basic_ack_t *a = f.payload.method.decoded;
			/* one publish in flight: an ack of it, or a "multiple"
			 * ack up to it or beyond */
			if (a->delivery_tag >= seq)
				return 0;
		} else if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
			return aoi_error_set(err, AOI_EIO, q->shown, 0,
					     "the broker refused the message (nack)");
		} else if (f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD ||
			   f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD) {
			drop_connection(q);
			return aoi_error_set(err, AOI_EIO, q->shown, 0,
					     "the broker closed the connection");
		}
	}
}

int aoi_queue_publish(aoi_queue *q, const char *queue, const char *body, size_t len,
		      const char *reason, aoi_error *err)
{
	amqp_basic_properties_t p;
	amqp_table_entry_t h;
	int rc;

	if (!q->conn)
		return aoi_error_set(err, AOI_EIO, q->shown, 0, "not connected");
	if (q->consuming)
		return aoi_error_set(err, AOI_EINVAL, q->shown, 0,
				     "a consuming handle cannot publish");
	if (!q->confirming) {
		amqp_confirm_select(q->conn, CHANNEL);
		if (check_reply(q, "enabling publisher confirms", err) < 0)
			return -1;
		q->confirming = 1;
	}
	if (strcmp(q->declared, queue) != 0 && strcmp(q->queue, queue) != 0) {
		if (declare(q, queue, err) < 0)
			return -1;
		snprintf(q->declared, sizeof q->declared, "%s", queue);
	}
	memset(&p, 0, sizeof p);
	p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
	p.content_type = amqp_cstring_bytes("application/json");
	p.delivery_mode = 2; /* persistent */
	if (reason) {
		h.key = amqp_cstring_bytes("x-aoi-error");
		h.value.kind = AMQP_FIELD_KIND_UTF8;
		h.value.value.bytes = amqp_cstring_bytes(reason);
		p.headers.num_entries = 1;
		p.headers.entries = &h;
		p._flags |= AMQP_BASIC_HEADERS_FLAG;
	}
	rc = amqp_basic_publish(q->conn, CHANNEL, amqp_empty_bytes, amqp_cstring_bytes(queue),
				0, 0, &p, (amqp_bytes_t){ len, (void *)body });
	if (rc != AMQP_STATUS_OK)
		return aoi_error_set(err, AOI_EIO, q->shown, 0, "publish: %s",
				     amqp_error_string2(rc));
	return wait_confirm(q, ++q->published, err);
}

#else /* !AOI_HAVE_AMQP */

static int no_amqp(aoi_error *err)
{
	return aoi_error_set(err, AOI_EINVAL, "amqp", 0,
			     "built without AMQP support (install librabbitmq-dev and rebuild)");
}

int aoi_queue_available(void) { return 0; }

aoi_queue *aoi_queue_open(const char *url, const char *queue, int prefetch,
			  aoi_error *err)
{
	(void)url, (void)queue, (void)prefetch, (void)is_dead_name;
	no_amqp(err);
	return NULL;
}

void aoi_queue_close(aoi_queue *q) { (void)q; }

int aoi_queue_reconnect(aoi_queue *q, const volatile sig_atomic_t *stop, aoi_error *err)
{
	(void)q, (void)stop;
	return no_amqp(err);
}

int aoi_queue_consume(aoi_queue *q, aoi_error *err)
{
	(void)q;
	return no_amqp(err);
}

int aoi_queue_next(aoi_queue *q, double timeout, aoi_queue_msg *m, aoi_error *err)
{
	(void)q, (void)timeout;
	m->body = NULL;
	return no_amqp(err);
}

void aoi_queue_msg_free(aoi_queue_msg *m) { (void)m; }

int aoi_queue_ack(aoi_queue *q, uint64_t tag, aoi_error *err)
{
	(void)q, (void)tag;
	return no_amqp(err);
}

int aoi_queue_reject(aoi_queue *q, uint64_t tag, aoi_error *err)
{
	(void)q, (void)tag;
	return no_amqp(err);
}

int aoi_queue_publish(aoi_queue *q, const char *queue, const char *body, size_t len,
		      const char *reason, aoi_error *err)
{
	(void)q, (void)queue, (void)body, (void)len, (void)reason;
	return no_amqp(err);
}

#endif
