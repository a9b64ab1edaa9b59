/* aoi-train: train a named network on a dataset (lib/train_setup.c sets
 * the run up, lib/train.c trains; this file reads the options). */
#include <getopt.h>
#include <omp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "data/loader.h"
#include "model/arch.h"
#include "train/dist.h"
#include "train/train_anomaly.h"
#include "train/train_setup.h"

static const char *prog = "aoi-train";

typedef aoi_train_setup_opts args;

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
	       "Good images only (--arch patchcore or padim, or a segmentation net with --synth):\n"
	       "      --backbone MODEL    features from this model file or architecture\n"
	       "      --layers LIST       its blocks or nodes giving them (the ends of the\n"
	       "                          stride-8 and stride-16 stages)\n"
	       "      --coreset F         patchcore: share of the patches kept (0.01)\n"
	       "      --bank-max N        patchcore: memory bank rows at most (16384)\n"
	       "      --dims N            features kept (patchcore: all; padim: 100)\n"
	       "      --synth KINDS       paint anomalies on good images while training:\n"
	       "                          all or blob,scratch,spot,cutpaste,texture[,none=F]\n"
	       "      --frr F             threshold: reject this share of good validation\n"
	       "                          images (0.01)\n"
	       "      --good LABEL        the label of good records (good)\n"
	       "  -h, --help              this help\n"
	       "  -V, --version           version\n",
	       prog);
}

enum {
	OPT_LIST = 256, OPT_ROOT, OPT_SPLIT, OPT_VAL, OPT_VAL_SPLIT, OPT_MAX_STEPS, OPT_TIME_LIMIT, OPT_SEED,
	OPT_SIZE, OPT_CROP, OPT_SCALE, OPT_GRAY, OPT_TEMPLATE, OPT_WIDTH, OPT_DECODER, OPT_OPTIM, OPT_LR,
	OPT_MOMENTUM, OPT_WD, OPT_SCHEDULE, OPT_STEP_SIZE, OPT_GAMMA, OPT_PATIENCE,
	OPT_MIN_LR, OPT_EARLY, OPT_LOSS, OPT_CW, OPT_AUGMENT, OPT_CACHE, OPT_CHECKPOINT,
	OPT_RESUME, OPT_INIT, OPT_FREEZE, OPT_LOG, OPT_BACKBONE, OPT_LAYERS, OPT_CORESET,
	OPT_BANK_MAX, OPT_DIMS, OPT_SYNTH, OPT_FRR, OPT_GOOD
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
	{ "backbone", required_argument, NULL, OPT_BACKBONE },
	{ "layers", required_argument, NULL, OPT_LAYERS },
	{ "coreset", required_argument, NULL, OPT_CORESET },
	{ "bank-max", required_argument, NULL, OPT_BANK_MAX },
	{ "dims", required_argument, NULL, OPT_DIMS },
	{ "synth", required_argument, NULL, OPT_SYNTH },
	{ "frr", required_argument, NULL, OPT_FRR },
	{ "good", required_argument, NULL, OPT_GOOD },
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
	printf("%-16s %-15s %s  %s\n", "patchcore", "anomaly", "256x256",
	       "memory bank of a backbone's patch features (--backbone)");
	printf("%-16s %-15s %s  %s\n", "padim", "anomaly", "256x256",
	       "per-position Gaussians of a backbone's patch features (--backbone)");
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
	case OPT_CORESET: return aoi_cli_parse_double("--coreset", v, 1e-6, 1, &a->coreset, err);
	case OPT_BANK_MAX: return aoi_cli_parse_int("--bank-max", v, 1, 1L << 26, &a->bank_max, err);
	case OPT_DIMS: return aoi_cli_parse_int("--dims", v, 1, 4096, &a->dims, err);
	case OPT_FRR: return aoi_cli_parse_double("--frr", v, 0, 0.5, &a->frr, err);
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
	aoi_train_setup_opts_init(a);
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
		case OPT_BACKBONE: a->backbone = optarg; break;
		case OPT_LAYERS: a->layers = optarg; break;
		case OPT_SYNTH: a->synth = optarg; break;
		case OPT_GOOD: a->good = optarg; break;
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
	if (aoi_train_is_anomaly_arch(a->arch) != !!a->backbone)
		return aoi_cli_usage_error(prog, "--backbone goes with --arch patchcore or padim");
	if (a->arch && !aoi_arch_find(a->arch) && !aoi_train_is_anomaly_arch(a->arch))
		return aoi_cli_usage_error(prog, "--arch: unknown '%s' (see --list)", a->arch);
	if (a->val && a->val_split > 0)
		return aoi_cli_usage_error(prog, "--val and --val-split exclude each other");
	if (a->scale > 0 && a->scale != 1 && !a->crop)
		return aoi_cli_usage_error(prog, "--scale goes with --crop");
	if (a->resume && a->init)
		return aoi_cli_usage_error(prog, "--resume and --init exclude each other");
	return -1;
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

/* The setup, with what the library leaves to report; 0 done, 1 stopped
 * by a signal, -1 error. */
static int setup_and_train(aoi_train_setup *s, aoi_error *err)
{
	if (aoi_train_setup_build(s, err) < 0)
		return -1;
	if (s->opts.init)
		fprintf(stderr, "%s: --init: %d of %d tensors from %s\n", prog, s->init_copied,
			s->init_total, s->opts.init);
	if (aoi_train_setup_finish(s, err) < 0)
		return -1;
	int rc = aoi_train_setup_run(s, &stop_requested, err);
	if (rc == 1 && aoi_dist_rank(s->dist) == 0)
		fprintf(stderr, "%s: stopped after epoch %d of %d; continue with --resume %s\n",
			prog, s->stopped_epoch, (int)s->opts.epochs, s->resume_path);
	if (s->summary[0])
		fprintf(stderr, "%s: %s\n", prog, s->summary);
	if (s->anomaly_report[0])
		fprintf(stderr, "%s: %s\n", prog, s->anomaly_report);
	return rc;
}

int main(int argc, char **argv)
{
	args a;
	aoi_train_setup s;
	aoi_error err;
	aoi_cli_calm_threads(argv);
	aoi_error_clear(&err);
	int rc = parse_args(&a, argc, argv);
	if (rc >= 0)
		return rc;
	aoi_dist *dist = aoi_dist_new(&err);
	if (!dist)
		return aoi_cli_fail(prog, &err);
	a.threads = aoi_dist_threads(dist, (int)a.threads);
	if (a.threads > 0)
		omp_set_num_threads((int)a.threads);
	catch_signals();
	if (aoi_train_is_anomaly_arch(a.arch)) {
		char report[512];
		rc = aoi_train_anomaly_fit(&a, report, sizeof(report), &err);
		aoi_dist_free(dist, rc < 0);
		if (rc < 0)
			return aoi_cli_fail(prog, &err);
		fprintf(stderr, "%s: %s\n", prog, report);
		return aoi_cli_close_stdout(prog, AOI_EXIT_OK);
	}
	aoi_train_setup_init(&s, &a, dist);
	rc = setup_and_train(&s, &err);
	aoi_train_setup_release(&s);
	if (rc < 0)
		aoi_cli_fail(prog, &err);
	aoi_dist_free(dist, rc < 0); /* after an error: ends every process */
	if (rc < 0)
		return AOI_EXIT_FAILURE;
	return aoi_cli_close_stdout(prog, rc == 1 ? AOI_EXIT_FAILURE : AOI_EXIT_OK);
}
