/* infer_anomaly.c: an anomaly model over records (infer.h): each image
 * resized to the model's input, scored by lib/anomaly, its map resized
 * back to the image's size and written as a 16-bit PNG (value / 65535 x
 * the model's scale) and a coloured heatmap. */
#include "infer/infer.h"
#include "infer/infer_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"

aoi_infer *aoi_infer_anomaly_new(aoi_net *net, const aoi_infer_model *m,
				 const aoi_infer_opts *o, aoi_error *err)
{
	aoi_infer *inf;

	if (o->tile || o->flips || m->use_template || o->batch < 1) {
		aoi_error_set(err, AOI_EINVAL, m->name, 0,
			      "an anomaly model resizes each image to its input: no --tile, "
			      "--flips or template");
		return NULL;
	}
	if (!(inf = calloc(1, sizeof *inf))) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		return NULL;
	}
	inf->net = net;
	inf->m = *m;
	inf->o = *o;
	inf->c = m->gray ? 1 : 3;
	inf->anomaly = aoi_anomaly_from_model(net, m->info, o->batch, m->name, err);
	inf->x = inf->anomaly ? calloc((size_t)o->batch * inf->c * m->width * m->height,
				       sizeof(float))
			      : NULL;
	if (!inf->x) {
		if (inf->anomaly)
			aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		aoi_infer_free(inf);
		return NULL;
	}
	return inf;
}

/* Decode item i and put it, resized and normalised, in row r of inf->x. */
static int prepare(aoi_infer *inf, aoi_infer_item *it, slot *s, int r, aoi_error *err)
{
	const aoi_infer_model *m = &inf->m;
	size_t row = (size_t)inf->c * m->width * m->height;

	if (aoi_loader_read_images(it->rec, it->base, inf->c, &s->img, NULL, err) < 0)
		return -1;
	s->orig_w = s->img.width;
	s->orig_h = s->img.height;
	if (aoi_image_resize_in_place(&s->img, m->width, m->height, err) < 0)
		return -1;
	aoi_loader_to_tensor(&s->img, NULL, 0, 0, m->width, m->height, &m->norm,
			     inf->x + (size_t)r * row);
	return 0;
}

/* DIR/ID.SUFFIX.png, with '/' in the id made '_'. */
static void out_path(const aoi_infer *inf, const aoi_infer_item *it, const char *suffix,
		     char *out, size_t size)
{
	char id[256];
	const char *rid = aoi_record_str(it->rec, "id");

	if (rid)
		snprintf(id, sizeof id, "%s", rid);
	else
		aoi_path_stem(id, sizeof id, aoi_record_str(it->rec, "image"));
	for (char *p = id; *p; p++)
		if (*p == '/' || *p == '\\')
			*p = '_';
	snprintf(out, size, "%s/%s.%s.png", inf->o.mask_dir, id, suffix);
}

/* The map at the original size into 16 bits and into colours: the
 * threshold half way up the colour scale (or the map's scale when the
 * model has no threshold). */
static int write_maps(const aoi_infer *inf, const aoi_infer_item *it, const slot *s,
		      aoi_error *err)
{
	double scale = aoi_anomaly_scale(inf->anomaly), t = aoi_anomaly_threshold(inf->anomaly);
	double top = t > 0 ? 2 * t : scale;
	size_t px = (size_t)s->orig_w * s->orig_h;
	aoi_gray16 g;
	aoi_image heat = {0};
	char path[4096];
	int rc = -1;

	if (aoi_gray16_alloc(&g, s->orig_w, s->orig_h, err) < 0)
		return -1;
	if (aoi_image_alloc(&heat, s->orig_w, s->orig_h, 3, err) == 0) {
		for (size_t i = 0; i < px; i++) {
			double v = s->amap[i] / scale;
			g.data[i] = (uint16_t)lrint(65535 * (v < 0 ? 0 : v > 1 ? 1 : v));
			aoi_anomaly_heat_rgb(s->amap[i] / top, heat.data + 3 * i);
		}
		out_path(inf, it, "anomaly", path, sizeof path);
		if (aoi_gray16_save_png(path, &g, err) == 0) {
			out_path(inf, it, "heat", path, sizeof path);
			rc = aoi_image_save_png(path, &heat, err);
		}
	}
	aoi_image_release(&heat);
	aoi_gray16_release(&g);
	return rc;
}

/* Row r's map (model input size) at the image's size, and its file. */
static int finish_item(aoi_infer *inf, aoi_infer_item *it, slot *s, const float *map,
		       aoi_error *err)
{
	size_t px = (size_t)s->orig_w * s->orig_h;

	if (!inf->o.mask_dir)
		return 0;
	if (s->amap_cap < px) {
		float *p = realloc(s->amap, sizeof(float) * px);
		if (!p)
			return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		s->amap = p;
		s->amap_cap = px;
	}
	aoi_anomaly_resize(map, inf->m.width, inf->m.height, s->amap, s->orig_w, s->orig_h);
	return write_maps(inf, it, s, err);
}

static json_t *pred_json(const aoi_infer *inf, const aoi_infer_item *it, const slot *s)
{
	double t = aoi_anomaly_threshold(inf->anomaly);
	json_t *pred = json_object();
	char path[4096];

	json_object_set_new(pred, "score", json_real(s->ascore));
	if (t >= 0) {
		json_object_set_new(pred, "threshold", json_real(t));
		json_object_set_new(pred, "label", json_string(s->ascore > t ? "defective" : "good"));
	}
	if (inf->o.mask_dir) {
		out_path(inf, it, "anomaly", path, sizeof path);
		json_object_set_new(pred, "anomaly", json_pack("{s:s, s:f}", "map", path, "scale",
							       aoi_anomaly_scale(inf->anomaly)));
		out_path(inf, it, "heat", path, sizeof path);
		json_object_set_new(pred, "heatmap", json_string(path));
	}
	return pred;
}

/* One batch of items: decode, score, maps, predictions. */
static int run_batch(aoi_infer *inf, aoi_infer_item *items, int n, aoi_error *err)
{
	size_t row = (size_t)inf->c * inf->m.width * inf->m.height;
	float scores[n];
	const float *maps;

#pragma omp parallel for schedule(dynamic)
	for (int i = 0; i < n; i++) {
		aoi_error_clear(&items[i].err);
		items[i].failed = prepare(inf, &items[i], &inf->slots[i], i, &items[i].err) < 0;
		if (items[i].failed) {
			memset(inf->x + i * row, 0, sizeof(float) * row);
			aoi_error_locate(&items[i].err, items[i].where, items[i].line);
		}
	}
	if (!(maps = aoi_anomaly_score(inf->anomaly, inf->x, n, scores, err)))
		return -1;
#pragma omp parallel for schedule(dynamic)
	for (int i = 0; i < n; i++) {
		aoi_infer_item *it = &items[i];
		inf->slots[i].ascore = scores[i];
		if (!it->failed && finish_item(inf, it, &inf->slots[i],
					       maps + (size_t)i * inf->m.width * inf->m.height,
					       &it->err) < 0) {
			aoi_error_locate(&it->err, it->where, it->line);
			it->failed = 1;
		}
	}
	for (int i = 0; i < n; i++)
		if (!items[i].failed)
			json_object_set_new(items[i].rec, "pred",
					    pred_json(inf, &items[i], &inf->slots[i]));
	return 0;
}

int aoi_infer_anomaly_run(aoi_infer *inf, aoi_infer_item *items, int n, aoi_error *err)
{
	int b = inf->o.batch;

	if (aoi_infer_slots(inf, b, err) < 0)
		return -1;
	for (int i = 0; i < n; i += b)
		if (run_batch(inf, items + i, n - i < b ? n - i : b, err) < 0)
			return -1;
	return 0;
}
