/* model.c: model and checkpoint files (man/aoi-model.5).
 *
 * Layout: 24 fixed bytes (magic, u32 version, u32 JSON length H, u64 data
 * length D, little-endian), H bytes of JSON padded with spaces so that the
 * data starts on a 64-byte boundary, D bytes of float32 LE tensors, and a
 * u32 CRC-32 of everything before it. The lengths are in the fixed part so
 * that truncation and corruption are caught before the JSON is parsed. */
#include "model/model.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "model/graph.h"
#include "model/onnx.h"

#define FIXED_BYTES 24
#define ALIGN 64

enum { GROUP_PARAM, GROUP_STATE, GROUP_OPTIM, GROUP_EXTRA, GROUP_COUNT };
static const char *const group_names[GROUP_COUNT] = {"param", "state", "optim", "extra"};

/* One tensor of the file: where it comes from and its name and shape. */
typedef struct tref {
	char name[112];
	int group, ndim, shape[4];
	size_t src, count; /* offset and size in floats in its group's array */
	const float *data; /* an extra tensor's own floats (src unused) */
} tref;

typedef struct ttable {
	tref *t;
	int n, cap;
	float *arrays[GROUP_COUNT];
	size_t sizes[GROUP_COUNT];
} ttable;

/* ---- CRC-32 and byte order ---- */

unsigned long aoi_model_crc32(unsigned long crc, const void *buf, size_t n)
{
	uint32_t table[256], c = (uint32_t)crc ^ 0xffffffffu;
	const unsigned char *p = buf;

	for (uint32_t i = 0; i < 256; i++) {
		uint32_t v = i;
		for (int k = 0; k < 8; k++)
			v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
		table[i] = v;
	}
	for (size_t i = 0; i < n; i++)
		c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static int host_is_le(void)
{
	const uint16_t one = 1;
	unsigned char b;

	memcpy(&b, &one, 1);
	return b == 1;
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
	uint64_t v = 0;

	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* float32 LE bytes <-> host floats */
static void floats_from_le(float *dst, const unsigned char *src, size_t n)
{
	if (host_is_le()) {
		memcpy(dst, src, n * sizeof *dst);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t v = (uint32_t)get_le(src + 4 * i, 4);
		memcpy(&dst[i], &v, 4);
	}
}

/* ---- the tensor table ---- */

static int table_add(ttable *tt, int group, const char *name, int ndim, const int *shape,
		     size_t src, size_t count)
{
	if (tt->n == tt->cap) {
		int cap = tt->cap ? 2 * tt->cap : 256;
		tref *p = realloc(tt->t, sizeof *p * cap);
		if (!p)
			return -1;
		tt->t = p;
		tt->cap = cap;
	}
	tref *r = &tt->t[tt->n++];
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", name);
	r->group = group;
	r->ndim = ndim;
	memcpy(r->shape, shape, sizeof(int) * (ndim < 4 ? ndim : 4));
	r->src = src;
	r->count = count;
	return 0;
}

static int is_batchnorm_weight(aoi_net *net, const aoi_param_info *p)
{
	aoi_node_info ni;
	size_t len = strlen(p->name);

	return len > 7 && strcmp(p->name + len - 7, ".weight") == 0 &&
	       aoi_net_node_info(net, p->node, &ni) == 0 && strcmp(ni.kind, "batchnorm") == 0;
}

/* The state array holds, per batch-norm node in build order, the running
 * mean then the running variance; name them after the node's weight. When
 * the layout is not that, the state goes as one tensor. */
static int add_state(ttable *tt, aoi_net *net)
{
	int first = tt->n, nt = aoi_net_param_tensors(net);
	size_t off = 0, count;

	tt->arrays[GROUP_STATE] = aoi_net_state(net, &count);
	tt->sizes[GROUP_STATE] = count;
	for (int i = 0; i < nt; i++) {
		const aoi_param_info *p = aoi_net_param_info(net, i);
		char name[112];
		int c = (int)p->count;
		if (!is_batchnorm_weight(net, p))
			continue;
		size_t len = strlen(p->name) - 7;
		snprintf(name, sizeof name, "%.*s.running_mean", (int)len, p->name);
		if (table_add(tt, GROUP_STATE, name, 1, &c, off, p->count) < 0)
			return -1;
		snprintf(name, sizeof name, "%.*s.running_var", (int)len, p->name);
		if (table_add(tt, GROUP_STATE, name, 1, &c, off + p->count, p->count) < 0)
			return -1;
		off += 2 * p->count;
	}
	if (off == count)
		return 0;
	tt->n = first;
	int shape = (int)count;
	return count ? table_add(tt, GROUP_STATE, "batchnorm.state", 1, &shape, 0, count) : 0;
}

/* An anomaly model's tensors, after the net's and before an optimiser's. */
static int add_extras(ttable *tt, const aoi_model_info *info)
{
	for (int i = 0; info && i < info->nextra; i++) {
		const aoi_model_tensor *e = &info->extra[i];
		if (table_add(tt, GROUP_EXTRA, e->name, e->ndim, e->shape, 0, e->count) < 0)
			return -1;
		tt->t[tt->n - 1].data = e->data;
	}
	return 0;
}

static int table_build(ttable *tt, aoi_net *net, const aoi_model_info *info, aoi_optim *opt)
{
	int nt = aoi_net_param_tensors(net);

	memset(tt, 0, sizeof *tt);
	tt->arrays[GROUP_PARAM] = aoi_net_params(net);
	tt->sizes[GROUP_PARAM] = aoi_net_param_count(net);
	for (int i = 0; i < nt; i++) {
		const aoi_param_info *p = aoi_net_param_info(net, i);
		if (table_add(tt, GROUP_PARAM, p->name, p->ndim, p->shape, p->offset, p->count) < 0)
			return -1;
	}
	if (add_state(tt, net) < 0 || add_extras(tt, info) < 0)
		return -1;
	if (opt) {
		size_t n;
		tt->arrays[GROUP_OPTIM] = aoi_optim_state(opt, &n);
		tt->sizes[GROUP_OPTIM] = n;
		int shape = (int)n;
		if (table_add(tt, GROUP_OPTIM, "optimizer.state", 1, &shape, 0, n) < 0)
			return -1;
	}
	return 0;
}

static size_t table_bytes(const ttable *tt)
{
	size_t n = 0;

	for (int i = 0; i < tt->n; i++)
		n += tt->t[i].count * 4;
	return n;
}

/* ---- JSON helpers ---- */

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static double num_of(const json_t *obj, const char *key, double fallback)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_number(v) ? json_number_value(v) : json_is_null(v) ? HUGE_VAL : fallback;
}

static json_t *int_array(const int *v, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

/* The shortest decimal that reads back as the same float, so that 0.485f
 * is written 0.485 and not 0.48500001430511475. */
static json_t *float_json(float v)
{
	char buf[32];

	for (int digits = 6; digits < 9; digits++) {
		snprintf(buf, sizeof buf, "%.*g", digits, v);
		if (strtof(buf, NULL) == v)
			break;
	}
	return json_real(strtod(buf, NULL));
}

static json_t *float_array(const float *v, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, float_json(v[i]));
	return a;
}

static json_t *arch_json(const aoi_model_info *info)
{
	const aoi_arch_opts *o = &info->opts;
	json_t *a = json_pack("{s:s, s:i, s:i, s:f, s:o, s:[i,i]}", "name", info->arch,
			      "in_channels", o->in_channels, "classes", o->classes, "width",
			      o->width, "decoder", int_array(o->decoder, o->ndecoder),
			      "input_size", o->input_h, o->input_w);
	json_t *g = info->graph ? aoi_graph_with_classes(info->graph, o->classes) : NULL;

	/* a graph names its decision node ("decision": N), a named network
	 * says it has one */
	if (a && g)
		json_object_update(a, g);
	else if (a && o->decision)
		json_object_set_new(a, "decision", json_true());
	json_decref(g);
	return a;
}

static json_t *input_json(const aoi_model_info *info)
{
	int c = info->opts.in_channels;

	return json_pack("{s:i, s:i, s:i, s:b, s:o, s:o}", "channels", c, "height",
			 info->opts.input_h, "width", info->opts.input_w, "template",
			 info->template_input, "mean", float_array(info->mean, c), "std",
			 float_array(info->std, c));
}

static json_t *tensors_json(const ttable *tt)
{
	json_t *a = json_array();
	size_t off = 0;

	for (int i = 0; i < tt->n; i++) {
		const tref *r = &tt->t[i];
		json_array_append_new(a, json_pack("{s:s, s:s, s:o, s:I}", "name", r->name,
						   "group", group_names[r->group], "shape",
						   int_array(r->shape, r->ndim), "offset",
						   (json_int_t)off));
		off += r->count * 4;
	}
	return a;
}

static json_t *classes_json(const aoi_model_info *info)
{
	json_t *a = json_array();

	for (int i = 0; i < info->nclasses; i++)
		json_array_append_new(a, json_string(info->classes[i]));
	return a;
}

/* ---- checkpoint fields ---- */

static json_t *optim_json(const aoi_optim *opt)
{
	const aoi_optim_opts *o = aoi_optim_options(opt);

	return json_pack("{s:s, s:f, s:f, s:f, s:b, s:f, s:f, s:f, s:f}", "kind",
			 aoi_optim_kind_name(o->kind), "lr", o->lr, "momentum", o->momentum,
			 "dampening", o->dampening, "nesterov", o->nesterov, "weight_decay",
			 o->weight_decay, "beta1", o->beta1, "beta2", o->beta2, "eps", o->eps);
}

static json_t *sched_json(const aoi_sched *s)
{
	return json_pack("{s:s, s:o, s:o, s:i, s:o, s:i, s:o, s:i, s:o, s:o, s:o, s:i}", "kind",
			 aoi_sched_kind_name(s->kind), "lr0", num_or_null(s->lr0), "min_lr",
			 num_or_null(s->min_lr), "step", s->step, "gamma", num_or_null(s->gamma),
			 "epochs", s->epochs, "factor", num_or_null(s->factor), "patience",
			 s->patience, "min_delta", num_or_null(s->min_delta), "lr",
			 num_or_null(s->lr), "best", num_or_null(s->best), "bad_epochs",
			 s->bad_epochs);
}

static json_t *checkpoint_json(const aoi_checkpoint *ck, const aoi_optim *opt)
{
	json_t *rng = json_array();
	char hex[24];

	for (int i = 0; i < 4; i++) {
		snprintf(hex, sizeof hex, "%016llx", (unsigned long long)ck->rng.s[i]);
		json_array_append_new(rng, json_string(hex));
	}
	return json_pack("{s:i, s:o, s:o, s:i, s:o, s:o, s:o, s:{s:i, s:o, s:o, s:i, s:i}}",
			 "epoch", ck->epoch, "best_metric", num_or_null(ck->best_metric),
			 "best_loss", num_or_null(ck->best_loss), "best_epoch",
			 ck->best_epoch, "rng", rng, "optimizer", optim_json(opt), "schedule",
			 sched_json(&ck->sched), "early_stop", "patience", ck->stop.patience,
			 "min_delta", num_or_null(ck->stop.min_delta), "best",
			 num_or_null(ck->stop.best), "best_epoch", ck->stop.best_epoch, "wait",
			 ck->stop.wait);
}

/* Version 2 only where version 1 readers would fail: a decision head, or
 * an anomaly model. */
static int file_version(const aoi_model_info *info)
{
	return info->opts.decision || info->anomaly || info->nextra ? 2 : 1;
}

static json_t *header_json(const aoi_model_info *info, const ttable *tt,
			   const aoi_checkpoint *ck, const aoi_optim *opt)
{
	json_t *prov = info->provenance ? json_incref(info->provenance) : json_object();
	json_t *h = json_pack("{s:s, s:i, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:I}", "format",
			      "aoi-model", "version", file_version(info), "kind",
			      ck ? "checkpoint" : "model", "arch", arch_json(info), "task",
			      aoi_task_name(info->task), "input", input_json(info), "classes",
			      classes_json(info), "provenance", prov, "tensors",
			      tensors_json(tt), "data_bytes", (json_int_t)table_bytes(tt));

	if (h && ck)
		json_object_set_new(h, "checkpoint", checkpoint_json(ck, opt));
	if (h && info->anomaly)
		json_object_set_new(h, "anomaly", json_incref(info->anomaly));
	if (h && (info->opts.decision || info->anomaly || info->threshold >= 0))
		json_object_set_new(h, "threshold", info->threshold >= 0
							    ? json_real(info->threshold)
							    : json_null());
	return h;
}

/* ---- writing ---- */

typedef struct writer {
	FILE *fp;
	unsigned long crc;
} writer;

static void put(writer *w, const void *p, size_t n)
{
	fwrite(p, 1, n, w->fp);
	w->crc = aoi_model_crc32(w->crc, p, n);
}

static void put_floats(writer *w, const float *p, size_t n)
{
	unsigned char buf[4096];

	if (host_is_le()) {
		put(w, p, n * sizeof *p);
		return;
	}
	for (size_t i = 0; i < n; i += sizeof buf / 4) {
		size_t k = n - i < sizeof buf / 4 ? n - i : sizeof buf / 4;
		for (size_t j = 0; j < k; j++) {
			uint32_t v;
			memcpy(&v, &p[i + j], 4);
			put_le(buf + 4 * j, v, 4);
		}
		put(w, buf, 4 * k);
	}
}

static void put_body(writer *w, const char *js, const ttable *tt, int version)
{
	unsigned char fixed[FIXED_BYTES], crc[4];
	size_t jlen = strlen(js), hlen = jlen + 1;

	hlen += (ALIGN - (FIXED_BYTES + hlen) % ALIGN) % ALIGN;
	memcpy(fixed, AOI_MODEL_MAGIC, 8);
	put_le(fixed + 8, (uint64_t)version, 4);
	put_le(fixed + 12, hlen, 4);
	put_le(fixed + 16, table_bytes(tt), 8);
	put(w, fixed, sizeof fixed);
	put(w, js, jlen);
	for (size_t i = jlen; i < hlen; i++)
		put(w, i + 1 == hlen ? "\n" : " ", 1);
	for (int i = 0; i < tt->n; i++)
		put_floats(w, tt->t[i].data ? tt->t[i].data : tt->arrays[tt->t[i].group] + tt->t[i].src,
			   tt->t[i].count);
	put_le(crc, w->crc, 4);
	fwrite(crc, 1, 4, w->fp);
}

static int write_file(const char *path, const aoi_model_info *info, aoi_net *net,
		      aoi_optim *opt, const aoi_checkpoint *ck, aoi_error *err)
{
	ttable tt;
	json_t *h = NULL;
	char *js = NULL;
	aoi_atomic_file f;
	writer w = {NULL, 0};
	int rc = -1;

	if (table_build(&tt, net, info, opt) < 0 || !(h = header_json(info, &tt, ck, opt)) ||
	    !(js = json_dumps(h, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)))) {
		aoi_error_set(err, AOI_ENOMEM, path, 0, "cannot build the model header");
	} else if (aoi_atomic_open(&f, path, err) == 0) {
		w.fp = f.fp;
		put_body(&w, js, &tt, file_version(info));
		rc = aoi_atomic_commit(&f, err);
	}
	free(js);
	json_decref(h);
	free(tt.t);
	return rc;
}

static int check_info(const char *path, const aoi_model_info *info, aoi_error *err)
{
	if (info->graph ? strcmp(info->arch, AOI_GRAPH_ARCH) != 0 : !aoi_arch_find(info->arch))
		return aoi_error_set(err, AOI_EINVAL, path, 0, "unknown architecture '%s'",
				     info->arch);
	if (info->opts.in_channels > AOI_MODEL_MAX_CHANNELS)
		return aoi_error_set(err, AOI_EINVAL, path, 0, "%d input channels (at most %d)",
				     info->opts.in_channels, AOI_MODEL_MAX_CHANNELS);
	return 0;
}

int aoi_model_save(const char *path, const aoi_model_info *info, aoi_net *net,
		   aoi_error *err)
{
	if (check_info(path, info, err) < 0)
		return -1;
	return write_file(path, info, net, NULL, NULL, err);
}

int aoi_checkpoint_save(const char *path, const aoi_model_info *info, aoi_net *net,
			aoi_optim *opt, const aoi_checkpoint *ck, aoi_error *err)
{
	if (check_info(path, info, err) < 0)
		return -1;
	return write_file(path, info, net, opt, ck, err);
}

/* ---- reading: the fixed part, checksum and JSON ---- */

typedef struct loaded {
	const char *path;
	unsigned char *buf;
	size_t len;
	json_t *hdr;
	const unsigned char *data;
	size_t data_len;
} loaded;

static int check_frame(loaded *l, aoi_error *err)
{
	const char *p = l->path;
	uint64_t version, hlen, dlen, want;

	if (l->len < 8 || memcmp(l->buf, AOI_MODEL_MAGIC, 8) != 0)
		return aoi_error_set(err, AOI_EFORMAT, p, 0, "not an aoi model file nor an ONNX model%s",
				     l->len >= 8 && memcmp(l->buf, "\211PNG", 4) == 0
					     ? " (it is a PNG image)" : "");
	if (l->len < FIXED_BYTES)
		return aoi_error_set(err, AOI_EFORMAT, p, 0, "truncated model file (%zu bytes)",
				     l->len);
	version = get_le(l->buf + 8, 4);
	if (version > AOI_MODEL_VERSION || version == 0)
		return aoi_error_set(err, AOI_EFORMAT, p, 0,
				     "model format version %llu; this aoi reads versions up to %d "
				     "(a newer aoi wrote it?)", (unsigned long long)version,
				     AOI_MODEL_VERSION);
	hlen = get_le(l->buf + 12, 4);
	dlen = get_le(l->buf + 16, 8);
	if (hlen > (1u << 30))
		return aoi_error_set(err, AOI_EFORMAT, p, 0, "model header of %llu bytes: corrupt",
				     (unsigned long long)hlen);
	want = FIXED_BYTES + hlen + dlen + 4;
	if (dlen > ((uint64_t)1 << 48) || l->len < want)
		return aoi_error_set(err, AOI_EFORMAT, p, 0,
				     "truncated model file (%zu bytes, the header says %llu)",
				     l->len, (unsigned long long)want);
	if (l->len > want)
		return aoi_error_set(err, AOI_EFORMAT, p, 0,
				     "%zu bytes after the end of the model", l->len - (size_t)want);
	if (aoi_model_crc32(0, l->buf, l->len - 4) != get_le(l->buf + l->len - 4, 4))
		return aoi_error_set(err, AOI_EFORMAT, p, 0, "checksum mismatch: the file is corrupt");
	l->data = l->buf + FIXED_BYTES + hlen;
	l->data_len = dlen;
	return (int)hlen;
}

static int read_frame(loaded *l, aoi_error *err)
{
	json_error_t jerr;
	int hlen;

	if (!l->buf && aoi_file_read(l->path, &l->buf, &l->len, err) < 0)
		return -1;
	if ((hlen = check_frame(l, err)) < 0)
		return -1;
	l->hdr = json_loadb((const char *)l->buf + FIXED_BYTES, (size_t)hlen, 0, &jerr);
	if (!json_is_object(l->hdr))
		return aoi_error_set(err, AOI_EFORMAT, l->path, 0, "bad model header: %s",
				     jerr.text);
	return 0;
}

static void loaded_release(loaded *l)
{
	json_decref(l->hdr);
	free(l->buf);
}

/* ---- reading: the header into aoi_model_info ---- */

static int bad_field(const loaded *l, const char *what, aoi_error *err)
{
	return aoi_error_set(err, AOI_EFORMAT, l->path, 0, "bad or missing '%s' in the model header",
			     what);
}

/* The generic graph: its nodes, output, head and decision node if any,
 * the task from the header (a named architecture has its own). */
static int read_graph(const loaded *l, const json_t *a, const aoi_arch_opts *o,
		      aoi_model_info *info, aoi_error *err)
{
	int task = aoi_task_parse(json_string_value(json_object_get(l->hdr, "task")));
	json_t *g = json_pack("{s:O, s:O, s:O}", "nodes", json_object_get(a, "nodes"), "output",
			      json_object_get(a, "output"), "head", json_object_get(a, "head"));
	const json_t *dec = json_object_get(a, "decision");

	if (g && dec && json_object_set(g, "decision", (json_t *)dec) < 0) {
		json_decref(g);
		g = NULL;
	}
	if (!g || task < 0) {
		json_decref(g);
		return bad_field(l, g ? "task" : "arch", err);
	}
	if (aoi_model_info_set_graph(info, g, o->in_channels, o->classes, o->input_h, o->input_w,
				     (enum aoi_task)task, err) < 0) {
		aoi_error_locate(err, l->path, 0);
		return -1;
	}
	return 0;
}

static int read_arch(const loaded *l, aoi_model_info *info, aoi_error *err)
{
	json_t *a = json_object_get(l->hdr, "arch"), *dec = NULL;
	aoi_arch_opts o;
	const char *name = NULL;
	size_t i;
	json_t *v;

	memset(&o, 0, sizeof o);
	if (json_unpack(a, "{s:s, s:i, s:i, s:F, s:o, s:[ii]}", "name", &name, "in_channels",
			&o.in_channels, "classes", &o.classes, "width", &o.width, "decoder",
			&dec, "input_size", &o.input_h, &o.input_w) < 0 ||
	    !json_is_array(dec) || json_array_size(dec) > AOI_ARCH_MAX_DECODER)
		return bad_field(l, "arch", err);
	json_array_foreach(dec, i, v)
		o.decoder[i] = (int)json_integer_value(v);
	o.ndecoder = (int)json_array_size(dec);
	if (strcmp(name, AOI_GRAPH_ARCH) == 0)
		return read_graph(l, a, &o, info, err);
	o.decision = json_is_true(json_object_get(a, "decision"));
	if (aoi_model_info_set_arch(info, name, &o, err) < 0) {
		aoi_error_locate(err, l->path, 0);
		return -1;
	}
	return 0;
}

static int read_floats(const json_t *a, float *out, int n)
{
	if (!json_is_array(a) || (int)json_array_size(a) != n)
		return -1;
	for (int i = 0; i < n; i++) {
		json_t *v = json_array_get(a, i);
		if (!json_is_number(v))
			return -1;
		out[i] = (float)json_number_value(v);
	}
	return 0;
}

static int read_input(const loaded *l, aoi_model_info *info, aoi_error *err)
{
	json_t *in = json_object_get(l->hdr, "input");
	int c = info->opts.in_channels, tmpl = 0;
	json_t *mean = NULL, *std = NULL;

	if (json_unpack(in, "{s:b, s:o, s:o}", "template", &tmpl, "mean", &mean, "std", &std) < 0 ||
	    read_floats(mean, info->mean, c) < 0 || read_floats(std, info->std, c) < 0)
		return bad_field(l, "input", err);
	info->template_input = tmpl;
	return 0;
}

static int read_classes(const loaded *l, aoi_model_info *info, aoi_error *err)
{
	json_t *a = json_object_get(l->hdr, "classes");
	const char *names[4096];
	int n = (int)json_array_size(a);

	if (!json_is_array(a) || n > 4096)
		return bad_field(l, "classes", err);
	for (int i = 0; i < n; i++)
		if (!(names[i] = json_string_value(json_array_get(a, i))))
			return bad_field(l, "classes", err);
	return aoi_model_info_set_classes(info, n, names, err);
}

/* The image-score threshold: "threshold" in the header. Files written
 * while the decision head and the anomaly models were being developed
 * apart kept it in "decision" or "anomaly"; those are read too. */
static void read_threshold(const json_t *hdr, aoi_model_info *info)
{
	const json_t *t = json_object_get(hdr, "threshold");

	if (!t)
		t = json_object_get(json_object_get(hdr, "decision"), "threshold");
	if (!t)
		t = json_object_get(json_object_get(hdr, "anomaly"), "threshold");
	if (json_is_number(t))
		info->threshold = json_number_value(t);
}

static int read_info(const loaded *l, aoi_model_info *info, aoi_error *err)
{
	json_t *prov = json_object_get(l->hdr, "provenance");
	const char *fmt = json_string_value(json_object_get(l->hdr, "format"));

	aoi_model_info_init(info);
	if (!fmt || strcmp(fmt, "aoi-model") != 0)
		return bad_field(l, "format", err);
	if (read_arch(l, info, err) < 0 || read_input(l, info, err) < 0 ||
	    read_classes(l, info, err) < 0)
		return -1;
	if (json_is_object(prov))
		aoi_model_info_set_provenance(info, json_incref(prov));
	json_t *an = json_object_get(l->hdr, "anomaly");
	if (an && !json_is_object(an))
		return bad_field(l, "anomaly", err);
	if (an)
		aoi_model_info_set_anomaly(info, json_incref(an));
	read_threshold(l->hdr, info);
	return 0;
}

/* ---- reading: tensors ---- */

static int shape_matches(const tref *r, const json_t *shape)
{
	if (!json_is_array(shape) || (int)json_array_size(shape) != r->ndim)
		return 0;
	for (int i = 0; i < r->ndim; i++)
		if (json_integer_value(json_array_get(shape, i)) != r->shape[i])
			return 0;
	return 1;
}

static void shape_text(char *buf, size_t size, const int *shape, int ndim)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < ndim && used < size; i++) {
		int n = snprintf(buf + used, size - used, "%s%d", i ? "x" : "", shape[i]);
		used += n > 0 ? (size_t)n : 0;
	}
}

static int tensor_mismatch(const loaded *l, int i, const tref *r, const json_t *t,
			   aoi_error *err)
{
	const char *name = json_string_value(json_object_get(t, "name"));
	json_t *js = json_object_get(t, "shape");
	int fs[4] = {0}, nd = json_is_array(js) && json_array_size(js) <= 4 ? (int)json_array_size(js) : 0;
	char want[64], got[64];

	for (int k = 0; k < nd; k++)
		fs[k] = (int)json_integer_value(json_array_get(js, k));
	shape_text(got, sizeof got, fs, nd);
	shape_text(want, sizeof want, r->shape, r->ndim);
	return aoi_error_set(err, AOI_ESHAPE, l->path, 0,
			     "tensor %d is '%s' [%s] in the file, but '%s' [%s] in the %s network "
			     "built from its header", i, name ? name : "?", got, r->name, want,
			     json_string_value(json_object_get(json_object_get(l->hdr, "arch"), "name")));
}

/* Tensors after the net's may only be an anomaly model's extras, then a
 * checkpoint's optimiser state (skipped when only the model is wanted). */
static int extras_ok(const json_t *ts, int from)
{
	int optim = 0;

	for (size_t i = (size_t)from; i < json_array_size(ts); i++) {
		const char *g = json_string_value(json_object_get(json_array_get(ts, i), "group"));
		if (g && !strcmp(g, group_names[GROUP_EXTRA]) && !optim)
			continue;
		if (!g || strcmp(g, group_names[GROUP_OPTIM]) != 0)
			return 0;
		optim = 1;
	}
	return 1;
}

static int check_table(const loaded *l, const ttable *tt, size_t *bytes, aoi_error *err)
{
	json_t *ts = json_object_get(l->hdr, "tensors");
	size_t off = 0;

	if (!json_is_array(ts))
		return bad_field(l, "tensors", err);
	if ((int)json_array_size(ts) < tt->n || !extras_ok(ts, tt->n))
		return aoi_error_set(err, AOI_ESHAPE, l->path, 0,
				     "%zu tensors in the file, %d in the network built from its header",
				     json_array_size(ts), tt->n);
	for (int i = 0; i < tt->n; i++) {
		const tref *r = &tt->t[i];
		json_t *t = json_array_get(ts, i);
		const char *name = json_string_value(json_object_get(t, "name"));
		if (!name || strcmp(name, r->name) != 0 ||
		    !shape_matches(r, json_object_get(t, "shape")) ||
		    json_integer_value(json_object_get(t, "offset")) != (json_int_t)off)
			return tensor_mismatch(l, i, r, t, err);
		off += r->count * 4;
	}
	if (off > l->data_len || ((int)json_array_size(ts) == tt->n && off != l->data_len))
		return aoi_error_set(err, AOI_EFORMAT, l->path, 0,
				     "tensor data is %zu bytes, the table says %zu", l->data_len, off);
	*bytes = off;
	return 0;
}

/* Check the file's table against the net's and copy the data in. */
static int read_tensors(const loaded *l, ttable *tt, aoi_error *err)
{
	size_t off = 0;

	if (check_table(l, tt, &off, err) < 0)
		return -1;
	off = 0;
	for (int i = 0; i < tt->n; i++) {
		floats_from_le(tt->arrays[tt->t[i].group] + tt->t[i].src, l->data + off,
			       tt->t[i].count);
		off += tt->t[i].count * 4;
	}
	return 0;
}

/* One extra tensor's table entry: its name and shape, checked. */
static int extra_entry(const loaded *l, const json_t *t, char *name, int *ndim, int *shape,
		       size_t *count, aoi_error *err)
{
	const char *n = json_string_value(json_object_get(t, "name"));
	json_t *js = json_object_get(t, "shape");

	*ndim = json_is_array(js) ? (int)json_array_size(js) : 0;
	if (!n || strlen(n) >= AOI_MODEL_TENSOR_NAME || *ndim < 1 || *ndim > 4)
		return bad_field(l, "tensors", err);
	snprintf(name, AOI_MODEL_TENSOR_NAME, "%s", n);
	*count = 1;
	for (int k = 0; k < *ndim; k++) {
		json_int_t v = json_integer_value(json_array_get(js, k));
		if (v < 1 || v > (1 << 30) || *count > ((size_t)1 << 40) / (size_t)v)
			return bad_field(l, "tensors", err);
		shape[k] = (int)v;
		*count *= (size_t)v;
	}
	return 0;
}

/* The anomaly model's tensors after the net's (from table entry `from`,
 * data offset `off`) into info. */
static int read_extras(const loaded *l, int from, size_t off, aoi_model_info *info,
		       aoi_error *err)
{
	json_t *ts = json_object_get(l->hdr, "tensors");
	size_t i;

	for (i = (size_t)from; i < json_array_size(ts); i++) {
		json_t *t = json_array_get(ts, i);
		const char *g = json_string_value(json_object_get(t, "group"));
		char name[AOI_MODEL_TENSOR_NAME];
		int ndim, shape[4];
		size_t count = 0;
		if (!g || strcmp(g, group_names[GROUP_EXTRA]) != 0)
			break;
		if (extra_entry(l, t, name, &ndim, shape, &count, err) < 0)
			return -1;
		if (json_integer_value(json_object_get(t, "offset")) != (json_int_t)off ||
		    count * 4 > l->data_len - off)
			return aoi_error_set(err, AOI_EFORMAT, l->path, 0,
					     "tensor '%s' lies outside the data", name);
		if (aoi_model_info_add_tensor(info, name, ndim, shape, NULL, err) < 0)
			return -1;
		floats_from_le(info->extra[info->nextra - 1].data, l->data + off, count);
		off += count * 4;
	}
	if (i == json_array_size(ts) && off != l->data_len)
		return aoi_error_set(err, AOI_EFORMAT, l->path, 0,
				     "tensor data is %zu bytes, the table says %zu", l->data_len, off);
	return 0;
}

static int is_checkpoint(const loaded *l)
{
	const char *k = json_string_value(json_object_get(l->hdr, "kind"));

	return k && strcmp(k, "checkpoint") == 0;
}

/* ---- reading: checkpoint fields ---- */

/* A number field of a checkpoint object, refused unless it lies in
 * [lo, hi] (and is whole when whole is set); absent, it is fallback. The
 * limits keep float-to-int casts defined and the training loop sane. */
static int ck_num(const loaded *l, const json_t *obj, const char *key, const char *name,
		  double fallback, double lo, double hi, int whole, double *out, aoi_error *err)
{
	const json_t *v = json_object_get(obj, key);
	double x = json_is_number(v) ? json_number_value(v) : NAN;

	if (!v) {
		*out = fallback;
		return 0;
	}
	if (!(x >= lo && x <= hi) || (whole && x != floor(x))) {
		char got[40];
		snprintf(got, sizeof got, json_is_number(v) ? "%.17g" : "not a number", x);
		return aoi_error_set(err, AOI_EFORMAT, l->path, 0,
				     "checkpoint field '%s' is %s: it must be %s from %.15g to %.15g",
				     name, got, whole ? "an integer" : "a number", lo, hi);
	}
	*out = x;
	return 0;
}

static int ck_int(const loaded *l, const json_t *obj, const char *key, const char *name,
		  int fallback, int lo, int hi, int *out, aoi_error *err)
{
	double x;

	if (ck_num(l, obj, key, name, fallback, lo, hi, 1, &x, err) < 0)
		return -1;
	*out = (int)x;
	return 0;
}

static int read_optim_opts(const loaded *l, aoi_optim_opts *o, aoi_error *err)
{
	json_t *j = json_object_get(json_object_get(l->hdr, "checkpoint"), "optimizer");
	const char *kind = NULL;
	int k;

	if (json_unpack(j, "{s:s}", "kind", &kind) < 0 || (k = aoi_optim_kind_parse(kind)) < 0)
		return bad_field(l, "checkpoint.optimizer", err);
	aoi_optim_opts_init(o, (enum aoi_optim_kind)k);
	o->nesterov = json_is_true(json_object_get(j, "nesterov"));
	return ck_num(l, j, "lr", "optimizer.lr", o->lr, 0, 1e6, 0, &o->lr, err) < 0 ||
	       ck_num(l, j, "momentum", "optimizer.momentum", o->momentum, 0, 1, 0, &o->momentum, err) < 0 ||
	       ck_num(l, j, "dampening", "optimizer.dampening", o->dampening, 0, 1, 0, &o->dampening, err) < 0 ||
	       ck_num(l, j, "weight_decay", "optimizer.weight_decay", o->weight_decay, 0, 1e6, 0,
		      &o->weight_decay, err) < 0 ||
	       ck_num(l, j, "beta1", "optimizer.beta1", o->beta1, 0, 1, 0, &o->beta1, err) < 0 ||
	       ck_num(l, j, "beta2", "optimizer.beta2", o->beta2, 0, 1, 0, &o->beta2, err) < 0 ||
	       ck_num(l, j, "eps", "optimizer.eps", o->eps, 0, 1, 0, &o->eps, err) < 0 ? -1 : 0;
}

/* The most epochs a checkpoint may count (aoi-train's --epochs limit). */
#define CK_MAX_EPOCHS 1000000

static int read_sched(const loaded *l, const json_t *j, aoi_sched *s, aoi_error *err)
{
	int k = aoi_sched_kind_parse(json_string_value(json_object_get(j, "kind")));

	aoi_sched_init(s, k < 0 ? AOI_SCHED_CONST : (enum aoi_sched_kind)k, num_of(j, "lr0", 0), 1);
	s->min_lr = num_of(j, "min_lr", s->min_lr);
	s->gamma = num_of(j, "gamma", s->gamma);
	s->factor = num_of(j, "factor", s->factor);
	s->min_delta = num_of(j, "min_delta", s->min_delta);
	s->lr = num_of(j, "lr", s->lr0);
	s->best = num_of(j, "best", HUGE_VAL);
	return ck_int(l, j, "step", "schedule.step", s->step, 1, CK_MAX_EPOCHS, &s->step, err) < 0 ||
	       ck_int(l, j, "epochs", "schedule.epochs", s->epochs, 1, CK_MAX_EPOCHS, &s->epochs, err) < 0 ||
	       ck_int(l, j, "patience", "schedule.patience", s->patience, 0, CK_MAX_EPOCHS,
		      &s->patience, err) < 0 ||
	       ck_int(l, j, "bad_epochs", "schedule.bad_epochs", 0, 0, CK_MAX_EPOCHS, &s->bad_epochs,
		      err) < 0 ? -1 : 0;
}

static int read_rng(const loaded *l, const json_t *rng, aoi_rng *r, aoi_error *err)
{
	for (int i = 0; i < 4; i++) {
		const char *h = json_string_value(json_array_get(rng, i));
		char *end;
		r->s[i] = h ? strtoull(h, &end, 16) : 0;
		if (!h || *end || end == h)
			return bad_field(l, "checkpoint.rng", err);
	}
	/* xoshiro256's one state it never leaves: every draw would be 0 */
	if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
		return aoi_error_set(err, AOI_EFORMAT, l->path, 0,
				     "checkpoint field 'rng' is all zero: not a generator state");
	return 0;
}

static int read_checkpoint(const loaded *l, aoi_checkpoint *ck, aoi_error *err)
{
	json_t *c = json_object_get(l->hdr, "checkpoint");
	json_t *rng = json_object_get(c, "rng"), *es = json_object_get(c, "early_stop");
	int patience;

	memset(ck, 0, sizeof *ck);
	if (!json_is_object(c) || json_array_size(rng) != 4 || !json_is_object(es))
		return bad_field(l, "checkpoint", err);
	if (read_rng(l, rng, &ck->rng, err) < 0 ||
	    ck_int(l, c, "epoch", "epoch", 0, 0, CK_MAX_EPOCHS, &ck->epoch, err) < 0 ||
	    ck_int(l, c, "best_epoch", "best_epoch", -1, -1, CK_MAX_EPOCHS, &ck->best_epoch, err) < 0 ||
	    read_sched(l, json_object_get(c, "schedule"), &ck->sched, err) < 0 ||
	    ck_int(l, es, "patience", "early_stop.patience", 0, 0, CK_MAX_EPOCHS, &patience, err) < 0)
		return -1;
	ck->best_metric = num_of(c, "best_metric", HUGE_VAL);
	ck->best_loss = num_of(c, "best_loss", HUGE_VAL);
	aoi_early_stop_init(&ck->stop, patience);
	ck->stop.min_delta = num_of(es, "min_delta", 0);
	ck->stop.best = num_of(es, "best", HUGE_VAL);
	return ck_int(l, es, "best_epoch", "early_stop.best_epoch", -1, -1, CK_MAX_EPOCHS,
		      &ck->stop.best_epoch, err) < 0 ||
	       ck_int(l, es, "wait", "early_stop.wait", 0, 0, CK_MAX_EPOCHS, &ck->stop.wait, err) < 0
		       ? -1 : 0;
}

/* Each parameter tensor's step count (the optimiser state's first floats)
 * must be a whole number the float holds exactly (up to 2^24). */
static int check_steps(const loaded *l, aoi_optim *opt, int ntensors, aoi_error *err)
{
	size_t n;
	const float *st = aoi_optim_state(opt, &n);

	for (int i = 0; i < ntensors && (size_t)i < n; i++)
		if (!(st[i] >= 0.0f && st[i] <= 16777216.0f) || st[i] != floorf(st[i]))
			return aoi_error_set(err, AOI_EFORMAT, l->path, 0,
					     "optimiser step count %d is %g: it must be an integer "
					     "from 0 to 16777216", i, (double)st[i]);
	return 0;
}

/* ---- loading ---- */

/* Build the net from the header, then load the tensors (into a new
 * optimiser too when oo is given). */
static aoi_net *load_net(loaded *l, aoi_model_info *info, const aoi_optim_opts *oo,
			 aoi_optim **opt, aoi_error *err)
{
	ttable tt = {0};
	aoi_net *net;

	if (read_info(l, info, err) < 0)
		return NULL;
	if (!(net = aoi_model_build(info, err))) {
		aoi_error_locate(err, l->path, 0);
		return NULL;
	}
	if (oo && !(*opt = aoi_optim_new_for(oo, net, err)))
		aoi_error_locate(err, l->path, 0);
	else if (table_build(&tt, net, NULL, oo ? *opt : NULL) < 0)
		aoi_error_set(err, AOI_ENOMEM, l->path, 0, "out of memory");
	else if (read_tensors(l, &tt, err) == 0 &&
		 (oo || read_extras(l, tt.n, table_bytes(&tt), info, err) == 0)) {
		free(tt.t);
		return net;
	}
	free(tt.t);
	if (oo) {
		aoi_optim_free(*opt);
		*opt = NULL;
	}
	aoi_net_free(net);
	return NULL;
}

/* Not an aoi model but an ONNX one: import it. */
static int is_onnx(const loaded *l)
{
	return (l->len < 8 || memcmp(l->buf, AOI_MODEL_MAGIC, 8) != 0) &&
	       aoi_onnx_probe(l->buf, l->len);
}

aoi_net *aoi_model_load(const char *path, aoi_model_info *info, aoi_error *err)
{
	loaded l = {path, NULL, 0, NULL, NULL, 0};
	aoi_net *net = NULL;

	aoi_model_info_init(info);
	if (aoi_file_read(path, &l.buf, &l.len, err) < 0)
		return NULL;
	if (is_onnx(&l))
		net = aoi_onnx_import_buffer(path, l.buf, l.len, NULL, info, err);
	else if (read_frame(&l, err) == 0)
		net = load_net(&l, info, NULL, NULL, err);
	loaded_release(&l);
	if (!net)
		aoi_model_info_release(info);
	return net;
}

aoi_net *aoi_checkpoint_load(const char *path, aoi_model_info *info, aoi_optim **opt,
			     aoi_checkpoint *ck, aoi_error *err)
{
	loaded l = {path, NULL, 0, NULL, NULL, 0};
	aoi_net *net = NULL;
	aoi_optim_opts oo;

	*opt = NULL;
	aoi_model_info_init(info);
	if (read_frame(&l, err) < 0) {
	} else if (!is_checkpoint(&l)) {
		aoi_error_set(err, AOI_EFORMAT, path, 0,
			      "a model file, not a checkpoint: nothing to resume from");
	} else if (read_optim_opts(&l, &oo, err) == 0 && read_checkpoint(&l, ck, err) == 0) {
		net = load_net(&l, info, &oo, opt, err);
		if (net && check_steps(&l, *opt, aoi_net_param_tensors(net), err) < 0) {
			aoi_net_free(net);
			aoi_optim_free(*opt);
			*opt = NULL;
			net = NULL;
		}
	}
	loaded_release(&l);
	if (!net)
		aoi_model_info_release(info);
	return net;
}

/* ---- info ---- */

void aoi_model_info_init(aoi_model_info *info)
{
	memset(info, 0, sizeof *info);
	for (int i = 0; i < AOI_MODEL_MAX_CHANNELS; i++)
		info->std[i] = 1.0f;
	info->threshold = -1;
}

void aoi_model_info_release(aoi_model_info *info)
{
	for (int i = 0; i < info->nclasses; i++)
		free(info->classes[i]);
	free(info->classes);
	json_decref(info->provenance);
	json_decref(info->graph);
	info->classes = NULL;
	info->nclasses = 0;
	info->provenance = NULL;
	info->graph = NULL;
	aoi_model_info_clear_anomaly(info);
}

void aoi_model_info_clear_anomaly(aoi_model_info *info)
{
	for (int i = 0; i < info->nextra; i++)
		free(info->extra[i].data);
	free(info->extra);
	json_decref(info->anomaly);
	info->extra = NULL;
	info->nextra = 0;
	info->anomaly = NULL;
}

void aoi_model_info_set_anomaly(aoi_model_info *info, json_t *obj)
{
	json_decref(info->anomaly);
	info->anomaly = obj;
}

const aoi_model_tensor *aoi_model_info_tensor(const aoi_model_info *info, const char *name)
{
	for (int i = 0; i < info->nextra; i++)
		if (!strcmp(info->extra[i].name, name))
			return &info->extra[i];
	return NULL;
}

/* data NULL: zeroed. */
int aoi_model_info_add_tensor(aoi_model_info *info, const char *name, int ndim,
			      const int *shape, const float *data, aoi_error *err)
{
	size_t count = 1;
	aoi_model_tensor *e = (aoi_model_tensor *)aoi_model_info_tensor(info, name);

	if (ndim < 1 || ndim > 4 || strlen(name) >= AOI_MODEL_TENSOR_NAME)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "bad extra tensor '%s'", name);
	for (int k = 0; k < ndim; k++)
		count *= (size_t)(shape[k] > 0 ? shape[k] : 0);
	float *copy = malloc((count ? count : 1) * sizeof *copy);
	if (!copy)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory (%zu floats)", count);
	if (data)
		memcpy(copy, data, count * sizeof *copy);
	else
		memset(copy, 0, count * sizeof *copy);
	if (!e) {
		aoi_model_tensor *p = realloc(info->extra, sizeof *p * (info->nextra + 1));
		if (!p) {
			free(copy);
			return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		}
		info->extra = p;
		e = &p[info->nextra++];
		memset(e, 0, sizeof *e);
		snprintf(e->name, sizeof e->name, "%s", name);
	}
	free(e->data);
	e->data = copy;
	e->ndim = ndim;
	e->count = count;
	memcpy(e->shape, shape, sizeof(int) * ndim);
	return 0;
}

int aoi_model_info_set_arch(aoi_model_info *info, const char *name,
			    const aoi_arch_opts *opts, aoi_error *err)
{
	const aoi_arch_info *a = aoi_arch_find(name);

	if (aoi_arch_resolve(name, opts, &info->opts, err) < 0)
		return -1;
	if (info->opts.in_channels > AOI_MODEL_MAX_CHANNELS)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "%d input channels (at most %d)",
				     info->opts.in_channels, AOI_MODEL_MAX_CHANNELS);
	snprintf(info->arch, sizeof info->arch, "%s", name);
	info->task = a->task;
	json_decref(info->graph);
	info->graph = NULL;
	return 0;
}

int aoi_model_info_set_graph(aoi_model_info *info, json_t *graph, int in_channels,
			     int classes, int input_h, int input_w, enum aoi_task task,
			     aoi_error *err)
{
	if (aoi_graph_check(graph, err) < 0) {
		json_decref(graph);
		return -1;
	}
	if (in_channels < 1 || in_channels > AOI_MODEL_MAX_CHANNELS || classes < 1 ||
	    input_h < 1 || input_w < 1 || (unsigned)task >= AOI_TASK_COUNT) {
		json_decref(graph);
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "graph: %d input channels, %d classes, input %dx%d",
				     in_channels, classes, input_w, input_h);
	}
	json_decref(info->graph);
	info->graph = graph;
	snprintf(info->arch, sizeof info->arch, "%s", AOI_GRAPH_ARCH);
	memset(&info->opts, 0, sizeof info->opts);
	info->opts.in_channels = in_channels;
	info->opts.classes = classes;
	info->opts.width = 1.0;
	info->opts.input_h = input_h;
	info->opts.input_w = input_w;
	info->opts.decision = aoi_graph_decision(graph) > 0;
	info->task = task;
	return 0;
}

aoi_net *aoi_model_build(const aoi_model_info *info, aoi_error *err)
{
	const aoi_arch_opts *o = &info->opts;

	if (info->graph)
		return aoi_graph_build(info->graph, o->in_channels, o->input_h, o->input_w,
				       aoi_graph_head_out(info->graph) ? o->classes : 0, err);
	return aoi_arch_build(info->arch, o, err);
}

int aoi_model_info_set_classes(aoi_model_info *info, int n, const char *const *names,
			       aoi_error *err)
{
	char **c = n > 0 ? calloc((size_t)n, sizeof *c) : NULL;

	if (n > 0 && !c)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	for (int i = 0; i < n; i++)
		if (!(c[i] = strdup(names[i]))) {
			for (int k = 0; k < i; k++)
				free(c[k]);
			free(c);
			return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		}
	for (int i = 0; i < info->nclasses; i++)
		free(info->classes[i]);
	free(info->classes);
	info->classes = c;
	info->nclasses = n;
	return 0;
}

void aoi_model_info_set_provenance(aoi_model_info *info, json_t *obj)
{
	json_decref(info->provenance);
	info->provenance = obj;
}

/* ---- --init transfer ---- */

static const tref *find_tensor(const ttable *tt, const tref *want)
{
	for (int i = 0; i < tt->n; i++)
		if (strcmp(tt->t[i].name, want->name) == 0 && tt->t[i].ndim == want->ndim &&
		    memcmp(tt->t[i].shape, want->shape, sizeof(int) * want->ndim) == 0)
			return &tt->t[i];
	return NULL;
}

int aoi_model_transfer(aoi_net *dst, aoi_net *src, int *total)
{
	ttable td = {0}, ts = {0};
	int copied = 0;

	if (total)
		*total = aoi_net_param_tensors(dst);
	if (table_build(&td, dst, NULL, NULL) == 0 && table_build(&ts, src, NULL, NULL) == 0)
		for (int i = 0; i < td.n; i++) {
			const tref *d = &td.t[i], *s = find_tensor(&ts, d);
			if (!s || s->group != d->group)
				continue;
			memcpy(td.arrays[d->group] + d->src, ts.arrays[s->group] + s->src,
			       d->count * sizeof(float));
			copied += d->group == GROUP_PARAM;
		}
	free(td.t);
	free(ts.t);
	return copied;
}
