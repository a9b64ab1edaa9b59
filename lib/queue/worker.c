/* worker.c: the at-least-once loop of worker.h over queue.h. */
#include "queue/worker.h"

#include <stdlib.h>
#include <string.h>

#include "queue/queue.h"

enum { POLL_MS = 200 };

typedef struct wlink {
	aoi_queue *in, *out;
	const aoi_worker_opts *o;
	aoi_worker_stats *st;
} wlink;

static int stopped(const volatile sig_atomic_t *stop)
{
	return stop && *stop;
}

/* Both connections again: the unacked record in hand goes back to the
 * queue with the old input connection. */
static int reconnect(wlink *l, aoi_error *err)
{
	l->st->reconnects++;
	if (aoi_queue_reconnect(l->in, l->o->stop, err) < 0)
		return -1;
	return aoi_queue_reconnect(l->out, l->o->stop, err);
}

/* The record, or NULL with why in reason. */
static json_t *parse(const aoi_queue_msg *m, char *reason, size_t size)
{
	json_error_t je;
	json_t *rec = json_loadb(m->body, m->len, 0, &je);

	if (!rec)
		snprintf(reason, size, "not JSON: %s (at column %d)", je.text, je.column);
	else if (!json_is_object(rec)) {
		snprintf(reason, size, "not a JSON object");
		json_decref(rec);
		rec = NULL;
	}
	return rec;
}

/* Dead-letter with reason (confirmed), then ack: the reason travels in a
 * header, which basic.reject cannot carry. */
static int dead_letter(wlink *l, const aoi_queue_msg *m, const char *reason, aoi_error *err)
{
	char dead[300];

	aoi_queue_dead_name(l->o->consume, dead, sizeof dead);
	if (aoi_queue_publish(l->out, dead, m->body, m->len, reason, err) < 0 ||
	    aoi_queue_ack(l->in, m->tag, err) < 0)
		return -1;
	l->st->dead++;
	return 0;
}

/* One message: 0 handled, -1 broker trouble (reconnect), -2 fatal. */
static int handle(wlink *l, const aoi_queue_msg *m, aoi_worker_fn fn, void *ctx,
		  aoi_error *err)
{
	char reason[700];
	json_t *rec = parse(m, reason, sizeof reason);
	aoi_error cerr;
	char *text;
	int rc;

	if (!rec)
		return dead_letter(l, m, reason, err);
	aoi_error_clear(&cerr);
	rc = fn(ctx, rec, &cerr);
	if (rc == -2) {
		json_decref(rec);
		*err = cerr;
		return -2;
	}
	if (rc < 0) {
		json_decref(rec);
		aoi_error_text(&cerr, reason, sizeof reason);
		return dead_letter(l, m, reason, err);
	}
	text = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(rec);
	if (!text) {
		aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
		return -2;
	}
	rc = aoi_queue_publish(l->out, l->o->publish, text, strlen(text), NULL, err);
	free(text);
	if (rc == 0)
		rc = aoi_queue_ack(l->in, m->tag, err);
	if (rc == 0)
		l->st->done++;
	return rc;
}

static int loop(wlink *l, aoi_worker_fn fn, void *ctx, aoi_error *err)
{
	while (!stopped(l->o->stop) && (l->o->max <= 0 || l->st->done + l->st->dead < l->o->max)) {
		aoi_queue_msg m;
		int rc = aoi_queue_next(l->in, POLL_MS / 1000.0, &m, err);

		if (rc > 0) {
			rc = handle(l, &m, fn, ctx, err);
			aoi_queue_msg_free(&m);
			if (rc == -2)
				return -1;
		}
		if (rc < 0 && reconnect(l, err) < 0)
			return stopped(l->o->stop) ? 0 : -1;
	}
	return 0;
}

int aoi_worker_run(const aoi_worker_opts *o, aoi_worker_fn fn, void *ctx,
		   aoi_worker_stats *st, aoi_error *err)
{
	wlink l = { NULL, NULL, o, st };
	int rc = -1;

	memset(st, 0, sizeof *st);
	l.in = aoi_queue_open(o->url, o->consume, o->prefetch > 0 ? o->prefetch : 1, err);
	if (l.in)
		l.out = aoi_queue_open(o->url, o->publish, 0, err);
	if (l.out && aoi_queue_consume(l.in, err) == 0)
		rc = loop(&l, fn, ctx, err);
	aoi_queue_close(l.out);
	aoi_queue_close(l.in);
	return rc;
}

int aoi_worker_publish_file(const char *url, const char *queue, FILE *in,
			    const char *name, long *n, aoi_error *err)
{
	aoi_queue *q = aoi_queue_open(url, queue, 0, err);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long lineno = 0;
	int rc = q ? 0 : -1;

	*n = 0;
	while (rc == 0 && (len = getline(&line, &cap, in)) >= 0) {
		json_error_t je;
		json_t *rec;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		rec = json_loadb(line, (size_t)len, 0, &je);
		if (!json_is_object(rec))
			rc = aoi_error_set(err, AOI_EFORMAT, name, lineno, "%s",
					   rec ? "not a JSON object" : je.text);
		json_decref(rec);
		if (rc == 0)
			rc = aoi_queue_publish(q, queue, line, (size_t)len, NULL, err);
		if (rc == 0)
			++*n;
	}
	if (rc == 0 && ferror(in))
		rc = aoi_error_errno(err, name, "read");
	free(line);
	aoi_queue_close(q);
	return rc;
}

int aoi_worker_publish_path(const char *url, const char *queue, const char *path, long *n,
			    aoi_error *err)
{
	int std = !path || strcmp(path, "-") == 0;
	FILE *in = std ? stdin : fopen(path, "r");
	int rc;

	*n = 0;
	if (!in)
		return aoi_error_errno(err, path, "open");
	rc = aoi_worker_publish_file(url, queue, in, std ? "stdin" : path, n, err);
	if (!std)
		fclose(in);
	return rc;
}

static int write_out(aoi_queue *q, const aoi_queue_msg *m, FILE *out, aoi_error *err)
{
	if (fwrite(m->body, 1, m->len, out) != m->len || putc('\n', out) == EOF ||
	    fflush(out) != 0)
		return aoi_error_errno(err, "standard output", "write");
	return aoi_queue_ack(q, m->tag, err);
}

int aoi_worker_consume_file(const char *url, const char *queue, FILE *out,
			    const aoi_consume_opts *o, long *n, aoi_error *err)
{
	long max = o->max;
	double idle = o->idle;
	const volatile sig_atomic_t *stop = o->stop;
	int prefetch = max > 0 && max < 64 ? (int)max : 64;
	aoi_queue *q = aoi_queue_open(url, queue, prefetch, err);
	double quiet = 0;
	int rc = q ? aoi_queue_consume(q, err) : -1;

	*n = 0;
	while (rc == 0 && !stopped(stop) && (max <= 0 || *n < max) &&
	       (idle <= 0 || quiet < idle)) {
		aoi_queue_msg m;
		int got = aoi_queue_next(q, POLL_MS / 1000.0, &m, err);

		if (got == 0) {
			quiet += POLL_MS / 1000.0;
		} else if (got > 0) {
			quiet = 0;
			if (m.reason && o->notes)
				fprintf(o->notes, "%s: %s\n", o->prefix ? o->prefix : queue, m.reason);
			rc = write_out(q, &m, out, err);
			aoi_queue_msg_free(&m);
			*n += rc == 0;
		} else {
			rc = aoi_queue_reconnect(q, stop, err);
			if (rc < 0 && stopped(stop))
				rc = 0;
		}
	}
	aoi_queue_close(q);
	return rc;
}

int aoi_worker_check_opts(const aoi_worker_opts *o, int inputs, const char *what,
			  aoi_error *err)
{
	if (o->url && (!o->consume || !o->publish))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--amqp needs --consume and --publish");
	if (!o->url && (o->consume || o->publish))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--consume and --publish need --amqp");
	if (o->url && inputs > 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--amqp takes no %s", what);
	return 0;
}
