/* aoi-train: train a named network on a dataset (lib/train.c does the
 * work; this file reads options and datasets and sets the pieces up). */
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "cli.h"
#include "dist.h"
#include "fileio.h"
#include "loader.h"
#include "model.h"
#include "record.h"
#include "train.h"

static const char *prog = "aoi-train";

typedef struct args {
	const char *arch, *output, *dataset, *root, *val, *checkpoint, *resume, *init;
	const char *freeze, *log, *loss, *augment, *class_weights, *splits, *decoder;
	long epochs, batch, threads, early_stop, max_steps, step_size, patience, cache_mb;
	long seed;
	int width_px, height_px, crop, gray, use_template;
	double val_split, width, gamma, min_lr, scale, minutes;
	int optim;
	double lr, momentum, weight_decay;
	int sched;
	aoi_augment_opts aug;
} args;

/* Records of one dataset file with their lines. */
typedef struct dataset {
	char name[4096], base[4096];
	json_t **rec;
	long *line;
	int n, cap;
} dataset;

static void usage(void)
{
	printf("Usage: %s --arch NAME [options] -o MODEL [DATASET]\n"
	       "Train a network on a JSON-lines dataset (standard input without DATASET).\n\n"
	       "  -a, --arch NAME         network (aoi-train --list), required unless --resume\n"
	       "  -o, --output MODEL      best model file (required)\n"
	       "      --list              list the architectures and exit\n"
	       "      --root DIR          base of relative paths when reading standard input\n"
	       "      --split LIST        record splits to train on (train); records without\n"
	       "                          a split are always used, 'val' records validate\n"
	       "      --val FILE          validation dataset (default: split=val records)\n"
	       "      --val-split F       hold out this share of the training records (0)\n"
	       "  -e, --epochs N          epochs in all, counting resumed ones (10)\n"
	       "  -b, --batch N           batch size (8)\n"
	       "      --max-steps N       optimiser steps per epoch at most (0: full pass)\n"
	       "      --time-limit MIN    start no epoch that would end after MIN minutes (0: none)\n"
	       "      --seed N            random seed (1)\n"
	       "  -j, --threads N         threads (0: all cores)\n"
	       "      --size WxH          network input (the architecture's default)\n"
	       "      --crop              train on random WxH windows of full-size images\n"
	       "                          (inference then tiles) instead of resizing\n"
	       "      --scale F           with --crop: shrink images by F first (1)\n"
	       "      --gray              one gray channel per image (default RGB)\n"
	       "      --template          stack the record's template as extra channels\n"
	       "      --width X           encoder width multiplier (architecture's)\n"
	       "      --decoder C,C,...   decoder channels (architecture's)\n"
	       "      --optim NAME        sgd, adam or adamw (adam)\n"
	       "      --lr X              learning rate (0.01 sgd, 0.001 adam)\n"
	       "      --momentum X        SGD momentum (0)\n"
	       "      --weight-decay X    weight decay (0; adamw 0.01)\n"
	       "      --schedule NAME     const, step, cosine or plateau (const)\n"
	       "      --step-size N       step: epochs per decay (30)\n"
	       "      --gamma X           step and plateau factor (0.1)\n"
	       "      --patience N        plateau: epochs without improvement (5)\n"
	       "      --min-lr X          lowest rate for cosine and plateau\n"
	       "      --early-stop N      stop after N epochs without improvement (0: off)\n"
	       "      --loss SPEC         ce, bce, dice, iou, mse, rect or sums like\n"
	       "                          ce+0.5*dice (ce; keypoints: rect for 4, else mse)\n"
	       "      --class-weights W   auto (median frequency) or W0,W1,... (none)\n"
	       "      --augment SPEC      e.g. flip,vflip,rot90,rot=15,crop=0.8,zoom=0.9:1.1,\n"
	       "                          shift=0.1,bright=20,contrast=0.2 (none)\n"
	       "      --cache-mb N        keep decoded inputs up to N MiB in memory (4096)\n"
	       "      --checkpoint FILE   checkpoint after every epoch, for --resume\n"
	       "                          (interrupted without it: MODEL.ckpt)\n"
	       "      --resume CKPT       continue training from a checkpoint\n"
	       "      --init MODEL        start from a model's weights (matching names)\n"
	       "      --freeze WHAT       keep a block prefix (encoder) or nodes N:M fixed\n"
	       "      --log FILE          one JSON line per epoch (standard output)\n"
	       "  -h, --help              this help\n"
	       "  -V, --version           version\n",
	       prog);
}

enum {
	OPT_LIST = 256, OPT_ROOT, OPT_SPLIT, OPT_VAL, OPT_VAL_SPLIT, OPT_MAX_STEPS, OPT_TIME_LIMIT, OPT_SEED,
	OPT_SIZE, OPT_CROP, OPT_SCALE, OPT_GRAY, OPT_TEMPLATE, OPT_WIDTH, OPT_DECODER, OPT_OPTIM, OPT_LR,
	OPT_MOMENTUM, OPT_WD, OPT_SCHEDULE, OPT_STEP_SIZE, OPT_GAMMA, OPT_PATIENCE,
	OPT_MIN_LR, OPT_EARLY, OPT_LOSS, OPT_CW, OPT_AUGMENT, OPT_CACHE, OPT_CHECKPOINT,
	OPT_RESUME, OPT_INIT, OPT_FREEZE, OPT_LOG
};

static const struct option options[] = {
	{ "arch", required_argument, NULL, 'a' },
	{ "output", required_argument, NULL, 'o' },
	{ "list", no_argument, NULL, OPT_LIST },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "split", required_argument, NULL, OPT_SPLIT },
	{ "val", required_argument, NULL, OPT_VAL },
	{ "val-split", required_argument, NULL, OPT_VAL_SPLIT },
	{ "epochs", required_argument, NULL, 'e' },
	{ "batch", required_argument, NULL, 'b' },
	{ "max-steps", required_argument, NULL, OPT_MAX_STEPS },
	{ "time-limit", required_argument, NULL, OPT_TIME_LIMIT },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "threads", required_argument, NULL, 'j' },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "crop", no_argument, NULL, OPT_CROP },
	{ "scale", required_argument, NULL, OPT_SCALE },
	{ "gray", no_argument, NULL, OPT_GRAY },
	{ "template", no_argument, NULL, OPT_TEMPLATE },
	{ "width", required_argument, NULL, OPT_WIDTH },
	{ "decoder", required_argument, NULL, OPT_DECODER },
	{ "optim", required_argument, NULL, OPT_OPTIM },
	{ "lr", required_argument, NULL, OPT_LR },
	{ "momentum", required_argument, NULL, OPT_MOMENTUM },
	{ "weight-decay", required_argument, NULL, OPT_WD },
	{ "schedule", required_argument, NULL, OPT_SCHEDULE },
	{ "step-size", required_argument, NULL, OPT_STEP_SIZE },
	{ "gamma", required_argument, NULL, OPT_GAMMA },
	{ "patience", required_argument, NULL, OPT_PATIENCE },
	{ "min-lr", required_argument, NULL, OPT_MIN_LR },
	{ "early-stop", required_argument, NULL, OPT_EARLY },
	{ "loss", required_argument, NULL, OPT_LOSS },
	{ "class-weights", required_argument, NULL, OPT_CW },
	{ "augment", required_argument, NULL, OPT_AUGMENT },
	{ "cache-mb", required_argument, NULL, OPT_CACHE },
	{ "checkpoint", required_argument, NULL, OPT_CHECKPOINT },
	{ "resume", required_argument, NULL, OPT_RESUME },
	{ "init", required_argument, NULL, OPT_INIT },
	{ "freeze", required_argument, NULL, OPT_FREEZE },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void list_archs(void)
{
	for (int i = 0; i < aoi_arch_count(); i++) {
		const aoi_arch_info *a = aoi_arch_at(i);
		printf("%-16s %-15s %dx%d  %s\n", a->name, aoi_task_name(a->task), a->input_w,
		       a->input_h, a->summary);
	}
}

static void args_init(args *a)
{
	memset(a, 0, sizeof(*a));
	a->epochs = 10;
	a->batch = 8;
	a->seed = 1;
	a->cache_mb = 4096;
	a->splits = "train";
	a->optim = AOI_OPTIM_ADAM;
	a->lr = a->momentum = a->weight_decay = -1;
	a->sched = AOI_SCHED_CONST;
	aoi_augment_opts_init(&a->aug);
}

/* Options with a value; 0, or -1 with err set. */
static int parse_value(args *a, int c, const char *v, aoi_error *err)
{
	switch (c) {
	case 'e': return aoi_cli_parse_int("--epochs", v, 1, 1000000, &a->epochs, err);
	case 'b': return aoi_cli_parse_int("--batch", v, 1, 4096, &a->batch, err);
	case 'j': return aoi_cli_parse_int("--threads", v, 0, 1024, &a->threads, err);
	case OPT_MAX_STEPS: return aoi_cli_parse_int("--max-steps", v, 0, 1L << 30, &a->max_steps, err);
	case OPT_SEED: return aoi_cli_parse_int("--seed", v, 0, 0x7fffffffffffffffL, &a->seed, err);
	case OPT_SIZE: return aoi_cli_parse_size("--size", v, &a->width_px, &a->height_px, err);
	case OPT_VAL_SPLIT: return aoi_cli_parse_double("--val-split", v, 0, 0.9, &a->val_split, err);
	case OPT_TIME_LIMIT: return aoi_cli_parse_double("--time-limit", v, 0, 1e7, &a->minutes, err);
	case OPT_SCALE: return aoi_cli_parse_double("--scale", v, 0.05, 1, &a->scale, err);
	case OPT_WIDTH: return aoi_cli_parse_double("--width", v, 0.05, 4, &a->width, err);
	case OPT_LR: return aoi_cli_parse_double("--lr", v, 1e-12, 10, &a->lr, err);
	case OPT_MOMENTUM: return aoi_cli_parse_double("--momentum", v, 0, 0.999, &a->momentum, err);
	case OPT_WD: return aoi_cli_parse_double("--weight-decay", v, 0, 1, &a->weight_decay, err);
	case OPT_STEP_SIZE: return aoi_cli_parse_int("--step-size", v, 1, 1000000, &a->step_size, err);
	case OPT_GAMMA: return aoi_cli_parse_double("--gamma", v, 1e-6, 1, &a->gamma, err);
	case OPT_PATIENCE: return aoi_cli_parse_int("--patience", v, 1, 1000000, &a->patience, err);
	case OPT_MIN_LR: return aoi_cli_parse_double("--min-lr", v, 0, 1, &a->min_lr, err);
	case OPT_EARLY: return aoi_cli_parse_int("--early-stop", v, 0, 1000000, &a->early_stop, err);
	case OPT_CACHE: return aoi_cli_parse_int("--cache-mb", v, 0, 1L << 30, &a->cache_mb, err);
	case OPT_OPTIM:
		if ((a->optim = aoi_optim_kind_parse(v)) < 0)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--optim: unknown '%s'", v);
		return 0;
	case OPT_SCHEDULE:
		if ((a->sched = aoi_sched_kind_parse(v)) < 0)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--schedule: unknown '%s'", v);
		return 0;
	}
	return aoi_error_set(err, AOI_EINVAL, NULL, 0, "unhandled option");
}

/* -1 to go on, or the exit status. */
static int parse_args(args *a, int argc, char **argv)
{
	int c;
	aoi_error err;
	args_init(a);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":a:o:e:b:j:hV", options, NULL)) != -1) {
		switch (c) {
		case 'a': a->arch = optarg; break;
		case 'o': a->output = optarg; break;
		case OPT_LIST: list_archs(); return aoi_cli_close_stdout(prog, AOI_EXIT_OK);
		case OPT_ROOT: a->root = optarg; break;
		case OPT_SPLIT: a->splits = optarg; break;
		case OPT_VAL: a->val = optarg; break;
		case OPT_CROP: a->crop = 1; break;
		case OPT_GRAY: a->gray = 1; break;
		case OPT_TEMPLATE: a->use_template = 1; break;
		case OPT_DECODER: a->decoder = optarg; break;
		case OPT_LOSS: a->loss = optarg; break;
		case OPT_CW: a->class_weights = optarg; break;
		case OPT_AUGMENT:
			a->augment = optarg;
			if (aoi_loader_parse_augment(optarg, &a->aug, &err) < 0)
				return aoi_cli_usage_error(prog, "%s", err.msg);
			break;
		case OPT_CHECKPOINT: a->checkpoint = optarg; break;
		case OPT_RESUME: a->resume = optarg; break;
		case OPT_INIT: a->init = optarg; break;
		case OPT_FREEZE: a->freeze = optarg; break;
		case OPT_LOG: a->log = optarg; break;
		case 'h': usage(); return aoi_cli_close_stdout(prog, AOI_EXIT_OK);
		case 'V': aoi_cli_version(prog); return aoi_cli_close_stdout(prog, AOI_EXIT_OK);
		case ':': return aoi_cli_usage_error(prog, "option '%s' needs a value", argv[optind - 1]);
		case '?': return aoi_cli_usage_error(prog, "unknown option '%s'", argv[optind - 1]);
		default:
			if (parse_value(a, c, optarg, &err) < 0)
				return aoi_cli_usage_error(prog, "%s", err.msg);
		}
	}
	if (optind + 1 < argc)
		return aoi_cli_usage_error(prog, "one dataset at most");
	a->dataset = optind < argc ? argv[optind] : NULL;
	if (!a->output)
		return aoi_cli_usage_error(prog, "-o MODEL is required");
	if (!a->arch && !a->resume)
		return aoi_cli_usage_error(prog, "--arch is required (see --list)");
	if (a->arch && !aoi_arch_find(a->arch))
		return aoi_cli_usage_error(prog, "--arch: unknown '%s' (see --list)", a->arch);
	if (a->val && a->val_split > 0)
		return aoi_cli_usage_error(prog, "--val and --val-split exclude each other");
	if (a->scale > 0 && a->scale != 1 && !a->crop)
		return aoi_cli_usage_error(prog, "--scale goes with --crop");
	if (a->resume && a->init)
		return aoi_cli_usage_error(prog, "--resume and --init exclude each other");
	return -1;
}

static void dataset_release(dataset *d)
{
	for (int i = 0; i < d->n; i++)
		json_decref(d->rec[i]);
	free(d->rec);
	free(d->line);
	memset(d, 0, sizeof(*d));
}

static int dataset_push(dataset *d, json_t *rec, long line, aoi_error *err)
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
static int dataset_read(dataset *d, const char *path, const char *root, aoi_error *err)
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
		if (aoi_record_check(rec, err) < 0 || dataset_push(d, rec, line, err) < 0) {
			aoi_error_locate(err, d->name, line);
			json_decref(rec);
			rc = -1;
			break;
		}
	}
	aoi_reader_free(r);
	return rc;
}

static int in_list(const char *list, const char *word)
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

/* Which records train and which validate. */
typedef struct selection {
	int *train, *val;
	int ntrain, nval;
	int val_from_main;  /* val indexes the main dataset (else the --val file) */
} selection;

static int select_records(const args *a, const dataset *main_ds, const dataset *val_ds,
			  selection *s, aoi_error *err)
{
	int n = main_ds->n;
	s->train = malloc((size_t)(n ? n : 1) * sizeof(int));
	s->val = malloc((size_t)((val_ds->n > n ? val_ds->n : n) + 1) * sizeof(int));
	if (!s->train || !s->val)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	s->val_from_main = !a->val;
	for (int i = 0; i < n; i++) {
		const char *sp = aoi_record_str(main_ds->rec[i], "split");
		if (!sp || in_list(a->splits, sp))
			s->train[s->ntrain++] = i;
		else if (!a->val && !strcmp(sp, "val"))
			s->val[s->nval++] = i;
	}
	if (a->val)
		for (int i = 0; i < val_ds->n; i++)
			s->val[s->nval++] = i;
	if (a->val_split > 0) {
		aoi_rng rng;
		aoi_rng_seed(&rng, (uint64_t)a->seed);
		aoi_rng_shuffle(&rng, s->train, (size_t)s->ntrain, sizeof(int));
		int k = (int)floor(s->ntrain * a->val_split);
		for (int i = 0; i < k; i++)
			s->val[s->nval++] = s->train[--s->ntrain];
	}
	if (s->ntrain == 0)
		return aoi_error_set(err, AOI_EINVAL, main_ds->name, 0,
				     "no training records (splits: %s)", a->splits);
	return 0;
}

/* Everything main sets up, released in one place. */
typedef struct setup {
	args a;
	dataset main_ds, val_ds;
	selection sel;
	enum aoi_task task;
	aoi_classes classes;     /* segmentation: defect classes; classification: labels */
	int npoints;
	aoi_loader_opts lo;
	aoi_loader *train, *val;
	aoi_norm norm;
	aoi_model_info info;
	aoi_net *net;
	aoi_optim *resume_opt;
	aoi_checkpoint ck;
	aoi_loss loss;
	float weights[AOI_MAX_CLASSES + 1];
	char interrupt_path[4096];
	FILE *log;
	aoi_dist *dist;          /* the processes of mpirun; one without it */
} setup;

static void setup_release(setup *s)
{
	aoi_loader_free(s->train);
	aoi_loader_free(s->val);
	aoi_net_free(s->net);
	aoi_optim_free(s->resume_opt);
	aoi_model_info_release(&s->info);
	aoi_classes_release(&s->classes);
	free(s->sel.train);
	free(s->sel.val);
	dataset_release(&s->main_ds);
	dataset_release(&s->val_ds);
	if (s->log && s->log != stdout)
		fclose(s->log);
}

/* Structure from the checkpoint: task, classes, input, normalisation. */
static int setup_resume(setup *s, aoi_error *err)
{
	s->net = aoi_checkpoint_load(s->a.resume, &s->info, &s->resume_opt, &s->ck, err);
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
			return aoi_error_set(err, AOI_EFORMAT, s->a.resume, 0, "too many classes");
	s->norm.channels = in->opts.in_channels;
	for (int c = 0; c < s->norm.channels && c < AOI_NORM_MAX; c++) {
		s->norm.mean[c] = in->mean[c];
		s->norm.std[c] = in->std[c];
	}
	if (s->task == AOI_TASK_KEYPOINTS)
		s->npoints = in->opts.classes / 2;
	return 0;
}

static int setup_fresh(setup *s, aoi_error *err)
{
	const aoi_arch_info *ai = aoi_arch_find(s->a.arch);
	s->task = ai->task;
	s->lo.width = s->a.width_px ? s->a.width_px : ai->input_w;
	s->lo.height = s->a.height_px ? s->a.height_px : ai->input_h;
	s->lo.gray = s->a.gray;
	s->lo.use_template = s->a.use_template;
	s->lo.crop = s->a.crop;
	s->lo.scale = s->a.scale;
	if (ai->fixed_size && s->lo.crop)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--crop needs a segmentation network");
	return 0;
}

/* Class names (segmentation), label names (classification) or the
 * keypoint count, from the records that train and validate. */
static int gather_classes(setup *s, aoi_error *err)
{
	const dataset *vd = s->sel.val_from_main ? &s->main_ds : &s->val_ds;
	for (int k = 0; k < s->sel.ntrain + s->sel.nval; k++) {
		int tr = k < s->sel.ntrain;
		const dataset *d = tr ? &s->main_ds : vd;
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

static aoi_loader *make_loader(const aoi_loader_opts *o, const dataset *d, const int *idx,
			       int n, aoi_error *err)
{
	aoi_loader *l = aoi_loader_new(o, err);
	for (int k = 0; l && k < n; k++)
		if (aoi_loader_add(l, d->rec[idx[k]], d->base, d->name, d->line[idx[k]], err) < 0) {
			aoi_loader_free(l);
			return NULL;
		}
	return l;
}

static int setup_loaders(setup *s, aoi_error *err)
{
	s->lo.target = s->task == AOI_TASK_SEGMENTATION     ? AOI_TARGET_MASK
		       : s->task == AOI_TASK_CLASSIFICATION ? AOI_TARGET_LABEL
							     : AOI_TARGET_POINTS;
	s->lo.npoints = s->npoints;
	s->lo.classes = &s->classes;
	s->lo.seed = (uint64_t)s->a.seed;
	s->lo.cache_limit = (size_t)s->a.cache_mb << 20;
	s->lo.augment = s->a.augment != NULL;
	s->lo.aug = s->a.aug;
	s->train = make_loader(&s->lo, &s->main_ds, s->sel.train, s->sel.ntrain, err);
	if (!s->train)
		return -1;
	if (s->sel.nval) {
		aoi_loader_opts vo = s->lo;
		vo.augment = 0;
		s->val = make_loader(&vo, s->sel.val_from_main ? &s->main_ds : &s->val_ds,
				     s->sel.val, s->sel.nval, err);
		if (!s->val)
			return -1;
	}
	if (!s->a.resume && aoi_loader_compute_norm(s->train, 1000, &s->norm, err) < 0)
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

/* The model header of a new network. */
static int setup_info(setup *s, aoi_error *err)
{
	aoi_arch_opts o;
	memset(&o, 0, sizeof(o));
	o.in_channels = aoi_loader_channels(&s->lo);
	o.classes = s->task == AOI_TASK_SEGMENTATION     ? s->classes.n + 1
		    : s->task == AOI_TASK_CLASSIFICATION ? s->classes.n
							  : 2 * s->npoints;
	o.width = s->a.width;
	o.input_w = s->lo.width;
	o.input_h = s->lo.height;
	if (s->a.decoder && parse_decoder(s->a.decoder, &o, err) < 0)
		return -1;
	if (aoi_model_info_set_arch(&s->info, s->a.arch, &o, err) < 0)
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

/* --init: weights of matching name and shape from another model. */
static int init_from(setup *s, aoi_error *err)
{
	aoi_model_info src_info;
	aoi_model_info_init(&src_info);
	aoi_net *src = aoi_model_load(s->a.init, &src_info, err);
	aoi_model_info_release(&src_info);
	if (!src)
		return -1;
	int total = 0, copied = aoi_model_transfer(s->net, src, &total);
	aoi_net_free(src);
	if (copied == 0)
		return aoi_error_set(err, AOI_EINVAL, s->a.init, 0,
				     "no tensor matches this network");
	fprintf(stderr, "%s: --init: %d of %d tensors from %s\n", prog, copied, total,
		s->a.init);
	return 0;
}

/* --freeze encoder | BLOCK-PREFIX | N:M (node range). */
static int freeze(setup *s, aoi_error *err)
{
	int first, last, changed;
	char tail;
	if (sscanf(s->a.freeze, "%d:%d%c", &first, &last, &tail) == 2)
		changed = aoi_net_freeze_nodes(s->net, first, last, 1);
	else
		changed = aoi_net_freeze_block(s->net, s->a.freeze, 1);
	if (changed <= 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--freeze %s: matches no parameters",
				     s->a.freeze);
	return 0;
}

static int setup_net(setup *s, aoi_error *err)
{
	if (s->a.resume)
		return 0;
	if (setup_info(s, err) < 0)
		return -1;
	s->net = aoi_arch_build(s->info.arch, &s->info.opts, err);
	if (!s->net)
		return -1;
	aoi_rng rng;
	aoi_rng_seed(&rng, (uint64_t)s->a.seed);
	aoi_net_init_params(s->net, &rng);
	if (s->a.init && init_from(s, err) < 0)
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

/* auto: median frequency balancing over the training masks. */
static int auto_weights(setup *s, int k, aoi_error *err)
{
	double counts[AOI_MAX_CLASSES + 1], freq[AOI_MAX_CLASSES + 1], total = 0;
	if (aoi_loader_class_pixels(s->train, counts, err) < 0)
		return -1;
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
	double median = n % 2 ? freq[n / 2] : (freq[n / 2 - 1] + freq[n / 2]) / 2;
	for (int c = 0; c < k; c++)
		s->weights[c] = counts[c] > 0 ? (float)(median / (counts[c] / total)) : 1.0f;
	return 0;
}

static int class_weights(setup *s, aoi_error *err)
{
	int k = s->task == AOI_TASK_SEGMENTATION ? s->classes.n + 1 : s->classes.n;
	if (s->task == AOI_TASK_KEYPOINTS)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--class-weights: no classes");
	if (!strcmp(s->a.class_weights, "auto")) {
		if (s->task != AOI_TASK_SEGMENTATION)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0,
					     "--class-weights auto needs segmentation");
		return auto_weights(s, k, err);
	}
	const char *p = s->a.class_weights;
	for (int c = 0; c < k; c++) {
		char *end;
		double w = strtod(p, &end);
		if (end == p || w < 0 || !isfinite(w) || (*end != ',' && *end) ||
		    (!*end && c != k - 1) || (*end == ',' && c == k - 1))
			return aoi_error_set(err, AOI_EINVAL, NULL, 0,
					     "--class-weights: want %d weights W0,W1,...", k);
		s->weights[c] = (float)w;
		p = end + 1;
	}
	return 0;
}

static int setup_loss(setup *s, aoi_error *err)
{
	const char *spec = s->a.loss;
	if (!spec)
		spec = s->task != AOI_TASK_KEYPOINTS ? "ce" : s->npoints == 4 ? "rect" : "mse";
	if (aoi_loss_parse(&s->loss, spec, err) < 0)
		return -1;
	if (!loss_fits(&s->loss, s->task))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--loss %s does not fit %s", spec,
				     aoi_task_name(s->task));
	if (s->task == AOI_TASK_SEGMENTATION)
		s->loss.opts.first_class = 1; /* dice and IoU over the defects */
	if (s->a.class_weights) {
		if (class_weights(s, err) < 0)
			return -1;
		s->loss.opts.class_weight = s->weights;
	}
	return 0;
}

/* What the model file records about its training. */
static void set_provenance(setup *s, const aoi_train_opts *to)
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
	json_object_set_new(p, "optim", json_string(aoi_optim_kind_name(to->optim.kind)));
	json_object_set_new(p, "lr", json_real(to->optim.lr));
	if (s->a.augment)
		json_object_set_new(p, "augment", json_string(s->a.augment));
	if (s->a.init)
		json_object_set_new(p, "init", json_string(s->a.init));
	aoi_model_info_set_provenance(&s->info, p);
}

static void optim_opts(const setup *s, aoi_optim_opts *o)
{
	if (s->resume_opt) {
		*o = *aoi_optim_options(s->resume_opt);
		return;
	}
	aoi_optim_opts_init(o, (enum aoi_optim_kind)s->a.optim);
	if (s->a.lr > 0)
		o->lr = s->a.lr;
	if (s->a.momentum >= 0)
		o->momentum = s->a.momentum;
	if (s->a.weight_decay >= 0)
		o->weight_decay = s->a.weight_decay;
}

static void train_opts(setup *s, aoi_train_opts *to, volatile sig_atomic_t *stop)
{
	aoi_train_opts_init(to);
	to->epochs = (int)s->a.epochs;
	to->batch = (int)s->a.batch;
	to->seed = (uint64_t)s->a.seed;
	to->task = s->task;
	to->loss = s->loss;
	optim_opts(s, &to->optim);
	to->sched = (enum aoi_sched_kind)s->a.sched;
	to->step_size = (int)s->a.step_size;
	to->gamma = s->a.gamma;
	to->patience = (int)s->a.patience;
	to->min_lr = s->a.min_lr;
	to->early_stop = (int)s->a.early_stop;
	to->max_steps = (int)s->a.max_steps;
	to->time_limit = s->a.minutes * 60;
	to->classes = s->task == AOI_TASK_SEGMENTATION ? &s->classes : NULL;
	to->log = s->log;
	to->progress = 1;
	to->stop = stop;
	to->info = &s->info;
	to->model_path = s->a.output;
	to->checkpoint_path = s->a.checkpoint;
	snprintf(s->interrupt_path, sizeof(s->interrupt_path), "%s.ckpt", s->a.output);
	to->interrupt_path = s->interrupt_path;
	to->dist = s->dist;
}

static int reads_stdin(const args *a)
{
	return !a->dataset || !strcmp(a->dataset, "-") || (a->val && !strcmp(a->val, "-"));
}

static int setup_data(setup *s, aoi_error *err)
{
	/* mpirun gives standard input to rank 0 only */
	if (reads_stdin(&s->a) && aoi_dist_share_stdin(s->dist, err) < 0)
		return -1;
	if (dataset_read(&s->main_ds, s->a.dataset, s->a.root, err) < 0)
		return -1;
	if (s->a.val && dataset_read(&s->val_ds, s->a.val, NULL, err) < 0)
		return -1;
	if (select_records(&s->a, &s->main_ds, &s->val_ds, &s->sel, err) < 0)
		return -1;
	if (!s->a.resume && gather_classes(s, err) < 0)
		return -1;
	return setup_loaders(s, err);
}

static int open_log(setup *s, aoi_error *err)
{
	s->log = aoi_dist_rank(s->dist) == 0 ? stdout : NULL;
	if (s->log && s->a.log && !(s->log = fopen(s->a.log, "w")))
		return aoi_error_errno(err, s->a.log, "cannot create");
	return 0;
}

/* Train; 0 done, 1 stopped by a signal, -1 error. */
static int train(setup *s, volatile sig_atomic_t *stop, aoi_error *err)
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
	if (rc == 1 && writer)
		fprintf(stderr, "%s: stopped after epoch %d of %d; continue with --resume %s\n",
			prog, aoi_trainer_progress(t)->epoch, to.epochs,
			to.checkpoint_path ? to.checkpoint_path : to.interrupt_path);
	/* a resumed run that never improved still leaves a model */
	if (rc == 0 && writer && !aoi_path_exists(s->a.output) &&
	    aoi_model_save(s->a.output, &s->info, s->net, err) < 0)
		rc = -1;
	aoi_trainer_free(t);
	char line[512];
	if (rc >= 0 && aoi_dist_size(s->dist) > 1 &&
	    aoi_dist_summary(s->dist, line, sizeof(line), err) == 0 && writer)
		fprintf(stderr, "%s: %s\n", prog, line);
	return rc;
}

/* Set by SIGINT/SIGTERM; the training loop polls it through a pointer. A
 * signal handler can reach nothing else, hence the one file-scope flag. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* The first signal asks for a clean stop, a second one kills. */
static void catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* mpirun passes SIGUSR1 on to every process and waits; SIGINT and
	 * SIGTERM it passes on too, but kills them a second later */
	sigaction(SIGUSR1, &sa, NULL);
}

static int setup_all(setup *s, aoi_error *err)
{
	if ((s->a.resume ? setup_resume(s, err) : setup_fresh(s, err)) < 0 ||
	    setup_data(s, err) < 0 || setup_net(s, err) < 0)
		return -1;
	if ((s->a.freeze && freeze(s, err) < 0) || setup_loss(s, err) < 0 || open_log(s, err) < 0)
		return -1;
	if (s->a.threads > 0)
		aoi_net_set_threads(s->net, (int)s->a.threads);
	return 0;
}

int main(int argc, char **argv)
{
	setup s;
	aoi_error err;
	aoi_cli_calm_threads(argv);
	memset(&s, 0, sizeof(s));
	aoi_error_clear(&err);
	int rc = parse_args(&s.a, argc, argv);
	if (rc >= 0)
		return rc;
	aoi_classes_init(&s.classes);
	aoi_model_info_init(&s.info);
	aoi_loader_opts_init(&s.lo);
	if (!(s.dist = aoi_dist_new(&err)))
		return aoi_cli_fail(prog, &err);
	s.a.threads = aoi_dist_threads(s.dist, (int)s.a.threads);
	if (s.a.threads > 0)
		omp_set_num_threads((int)s.a.threads);
	catch_signals();
	rc = setup_all(&s, &err);
	if (rc == 0)
		rc = train(&s, &stop_requested, &err);
	setup_release(&s);
	if (rc < 0)
		aoi_cli_fail(prog, &err);
	aoi_dist_free(s.dist, rc < 0); /* after an error: ends every process */
	if (rc < 0)
		return AOI_EXIT_FAILURE;
	return aoi_cli_close_stdout(prog, rc == 1 ? AOI_EXIT_FAILURE : AOI_EXIT_OK);
}
