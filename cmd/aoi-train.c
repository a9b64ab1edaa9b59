/* aoi-train: train a named network on a dataset (lib/train_setup.c sets
 * the run up, lib/train.c trains; this file reads the options). */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "data/loader.h"
#include "model/arch.h"
#include "train/dist.h"
#include "train/train_anomaly.h"
#include "train/train_setup.h"

static const char *const prog = "aoi-train";

typedef aoi_train_setup_opts args;

static const char usage_text[] =
	"Usage: aoi-train --arch NAME [options] -o MODEL [DATASET]\n"
	"Train a network on a JSON-lines dataset (standard input without DATASET).\n\n"
	"  -a, --arch NAME         network (aoi-train --list), required unless --resume\n"
	"                          or --init (then --init's network)\n"
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
	"                          (inference then tiles; segmentation's default)\n"
	"      --resize            resize whole images to WxH instead\n"
	"      --scale F           with --crop: shrink images by F first (1)\n"
	"      --sampling HOW      segmentation: balanced (defective and good records\n"
	"                          alternate) or uniform (balanced)\n"
	"      --defect-windows P  share of a defective record's windows placed\n"
	"                          around one of its defects (0.8)\n"
	"      --gray              one gray channel per image (default RGB)\n"
	"      --template          stack the record's template as extra channels\n"
	"      --width X           encoder width multiplier (architecture's)\n"
	"      --decoder C,C,...   decoder channels (architecture's)\n"
	"      --decision          segmentation: add an image decision head (a\n"
	"                          defective/good score per image, aoi-infer's score)\n"
	"      --optim NAME        sgd, adam or adamw (adam)\n"
	"      --lr X              learning rate (0.01 sgd, 0.001 adam)\n"
	"      --momentum X        SGD momentum (0)\n"
	"      --weight-decay X    weight decay (0; adamw 0.01)\n"
	"      --schedule NAME     const, step, cosine or plateau (cosine)\n"
	"      --warmup N          steps of linear warm-up (an epoch, at most a tenth)\n"
	"      --step-size N       step: epochs per decay (30)\n"
	"      --gamma X           step and plateau factor (0.1)\n"
	"      --patience N        plateau: epochs without improvement (5)\n"
	"      --min-lr X          lowest rate for cosine and plateau\n"
	"      --early-stop N      stop after N epochs without improvement (0: off)\n"
	"      --loss SPEC         ce, bce, dice, iou, mse, rect or sums like\n"
	"                          ce+0.5*dice (segmentation ce+dice, classification\n"
	"                          ce, keypoints rect for 4 points, else mse)\n"
	"      --class-weights W   sqrt (background by the square root of its odds),\n"
	"                          auto (median frequency), none or W0,W1,...\n"
	"                          (segmentation sqrt, else none)\n"
	"      --augment SPEC      e.g. flip,vflip,rot90,rot=15,crop=0.8,zoom=0.9:1.1,\n"
	"                          shift=0.1,bright=20,contrast=0.2 (none)\n"
	"      --cache-mb N        keep decoded inputs up to N MiB in memory (4096)\n"
	"      --checkpoint FILE   checkpoint after every epoch, for --resume\n"
	"                          (interrupted without it: MODEL.ckpt)\n"
	"      --resume CKPT       continue training from a checkpoint\n"
	"      --init MODEL        start from a model's (or ONNX file's) weights and\n"
	"                          normalisation: by name, or by structure into the\n"
	"                          encoder of another architecture\n"
	"      --mean M,M,...      input normalisation (--init's, else the images')\n"
	"      --std S,S,...       with --mean: the per-channel std\n"
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
	"  -V, --version           version\n";

static int list_archs(void *ctx, const aoi_cli_opt *opt, const char *arg, aoi_error *err)
{
	(void)ctx, (void)opt, (void)arg, (void)err;
	for (int i = 0; i < aoi_arch_count(); i++) {
		const aoi_arch_info *a = aoi_arch_at(i);
		printf("%-16s %-15s %dx%d  %s\n", a->name, aoi_task_name(a->task), a->input_w,
		       a->input_h, a->summary);
	}
	printf("%-16s %-15s %s  %s\n", "patchcore", "anomaly", "256x256",
	       "memory bank of a backbone's patch features (--backbone)");
	printf("%-16s %-15s %s  %s\n", "padim", "anomaly", "256x256",
	       "per-position Gaussians of a backbone's patch features (--backbone)");
	return AOI_CLI_DONE;
}

static int set_augment(void *ctx, const aoi_cli_opt *opt, const char *v, aoi_error *err)
{
	args *a = ctx;

	(void)opt;
	a->augment = v;
	return aoi_loader_parse_augment(v, &a->aug, err);
}

/* --optim (lo 0) and --schedule (lo 1): a name their parser knows. */
static int set_kind(void *ctx, const aoi_cli_opt *opt, const char *v, aoi_error *err)
{
	args *a = ctx;
	int *kind = opt->lo ? &a->sched : &a->optim;

	if ((*kind = opt->lo ? aoi_sched_kind_parse(v) : aoi_optim_kind_parse(v)) < 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--%s: unknown '%s'", opt->name, v);
	return 0;
}

/* --sampling: balanced or uniform. */
static int set_sampling(void *ctx, const aoi_cli_opt *opt, const char *v, aoi_error *err)
{
	args *a = ctx;

	(void)opt;
	if (strcmp(v, "balanced") != 0 && strcmp(v, "uniform") != 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "--sampling: balanced or uniform, not '%s'", v);
	a->balance = strcmp(v, "balanced") == 0;
	return 0;
}

/* The options into a, the operand into a->dataset. */
static int parse_options(args *a, int argc, char **argv)
{
	const aoi_cli_opt table[] = {
		AOI_CLI_OPT_STR('a', "arch", &a->arch),
		AOI_CLI_OPT_STR('o', "output", &a->output),
		AOI_CLI_OPT_ACTION(0, "list", list_archs),
		AOI_CLI_OPT_ROOT(&a->root),
		AOI_CLI_OPT_STR(0, "split", &a->splits),
		AOI_CLI_OPT_STR(0, "val", &a->val),
		AOI_CLI_OPT_REAL(0, "val-split", &a->val_split, 0, 0.9),
		AOI_CLI_OPT_INT('e', "epochs", &a->epochs, 1, 1000000),
		AOI_CLI_OPT_BATCH(&a->batch),
		AOI_CLI_OPT_INT(0, "max-steps", &a->max_steps, 0, 1L << 30),
		AOI_CLI_OPT_REAL(0, "time-limit", &a->minutes, 0, 1e7),
		AOI_CLI_OPT_SEED(0, &a->seed),
		AOI_CLI_OPT_THREADS(&a->threads),
		AOI_CLI_OPT_INPUT_SIZE(&a->width_px, &a->height_px),
		AOI_CLI_OPT_FLAG(0, "crop", &a->crop),
		AOI_CLI_OPT_FLAG(0, "resize", &a->resize),
		AOI_CLI_OPT_REAL(0, "scale", &a->scale, 0.05, 1),
		AOI_CLI_OPT_CALL(0, "sampling", set_sampling, 0),
		AOI_CLI_OPT_REAL(0, "defect-windows", &a->defect_windows, 0, 1),
		AOI_CLI_OPT_FLAG(0, "gray", &a->gray),
		AOI_CLI_OPT_FLAG(0, "template", &a->use_template),
		AOI_CLI_OPT_REAL(0, "width", &a->width, 0.05, 4),
		AOI_CLI_OPT_STR(0, "decoder", &a->decoder),
		AOI_CLI_OPT_FLAG(0, "decision", &a->decision),
		AOI_CLI_OPT_CALL(0, "optim", set_kind, 0),
		AOI_CLI_OPT_REAL(0, "lr", &a->lr, 1e-12, 10),
		AOI_CLI_OPT_REAL(0, "momentum", &a->momentum, 0, 0.999),
		AOI_CLI_OPT_REAL(0, "weight-decay", &a->weight_decay, 0, 1),
		AOI_CLI_OPT_CALL(0, "schedule", set_kind, 1),
		AOI_CLI_OPT_INT(0, "warmup", &a->warmup, 0, 1L << 30),
		AOI_CLI_OPT_INT(0, "step-size", &a->step_size, 1, 1000000),
		AOI_CLI_OPT_REAL(0, "gamma", &a->gamma, 1e-6, 1),
		AOI_CLI_OPT_INT(0, "patience", &a->patience, 1, 1000000),
		AOI_CLI_OPT_REAL(0, "min-lr", &a->min_lr, 0, 1),
		AOI_CLI_OPT_INT(0, "early-stop", &a->early_stop, 0, 1000000),
		AOI_CLI_OPT_STR(0, "loss", &a->loss),
		AOI_CLI_OPT_STR(0, "class-weights", &a->class_weights),
		AOI_CLI_OPT_CALL(0, "augment", set_augment, 0),
		AOI_CLI_OPT_INT(0, "cache-mb", &a->cache_mb, 0, 1L << 30),
		AOI_CLI_OPT_STR(0, "checkpoint", &a->checkpoint),
		AOI_CLI_OPT_STR(0, "resume", &a->resume),
		AOI_CLI_OPT_STR(0, "init", &a->init),
		AOI_CLI_OPT_STR(0, "mean", &a->mean),
		AOI_CLI_OPT_STR(0, "std", &a->std),
		AOI_CLI_OPT_STR(0, "freeze", &a->freeze),
		AOI_CLI_OPT_STR(0, "log", &a->log),
		AOI_CLI_OPT_STR(0, "backbone", &a->backbone),
		AOI_CLI_OPT_STR(0, "layers", &a->layers),
		AOI_CLI_OPT_REAL(0, "coreset", &a->coreset, 1e-6, 1),
		AOI_CLI_OPT_INT(0, "bank-max", &a->bank_max, 1, 1L << 26),
		AOI_CLI_OPT_INT(0, "dims", &a->dims, 1, 4096),
		AOI_CLI_OPT_STR(0, "synth", &a->synth),
		AOI_CLI_OPT_REAL(0, "frr", &a->frr, 0, 0.5),
		AOI_CLI_OPT_STR(0, "good", &a->good),
		AOI_CLI_OPT_HELP_VERSION,
		AOI_CLI_OPT_END,
	};
	aoi_cli_parser p = { .prog = prog, .usage = usage_text, .opts = table, .ctx = a };

	aoi_train_setup_opts_init(a);
	return aoi_cli_parse_dataset(&p, argc, argv, &a->dataset);
}

static int parse(void *ctx, int argc, char **argv)
{
	args *a = ctx;
	int rc = parse_options(a, argc, argv);

	if (rc != AOI_CLI_GO)
		return rc;
	if (!a->output)
		return aoi_cli_usage_error(prog, "-o MODEL is required");
	if (!a->arch && !a->resume && !a->init)
		return aoi_cli_usage_error(prog, "--arch is required (see --list)");
	if (a->resume && (a->mean || a->std))
		return aoi_cli_usage_error(prog, "--resume keeps the checkpoint's normalisation");
	if (aoi_train_is_anomaly_arch(a->arch) != !!a->backbone)
		return aoi_cli_usage_error(prog, "--backbone goes with --arch patchcore or padim");
	if (a->arch && !aoi_arch_find(a->arch) && !aoi_train_is_anomaly_arch(a->arch))
		return aoi_cli_usage_error(prog, "--arch: unknown '%s' (see --list)", a->arch);
	if (a->decision && (a->synth || aoi_train_is_anomaly_arch(a->arch)))
		return aoi_cli_usage_error(prog, "--decision: an anomaly model decides by its score");
	if (a->val && a->val_split > 0)
		return aoi_cli_usage_error(prog, "--val and --val-split exclude each other");
	if (a->crop && a->resize)
		return aoi_cli_usage_error(prog, "--crop and --resize exclude each other");
	if (a->scale > 0 && a->scale != 1 && a->resize)
		return aoi_cli_usage_error(prog, "--scale goes with --crop");
	if (a->resume && a->init)
		return aoi_cli_usage_error(prog, "--resume and --init exclude each other");
	return AOI_CLI_GO;
}

/* The setup, with what the library leaves to report; 0 done, 1 stopped
 * by a signal, -1 error. */
static int setup_and_train(aoi_train_setup *s, volatile sig_atomic_t *stop, aoi_error *err)
{
	if (aoi_train_setup_build(s, err) < 0)
		return -1;
	if (s->opts.init && s->init_layers)
		fprintf(stderr, "%s: --init: %d of %d tensors from %s (by structure: %d layers)\n",
			prog, s->init_copied, s->init_total, s->opts.init, s->init_layers);
	else if (s->opts.init)
		fprintf(stderr, "%s: --init: %d of %d tensors from %s\n", prog, s->init_copied,
			s->init_total, s->opts.init);
	if (aoi_train_setup_finish(s, err) < 0)
		return -1;
	int rc = aoi_train_setup_run(s, stop, err);
	if (rc == 1 && aoi_dist_rank(s->dist) == 0)
		fprintf(stderr, "%s: stopped after epoch %d of %d; to continue, run the same "
			"command again with --resume %s added (epochs, batch, loss, "
			"augmentation, schedule and validation are not in the checkpoint)\n",
			prog, s->stopped_epoch, (int)s->opts.epochs, s->resume_path);
	if (s->summary[0])
		fprintf(stderr, "%s: %s\n", prog, s->summary);
	if (s->anomaly_report[0])
		fprintf(stderr, "%s: %s\n", prog, s->anomaly_report);
	return rc;
}

/* --arch patchcore or padim: one pass over the good images, no training. */
static int fit_anomaly(const args *a, aoi_error *err)
{
	char report[512];

	if (aoi_train_anomaly_fit(a, report, sizeof report, err) < 0) {
		aoi_cli_fail(prog, err);
		return AOI_EXIT_FAILURE;
	}
	fprintf(stderr, "%s: %s\n", prog, report);
	return AOI_EXIT_OK;
}

/* The processes of mpirun (or one), then the setup and the training. */
static int run(void *ctx, aoi_error *err)
{
	args *a = ctx;
	aoi_train_setup s;
	aoi_dist *dist;
	volatile sig_atomic_t *stop;
	int rc;

	if (aoi_train_is_anomaly_arch(a->arch)) {
		if (a->threads > 0)
			omp_set_num_threads((int)a->threads);
		return fit_anomaly(a, err);
	}
	if (!(dist = aoi_dist_new(err)))
		return -1;
	a->threads = aoi_dist_threads(dist, (int)a->threads);
	if (a->threads > 0)
		omp_set_num_threads((int)a->threads);
	/* the first signal asks for a clean stop, a second one kills */
	stop = aoi_cli_stop_on_signals(AOI_CLI_STOP_ONCE | AOI_CLI_STOP_USR1);
	aoi_train_setup_init(&s, a, dist);
	rc = setup_and_train(&s, stop, err);
	aoi_train_setup_release(&s);
	if (rc < 0)
		aoi_cli_fail(prog, err);
	aoi_dist_free(dist, rc < 0); /* after an error: ends every process */
	return rc == 0 ? AOI_EXIT_OK : AOI_EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	const aoi_cli_prog program = { prog, parse, run };
	args a;

	return aoi_cli_main(&program, &a, argc, argv);
}
