/* anomaly_core.c: the anomaly model (anomaly.h): taps, patch features, fitting
 * and scoring. The numeric pieces are in anomaly_math.c, the model file's
 * part in anomaly_model.c. */
#include "anomaly/anomaly_impl.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const method_names[AOI_ANOMALY_COUNT] = {"patchcore", "padim",
							       "segmentation"};

const char *aoi_anomaly_method_name(enum aoi_anomaly_method m)
{
	return m >= 0 && m < AOI_ANOMALY_COUNT ? method_names[m] : "?";
}

int aoi_anomaly_method_parse(const char *name)
{
	for (int i = 0; name && i < AOI_ANOMALY_COUNT; i++)
		if (!strcmp(name, method_names[i]))
			return i;
	return -1;
}

void aoi_anomaly_opts_init(aoi_anomaly_opts *o, enum aoi_anomaly_method m)
{
	memset(o, 0, sizeof *o);
	o->method = m;
	o->patch = 3;
	o->dims = m == AOI_ANOMALY_PADIM ? 100 : 0;
	o->coreset = 0.01;
	o->bank_max = 16384;
	o->pool_max = 262144;
	o->proj_dims = 128;
	o->sigma = 4;
	o->seed = 1;
}

/* ---- taps ---- */

static int tap_ok(const aoi_net *net, int node)
{
	int n = aoi_net_node_count(net);

	return node >= 1 && node < n && (node + 1 == n || aoi_net_cut_valid(net, node + 1));
}

/* The last node of block `name`, or -1. */
static int block_end(const aoi_net *net, const char *name)
{
	aoi_node_info ni;
	int found = -1;

	for (int i = 1; i < aoi_net_node_count(net); i++)
		if (aoi_net_node_info(net, i, &ni) == 0 && !strcmp(ni.block, name))
			found = i;
	return found;
}

static int add_tap(const aoi_net *net, int node, const char *what, aoi_anomaly_opts *o,
		   aoi_error *err)
{
	if (o->ntaps == AOI_ANOMALY_MAX_TAPS)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "at most %d layers",
				     AOI_ANOMALY_MAX_TAPS);
	if (!tap_ok(net, node))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "layer '%s' (node %d) cannot give features: take the end of a "
				     "block (aoi-bench --layers lists the nodes)", what, node);
	if (o->ntaps && node <= o->taps[o->ntaps - 1])
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "layers must be given in network order ('%s' is not after "
				     "the one before)", what);
	o->taps[o->ntaps++] = node;
	return 0;
}

int aoi_anomaly_parse_taps(const aoi_net *net, const char *spec, aoi_anomaly_opts *o,
			   aoi_error *err)
{
	char buf[512], *save = NULL;

	if (strlen(spec) >= sizeof buf)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "layer list too long");
	snprintf(buf, sizeof buf, "%s", spec);
	o->ntaps = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		long v = strtol(t, &end, 10);
		int node = *t && !*end ? (int)v : block_end(net, t);
		if (node < 0)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0,
					     "no block '%s' in the backbone", t);
		if (add_tap(net, node, t, o, err) < 0)
			return -1;
	}
	if (o->ntaps == 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "no layer given");
	return 0;
}

/* Stride of node i's output against the input height (0: not a grid). */
static int node_stride(const aoi_net *net, int i, int height)
{
	aoi_node_info ni;

	if (aoi_net_node_info(net, i, &ni) < 0 || ni.out.h < 1 || height % ni.out.h)
		return 0;
	return height / ni.out.h;
}

/* The end of the last block whose output has stride s and that is
 * followed by a block of a larger stride; -1 if none. */
static int stage_end(const aoi_net *net, int s, int height)
{
	aoi_node_info ni, next;
	int n = aoi_net_node_count(net);

	for (int i = 1; i + 1 < n; i++) {
		if (aoi_net_node_info(net, i, &ni) < 0 || aoi_net_node_info(net, i + 1, &next) < 0 ||
		    !strcmp(ni.block, next.block) || node_stride(net, i, height) != s)
			continue;
		int j = block_end(net, next.block);
		if (j > i && node_stride(net, j, height) > s && tap_ok(net, i))
			return i;
	}
	return -1;
}

int aoi_anomaly_default_taps(const aoi_net *net, int width, int height,
			     aoi_anomaly_opts *o, aoi_error *err)
{
	(void)width;
	o->ntaps = 0;
	for (int s = 8; s <= 16; s *= 2) {
		int t = stage_end(net, s, height);
		if (t >= 0 && add_tap(net, t, "default", o, err) < 0)
			return -1;
	}
	if (o->ntaps == 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "no block ends at stride 8 or 16 of the input: name the "
				     "layers");
	return 0;
}

int aoi_anomaly_bn_pass(aoi_net *net, const float *x, int t, aoi_error *err)
{
	aoi_rng rng;

	aoi_rng_seed(&rng, (uint64_t)t);
	aoi_net_set_bn_momentum(net, 1.0 / (t + 1));
	return aoi_net_forward(net, x, 1, &rng, err) ? 0 : -1;
}

/* ---- life ---- */

static int geometry(aoi_anomaly *a, aoi_error *err)
{
	size_t maxplane = 0;

	a->fc = 0;
	for (int k = 0; k < a->o.ntaps; k++) {
		aoi_node_info ni;
		aoi_net_node_info(a->net, a->o.taps[k], &ni);
		a->tap_c[k] = ni.out.c;
		a->tap_h[k] = ni.out.h;
		a->tap_w[k] = ni.out.w;
		a->fc += ni.out.c;
		if ((size_t)ni.out.h * ni.out.w > maxplane)
			maxplane = (size_t)ni.out.h * ni.out.w;
	}
	a->gw = a->tap_w[0];
	a->gh = a->tap_h[0];
	a->grid = a->gw * a->gh;
	a->dims = a->o.dims > 0 && a->o.dims < a->fc ? a->o.dims : a->fc;
	size_t b = (size_t)a->batch;
	a->full = malloc(sizeof(float) * b * a->fc * a->grid);
	a->tmp = malloc(sizeof(float) * b * a->fc * maxplane);
	a->emb = malloc(sizeof(float) * b * a->grid * a->dims);
	a->gscore = malloc(sizeof(float) * b * a->grid);
	if (!a->full || !a->tmp || !a->emb || !a->gscore)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory (features)");
	return 0;
}

/* PaDiM's random choice of dims of the fc channels, in order. */
static int choose_channels(aoi_anomaly *a, aoi_error *err)
{
	int *perm = malloc(sizeof(int) * a->fc);
	aoi_rng rng;

	a->chan = malloc(sizeof(int) * a->dims);
	if (!perm || !a->chan) {
		free(perm);
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	}
	for (int i = 0; i < a->fc; i++)
		perm[i] = i;
	aoi_rng_seed(&rng, a->o.seed ^ 0x6368616eULL);
	aoi_rng_shuffle(&rng, perm, (size_t)a->fc, sizeof(int));
	for (int i = 0; i < a->dims; i++) /* the first dims of the shuffle, sorted */
		a->chan[i] = perm[i];
	free(perm);
	for (int i = 1; i < a->dims; i++)
		for (int j = i; j > 0 && a->chan[j - 1] > a->chan[j]; j--) {
			int t = a->chan[j];
			a->chan[j] = a->chan[j - 1];
			a->chan[j - 1] = t;
		}
	return 0;
}

static int check_opts(const aoi_anomaly_opts *o, int batch, aoi_error *err)
{
	if (o->method < 0 || o->method >= AOI_ANOMALY_COUNT || batch < 1)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "bad anomaly options");
	if (o->patch < 1 || o->patch > 15 || o->sigma < 0 || o->sigma > 20)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "patch %d (1 to 15), sigma %g (0 to 20)", o->patch, o->sigma);
	if (!(o->coreset > 0 && o->coreset <= 1) || o->bank_max < 1 || o->pool_max < 1)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "coreset %g (0 to 1], bank %ld, pool %ld", o->coreset,
				     o->bank_max, o->pool_max);
	return 0;
}

aoi_anomaly *aoi_anomaly_new(aoi_net *net, int width, int height, int batch,
			     const aoi_anomaly_opts *o, aoi_error *err)
{
	aoi_anomaly *a;

	if (check_opts(o, batch, err) < 0)
		return NULL;
	if (!(a = calloc(1, sizeof *a))) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		return NULL;
	}
	a->o = *o;
	a->net = net;
	a->width = width;
	a->height = height;
	a->batch = batch;
	a->threshold = -1;
	a->scale = 1;
	aoi_rng_seed(&a->rng, o->seed ^ 0x706f6f6cULL);
	size_t plane = (size_t)batch * width * height;
	a->maps = malloc(sizeof(float) * plane);
	a->blur_tmp = malloc(sizeof(float) * plane);
	if (!a->maps || !a->blur_tmp)
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory (maps)");
	else if (aoi_net_plan(net, batch, height, width, err) == 0 &&
		 (o->method == AOI_ANOMALY_SEGMENTATION ||
		  ((a->o.ntaps || aoi_anomaly_default_taps(net, width, height, &a->o, err) == 0) &&
		   geometry(a, err) == 0 &&
		   (o->method != AOI_ANOMALY_PADIM || choose_channels(a, err) == 0))))
		return a;
	aoi_anomaly_free(a);
	return NULL;
}

void aoi_anomaly_free(aoi_anomaly *a)
{
	if (!a)
		return;
	if (a->gauss)
		for (int p = 0; p < a->grid; p++)
			aoi_gauss_release(&a->gauss[p]);
	free(a->gauss);
	free(a->chan);
	free(a->full);
	free(a->tmp);
	free(a->emb);
	free(a->gscore);
	free(a->maps);
	free(a->blur_tmp);
	free(a->dots);
	free(a->pool);
	free(a->bank);
	free(a->bank_sq);
	free(a->mean);
	free(a->icov);
	free(a);
}

/* ---- features ---- */

/* Mean over the p x p neighbourhood of each pixel (the pixels inside the
 * plane only). */
static void aggregate(const float *src, int w, int h, int p, float *dst)
{
	int r = p / 2;

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			float s = 0;
			int n = 0;
			for (int yy = y - r; yy <= y + r; yy++)
				for (int xx = x - r; xx <= x + r; xx++)
					if (yy >= 0 && yy < h && xx >= 0 && xx < w) {
						s += src[(size_t)yy * w + xx];
						n++;
					}
			dst[(size_t)y * w + x] = s / n;
		}
}

/* Tap k's output (batch x c x h x w) into channels off.. of a->full. */
static void stack_tap(aoi_anomaly *a, int k, const float *y, int n, int off)
{
	int c = a->tap_c[k], h = a->tap_h[k], w = a->tap_w[k];
	size_t plane = (size_t)h * w;

#pragma omp parallel for schedule(static)
	for (int bc = 0; bc < n * c; bc++) {
		int b = bc / c, ch = bc % c;
		float *dst = a->full + ((size_t)b * a->fc + off + ch) * a->grid;
		float *tmp = a->tmp + ((size_t)b * a->fc + off + ch) * plane;
		if (h == a->gh && w == a->gw) {
			aggregate(y + (size_t)bc * plane, w, h, a->o.patch, dst);
			continue;
		}
		aggregate(y + (size_t)bc * plane, w, h, a->o.patch, tmp);
		aoi_anomaly_resize(tmp, w, h, dst, a->gw, a->gh);
	}
}

/* a->full into one dims-long feature per position (a->emb): PaDiM's
 * chosen channels, else averages of runs of adjacent channels. */
static void reduce(aoi_anomaly *a, int n)
{
	int fc = a->fc, d = a->dims, g = a->grid;

#pragma omp parallel for schedule(static)
	for (int bp = 0; bp < n * g; bp++) {
		int b = bp / g, p = bp % g;
		const float *f = a->full + (size_t)b * fc * g + p;
		float *e = a->emb + (size_t)bp * d;
		for (int j = 0; j < d; j++) {
			if (a->chan) {
				e[j] = f[(size_t)a->chan[j] * g];
				continue;
			}
			int c0 = j * fc / d, c1 = ((j + 1) * fc + d - 1) / d;
			float s = 0;
			for (int ch = c0; ch < c1; ch++)
				s += f[(size_t)ch * g];
			e[j] = s / (c1 - c0);
		}
	}
}

/* Run the backbone up to the last tap, reading each tap on the way. */
static int features(aoi_anomaly *a, const float *x, int n, aoi_error *err)
{
	int first = 0, off = 0;

	for (int k = 0; k < a->o.ntaps; k++) {
		int end = a->o.taps[k] + 1;
		if (!aoi_net_forward_range(a->net, x, first, end, err))
			return -1;
		stack_tap(a, k, aoi_net_node_output(a->net, a->o.taps[k]), n, off);
		off += a->tap_c[k];
		first = end;
	}
	reduce(a, n);
	return 0;
}

/* ---- fitting ---- */

/* Keep a uniform sample of all the patches offered (reservoir sampling). */
static int pool_add(aoi_anomaly *a, const float *e, aoi_error *err)
{
	size_t d = (size_t)a->dims;

	a->seen++;
	if (a->pool_n == a->pool_cap && a->pool_cap < a->o.pool_max) {
		long cap = a->pool_cap ? 2 * a->pool_cap : 4096;
		cap = cap > a->o.pool_max ? a->o.pool_max : cap;
		float *p = realloc(a->pool, sizeof(float) * d * (size_t)cap);
		if (!p)
			return aoi_error_set(err, AOI_ENOMEM, NULL, 0,
					     "out of memory (%ld patches of %zu floats)", cap, d);
		a->pool = p;
		a->pool_cap = cap;
	}
	long slot = a->pool_n;
	if (a->pool_n == a->pool_cap) {
		slot = (long)(aoi_rng_next(&a->rng) % (uint64_t)a->seen);
		if (slot >= a->pool_cap)
			return 0;
	} else {
		a->pool_n++;
	}
	memcpy(a->pool + (size_t)slot * d, e, sizeof(float) * d);
	return 0;
}

static int gauss_start(aoi_anomaly *a, aoi_error *err)
{
	if (!(a->gauss = calloc((size_t)a->grid, sizeof *a->gauss)))
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	for (int p = 0; p < a->grid; p++)
		if (aoi_gauss_init(&a->gauss[p], a->dims, err) < 0)
			return -1;
	return 0;
}

int aoi_anomaly_fit_batch(aoi_anomaly *a, const float *x, int n, aoi_error *err)
{
	if (a->fitted || a->o.method == AOI_ANOMALY_SEGMENTATION)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "nothing to fit");
	if (n < 1 || n > a->batch || features(a, x, n, err) < 0)
		return n < 1 || n > a->batch ? aoi_error_set(err, AOI_EINVAL, NULL, 0, "bad batch")
					     : -1;
	if (a->o.method == AOI_ANOMALY_PATCHCORE) {
		for (long i = 0; i < (long)n * a->grid; i++)
			if (pool_add(a, a->emb + (size_t)i * a->dims, err) < 0)
				return -1;
		return 0;
	}
	if (!a->gauss && gauss_start(a, err) < 0)
		return -1;
#pragma omp parallel for schedule(dynamic, 8)
	for (int p = 0; p < a->grid; p++)
		for (int b = 0; b < n; b++)
			aoi_gauss_add(&a->gauss[p], a->emb + ((size_t)b * a->grid + p) * a->dims, 1);
	a->seen += (long)n * a->grid;
	return 0;
}

static int fit_patchcore(aoi_anomaly *a, aoi_error *err)
{
	long k = (long)ceil(a->o.coreset * a->pool_n);
	size_t d = (size_t)a->dims, *idx;

	k = k < 1 ? 1 : k > a->o.bank_max ? a->o.bank_max : k;
	k = k > a->pool_n ? a->pool_n : k;
	if (!(idx = malloc(sizeof(size_t) * (size_t)k)) ||
	    !(a->bank = malloc(sizeof(float) * d * (size_t)k))) {
		free(idx);
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory (bank of %ld)", k);
	}
	if (k == a->pool_n) {
		for (long i = 0; i < k; i++)
			idx[i] = (size_t)i;
	} else if (aoi_anomaly_coreset(a->pool, (size_t)a->pool_n, a->dims, (size_t)k,
				       a->o.proj_dims, a->o.seed, idx, err) < 0) {
		free(idx);
		return -1;
	}
	for (long i = 0; i < k; i++)
		memcpy(a->bank + (size_t)i * d, a->pool + idx[i] * d, sizeof(float) * d);
	free(idx);
	a->nbank = k;
	free(a->pool);
	a->pool = NULL;
	a->pool_n = a->pool_cap = 0;
	return 0;
}

static int fit_padim(aoi_anomaly *a, aoi_error *err)
{
	int failed = 0, d = a->dims;
	aoi_error first;

	aoi_error_clear(&first);
#pragma omp parallel for schedule(dynamic, 4)
	for (int p = 0; p < a->grid; p++) {
		aoi_error e;
		if (aoi_gauss_finish(&a->gauss[p], 0.01, a->mean + (size_t)p * d,
				     a->icov + (size_t)p * d * d, &e) < 0) {
#pragma omp critical
			if (!failed++)
				first = e;
		}
	}
	if (failed) {
		*err = first;
		return -1;
	}
	for (int p = 0; p < a->grid; p++)
		aoi_gauss_release(&a->gauss[p]);
	free(a->gauss);
	a->gauss = NULL;
	return 0;
}

/* The buffers of a fitted model (bank squares, dots, Gaussians). */
int aoi_anomaly_alloc_fitted(aoi_anomaly *a, aoi_error *err)
{
	size_t d = (size_t)a->dims, g = (size_t)a->grid;

	if (a->o.method == AOI_ANOMALY_PADIM && !a->mean) {
		a->mean = malloc(sizeof(float) * g * d);
		a->icov = malloc(sizeof(float) * g * d * d);
		if (!a->mean || !a->icov)
			return aoi_error_set(err, AOI_ENOMEM, NULL, 0,
					     "out of memory (%zu Gaussians of %zu dims)", g, d);
	}
	if (a->o.method == AOI_ANOMALY_PATCHCORE && a->bank) {
		a->bank_sq = malloc(sizeof(float) * (size_t)a->nbank);
		a->dots = malloc(sizeof(float) * (size_t)a->batch * g * AOI_ANOMALY_DOT_CHUNK);
		if (!a->bank_sq || !a->dots)
			return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		for (long i = 0; i < a->nbank; i++) {
			const float *r = a->bank + (size_t)i * d;
			float s = 0;
			for (size_t k = 0; k < d; k++)
				s += r[k] * r[k];
			a->bank_sq[i] = s;
		}
	}
	return 0;
}

int aoi_anomaly_fit_finish(aoi_anomaly *a, aoi_error *err)
{
	if (a->fitted || a->o.method == AOI_ANOMALY_SEGMENTATION) {
		a->fitted = 1;
		return 0;
	}
	if (a->seen == 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "no image to fit on");
	int rc = a->o.method == AOI_ANOMALY_PATCHCORE
			 ? fit_patchcore(a, err)
			 : aoi_anomaly_alloc_fitted(a, err) < 0 ? -1 : fit_padim(a, err);
	if (rc < 0 || aoi_anomaly_alloc_fitted(a, err) < 0)
		return -1;
	a->fitted = 1;
	return 0;
}

/* ---- scoring ---- */

/* Each of the m = n x grid features' distance to its nearest bank row,
 * bank chunk by chunk: |q|^2 + |b|^2 - 2 q.b through sgemm. */
static void score_patchcore(aoi_anomaly *a, int n)
{
	int m = n * a->grid, d = a->dims;

	for (int i = 0; i < m; i++)
		a->gscore[i] = FLT_MAX;
	for (long j0 = 0; j0 < a->nbank; j0 += AOI_ANOMALY_DOT_CHUNK) {
		int nb = (int)(a->nbank - j0 < AOI_ANOMALY_DOT_CHUNK ? a->nbank - j0
								      : AOI_ANOMALY_DOT_CHUNK);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, nb, d, -2.0f, a->emb, d,
			    a->bank + (size_t)j0 * d, d, 0.0f, a->dots, nb);
#pragma omp parallel for schedule(static)
		for (int i = 0; i < m; i++) {
			const float *row = a->dots + (size_t)i * nb, *bsq = a->bank_sq + j0;
			float best = a->gscore[i];
			for (int j = 0; j < nb; j++)
				best = fminf(best, row[j] + bsq[j]);
			a->gscore[i] = best;
		}
	}
#pragma omp parallel for schedule(static)
	for (int i = 0; i < m; i++) {
		const float *q = a->emb + (size_t)i * d;
		float s = 0;
		for (int k = 0; k < d; k++)
			s += q[k] * q[k];
		s += a->gscore[i];
		a->gscore[i] = s > 0 ? sqrtf(s) : 0.0f;
	}
}

static void score_padim(aoi_anomaly *a, int n)
{
	int d = a->dims, g = a->grid;

#pragma omp parallel
	{
		float diff[d];
#pragma omp for schedule(static)
		for (int i = 0; i < n * g; i++) {
			int p = i % g;
			a->gscore[i] = aoi_gauss_mahalanobis(a->emb + (size_t)i * d, 1,
							     a->mean + (size_t)p * d,
							     a->icov + (size_t)p * d * d, d, diff);
		}
	}
}

/* A segmentation net's output: one minus the background's probability (a
 * sigmoid for a single channel), at the input size. */
static int score_segmentation(aoi_anomaly *a, const float *x, int n, aoi_error *err)
{
	const float *out = aoi_net_forward(a->net, x, 0, NULL, err);
	aoi_shape s = aoi_net_output_shape(a->net);
	size_t plane = (size_t)s.h * s.w;

	if (!out)
		return -1;
#pragma omp parallel for schedule(static)
	for (int b = 0; b < n; b++) {
		const float *o = out + (size_t)b * s.c * plane;
		float *dst = s.h == a->height && s.w == a->width
				     ? a->maps + (size_t)b * a->width * a->height
				     : a->blur_tmp + (size_t)b * a->width * a->height;
		for (size_t i = 0; i < plane; i++) {
			if (s.c == 1) {
				dst[i] = 1.0f / (1.0f + expf(-o[i]));
				continue;
			}
			float z = 0;
			for (int c = 1; c < s.c; c++)
				z += expf(o[c * plane + i] - o[i]);
			dst[i] = z / (1.0f + z);
		}
		if (dst != a->maps + (size_t)b * a->width * a->height)
			aoi_anomaly_resize(dst, s.w, s.h, a->maps + (size_t)b * a->width * a->height,
					   a->width, a->height);
	}
	return 0;
}

const float *aoi_anomaly_score(aoi_anomaly *a, const float *x, int n, float *scores,
			       aoi_error *err)
{
	size_t plane = (size_t)a->width * a->height;

	if (!a->fitted || n < 1 || n > a->batch) {
		aoi_error_set(err, AOI_EINVAL, NULL, 0, a->fitted ? "bad batch" : "not fitted");
		return NULL;
	}
	if (a->o.method == AOI_ANOMALY_SEGMENTATION) {
		if (score_segmentation(a, x, n, err) < 0)
			return NULL;
	} else {
		if (features(a, x, n, err) < 0)
			return NULL;
		if (a->o.method == AOI_ANOMALY_PATCHCORE)
			score_patchcore(a, n);
		else
			score_padim(a, n);
#pragma omp parallel for schedule(static)
		for (int b = 0; b < n; b++)
			aoi_anomaly_resize(a->gscore + (size_t)b * a->grid, a->gw, a->gh,
					   a->maps + b * plane, a->width, a->height);
	}
#pragma omp parallel for schedule(static)
	for (int b = 0; b < n; b++) {
		float *m = a->maps + b * plane, best = 0;
		aoi_anomaly_blur(m, a->width, a->height, a->o.sigma, a->blur_tmp + b * plane);
		for (size_t i = 0; i < plane; i++)
			best = fmaxf(best, m[i]);
		scores[b] = best;
	}
	return a->maps;
}

/* ---- small accessors ---- */

void aoi_anomaly_set_threshold(aoi_anomaly *a, double threshold, double scale)
{
	a->threshold = threshold;
	a->scale = scale > 0 ? scale : 1;
}

double aoi_anomaly_threshold(const aoi_anomaly *a)
{
	return a->threshold;
}

double aoi_anomaly_scale(const aoi_anomaly *a)
{
	return a->scale;
}

enum aoi_anomaly_method aoi_anomaly_method_of(const aoi_anomaly *a)
{
	return a->o.method;
}

void aoi_anomaly_get_stats(const aoi_anomaly *a, aoi_anomaly_stats *st)
{
	size_t d = (size_t)a->dims, g = (size_t)a->grid;

	memset(st, 0, sizeof *st);
	st->patches_seen = a->seen;
	st->pool = a->pool_n;
	st->dims = a->dims;
	st->grid_w = a->gw;
	st->grid_h = a->gh;
	if (a->o.method == AOI_ANOMALY_PATCHCORE) {
		st->bank = a->nbank;
		st->bytes = sizeof(float) * d * (size_t)a->nbank;
	} else if (a->o.method == AOI_ANOMALY_PADIM) {
		st->bank = (long)g;
		st->bytes = sizeof(float) * g * (d + d * d);
	}
}
