/* onnx_fold.c: constant folding for the import. PyTorch exports leave
 * small computations on shapes and constants around the layers (the
 * Shape, Gather, Unsqueeze, Concat chain before a Reshape; the pads of a
 * Pad worked out by ConstantOfShape, Slice and Transpose); they are
 * evaluated here, once, at import. Shapes keep the batch dimension open
 * (AOI_ONNX_BATCH), so it can be moved around but not computed with. */
#include "model/onnx_impl.h"

#include <stdlib.h>
#include <string.h>

#define DTYPE(x) ONNX__TENSOR_PROTO__DATA_TYPE__##x

typedef aoi_onnx_importer imp;

/* ---- constants ---- */

static size_t esize(int is_int)
{
	return is_int ? sizeof(int64_t) : sizeof(float);
}

static void *data(const aoi_onnx_val *v)
{
	return v->is_int ? (void *)v->i : (void *)v->f;
}

static size_t dims_count(const int64_t *dims, int ndim)
{
	size_t n = 1;

	for (int i = 0; i < ndim; i++)
		n *= (size_t)(dims[i] > 0 ? dims[i] : 0);
	return n;
}

/* Output i as a new constant of these dims, values to fill. */
static aoi_onnx_val *new_const(imp *im, int i, int is_int, int ndim, const int64_t *dims,
			       aoi_error *err)
{
	size_t n = dims_count(dims, ndim);
	void *p;
	aoi_onnx_val *v;

	if (ndim > AOI_ONNX_MAX_DIMS || n > ((size_t)1 << 28)) {
		aoi_onnx_fail(im, err, AOI_EFORMAT, "a constant of %d dimensions, %zu values", ndim, n);
		return NULL;
	}
	if (!(p = calloc(n ? n : 1, esize(is_int)))) {
		aoi_onnx_fail(im, err, AOI_ENOMEM, "out of memory");
		return NULL;
	}
	if (!(v = aoi_onnx_define(im, i, AOI_OV_CONST, 0, 0, err))) {
		free(p);
		return NULL;
	}
	v->is_int = is_int;
	v->ndim = ndim;
	memcpy(v->dims, dims, sizeof(int64_t) * (size_t)ndim);
	v->count = n;
	if (is_int)
		v->i = p;
	else
		v->f = p;
	return v;
}

static int all_inputs_const(imp *im, aoi_error *err)
{
	const Onnx__NodeProto *n = im->node;

	for (size_t j = 0; j < n->n_input; j++) {
		aoi_onnx_val *v = aoi_onnx_opt_input(im, (int)j, err);
		if (!n->input[j][0])
			continue;
		if (!v)
			return -1;
		if (v->kind != AOI_OV_CONST)
			return 0;
		if (aoi_onnx_load(im, v, err) < 0)
			return -1;
	}
	return 1;
}

/* Integer values of an optional const input, or of an ints attribute
 * before opset `since`; -1 when absent. */
static int ints_of(imp *im, int input, const char *attr, int since, int64_t *v, int max,
		   aoi_error *err)
{
	if (im->file.opset < since)
		return aoi_onnx_attr_ints(im->node, attr, v, max);
	const aoi_onnx_val *c = aoi_onnx_opt_input(im, input, err);
	if (!c)
		return -1;
	if (!c->is_int || c->count > (size_t)max)
		return aoi_onnx_fail(im, err, AOI_EFORMAT, "input %d: want at most %d integers",
				     input, max) - 1;
	memcpy(v, c->i, sizeof(int64_t) * c->count);
	return (int)c->count;
}

/* ---- the ops ---- */

static int fold_constant(imp *im, aoi_error *err)
{
	const Onnx__NodeProto *n = im->node;
	const Onnx__AttributeProto *a = n->n_attribute ? n->attribute[0] : NULL;
	aoi_onnx_val *v;
	int64_t one = 1;

	if (a && a->t) {
		aoi_onnx_val tmp = {.name = "", .kind = AOI_OV_CONST, .init = a->t};
		if (aoi_onnx_load(im, &tmp, err) < 0 || aoi_onnx_alias(im, 0, &tmp, err) < 0) {
			free(tmp.f);
			free(tmp.i);
			return -1;
		}
		free(tmp.f);
		free(tmp.i);
		return 1;
	}
	if (!a || !(a->has_f || a->has_i || a->n_ints || a->n_floats))
		return aoi_onnx_fail(im, err, AOI_EFORMAT, "a Constant without a value we read");
	int is_int = a->has_i || a->n_ints, list = a->n_ints || a->n_floats;
	int64_t len = (int64_t)(a->n_ints ? a->n_ints : a->n_floats);
	if (!(v = new_const(im, 0, is_int, list, list ? &len : &one, err)))
		return -1;
	if (a->has_i)
		v->i[0] = a->i;
	else if (a->has_f)
		v->f[0] = a->f;
	else
		memcpy(data(v), is_int ? (void *)a->ints : (void *)a->floats, v->count * esize(is_int));
	return 1;
}

static int fold_shape(imp *im, aoi_error *err)
{
	aoi_onnx_val *x = aoi_onnx_input(im, 0, err), *v;
	int64_t dims[AOI_ONNX_MAX_DIMS];
	int nd, start, end;

	if (!x)
		return -1;
	if (x->kind == AOI_OV_NODE) {
		aoi_shape s = aoi_onnx_shape(im, x);
		int64_t d4[4] = {AOI_ONNX_BATCH, s.c, s.h, s.w};
		nd = x->rank;
		memcpy(dims, d4, sizeof(int64_t) * 4);
	} else if (x->kind == AOI_OV_CONST && aoi_onnx_load(im, x, err) == 0) {
		nd = x->ndim;
		memcpy(dims, x->dims, sizeof(int64_t) * (size_t)nd);
	} else {
		return aoi_onnx_fail(im, err, AOI_EFORMAT, "the shape of max-pool indices");
	}
	start = (int)aoi_onnx_attr_int(im->node, "start", 0);
	end = (int)aoi_onnx_attr_int(im->node, "end", nd);
	start = start < 0 ? start + nd : start;
	end = end < 0 ? end + nd : end > nd ? nd : end;
	if (start < 0 || start > end)
		start = end = 0;
	int64_t len = end - start;
	if (!(v = new_const(im, 0, 1, 1, &len, err)))
		return -1;
	memcpy(v->i, dims + start, sizeof(int64_t) * (size_t)len);
	return 1;
}

static int fold_constant_of_shape(imp *im, aoi_error *err)
{
	const aoi_onnx_val *s = aoi_onnx_const(im, 0, err);
	const Onnx__AttributeProto *a = aoi_onnx_attr(im->node, "value");
	aoi_onnx_val fill = {.name = "", .kind = AOI_OV_CONST, .init = a ? a->t : NULL}, *v;
	int rc = -1;

	if (!s || (fill.init && aoi_onnx_load(im, &fill, err) < 0))
		goto done;
	if (!s->is_int || s->count > AOI_ONNX_MAX_DIMS) {
		aoi_onnx_fail(im, err, AOI_EFORMAT, "the shape must be a few integers");
		goto done;
	}
	if ((v = new_const(im, 0, fill.init ? fill.is_int : 0, (int)s->count, s->i, err))) {
		for (size_t k = 0; fill.count && k < v->count; k++)
			memcpy((char *)data(v) + k * esize(v->is_int), data(&fill), esize(v->is_int));
		rc = 1;
	}
done:
	free(fill.f);
	free(fill.i);
	return rc;
}

static int norm_axis(int64_t axis, int ndim)
{
	return (int)(axis < 0 ? axis + ndim : axis);
}

/* Gather along one axis: dims[:axis] + indices' dims + dims[axis+1:]. */
static int fold_gather(imp *im, aoi_error *err)
{
	const aoi_onnx_val *d = aoi_onnx_const(im, 0, err), *x = aoi_onnx_const(im, 1, err);
	int64_t dims[AOI_ONNX_MAX_DIMS];
	aoi_onnx_val *v;
	int axis, nd;
	size_t outer = 1, inner = 1, es;

	if (!d || !x)
		return -1;
	axis = norm_axis(aoi_onnx_attr_int(im->node, "axis", 0), d->ndim);
	nd = d->ndim - 1 + x->ndim;
	if (!x->is_int || axis < 0 || axis >= d->ndim || nd > AOI_ONNX_MAX_DIMS)
		return aoi_onnx_fail(im, err, AOI_EFORMAT, "bad Gather of constants");
	memcpy(dims, d->dims, sizeof(int64_t) * (size_t)axis);
	memcpy(dims + axis, x->dims, sizeof(int64_t) * (size_t)x->ndim);
	memcpy(dims + axis + x->ndim, d->dims + axis + 1,
	       sizeof(int64_t) * (size_t)(d->ndim - axis - 1));
	for (int k = 0; k < axis; k++)
		outer *= (size_t)d->dims[k];
	for (int k = axis + 1; k < d->ndim; k++)
		inner *= (size_t)d->dims[k];
	if (!(v = new_const(im, 0, d->is_int, nd, dims, err)))
		return -1;
	es = esize(d->is_int) * inner;
	for (size_t o = 0; o < outer; o++)
		for (size_t j = 0; j < x->count; j++) {
			int64_t k = x->i[j] < 0 ? x->i[j] + d->dims[axis] : x->i[j];
			if (k < 0 || k >= d->dims[axis])
				return aoi_onnx_fail(im, err, AOI_EFORMAT, "Gather index %lld out of range",
						     (long long)x->i[j]);
			memcpy((char *)data(v) + (o * x->count + j) * es,
			       (const char *)data(d) + ((size_t)o * (size_t)d->dims[axis] + (size_t)k) * es, es);
		}
	return 1;
}

/* Same values, other dims (Unsqueeze, Squeeze, Reshape, Flatten). */
static int fold_redim(imp *im, const aoi_onnx_val *d, int nd, const int64_t *dims,
		      aoi_error *err)
{
	aoi_onnx_val *v;

	if (dims_count(dims, nd) != d->count)
		return aoi_onnx_fail(im, err, AOI_ESHAPE, "%zu values do not fit the new shape",
				     d->count);
	if (!(v = new_const(im, 0, d->is_int, nd, dims, err)))
		return -1;
	memcpy(data(v), data(d), d->count * esize(d->is_int));
	return 1;
}

static int fold_unsqueeze(imp *im, aoi_error *err)
{
	const aoi_onnx_val *d = aoi_onnx_const(im, 0, err);
	int64_t axes[AOI_ONNX_MAX_DIMS], dims[AOI_ONNX_MAX_DIMS];
	int na, nd, used[AOI_ONNX_MAX_DIMS] = {0};

	if (!d || (na = ints_of(im, 1, "axes", 13, axes, AOI_ONNX_MAX_DIMS, err)) < -1)
		return -1;
	nd = d->ndim + (na > 0 ? na : 0);
	if (na < 1 || nd > AOI_ONNX_MAX_DIMS)
		return aoi_onnx_fail(im, err, AOI_EFORMAT, "Unsqueeze without axes");
	for (int k = 0; k < na; k++) {
		int a = norm_axis(axes[k], nd);
		if (a < 0 || a >= nd || used[a])
			return aoi_onnx_fail(im, err, AOI_EFORMAT, "bad Unsqueeze axis");
		used[a] = 1;
	}
	for (int k = 0, j = 0; k < nd; k++)
		dims[k] = used[k] ? 1 : d->dims[j++];
	return fold_redim(im, d, nd, dims, err);
}

static int fold_squeeze(imp *im, aoi_error *err)
{
	const aoi_onnx_val *d = aoi_onnx_const(im, 0, err);
	int64_t axes[AOI_ONNX_MAX_DIMS], dims[AOI_ONNX_MAX_DIMS];
	int na, nd = 0, drop[AOI_ONNX_MAX_DIMS] = {0};

	if (!d || (na = ints_of(im, 1, "axes", 13, axes, AOI_ONNX_MAX_DIMS, err)) < -1)
		return -1;
	for (int k = 0; k < na; k++)
		if (norm_axis(axes[k], d->ndim) >= 0 && norm_axis(axes[k], d->ndim) < d->ndim)
			drop[norm_axis(axes[k], d->ndim)] = 1;
	for (int k = 0; k < d->ndim; k++)
		if (!(na > 0 ? drop[k] : d->dims[k] == 1))
			dims[nd++] = d->dims[k];
	return fold_redim(im, d, nd, dims, err);
}

static int fold_reshape(imp *im, aoi_error *err)
{
	const aoi_onnx_val *d = aoi_onnx_const(im, 0, err), *s = aoi_onnx_const(im, 1, err);
	int64_t dims[AOI_ONNX_MAX_DIMS], known = 1;
	int infer = -1;

	if (!d || !s)
		return -1;
	if (!s->is_int || s->count > AOI_ONNX_MAX_DIMS)
		return aoi_onnx_fail(im, err, AOI_EFORMAT, "bad Reshape shape");
	for (int k = 0; k < (int)s->count; k++) {
		dims[k] = s->i[k] == 0 && k < d->ndim ? d->dims[k] : s->i[k];
		if (dims[k] == -1)
			infer = k;
		else
			known *= dims[k];
	}
	if (infer >= 0)
		dims[infer] = known ? (int64_t)d->count / known : 0;
	return fold_redim(im, d, (int)s->count, dims, err);
}

/* Concatenation along one axis of constants with equal other dims. */
static int fold_concat(imp *im, aoi_error *err)
{
	const Onnx__NodeProto *n = im->node;
	const aoi_onnx_val *first = aoi_onnx_const(im, 0, err), *in;
	int64_t dims[AOI_ONNX_MAX_DIMS];
	size_t outer = 1, off = 0;
	aoi_onnx_val *v;
	int axis;

	if (!first)
		return -1;
	axis = norm_axis(aoi_onnx_attr_int(n, "axis", 0), first->ndim);
	if (axis < 0 || axis >= first->ndim)
		return aoi_onnx_fail(im, err, AOI_EFORMAT, "bad Concat axis");
	memcpy(dims, first->dims, sizeof(int64_t) * (size_t)first->ndim);
	dims[axis] = 0;
	for (size_t j = 0; j < n->n_input; j++) {
		if (!(in = aoi_onnx_const(im, (int)j, err)))
			return -1;
		if (in->ndim != first->ndim || in->is_int != first->is_int)
			return aoi_onnx_fail(im, err, AOI_ESHAPE, "Concat of unlike constants");
		dims[axis] += in->dims[axis];
	}
	for (int k = 0; k < axis; k++)
		outer *= (size_t)dims[k];
	if (!(v = new_const(im, 0, first->is_int, first->ndim, dims, err)))
		return -1;
	for (size_t o = 0; o < outer; o++)
		for (size_t j = 0; j < n->n_input; j++) {
			in = aoi_onnx_const(im, (int)j, err);
			size_t block = outer ? in->count / outer * esize(in->is_int) : 0;
			memcpy((char *)data(v) + off, (const char *)data(in) + o * block, block);
			off += block;
		}
	return 1;
}

/* Element k of an output of dims from the input: each output index maps
 * to start[a] + idx[a] * step[a] along axis perm[a] of the input. */
static void strided_copy(const aoi_onnx_val *d, aoi_onnx_val *v, const int *perm,
			 const int64_t *start, const int64_t *step)
{
	int64_t idx[AOI_ONNX_MAX_DIMS] = {0}, stride[AOI_ONNX_MAX_DIMS];
	size_t es = esize(d->is_int);

	for (int a = d->ndim - 1, s = 1; a >= 0; s *= (int)d->dims[a], a--)
		stride[a] = s;
	for (size_t k = 0; k < v->count; k++) {
		int64_t src = 0;
		for (int a = 0; a < v->ndim; a++)
			src += (start[a] + idx[a] * step[a]) * stride[perm[a]];
		memcpy((char *)data(v) + k * es, (const char *)data(d) + (size_t)src * es, es);
		for (int a = v->ndim - 1; a >= 0 && ++idx[a] == v->dims[a]; a--)
			idx[a] = 0;
	}
}

static int fold_transpose(imp *im, aoi_error *err)
{
	const aoi_onnx_val *d = aoi_onnx_const(im, 0, err);
	int64_t p[AOI_ONNX_MAX_DIMS], dims[AOI_ONNX_MAX_DIMS], zero[AOI_ONNX_MAX_DIMS] = {0};
	int64_t one[AOI_ONNX_MAX_DIMS];
	int perm[AOI_ONNX_MAX_DIMS], np;
	aoi_onnx_val *v;

	if (!d)
		return -1;
	np = aoi_onnx_attr_ints(im->node, "perm", p, AOI_ONNX_MAX_DIMS);
	for (int a = 0; a < d->ndim; a++) {
		perm[a] = np < 0 ? d->ndim - 1 - a : (int)p[a];
		if (np >= 0 && (np != d->ndim || p[a] < 0 || p[a] >= d->ndim))
			return aoi_onnx_fail(im, err, AOI_EFORMAT, "bad Transpose perm");
		dims[a] = d->dims[perm[a]];
		one[a] = 1;
	}
	if (!(v = new_const(im, 0, d->is_int, d->ndim, dims, err)))
		return -1;
	strided_copy(d, v, perm, zero, one);
	return 1;
}

/* Clamp a Slice bound as ONNX does for a dimension of size n. */
static int64_t clamp_bound(int64_t b, int64_t n, int64_t step)
{
	if (b < 0)
		b += n;
	if (step > 0)
		return b < 0 ? 0 : b > n ? n : b;
	return b < -1 ? -1 : b > n - 1 ? n - 1 : b;
}

static int fold_slice(imp *im, aoi_error *err)
{
	const aoi_onnx_val *d = aoi_onnx_const(im, 0, err);
	int64_t st[AOI_ONNX_MAX_DIMS], en[AOI_ONNX_MAX_DIMS], ax[AOI_ONNX_MAX_DIMS];
	int64_t sp[AOI_ONNX_MAX_DIMS], start[AOI_ONNX_MAX_DIMS], step[AOI_ONNX_MAX_DIMS];
	int64_t dims[AOI_ONNX_MAX_DIMS];
	int perm[AOI_ONNX_MAX_DIMS], ns, na, nsp;
	aoi_onnx_val *v;

	if (!d)
		return -1;
	ns = ints_of(im, 1, "starts", 10, st, AOI_ONNX_MAX_DIMS, err);
	if (ns < 0 || ints_of(im, 2, "ends", 10, en, AOI_ONNX_MAX_DIMS, err) != ns)
		return aoi_onnx_fail(im, err, AOI_EFORMAT, "bad Slice starts or ends");
	na = ints_of(im, 3, "axes", 10, ax, AOI_ONNX_MAX_DIMS, err);
	nsp = im->file.opset >= 10 ? ints_of(im, 4, "", 10, sp, AOI_ONNX_MAX_DIMS, err) : -1;
	for (int a = 0; a < d->ndim; a++) {
		perm[a] = a;
		start[a] = 0;
		step[a] = 1;
		dims[a] = d->dims[a];
	}
	for (int k = 0; k < ns; k++) {
		int a = norm_axis(na >= 0 ? ax[k] : k, d->ndim);
		int64_t s = nsp >= 0 ? sp[k] : 1, n = d->dims[a < 0 ? 0 : a], b, e;
		if (a < 0 || a >= d->ndim || s == 0)
			return aoi_onnx_fail(im, err, AOI_EFORMAT, "bad Slice axis or step");
		b = clamp_bound(st[k], n, s);
		e = clamp_bound(en[k] < -n && s < 0 ? -n - 1 : en[k], n, s);
		start[a] = b;
		step[a] = s;
		dims[a] = s > 0 ? (e > b ? (e - b + s - 1) / s : 0) : (b > e ? (b - e - s - 1) / -s : 0);
	}
	if (!(v = new_const(im, 0, d->is_int, d->ndim, dims, err)))
		return -1;
	strided_copy(d, v, perm, start, step);
	return 1;
}

static int fold_cast(imp *im, aoi_error *err)
{
	const aoi_onnx_val *d = aoi_onnx_const(im, 0, err);
	int64_t to = aoi_onnx_attr_int(im->node, "to", 0);
	int is_int = to == DTYPE(INT64) || to == DTYPE(INT32);
	aoi_onnx_val *v;

	if (!d)
		return -1;
	if (!is_int && to != DTYPE(FLOAT) && to != DTYPE(DOUBLE))
		return aoi_onnx_fail(im, err, AOI_EFORMAT, "Cast to type %lld", (long long)to);
	if (!(v = new_const(im, 0, is_int, d->ndim, d->dims, err)))
		return -1;
	for (size_t k = 0; k < d->count; k++) {
		if (d->is_int && d->i[k] == AOI_ONNX_BATCH && !is_int)
			return aoi_onnx_fail(im, err, AOI_EFORMAT,
					     "computes with the batch size, which aoi leaves open");
		if (is_int)
			v->i[k] = d->is_int ? d->i[k] : (int64_t)d->f[k];
		else
			v->f[k] = d->is_int ? (float)d->i[k] : d->f[k];
	}
	return 1;
}

static int64_t arith_int(int op, int64_t a, int64_t b)
{
	switch (op) {
	case 0: return a + b;
	case 1: return a - b;
	case 2: return a * b;
	default: return b ? a / b : 0;
	}
}

static float arith_float(int op, float a, float b)
{
	switch (op) {
	case 0: return a + b;
	case 1: return a - b;
	case 2: return a * b;
	default: return a / b;
	}
}

/* Add, Sub, Mul, Div of two constants, one of them possibly a scalar. */
static int fold_arith(imp *im, int op, aoi_error *err)
{
	const aoi_onnx_val *a = aoi_onnx_const(im, 0, err), *b = aoi_onnx_const(im, 1, err);
	const aoi_onnx_val *big;
	aoi_onnx_val *v;

	if (!a || !b)
		return -1;
	big = a->count >= b->count ? a : b;
	if (a->is_int != b->is_int || (a->count != b->count && a->count != 1 && b->count != 1))
		return aoi_onnx_fail(im, err, AOI_EFORMAT, "arithmetic on unlike constants");
	if (!(v = new_const(im, 0, a->is_int, big->ndim, big->dims, err)))
		return -1;
	for (size_t k = 0; k < v->count; k++) {
		size_t ka = a->count == 1 ? 0 : k, kb = b->count == 1 ? 0 : k;
		if (a->is_int && (a->i[ka] == AOI_ONNX_BATCH || b->i[kb] == AOI_ONNX_BATCH))
			return aoi_onnx_fail(im, err, AOI_EFORMAT,
					     "computes with the batch size, which aoi leaves open");
		if (a->is_int)
			v->i[k] = arith_int(op, a->i[ka], b->i[kb]);
		else
			v->f[k] = arith_float(op, a->f[ka], b->f[kb]);
	}
	return 1;
}

static int fold_identity(imp *im, aoi_error *err)
{
	const aoi_onnx_val *d = aoi_onnx_const(im, 0, err);

	return !d || aoi_onnx_alias(im, 0, d, err) < 0 ? -1 : 1;
}

int aoi_onnx_fold(aoi_onnx_importer *im, aoi_error *err)
{
	const char *op = im->node->op_type;
	static const char *const arith[] = {"Add", "Sub", "Mul", "Div"};
	int c;

	if (im->node->domain && *im->node->domain && strcmp(im->node->domain, "ai.onnx") != 0)
		return 0;
	if (!strcmp(op, "Constant"))
		return fold_constant(im, err);
	if (!strcmp(op, "Shape"))
		return fold_shape(im, err);
	if ((c = all_inputs_const(im, err)) <= 0 || im->node->n_input == 0)
		return c < 0 ? -1 : 0;
	for (int k = 0; k < 4; k++)
		if (!strcmp(op, arith[k]))
			return fold_arith(im, k, err);
	if (!strcmp(op, "ConstantOfShape"))
		return fold_constant_of_shape(im, err);
	if (!strcmp(op, "Gather"))
		return fold_gather(im, err);
	if (!strcmp(op, "Unsqueeze"))
		return fold_unsqueeze(im, err);
	if (!strcmp(op, "Squeeze"))
		return fold_squeeze(im, err);
	if (!strcmp(op, "Reshape"))
		return fold_reshape(im, err);
	if (!strcmp(op, "Concat"))
		return fold_concat(im, err);
	if (!strcmp(op, "Transpose"))
		return fold_transpose(im, err);
	if (!strcmp(op, "Slice"))
		return fold_slice(im, err);
	if (!strcmp(op, "Cast"))
		return fold_cast(im, err);
	if (!strcmp(op, "Identity"))
		return fold_identity(im, err);
	return 0;
}
