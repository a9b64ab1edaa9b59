/* onnx.c: reading ONNX files: the protobuf unpacked by protobuf-c, the
 * opset, attributes, and constant tensors wherever their values are
 * (raw_data, the typed fields, or a file next to the model). */
#include "model/onnx_impl.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"

#define DT(x) ONNX__TENSOR_PROTO__DATA_TYPE__##x

/* ---- the file ---- */

static int default_domain(const char *d)
{
	return !d || !*d || strcmp(d, "ai.onnx") == 0;
}

static int find_opset(aoi_onnx_file *f, aoi_error *err)
{
	const Onnx__ModelProto *m = f->model;

	f->opset = -1;
	for (size_t i = 0; i < m->n_opset_import; i++)
		if (default_domain(m->opset_import[i]->domain) && m->opset_import[i]->has_version)
			f->opset = (int)m->opset_import[i]->version;
	if (f->opset < 0)
		return aoi_error_set(err, AOI_EFORMAT, f->path, 0,
				     "the ONNX model names no opset of the default domain");
	if (f->opset < AOI_ONNX_MIN_OPSET || f->opset > AOI_ONNX_MAX_OPSET)
		return aoi_error_set(err, AOI_EFORMAT, f->path, 0,
				     "ONNX opset %d; the import reads opsets %d to %d", f->opset,
				     AOI_ONNX_MIN_OPSET, AOI_ONNX_MAX_OPSET);
	return 0;
}

int aoi_onnx_parse(aoi_onnx_file *f, const char *path, const unsigned char *buf,
		   size_t len, aoi_error *err)
{
	memset(f, 0, sizeof *f);
	f->path = path;
	aoi_path_dir(f->dir, sizeof f->dir, path);
	if (len == 0)
		return aoi_error_set(err, AOI_EFORMAT, path, 0, "empty file: not an ONNX model");
	f->model = onnx__model_proto__unpack(NULL, len, buf);
	if (!f->model)
		return aoi_error_set(err, AOI_EFORMAT, path, 0,
				     "not an ONNX model, or a truncated or corrupt one");
	if (!f->model->graph || f->model->graph->n_node == 0 || f->model->graph->n_output == 0) {
		aoi_onnx_release(f);
		return aoi_error_set(err, AOI_EFORMAT, path, 0,
				     "not an ONNX model (no graph with nodes and an output)");
	}
	if (find_opset(f, err) < 0) {
		aoi_onnx_release(f);
		return -1;
	}
	return 0;
}

int aoi_onnx_read(aoi_onnx_file *f, const char *path, aoi_error *err)
{
	unsigned char *buf;
	size_t len;
	int rc;

	memset(f, 0, sizeof *f);
	if (aoi_file_read(path, &buf, &len, err) < 0)
		return -1;
	rc = aoi_onnx_parse(f, path, buf, len, err);
	free(buf);
	return rc;
}

void aoi_onnx_release(aoi_onnx_file *f)
{
	if (f->model)
		onnx__model_proto__free_unpacked(f->model, NULL);
	f->model = NULL;
}

const char *aoi_onnx_meta(const aoi_onnx_file *f, const char *key)
{
	for (size_t i = 0; i < f->model->n_metadata_props; i++) {
		const Onnx__StringStringEntryProto *e = f->model->metadata_props[i];
		if (e->key && strcmp(e->key, key) == 0)
			return e->value;
	}
	return NULL;
}

/* ---- attributes ---- */

const Onnx__AttributeProto *aoi_onnx_attr(const Onnx__NodeProto *n, const char *name)
{
	for (size_t i = 0; i < n->n_attribute; i++)
		if (n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0)
			return n->attribute[i];
	return NULL;
}

int64_t aoi_onnx_attr_int(const Onnx__NodeProto *n, const char *name, int64_t dflt)
{
	const Onnx__AttributeProto *a = aoi_onnx_attr(n, name);

	return a && a->has_i ? a->i : dflt;
}

float aoi_onnx_attr_float(const Onnx__NodeProto *n, const char *name, float dflt)
{
	const Onnx__AttributeProto *a = aoi_onnx_attr(n, name);

	return a && a->has_f ? a->f : dflt;
}

int aoi_onnx_attr_ints(const Onnx__NodeProto *n, const char *name, int64_t *v, int max)
{
	const Onnx__AttributeProto *a = aoi_onnx_attr(n, name);
	int k;

	if (!a)
		return -1;
	k = a->n_ints < (size_t)max ? (int)a->n_ints : max;
	memcpy(v, a->ints, sizeof *v * (size_t)k);
	return (int)a->n_ints;
}

const char *aoi_onnx_attr_str(const Onnx__NodeProto *n, const char *name, char *buf,
			      size_t size)
{
	const Onnx__AttributeProto *a = aoi_onnx_attr(n, name);
	size_t len = a && a->has_s ? a->s.len : 0;

	if (len >= size)
		len = size - 1;
	if (len)
		memcpy(buf, a->s.data, len);
	buf[len] = '\0';
	return buf;
}

/* ---- tensors ---- */

static const char *tname(const Onnx__TensorProto *t)
{
	return t->name && *t->name ? t->name : "(unnamed)";
}

static int element_count(const aoi_onnx_file *f, const Onnx__TensorProto *t, size_t *n,
			 aoi_error *err)
{
	size_t c = 1;

	for (size_t i = 0; i < t->n_dims; i++) {
		if (t->dims[i] < 0 || (t->dims[i] && c > ((size_t)1 << 40) / (size_t)t->dims[i]))
			return aoi_error_set(err, AOI_EFORMAT, f->path, 0,
					     "tensor '%s' has a bad dimension %lld", tname(t),
					     (long long)t->dims[i]);
		c *= (size_t)t->dims[i];
	}
	*n = c;
	return 0;
}

static int elem_bytes(int dt)
{
	switch (dt) {
	case DT(FLOAT): case DT(INT32): return 4;
	case DT(DOUBLE): case DT(INT64): return 8;
	default: return 0;
	}
}

static const char *type_name(int dt)
{
	static const char *const names[] = {"undefined", "float", "uint8", "int8", "uint16",
					    "int16", "int32", "int64", "string", "bool", "float16",
					    "double", "uint32", "uint64", "complex64",
					    "complex128", "bfloat16"};
	return dt >= 0 && dt < (int)(sizeof names / sizeof names[0]) ? names[dt] : "unknown";
}

static uint64_t le_bytes(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* One element of little-endian data of type dt as a double (floats) or
 * an int64 (integers). */
static double le_value(const unsigned char *p, int dt)
{
	uint64_t v = le_bytes(p, elem_bytes(dt));
	float fv;
	double dv;
	uint32_t v32 = (uint32_t)v;

	switch (dt) {
	case DT(FLOAT): memcpy(&fv, &v32, 4); return fv;
	case DT(DOUBLE): memcpy(&dv, &v, 8); return dv;
	case DT(INT32): return (double)(int32_t)v32;
	default: return (double)(int64_t)v;
	}
}

static int64_t le_int(const unsigned char *p, int dt)
{
	uint64_t v = le_bytes(p, elem_bytes(dt));

	return dt == DT(INT32) ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v;
}

static int has_dotdot(const char *p)
{
	while (*p) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return 1;
		p += len;
		p += *p == '/';
	}
	return 0;
}

/* "location" must name a file inside the model's folder: no absolute
 * path, no "..", and no symbolic link leading out of it. */
static int external_path(const aoi_onnx_file *f, const Onnx__TensorProto *t, const char *loc,
			 char *out, size_t size, aoi_error *err)
{
	char joined[4096], real_dir[PATH_MAX], real_file[PATH_MAX];
	size_t dl;

	if (!loc || !*loc)
		return aoi_error_set(err, AOI_EFORMAT, f->path, 0,
				     "tensor '%s': external data without a location", tname(t));
	if (loc[0] == '/' || has_dotdot(loc))
		goto outside;
	if (aoi_path_join(joined, sizeof joined, f->dir, loc) < 0)
		return aoi_error_set(err, AOI_EINVAL, f->path, 0, "path too long");
	if (!realpath(f->dir[0] ? f->dir : ".", real_dir))
		return aoi_error_errno(err, f->dir, "cannot resolve");
	if (!realpath(joined, real_file))
		return aoi_error_errno(err, joined, "cannot open the external data");
	dl = strlen(real_dir);
	if (strncmp(real_file, real_dir, dl) != 0 || (dl > 1 && real_file[dl] != '/'))
		goto outside;
	snprintf(out, size, "%s", real_file);
	return 0;
outside:
	return aoi_error_set(err, AOI_EFORMAT, f->path, 0,
			     "tensor '%s': external data '%s' is outside the model's folder",
			     tname(t), loc);
}

static int read_slice(const char *path, long long off, long long len, size_t want,
		      unsigned char **buf, aoi_error *err)
{
	FILE *fp = fopen(path, "rb");
	long long size;

	if (!fp)
		return aoi_error_errno(err, path, "cannot open");
	if (fseeko(fp, 0, SEEK_END) != 0 || (size = ftello(fp)) < 0) {
		fclose(fp);
		return aoi_error_errno(err, path, "cannot seek in");
	}
	if (len < 0)
		len = size - off;
	if (off < 0 || off > size || len != (long long)want || off + len > size) {
		fclose(fp);
		return aoi_error_set(err, AOI_EFORMAT, path, 0,
				     "external data: %lld bytes at %lld of a %lld-byte file, "
				     "%zu wanted", len, off, size, want);
	}
	*buf = malloc(want ? want : 1);
	if (!*buf || fseeko(fp, off, SEEK_SET) != 0 || fread(*buf, 1, want, fp) != want) {
		free(*buf);
		*buf = NULL;
		fclose(fp);
		return aoi_error_errno(err, path, "cannot read");
	}
	fclose(fp);
	return 0;
}

/* The bytes of an external tensor (malloc'd). */
static int external_bytes(const aoi_onnx_file *f, const Onnx__TensorProto *t, size_t want,
			  unsigned char **buf, aoi_error *err)
{
	const char *loc = NULL;
	long long off = 0, len = -1;
	char path[PATH_MAX];

	for (size_t i = 0; i < t->n_external_data; i++) {
		const Onnx__StringStringEntryProto *e = t->external_data[i];
		if (!e->key || !e->value)
			continue;
		if (strcmp(e->key, "location") == 0)
			loc = e->value;
		else if (strcmp(e->key, "offset") == 0)
			off = strtoll(e->value, NULL, 10);
		else if (strcmp(e->key, "length") == 0)
			len = strtoll(e->value, NULL, 10);
	}
	if (external_path(f, t, loc, path, sizeof path, err) < 0)
		return -1;
	return read_slice(path, off, len, want, buf, err);
}

/* Where the tensor's values are: little-endian bytes (raw or external,
 * *owned set when they must be freed) or NULL for the typed fields. */
static int tensor_bytes(const aoi_onnx_file *f, const Onnx__TensorProto *t, size_t n,
			const unsigned char **bytes, unsigned char **owned, aoi_error *err)
{
	int eb = elem_bytes(t->data_type);

	*bytes = NULL;
	*owned = NULL;
	if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
		if (external_bytes(f, t, n * (size_t)eb, owned, err) < 0)
			return -1;
		*bytes = *owned;
		return 0;
	}
	if (!t->has_raw_data)
		return 0;
	if (t->raw_data.len != n * (size_t)eb)
		return aoi_error_set(err, AOI_EFORMAT, f->path, 0,
				     "tensor '%s': %zu bytes of data for %zu %s values", tname(t),
				     t->raw_data.len, n, type_name(t->data_type));
	*bytes = t->raw_data.data;
	return 0;
}

/* The typed field's length, or -1 when the type has none of ours. */
static long typed_count(const Onnx__TensorProto *t)
{
	switch (t->data_type) {
	case DT(FLOAT): return (long)t->n_float_data;
	case DT(DOUBLE): return (long)t->n_double_data;
	case DT(INT32): return (long)t->n_int32_data;
	case DT(INT64): return (long)t->n_int64_data;
	default: return -1;
	}
}

static double typed_value(const Onnx__TensorProto *t, size_t i)
{
	switch (t->data_type) {
	case DT(FLOAT): return t->float_data[i];
	case DT(DOUBLE): return t->double_data[i];
	case DT(INT32): return t->int32_data[i];
	default: return (double)t->int64_data[i];
	}
}

static int64_t typed_int(const Onnx__TensorProto *t, size_t i)
{
	return t->data_type == DT(INT32) ? t->int32_data[i] : t->int64_data[i];
}

/* Checks shared by both readers: a type we read, values for every
 * element; sets *n, *bytes and *owned. */
static int tensor_source(const aoi_onnx_file *f, const Onnx__TensorProto *t, int want_int,
			 size_t *n, const unsigned char **bytes, unsigned char **owned,
			 aoi_error *err)
{
	int dt = t->data_type;

	if (elem_bytes(dt) == 0 || (want_int && (dt == DT(FLOAT) || dt == DT(DOUBLE))))
		return aoi_error_set(err, AOI_EFORMAT, f->path, 0,
				     "tensor '%s' holds %s values; the import reads %s", tname(t),
				     type_name(dt), want_int ? "int32 and int64 here"
							     : "float, double, int32 and int64");
	if (element_count(f, t, n, err) < 0 || tensor_bytes(f, t, *n, bytes, owned, err) < 0)
		return -1;
	if (!*bytes && typed_count(t) != (long)*n) {
		return aoi_error_set(err, AOI_EFORMAT, f->path, 0,
				     "tensor '%s': %ld values for %zu elements", tname(t),
				     typed_count(t), *n);
	}
	return 0;
}

int aoi_onnx_tensor_floats(const aoi_onnx_file *f, const Onnx__TensorProto *t,
			   float **out, size_t *n, aoi_error *err)
{
	const unsigned char *bytes;
	unsigned char *owned;
	int eb = elem_bytes(t->data_type);

	*out = NULL;
	if (tensor_source(f, t, 0, n, &bytes, &owned, err) < 0)
		return -1;
	*out = malloc(sizeof **out * (*n ? *n : 1));
	if (!*out) {
		free(owned);
		return aoi_error_set(err, AOI_ENOMEM, f->path, 0, "out of memory");
	}
	for (size_t i = 0; i < *n; i++)
		(*out)[i] = (float)(bytes ? le_value(bytes + i * (size_t)eb, t->data_type)
					  : typed_value(t, i));
	free(owned);
	return 0;
}

int aoi_onnx_tensor_ints(const aoi_onnx_file *f, const Onnx__TensorProto *t,
			 int64_t **out, size_t *n, aoi_error *err)
{
	const unsigned char *bytes;
	unsigned char *owned;
	int eb = elem_bytes(t->data_type);

	*out = NULL;
	if (tensor_source(f, t, 1, n, &bytes, &owned, err) < 0)
		return -1;
	*out = malloc(sizeof **out * (*n ? *n : 1));
	if (!*out) {
		free(owned);
		return aoi_error_set(err, AOI_ENOMEM, f->path, 0, "out of memory");
	}
	for (size_t i = 0; i < *n; i++)
		(*out)[i] = bytes ? le_int(bytes + i * (size_t)eb, t->data_type) : typed_int(t, i);
	free(owned);
	return 0;
}
