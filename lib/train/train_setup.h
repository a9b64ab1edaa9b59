/* train_setup.h: everything aoi-train prepares before the training loop
 * (train.h) runs: the datasets read and checked, the records that train
 * and validate, the class names, the loaders, the network (fresh, from
 * --init or from a checkpoint), --freeze, the loss with its class weights,
 * the provenance written into the model, and the log.
 *
 * --init MODEL (an aoi model or an ONNX file) gives the new network its
 * weights and batch-norm statistics: by name when it is of the same
 * architecture (without --arch it is), else by structure into the
 * encoder (aoi_model_transfer_structure); and its input normalisation
 * unless --mean and --std give one.
 *
 * Use: aoi_train_setup_init, then aoi_train_setup_build (data and network),
 * then aoi_train_setup_finish (freeze, loss, log, threads), then
 * aoi_train_setup_run; aoi_train_setup_release in every case. Nothing here
 * prints: what cmd/aoi-train.c reports (tensors taken by --init, where to
 * resume after a stop, the all-reduce summary) is left in the struct.
 *
 * Ownership: the opts strings are borrowed (argv) and must outlive the
 * setup; everything else the setup holds it owns and releases. */
#ifndef AOI_TRAIN_SETUP_H
#define AOI_TRAIN_SETUP_H

#include <jansson.h>
#include <signal.h>
#include <stdio.h>

#include "base/error.h"
#include "data/augment.h"
#include "data/loader.h"
#include "model/arch.h"
#include "model/model.h"
#include "nn/net.h"
#include "nn/optim.h"
#include "train/dist.h"
#include "synth/synth.h"
#include "train/loss.h"
#include "train/train.h"

/* What the command line asks for; aoi_train_setup_opts_init sets the
 * defaults its usage text shows. lr, momentum and weight_decay < 0 mean
 * the optimiser's default. */
typedef struct aoi_train_setup_opts {
	const char *arch, *output, *dataset, *root, *val, *checkpoint, *resume, *init;
	const char *freeze, *log, *loss, *augment, *class_weights, *splits, *decoder;
	const char *mean, *std; /* "M,M,M": the input normalisation (default: --init's,
				 * else the training images') */
	long epochs, batch, threads, early_stop, max_steps, step_size, patience, cache_mb;
	long seed;
	int width_px, height_px, crop, resize, gray, use_template, decision;
	double val_split, width, gamma, min_lr, scale, minutes;
	/* segmentation: balanced epochs; the share of a defective record's
	 * windows around a defect; warm-up steps (-1: auto) */
	int balance;
	double defect_windows;
	long warmup;
	int optim;
	double lr, momentum, weight_decay;
	int sched;
	aoi_augment_opts aug;
	/* learning from good images only (train_anomaly.h) */
	const char *backbone;  /* patchcore, padim: a model file or an architecture name */
	const char *layers;    /* backbone blocks or nodes giving features (NULL: default) */
	const char *good;      /* the label of good records ("good") */
	const char *synth;     /* segmentation nets: paint these anomalies on the fly */
	double coreset, frr;   /* bank share kept; false-reject rate of the threshold */
	long bank_max, dims;
} aoi_train_setup_opts;

/* The records of one dataset file with their line numbers. */
typedef struct aoi_train_dataset {
	char name[4096], base[4096];
	json_t **rec;  /* owned references */
	long *line;
	int n, cap;
} aoi_train_dataset;

/* Which records train and which validate (indexes into the datasets). */
typedef struct aoi_train_selection {
	int *train, *val;
	int ntrain, nval;
	int val_from_main;  /* val indexes the main dataset (else the --val file) */
} aoi_train_selection;

typedef struct aoi_train_setup {
	aoi_train_setup_opts opts;
	aoi_train_dataset main_ds, val_ds;
	aoi_train_selection sel;
	enum aoi_task task;
	aoi_classes classes;     /* segmentation: defect classes; classification: labels */
	int npoints;
	aoi_loader_opts lo;
	aoi_loader *train, *val;
	aoi_norm norm;
	aoi_model_info info;
	aoi_net *net;
	aoi_model_info init_info; /* --init's model, until the net has its weights */
	aoi_net *init_net;
	int norm_set;            /* the normalisation came from --mean/--std or --init */
	aoi_optim *resume_opt;
	aoi_checkpoint ck;
	aoi_loss loss;
	float weights[AOI_MAX_CLASSES + 1];
	char interrupt_path[4096];
	FILE *log;
	aoi_dist *dist;          /* borrowed: the processes of mpirun */
	/* left for the caller to report */
	int init_copied, init_total;    /* --init: tensors taken of the network's */
	int init_layers;                /* --init by structure: layers matched (0: by name) */
	int stopped_epoch;              /* run returned 1: epochs completed */
	const char *resume_path;        /* run returned 1: where the checkpoint went */
	char summary[512];              /* several processes: the all-reduce summary */
	/* --synth: the painter's options (the loaders' paint hook), and what
	 * the threshold came to */
	aoi_synth_anomaly_opts synth;
	int synth_skipped;              /* training records that were not good */
	char anomaly_report[512];
} aoi_train_setup;

void aoi_train_setup_opts_init(aoi_train_setup_opts *o);

/* s takes a copy of *o and borrows dist. */
void aoi_train_setup_init(aoi_train_setup *s, const aoi_train_setup_opts *o, aoi_dist *dist);
void aoi_train_setup_release(aoi_train_setup *s);

/* Datasets, records, classes, loaders and the network; 0 or -1. */
int aoi_train_setup_build(aoi_train_setup *s, aoi_error *err);
/* --freeze, the loss, the log and the thread count; 0 or -1. */
int aoi_train_setup_finish(aoi_train_setup *s, aoi_error *err);
/* Train; 0 done, 1 stopped through *stop, -1 error. */
int aoi_train_setup_run(aoi_train_setup *s, volatile sig_atomic_t *stop, aoi_error *err);

/* The pieces, for tests and other programs. */
void aoi_train_dataset_release(aoi_train_dataset *d);
int aoi_train_dataset_push(aoi_train_dataset *d, json_t *rec, long line, aoi_error *err);
/* Every record of path (NULL: standard input), checked. */
int aoi_train_dataset_read(aoi_train_dataset *d, const char *path, const char *root,
			   aoi_error *err);
/* Whether word is in the comma-separated list ("all" holds every word). */
int aoi_train_split_listed(const char *list, const char *word);
/* Records of main in o->splits (or without a split) train; split=val ones
 * (or all of val_ds with o->val) validate; o->val_split moves a share of
 * the training records, shuffled by o->seed, to validation. s is zeroed by
 * the caller and freed with free(s->train), free(s->val). */
int aoi_train_select_records(const aoi_train_setup_opts *o, const aoi_train_dataset *main_ds,
			     const aoi_train_dataset *val_ds, aoi_train_selection *s,
			     aoi_error *err);
/* Median frequency balancing: weight[c] = median frequency / frequency of
 * class c over the classes with pixels; 1 for classes without. */
void aoi_train_median_freq_weights(const double *counts, int k, float *weights);
/* sqrt: the background (class 0) weighed by the square root of the
 * defect pixels' share over the background's, within [0.05, 1]; the
 * defect classes 1. All 1 without defect pixels. */
void aoi_train_sqrt_bg_weights(const double *counts, int k, float *weights);
/* --class-weights W0,W1,...: exactly k non-negative weights. */
int aoi_train_parse_class_weights(const char *spec, int k, float *weights, aoi_error *err);

#endif
