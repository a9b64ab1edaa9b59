/* optim.h: optimisers over a net's flat parameter and gradient arrays,
 * learning-rate schedules and early stopping.
 *
 * The update rules are PyTorch's (torch.optim.SGD, Adam, AdamW), applied
 * per tensor as aoi_param_info describes it: frozen tensors are skipped
 * (their state and step count do not move), weight decay applies only
 * where info.decay is set (weights, not biases or batch norm).
 *
 * All state lives in one float array (aoi_optim_state()) that checkpoints
 * save and restore as is: the step count of each tensor (exact up to 2^24
 * steps), then the first moment (SGD momentum buffer or Adam m), then
 * Adam's second moment. */
#ifndef AOI_OPTIM_H
#define AOI_OPTIM_H

#include <stddef.h>

#include "base/error.h"
#include "nn/net.h"

enum aoi_optim_kind { AOI_OPTIM_SGD, AOI_OPTIM_ADAM, AOI_OPTIM_ADAMW, AOI_OPTIM_COUNT };

typedef struct aoi_optim_opts {
	enum aoi_optim_kind kind;
	double lr;
	double momentum;     /* SGD */
	double dampening;    /* SGD */
	int nesterov;        /* SGD */
	double weight_decay; /* SGD, Adam: L2 added to the gradient; AdamW: decoupled */
	double beta1, beta2, eps; /* Adam, AdamW */
} aoi_optim_opts;

/* PyTorch's defaults for the kind: lr 0.01 (SGD) or 0.001 (Adam), beta
 * (0.9, 0.999), eps 1e-8, weight decay 0 (AdamW 0.01), no momentum. */
void aoi_optim_opts_init(aoi_optim_opts *o, enum aoi_optim_kind kind);
const char *aoi_optim_kind_name(enum aoi_optim_kind kind); /* "sgd", "adam", "adamw" */
int aoi_optim_kind_parse(const char *name);                 /* -1 if unknown */

typedef struct aoi_optim aoi_optim;

/* For `nparams` floats in `ntensors` tensors; the caller frees it. */
aoi_optim *aoi_optim_new(const aoi_optim_opts *o, size_t nparams, int ntensors,
			 aoi_error *err);
/* Sized for a net's parameters. */
aoi_optim *aoi_optim_new_for(const aoi_optim_opts *o, const aoi_net *net, aoi_error *err);
void aoi_optim_free(aoi_optim *opt);

/* Update tensor number `tensor` (its info from aoi_net_param_info) of the
 * flat arrays params/grads; does nothing for a frozen tensor. */
void aoi_optim_update_tensor(aoi_optim *opt, int tensor, const aoi_param_info *info,
			     float *params, const float *grads);
/* One step over every tensor of the net. */
void aoi_optim_step(aoi_optim *opt, aoi_net *net);

double aoi_optim_lr(const aoi_optim *opt);
void aoi_optim_set_lr(aoi_optim *opt, double lr);
const aoi_optim_opts *aoi_optim_options(const aoi_optim *opt);
/* The whole state, for checkpoints: write it out, or read into it. */
float *aoi_optim_state(aoi_optim *opt, size_t *count);

/* ---- learning-rate schedules, per epoch ---- */

enum aoi_sched_kind {
	AOI_SCHED_CONST,
	AOI_SCHED_STEP,    /* lr0 * gamma^floor(epoch / step) */
	AOI_SCHED_COSINE,  /* min + (lr0 - min) (1 + cos(pi epoch / epochs)) / 2 */
	AOI_SCHED_PLATEAU, /* lr * factor after `patience` epochs without improvement */
	AOI_SCHED_COUNT
};

/* Plain data so that a checkpoint can save every field. */
typedef struct aoi_sched {
	enum aoi_sched_kind kind;
	double lr0, min_lr;
	int step;        /* AOI_SCHED_STEP: epochs per decay */
	double gamma;    /* AOI_SCHED_STEP */
	int epochs;      /* AOI_SCHED_COSINE: length of the half period */
	double factor;   /* AOI_SCHED_PLATEAU */
	int patience;    /* AOI_SCHED_PLATEAU */
	double min_delta; /* an improvement must beat the best by more than this */
	/* running state (plateau) */
	double lr, best;
	int bad_epochs;
} aoi_sched;

/* Defaults: step 30 gamma 0.1; cosine over `epochs`; plateau seed 004's
 * factor 0.1, patience 5, min_lr 1e-10. */
void aoi_sched_init(aoi_sched *s, enum aoi_sched_kind kind, double lr0, int epochs);
const char *aoi_sched_kind_name(enum aoi_sched_kind kind); /* "const", "step", "cosine", "plateau" */
int aoi_sched_kind_parse(const char *name);
/* The learning rate for epoch `epoch` (0-based) before it starts; for
 * plateau the current rate. */
double aoi_sched_lr(const aoi_sched *s, int epoch);
/* After an epoch: report the validation loss (plateau reduces its rate as
 * Keras' ReduceLROnPlateau does: after `patience` epochs without an
 * improvement, then counts again). Returns the rate for the next epoch. */
double aoi_sched_observe(aoi_sched *s, int epoch, double val_loss);

/* Early stopping (seed 004: 15 epochs without a lower validation loss). */
typedef struct aoi_early_stop {
	int patience;
	double min_delta;
	double best;     /* HUGE_VAL until the first observation */
	int best_epoch;  /* -1 until the first observation */
	int wait;
} aoi_early_stop;

void aoi_early_stop_init(aoi_early_stop *e, int patience);
/* Report epoch's validation loss; returns 1 when training should stop.
 * e->best_epoch == epoch after the call says this epoch is the best so
 * far (save the model). */
int aoi_early_stop_observe(aoi_early_stop *e, int epoch, double val_loss);

#endif
