/* synth.h: synthetic training data whose labels come for free (aoi-synth).
 *
 *   board    draws photos of a board with one rectangular chip, with its
 *            corners and mask (sources for `place` when there are no photos)
 *   place    cuts the component out of a few good photos, fills the hole,
 *            pastes it back shifted and rotated: corners, mask, shift, angle
 *            and good/defective against a placement tolerance (seed 002)
 *   texture  a DAGM2007-like set of procedural textures, some with a
 *            scratch, blob or spot and its mask (seed 001)
 *   defects  paints defects onto good images: the DeepPCB classes on
 *            binarised PCB images, scratch/blob/spot on anything else
 *   augment  random rotation, flip, crop and zoom applied to image, template,
 *            masks, boxes and keypoints; --balance evens out the labels
 *            (seed 003)
 *
 * Every generator makes image i from aoi_rng_fork(seed, i) alone, so images
 * are made in parallel (OpenMP) and the same seed gives the same bytes.
 * Images (PNG) go to the output directory; records are written to `records`
 * in index order, naming files relative to job->base (the directory the
 * dataset file will be in; the working directory by default, as for a
 * dataset read from standard input). */
#ifndef AOI_SYNTH_H
#define AOI_SYNTH_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "base/error.h"
#include "base/rng.h"
#include "data/augment.h"
#include "data/mask.h"
#include "image/image.h"

/* What every subcommand shares. */
typedef struct aoi_synth_job {
	long n;              /* records to make */
	uint64_t seed;
	const char *out_dir; /* images go here (created) */
	const char *base;    /* paths in records are relative to this; NULL = "." */
	FILE *records;       /* JSON lines, in index order */
	int width, height;   /* output size; 0 = the subcommand's default */
	/* called after each batch from the calling thread (may be NULL) */
	void (*progress)(void *ctx, long done, long total);
	void *progress_ctx;
} aoi_synth_job;

/* ---- board: drawn source photos ---- */
typedef struct aoi_synth_board_opts {
	int channels; /* 3 */
} aoi_synth_board_opts;

void aoi_synth_board_opts_init(aoi_synth_board_opts *o);
/* Draw one board photo (w x h RGB) with its chip; corners c[8] = the chip's
 * top-left, top-right, bottom-left, bottom-right (x, y); mask = the chip
 * body and pins (value 1). img and mask are allocated. */
int aoi_synth_board_draw(aoi_rng *rng, int w, int h, aoi_image *img, aoi_mask *mask,
			 double corners[8], aoi_error *err);
/* job->n photos, default 256x256, records labelled good. */
int aoi_synth_board(const aoi_synth_job *job, const aoi_synth_board_opts *o,
		    aoi_error *err);

/* ---- place: shifted and rotated components (seed 002) ---- */
#define AOI_SYNTH_MAX_HOLDOUT 64

typedef struct aoi_synth_place_opts {
	const char *sources;          /* dataset of good photos, or NULL with draw_sources */
	const char *root;             /* base for the sources' relative paths (stdin) */
	int draw_sources;             /* > 0: draw this many board photos instead */
	double shift_lo, shift_hi;    /* pixels, each of dx and dy */
	double rotate_lo, rotate_hi;  /* degrees */
	double tol_px, tol_deg;       /* beyond either: label defective */
	double val;                   /* share of the non-held-out images in split val */
	int holdout;                  /* the last K sources only make test images */
	int n_holdout_ids;
	const char *holdout_ids[AOI_SYNTH_MAX_HOLDOUT];
	int fill_template;            /* fill the hole from the record's template */
} aoi_synth_place_opts;

void aoi_synth_place_opts_init(aoi_synth_place_opts *o);
int aoi_synth_place(const aoi_synth_job *job, const aoi_synth_place_opts *o,
		    aoi_error *err);

/* Fill the pixels where hole != 0 from their surroundings: peel the hole
 * from its border inwards, each pixel the mean of its known neighbours,
 * then smooth by diffusion with the border held. In place. */
int aoi_synth_inpaint(aoi_image *img, const aoi_mask *hole, aoi_error *err);

/* ---- texture: DAGM2007-like (seed 001) ---- */
enum aoi_synth_texture_labels { AOI_SYNTH_LABEL_SHAPE, AOI_SYNTH_LABEL_ELLIPSE };

typedef struct aoi_synth_texture_opts {
	int classes;      /* texture classes (1..10), default 6 */
	double defective; /* share of images with a defect, default 0.08 */
	int labels;       /* truth mask: the painted shape or its enclosing ellipse */
} aoi_synth_texture_opts;

void aoi_synth_texture_opts_init(aoi_synth_texture_opts *o);
/* One texture image of class k (a fresh realisation drawn from rng; the
 * class's own parameters come from class_seed). img is allocated. */
int aoi_synth_texture_draw(uint64_t class_seed, int k, aoi_rng *rng, int w, int h,
			   aoi_image *img, aoi_error *err);
int aoi_synth_texture(const aoi_synth_job *job, const aoi_synth_texture_opts *o,
		      aoi_error *err);

/* ---- defects painted on real images ---- */
enum aoi_synth_defect {
	AOI_DEFECT_OPEN, AOI_DEFECT_SHORT, AOI_DEFECT_MOUSEBITE, AOI_DEFECT_SPUR,
	AOI_DEFECT_COPPER, AOI_DEFECT_PINHOLE,           /* DeepPCB, binarised PCBs */
	AOI_DEFECT_SCRATCH, AOI_DEFECT_BLOB, AOI_DEFECT_SPOT, /* anything else */
	AOI_DEFECT_COUNT
};

const char *aoi_synth_defect_name(enum aoi_synth_defect d);
/* Most pixels near 0 or 255: a binarised PCB image (DeepPCB style). */
int aoi_synth_is_binary(const aoi_image *img);
/* Paint one defect of kind d onto img (gray or RGB) and set the pixels it
 * changed to `value` in mask (img's size). Every pixel set in the mask
 * differs from before and no other pixel changes. Returns 1 when painted,
 * 0 when the image offers no place for it (no trace to cut, ...). */
int aoi_synth_paint_defect(aoi_image *img, aoi_mask *mask, enum aoi_synth_defect d,
			   uint8_t value, aoi_rng *rng);

typedef struct aoi_synth_defects_opts {
	const char *on;    /* dataset of good images */
	const char *root;
	int min_defects, max_defects; /* per image, default 1..3 */
} aoi_synth_defects_opts;

void aoi_synth_defects_opts_init(aoi_synth_defects_opts *o);
int aoi_synth_defects(const aoi_synth_job *job, const aoi_synth_defects_opts *o,
		      aoi_error *err);

/* ---- augment: seed 003, and class balancing ---- */
typedef struct aoi_synth_augment_opts {
	const char *input;  /* dataset */
	const char *root;
	aoi_augment_opts aug;
	long balance;       /* > 0: every label to this many records */
} aoi_synth_augment_opts;

void aoi_synth_augment_opts_init(aoi_synth_augment_opts *o);
/* Without balance: job->n augmented copies of every record. */
int aoi_synth_augment(const aoi_synth_job *job, const aoi_synth_augment_opts *o,
		      aoi_error *err);

/* ---- anomalies painted on the fly (learning from good images) ----
 * Training a network to find anomalies on good images alone (the DRAEM,
 * CutPaste and natural-synthetic-anomaly idea): each image gets at most
 * one anomaly of a kind drawn among `kinds`:
 *   blob, scratch, spot   the painted defects above
 *   cutpaste              a rectangle (or a thin scar) of the image pasted
 *                         elsewhere in it, brighter or darker
 *   texture               an irregular smooth-edged region blended with a
 *                         procedural texture (texture above) or shaded
 * The mask gets `value` where a pixel changed by at least 4 levels. */
enum {
	AOI_SYNTH_ANOM_BLOB = 1, AOI_SYNTH_ANOM_SCRATCH = 2, AOI_SYNTH_ANOM_SPOT = 4,
	AOI_SYNTH_ANOM_CUTPASTE = 8, AOI_SYNTH_ANOM_TEXTURE = 16, AOI_SYNTH_ANOM_ALL = 31
};

typedef struct aoi_synth_anomaly_opts {
	unsigned kinds;  /* AOI_SYNTH_ANOM_* bits */
	double none;     /* share of images left as they are (0.25) */
} aoi_synth_anomaly_opts;

/* "all" or a comma list of kind names, optionally "none=F". */
int aoi_synth_anomaly_parse(const char *spec, aoi_synth_anomaly_opts *o, aoi_error *err);
/* Paint one anomaly (or, with probability o->none, none) into img (gray
 * or RGB) and mark it in mask (img's size). Returns 1 when painted, 0 when
 * not, -1 on error (out of memory). */
int aoi_synth_paint_anomaly(aoi_image *img, aoi_mask *mask, const aoi_synth_anomaly_opts *o,
			    uint8_t value, aoi_rng *rng, aoi_error *err);

/* ---- shared by the generators (synth.c) ---- */
/* Make job->n records: make(ctx, i, rng_i, &rec, err) for each i in
 * parallel batches, writing the records in index order. On failure the
 * error of the lowest failing index is returned. */
typedef int (*aoi_synth_make_fn)(void *ctx, long i, aoi_rng *rng, json_t **rec,
				 aoi_error *err);
int aoi_synth_run(const aoi_synth_job *job, long n, aoi_synth_make_fn make, void *ctx,
		  aoi_error *err);
/* out_dir/name into out; -1 when too long. */
int aoi_synth_out_path(const aoi_synth_job *job, const char *name, char *out, size_t size,
		       aoi_error *err);
/* A make function's last step: unless rc (the steps before it) failed, save
 * img as out_dir/name and hand rec out in *out; on any failure rec is
 * dropped and -1 returned. img is released either way. */
int aoi_synth_finish(const aoi_synth_job *job, int rc, const char *name, aoi_image *img,
		     json_t *rec, json_t **out, aoi_error *err);
/* out_dir/name as a record names it: relative to job->base. */
int aoi_synth_record_path(const aoi_synth_job *job, const char *name, char *out, size_t size,
			  aoi_error *err);
/* The path of `target` relative to directory `dir` (both may be relative to
 * the working directory), so that records in dir can point at it; an
 * absolute target stays as it is. */
int aoi_synth_relpath(const char *dir, const char *target, char *out, size_t size,
		      aoi_error *err);
/* An image's basic fields: id, image, width, height, channels. New object. */
json_t *aoi_synth_record_new(const char *id, const char *image, const aoi_image *img);
/* keypoints [[x,y],...] rounded to 1/100 pixel */
json_t *aoi_synth_points_json(const double *xy, int n);
/* a number rounded to 1/1000 (keeps the JSON short and stable) */
json_t *aoi_synth_real(double v);

#endif
