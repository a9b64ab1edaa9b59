/* test_worker.c: the queue-worker options of a program (queue/worker.h)
 * and what needs no broker: their conflicts, and a missing file named
 * before any connection. */
#include "check.h"

#include <string.h>

#include "queue/worker.h"

static void test_check_opts(void)
{
	aoi_worker_opts o = { 0 };
	aoi_error err;

	CHECK_INT(aoi_worker_check_opts(&o, 3, "FILE", &err), 0); /* not a worker */
	o.url = "amqp://localhost/";
	CHECK_INT(aoi_worker_check_opts(&o, 0, "FILE", &err), -1);
	CHECK_STR(err.msg, "--amqp needs --consume and --publish");
	o.consume = "in", o.publish = "out";
	CHECK_INT(aoi_worker_check_opts(&o, 0, "FILE", &err), 0);
	CHECK_INT(aoi_worker_check_opts(&o, 1, "DATASET", &err), -1);
	CHECK_STR(err.msg, "--amqp takes no DATASET");
	o.url = NULL;
	CHECK_INT(aoi_worker_check_opts(&o, 0, "FILE", &err), -1);
	CHECK_STR(err.msg, "--consume and --publish need --amqp");
}

static void test_table_entries(void)
{
	aoi_worker_opts o = { 0 };
	const aoi_cli_opt table[] = { AOI_WORKER_CLI_OPTS(&o), AOI_CLI_OPT_END };
	char *argv[] = { "prog", "--amqp", "amqp://h/", "--consume", "a", "--publish", "b",
			 "--prefetch", "8", NULL };
	aoi_cli_parser p = { .prog = "prog", .usage = "", .opts = table };
	int first;

	CHECK_INT(aoi_cli_parse(&p, 9, argv, &first), AOI_CLI_GO);
	CHECK_STR(o.url, "amqp://h/");
	CHECK_STR(o.consume, "a");
	CHECK_STR(o.publish, "b");
	CHECK_INT(o.prefetch, 8);
	CHECK_INT(first, 9);
}

static void test_publish_missing_file(void)
{
	aoi_error err;
	long n = 7;

	CHECK_INT(aoi_worker_publish_path("amqp://127.0.0.1:1/", "q", "/nonexistent/r.jsonl", &n,
					  &err), -1);
	CHECK_INT(n, 0);
	CHECK(strstr(err.where, "/nonexistent/r.jsonl") != NULL ||
	      strstr(err.msg, "/nonexistent/r.jsonl") != NULL);
}

int main(void)
{
	test_check_opts();
	test_table_entries();
	test_publish_missing_file();
	return check_done();
}
