/* train_anomaly.h: aoi-train on good images only (issue 18, lib/anomaly).
 *
 * --arch patchcore or padim: the backbone (a model file, whose input size
 * and normalisation are kept, or an architecture name: a network with
 * seeded random weights, normalised by the training images) runs over the
 * good training records, resized to the input; their patch features are
 * fitted (anomaly.h) and written with the backbone into one model file.
 *
 * A segmentation network trained on good records with anomalies painted
 * on the fly (--synth, loader.h's paint hook, synth.h's painter) is made
 * an anomaly model after training: its map is the anomaly probability.
 *
 * Either way the threshold comes from the good validation records (split
 * val, --val, --val-split; without any, a tenth of the training records is
 * held out): the score that rejects at most a share --frr of them. The
 * maps' 16-bit scale is twice the larger of the threshold and the highest
 * validation score (1 for probabilities).
 *
 * Records are good when their label is opts->good, or when they have no
 * label and no annotation; others in the training splits are skipped. */
#ifndef AOI_TRAIN_ANOMALY_H
#define AOI_TRAIN_ANOMALY_H

#include <stddef.h>

#include "base/error.h"
#include "data/loader.h"
#include "train/train_setup.h"

/* patchcore or padim */
int aoi_train_is_anomaly_arch(const char *name);

/* Fit and write o->output; report (may be NULL) gets a summary line of
 * what was fitted and its memory. */
int aoi_train_anomaly_fit(const aoi_train_setup_opts *o, char *report, size_t size,
			  aoi_error *err);

/* Whether a record is good (see above). */
int aoi_train_record_good(const json_t *rec, const char *good);
/* Keep the good records among d's idx[0..*n-1]; returns how many went. */
int aoi_train_keep_good(const aoi_train_dataset *d, int *idx, int *n, const char *good);

/* --synth: the loader options' paint hook (spec "all" or a list of
 * kinds, synth.h), checked; ctx lives as long as the loaders. */
int aoi_train_synth_hook(const char *spec, aoi_loader_opts *lo, void *ctx, size_t ctx_size,
			 aoi_error *err);

/* After a --synth run: the model at s->opts.output becomes an anomaly
 * model (method segmentation) with its threshold from s's validation
 * records (unpainted), rewritten in place. */
int aoi_train_anomaly_calibrate(aoi_train_setup *s, char *report, size_t size,
				aoi_error *err);

#endif
