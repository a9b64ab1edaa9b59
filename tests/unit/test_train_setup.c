/* test_train_setup: aoi-train's set-up pieces on their own: the split
 * list, record selection (--split, --val, --val-split), reading a dataset
 * file with its line numbers, and the class weights (auto and listed). */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "train/train_setup.h"

/* Records with the given splits ("" for none), ids r0, r1, ... */
static void fill(aoi_train_dataset *d, const char *const *splits, int n)
{
	aoi_error err;
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "main.jsonl");
	for (int i = 0; i < n; i++) {
		char id[16];
		snprintf(id, sizeof(id), "r%d", i);
		json_t *r = json_pack("{s:s,s:s}", "id", id, "image", "x.png");
		if (*splits[i])
			json_object_set_new(r, "split", json_string(splits[i]));
		CHECK_INT(aoi_train_dataset_push(d, r, i + 1, &err), 0);
	}
}

static void test_split_listed(void)
{
	CHECK(aoi_train_split_listed("train", "train"));
	CHECK(aoi_train_split_listed("train,val", "val"));
	CHECK(aoi_train_split_listed("all", "anything"));
	CHECK(!aoi_train_split_listed("train", "tra"));
	CHECK(!aoi_train_split_listed("training", "train"));
	CHECK(!aoi_train_split_listed("train,test", "val"));
	CHECK(aoi_train_split_listed("a,,b", "b"));
}

static const char *const splits10[] = { "train", "train", "val", "test", "",
					"train", "val", "train", "train", "train" };

static void test_select_default(void)
{
	aoi_train_dataset d, none;
	aoi_train_setup_opts o;
	aoi_train_selection s;
	aoi_error err;
	fill(&d, splits10, 10);
	memset(&none, 0, sizeof(none));
	aoi_train_setup_opts_init(&o);
	memset(&s, 0, sizeof(s));
	CHECK_INT(aoi_train_select_records(&o, &d, &none, &s, &err), 0);
	CHECK_INT(s.ntrain, 7); /* six split=train and the one without a split */
	CHECK_INT(s.nval, 2);
	CHECK(s.val_from_main);
	CHECK_INT(s.train[2], 4);
	CHECK_INT(s.val[0], 2);
	CHECK_INT(s.val[1], 6);
	free(s.train);
	free(s.val);

	o.splits = "train,test";
	memset(&s, 0, sizeof(s));
	CHECK_INT(aoi_train_select_records(&o, &d, &none, &s, &err), 0);
	CHECK_INT(s.ntrain, 8);
	CHECK_INT(s.nval, 2);
	free(s.train);
	free(s.val);

	o.splits = "all"; /* val records then train too */
	memset(&s, 0, sizeof(s));
	CHECK_INT(aoi_train_select_records(&o, &d, &none, &s, &err), 0);
	CHECK_INT(s.ntrain, 10);
	CHECK_INT(s.nval, 0);
	free(s.train);
	free(s.val);
	aoi_train_dataset_release(&d);
}

static void test_select_val_file(void)
{
	static const char *const three[] = { "", "", "" };
	aoi_train_dataset d, v;
	aoi_train_setup_opts o;
	aoi_train_selection s;
	aoi_error err;
	fill(&d, splits10, 10);
	fill(&v, three, 3);
	aoi_train_setup_opts_init(&o);
	o.val = "val.jsonl";
	memset(&s, 0, sizeof(s));
	CHECK_INT(aoi_train_select_records(&o, &d, &v, &s, &err), 0);
	CHECK_INT(s.ntrain, 7);
	CHECK_INT(s.nval, 3); /* the file's records; split=val ones are left out */
	CHECK(!s.val_from_main);
	for (int i = 0; i < s.nval; i++)
		CHECK_INT(s.val[i], i);
	free(s.train);
	free(s.val);
	aoi_train_dataset_release(&d);
	aoi_train_dataset_release(&v);
}

/* --val-split moves floor(share * ntrain) records, the same ones for the
 * same seed, and keeps the two sets apart. */
static void test_select_val_split(void)
{
	aoi_train_dataset d, none;
	aoi_train_setup_opts o;
	aoi_train_selection s, t;
	aoi_error err;
	fill(&d, splits10, 10);
	memset(&none, 0, sizeof(none));
	aoi_train_setup_opts_init(&o);
	o.val_split = 0.5;
	o.seed = 7;
	memset(&s, 0, sizeof(s));
	memset(&t, 0, sizeof(t));
	CHECK_INT(aoi_train_select_records(&o, &d, &none, &s, &err), 0);
	CHECK_INT(aoi_train_select_records(&o, &d, &none, &t, &err), 0);
	CHECK_INT(s.ntrain, 4); /* 7 - floor(3.5) */
	CHECK_INT(s.nval, 5);
	int seen[10] = { 0 };
	for (int i = 0; i < s.ntrain; i++)
		seen[s.train[i]]++;
	for (int i = 0; i < s.nval; i++)
		seen[s.val[i]]++;
	for (int i = 0; i < 10; i++)
		CHECK_INT(seen[i], i == 3 ? 0 : 1); /* split=test in neither */
	CHECK(!memcmp(s.train, t.train, sizeof(int) * (size_t)s.ntrain));
	CHECK(!memcmp(s.val, t.val, sizeof(int) * (size_t)s.nval));
	free(s.train);
	free(s.val);
	free(t.train);
	free(t.val);
	aoi_train_dataset_release(&d);
}

static void test_select_nothing(void)
{
	aoi_train_dataset d, none;
	aoi_train_setup_opts o;
	aoi_train_selection s;
	aoi_error err;
	fill(&d, splits10, 10);
	memset(&none, 0, sizeof(none));
	aoi_train_setup_opts_init(&o);
	o.splits = "nope";
	memset(&s, 0, sizeof(s));
	d.rec[4] = (json_decref(d.rec[4]), json_pack("{s:s,s:s,s:s}", "id", "r4", "image",
						       "x.png", "split", "test"));
	CHECK_INT(aoi_train_select_records(&o, &d, &none, &s, &err), -1);
	CHECK_INT(err.code, AOI_EINVAL);
	CHECK_STR(err.where, "main.jsonl");
	CHECK_STR(err.msg, "no training records (splits: nope)");
	free(s.train);
	free(s.val);
	aoi_train_dataset_release(&d);
}

static void test_dataset_read(void)
{
	char path[] = "/tmp/test_train_setup_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "{\"id\":\"a\",\"image\":\"a.png\",\"label\":\"good\"}\n"
		   "\n"
		   "{\"id\":\"b\",\"image\":\"b.png\",\"label\":\"good\"}\n");
	fclose(f);
	aoi_train_dataset d;
	aoi_error err;
	memset(&d, 0, sizeof(d));
	CHECK_INT(aoi_train_dataset_read(&d, path, NULL, &err), 0);
	CHECK_INT(d.n, 2);
	CHECK_INT(d.line[0], 1);
	CHECK_INT(d.line[1], 3);
	CHECK_STR(json_string_value(json_object_get(d.rec[1], "id")), "b");
	aoi_train_dataset_release(&d);
	CHECK_INT(d.n, 0);

	f = fopen(path, "w");
	fprintf(f, "{\"id\":\"a\",\"image\":\"a.png\"}\n[1,2]\n");
	fclose(f);
	memset(&d, 0, sizeof(d));
	CHECK_INT(aoi_train_dataset_read(&d, path, NULL, &err), -1);
	CHECK_INT(err.line, 2);
	CHECK(strstr(err.where, "test_train_setup_") != NULL);
	aoi_train_dataset_release(&d);
	unlink(path);
}

static void test_median_freq(void)
{
	float w[4];
	const double odd[4] = { 100, 10, 0, 30 }; /* median frequency 30/140 */
	aoi_train_median_freq_weights(odd, 4, w);
	CHECK_NEAR(w[0], 0.3, 1e-6);
	CHECK_NEAR(w[1], 3.0, 1e-6);
	CHECK_NEAR(w[2], 1.0, 0); /* no pixels: weight 1 */
	CHECK_NEAR(w[3], 1.0, 1e-6);
	const double even[4] = { 40, 30, 20, 10 }; /* median (0.2 + 0.3) / 2 */
	aoi_train_median_freq_weights(even, 4, w);
	CHECK_NEAR(w[0], 0.625, 1e-6);
	CHECK_NEAR(w[1], 0.25 / 0.3, 1e-6);
	CHECK_NEAR(w[2], 1.25, 1e-6);
	CHECK_NEAR(w[3], 2.5, 1e-6);
	const double empty[2] = { 0, 0 };
	aoi_train_median_freq_weights(empty, 2, w);
	CHECK_NEAR(w[0], 1.0, 0);
	CHECK_NEAR(w[1], 1.0, 0);
}

/* sqrt: the background by the square root of its odds, within [0.05, 1]. */
static void test_sqrt_bg(void)
{
	float w[3];
	const double some[3] = { 9600, 300, 100 }; /* 4% defect: sqrt(400/9600) */
	aoi_train_sqrt_bg_weights(some, 3, w);
	CHECK_NEAR(w[0], sqrt(400.0 / 9600), 1e-6);
	CHECK(w[1] == 1.0f && w[2] == 1.0f);
	const double rare[3] = { 1e6, 1, 0 }; /* at least 0.05 */
	aoi_train_sqrt_bg_weights(rare, 3, w);
	CHECK_NEAR(w[0], 0.05, 1e-6);
	const double most[2] = { 10, 90 }; /* at most 1 */
	aoi_train_sqrt_bg_weights(most, 2, w);
	CHECK_NEAR(w[0], 1.0, 0);
	const double none[2] = { 50, 0 };
	aoi_train_sqrt_bg_weights(none, 2, w);
	CHECK(w[0] == 1.0f && w[1] == 1.0f);
}

static void test_class_weights_list(void)
{
	float w[3];
	aoi_error err;
	CHECK_INT(aoi_train_parse_class_weights("0.2,1,2.5", 3, w, &err), 0);
	CHECK_NEAR(w[0], 0.2, 1e-7);
	CHECK_NEAR(w[1], 1.0, 0);
	CHECK_NEAR(w[2], 2.5, 0);
	static const char *const bad[] = { "1,2", "1,2,3,4", "1,-2,3", "1,x,3", "1,2,3,", "",
					   "1,2,inf" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_MSG(aoi_train_parse_class_weights(bad[i], 3, w, &err) < 0, "%s", bad[i]);
		CHECK_STR(err.msg, "--class-weights: want 3 weights W0,W1,...");
	}
}

int main(void)
{
	test_split_listed();
	test_select_default();
	test_select_val_file();
	test_select_val_split();
	test_select_nothing();
	test_dataset_read();
	test_median_freq();
	test_sqrt_bg();
	test_class_weights_list();
	return check_done();
}
