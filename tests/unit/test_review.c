/* test_review.c: the review sample: the least certain records, a seeded
 * random share from the rest that does not depend on the input order, and
 * records without the field the order needs refused where they are. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data/dataset.h"
#include "report/review.h"

static char path[256];

/* 20 records r00..r19 with pred.score i/20 and threshold 0.5: the least
 * certain are r10, r09, r11, r08, ... (r10 exactly at the threshold). */
static void write_dataset(int reversed)
{
	FILE *fp = fopen(path, "w");

	for (int k = 0; fp && k < 20; k++) {
		int i = reversed ? 19 - k : k;
		fprintf(fp, "{\"id\":\"r%02d\",\"image\":\"x.png\",\"pred\":{\"score\":%g,"
			    "\"threshold\":0.5,\"probs\":{\"good\":%g,\"defective\":%g}}}\n",
			i, i / 20.0, 1 - i / 20.0, i / 20.0);
	}
	if (fp)
		fclose(fp);
}

static json_t *sample(int reversed, long n, const char *by, double random, uint64_t seed)
{
	aoi_review_opts o = { .n = n, .by = by, .random = random, .seed = seed };
	aoi_dataset ds;
	aoi_error err;
	json_t *out = NULL;

	write_dataset(reversed);
	if (aoi_dataset_load(&ds, path, NULL, &err) == 0) {
		out = aoi_review_sample(&ds, &o, &err);
		aoi_dataset_release(&ds);
	}
	CHECK(out != NULL);
	return out;
}

static int has(const json_t *picked, const char *id, const char *why)
{
	size_t i;
	json_t *rec;

	json_array_foreach(picked, i, rec)
		if (strcmp(json_string_value(json_object_get(rec, "id")), id) == 0)
			return strcmp(json_string_value(json_object_get(rec, "sampled")), why) == 0;
	return 0;
}

static void test_uncertain_only(void)
{
	json_t *s = sample(0, 4, "score", 0, 1);

	CHECK_INT(json_array_size(s), 4);
	CHECK(has(s, "r10", "uncertain") && has(s, "r09", "uncertain"));
	CHECK(has(s, "r11", "uncertain"));
	/* r08 and r12 tie at 0.1 from the threshold: the seed's hash picks one */
	CHECK(has(s, "r08", "uncertain") != has(s, "r12", "uncertain"));
	/* input order kept */
	CHECK(strcmp(json_string_value(json_object_get(json_array_get(s, 0), "id")),
		     json_string_value(json_object_get(json_array_get(s, 1), "id"))) < 0);
	json_decref(s);

	s = sample(0, 3, "prob", 0, 1); /* max prob lowest at r10 (0.5) */
	CHECK(has(s, "r10", "uncertain") && has(s, "r09", "uncertain"));
	json_decref(s);
}

static void test_random_share(void)
{
	json_t *a = sample(0, 10, "score", 0.5, 7), *b = sample(1, 10, "score", 0.5, 7);
	json_t *c = sample(0, 10, "score", 0.5, 8);
	long random = 0, same = 1, differs = 0;
	size_t i;
	json_t *rec;

	CHECK_INT(json_array_size(a), 10);
	json_array_foreach(a, i, rec) {
		const char *id = json_string_value(json_object_get(rec, "id"));
		const char *why = json_string_value(json_object_get(rec, "sampled"));

		random += strcmp(why, "random") == 0;
		same &= has(b, id, why);
		differs += !has(c, id, why);
	}
	CHECK_INT(random, 5);
	CHECK(same);        /* whatever the input order */
	CHECK(differs > 0); /* another seed, another random share */
	/* the five least certain are the uncertain ones, whatever the seed */
	CHECK(has(a, "r10", "uncertain") && has(c, "r10", "uncertain"));
	json_decref(a);
	json_decref(b);
	json_decref(c);

	a = sample(0, 50, "score", 0.2, 1); /* more than there are: all of them */
	CHECK_INT(json_array_size(a), 20);
	json_decref(a);
}

static void test_errors(void)
{
	aoi_review_opts o = { .n = 2, .by = "score", .random = 0.2, .seed = 1 };
	aoi_dataset ds;
	aoi_error err;
	double c;
	FILE *fp = fopen(path, "w");

	if (fp) {
		fputs("{\"id\":\"a\",\"image\":\"x.png\",\"pred\":{\"score\":0.3}}\n\n"
		      "{\"id\":\"b\",\"image\":\"x.png\",\"pred\":{\"label\":\"good\"}}\n", fp);
		fclose(fp);
	}
	CHECK(aoi_dataset_load(&ds, path, NULL, &err) == 0);
	CHECK(aoi_review_sample(&ds, &o, &err) == NULL);
	CHECK_INT(err.line, 3);
	CHECK(strstr(err.msg, "pred.score") != NULL);
	o.by = "size";
	CHECK(aoi_review_sample(&ds, &o, &err) == NULL);
	CHECK(strstr(err.msg, "unknown sampling order") != NULL);
	aoi_dataset_release(&ds);
	json_t *empty = json_object();
	CHECK(aoi_review_certainty(empty, "prob", &c, &err) == -1);
	json_decref(empty);
}

int main(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int fd;

	snprintf(path, sizeof path, "%s/test_review.XXXXXX", base);
	if ((fd = mkstemp(path)) < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	test_uncertain_only();
	test_random_share();
	test_errors();
	unlink(path);
	return check_done();
}
