/* infer.c: records -> network -> "pred" (see infer.h).
 *
 * A chunk of records becomes a list of jobs, one network input each: the
 * whole image resized to the input, or one tile of it. Jobs run through
 * the network in batches; a job's output goes to its record's slot:
 * class probabilities accumulated at the original size (tiles), at the
 * input size (resized), or the raw outputs (classification, keypoints).
 * The slots are then turned into predictions in parallel. */
#include "infer/infer.h"
#include "infer/infer_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/raster.h"

void aoi_infer_opts_init(aoi_infer_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->batch = 4;
	o->overlap = -1;
}

static int check_output(aoi_infer *inf, aoi_error *err)
{
	aoi_shape s = aoi_net_output_shape(inf->net);
	inf->k = s.c;
	const aoi_infer_model *m = &inf->m;
	if (m->task == AOI_TASK_SEGMENTATION) {
		if (s.h != m->height || s.w != m->width)
			return aoi_error_set(err, AOI_ESHAPE, "", 0,
					     "segmentation output %dx%d, input %dx%d", s.w, s.h,
					     m->width, m->height);
		if (s.c != 1 && s.c != m->classes->n + 1)
			return aoi_error_set(err, AOI_ESHAPE, "", 0,
					     "%d output channels for %d classes", s.c,
					     m->classes->n);
		inf->kp = s.c == 1 ? 2 : s.c;
		aoi_shape d = aoi_net_output_shape_at(inf->net, 1);
		inf->decision = aoi_net_output_count(inf->net) > 1 && d.c * d.h * d.w == 1;
		return 0;
	}
	int want = m->task == AOI_TASK_KEYPOINTS ? 2 * m->npoints : m->classes->n;
	if ((size_t)s.c * s.h * s.w != (size_t)want || want > AOI_MAX_CLASSES)
		return aoi_error_set(err, AOI_ESHAPE, "", 0, "network gives %d outputs, want %d",
				     s.c * s.h * s.w, want);
	inf->k = want;
	return 0;
}

aoi_infer *aoi_infer_new(aoi_net *net, const aoi_infer_model *m, const aoi_infer_opts *o,
			 aoi_error *err)
{
	int side = m->width < m->height ? m->width : m->height;
	if (m->info && m->info->anomaly)
		return aoi_infer_anomaly_new(net, m, o, err);
	if (o->flips && m->task != AOI_TASK_SEGMENTATION) {
		aoi_error_set(err, AOI_EINVAL, "", 0, "flips are for segmentation models");
		return NULL;
	}
	if (o->batch < 1 ||
	    (o->tile && o->overlap >= 0 && (o->overlap >= m->width / 2 || o->overlap >= m->height / 2))) {
		aoi_error_set(err, AOI_EINVAL, "", 0,
			      "batch %d, tile overlap %d: want a batch >= 1 and an overlap "
			      "under half the %dx%d input", o->batch, o->overlap, m->width,
			      m->height);
		return NULL;
	}
	aoi_infer *inf = calloc(1, sizeof(*inf));
	if (!inf) {
		aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
		return NULL;
	}
	inf->net = net;
	inf->m = *m;
	inf->o = *o;
	if (o->overlap < 0) /* auto: a quarter of the input, 32 at most */
		inf->o.overlap = side / 4 < 32 ? side / 4 : 32;
	inf->c = (m->gray ? 1 : 3) * (m->use_template ? 2 : 1);
	if (aoi_net_plan(net, o->batch, m->height, m->width, err) < 0 ||
	    check_output(inf, err) < 0) {
		free(inf);
		return NULL;
	}
	inf->x = calloc((size_t)o->batch * inf->c * m->width * m->height, sizeof(float));
	if (!inf->x) {
		free(inf);
		aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
		return NULL;
	}
	return inf;
}

static void slot_release(slot *s)
{
	aoi_image_release(&s->img);
	aoi_image_release(&s->tmpl);
	aoi_mask_release(&s->mask);
	free(s->prob);
	free(s->weight);
	free(s->maxp);
	free(s->comps);
	free(s->scores);
	free(s->amap);
	free(s->ens);
}

void aoi_infer_free(aoi_infer *inf)
{
	if (!inf)
		return;
	for (int i = 0; i < inf->nmore; i++)
		aoi_infer_free(inf->more[i]);
	free(inf->more);
	for (int i = 0; i < inf->nslots; i++)
		slot_release(&inf->slots[i]);
	free(inf->slots);
	free(inf->jobs);
	free(inf->x);
	aoi_anomaly_free(inf->anomaly);
	free(inf);
}

int aoi_infer_slots(aoi_infer *inf, int n, aoi_error *err)
{
	if (n <= inf->nslots)
		return 0;
	slot *s = realloc(inf->slots, (size_t)n * sizeof(*s));
	if (!s)
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	memset(s + inf->nslots, 0, (size_t)(n - inf->nslots) * sizeof(*s));
	inf->slots = s;
	inf->nslots = n;
	return 0;
}

/* Grow *buf to hold n floats. */
int aoi_infer_ensure_floats(float **buf, size_t *cap, size_t n)
{
	if (n <= *cap)
		return 0;
	float *p = realloc(*buf, n * sizeof(float));
	if (!p)
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

/* Several outputs add up in a pixel: tiles overlap, or flips. */
int aoi_infer_averaged(const aoi_infer *inf, const slot *s)
{
	return s->tiles || inf->o.flips;
}

/* Tiles when asked for: a (shrunk) image larger than the input is cut
 * into tiles, a smaller one centred in one tile, padded, as in training. */
static int tiling(const aoi_infer *inf)
{
	return inf->o.tile;
}

/* Decode item i into its slot and size the buffers its jobs need. */
static int prepare_item(aoi_infer *inf, aoi_infer_item *it, slot *s, aoi_error *err)
{
	const aoi_infer_model *m = &inf->m;
	if (aoi_loader_read_images(it->rec, it->base, m->gray ? 1 : 3, &s->img,
				   m->use_template ? &s->tmpl : NULL, err) < 0)
		return -1;
	s->orig_w = s->img.width;
	s->orig_h = s->img.height;
	int w = aoi_loader_scaled(s->orig_w, m->scale), h = aoi_loader_scaled(s->orig_h, m->scale);
	s->tiles = tiling(inf);
	if (!s->tiles) {
		w = m->width;
		h = m->height;
	}
	if (aoi_image_resize_in_place(&s->img, w, h, err) < 0 ||
	    (m->use_template && aoi_image_resize_in_place(&s->tmpl, w, h, err) < 0))
		return -1;
	s->pw = w;
	s->ph = h;
	return aoi_infer_size_planes(inf, s, err);
}

int aoi_infer_size_planes(aoi_infer *inf, slot *s, aoi_error *err)
{
	s->score = 0;
	s->win_sum = 0;
	s->win_n = 0;
	if (inf->m.task != AOI_TASK_SEGMENTATION)
		return 0;
	size_t px = (size_t)s->pw * s->ph;
	if (aoi_infer_ensure_floats(&s->prob, &s->prob_cap, px * inf->kp) < 0 ||
	    (aoi_infer_averaged(inf, s) && aoi_infer_ensure_floats(&s->weight, &s->weight_cap, px) < 0))
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	memset(s->prob, 0, px * inf->kp * sizeof(float));
	if (aoi_infer_averaged(inf, s))
		memset(s->weight, 0, px * sizeof(float));
	return 0;
}

static void decode_items(aoi_infer *inf, aoi_infer_item *items, int n)
{
#pragma omp parallel for schedule(dynamic)
	for (int i = 0; i < n; i++) {
		aoi_infer_item *it = &items[i];
		aoi_error_clear(&it->err);
		it->failed = prepare_item(inf, it, &inf->slots[i], &it->err) < 0;
		if (it->failed)
			aoi_error_locate(&it->err, it->where, it->line);
	}
}

int aoi_infer_add_job(aoi_infer *inf, int item, int x0, int y0, aoi_error *err)
{
	if (inf->njobs == inf->jobs_cap) {
		int cap = inf->jobs_cap ? 2 * inf->jobs_cap : 64;
		job *j = realloc(inf->jobs, (size_t)cap * sizeof(*j));
		if (!j)
			return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
		inf->jobs = j;
		inf->jobs_cap = cap;
	}
	inf->jobs[inf->njobs++] = (job){ item, x0, y0, 0 };
	return 0;
}

/* The job of one input window, or four with flips. */
static int add_window(aoi_infer *inf, int item, int x0, int y0, aoi_error *err)
{
	for (int f = 0; f < (inf->o.flips ? 4 : 1); f++) {
		if (aoi_infer_add_job(inf, item, x0, y0, err) < 0)
			return -1;
		inf->jobs[inf->njobs - 1].flip = f;
	}
	return 0;
}

/* Tile origins along one side: input-sized steps overlapping by `overlap`,
 * the last tile flush with the far edge; a side shorter than the tile is
 * centred in it (as training's windows centre it). */
static int tile_origins(int size, int tile, int overlap, int *out, int max)
{
	int n = 0, step = tile - overlap;
	for (int p = 0; n < max; p += step) {
		if (p + tile >= size) {
			out[n++] = size > tile ? size - tile : (size - tile) / 2;
			break;
		}
		out[n++] = p;
	}
	return n;
}

static int make_jobs(aoi_infer *inf, const aoi_infer_item *items, int n, aoi_error *err)
{
	enum { MAXT = 256 };
	int xs[MAXT], ys[MAXT];
	inf->njobs = 0;
	for (int i = 0; i < n; i++) {
		if (items[i].failed)
			continue;
		const slot *s = &inf->slots[i];
		if (!s->tiles) {
			if (add_window(inf, i, 0, 0, err) < 0)
				return -1;
			continue;
		}
		int nx = tile_origins(s->pw, inf->m.width, inf->o.overlap, xs, MAXT);
		int ny = tile_origins(s->ph, inf->m.height, inf->o.overlap, ys, MAXT);
		for (int ty = 0; ty < ny; ty++)
			for (int tx = 0; tx < nx; tx++)
				if (add_window(inf, i, xs[tx], ys[ty], err) < 0)
					return -1;
	}
	return 0;
}

/* Softmax (or sigmoid for one channel) of pixel p of a k-channel output
 * into probs[kp]. */
static void pixel_probs(const float *out, size_t plane, size_t p, int k, float *probs)
{
	if (k == 1) {
		float q = 1.0f / (1.0f + expf(-out[p]));
		probs[0] = 1 - q;
		probs[1] = q;
		return;
	}
	float mx = out[p];
	for (int c = 1; c < k; c++)
		mx = fmaxf(mx, out[c * plane + p]);
	float sum = 0;
	for (int c = 0; c < k; c++)
		sum += probs[c] = expf(out[c * plane + p] - mx);
	for (int c = 0; c < k; c++)
		probs[c] /= sum;
}

/* One job's segmentation output into its slot's probability planes. */
static void store_segmentation(const aoi_infer *inf, const job *j, const float *out)
{
	slot *s = &inf->slots[j->item];
	int w = inf->m.width, h = inf->m.height, kp = inf->kp;
	size_t plane = (size_t)w * h;
	int dw = s->pw, dh = s->ph;
	size_t dplane = (size_t)dw * dh;
	float probs[AOI_MAX_CLASSES + 1];
	int avg = aoi_infer_averaged(inf, s);
	int ya = j->y0 < 0 ? -j->y0 : 0, xa = j->x0 < 0 ? -j->x0 : 0; /* padding */
	for (int y = ya; y < h && j->y0 + y < dh; y++)
		for (int x = xa; x < w && j->x0 + x < dw; x++) {
			size_t d = (size_t)(j->y0 + y) * dw + (j->x0 + x);
			/* a flipped input's output is flipped the same way */
			int sx = j->flip & 1 ? w - 1 - x : x, sy = j->flip & 2 ? h - 1 - y : y;
			pixel_probs(out, plane, (size_t)sy * w + sx, inf->k, probs);
			for (int c = 0; c < kp; c++)
				s->prob[c * dplane + d] += probs[c];
			if (avg)
				s->weight[d] += 1;
		}
}

static void store_vector(const aoi_infer *inf, const job *j, const float *out)
{
	slot *s = &inf->slots[j->item];
	if (inf->m.task == AOI_TASK_KEYPOINTS) {
		memcpy(s->out, out, (size_t)inf->k * sizeof(float));
		return;
	}
	float mx = out[0], sum = 0;
	for (int c = 1; c < inf->k; c++)
		mx = fmaxf(mx, out[c]);
	for (int c = 0; c < inf->k; c++)
		sum += s->out[c] = expf(out[c] - mx);
	for (int c = 0; c < inf->k; c++)
		s->out[c] /= sum;
}

/* Mirror c planes of w x h in place: bit 0 left-right, bit 1 upside down. */
static void flip_planes(float *x, int c, int w, int h, int flip)
{
	for (int p = 0; p < c; p++, x += (size_t)w * h) {
		for (int y = 0; flip & 1 && y < h; y++) {
			float *row = x + (size_t)y * w;
			for (int a = 0, b = w - 1; a < b; a++, b--) {
				float t = row[a];
				row[a] = row[b];
				row[b] = t;
			}
		}
		for (int a = 0, b = h - 1; flip & 2 && a < b; a++, b--)
			for (int i = 0; i < w; i++) {
				float t = x[(size_t)a * w + i];
				x[(size_t)a * w + i] = x[(size_t)b * w + i];
				x[(size_t)b * w + i] = t;
			}
	}
}

void aoi_infer_fill_batch(aoi_infer *inf, int j0, int m)
{
	int w = inf->m.width, h = inf->m.height;
	size_t in_size = (size_t)inf->c * w * h;
#pragma omp parallel for schedule(static)
	for (int r = 0; r < m; r++) {
		const job *j = &inf->jobs[j0 + r];
		const slot *s = &inf->slots[j->item];
		float *x = inf->x + (size_t)r * in_size;
		aoi_loader_to_tensor(&s->img, inf->m.use_template ? &s->tmpl : NULL, j->x0, j->y0,
				     w, h, &inf->m.norm, x);
		if (j->flip)
			flip_planes(x, inf->c, w, h, j->flip);
	}
}

/* A job's decision logit into its slot: the mean over a window's flips
 * (consecutive jobs), the highest over its windows. */
static void store_decision(const aoi_infer *inf, const job *j, float logit)
{
	slot *s = &inf->slots[j->item];
	s->win_sum += 1.0 / (1.0 + exp(-(double)logit));
	if (++s->win_n < (inf->o.flips ? 4 : 1))
		return;
	double p = s->win_sum / s->win_n;
	s->score = p > s->score ? p : s->score;
	s->win_sum = 0;
	s->win_n = 0;
}

void aoi_infer_store_batch(aoi_infer *inf, int j0, int m, const float *out)
{
	aoi_shape os = aoi_net_output_shape(inf->net);
	size_t out_size = (size_t)os.c * os.h * os.w;
	const float *dec = inf->decision ? aoi_net_output_at(inf->net, 1) : NULL;
	/* rows of one batch may share an item (tiles): sequential */
	for (int r = 0; r < m; r++) {
		const job *j = &inf->jobs[j0 + r];
		if (inf->m.task == AOI_TASK_SEGMENTATION)
			store_segmentation(inf, j, out + (size_t)r * out_size);
		else
			store_vector(inf, j, out + (size_t)r * out_size);
		if (dec)
			store_decision(inf, j, dec[r]);
	}
}

int aoi_infer_run_jobs(aoi_infer *inf, aoi_error *err)
{
	int b = inf->o.batch;
	for (int j0 = 0; j0 < inf->njobs; j0 += b) {
		int m = inf->njobs - j0 < b ? inf->njobs - j0 : b;
		aoi_infer_fill_batch(inf, j0, m);
		const float *out = aoi_net_forward(inf->net, inf->x, 0, NULL, err);
		if (!out)
			return -1;
		aoi_infer_store_batch(inf, j0, m, out);
	}
	return 0;
}

/* Tiles overlap, flips repeat: summed probabilities into means. */
void aoi_infer_average(const aoi_infer *inf, slot *s)
{
	size_t plane = (size_t)s->pw * s->ph;
	for (size_t p = 0; p < plane; p++) {
		float w = s->weight[p] > 0 ? s->weight[p] : 1;
		for (int c = 0; c < inf->kp; c++)
			s->prob[c * plane + p] /= w;
	}
}

/* Probabilities at original pixel (x, y): the planes' own pixel, or
 * bilinear from smaller planes (PyTorch's align_corners=false). */
void aoi_infer_original_probs(const aoi_infer *inf, const slot *s, int x, int y,
			      float *probs)
{
	int kp = inf->kp, w = s->pw, h = s->ph;
	size_t plane = (size_t)w * h;
	if (w == s->orig_w && h == s->orig_h) {
		size_t p = (size_t)y * w + x;
		for (int c = 0; c < kp; c++)
			probs[c] = s->prob[c * plane + p];
		return;
	}
	double fx = (x + 0.5) * w / s->orig_w - 0.5, fy = (y + 0.5) * h / s->orig_h - 0.5;
	fx = fx < 0 ? 0 : fx > w - 1 ? w - 1 : fx;
	fy = fy < 0 ? 0 : fy > h - 1 ? h - 1 : fy;
	int x0 = (int)fx, y0 = (int)fy;
	int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
	float ax = (float)(fx - x0), ay = (float)(fy - y0);
	for (int c = 0; c < kp; c++) {
		const float *p = s->prob + c * plane;
		float top = p[y0 * w + x0] + (p[y0 * w + x1] - p[y0 * w + x0]) * ax;
		float bot = p[y1 * w + x0] + (p[y1 * w + x1] - p[y1 * w + x0]) * ax;
		probs[c] = top + (bot - top) * ay;
	}
}

static int argmax_mask(const aoi_infer *inf, slot *s, aoi_error *err)
{
	aoi_mask_release(&s->mask);
	if (aoi_mask_alloc(&s->mask, s->orig_w, s->orig_h, err) < 0)
		return -1;
	size_t px = (size_t)s->orig_w * s->orig_h;
	if (aoi_infer_ensure_floats(&s->maxp, &s->maxp_cap, px) < 0)
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	float probs[AOI_MAX_CLASSES + 1];
	double total = 0;
	float defect = 0;
	memset(s->pixels, 0, sizeof(s->pixels));
	for (int y = 0; y < s->orig_h; y++)
		for (int x = 0; x < s->orig_w; x++) {
			if (inf->nmore) /* the ensemble's mean, already at this size */
				for (int c = 0; c < inf->kp; c++)
					probs[c] = s->ens[c * px + (size_t)y * s->orig_w + x];
			else
				aoi_infer_original_probs(inf, s, x, y, probs);
			defect = fmaxf(defect, 1 - probs[0]);
			int best = 0;
			for (int c = 1; c < inf->kp; c++)
				if (probs[c] > probs[best])
					best = c;
			size_t p = (size_t)y * s->orig_w + x;
			s->mask.data[p] = (uint8_t)best;
			s->maxp[p] = probs[best];
			s->pixels[best]++;
			total += probs[best];
		}
	s->mean_prob = total / (double)px;
	s->defect_prob = defect;
	return 0;
}

/* Components as boxes; score = mean winning probability of the defect
 * pixels inside the component's box. */
static int components(const aoi_infer *inf, slot *s, aoi_error *err)
{
	free(s->comps);
	free(s->scores);
	s->comps = NULL;
	s->scores = NULL;
	s->ncomps = aoi_components(&s->mask, 0, &s->comps, err);
	if (s->ncomps < 0)
		return -1;
	s->scores = calloc((size_t)(s->ncomps ? s->ncomps : 1), sizeof(double));
	if (!s->scores)
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	for (int i = 0; i < s->ncomps; i++) {
		const aoi_component *c = &s->comps[i];
		double sum = 0;
		long cnt = 0;
		for (int y = c->y1; y < c->y2; y++)
			for (int x = c->x1; x < c->x2; x++) {
				size_t p = (size_t)y * s->orig_w + x;
				if (s->mask.data[p]) {
					sum += s->maxp[p];
					cnt++;
				}
			}
		s->scores[i] = cnt ? sum / cnt : 0;
	}
	(void)inf;
	return 0;
}

/* DIR/ID.png, with '/' in the id made '_'. */
static void mask_path(const aoi_infer *inf, const aoi_infer_item *it, char *out,
		      size_t size)
{
	char id[256];
	const char *rid = aoi_record_str(it->rec, "id");
	if (rid)
		snprintf(id, sizeof(id), "%s", rid);
	else
		aoi_path_stem(id, sizeof(id), aoi_record_str(it->rec, "image"));
	for (char *p = id; *p; p++)
		if (*p == '/' || *p == '\\')
			*p = '_';
	snprintf(out, size, "%s/%s.png", inf->o.mask_dir, id);
}

static int finish_segmentation(const aoi_infer *inf, aoi_infer_item *it, slot *s,
			       aoi_error *err)
{
	if (aoi_infer_averaged(inf, s) && !inf->nmore) /* an ensemble averaged already */
		aoi_infer_average(inf, s);
	if (argmax_mask(inf, s, err) < 0 || components(inf, s, err) < 0)
		return -1;
	if (!inf->o.mask_dir)
		return 0;
	char path[4096];
	mask_path(inf, it, path, sizeof(path));
	return aoi_mask_save_png(path, &s->mask, err);
}

static const char *class_name(const aoi_infer *inf, int k)
{
	if (inf->kp == 2 && inf->k == 1)
		return inf->m.classes->n ? inf->m.classes->names[0] : "defect";
	return inf->m.classes->names[k - 1];
}

static json_t *segmentation_json(const aoi_infer *inf, const aoi_infer_item *it,
				 const slot *s)
{
	json_t *pred = json_object();
	if (inf->o.mask_dir) {
		char path[4096];
		mask_path(inf, it, path, sizeof(path));
		json_object_set_new(pred, "mask", json_string(path));
	}
	json_object_set_new(pred, "classes", aoi_classes_to_json(inf->m.classes));
	json_t *pixels = json_object();
	for (int c = 1; c < inf->kp; c++)
		json_object_set_new(pixels, class_name(inf, c), json_integer(s->pixels[c]));
	json_object_set_new(pred, "pixels", pixels);
	json_object_set_new(pred, "prob", json_real(round(s->mean_prob * 1e4) / 1e4));
	/* finer than prob: an image score, whose ties cost AUROC */
	json_object_set_new(pred, "defect_prob", json_real(round(s->defect_prob * 1e6) / 1e6));
	json_t *boxes = json_array();
	for (int i = 0; i < s->ncomps; i++) {
		const aoi_component *c = &s->comps[i];
		if (c->area < inf->o.min_area || c->label < 1 || c->x2 - c->x1 < inf->o.min_box_w ||
		    c->y2 - c->y1 < inf->o.min_box_h)
			continue;
		json_array_append_new(boxes, json_pack("[iiiisf]", c->x1, c->y1, c->x2, c->y2,
						       class_name(inf, c->label),
						       round(s->scores[i] * 1e4) / 1e4));
	}
	json_object_set_new(pred, "label",
			    json_string(json_array_size(boxes) ? "defective" : "good"));
	json_object_set_new(pred, "boxes", boxes);
	if (inf->decision) {
		json_object_set_new(pred, "score", json_real(round(s->score * 1e6) / 1e6));
		if (inf->m.threshold >= 0)
			json_object_set_new(pred, "threshold",
					    json_real(round(inf->m.threshold * 1e6) / 1e6));
	}
	return pred;
}

static json_t *vector_json(const aoi_infer *inf, const slot *s)
{
	json_t *pred = json_object();
	if (inf->m.task == AOI_TASK_KEYPOINTS) {
		json_t *kp = json_array();
		for (int i = 0; i < inf->m.npoints; i++)
			json_array_append_new(kp, json_pack("[ff]",
							    round(s->out[2 * i] * s->orig_w * 100) / 100,
							    round(s->out[2 * i + 1] * s->orig_h * 100) / 100));
		json_object_set_new(pred, "keypoints", kp);
		return pred;
	}
	int best = 0;
	json_t *probs = json_object();
	for (int c = 0; c < inf->k; c++) {
		if (s->out[c] > s->out[best])
			best = c;
		json_object_set_new(probs, inf->m.classes->names[c],
				    json_real(round(s->out[c] * 1e4) / 1e4));
	}
	json_object_set_new(pred, "label", json_string(inf->m.classes->names[best]));
	json_object_set_new(pred, "probs", probs);
	return pred;
}

int aoi_infer_prepare(aoi_infer *inf, aoi_infer_item *items, int n, aoi_error *err)
{
	if (aoi_infer_slots(inf, n, err) < 0)
		return -1;
	decode_items(inf, items, n);
	return make_jobs(inf, items, n, err);
}

void aoi_infer_finish(aoi_infer *inf, aoi_infer_item *items, int n)
{
	int seg = inf->m.task == AOI_TASK_SEGMENTATION;
	if (seg) {
#pragma omp parallel for schedule(dynamic)
		for (int i = 0; i < n; i++) {
			aoi_infer_item *it = &items[i];
			if (!it->failed && finish_segmentation(inf, it, &inf->slots[i], &it->err) < 0) {
				aoi_error_locate(&it->err, it->where, it->line);
				it->failed = 1;
			}
		}
	}
	for (int i = 0; i < n; i++) {
		if (items[i].failed)
			continue;
		json_t *pred = seg ? segmentation_json(inf, &items[i], &inf->slots[i])
				   : vector_json(inf, &inf->slots[i]);
		json_object_set_new(items[i].rec, "pred", pred);
	}
}

int aoi_infer_run(aoi_infer *inf, aoi_infer_item *items, int n, aoi_error *err)
{
	if (n <= 0)
		return 0;
	if (inf->anomaly)
		return aoi_infer_anomaly_run(inf, items, n, err);
	if (aoi_infer_prepare(inf, items, n, err) < 0 || aoi_infer_run_jobs(inf, err) < 0 ||
	    (inf->nmore && aoi_infer_ensemble(inf, items, n, err) < 0))
		return -1;
	aoi_infer_finish(inf, items, n);
	return 0;
}
