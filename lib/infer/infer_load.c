/* infer_load.c: a model file made ready for inference (infer_load.h). */
#include "infer/infer_load.h"

#include <string.h>

/* Normalisation and class names of the model into l->m. */
static int take_header(aoi_infer_loaded *l, aoi_error *err)
{
	const aoi_model_info *in = &l->info;
	aoi_infer_model *m = &l->m;

	m->task = in->task;
	m->width = in->opts.input_w;
	m->height = in->opts.input_h;
	m->use_template = in->template_input;
	m->gray = in->opts.in_channels / (in->template_input ? 2 : 1) == 1;
	if (in->opts.in_channels > AOI_NORM_MAX)
		return aoi_error_set(err, AOI_EFORMAT, l->path, 0, "%d input channels",
				     in->opts.in_channels);
	m->norm.channels = in->opts.in_channels;
	for (int c = 0; c < m->norm.channels; c++) {
		m->norm.mean[c] = in->mean[c];
		m->norm.std[c] = in->std[c];
	}
	int first = in->task == AOI_TASK_SEGMENTATION; /* skip "background" */
	for (int i = first; i < in->nclasses; i++)
		if (aoi_classes_add(&l->classes, in->classes[i]) < 0)
			return aoi_error_set(err, AOI_EFORMAT, l->path, 0, "too many classes");
	m->classes = &l->classes;
	m->npoints = in->opts.classes / 2;
	m->info = in;
	m->name = l->path;
	return 0;
}

int aoi_infer_load(aoi_infer_loaded *l, const char *path, aoi_error *err)
{
	memset(l, 0, sizeof *l);
	l->path = path;
	aoi_model_info_init(&l->info);
	aoi_classes_init(&l->classes);
	l->net = aoi_model_load(path, &l->info, err);
	if (!l->net || aoi_net_fuse_for_inference(l->net, err) < 0 || take_header(l, err) < 0)
		return -1;
	json_t *prov = l->info.provenance;
	const char *input = json_string_value(json_object_get(prov, "input"));
	/* an anomaly model resizes whole images, whatever its backbone did */
	l->crop = input && !strcmp(input, "crop") && !l->info.anomaly;
	l->m.scale = json_number_value(json_object_get(prov, "scale"));
	l->m.threshold = l->info.threshold; /* decision head or anomaly model; else -1 */
	return 0;
}

int aoi_infer_load_resize(aoi_infer_loaded *l, int w, int h, aoi_error *err)
{
	const aoi_arch_info *ai = aoi_arch_find(l->info.arch);

	if (l->info.anomaly)
		return aoi_error_set(err, AOI_EINVAL, l->path, 0,
				     "--size: an anomaly model runs at the input size it was fitted at");
	if (!ai || ai->fixed_size || l->m.task != AOI_TASK_SEGMENTATION)
		return aoi_error_set(err, AOI_EINVAL, l->path, 0,
				     "--size: %s runs only at its own input size", l->info.arch);
	if (w % ai->size_multiple || h % ai->size_multiple)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "--size %dx%d: %s needs multiples of %d", w, h, ai->name,
				     ai->size_multiple);
	l->m.width = w;
	l->m.height = h;
	return 0;
}

void aoi_infer_load_release(aoi_infer_loaded *l)
{
	aoi_net_free(l->net);
	aoi_model_info_release(&l->info);
	aoi_classes_release(&l->classes);
	memset(l, 0, sizeof *l);
}

/* Model i of aoi_infer_open(): loaded, resized, its own tiling. */
static int open_one(aoi_infer_loaded *l, const char *path, const aoi_infer_open_opts *oo,
		    aoi_infer_opts *o, aoi_error *err)
{
	if (aoi_infer_load(l, path, err) < 0)
		return -1;
	if (oo->width && aoi_infer_load_resize(l, oo->width, oo->height, err) < 0)
		return -1;
	if (oo->threads > 0)
		aoi_net_set_threads(l->net, oo->threads);
	*o = oo->o;
	o->tile = oo->o.tile >= 0 ? oo->o.tile : l->crop;
	return 0;
}

aoi_infer *aoi_infer_open(aoi_infer_loaded *l, const char *const *paths, int n,
			  const aoi_infer_open_opts *oo, aoi_error *err)
{
	aoi_infer *inf = NULL;
	aoi_infer_opts o;

	memset(l, 0, sizeof *l * (size_t)n);
	for (int i = 0; i < n; i++) {
		if (open_one(&l[i], paths[i], oo, &o, err) < 0)
			break;
		if (i == 0 && !(inf = aoi_infer_new(l[0].net, &l[0].m, &o, err)))
			return NULL;
		if (i > 0 && aoi_infer_add(inf, l[i].net, &l[i].m, &o, err) < 0)
			break;
		if (i == n - 1)
			return inf;
	}
	aoi_infer_free(inf);
	return NULL;
}
