/* train_setup.c: aoi-train's preparation of a run (train_setup.h). */
#include "train/train_setup.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/fileio.h"
#include "base/rng.h"
#include "data/dataset.h"
#include "data/record.h"
#include "model/graph.h"
#include "train/train_anomaly.h"

void aoi_train_dataset_release(aoi_train_dataset *d)
{
	for (int i = 0; i < d->n; i++)
		json_decref(d->rec[i]);
	free(d->rec);
	free(d->line);
	memset(d, 0, sizeof(*d));
}

int aoi_train_dataset_push(aoi_train_dataset *d, json_t *rec, long line, aoi_error *err)
{
	if (d->n == d->cap) {
		int cap = d->cap ? 2 * d->cap : 256;
		json_t **r = realloc(d->rec, (size_t)cap * sizeof(*r));
		if (r)
			d->rec = r;
		long *l = r ? realloc(d->line, (size_t)cap * sizeof(*l)) : NULL;
		if (!l)
			return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		d->line = l;
		d->cap = cap;
	}
	d->rec[d->n] = rec;
	d->line[d->n++] = line;
	return 0;
}

/* Every record of path (NULL: standard input), checked. */
int aoi_train_dataset_read(aoi_train_dataset *d, const char *path, const char *root,
			   aoi_error *err)
{
	aoi_reader *r = aoi_reader_open(path, root, err);
	if (!r)
		return -1;
	snprintf(d->name, sizeof(d->name), "%s", aoi_reader_name(r));
	snprintf(d->base, sizeof(d->base), "%s", aoi_reader_base(r));
	json_t *rec;
	int rc;
	while ((rc = aoi_reader_next(r, &rec, err)) == 1) {
		long line = aoi_reader_line(r);
		if (aoi_record_check(rec, err) < 0 || aoi_train_dataset_push(d, rec, line, err) < 0) {
			aoi_error_locate(err, d->name, line);
			json_decref(rec);
			rc = -1;
			break;
		}
	}
	aoi_reader_free(r);
	return rc;
}

int aoi_train_split_listed(const char *list, const char *word)
{
	size_t n = strlen(word);
	if (!strcmp(list, "all"))
		return 1;
	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && !strncmp(p, word, n))
			return 1;
		p = end ? end + 1 : p + len;
	}
	return 0;
}

int aoi_train_select_records(const aoi_train_setup_opts *o, const aoi_train_dataset *main_ds,
			     const aoi_train_dataset *val_ds, aoi_train_selection *s,
			     aoi_error *err)
{
	int n = main_ds->n;
	s->train = malloc((size_t)(n ? n : 1) * sizeof(int));
	s->val = malloc((size_t)((val_ds->n > n ? val_ds->n : n) + 1) * sizeof(int));
	if (!s->train || !s->val)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	s->val_from_main = !o->val;
	for (int i = 0; i < n; i++) {
		const char *sp = aoi_record_str(main_ds->rec[i], "split");
		if (!sp || aoi_train_split_listed(o->splits, sp))
			s->train[s->ntrain++] = i;
		else if (!o->val && !strcmp(sp, "val"))
			s->val[s->nval++] = i;
	}
	if (o->val)
		for (int i = 0; i < val_ds->n; i++)
			s->val[s->nval++] = i;
	if (o->val_split > 0) {
		aoi_rng rng;
		aoi_rng_seed(&rng, (uint64_t)o->seed);
		aoi_rng_shuffle(&rng, s->train, (size_t)s->ntrain, sizeof(int));
		int k = (int)floor(s->ntrain * o->val_split);
		for (int i = 0; i < k; i++)
			s->val[s->nval++] = s->train[--s->ntrain];
	}
	if (s->ntrain == 0)
		return aoi_error_set(err, AOI_EINVAL, main_ds->name, 0,
				     "no training records (splits: %s)", o->splits);
	return 0;
}

void aoi_train_setup_release(aoi_train_setup *s)
{
	aoi_loader_free(s->train);
	aoi_loader_free(s->val);
	aoi_net_free(s->net);
	aoi_net_free(s->init_net);
	aoi_optim_free(s->resume_opt);
	aoi_model_info_release(&s->info);
	aoi_model_info_release(&s->init_info);
	aoi_classes_release(&s->classes);
	free(s->sel.train);
	free(s->sel.val);
	aoi_train_dataset_release(&s->main_ds);
	aoi_train_dataset_release(&s->val_ds);
	if (s->log && s->log != stdout)
		fclose(s->log);
}

/* Structure from the checkpoint: task, classes, input, normalisation. */
static int setup_resume(aoi_train_setup *s, aoi_error *err)
{
	s->net = aoi_checkpoint_load(s->opts.resume, &s->info, &s->resume_opt, &s->ck, err);
	if (!s->net)
		return -1;
	aoi_model_info *in = &s->info;
	s->task = in->task;
	s->lo.width = in->opts.input_w;
	s->lo.height = in->opts.input_h;
	s->lo.use_template = in->template_input;
	s->lo.gray = in->opts.in_channels / (in->template_input ? 2 : 1) == 1;
	const char *input = json_string_value(json_object_get(in->provenance, "input"));
	s->lo.crop = input && !strcmp(input, "crop");
	s->lo.scale = json_number_value(json_object_get(in->provenance, "scale"));
	int first = s->task == AOI_TASK_SEGMENTATION;
	for (int i = first; i < in->nclasses; i++)
		if (aoi_classes_add(&s->classes, in->classes[i]) < 0)
			return aoi_error_set(err, AOI_EFORMAT, s->opts.resume, 0, "too many classes");
	s->norm.channels = in->opts.in_channels;
	for (int c = 0; c < s->norm.channels && c < AOI_NORM_MAX; c++) {
		s->norm.mean[c] = in->mean[c];
		s->norm.std[c] = in->std[c];
	}
	if (s->task == AOI_TASK_KEYPOINTS)
		s->npoints = in->opts.classes / 2;
	return 0;
}

/* The architecture of a new network: --arch, else --init's. */
static const char *arch_name(const aoi_train_setup *s)
{
	return s->opts.arch ? s->opts.arch : s->init_info.arch;
}

/* "a,b,c" into channels floats (> 0 when positive). */
static int parse_norm(const char *opt, const char *spec, int channels, int positive,
		      float *v, aoi_error *err)
{
	const char *p = spec;

	for (int c = 0; c < channels; c++) {
		char *end;
		double x = strtod(p, &end);
		if (end == p || !isfinite(x) || (positive && x <= 0) ||
		    (*end != ',' && *end) || (*end == ',') != (c < channels - 1))
			return aoi_error_set(err, AOI_EINVAL, NULL, 0,
					     "%s: want %d %snumbers A,B,... (one an input channel)",
					     opt, channels, positive ? "positive " : "");
		v[c] = (float)x;
		p = end + 1;
	}
	return 0;
}

/* The normalisation: --mean and --std, else --init's (same channels),
 * else (norm_set 0) the training images' later. */
static int setup_norm(aoi_train_setup *s, aoi_error *err)
{
	int c = aoi_loader_channels(&s->lo);

	s->norm.channels = c;
	if (!s->opts.mean != !s->opts.std)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--mean and --std go together");
	if (s->opts.mean) {
		if (parse_norm("--mean", s->opts.mean, c, 0, s->norm.mean, err) < 0 ||
		    parse_norm("--std", s->opts.std, c, 1, s->norm.std, err) < 0)
			return -1;
		s->norm_set = 1;
	} else if (s->init_net && s->init_info.opts.in_channels == c && c <= AOI_NORM_MAX) {
		memcpy(s->norm.mean, s->init_info.mean, sizeof(float) * (size_t)c);
		memcpy(s->norm.std, s->init_info.std, sizeof(float) * (size_t)c);
		s->norm_set = 1;
	}
	return 0;
}

static int setup_fresh(aoi_train_setup *s, aoi_error *err)
{
	const aoi_model_info *ii = &s->init_info;

	if (s->opts.init && !(s->init_net = aoi_model_load(s->opts.init, &s->init_info, err)))
		return -1;
	if (!s->opts.arch && !s->init_net)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--arch is required (see --list)");
	const aoi_arch_info *ai = aoi_arch_find(arch_name(s));
	int own = !s->opts.arch; /* the network of --init itself */
	s->task = ai ? ai->task : ii->task;
	s->lo.width = s->opts.width_px ? s->opts.width_px : own ? ii->opts.input_w : ai->input_w;
	s->lo.height = s->opts.height_px ? s->opts.height_px : own ? ii->opts.input_h : ai->input_h;
	s->lo.use_template = s->opts.use_template || (own && ii->template_input);
	s->lo.gray = s->opts.gray ||
		     (own && ii->opts.in_channels / (ii->template_input ? 2 : 1) == 1);
	/* segmentation crops unless told to resize: resizing a large image to
	 * the input shrinks a crack 2 pixels wide to nothing. Not --synth: the
	 * anomaly model it becomes scores whole images resized to its input. */
	if (s->opts.synth && s->opts.crop)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "--synth: an anomaly model scores whole images resized to "
				     "its input; no --crop");
	s->lo.crop = s->opts.crop ||
		     (s->task == AOI_TASK_SEGMENTATION && !s->opts.resize && !s->opts.synth);
	s->lo.scale = s->opts.scale;
	if (ai && ai->fixed_size && s->opts.crop)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--crop needs a segmentation network");
	if (s->opts.scale > 0 && s->opts.scale != 1 && !s->lo.crop)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--scale goes with --crop");
	return setup_norm(s, err);
}

/* Class names (segmentation), label names (classification) or the
 * keypoint count, from the records that train and validate. */
static int gather_classes(aoi_train_setup *s, aoi_error *err)
{
	const aoi_train_dataset *vd = s->sel.val_from_main ? &s->main_ds : &s->val_ds;
	if (s->opts.synth) /* one class: what the painter paints */
		return aoi_classes_add(&s->classes, "anomaly") < 0
			       ? aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory")
			       : 0;
	for (int k = 0; k < s->sel.ntrain + s->sel.nval; k++) {
		int tr = k < s->sel.ntrain;
		const aoi_train_dataset *d = tr ? &s->main_ds : vd;
		int i = tr ? s->sel.train[k] : s->sel.val[k - s->sel.ntrain];
		const json_t *rec = d->rec[i];
		int rc = 0;
		if (s->task == AOI_TASK_SEGMENTATION) {
			rc = aoi_classes_from_record(&s->classes, rec, err);
		} else if (s->task == AOI_TASK_CLASSIFICATION) {
			const char *label = aoi_record_str(rec, "label");
			if (!label)
				rc = aoi_error_set(err, AOI_EFORMAT, NULL, 0, "missing field 'label'");
			else if (aoi_classes_add(&s->classes, label) < 0)
				rc = aoi_error_set(err, AOI_EFORMAT, NULL, 0, "too many labels");
		} else if (s->npoints == 0) {
			s->npoints = (int)json_array_size(json_object_get(rec, "keypoints"));
			if (s->npoints < 1 || s->npoints > AOI_MAX_POINTS)
				rc = aoi_error_set(err, AOI_EFORMAT, NULL, 0,
						   "needs 1 to %d 'keypoints'", AOI_MAX_POINTS);
		}
		if (rc < 0) {
			aoi_error_locate(err, d->name, d->line[i]);
			return -1;
		}
	}
	if (s->task == AOI_TASK_CLASSIFICATION && s->classes.n < 2)
		return aoi_error_set(err, AOI_EINVAL, s->main_ds.name, 0,
				     "classification needs at least two labels");
	return 0;
}

static aoi_loader *make_loader(const aoi_loader_opts *o, const aoi_train_dataset *d,
			       const int *idx, int n, aoi_error *err)
{
	aoi_loader *l = aoi_loader_new(o, err);
	for (int k = 0; l && k < n; k++)
		if (aoi_loader_add(l, d->rec[idx[k]], d->base, d->name, d->line[idx[k]], err) < 0) {
			aoi_loader_free(l);
			return NULL;
		}
	return l;
}

static int setup_loaders(aoi_train_setup *s, aoi_error *err)
{
	s->lo.target = s->task == AOI_TASK_SEGMENTATION     ? AOI_TARGET_MASK
		       : s->task == AOI_TASK_CLASSIFICATION ? AOI_TARGET_LABEL
							     : AOI_TARGET_POINTS;
	s->lo.npoints = s->npoints;
	s->lo.classes = &s->classes;
	s->lo.seed = (uint64_t)s->opts.seed;
	s->lo.cache_limit = (size_t)s->opts.cache_mb << 20;
	s->lo.augment = s->opts.augment != NULL;
	s->lo.aug = s->opts.aug;
	s->lo.defect_windows = s->task == AOI_TASK_SEGMENTATION ? s->opts.defect_windows : 0;
	if (s->opts.synth &&
	    aoi_train_synth_hook(s->opts.synth, &s->lo, &s->synth, sizeof(s->synth), err) < 0)
		return -1;
	s->train = make_loader(&s->lo, &s->main_ds, s->sel.train, s->sel.ntrain, err);
	if (!s->train)
		return -1;
	if (s->sel.nval) {
		aoi_loader_opts vo = s->lo;
		vo.augment = 0;
		vo.defect_windows = 0;
		s->val = make_loader(&vo, s->sel.val_from_main ? &s->main_ds : &s->val_ds,
				     s->sel.val, s->sel.nval, err);
		if (!s->val)
			return -1;
	}
	if (!s->opts.resume && !s->norm_set &&
	    aoi_loader_compute_norm(s->train, 1000, &s->norm, err) < 0)
		return -1;
	aoi_loader_set_norm(s->train, &s->norm);
	if (s->val)
		aoi_loader_set_norm(s->val, &s->norm);
	return 0;
}

static int parse_decoder(const char *spec, aoi_arch_opts *o, aoi_error *err)
{
	long v[AOI_ARCH_MAX_DECODER];
	int n = aoi_cli_parse_int_list("--decoder", spec, v, AOI_ARCH_MAX_DECODER, err);
	if (n < 0)
		return -1;
	o->ndecoder = n;
	for (int i = 0; i < n; i++) {
		if (v[i] < 1 || v[i] > 4096)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--decoder: bad channel count");
		o->decoder[i] = (int)v[i];
	}
	return 0;
}

/* A graph of --init for another class count: its head is replaced. */
static int setup_graph(aoi_train_setup *s, const aoi_arch_opts *o, aoi_error *err)
{
	const json_t *g = s->init_info.graph;

	if (!aoi_graph_head_out(g) && o->classes != s->init_info.opts.classes)
		return aoi_error_set(err, AOI_EINVAL, s->opts.init, 0,
				     "the network has %d outputs and no layer that makes them to "
				     "resize for %d", s->init_info.opts.classes, o->classes);
	if (o->decision && !aoi_graph_decision(g))
		return aoi_error_set(err, AOI_EINVAL, s->opts.init, 0,
				     "--decision: the network has no decision head to train "
				     "(give --arch to build one)");
	return aoi_model_info_set_graph(&s->info, json_deep_copy(g), o->in_channels, o->classes,
					o->input_h, o->input_w, s->task, err);
}

/* The model header of a new network. */
static int setup_info(aoi_train_setup *s, aoi_error *err)
{
	aoi_arch_opts o;
	memset(&o, 0, sizeof(o));
	o.in_channels = aoi_loader_channels(&s->lo);
	o.classes = s->task == AOI_TASK_SEGMENTATION     ? s->classes.n + 1
		    : s->task == AOI_TASK_CLASSIFICATION ? s->classes.n
							  : 2 * s->npoints;
	o.width = s->opts.width;
	o.input_w = s->lo.width;
	o.input_h = s->lo.height;
	o.decision = s->opts.decision;
	if (s->opts.decoder && parse_decoder(s->opts.decoder, &o, err) < 0)
		return -1;
	if (!aoi_arch_find(arch_name(s)) ? setup_graph(s, &o, err) < 0
					 : aoi_model_info_set_arch(&s->info, arch_name(s), &o, err) < 0)
		return -1;
	const char *names[AOI_MAX_CLASSES + 1];
	int n = 0;
	if (s->task == AOI_TASK_SEGMENTATION)
		names[n++] = "background";
	for (int i = 0; i < s->classes.n; i++)
		names[n++] = s->classes.names[i];
	if (s->task != AOI_TASK_KEYPOINTS &&
	    aoi_model_info_set_classes(&s->info, n, names, err) < 0)
		return -1;
	s->info.template_input = s->lo.use_template;
	for (int c = 0; c < s->norm.channels; c++) {
		s->info.mean[c] = s->norm.mean[c];
		s->info.std[c] = s->norm.std[c];
	}
	return 0;
}

/* The graph that describes a model: its own, or its named network's. */
static json_t *graph_of(const aoi_model_info *info, aoi_error *err)
{
	return info->graph ? json_incref(info->graph) : aoi_arch_graph(info->arch, &info->opts, err);
}

/* --init: by name from a model of the same architecture, else by
 * structure into the encoder; the source is freed afterwards. */
static int init_from(aoi_train_setup *s, aoi_error *err)
{
	int total = aoi_net_param_tensors(s->net), copied;

	if (!strcmp(s->init_info.arch, s->info.arch) &&
	    (!s->info.graph || json_equal(json_object_get(s->info.graph, "nodes"),
					  json_object_get(s->init_info.graph, "nodes")))) {
		copied = aoi_model_transfer(s->net, s->init_net, &total);
	} else {
		json_t *dg = graph_of(&s->info, err), *sg = dg ? graph_of(&s->init_info, err) : NULL;
		copied = sg ? aoi_model_transfer_structure(s->net, dg, "encoder", s->init_net, sg,
							   &s->init_layers) : 0;
		json_decref(dg);
		json_decref(sg);
		if (!sg)
			return -1;
	}
	aoi_net_free(s->init_net);
	s->init_net = NULL;
	if (copied == 0)
		return aoi_error_set(err, AOI_EINVAL, s->opts.init, 0,
				     "no tensor matches this network");
	s->init_copied = copied;
	s->init_total = total;
	return 0;
}

/* --freeze encoder | BLOCK-PREFIX | N:M (node range). */
static int freeze(aoi_train_setup *s, aoi_error *err)
{
	int first, last, changed;
	char tail;
	if (sscanf(s->opts.freeze, "%d:%d%c", &first, &last, &tail) == 2)
		changed = aoi_net_freeze_nodes(s->net, first, last, 1);
	else
		changed = aoi_net_freeze_block(s->net, s->opts.freeze, 1);
	if (changed <= 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--freeze %s: matches no parameters",
				     s->opts.freeze);
	return 0;
}

static int setup_net(aoi_train_setup *s, aoi_error *err)
{
	if (s->opts.resume)
		return 0;
	if (setup_info(s, err) < 0)
		return -1;
	s->net = aoi_model_build(&s->info, err);
	if (!s->net)
		return -1;
	aoi_rng rng;
	aoi_rng_seed(&rng, (uint64_t)s->opts.seed);
	aoi_net_init_params(s->net, &rng);
	if (s->opts.init && init_from(s, err) < 0)
		return -1;
	return 0;
}

/* Loss kinds each task can train with. */
static int loss_fits(const aoi_loss *l, enum aoi_task task)
{
	for (int i = 0; i < l->nterms; i++) {
		enum aoi_loss_kind k = l->kind[i];
		int ok = task == AOI_TASK_SEGMENTATION     ? k <= AOI_LOSS_IOU
			 : task == AOI_TASK_CLASSIFICATION ? k == AOI_LOSS_CE
							   : k == AOI_LOSS_MSE || k == AOI_LOSS_RECT;
		if (!ok)
			return 0;
	}
	return 1;
}

void aoi_train_median_freq_weights(const double *counts, int k, float *weights)
{
	double freq[AOI_MAX_CLASSES + 1], total = 0;
	int n = 0;
	for (int c = 0; c < k; c++)
		total += counts[c];
	for (int c = 0; c < k; c++)
		if (counts[c] > 0)
			freq[n++] = counts[c] / total;
	for (int i = 1; i < n; i++) /* insertion sort for the median */
		for (int j = i; j > 0 && freq[j - 1] > freq[j]; j--) {
			double t = freq[j];
			freq[j] = freq[j - 1];
			freq[j - 1] = t;
		}
	double median = n == 0 ? 0 : n % 2 ? freq[n / 2] : (freq[n / 2 - 1] + freq[n / 2]) / 2;
	for (int c = 0; c < k; c++)
		weights[c] = counts[c] > 0 ? (float)(median / (counts[c] / total)) : 1.0f;
}

int aoi_train_parse_class_weights(const char *spec, int k, float *weights, aoi_error *err)
{
	const char *p = spec;
	for (int c = 0; c < k; c++) {
		char *end;
		double w = strtod(p, &end);
		if (end == p || w < 0 || !isfinite(w) || (*end != ',' && *end) ||
		    (!*end && c != k - 1) || (*end == ',' && c == k - 1))
			return aoi_error_set(err, AOI_EINVAL, NULL, 0,
					     "--class-weights: want %d weights W0,W1,...", k);
		weights[c] = (float)w;
		p = end + 1;
	}
	return 0;
}

void aoi_train_sqrt_bg_weights(const double *counts, int k, float *weights)
{
	double total = 0, defect = 0;
	for (int c = 0; c < k; c++) {
		total += counts[c];
		defect += c ? counts[c] : 0;
		weights[c] = 1.0f;
	}
	if (defect <= 0 || defect >= total)
		return;
	double w = sqrt(defect / (total - defect));
	weights[0] = (float)(w < 0.05 ? 0.05 : w > 1 ? 1 : w);
}

/* auto (median frequency balancing) or sqrt, over the training masks. */
static int auto_weights(aoi_train_setup *s, int k, int sqrt_bg, aoi_error *err)
{
	double counts[AOI_MAX_CLASSES + 1];
	if (aoi_loader_class_pixels(s->train, counts, err) < 0)
		return -1;
	if (sqrt_bg)
		aoi_train_sqrt_bg_weights(counts, k, s->weights);
	else
		aoi_train_median_freq_weights(counts, k, s->weights);
	return 0;
}

static int class_weights(aoi_train_setup *s, aoi_error *err)
{
	int k = s->task == AOI_TASK_SEGMENTATION ? s->classes.n + 1 : s->classes.n;
	if (s->task == AOI_TASK_KEYPOINTS)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--class-weights: no classes");
	if (!strcmp(s->opts.class_weights, "auto") || !strcmp(s->opts.class_weights, "sqrt")) {
		if (s->task != AOI_TASK_SEGMENTATION)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0,
					     "--class-weights %s needs segmentation",
					     s->opts.class_weights);
		return auto_weights(s, k, !strcmp(s->opts.class_weights, "sqrt"), err);
	}
	return aoi_train_parse_class_weights(s->opts.class_weights, k, s->weights, err);
}

static int setup_loss(aoi_train_setup *s, aoi_error *err)
{
	const char *spec = s->opts.loss;
	/* segmentation: dice over the defect classes beside the cross-entropy,
	 * whose pixels are nearly all background: with it alone a net first
	 * learns to mark no defect at all, and takes long to unlearn it */
	if (!spec)
		spec = s->task == AOI_TASK_SEGMENTATION ? "ce+dice"
		       : s->task == AOI_TASK_CLASSIFICATION ? "ce"
		       : s->npoints == 4 ? "rect" : "mse";
	if (aoi_loss_parse(&s->loss, spec, err) < 0)
		return -1;
	if (!loss_fits(&s->loss, s->task))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--loss %s does not fit %s", spec,
				     aoi_task_name(s->task));
	if (s->task == AOI_TASK_SEGMENTATION)
		s->loss.opts.first_class = 1; /* dice and IoU over the defects */
	/* segmentation: background weighed down by the square root of its
	 * odds (a net otherwise first learns to mark no defect at all) */
	if (!s->opts.class_weights && s->task == AOI_TASK_SEGMENTATION)
		s->opts.class_weights = "sqrt";
	if (s->opts.class_weights && strcmp(s->opts.class_weights, "none") != 0) {
		if (class_weights(s, err) < 0)
			return -1;
		s->loss.opts.class_weight = s->weights;
	}
	return 0;
}

/* What the model file records about its training. */
static void set_provenance(aoi_train_setup *s, const aoi_train_opts *to)
{
	json_t *p = s->info.provenance ? json_incref(s->info.provenance) : json_object();
	char loss[256];
	aoi_loss_format(&s->loss, loss, sizeof(loss));
	json_object_set_new(p, "dataset", json_string(s->main_ds.name));
	json_object_set_new(p, "records", json_integer(s->sel.ntrain));
	json_object_set_new(p, "val_records", json_integer(s->sel.nval));
	json_object_set_new(p, "input", json_string(s->lo.crop ? "crop" : "resize"));
	if (s->lo.crop && s->lo.scale > 0 && s->lo.scale != 1)
		json_object_set_new(p, "scale", json_real(s->lo.scale));
	json_object_set_new(p, "epochs", json_integer(to->epochs));
	json_object_set_new(p, "batch", json_integer(to->batch));
	json_object_set_new(p, "seed", json_integer((json_int_t)to->seed));
	json_object_set_new(p, "loss", json_string(loss));
	if (s->loss.opts.class_weight) {
		int k = s->task == AOI_TASK_SEGMENTATION ? s->classes.n + 1 : s->classes.n;
		json_t *w = json_array();
		for (int c = 0; c < k; c++)
			json_array_append_new(w, json_real(round(s->weights[c] * 1e4) / 1e4));
		json_object_set_new(p, "class_weights", w);
	}
	json_object_set_new(p, "optim", json_string(aoi_optim_kind_name(to->optim.kind)));
	json_object_set_new(p, "lr", json_real(to->optim.lr));
	if (s->opts.augment)
		json_object_set_new(p, "augment", json_string(s->opts.augment));
	if (s->opts.init)
		json_object_set_new(p, "init", json_string(s->opts.init));
	aoi_model_info_set_provenance(&s->info, p);
}

static void optim_opts(const aoi_train_setup *s, aoi_optim_opts *o)
{
	if (s->resume_opt) {
		*o = *aoi_optim_options(s->resume_opt);
		return;
	}
	aoi_optim_opts_init(o, (enum aoi_optim_kind)s->opts.optim);
	if (s->opts.lr > 0)
		o->lr = s->opts.lr;
	if (s->opts.momentum >= 0)
		o->momentum = s->opts.momentum;
	if (s->opts.weight_decay >= 0)
		o->weight_decay = s->opts.weight_decay;
}

/* The steps of one epoch, at most AUTO_WARMUP_MAX (not a share of the
 * run, so that a run resumed with more --epochs warms up alike). */
#define AUTO_WARMUP_MAX 500

static int auto_warmup(const aoi_train_setup *s, const aoi_train_opts *to)
{
	int n = aoi_loader_count(s->train);
	long steps = (n + to->batch - 1) / to->batch;
	if (to->max_steps > 0 && steps > to->max_steps)
		steps = to->max_steps;
	return (int)(steps < AUTO_WARMUP_MAX ? steps : AUTO_WARMUP_MAX);
}

static void train_opts(aoi_train_setup *s, aoi_train_opts *to, volatile sig_atomic_t *stop)
{
	aoi_train_opts_init(to);
	to->epochs = (int)s->opts.epochs;
	to->batch = (int)s->opts.batch;
	to->seed = (uint64_t)s->opts.seed;
	to->task = s->task;
	to->loss = s->loss;
	optim_opts(s, &to->optim);
	to->sched = (enum aoi_sched_kind)s->opts.sched;
	to->step_size = (int)s->opts.step_size;
	to->gamma = s->opts.gamma;
	to->patience = (int)s->opts.patience;
	to->min_lr = s->opts.min_lr;
	to->early_stop = (int)s->opts.early_stop;
	to->max_steps = (int)s->opts.max_steps;
	to->balance = s->opts.balance;
	to->warmup = s->opts.warmup >= 0 ? (int)s->opts.warmup : auto_warmup(s, to);
	to->time_limit = s->opts.minutes * 60;
	to->classes = s->task == AOI_TASK_SEGMENTATION ? &s->classes : NULL;
	to->log = s->log;
	to->progress = 1;
	to->stop = stop;
	to->info = &s->info;
	to->model_path = s->opts.output;
	to->checkpoint_path = s->opts.checkpoint;
	snprintf(s->interrupt_path, sizeof(s->interrupt_path), "%s.ckpt", s->opts.output);
	to->interrupt_path = s->interrupt_path;
	to->dist = s->dist;
}

static int reads_stdin(const aoi_train_setup_opts *o)
{
	return !o->dataset || !strcmp(o->dataset, "-") || (o->val && !strcmp(o->val, "-"));
}

/* --synth trains on good records only: the painter makes the defects. */
static int keep_good_only(aoi_train_setup *s, aoi_error *err)
{
	const aoi_train_dataset *vd = s->sel.val_from_main ? &s->main_ds : &s->val_ds;
	if (s->task != AOI_TASK_SEGMENTATION)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "--synth trains a segmentation network");
	s->synth_skipped = aoi_train_keep_good(&s->main_ds, s->sel.train, &s->sel.ntrain,
					       s->opts.good);
	aoi_train_keep_good(vd, s->sel.val, &s->sel.nval, s->opts.good);
	if (s->sel.ntrain == 0)
		return aoi_error_set(err, AOI_EINVAL, s->main_ds.name, 0,
				     "no good training records (label '%s')", s->opts.good);
	return 0;
}

static int setup_data(aoi_train_setup *s, aoi_error *err)
{
	/* mpirun gives standard input to rank 0 only */
	if (reads_stdin(&s->opts) && aoi_dist_share_stdin(s->dist, err) < 0)
		return -1;
	if (aoi_train_dataset_read(&s->main_ds, s->opts.dataset, s->opts.root, err) < 0)
		return -1;
	if (s->opts.val && aoi_train_dataset_read(&s->val_ds, s->opts.val, NULL, err) < 0)
		return -1;
	if (aoi_train_select_records(&s->opts, &s->main_ds, &s->val_ds, &s->sel, err) < 0)
		return -1;
	if (s->opts.synth && s->sel.nval == 0 && !s->opts.val && s->opts.val_split == 0) {
		/* the threshold needs good validation images: hold out a tenth */
		free(s->sel.train);
		free(s->sel.val);
		memset(&s->sel, 0, sizeof s->sel);
		s->opts.val_split = 0.1;
		if (aoi_train_select_records(&s->opts, &s->main_ds, &s->val_ds, &s->sel, err) < 0)
			return -1;
	}
	if (s->opts.synth && keep_good_only(s, err) < 0)
		return -1;
	if (!s->opts.resume && gather_classes(s, err) < 0)
		return -1;
	return setup_loaders(s, err);
}

static int open_log(aoi_train_setup *s, aoi_error *err)
{
	s->log = aoi_dist_rank(s->dist) == 0 ? stdout : NULL;
	if (s->log && s->opts.log && !(s->log = fopen(s->opts.log, "w")))
		return aoi_error_errno(err, s->opts.log, "cannot create");
	return 0;
}

/* Train; 0 done, 1 stopped by a signal, -1 error. */
int aoi_train_setup_run(aoi_train_setup *s, volatile sig_atomic_t *stop, aoi_error *err)
{
	aoi_train_opts to;
	train_opts(s, &to, stop);
	set_provenance(s, &to);
	aoi_trainer *t = aoi_trainer_new(s->net, s->train, s->val, &to, err);
	if (!t)
		return -1;
	int rc = 0;
	if (s->resume_opt)
		rc = aoi_trainer_resume(t, &s->ck, s->resume_opt, err);
	if (rc == 0)
		rc = aoi_trainer_run(t, err);
	int writer = aoi_dist_rank(s->dist) == 0;
	if (rc == 1) {
		s->stopped_epoch = aoi_trainer_progress(t)->epoch;
		s->resume_path = to.checkpoint_path ? to.checkpoint_path : to.interrupt_path;
	}
	/* a resumed run that never improved still leaves a model */
	if (rc == 0 && writer && !aoi_path_exists(s->opts.output) &&
	    aoi_model_save(s->opts.output, &s->info, s->net, err) < 0)
		rc = -1;
	if (rc == 0 && writer && s->opts.synth &&
	    aoi_train_anomaly_calibrate(s, s->anomaly_report, sizeof(s->anomaly_report), err) < 0)
		rc = -1;
	aoi_trainer_free(t);
	char line[sizeof(s->summary)];
	if (rc >= 0 && aoi_dist_size(s->dist) > 1 &&
	    aoi_dist_summary(s->dist, line, sizeof(line), err) == 0 && writer)
		snprintf(s->summary, sizeof(s->summary), "%s", line);
	return rc;
}

void aoi_train_setup_opts_init(aoi_train_setup_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->epochs = 10;
	o->batch = 8;
	o->seed = 1;
	o->cache_mb = 4096;
	o->splits = "train";
	o->optim = AOI_OPTIM_ADAM;
	o->lr = o->momentum = o->weight_decay = -1;
	o->sched = AOI_SCHED_COSINE;
	o->balance = 1;
	o->defect_windows = 0.8;
	o->warmup = -1;
	aoi_augment_opts_init(&o->aug);
	o->good = "good";
	o->coreset = 0.01;
	o->frr = 0.01;
	o->bank_max = 16384;
}

void aoi_train_setup_init(aoi_train_setup *s, const aoi_train_setup_opts *o, aoi_dist *dist)
{
	memset(s, 0, sizeof(*s));
	s->opts = *o;
	s->dist = dist;
	aoi_classes_init(&s->classes);
	aoi_model_info_init(&s->info);
	aoi_loader_opts_init(&s->lo);
}

int aoi_train_setup_build(aoi_train_setup *s, aoi_error *err)
{
	if ((s->opts.resume ? setup_resume(s, err) : setup_fresh(s, err)) < 0 ||
	    setup_data(s, err) < 0 || setup_net(s, err) < 0)
		return -1;
	return 0;
}

int aoi_train_setup_finish(aoi_train_setup *s, aoi_error *err)
{
	if ((s->opts.freeze && freeze(s, err) < 0) || setup_loss(s, err) < 0 ||
	    open_log(s, err) < 0)
		return -1;
	if (s->opts.threads > 0)
		aoi_net_set_threads(s->net, (int)s->opts.threads);
	return 0;
}
