/* describe.c: aoi-model info and run. */
#include "model/describe.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"

/* The shortest decimal that reads back as the same float (0.485, not
 * 0.48500001430511475). */
static json_t *floats_json(const float *v, int n)
{
	json_t *a = json_array();
	char buf[32];

	for (int i = 0; i < n; i++) {
		for (int digits = 6; digits < 9; digits++) {
			snprintf(buf, sizeof buf, "%.*g", digits, v[i]);
			if (strtof(buf, NULL) == v[i])
				break;
		}
		json_array_append_new(a, json_real(strtod(buf, NULL)));
	}
	return a;
}

/* Parameters of node id. */
static size_t node_params(const aoi_net *net, int id)
{
	size_t n = 0;

	for (int t = 0; t < aoi_net_param_tensors(net); t++)
		if (aoi_net_param_info(net, t)->node == id)
			n += aoi_net_param_info(net, t)->count;
	return n;
}

static json_t *layers_json(const aoi_net *net)
{
	json_t *a = json_array();
	aoi_node_info ni;

	for (int i = 1; i < aoi_net_node_count(net); i++) {
		json_t *in = json_array();
		aoi_net_node_info(net, i, &ni);
		for (int k = 0; k < ni.ninputs; k++)
			json_array_append_new(in, json_integer(ni.inputs[k]));
		json_array_append_new(a, json_pack("{s:i, s:s, s:s, s:o, s:[i,i,i], s:I, s:f}", "node",
						   i, "op", ni.kind, "block", ni.block, "inputs", in,
						   "output", ni.out.c, ni.out.h, ni.out.w,
						   "parameters", (json_int_t)node_params(net, i),
						   "mflop", ni.flops / 1e6));
	}
	return a;
}

json_t *aoi_model_describe(const char *path, const aoi_model_info *info, aoi_net *net,
			   int layers)
{
	int c = info->opts.in_channels;
	json_t *cls = json_array(), *d;

	for (int i = 0; i < info->nclasses; i++)
		json_array_append_new(cls, json_string(info->classes[i]));
	d = json_pack("{s:s, s:s, s:i, s:s, s:{s:i, s:i, s:i, s:b, s:o, s:o}, s:o, s:I, s:i, s:O}",
		      "file", path, "arch", info->arch, "nodes", aoi_net_node_count(net) - 1,
		      "task", aoi_task_name(info->task), "input", "channels", c, "height",
		      info->opts.input_h, "width", info->opts.input_w, "template",
		      info->template_input, "mean", floats_json(info->mean, c), "std",
		      floats_json(info->std, c), "classes", cls, "parameters",
		      (json_int_t)aoi_net_param_count(net), "tensors", aoi_net_param_tensors(net),
		      "provenance", info->provenance ? info->provenance : json_null());
	if (d && layers)
		json_object_set_new(d, "layers", layers_json(net));
	return d;
}

json_t *aoi_model_describe_file(const char *path, int layers, aoi_error *err)
{
	aoi_model_info info;
	aoi_net *net = aoi_model_load(path, &info, err);
	json_t *d;

	if (!net)
		return NULL;
	d = aoi_model_describe(path, &info, net, layers);
	if (!d)
		aoi_error_set(err, AOI_ENOMEM, path, 0, "out of memory");
	aoi_net_free(net);
	aoi_model_info_release(&info);
	return d;
}

/* ---- the table ---- */

static void numbers(FILE *fp, const json_t *a)
{
	for (size_t i = 0; i < json_array_size(a); i++)
		fprintf(fp, "%s%g", i ? "," : "", json_number_value(json_array_get(a, i)));
}

static void layer_rows(FILE *fp, const json_t *layers)
{
	size_t i;
	json_t *l;

	fprintf(fp, "\n%5s  %-18s %-24s %-12s %-16s %11s %10s\n", "node", "op", "block", "inputs",
		"output", "parameters", "MFLOP");
	json_array_foreach(layers, i, l) {
		char in[64] = "", out[48];
		const json_t *o = json_object_get(l, "output"), *ins = json_object_get(l, "inputs");
		size_t used = 0;
		for (size_t k = 0; k < json_array_size(ins) && used < sizeof in; k++)
			used += (size_t)snprintf(in + used, sizeof in - used, "%s%lld", k ? "," : "",
						 json_integer_value(json_array_get(ins, k)));
		snprintf(out, sizeof out, "%lldx%lldx%lld", json_integer_value(json_array_get(o, 0)),
			 json_integer_value(json_array_get(o, 1)),
			 json_integer_value(json_array_get(o, 2)));
		fprintf(fp, "%5lld  %-18s %-24s %-12s %-16s %11lld %10.1f\n",
			json_integer_value(json_object_get(l, "node")),
			json_string_value(json_object_get(l, "op")),
			json_string_value(json_object_get(l, "block")), in, out,
			json_integer_value(json_object_get(l, "parameters")),
			json_number_value(json_object_get(l, "mflop")));
	}
}

int aoi_model_describe_table(FILE *fp, const json_t *d, aoi_error *err)
{
	const json_t *in = json_object_get(d, "input"), *cls = json_object_get(d, "classes");
	char *prov = json_dumps(json_object_get(d, "provenance"), JSON_COMPACT | JSON_ENCODE_ANY);

	fprintf(fp, "file        %s\n", json_string_value(json_object_get(d, "file")));
	fprintf(fp, "arch        %s (%lld nodes)\n", json_string_value(json_object_get(d, "arch")),
		json_integer_value(json_object_get(d, "nodes")));
	fprintf(fp, "task        %s\n", json_string_value(json_object_get(d, "task")));
	fprintf(fp, "input       %lldx%lldx%lld%s, mean ", json_integer_value(json_object_get(in, "channels")),
		json_integer_value(json_object_get(in, "height")),
		json_integer_value(json_object_get(in, "width")),
		json_is_true(json_object_get(in, "template")) ? " (image + template)" : "");
	numbers(fp, json_object_get(in, "mean"));
	fprintf(fp, ", std ");
	numbers(fp, json_object_get(in, "std"));
	fprintf(fp, "\nclasses     %zu:", json_array_size(cls));
	for (size_t i = 0; i < json_array_size(cls); i++)
		fprintf(fp, " %s", json_string_value(json_array_get(cls, i)));
	fprintf(fp, "\nparameters  %lld in %lld tensors\nprovenance  %s\n",
		json_integer_value(json_object_get(d, "parameters")),
		json_integer_value(json_object_get(d, "tensors")), prov ? prov : "null");
	free(prov);
	if (json_object_get(d, "layers"))
		layer_rows(fp, json_object_get(d, "layers"));
	if (ferror(fp))
		return aoi_error_set(err, AOI_EIO, NULL, 0, "cannot write the table");
	return 0;
}

/* ---- run ---- */

static int run_net(aoi_net *net, const float *in, size_t batch, const char *out_path,
		   aoi_error *err)
{
	aoi_shape is = aoi_net_input_shape(net), os;
	const float *y;
	aoi_atomic_file f;

	if (aoi_net_plan(net, (int)batch, is.h, is.w, err) < 0 ||
	    !(y = aoi_net_forward(net, in, 0, NULL, err)))
		return -1;
	os = aoi_net_output_shape(net);
	if (aoi_atomic_open(&f, out_path, err) < 0)
		return -1;
	/* raw float32 of this (little-endian) host */
	fwrite(y, sizeof *y, (size_t)os.n * os.c * os.h * os.w, f.fp);
	return aoi_atomic_commit(&f, err);
}

int aoi_model_run_file(const char *path, const char *in_path, const char *out_path,
		       const aoi_model_run_opts *o, aoi_error *err)
{
	aoi_model_info info;
	aoi_net *net = aoi_model_load(path, &info, err);
	unsigned char *buf = NULL;
	size_t len = 0, per;
	int rc = -1;

	if (!net)
		return -1;
	per = (size_t)info.opts.in_channels * info.opts.input_h * info.opts.input_w * 4;
	aoi_net_set_threads(net, o ? o->threads : 0);
	aoi_net_set_winograd(net, !(o && o->exact));
	if (aoi_file_read(in_path, &buf, &len, err) < 0) {
	} else if (len == 0 || len % per) {
		aoi_error_set(err, AOI_ESHAPE, in_path, 0,
			      "%zu bytes are not N inputs of %dx%dx%d float32 values", len,
			      info.opts.in_channels, info.opts.input_h, info.opts.input_w);
	} else if (aoi_net_fuse_for_inference(net, err) == 0) {
		float *in = malloc(len);
		if (!in)
			aoi_error_set(err, AOI_ENOMEM, in_path, 0, "out of memory");
		else
			memcpy(in, buf, len), rc = run_net(net, in, len / per, out_path, err);
		free(in);
	}
	free(buf);
	aoi_net_free(net);
	aoi_model_info_release(&info);
	return rc;
}
