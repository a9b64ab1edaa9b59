/* test_bench_report.c: aoi-bench's JSON lines carry the figures derived
 * from the timings (rate, speedup, efficiency, peak share, cost, target),
 * leave out what was not measured, and the tables line up; the layer, stage
 * and pipeline reports add up their nodes; aoi_bench_run (bench.h) writes
 * one line a thread count, a layer line a node. */
#include "check.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "bench/bench_report.h"
#include "nn/cpu.h"

static char text[1 << 18];

/* The report's stream read back into text. */
static const char *read_back(FILE *f)
{
	check_text_of(f, text, sizeof text);
	fclose(f);
	return text;
}

static double num(const json_t *j, const char *key)
{
	return json_number_value(json_object_get(j, key));
}

static aoi_bench_report report(FILE *out, int table)
{
	aoi_bench_report r = { .out = out, .table = table, .name = "net", .task =
			       AOI_TASK_SEGMENTATION, .width = 64, .height = 32, .batch = 4,
			       .runs = 5, .threads = 1, .first_threads = 1, .first = 1 };
	return r;
}

static void test_infer_json(void)
{
	FILE *f = tmpfile();
	aoi_bench_report r = report(f, 0);
	aoi_bench_stats st = { .n = 5, .min = 0.1, .max = 0.4, .mean = 0.2, .stddev = 0.05,
			       .median = 0.2, .p95 = 0.3, .p99 = 0.35 };

	r.price = 3.6, r.target = 25;
	aoi_bench_report_infer(&r, &st, 4e9); /* 20 images/s, 20 GFLOP/s */
	r.threads = 2, r.first = 0, r.peak = 80;
	st.median = 0.1;
	aoi_bench_report_infer(&r, &st, 4e9);
	read_back(f);
	char *second = strchr(text, '\n');
	CHECK(second != NULL);
	if (!second)
		return;
	json_t *a = json_loadb(text, (size_t)(second - text), 0, NULL);
	json_t *b = json_loads(second + 1, JSON_DISABLE_EOF_CHECK, NULL);
	CHECK(a && b);
	CHECK_STR(json_string_value(json_object_get(a, "mode")), "infer");
	CHECK_STR(json_string_value(json_object_get(a, "task")), "segmentation");
	CHECK_NEAR(num(a, "images_per_s"), 20, 1e-9);
	CHECK_NEAR(num(a, "gflops"), 20, 1e-9);
	CHECK_NEAR(num(a, "speedup"), 1, 1e-12);
	CHECK(json_object_get(a, "peak_share") == NULL); /* no peak measured */
	CHECK_NEAR(num(a, "cost_per_million"), 50, 1e-9); /* 1e6 / 20 s at 1/s a second */
	CHECK(json_is_false(json_object_get(a, "meets_target")));
	CHECK_NEAR(num(a, "median_s"), 0.2, 1e-12);
	CHECK_NEAR(num(b, "speedup"), 2, 1e-12);
	CHECK_NEAR(num(b, "efficiency"), 1, 1e-12);
	CHECK_NEAR(num(b, "peak_share"), 0.5, 1e-12);
	CHECK(json_is_true(json_object_get(b, "meets_target")));
	CHECK_INT(json_integer_value(json_object_get(b, "threads")), 2);
	json_decref(a), json_decref(b);
}

static void test_train_table(void)
{
	FILE *f = tmpfile();
	aoi_bench_report r = report(f, 1);
	aoi_bench_stats st = { .median = 0.5, .p95 = 0.5, .p99 = 0.5 };
	const double ph[4] = { 0.1, 0.01, 0.3, 0.09 };

	char head[128];

	aoi_bench_report_train(&r, &st, ph, 1e9, 10); /* an epoch: 3 steps */
	read_back(f);
	snprintf(head, sizeof head, "net training step, batch 4, 64x32, 5 runs, kernels %s\n"
		 "threads   median_ms", aoi_nn_kernel_level());
	CHECK(strstr(text, head) == text);
	CHECK(strstr(text, "\n1            500.00     500.00     500.00      8.00       2.0") !=
	      NULL);
	CHECK(strstr(text, " forward 100.0 ms, loss 10.0 ms, backward 300.0 ms, optimiser "
			   "90.0 ms; epoch of 10 images: 1.5 s\n") != NULL);
}

static void test_stages_and_pipeline(void)
{
	FILE *f = tmpfile();
	aoi_bench_report r = report(f, 0);
	const double t[5] = { 0, 0.1, 0.2, 0.3, 0.4 }, fl[5] = { 0, 1, 2, 3, 4 };
	const int first[2] = { 1, 3 };
	aoi_bench_chain ch = { .images = 10, .rejected = 2, .seconds = { 1, 2, 4, 1, 1 },
			       .wall = 10 };

	aoi_bench_report_stages(&r, 2, first, 5, t, fl, 0);
	aoi_bench_report_pipeline(&r, "d.jsonl", &ch);
	read_back(f);
	json_t *s = json_loads(text, JSON_DISABLE_EOF_CHECK, NULL);
	CHECK(s != NULL);
	CHECK_STR(json_string_value(json_object_get(s, "cut_by")), "flops");
	CHECK_INT(json_integer_value(json_array_get(json_object_get(s, "nodes"), 1)), 2);
	CHECK_NEAR(json_number_value(json_array_get(json_object_get(s, "stage_seconds"), 1)),
		   0.7, 1e-12);
	CHECK_NEAR(num(s, "pipeline_images_per_s"), 4 / 0.7, 1e-4); /* batch 4; 6 digits */
	json_decref(s);
	json_t *p = json_loads(strchr(text, '\n') + 1, JSON_DISABLE_EOF_CHECK, NULL);
	CHECK(p != NULL);
	CHECK_STR(json_string_value(json_object_get(p, "slowest_stage")), "infer");
	CHECK_NEAR(num(p, "images_per_s"), 1, 1e-12);
	CHECK_NEAR(num(p, "infer_s"), 0.4, 1e-12);
	CHECK(json_object_get(p, "gflops") == NULL); /* not a figure of the chain */
	json_decref(p);
}

static void test_whole_run(void)
{
	aoi_bench_opts o;
	aoi_error err;
	FILE *f = tmpfile();

	aoi_bench_opts_init(&o);
	o.arch = "mbv2-cls-s", o.width = o.height = 32, o.runs = 1, o.warmup = 0;
	o.peak_size = 0, o.nthreads = 1, o.threads[0] = 1;
	CHECK_MSG(aoi_bench_run(&o, f, &err) == 0, "%s", err.msg);
	o.layers = 1, o.stages = 2;
	CHECK_MSG(aoi_bench_run(&o, f, &err) == 0, "%s", err.msg);
	read_back(f);
	CHECK(strstr(text, "{\"net\":\"mbv2-cls-s\",\"mode\":\"infer\",\"task\":"
			   "\"classification\",\"width\":32,\"height\":32,") == text);
	CHECK(strstr(text, "\"mode\":\"layer\"") != NULL);
	CHECK(strstr(text, "\"mode\":\"stages\"") != NULL);
	o.arch = "no-such-net";
	CHECK(aoi_bench_run(&o, stdout, &err) == -1);
	o.arch = NULL, o.model = "/nonexistent.aoim";
	CHECK(aoi_bench_run(&o, stdout, &err) == -1);
}

int main(void)
{
	test_infer_json();
	test_train_table();
	test_stages_and_pipeline();
	test_whole_run();
	return check_done();
}
