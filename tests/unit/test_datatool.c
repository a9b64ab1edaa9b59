/* test_datatool.c: aoi-datatool's dataset subcommands as calls
 * (data/datatool.h) on testdata/train: what each writes, that a bad record
 * is named at its line, and that validation counts its problems. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/datatool.h"

#define DATA "testdata/train/train.jsonl"

static char text[65536];
static char dir[] = "/tmp/aoi-test-datatool.XXXXXX";

/* What the stream holds, in text; closes it. */
static const char *read_back(FILE *f)
{
	check_text_of(f, text, sizeof text);
	fclose(f);
	return text;
}

static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_split_sample_filter(void)
{
	aoi_datatool t = { DATA, NULL, tmpfile() };
	aoi_split_opts so = { .val = 0.25, .test = 0.25, .seed = 7 };
	aoi_filter f;
	aoi_error err;
	static char first[65536];
	const char *want = first;

	CHECK_MSG(aoi_datatool_split(&t, &so, &err) == 0, "%s", err.msg);
	snprintf(first, sizeof first, "%s", read_back(t.out));
	CHECK_INT(lines(want), 16);
	CHECK(strstr(want, "\"split\":\"val\"") && strstr(want, "\"split\":\"test\""));
	t.out = tmpfile();
	CHECK(aoi_datatool_split(&t, &so, &err) == 0);
	read_back(t.out);
	CHECK(strcmp(text, want) == 0); /* the same seed, the same split */

	t.out = tmpfile();
	CHECK(aoi_datatool_sample(&t, 3, 1, NULL, &err) == 0);
	read_back(t.out);
	CHECK_INT(lines(text), 3);

	aoi_filter_init(&f);
	CHECK(aoi_filter_add(&f, AOI_FILTER_LABEL, "good", &err) == 0);
	t.out = tmpfile();
	CHECK(aoi_datatool_filter(&t, &f, &err) == 0);
	read_back(t.out);
	CHECK(lines(text) > 0 && lines(text) < 16);
	CHECK(strstr(text, "\"label\":\"defective\"") == NULL);
	aoi_filter_release(&f);
}

static void test_stats_hash(void)
{
	aoi_datatool t = { DATA, NULL, tmpfile() };
	aoi_error err;

	CHECK(aoi_datatool_stats(&t, 0, &err) == 0);
	read_back(t.out);
	CHECK(text[0] == '{' && lines(text) == 1);
	t.out = tmpfile();
	CHECK(aoi_datatool_stats(&t, 1, &err) == 0);
	read_back(t.out);
	CHECK(lines(text) > 1);
	t.out = tmpfile();
	CHECK(aoi_datatool_hash(&t, &err) == 0);
	read_back(t.out);
	CHECK(strlen(text) == 65 && text[64] == '\n');
	CHECK(strspn(text, "0123456789abcdef") == 64);
}

/* A copy of the first two records with the second's image missing. */
static void write_bad(char *path, size_t size)
{
	FILE *in = fopen(DATA, "r"), *out;
	char line[1024];

	snprintf(path, size, "%s/bad.jsonl", dir);
	out = fopen(path, "w");
	CHECK(in && out && fgets(line, sizeof line, in) != NULL);
	fputs(line, out);
	fputs("{\"id\":\"x\",\"image\":\"none.png\"}\n", out);
	fclose(in), fclose(out);
}

static void count_problem(void *ctx, const aoi_error *problem)
{
	(void)problem;
	++*(long *)ctx;
}

static void test_errors_and_validate(void)
{
	char bad[300];
	aoi_datatool t = { NULL, "testdata/train", tmpfile() };
	aoi_error err;
	long seen = 0, problems = -1;

	write_bad(bad, sizeof bad);
	t.path = bad;
	CHECK(aoi_datatool_hash(&t, &err) == -1);
	CHECK_INT(err.line, 2);
	CHECK(*read_back(t.out) == '\0');
	t.out = tmpfile();
	CHECK(aoi_datatool_validate(&t, count_problem, &seen, &problems, &err) == 0);
	CHECK_INT(problems, 1);
	CHECK_INT(seen, 1);
	CHECK(strstr(read_back(t.out), "\"records\":2,\"valid\":1,\"problems\":1") != NULL);
	t.path = "/nonexistent/x.jsonl", t.out = tmpfile();
	CHECK(aoi_datatool_split(&t, &(aoi_split_opts){ .val = 0.1 }, &err) == -1);
	fclose(t.out);
}

static void test_render(void)
{
	aoi_datatool t = { DATA, NULL, tmpfile() };
	char out[300];
	aoi_error err;

	snprintf(out, sizeof out, "%s/render", dir);
	CHECK_MSG(aoi_datatool_render(&t, out, &err) == 0, "%s", err.msg);
	read_back(t.out);
	CHECK_INT(lines(text), 16);
	CHECK(strstr(text, "\"render\":\"") != NULL);
}

int main(void)
{
	CHECK(mkdtemp(dir) != NULL);
	test_split_sample_filter();
	test_stats_hash();
	test_errors_and_validate();
	test_render();
	CHECK(check_remove_dir(dir) == 0);
	return check_done();
}
