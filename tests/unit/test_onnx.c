/* test_onnx.c: ONNX import and export. The files of testdata/onnx (made by
 * scripts/make-onnx-testdata.py with PyTorch) are imported and run on the
 * input saved with them; the outputs must match PyTorch's to 1e-4 of the
 * output's largest magnitude. Run from the top directory. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "model/graph.h"
#include "model/model.h"
#include "model/onnx.h"
#include "nn/net.h"
#include "check.h"

#define DIR "testdata/onnx"
#define TOL 1e-4

static float *read_f32(const char *path, size_t want)
{
	unsigned char *buf;
	size_t len;
	aoi_error err;
	float *f;

	if (aoi_file_read(path, &buf, &len, &err) < 0 || len != want * 4) {
		fprintf(stderr, "%s: %zu bytes, %zu wanted\n", path, len, want * 4);
		return NULL;
	}
	f = malloc(len);
	memcpy(f, buf, len); /* testdata is little-endian, like the hosts we test on */
	free(buf);
	return f;
}

static size_t numel(const json_t *shape)
{
	size_t n = 1;

	for (size_t i = 0; i < json_array_size(shape); i++)
		n *= (size_t)json_integer_value(json_array_get(shape, i));
	return n;
}

/* max |a - b| / max |b| */
static double rel_error(const float *a, const float *b, size_t n)
{
	double d = 0, m = 0;

	for (size_t i = 0; i < n; i++) {
		double e = fabs((double)a[i] - b[i]);
		d = e > d || e != e ? e : d;
		m = fabs(b[i]) > m ? fabs(b[i]) : m;
	}
	return m > 0 ? d / m : d;
}

/* Run net on in (batch x ...) and compare with want. */
static double run_case(aoi_net *net, const json_t *c, const float *in, const float *want,
		       int fuse)
{
	const json_t *is = json_object_get(c, "input");
	int batch = (int)json_integer_value(json_array_get(is, 0));
	int h = (int)json_integer_value(json_array_get(is, 2));
	int w = (int)json_integer_value(json_array_get(is, 3));
	aoi_error err;
	const float *out;

	aoi_net_set_threads(net, 2);
	if ((fuse && aoi_net_fuse_for_inference(net, &err) < 0) ||
	    aoi_net_plan(net, batch, h, w, &err) < 0 ||
	    !(out = aoi_net_forward(net, in, 0, NULL, &err))) {
		fprintf(stderr, "%s\n", err.msg);
		return 1e9;
	}
	return rel_error(out, want, numel(json_object_get(c, "output")));
}

static void test_case(const json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	char path[512];
	aoi_model_info info;
	aoi_error err;
	aoi_net *net;
	size_t nin = numel(json_object_get(c, "input")), nout = numel(json_object_get(c, "output"));
	float *in, *want;

	snprintf(path, sizeof path, DIR "/%s.in.f32", name);
	in = read_f32(path, nin);
	snprintf(path, sizeof path, DIR "/%s.out.f32", name);
	want = read_f32(path, nout);
	snprintf(path, sizeof path, DIR "/%s.onnx", name);
	CHECK(in && want);
	net = aoi_onnx_import(path, NULL, &info, &err);
	CHECK_MSG(net != NULL, "%s: %s", path, err.msg);
	if (net && in && want) {
		double e = run_case(net, c, in, want, 0);
		printf("%-14s %3d nodes  error %.2g\n", name, aoi_net_node_count(net), e);
		CHECK_MSG(e <= TOL, "%s: relative error %g", name, e);
		e = run_case(net, c, in, want, 1);
		CHECK_MSG(e <= TOL, "%s fused: relative error %g", name, e);
	}
	aoi_net_free(net);
	aoi_model_info_release(&info);
	free(in);
	free(want);
}

static void test_cases(void)
{
	json_error_t jerr;
	json_t *cases = json_load_file(DIR "/cases.json", 0, &jerr);
	size_t i;
	json_t *c;

	CHECK_MSG(json_array_size(cases) >= 5, "%s", jerr.text);
	json_array_foreach(cases, i, c)
		test_case(c);
	json_decref(cases);
}

int main(void)
{
	if (access(DIR "/cases.json", R_OK) != 0) {
		printf("skipped: " DIR " is not here (run from the top directory)\n");
		return 0;
	}
	test_cases();
	return check_done();
}
