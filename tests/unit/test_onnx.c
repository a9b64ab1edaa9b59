/* test_onnx.c: ONNX import and export. The files of testdata/onnx (made by
 * scripts/make-onnx-testdata.py with PyTorch) are imported and run on the
 * input saved with them; the outputs must match PyTorch's to 1e-4 of the
 * output's largest magnitude. Run from the top directory. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/rng.h"
#include "model/arch.h"
#include "model/graph.h"
#include "model/model.h"
#include "model/onnx.h"
#include "nn/net.h"
#include "train/dist.h"
#include "train/train_setup.h"
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

/* A temporary file name. */
static void tmp_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/aoi-test-onnx-%d-%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 (int)getpid(), name);
}

/* Forward of batch 2 at h x w, exact convolutions; a malloc'd copy. */
static float *outputs(aoi_net *net, int h, int w, const float *in, size_t *n)
{
	aoi_error err;
	const float *y;
	float *copy;
	aoi_shape s;

	aoi_net_set_winograd(net, 0);
	if (aoi_net_plan(net, 2, h, w, &err) < 0 || !(y = aoi_net_forward(net, in, 0, NULL, &err))) {
		fprintf(stderr, "forward: %s\n", err.msg);
		return NULL;
	}
	s = aoi_net_output_shape(net);
	*n = (size_t)s.n * s.c * s.h * s.w;
	copy = malloc(sizeof *copy * *n);
	memcpy(copy, y, sizeof *copy * *n);
	return copy;
}

/* Random weights and batch-norm statistics. */
static void randomize(aoi_net *net, uint64_t seed)
{
	aoi_rng rng;
	size_t ns;
	float *st = aoi_net_state(net, &ns);

	aoi_rng_seed(&rng, seed);
	aoi_net_init_params(net, &rng);
	for (size_t i = 0; i < aoi_net_param_count(net); i++)
		aoi_net_params(net)[i] += (float)aoi_rng_range(&rng, -0.05, 0.05);
	for (size_t i = 0; i < ns; i++)
		st[i] = (float)aoi_rng_range(&rng, 0.5, 1.5);
}

/* Every named architecture (but AlexNet, whose 57M weights are too many
 * for a unit test: scripts/check-peers.sh exports it) out to ONNX and in
 * again gives the same outputs. */
static void test_export_named(void)
{
	static const char *const cls[] = {"a", "b", "c"};
	char path[512];

	tmp_path(path, sizeof path, "named.onnx");
	for (int i = 0; i < aoi_arch_count(); i++) {
		const aoi_arch_info *a = aoi_arch_at(i);
		aoi_arch_opts o = {.classes = 3, .input_h = 64, .input_w = 64};
		aoi_model_info info, back;
		aoi_error err;
		aoi_net *net, *net2;
		size_t n = 2 * 3 * 64 * 64, n1 = 0, n2 = 0;
		float *in = malloc(sizeof *in * n), *y1, *y2;

		if (!strcmp(a->name, "alexnet")) {
			free(in);
			continue;
		}
		aoi_model_info_init(&info);
		CHECK(aoi_model_info_set_arch(&info, a->name, &o, &err) == 0);
		aoi_model_info_set_classes(&info, a->task == AOI_TASK_KEYPOINTS ? 0 : 3, cls, &err);
		info.mean[0] = 0.485f, info.std[2] = 0.225f;
		net = aoi_model_build(&info, &err);
		CHECK_MSG(net != NULL, "%s: %s", a->name, err.msg);
		randomize(net, 5 + (uint64_t)i);
		for (size_t k = 0; k < n; k++)
			in[k] = (float)((k * 7919) % 1000) / 500.0f - 1.0f;
		CHECK_MSG(aoi_onnx_export(path, &info, net, NULL, &err) == 0, "%s: %s", a->name,
			  err.msg);
		net2 = aoi_model_load(path, &back, &err);
		CHECK_MSG(net2 != NULL, "%s: %s", a->name, err.msg);
		if (net && net2) {
			y1 = outputs(net, 64, 64, in, &n1);
			y2 = outputs(net2, 64, 64, in, &n2);
			CHECK_MSG(y1 && y2 && n1 == n2 && rel_error(y2, y1, n1) <= 1e-6,
				  "%s: exported and read back: error %g", a->name,
				  y1 && y2 && n1 == n2 ? rel_error(y2, y1, n1) : -1.0);
			CHECK_STR(back.arch, AOI_GRAPH_ARCH);
			CHECK(back.task == info.task);
			CHECK(back.mean[0] == 0.485f && back.std[2] == 0.225f && back.std[0] == 1.0f);
			CHECK(back.nclasses == info.nclasses);
			CHECK(back.nclasses == 0 || !strcmp(back.classes[2], "c"));
			free(y1);
			free(y2);
		}
		aoi_net_free(net);
		aoi_net_free(net2);
		aoi_model_info_release(&info);
		aoi_model_info_release(&back);
		free(in);
	}
	unlink(path);
}

/* The graph ops of the decision head that ONNX has, global_maxpool
 * (GlobalMaxPool) and detach (Identity), out to ONNX and in again. */
static void test_export_global_max(void)
{
	static const char *const cls[] = {"a", "b"};
	json_t *g = json_loads("{\"nodes\": ["
			       "{\"op\": \"conv\", \"in\": [0], \"out\": 4, \"kernel\": 3, "
			       "\"stride\": 1, \"pad\": 1, \"bias\": true, \"block\": \"encoder.0\"},"
			       "{\"op\": \"detach\", \"in\": [1], \"block\": \"encoder.0\"},"
			       "{\"op\": \"global_maxpool\", \"in\": [2], \"block\": \"encoder.0\"},"
			       "{\"op\": \"global_avgpool\", \"in\": [1], \"block\": \"encoder.0\"},"
			       "{\"op\": \"concat\", \"in\": [3, 4], \"block\": \"encoder.0\"},"
			       "{\"op\": \"flatten\", \"in\": [5], \"block\": \"head\"},"
			       "{\"op\": \"dense\", \"in\": [6], \"out\": 2, \"bias\": true, "
			       "\"block\": \"head\"}], \"output\": 7, \"head\": 7}", 0, NULL);
	aoi_model_info info, back;
	aoi_error err;
	char path[512];
	size_t n = 2 * 3 * 64 * 64, n1 = 0, n2 = 0;
	float *in = malloc(sizeof *in * n), *y1 = NULL, *y2 = NULL;
	aoi_net *net = NULL, *net2 = NULL;

	tmp_path(path, sizeof path, "gmax.onnx");
	for (size_t k = 0; k < n; k++)
		in[k] = (float)((k * 7919) % 1000) / 500.0f - 1.0f;
	aoi_model_info_init(&info);
	aoi_model_info_init(&back);
	CHECK(g && aoi_model_info_set_graph(&info, g, 3, 2, 64, 64, AOI_TASK_CLASSIFICATION,
					    &err) == 0);
	aoi_model_info_set_classes(&info, 2, cls, &err);
	net = aoi_model_build(&info, &err);
	CHECK(net != NULL);
	if (net) {
		randomize(net, 3);
		CHECK_MSG(aoi_onnx_export(path, &info, net, NULL, &err) == 0, "%s", err.msg);
		net2 = aoi_model_load(path, &back, &err);
		CHECK_MSG(net2 != NULL, "%s", err.msg);
	}
	if (net2) {
		y1 = outputs(net, 64, 64, in, &n1);
		y2 = outputs(net2, 64, 64, in, &n2);
		CHECK(y1 && y2 && n1 == n2 && rel_error(y2, y1, n1) <= 1e-6);
		char *js = json_dumps(back.graph, 0);
		CHECK(js && strstr(js, "global_maxpool") != NULL);
		free(js);
	}
	free(y1);
	free(y2);
	free(in);
	aoi_net_free(net);
	aoi_net_free(net2);
	aoi_model_info_release(&info);
	aoi_model_info_release(&back);
	unlink(path);
}

/* Both outputs of a forward at 64x64, as one malloc'd array. */
static float *both_outputs(aoi_net *net, const float *in, size_t *n)
{
	aoi_error err;
	size_t n0, n1;
	float *y;

	if (aoi_net_plan(net, 2, 64, 64, &err) < 0 || !aoi_net_forward(net, in, 0, NULL, &err) ||
	    aoi_net_output_count(net) != 2)
		return NULL;
	aoi_shape s0 = aoi_net_output_shape_at(net, 0), s1 = aoi_net_output_shape_at(net, 1);
	n0 = (size_t)s0.n * s0.c * s0.h * s0.w;
	n1 = (size_t)s1.n * s1.c * s1.h * s1.w;
	*n = n0 + n1;
	y = malloc(sizeof *y * *n);
	memcpy(y, aoi_net_output_at(net, 0), sizeof *y * n0);
	memcpy(y + n0, aoi_net_output_at(net, 1), sizeof *y * n1);
	return y;
}

/* A decision head is part of a named network's graph ("decision", its
 * second output): the graph builds the same net, a graph model keeps it
 * through a save and load, and ONNX export refuses it with a message. */
static void test_decision_graph(void)
{
	aoi_arch_opts o = {.classes = 2, .input_h = 64, .input_w = 64, .decision = 1};
	aoi_model_info info, ginfo, back;
	aoi_error err;
	char path[512], onnx[512];
	size_t n = 2 * 3 * 64 * 64, n1 = 0, n2 = 0, n3 = 0;
	float *in = malloc(sizeof *in * n), *y1 = NULL, *y2 = NULL, *y3 = NULL;
	json_t *g;
	aoi_net *net, *gnet, *loaded = NULL;

	tmp_path(path, sizeof path, "decision.aoim");
	tmp_path(onnx, sizeof onnx, "decision.onnx");
	for (size_t k = 0; k < n; k++)
		in[k] = (float)((k * 7919) % 1000) / 500.0f - 1.0f;
	aoi_model_info_init(&info);
	aoi_model_info_init(&ginfo);
	aoi_model_info_init(&back);
	CHECK(aoi_model_info_set_arch(&info, "mbv2-unet-xs", &o, &err) == 0);
	net = aoi_model_build(&info, &err);
	g = aoi_arch_graph(info.arch, &info.opts, &err);
	CHECK(net && g);
	if (!net || !g)
		goto out;
	randomize(net, 11);
	/* the head is the conv before the bilinear x2, not the output */
	CHECK(aoi_graph_decision(g) > 0);
	CHECK(json_integer_value(json_object_get(g, "head")) + 1 ==
	      json_integer_value(json_object_get(g, "output")));
	CHECK_INT(aoi_graph_head_out(g), 2);
	CHECK(aoi_model_info_set_graph(&ginfo, json_incref(g), 3, 2, 64, 64,
				       AOI_TASK_SEGMENTATION, &err) == 0);
	CHECK(ginfo.opts.decision == 1);
	gnet = aoi_model_build(&ginfo, &err);
	CHECK(gnet && aoi_net_param_count(gnet) == aoi_net_param_count(net));
	if (gnet && aoi_net_param_count(gnet) == aoi_net_param_count(net)) {
		size_t ns, ns2;
		memcpy(aoi_net_params(gnet), aoi_net_params(net),
		       sizeof(float) * aoi_net_param_count(net));
		float *st = aoi_net_state(net, &ns), *st2 = aoi_net_state(gnet, &ns2);
		CHECK(ns == ns2);
		memcpy(st2, st, sizeof(float) * ns);
		CHECK(aoi_model_save(path, &ginfo, gnet, &err) == 0);
		loaded = aoi_model_load(path, &back, &err);
		CHECK_MSG(loaded != NULL, "%s", err.msg);
	}
	y1 = both_outputs(net, in, &n1);
	y2 = gnet ? both_outputs(gnet, in, &n2) : NULL;
	y3 = loaded ? both_outputs(loaded, in, &n3) : NULL;
	CHECK(y1 && y2 && y3 && n1 == n2 && n1 == n3 && !memcmp(y1, y2, sizeof *y1 * n1) &&
	      !memcmp(y1, y3, sizeof *y1 * n1));
	CHECK(back.opts.decision == 1 && aoi_graph_decision(back.graph) == aoi_graph_decision(g));
	CHECK(aoi_onnx_export(onnx, &info, net, NULL, &err) < 0);
	CHECK(strstr(err.msg, "decision head") != NULL);
	CHECK(access(onnx, F_OK) != 0);
	/* a decision node that is the output, or no node, is refused */
	json_object_set_new(g, "decision",
			    json_integer(json_integer_value(json_object_get(g, "output"))));
	CHECK(aoi_graph_check(g, &err) < 0 && strstr(err.msg, "decision") != NULL);
	json_object_set_new(g, "decision", json_integer(1000000));
	CHECK(aoi_graph_check(g, &err) < 0);
	aoi_net_free(gnet);
out:
	free(y1);
	free(y2);
	free(y3);
	free(in);
	json_decref(g);
	aoi_net_free(net);
	aoi_net_free(loaded);
	aoi_model_info_release(&info);
	aoi_model_info_release(&ginfo);
	aoi_model_info_release(&back);
	unlink(path);
	unlink(onnx);
}

/* BN state offsets: walk the batch norms in node order. */
static int encoder_equal(aoi_net *a, aoi_net *b)
{
	size_t off = 0, diff = 0;
	aoi_node_info ni;

	for (int t = 0; t < aoi_net_param_tensors(a); t++) {
		const aoi_param_info *p = aoi_net_param_info(a, t), *q = aoi_net_param_info(b, t);
		if (!strncmp(p->name, "encoder", 7))
			diff += memcmp(aoi_net_params(a) + p->offset, aoi_net_params(b) + q->offset,
				       sizeof(float) * p->count) != 0;
	}
	for (int i = 1; i < aoi_net_node_count(a); i++) {
		aoi_net_node_info(a, i, &ni);
		if (strcmp(ni.kind, "batchnorm"))
			continue;
		if (!strncmp(ni.block, "encoder", 7))
			diff += memcmp(aoi_net_state(a, NULL) + off, aoi_net_state(b, NULL) + off,
				       sizeof(float) * 2 * (size_t)ni.out.c) != 0;
		off += 2 * (size_t)ni.out.c;
	}
	return diff == 0;
}

/* aoi-train --arch mbv2-unet --init mobilenet_v2.onnx (by structure) for
 * an epoch; mean and std as given, else the source's. */
static aoi_net *train_from(const char *freeze, const char *mean, const char *std,
			   aoi_model_info *info, int *layers)
{
	aoi_train_setup_opts o;
	aoi_train_setup s;
	aoi_error err;
	aoi_dist *dist = aoi_dist_new(&err);
	char out[512];
	aoi_net *net = NULL;

	tmp_path(out, sizeof out, "unet.aoim");
	aoi_train_setup_opts_init(&o);
	o.arch = "mbv2-unet";
	o.width = 0.35;
	o.init = DIR "/mobilenet_v2.onnx";
	o.freeze = freeze;
	o.mean = mean;
	o.std = std;
	o.width_px = o.height_px = 32;
	o.epochs = 1;
	o.batch = 4;
	o.threads = 1;
	o.dataset = "testdata/train/train.jsonl";
	o.output = out;
	o.log = "/dev/null";
	aoi_train_setup_init(&s, &o, dist);
	if (aoi_train_setup_build(&s, &err) == 0 && aoi_train_setup_finish(&s, &err) == 0 &&
	    aoi_train_setup_run(&s, NULL, &err) == 0) {
		net = s.net;
		s.net = NULL;
		*info = s.info;
		aoi_model_info_init(&s.info);
		*layers = s.init_layers;
	} else {
		fprintf(stderr, "train: %s\n", err.msg);
	}
	aoi_train_setup_release(&s);
	aoi_dist_free(dist, 0);
	unlink(out);
	return net;
}

/* The encoder as --init fills it: a fresh import put in by structure. */
static aoi_net *imported_encoder(const aoi_model_info *info)
{
	aoi_model_info src_info;
	aoi_error err;
	aoi_net *dst = aoi_model_build(info, &err), *src = aoi_model_load(DIR "/mobilenet_v2.onnx",
									  &src_info, &err);
	json_t *dg = aoi_arch_graph(info->arch, &info->opts, &err);
	int layers = 0;

	CHECK(dst && src && dg);
	if (dst && src && dg)
		CHECK_INT(aoi_model_transfer_structure(dst, dg, "encoder", src, src_info.graph,
						       &layers), 156);
	CHECK_INT(layers, 52);
	json_decref(dg);
	aoi_net_free(src);
	aoi_model_info_release(&src_info);
	return dst;
}

/* --init by structure fills the 52 convolutions of mbv2-unet's encoder
 * with their batch norms; with --freeze encoder, training leaves their
 * weights and running statistics bit for bit as imported, and without it
 * changes them. */
static void test_transfer(void)
{
	aoi_model_info info, info2;
	int layers = 0;
	aoi_net *frozen = train_from("encoder", NULL, NULL, &info, &layers), *ref, *free_net;

	CHECK(frozen != NULL);
	if (!frozen)
		return;
	CHECK_INT(layers, 52);
	CHECK(info.mean[0] == 0.0f && info.std[2] == 1.0f); /* the source's: none */
	ref = imported_encoder(&info);
	CHECK_MSG(ref && encoder_equal(frozen, ref), "a frozen encoder changed in training");
	free_net = train_from(NULL, "0.485,0.456,0.406", "0.229,0.224,0.225", &info2, &layers);
	CHECK(free_net && !encoder_equal(free_net, ref));
	CHECK(free_net && info2.mean[0] == 0.485f && info2.std[2] == 0.225f);
	aoi_net_free(frozen);
	aoi_net_free(free_net);
	aoi_net_free(ref);
	aoi_model_info_release(&info);
	aoi_model_info_release(&info2);
}

/* aoi-model import's --mean, --std and --classes lists. */
static void test_import_lists(void)
{
	aoi_onnx_import_opts o;
	aoi_error err;
	char *names;

	aoi_onnx_import_opts_init(&o);
	CHECK(aoi_onnx_import_opts_lists(&o, "0.5,0.25,1", "2", "a,bb,c", &names, &err) == 0);
	CHECK_INT(o.nmean, 3);
	CHECK_INT(o.nstd, 1);
	CHECK(o.mean[1] == 0.25f && o.std[0] == 2.0f);
	CHECK_INT(o.nclasses, 3);
	CHECK(o.nclasses == 3 && !strcmp(o.classes[1], "bb") && !strcmp(o.classes[2], "c"));
	free(names);
	CHECK(aoi_onnx_import_opts_lists(&o, "1,x", NULL, NULL, &names, &err) < 0);
	CHECK(strstr(err.msg, "--mean") != NULL);
	CHECK(aoi_onnx_import_opts_lists(&o, NULL, "", NULL, &names, &err) < 0);
	CHECK(aoi_onnx_import_opts_lists(&o, NULL, NULL, "a,", &names, &err) < 0);
	CHECK(strstr(err.msg, "empty name") != NULL);
	free(names);
}

int main(void)
{
	if (access(DIR "/cases.json", R_OK) != 0) {
		printf("skipped: " DIR " is not here (run from the top directory)\n");
		return 0;
	}
	test_import_lists();
	test_cases();
	test_export_named();
	test_decision_graph();
	test_export_global_max();
	test_transfer();
	return check_done();
}
