/* test_dataset: seeded split and sample (proportions, strata, groups, and
 * independence from input order), filters, and data.yaml class names. */
#include <stdlib.h>

#include "check.h"
#include "data/dataset.h"
#include "formats/import.h"

/* n records r000.. with label defective every 4th, group g(i % 10). */
static json_t *records(int n, int reversed)
{
	json_t *a = json_array();

	for (int k = 0; k < n; k++) {
		int i = reversed ? n - 1 - k : k;
		char id[16], group[16];
		snprintf(id, sizeof id, "r%03d", i);
		snprintf(group, sizeof group, "g%d", i % 10);
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s}", "id", id, "image", "x.png",
						   "label", i % 4 ? "good" : "defective", "group",
						   group));
	}
	return a;
}

static const char *split_of(const json_t *recs, const char *id)
{
	size_t i;
	json_t *r;

	json_array_foreach(recs, i, r)
		if (strcmp(json_string_value(json_object_get(r, "id")), id) == 0)
			return json_string_value(json_object_get(r, "split"));
	return NULL;
}

static int count(const json_t *recs, const char *key, const char *value)
{
	size_t i;
	json_t *r;
	int n = 0;

	json_array_foreach(recs, i, r)
		n += strcmp(json_string_value(json_object_get(r, key)), value) == 0;
	return n;
}

static void check_split(void)
{
	json_t *a = records(200, 0), *b = records(200, 1);
	aoi_split_opts o = { .val = 0.2, .test = 0.1, .seed = 5, .stratify = "label" };
	aoi_error err;
	int same = 1;

	CHECK_INT(aoi_dataset_split(a, &o, &err), 0);
	CHECK_INT(aoi_dataset_split(b, &o, &err), 0);
	for (int i = 0; i < 200; i++) {
		char id[16];
		snprintf(id, sizeof id, "r%03d", i);
		same &= strcmp(split_of(a, id), split_of(b, id)) == 0;
	}
	CHECK(same);
	CHECK_INT(count(a, "split", "test"), 20);
	CHECK_INT(count(a, "split", "val"), 40);
	/* stratified: 50 defective records split 35/10/5 */
	int dt = 0;
	for (size_t i = 0; i < 200; i++) {
		json_t *r = json_array_get(a, i);
		dt += strcmp(json_string_value(json_object_get(r, "label")), "defective") == 0 &&
		      strcmp(json_string_value(json_object_get(r, "split")), "test") == 0;
	}
	CHECK_INT(dt, 5);

	/* by group: every group in one split */
	aoi_split_opts g = { .val = 0, .test = 0.3, .seed = 5, .by = "group" };
	CHECK_INT(aoi_dataset_split(a, &g, &err), 0);
	for (size_t i = 0; i < 200; i++)
		CHECK_STR(split_of(a, json_string_value(json_object_get(json_array_get(a, i), "id"))),
			  split_of(a, json_string_value(json_object_get(
					      json_array_get(a, i % 10), "id"))));
	CHECK_INT(count(a, "split", "test"), 60);

	aoi_split_opts bad = { .val = 0.8, .test = 0.8 };
	CHECK_INT(aoi_dataset_split(a, &bad, &err), -1);
	json_decref(a);
	json_decref(b);
}

static void check_sample(void)
{
	json_t *a = records(200, 0), *b = records(200, 1);
	aoi_error err;
	json_t *sa = aoi_dataset_sample(a, 30, 9, "label", &err);
	json_t *sb = aoi_dataset_sample(b, 30, 9, "label", &err);

	CHECK_INT(json_array_size(sa), 30);
	CHECK_INT(count(sa, "label", "defective"), 8); /* 7.5 rounds up by remainder */
	/* same ids whichever order the input came in */
	for (size_t i = 0; i < 30; i++) {
		const char *id = json_string_value(json_object_get(json_array_get(sa, i), "id"));
		int in_b = 0;
		for (size_t k = 0; k < 30; k++)
			in_b |= strcmp(id, json_string_value(json_object_get(json_array_get(sb, k),
									  "id"))) == 0;
		CHECK(in_b);
	}
	/* input order kept */
	for (size_t i = 1; i < 30; i++)
		CHECK(strcmp(json_string_value(json_object_get(json_array_get(sa, i - 1), "id")),
			     json_string_value(json_object_get(json_array_get(sa, i), "id"))) < 0);
	json_t *all = aoi_dataset_sample(a, 1000, 9, NULL, &err);
	CHECK_INT(json_array_size(all), 200);
	json_decref(all);
	json_decref(sa);
	json_decref(sb);
	json_decref(a);
	json_decref(b);
}

static void check_filter(void)
{
	aoi_filter f;
	aoi_error err;
	json_t *rec = json_pack("{s:s,s:s,s:s,s:[[i,i,i,i,s]]}", "id", "a", "image", "x.png",
				"label", "defective", "boxes", 1, 1, 3, 3, "open");

	aoi_filter_init(&f);
	CHECK_INT(aoi_filter_match(&f, rec, ".", &err), 1);
	CHECK_INT(aoi_filter_add(&f, AOI_FILTER_LABEL, "good,defective", &err), 0);
	CHECK_INT(f.n[AOI_FILTER_LABEL], 2);
	CHECK_INT(aoi_filter_match(&f, rec, ".", &err), 1);
	CHECK_INT(aoi_filter_add(&f, AOI_FILTER_CLASS, "short", &err), 0);
	CHECK_INT(aoi_filter_match(&f, rec, ".", &err), 0);
	CHECK_INT(aoi_filter_add(&f, AOI_FILTER_CLASS, "open", &err), 0);
	CHECK_INT(aoi_filter_match(&f, rec, ".", &err), 1);
	CHECK_INT(aoi_filter_add(&f, AOI_FILTER_SPLIT, "test", &err), 0);
	CHECK_INT(aoi_filter_match(&f, rec, ".", &err), 0); /* no split field */
	aoi_filter_release(&f);
	json_decref(rec);
}

static void check_names(const char *yaml, const char *want)
{
	aoi_error err;
	json_t *names = aoi_import_yaml_names(yaml, "data.yaml", &err);
	char *got = names ? json_dumps(names, JSON_COMPACT) : NULL;

	CHECK_STR(got, want);
	free(got);
	json_decref(names);
}

static void check_yaml(void)
{
	aoi_error err;

	check_names("path: .\nnames: [open, 'short', \"spur\"]\n", "[\"open\",\"short\",\"spur\"]");
	check_names("names: [open,\n  short]\nnc: 2\n", "[\"open\",\"short\"]");
	check_names("names:\n  0: open\n  1: short # comment\ntrain: x\n", "[\"open\",\"short\"]");
	check_names("names:\n  1: b\n  0: a\n", "[\"a\",\"b\"]");
	check_names("names:\n- a\n- b\nnc: 2\n", "[\"a\",\"b\"]"); /* YAML allows it unindented */
	check_names("names:\n  - a\n  - b\n", "[\"a\",\"b\"]");
	check_names("names: {0: a, 1: b}\n", "[\"a\",\"b\"]");
	CHECK(aoi_import_yaml_names("nc: 2\n", "data.yaml", &err) == NULL);
	CHECK(strstr(err.msg, "no class names") != NULL);
	CHECK(aoi_import_yaml_names("names:\n  0: a\n  2: c\n", "data.yaml", &err) == NULL);
}

int main(void)
{
	check_split();
	check_sample();
	check_filter();
	check_yaml();
	return check_done();
}
