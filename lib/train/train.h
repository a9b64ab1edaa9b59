/* train.h: the training loop (the one in the project).
 *
 * Per epoch: the training samples in an order shuffled by (seed, epoch),
 * batches filled by the loader (augmentation drawn per sample), forward,
 * loss, backward, optimiser step; then the validation set (or, without
 * one, the training loss) decides the schedule (plateau), early stopping
 * and whether this is the best epoch so far. One JSON line per epoch goes
 * to the log:
 *   {"epoch":3,"loss":0.21,"val_loss":0.25,"miou":0.81,"f1":{"open":0.9},
 *    "lr":0.001,"seconds":12.5}
 * with "accuracy" for classification and "centre_mae" (original pixels)
 * for keypoints instead of "miou" and "f1".
 *
 * Saving (model.h): after an epoch that lowers the monitored loss the
 * model is written to `model_path` (so that it always holds the best model
 * so far); after every epoch a checkpoint (weights, optimiser state, epoch,
 * schedule, early stopping) goes to `checkpoint_path` when set. Each
 * saved model's provenance gets the epoch, losses and metric.
 *
 * Batch norm: step t of the run (counted from its first epoch, resumed
 * or not) moves the running statistics by 1/t (the mean of the batches so
 * far) instead of PyTorch's 0.1 from the initial mean 0 and variance 1,
 * until 1/t reaches 0.1.
 *
 * Stopping: when *stop becomes non-zero (a signal handler in cmd/ sets it)
 * the loop finishes the current step, saves a checkpoint and returns 1. A
 * checkpoint records the epochs completed; an interrupted epoch is run
 * again from its start on resume, with the weights it had reached. */
#ifndef AOI_TRAIN_H
#define AOI_TRAIN_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "data/loader.h"
#include "model/arch.h"
#include "model/model.h"
#include "nn/net.h"
#include "nn/optim.h"
#include "train/dist.h"
#include "train/loss.h"

typedef struct aoi_trainer aoi_trainer;

typedef struct aoi_train_opts {
	int epochs;            /* total, counting epochs done before a resume */
	int batch;
	uint64_t seed;
	enum aoi_task task;
	aoi_loss loss;
	aoi_optim_opts optim;
	enum aoi_sched_kind sched;
	int step_size;         /* step schedule: epochs per decay (0: default) */
	double gamma;          /* step schedule factor / plateau factor (0: default) */
	int patience;          /* plateau patience (0: default) */
	double min_lr;
	int early_stop;        /* epochs without improvement; 0 = off */
	int max_steps;         /* optimiser steps per epoch at most; 0 = a full pass */
	/* segmentation: rows alternate between defective and good samples
	 * (when there are both), each kind cycled through in its own order */
	int balance;
	int warmup;            /* optimiser steps that raise the rate linearly (0: none) */
	/* seconds: no epoch is started that would, at the pace of the last
	 * one, end after this (0 = no limit); such a run counts as done */
	double time_limit;
	const aoi_classes *classes; /* mask class names for the log; may be NULL */
	FILE *log;             /* one JSON line per epoch; NULL: none */
	int progress;          /* a progress line on stderr (silent if not a tty) */
	volatile sig_atomic_t *stop; /* may be NULL */
	aoi_model_info *info;  /* header of the files written; provenance updated */
	const char *model_path;      /* the best model; NULL: not written */
	const char *checkpoint_path; /* after every epoch; NULL: not written */
	const char *interrupt_path;  /* when stopped, if checkpoint_path is NULL */
	/* Data parallelism (dist.h): NULL or a group of one for a single
	 * process. With N processes each takes rows rank, rank + N, ... of
	 * every global batch of `batch` (which N must divide), gradients are
	 * summed across them, validation is split among them, they stop
	 * together, and only rank 0 writes the log, model and checkpoints. */
	aoi_dist *dist;
} aoi_train_opts;

void aoi_train_opts_init(aoi_train_opts *o); /* 10 epochs, batch 8, adam, ce */

/* net must have its parameters initialised (or loaded); it is planned here
 * for the batch and the loader's input size. val may be NULL. Nothing is
 * taken over: the caller frees net and loaders after the trainer. */
aoi_trainer *aoi_trainer_new(aoi_net *net, aoi_loader *train, aoi_loader *val,
			     const aoi_train_opts *o, aoi_error *err);
void aoi_trainer_free(aoi_trainer *t);

/* Continue from a checkpoint loaded with aoi_checkpoint_load(): its
 * progress, and the optimiser state of `opt` (the same net's). */
int aoi_trainer_resume(aoi_trainer *t, const aoi_checkpoint *ck, aoi_optim *opt,
		       aoi_error *err);
const aoi_checkpoint *aoi_trainer_progress(const aoi_trainer *t);
aoi_optim *aoi_trainer_optim(aoi_trainer *t);
aoi_net *aoi_trainer_net(aoi_trainer *t);

/* Train up to o->epochs. 0 when done (all epochs or early stopping), 1
 * when stopped by the flag, -1 on error. */
int aoi_trainer_run(aoi_trainer *t, aoi_error *err);

/* The last epoch's numbers (for reports and tests). */
typedef struct aoi_train_epoch {
	int epoch;             /* 1-based */
	double loss, val_loss; /* val_loss = loss when there is no validation set */
	double metric;         /* mean IoU, accuracy or centre MAE */
	/* segmentation with good and defective validation images: image-level
	 * AP and ROC area of the image scores; -1 otherwise */
	double image_ap, image_auroc;
	double lr, seconds;
} aoi_train_epoch;
const aoi_train_epoch *aoi_trainer_last(const aoi_trainer *t);

#endif
