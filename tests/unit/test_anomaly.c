/* test_anomaly.c: learning from good images (lib/anomaly): greedy coreset
 * selection against a brute-force reference; PaDiM's Gaussian against
 * double-precision sums; a white disc planted in a synthetic texture
 * scores above new good textures and its map is higher on the disc, for
 * PatchCore and PaDiM over a random-weight backbone (batch norms set by
 * aoi_anomaly_bn_pass); an anomaly model survives save and load (same
 * scores and maps, its threshold the model's one), refuses truncation,
 * and pipeline stages and ensembles refuse it. */
#include "check.h"

#include <stdlib.h>
#include <unistd.h>

#include "anomaly/anomaly.h"
#include "base/fileio.h"
#include "base/rng.h"
#include "data/mask.h"
#include "infer/infer.h"
#include "infer/infer_stage.h"
#include "model/arch.h"
#include "model/model.h"
#include "synth/synth.h"

/* ---- coreset ---- */

/* The greedy k-center choice in double, as simply as it can be said. */
static void coreset_reference(const float *x, int n, int d, int k, int first, int *out)
{
	double mind[64];
	int taken[64] = {0}, c = first;

	for (int i = 0; i < n; i++)
		mind[i] = HUGE_VAL;
	for (int t = 0; t < k; t++) {
		out[t] = c;
		taken[c] = 1;
		int best = -1;
		for (int i = 0; i < n; i++) {
			double s = 0;
			for (int j = 0; j < d; j++)
				s += ((double)x[i * d + j] - x[c * d + j]) * ((double)x[i * d + j] - x[c * d + j]);
			if (s < mind[i])
				mind[i] = s;
			if (!taken[i] && (best < 0 || mind[i] > mind[best]))
				best = i;
		}
		c = best;
	}
}

/* The k-center radius of a set: the largest distance of a row to it. */
static double radius(const float *x, int n, int d, const int *set, int k)
{
	double worst = 0;

	for (int i = 0; i < n; i++) {
		double best = HUGE_VAL;
		for (int t = 0; t < k; t++) {
			double s = 0;
			for (int j = 0; j < d; j++)
				s += ((double)x[i * d + j] - x[set[t] * d + j]) *
				     ((double)x[i * d + j] - x[set[t] * d + j]);
			best = fmin(best, s);
		}
		worst = fmax(worst, sqrt(best));
	}
	return worst;
}

static void test_coreset(void)
{
	enum { N = 40, D = 5, K = 8 };
	float x[N * D];
	size_t got[N];
	int want[N];
	aoi_rng rng;
	aoi_error err;

	aoi_rng_seed(&rng, 7);
	for (int i = 0; i < N * D; i++)
		x[i] = (float)aoi_rng_normal(&rng);
	CHECK(aoi_anomaly_coreset(x, N, D, K, 0, 3, got, &err) == 0);
	coreset_reference(x, N, D, K, (int)got[0], want);
	for (int t = 0; t < K; t++)
		CHECK_MSG((int)got[t] == want[t], "row %d: %zu, reference %d", t, got[t], want[t]);

	/* greedy is within twice the best radius: every 3-subset of 12 rows */
	int set[3], best[3] = {0, 1, 2};
	double opt = HUGE_VAL;
	for (set[0] = 0; set[0] < 12; set[0]++)
		for (set[1] = set[0] + 1; set[1] < 12; set[1]++)
			for (set[2] = set[1] + 1; set[2] < 12; set[2]++) {
				double r = radius(x, 12, D, set, 3);
				if (r < opt) {
					opt = r;
					memcpy(best, set, sizeof set);
				}
			}
	CHECK(aoi_anomaly_coreset(x, 12, D, 3, 0, 5, got, &err) == 0);
	int g[3] = {(int)got[0], (int)got[1], (int)got[2]};
	CHECK_MSG(radius(x, 12, D, g, 3) <= 2 * opt + 1e-9, "greedy %g, best %g",
		  radius(x, 12, D, g, 3), opt);

	/* a projection still gives k distinct rows; k = n takes all */
	CHECK(aoi_anomaly_coreset(x, N, D, N, 3, 9, got, &err) == 0);
	int seen[N] = {0}, distinct = 0;
	for (int t = 0; t < N; t++)
		distinct += !seen[got[t]]++;
	CHECK_INT(distinct, N);
	CHECK(aoi_anomaly_coreset(x, N, D, N + 1, 0, 9, got, &err) < 0);
}

/* ---- Gaussians ---- */

/* In place: the inverse of the d x d matrix a by Gauss-Jordan (no pivot
 * needed for a covariance plus eps I). */
static void invert(double *a, int d)
{
	double inv[16 * 16];

	for (int i = 0; i < d * d; i++)
		inv[i] = i / d == i % d;
	for (int c = 0; c < d; c++) {
		double p = a[c * d + c];
		for (int j = 0; j < d; j++) {
			a[c * d + j] /= p;
			inv[c * d + j] /= p;
		}
		for (int r = 0; r < d; r++) {
			if (r == c)
				continue;
			double f = a[r * d + c];
			for (int j = 0; j < d; j++) {
				a[r * d + j] -= f * a[c * d + j];
				inv[r * d + j] -= f * inv[c * d + j];
			}
		}
	}
	memcpy(a, inv, sizeof(double) * d * d);
}

static void test_gauss(void)
{
	enum { N = 50, D = 6 };
	float x[N * D], mean[D], icov[D * D], diff[D];
	double m[D] = {0}, c[D * D] = {0};
	aoi_gauss g;
	aoi_rng rng;
	aoi_error err;

	aoi_rng_seed(&rng, 11);
	for (int i = 0; i < N; i++) { /* correlated, offset, of different scales */
		double z = aoi_rng_normal(&rng);
		for (int j = 0; j < D; j++)
			x[i * D + j] = (float)(3 + j + (j + 1) * 0.5 * aoi_rng_normal(&rng) + z);
	}
	CHECK(aoi_gauss_init(&g, D, &err) == 0);
	for (int i = 0; i < N; i++)
		aoi_gauss_add(&g, x + i * D, 1);
	CHECK(aoi_gauss_finish(&g, 0.01, mean, icov, &err) == 0);
	for (int i = 0; i < N; i++)
		for (int j = 0; j < D; j++)
			m[j] += x[i * D + j] / (double)N;
	for (int i = 0; i < N; i++)
		for (int a = 0; a < D; a++)
			for (int b = 0; b < D; b++)
				c[a * D + b] += (x[i * D + a] - m[a]) * (x[i * D + b] - m[b]) / (N - 1);
	for (int a = 0; a < D; a++)
		c[a * D + a] += 0.01;
	invert(c, D);
	for (int j = 0; j < D; j++)
		CHECK_NEAR(mean[j], m[j], 1e-5 * fabs(m[j]));
	for (int i = 0; i < D * D; i++)
		CHECK_NEAR(icov[i], c[i], 1e-4 * (fabs(c[i]) + 0.1));
	/* the Mahalanobis distance of a new point */
	float p[D];
	double dd[D], s = 0;
	for (int j = 0; j < D; j++)
		dd[j] = (p[j] = (float)(2.5 + 1.1 * j)) - m[j];
	for (int a = 0; a < D; a++)
		for (int b = 0; b < D; b++)
			s += dd[a] * c[a * D + b] * dd[b];
	CHECK_NEAR(aoi_gauss_mahalanobis(p, 1, mean, icov, D, diff), sqrt(s), 1e-4 * sqrt(s));
	aoi_gauss_release(&g);
}

/* ---- a planted anomaly ---- */

enum { W = 64, H = 64, BATCH = 4, NGOOD = 24 };

static aoi_net *backbone(aoi_model_info *info)
{
	aoi_arch_opts o = {0};
	aoi_error err;
	aoi_rng rng;

	o.in_channels = 1;
	o.input_w = W;
	o.input_h = H;
	aoi_model_info_init(info);
	CHECK(aoi_model_info_set_arch(info, "mbv2-cls-s", &o, &err) == 0);
	aoi_net *net = aoi_arch_build("mbv2-cls-s", &info->opts, &err);
	CHECK_MSG(net != NULL, "%s", err.msg);
	aoi_rng_seed(&rng, 1);
	aoi_net_init_params(net, &rng);
	info->mean[0] = 0.5f;
	info->std[0] = 0.25f;
	return net;
}

/* Texture image i (class 0 of a fixed look) as normalised floats; with a
 * planted disc when mask is given (its pixels marked there). */
static void texture(int i, float *x, aoi_mask *mask)
{
	aoi_image img = {0};
	aoi_error err;
	aoi_rng rng;

	aoi_rng_seed(&rng, 100 + (uint64_t)i);
	CHECK(aoi_synth_texture_draw(42, 0, &rng, W, H, &img, &err) == 0);
	if (mask) {
		/* a white disc of radius 10 (a painted blob is too faint on a
		 * 64x64 texture for a backbone with random weights) */
		CHECK(aoi_mask_alloc(mask, W, H, &err) == 0);
		for (int y = 0; y < H; y++)
			for (int x0 = 0; x0 < W; x0++)
				if ((x0 - 40) * (x0 - 40) + (y - 24) * (y - 24) <= 100) {
					img.data[y * W + x0] = 255;
					mask->data[y * W + x0] = 1;
				}
	}
	for (int k = 0; k < W * H; k++)
		x[k] = (img.data[k] / 255.0f - 0.5f) / 0.25f;
	aoi_image_release(&img);
}

static aoi_anomaly *fitted(aoi_net *net, enum aoi_anomaly_method m)
{
	aoi_anomaly_opts o;
	aoi_error err;
	float x[BATCH * W * H];

	aoi_anomaly_opts_init(&o, m);
	o.coreset = 0.25;
	o.sigma = 2;
	o.dims = m == AOI_ANOMALY_PADIM ? 24 : 0;
	aoi_anomaly *a = aoi_anomaly_new(net, W, H, BATCH, &o, &err);
	CHECK_MSG(a != NULL, "%s", err.msg);
	if (!a)
		return NULL;
	for (int i = 0; i < NGOOD; i += BATCH) {
		for (int r = 0; r < BATCH; r++)
			texture(i + r, x + r * W * H, NULL);
		CHECK(aoi_anomaly_fit_batch(a, x, BATCH, &err) == 0);
	}
	CHECK_MSG(aoi_anomaly_fit_finish(a, &err) == 0, "%s", err.msg);
	return a;
}

/* Rows 0-2: new good textures; row 3: a planted disc. Fills scores and checks
 * that the disc scores highest and that its map is higher on the disc. */
static void check_finds_disc(aoi_anomaly *a, float *scores, float *maps_out)
{
	float x[BATCH * W * H];
	aoi_mask mask = {0};
	aoi_error err;

	for (int r = 0; r < 3; r++)
		texture(1000 + r, x + r * W * H, NULL);
	texture(2000, x + 3 * W * H, &mask);
	const float *maps = aoi_anomaly_score(a, x, BATCH, scores, &err);
	CHECK_MSG(maps != NULL, "%s", err.msg);
	if (!maps)
		return;
	for (int r = 0; r < 3; r++)
		CHECK_MSG(scores[3] > scores[r], "disc %g, good %d %g", scores[3], r, scores[r]);
	/* the mean map value on the disc is above the mean off it: only by a
	 * little with random weights, whose patch features of a new texture
	 * are all far from the bank (about 1.08 patchcore, 1.4 padim) */
	double on = 0, off = 0;
	long non = 0;
	for (int k = 0; k < W * H; k++) {
		if (mask.data[k])
			on += maps[3 * W * H + k], non++;
		else
			off += maps[3 * W * H + k];
	}
	CHECK(non > 0);
	if (non > 0)
		CHECK_MSG(on / non > 1.05 * off / (W * H - non), "on %g off %g", on / non,
			  off / (W * H - non));
	if (maps_out)
		memcpy(maps_out, maps, sizeof(float) * BATCH * W * H);
	aoi_mask_release(&mask);
}

/* ---- the model file ---- */

static void check_model_file(aoi_net *net, aoi_model_info *info, aoi_anomaly *a,
			     const float *scores, const float *maps)
{
	char dir[] = "/tmp/test_anomaly_XXXXXX", path[128], cut[160];
	aoi_error err;
	aoi_model_info back;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/pc.aoim", dir);
	aoi_anomaly_set_threshold(a, 1.5, 4.0);
	CHECK_MSG(aoi_anomaly_to_model(a, info, &err) == 0, "%s", err.msg);
	CHECK_MSG(aoi_model_save(path, info, net, &err) == 0, "%s", err.msg);
	aoi_net *net2 = aoi_model_load(path, &back, &err);
	CHECK_MSG(net2 != NULL, "%s", err.msg);
	if (!net2)
		return;
	CHECK(back.anomaly != NULL && back.nextra == info->nextra);
	/* the model's one threshold, not a copy inside the anomaly object */
	CHECK_NEAR(back.threshold, 1.5, 0);
	CHECK(json_object_get(back.anomaly, "threshold") == NULL);
	CHECK(aoi_net_fuse_for_inference(net2, &err) == 0);
	aoi_anomaly *b = aoi_anomaly_from_model(net2, &back, BATCH, path, &err);
	CHECK_MSG(b != NULL, "%s", err.msg);
	if (b) {
		float s2[BATCH], m2[BATCH * W * H];
		CHECK_NEAR(aoi_anomaly_threshold(b), 1.5, 0);
		CHECK_NEAR(aoi_anomaly_scale(b), 4.0, 0);
		check_finds_disc(b, s2, m2);
		for (int r = 0; r < BATCH; r++) /* same weights, same features */
			CHECK_NEAR(s2[r], scores[r], 1e-4 * fabs(scores[r]));
		double worst = 0;
		for (int k = 0; k < BATCH * W * H; k++)
			worst = fmax(worst, fabs(m2[k] - maps[k]));
		CHECK_MSG(worst <= 1e-3, "maps differ by %g", worst);
	}

	/* pipeline stages refuse it with a message naming the method */
	aoi_infer_model m = {0};
	aoi_infer_opts io;
	aoi_classes none;
	aoi_classes_init(&none);
	aoi_infer_opts_init(&io);
	m.task = back.task;
	m.width = W;
	m.height = H;
	m.gray = 1;
	m.norm.channels = 1;
	m.norm.mean[0] = 0.5f;
	m.norm.std[0] = 0.25f;
	m.classes = &none;
	m.info = &back;
	m.name = path;
	aoi_anomaly_free(b);
	aoi_infer *inf = aoi_infer_new(net2, &m, &io, &err);
	CHECK_MSG(inf != NULL, "%s", err.msg);
	if (inf) {
		CHECK(aoi_infer_stage_new(inf, 0, 10, &err) == NULL);
		CHECK_MSG(strstr(err.msg, "anomaly model") != NULL, "%s", err.msg);
		/* nor does an ensemble take it: anomaly scores do not average */
		CHECK(aoi_infer_add(inf, net2, &m, &io, &err) < 0);
		CHECK_MSG(strstr(err.msg, "cannot be part of an ensemble") && !strcmp(err.where, path),
			  "%s", err.msg);
		CHECK_INT(aoi_infer_models(inf), 1);
	}
	aoi_infer_free(inf);
	aoi_classes_release(&none);
	aoi_net_free(net2);
	aoi_model_info_release(&back);

	/* truncated anywhere in the bank: refused, naming the file */
	unsigned char *buf;
	size_t len;
	CHECK(aoi_file_read(path, &buf, &len, &err) == 0);
	snprintf(cut, sizeof cut, "%s/cut.aoim", dir);
	FILE *fp = fopen(cut, "wb");
	fwrite(buf, 1, len - 100, fp);
	fclose(fp);
	CHECK(aoi_model_load(cut, &back, &err) == NULL);
	CHECK_MSG(strstr(err.msg, "truncated") && !strcmp(err.where, cut), "%s", err.msg);
	free(buf);
	unlink(cut);
	unlink(path);
	rmdir(dir);
}

static void test_planted(void)
{
	aoi_model_info info;
	aoi_net *net = backbone(&info);
	aoi_error err;
	float scores[BATCH], maps[BATCH * W * H];

	if (!net)
		return;
	float x[BATCH * W * H];
	CHECK(aoi_net_plan(net, BATCH, H, W, &err) == 0);
	for (int i = 0; i < NGOOD; i += BATCH) {
		for (int r = 0; r < BATCH; r++)
			texture(i + r, x + r * W * H, NULL);
		CHECK_MSG(aoi_anomaly_bn_pass(net, x, i / BATCH, &err) == 0, "%s", err.msg);
	}
	CHECK(aoi_net_fuse_for_inference(net, &err) == 0);
	aoi_anomaly *a = fitted(net, AOI_ANOMALY_PATCHCORE);
	if (a) {
		aoi_anomaly_stats st;
		aoi_anomaly_get_stats(a, &st);
		CHECK_INT(st.patches_seen, (long)NGOOD * st.grid_w * st.grid_h);
		CHECK(st.bank > 0 && st.bank <= st.patches_seen / 4 + 1);
		check_finds_disc(a, scores, maps);
		check_model_file(net, &info, a, scores, maps);
	}
	aoi_anomaly_free(a);
	a = fitted(net, AOI_ANOMALY_PADIM);
	if (a) {
		aoi_anomaly_stats st;
		aoi_anomaly_get_stats(a, &st);
		CHECK_INT(st.dims, 24);
		check_finds_disc(a, scores, NULL);
	}
	aoi_anomaly_free(a);
	aoi_net_free(net);
	aoi_model_info_release(&info);
}

static void test_small_pieces(void)
{
	float s[5] = {3, 1, 5, 2, 4}, map[16], tmp[16], out[64];

	CHECK_NEAR(aoi_anomaly_frr_threshold(s, 5, 0), 5, 0);
	CHECK_NEAR(aoi_anomaly_frr_threshold(s, 5, 0.2), 4, 0);
	CHECK_NEAR(aoi_anomaly_frr_threshold(s, 5, 0.3), 4, 0);
	for (int i = 0; i < 16; i++)
		map[i] = 2;
	aoi_anomaly_blur(map, 4, 4, 1.0, tmp); /* a constant stays constant */
	for (int i = 0; i < 16; i++)
		CHECK_NEAR(map[i], 2, 1e-5);
	aoi_anomaly_resize(map, 4, 4, out, 8, 8);
	CHECK_NEAR(out[27], 2, 1e-6);
	unsigned char lo[3], hi[3];
	aoi_anomaly_heat_rgb(0, lo);
	aoi_anomaly_heat_rgb(1, hi);
	CHECK(lo[2] > lo[0] && hi[0] > hi[2]);
	CHECK_INT(aoi_anomaly_method_parse("padim"), AOI_ANOMALY_PADIM);
	CHECK_INT(aoi_anomaly_method_parse("nope"), -1);
}

int main(void)
{
	test_coreset();
	test_gauss();
	test_small_pieces();
	test_planted();
	return check_done();
}
