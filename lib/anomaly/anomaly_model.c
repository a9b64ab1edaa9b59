/* anomaly_model.c: an anomaly model's part of the model file
 * (man/aoi-model.5): the "anomaly" object of the header and its extra
 * tensors "anomaly.bank" (patchcore), "anomaly.mean", "anomaly.icov" and
 * "anomaly.channels" (padim). */
#include "anomaly/anomaly_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *int_array(const int *v, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

static json_t *describe(const aoi_anomaly *a)
{
	json_t *j = json_pack("{s:s, s:[i,i], s:f, s:f}", "method",
			      aoi_anomaly_method_name(a->o.method), "input", a->width,
			      a->height, "sigma", a->o.sigma, "scale", a->scale);

	if (j && a->o.method != AOI_ANOMALY_SEGMENTATION) {
		json_object_set_new(j, "taps", int_array(a->o.taps, a->o.ntaps));
		json_object_set_new(j, "patch", json_integer(a->o.patch));
		json_object_set_new(j, "features", json_integer(a->fc));
		json_object_set_new(j, "dims", json_integer(a->dims));
		json_object_set_new(j, "grid", json_pack("[i,i]", a->gw, a->gh));
		json_object_set_new(j, "seed", json_integer((json_int_t)a->o.seed));
	}
	return j;
}

static int add_tensors(const aoi_anomaly *a, aoi_model_info *info, aoi_error *err)
{
	int d = a->dims, g = a->grid;

	if (a->o.method == AOI_ANOMALY_PATCHCORE) {
		int shape[2] = {(int)a->nbank, d};
		return aoi_model_info_add_tensor(info, "anomaly.bank", 2, shape, a->bank, err);
	}
	if (a->o.method != AOI_ANOMALY_PADIM)
		return 0;
	int ms[2] = {g, d}, is[3] = {g, d, d}, cs[1] = {d};
	float *ch = malloc(sizeof(float) * d);
	if (!ch)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	for (int i = 0; i < d; i++)
		ch[i] = (float)a->chan[i];
	int rc = aoi_model_info_add_tensor(info, "anomaly.mean", 2, ms, a->mean, err) < 0 ||
				 aoi_model_info_add_tensor(info, "anomaly.icov", 3, is, a->icov, err) < 0 ||
				 aoi_model_info_add_tensor(info, "anomaly.channels", 1, cs, ch, err) < 0
			 ? -1
			 : 0;
	free(ch);
	return rc;
}

int aoi_anomaly_to_model(const aoi_anomaly *a, aoi_model_info *info, aoi_error *err)
{
	json_t *j;

	if (!a->fitted)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "the anomaly model is not fitted");
	aoi_model_info_clear_anomaly(info);
	if (!(j = describe(a)))
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	aoi_model_info_set_anomaly(info, j);
	info->threshold = a->threshold; /* the model's one image threshold */
	info->opts.input_w = a->width;
	info->opts.input_h = a->height;
	return add_tensors(a, info, err);
}

/* ---- reading ---- */

static int bad(const char *path, const char *what, aoi_error *err)
{
	return aoi_error_set(err, AOI_EFORMAT, path, 0, "anomaly model: bad or missing %s", what);
}

/* The options the header describes. */
static int read_opts(const json_t *j, const char *path, aoi_anomaly_opts *o, int *w, int *h,
		     aoi_error *err)
{
	int m = aoi_anomaly_method_parse(json_string_value(json_object_get(j, "method")));
	json_t *taps = json_object_get(j, "taps");

	if (m < 0)
		return bad(path, "'method'", err);
	aoi_anomaly_opts_init(o, (enum aoi_anomaly_method)m);
	if (json_unpack((json_t *)j, "{s:[ii], s:F}", "input", w, h, "sigma", &o->sigma) < 0 ||
	    *w < 1 || *h < 1 || *w > 16384 || *h > 16384)
		return bad(path, "'input' or 'sigma'", err);
	if (m == AOI_ANOMALY_SEGMENTATION)
		return 0;
	json_int_t seed = 1;
	if (json_unpack((json_t *)j, "{s:i, s:i, s:I}", "patch", &o->patch, "dims", &o->dims,
			"seed", &seed) < 0 ||
	    !json_is_array(taps) || json_array_size(taps) < 1 ||
	    json_array_size(taps) > AOI_ANOMALY_MAX_TAPS)
		return bad(path, "'taps', 'patch', 'dims' or 'seed'", err);
	o->seed = (uint64_t)seed;
	o->ntaps = (int)json_array_size(taps);
	for (int k = 0; k < o->ntaps; k++)
		o->taps[k] = (int)json_integer_value(json_array_get(taps, k));
	return 0;
}

/* The built model's layout must be the one the file was fitted with. */
static int check_layout(const aoi_anomaly *a, const json_t *j, const char *path,
			aoi_error *err)
{
	int fc = 0, gw = 0, gh = 0;

	if (json_unpack((json_t *)j, "{s:i, s:[ii]}", "features", &fc, "grid", &gw, &gh) < 0)
		return bad(path, "'features' or 'grid'", err);
	if (fc != a->fc || gw != a->gw || gh != a->gh || a->dims != a->o.dims)
		return aoi_error_set(err, AOI_EFORMAT, path, 0,
				     "anomaly model: the network gives %d features on a %dx%d grid, "
				     "the file was fitted on %d of %d on %dx%d", a->dims, a->gw,
				     a->gh, a->o.dims, fc, gw, gh);
	return 0;
}

static const aoi_model_tensor *tensor(const aoi_model_info *info, const char *name, int ndim,
				      const int *shape, const char *path, aoi_error *err)
{
	const aoi_model_tensor *t = aoi_model_info_tensor(info, name);

	if (!t || t->ndim != ndim || memcmp(t->shape, shape, sizeof(int) * ndim) != 0) {
		aoi_error_set(err, AOI_EFORMAT, path, 0,
			      "anomaly model: tensor '%s' is missing or of the wrong shape", name);
		return NULL;
	}
	return t;
}

static int load_bank(aoi_anomaly *a, const aoi_model_info *info, const char *path,
		     aoi_error *err)
{
	const aoi_model_tensor *t = aoi_model_info_tensor(info, "anomaly.bank");
	int shape[2] = {t ? t->shape[0] : 0, a->dims};

	if (!(t = tensor(info, "anomaly.bank", 2, shape, path, err)))
		return -1;
	if (!(a->bank = malloc(sizeof(float) * t->count)))
		return aoi_error_set(err, AOI_ENOMEM, path, 0, "out of memory");
	memcpy(a->bank, t->data, sizeof(float) * t->count);
	a->nbank = t->shape[0];
	return 0;
}

static int load_gaussians(aoi_anomaly *a, const aoi_model_info *info, const char *path,
			  aoi_error *err)
{
	int d = a->dims, g = a->grid, ms[2] = {g, d}, is[3] = {g, d, d}, cs[1] = {d};
	const aoi_model_tensor *m, *ic, *ch;

	if (!(m = tensor(info, "anomaly.mean", 2, ms, path, err)) ||
	    !(ic = tensor(info, "anomaly.icov", 3, is, path, err)) ||
	    !(ch = tensor(info, "anomaly.channels", 1, cs, path, err)) ||
	    aoi_anomaly_alloc_fitted(a, err) < 0)
		return -1;
	memcpy(a->mean, m->data, sizeof(float) * m->count);
	memcpy(a->icov, ic->data, sizeof(float) * ic->count);
	for (int i = 0; i < d; i++) {
		float v = ch->data[i];
		if (!(v >= 0 && v < a->fc) || v != floorf(v) || (i && v <= ch->data[i - 1]))
			return bad(path, "'anomaly.channels'", err);
		a->chan[i] = (int)v;
	}
	return 0;
}

/* The threshold is the model file's (aoi_model_info.threshold); the map
 * scale is the anomaly object's. */
static void read_threshold(aoi_anomaly *a, const aoi_model_info *info)
{
	const json_t *s = json_object_get(info->anomaly, "scale");

	aoi_anomaly_set_threshold(a, info->threshold >= 0 ? info->threshold : -1,
				  json_is_number(s) ? json_number_value(s) : 1);
}

aoi_anomaly *aoi_anomaly_from_model(aoi_net *net, const aoi_model_info *info, int batch,
				    const char *path, aoi_error *err)
{
	aoi_anomaly_opts o;
	aoi_anomaly *a;
	int w, h;

	if (!info->anomaly) {
		aoi_error_set(err, AOI_EINVAL, path, 0, "not an anomaly model");
		return NULL;
	}
	if (read_opts(info->anomaly, path, &o, &w, &h, err) < 0)
		return NULL;
	for (int k = 0; k < o.ntaps; k++)
		if (o.taps[k] < 1 || o.taps[k] >= aoi_net_node_count(net) ||
		    (k && o.taps[k] <= o.taps[k - 1])) {
			bad(path, "'taps'", err);
			return NULL;
		}
	if (!(a = aoi_anomaly_new(net, w, h, batch, &o, err))) {
		aoi_error_locate(err, path, 0);
		return NULL;
	}
	int rc = 0;
	if (o.method != AOI_ANOMALY_SEGMENTATION)
		rc = check_layout(a, info->anomaly, path, err);
	if (rc == 0 && o.method == AOI_ANOMALY_PATCHCORE)
		rc = load_bank(a, info, path, err);
	else if (rc == 0 && o.method == AOI_ANOMALY_PADIM)
		rc = load_gaussians(a, info, path, err);
	if (rc == 0 && aoi_anomaly_alloc_fitted(a, err) < 0)
		rc = -1;
	if (rc < 0) {
		aoi_anomaly_free(a);
		return NULL;
	}
	read_threshold(a, info);
	a->fitted = 1;
	return a;
}
