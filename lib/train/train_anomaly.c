/* train_anomaly.c: aoi-train on good images only (train_anomaly.h). */
#include "train/train_anomaly.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly/anomaly.h"
#include "base/cli.h"
#include "base/fileio.h"
#include "base/rng.h"
#include "model/arch.h"
#include "model/model.h"
#include "synth/synth.h"

int aoi_train_is_anomaly_arch(const char *name)
{
	return name && (!strcmp(name, "patchcore") || !strcmp(name, "padim"));
}

int aoi_train_record_good(const json_t *rec, const char *good)
{
	const char *label = aoi_record_str(rec, "label");

	if (label)
		return !strcmp(label, good);
	return !json_object_get(rec, "masks") && !json_object_get(rec, "mask") &&
	       !json_array_size(json_object_get(rec, "boxes"));
}

/* What the fit works on. */
typedef struct afit {
	const aoi_train_setup_opts *o;
	aoi_train_dataset main_ds, val_ds;
	aoi_train_selection sel;
	aoi_model_info info;   /* the backbone's header, then the model's */
	aoi_net *net;
	aoi_loader_opts lo;
	aoi_classes none;      /* no defect classes: good records' masks are empty */
	aoi_loader *train, *val;
	aoi_norm norm;
	aoi_anomaly *a;
	int skipped;           /* training records that were not good */
} afit;

static void afit_release(afit *f)
{
	aoi_anomaly_free(f->a);
	aoi_loader_free(f->train);
	aoi_loader_free(f->val);
	aoi_net_free(f->net);
	aoi_model_info_release(&f->info);
	aoi_classes_release(&f->none);
	free(f->sel.train);
	free(f->sel.val);
	aoi_train_dataset_release(&f->main_ds);
	aoi_train_dataset_release(&f->val_ds);
}

/* Training and validation records; a tenth held out when nothing says
 * which records validate. */
static int select_records(afit *f, aoi_error *err)
{
	aoi_train_setup_opts o = *f->o;

	if (aoi_train_dataset_read(&f->main_ds, o.dataset, o.root, err) < 0 ||
	    (o.val && aoi_train_dataset_read(&f->val_ds, o.val, NULL, err) < 0) ||
	    aoi_train_select_records(&o, &f->main_ds, &f->val_ds, &f->sel, err) < 0)
		return -1;
	if (f->sel.nval == 0 && !o.val && o.val_split == 0) {
		free(f->sel.train);
		free(f->sel.val);
		memset(&f->sel, 0, sizeof f->sel);
		o.val_split = 0.1;
		if (aoi_train_select_records(&o, &f->main_ds, &f->val_ds, &f->sel, err) < 0)
			return -1;
	}
	return 0;
}

int aoi_train_keep_good(const aoi_train_dataset *d, int *idx, int *n, const char *good)
{
	int k = 0, was = *n;

	for (int i = 0; i < was; i++)
		if (aoi_train_record_good(d->rec[idx[i]], good))
			idx[k++] = idx[i];
	*n = k;
	return was - k;
}

static aoi_loader *loader_of(const aoi_loader_opts *lo, const aoi_train_dataset *d,
			     const int *idx, int n, aoi_error *err)
{
	aoi_loader *l = aoi_loader_new(lo, err);

	for (int k = 0; l && k < n; k++)
		if (aoi_loader_add(l, d->rec[idx[k]], d->base, d->name, d->line[idx[k]], err) < 0) {
			aoi_loader_free(l);
			return NULL;
		}
	return l;
}

/* The backbone: a model file (its header kept), or a named architecture
 * with seeded random weights. */
static int load_backbone(afit *f, int channels, aoi_error *err)
{
	const char *b = f->o->backbone;

	if (!b)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "--backbone MODEL or architecture is required");
	if (aoi_path_exists(b)) {
		if (!(f->net = aoi_model_load(b, &f->info, err)))
			return -1;
		aoi_model_info_clear_anomaly(&f->info);
		if (f->info.template_input)
			return aoi_error_set(err, AOI_EINVAL, b, 0,
					     "a backbone with a template input cannot serve here");
		return 0;
	}
	if (!aoi_arch_find(b))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "--backbone '%s': neither a file nor an architecture", b);
	aoi_arch_opts ao;
	memset(&ao, 0, sizeof ao);
	ao.in_channels = channels;
	if (aoi_model_info_set_arch(&f->info, b, &ao, err) < 0 ||
	    !(f->net = aoi_arch_build(b, &f->info.opts, err)))
		return -1;
	aoi_rng rng;
	aoi_rng_seed(&rng, (uint64_t)f->o->seed);
	aoi_net_init_params(f->net, &rng);
	return 0;
}

/* Loaders at the input size, with the backbone's normalisation (or one
 * computed from the training images). */
static int setup_loaders(afit *f, int from_file, aoi_error *err)
{
	const aoi_train_setup_opts *o = f->o;
	aoi_loader_opts *lo = &f->lo;

	aoi_loader_opts_init(lo);
	lo->width = o->width_px ? o->width_px : from_file ? f->info.opts.input_w : 256;
	lo->height = o->height_px ? o->height_px : from_file ? f->info.opts.input_h : 256;
	lo->gray = f->info.opts.in_channels == 1;
	lo->target = AOI_TARGET_MASK;
	lo->classes = &f->none;
	lo->seed = (uint64_t)o->seed;
	lo->cache_limit = 0; /* one pass over the images each */
	if (!(f->train = loader_of(lo, &f->main_ds, f->sel.train, f->sel.ntrain, err)))
		return -1;
	const aoi_train_dataset *vd = f->sel.val_from_main ? &f->main_ds : &f->val_ds;
	if (f->sel.nval && !(f->val = loader_of(lo, vd, f->sel.val, f->sel.nval, err)))
		return -1;
	if (from_file) {
		f->norm.channels = f->info.opts.in_channels;
		for (int c = 0; c < f->norm.channels; c++) {
			f->norm.mean[c] = f->info.mean[c];
			f->norm.std[c] = f->info.std[c];
		}
	} else if (aoi_loader_compute_norm(f->train, 1000, &f->norm, err) < 0) {
		return -1;
	}
	for (int c = 0; c < f->norm.channels; c++) {
		f->info.mean[c] = f->norm.mean[c];
		f->info.std[c] = f->norm.std[c];
	}
	aoi_loader_set_norm(f->train, &f->norm);
	if (f->val)
		aoi_loader_set_norm(f->val, &f->norm);
	return 0;
}

/* Run fn over every record of l in batches. */
typedef int (*batch_fn)(void *ctx, const aoi_batch *b, int first, aoi_error *err);

static int each_batch(aoi_loader *l, int batch, const char *label, batch_fn fn, void *ctx,
		      aoi_error *err)
{
	aoi_batch b;
	int n = aoi_loader_count(l), idx[batch], rc = 0;
	aoi_progress p;

	if (aoi_batch_alloc(&b, l, batch, err) < 0)
		return -1;
	aoi_progress_init(&p, label, n);
	for (int i = 0; i < n && rc == 0; i += batch) {
		int m = n - i < batch ? n - i : batch;
		for (int r = 0; r < m; r++)
			idx[r] = i + r;
		rc = aoi_loader_fill(l, &b, idx, m, 0, 0, err) < 0 ? -1 : fn(ctx, &b, i, err);
		aoi_progress_step(&p, m, NULL);
	}
	aoi_progress_end(&p);
	aoi_batch_release(&b);
	return rc;
}

typedef struct bn_ctx {
	aoi_net *net;
	int batch, t;
} bn_ctx;

/* Full batches only: the net is planned for that many rows. */
static int bn_one(void *ctx, const aoi_batch *b, int first, aoi_error *err)
{
	bn_ctx *c = ctx;

	(void)first;
	return b->n < c->batch ? 0 : aoi_anomaly_bn_pass(c->net, b->x, c->t++, err);
}

/* A backbone with random weights: its batch norms' statistics from the
 * training images first (anomaly.h), or its deeper features fade. */
static int calibrate_bn(afit *f, aoi_error *err)
{
	bn_ctx c = {f->net, (int)f->o->batch, 0};
	int n = aoi_loader_count(f->train);

	if (n < c.batch)
		c.batch = n;
	if (aoi_net_plan(f->net, c.batch, f->lo.height, f->lo.width, err) < 0)
		return -1;
	return each_batch(f->train, c.batch, "batch norm", bn_one, &c, err);
}

static int fit_one(void *ctx, const aoi_batch *b, int first, aoi_error *err)
{
	(void)first;
	return aoi_anomaly_fit_batch(ctx, b->x, b->n, err);
}

typedef struct score_ctx {
	aoi_anomaly *a;
	float *scores;
} score_ctx;

static int score_one(void *ctx, const aoi_batch *b, int first, aoi_error *err)
{
	score_ctx *s = ctx;

	return aoi_anomaly_score(s->a, b->x, b->n, s->scores + first, err) ? 0 : -1;
}

/* The threshold and scale from the validation images' scores. */
static int calibrate(aoi_anomaly *a, aoi_loader *val, int batch, double frr, double *max_out,
		     aoi_error *err)
{
	int n = val ? aoi_loader_count(val) : 0;
	score_ctx s = {a, malloc(sizeof(float) * (size_t)(n ? n : 1))};

	*max_out = 0;
	if (!s.scores)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	if (n == 0) {
		free(s.scores);
		return 0;
	}
	if (each_batch(val, batch, "threshold", score_one, &s, err) < 0) {
		free(s.scores);
		return -1;
	}
	double t = aoi_anomaly_frr_threshold(s.scores, n, frr), top = t;
	for (int i = 0; i < n; i++)
		top = fmax(top, s.scores[i]);
	free(s.scores);
	*max_out = top;
	aoi_anomaly_set_threshold(a, t, aoi_anomaly_method_of(a) == AOI_ANOMALY_SEGMENTATION
						 ? 1.0
						 : 2 * top);
	return 0;
}

static void provenance(afit *f, const char *method)
{
	json_t *p = json_object();
	const aoi_train_setup_opts *o = f->o;

	json_object_set_new(p, "dataset", json_string(f->main_ds.name));
	json_object_set_new(p, "records", json_integer(f->sel.ntrain));
	json_object_set_new(p, "val_records", json_integer(f->sel.nval));
	json_object_set_new(p, "input", json_string("resize"));
	json_object_set_new(p, "method", json_string(method));
	json_object_set_new(p, "backbone", json_string(o->backbone));
	if (o->layers)
		json_object_set_new(p, "layers", json_string(o->layers));
	json_object_set_new(p, "frr", json_real(o->frr));
	json_object_set_new(p, "seed", json_integer((json_int_t)o->seed));
	aoi_model_info_set_provenance(&f->info, p);
}

static int make_anomaly(afit *f, enum aoi_anomaly_method m, aoi_error *err)
{
	const aoi_train_setup_opts *o = f->o;
	aoi_anomaly_opts ao;

	aoi_anomaly_opts_init(&ao, m);
	ao.coreset = o->coreset;
	ao.bank_max = o->bank_max;
	if (o->dims > 0)
		ao.dims = (int)o->dims;
	ao.seed = (uint64_t)o->seed;
	if (aoi_net_fuse_for_inference(f->net, err) < 0)
		return -1;
	if (o->layers && aoi_anomaly_parse_taps(f->net, o->layers, &ao, err) < 0)
		return -1;
	if (o->threads > 0)
		aoi_net_set_threads(f->net, (int)o->threads);
	f->a = aoi_anomaly_new(f->net, f->lo.width, f->lo.height, (int)o->batch, &ao, err);
	return f->a ? 0 : -1;
}

static void fit_report(const afit *f, const char *method, double top, char *report,
		       size_t size)
{
	aoi_anomaly_stats st;

	if (!report)
		return;
	aoi_anomaly_get_stats(f->a, &st);
	snprintf(report, size,
		 "%s on %d good images (%d skipped): %ld patches of %d features on a %dx%d grid, "
		 "%s %ld (%.1f MiB); threshold %.6g (%d validation images, highest %.6g)",
		 method, f->sel.ntrain, f->skipped, st.patches_seen, st.dims, st.grid_w,
		 st.grid_h, aoi_anomaly_method_of(f->a) == AOI_ANOMALY_PATCHCORE ? "bank" : "positions",
		 st.bank, st.bytes / 1048576.0, aoi_anomaly_threshold(f->a), f->sel.nval, top);
}

static int fit_and_save(afit *f, const char *method, char *report, size_t size,
			aoi_error *err)
{
	int batch = (int)f->o->batch;
	double top = 0;

	if (each_batch(f->train, batch, "fit", fit_one, f->a, err) < 0 ||
	    aoi_anomaly_fit_finish(f->a, err) < 0 ||
	    calibrate(f->a, f->val, batch, f->o->frr, &top, err) < 0)
		return -1;
	provenance(f, method);
	if (aoi_anomaly_to_model(f->a, &f->info, err) < 0 ||
	    aoi_model_save(f->o->output, &f->info, f->net, err) < 0)
		return -1;
	fit_report(f, method, top, report, size);
	return 0;
}

int aoi_train_anomaly_fit(const aoi_train_setup_opts *o, char *report, size_t size,
			  aoi_error *err)
{
	afit f;
	int m = aoi_anomaly_method_parse(o->arch), rc = -1;

	memset(&f, 0, sizeof f);
	f.o = o;
	aoi_model_info_init(&f.info);
	aoi_classes_init(&f.none);
	if (m < 0 || m == AOI_ANOMALY_SEGMENTATION) {
		aoi_error_set(err, AOI_EINVAL, NULL, 0, "not an anomaly method: %s", o->arch);
	} else if (select_records(&f, err) == 0) {
		f.skipped = aoi_train_keep_good(&f.main_ds, f.sel.train, &f.sel.ntrain, o->good);
		aoi_train_keep_good(f.sel.val_from_main ? &f.main_ds : &f.val_ds, f.sel.val, &f.sel.nval,
			  o->good);
		int from_file = o->backbone && aoi_path_exists(o->backbone);
		if (f.sel.ntrain == 0)
			aoi_error_set(err, AOI_EINVAL, f.main_ds.name, 0,
				      "no good training records (label '%s')", o->good);
		else if (load_backbone(&f, o->gray ? 1 : 3, err) == 0 &&
			 setup_loaders(&f, from_file, err) == 0 &&
			 (from_file || calibrate_bn(&f, err) == 0) &&
			 make_anomaly(&f, (enum aoi_anomaly_method)m, err) == 0)
			rc = fit_and_save(&f, o->arch, report, size, err);
	}
	afit_release(&f);
	return rc;
}

/* ---- the self-supervised route ---- */

static int paint_hook(void *ctx, aoi_image *img, aoi_mask *mask, aoi_rng *rng, aoi_error *err)
{
	return aoi_synth_paint_anomaly(img, mask, ctx, 1, rng, err) < 0 ? -1 : 0;
}

int aoi_train_synth_hook(const char *spec, aoi_loader_opts *lo, void *ctx, size_t ctx_size,
			 aoi_error *err)
{
	if (ctx_size < sizeof(aoi_synth_anomaly_opts))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "synth hook context too small");
	if (aoi_synth_anomaly_parse(spec, ctx, err) < 0)
		return -1;
	lo->paint = paint_hook;
	lo->paint_ctx = ctx;
	return 0;
}

int aoi_train_anomaly_calibrate(aoi_train_setup *s, char *report, size_t size,
				aoi_error *err)
{
	aoi_model_info info;
	aoi_net *net = aoi_model_load(s->opts.output, &info, err);
	aoi_anomaly_opts ao;
	aoi_anomaly *a = NULL;
	aoi_loader *val = NULL;
	int rc = -1, n = 0;
	double top = 0;

	aoi_anomaly_opts_init(&ao, AOI_ANOMALY_SEGMENTATION);
	int *idx = malloc(sizeof(int) * (size_t)(s->sel.nval + 1));
	const aoi_train_dataset *vd = s->sel.val_from_main ? &s->main_ds : &s->val_ds;
	for (int i = 0; idx && i < s->sel.nval; i++)
		if (aoi_train_record_good(vd->rec[s->sel.val[i]], s->opts.good))
			idx[n++] = s->sel.val[i];
	aoi_loader_opts lo = s->lo;
	lo.paint = NULL;
	lo.augment = 0;
	if (!net || !idx || aoi_net_fuse_for_inference(net, err) < 0)
		goto done;
	if (s->opts.threads > 0)
		aoi_net_set_threads(net, (int)s->opts.threads);
	if (n && !(val = loader_of(&lo, vd, idx, n, err)))
		goto done;
	if (val)
		aoi_loader_set_norm(val, &s->norm);
	if (!(a = aoi_anomaly_new(net, lo.width, lo.height, (int)s->opts.batch, &ao, err)) ||
	    aoi_anomaly_fit_finish(a, err) < 0 ||
	    calibrate(a, val, (int)s->opts.batch, s->opts.frr, &top, err) < 0 ||
	    aoi_anomaly_to_model(a, &info, err) < 0 ||
	    aoi_model_save(s->opts.output, &info, net, err) < 0)
		goto done;
	if (report)
		snprintf(report, size, "segmentation anomaly model: threshold %.6g "
			 "(%d good validation images, highest %.6g)", aoi_anomaly_threshold(a), n,
			 top);
	rc = 0;
done:
	free(idx);
	aoi_anomaly_free(a);
	aoi_loader_free(val);
	aoi_net_free(net);
	if (net)
		aoi_model_info_release(&info);
	return rc;
}
