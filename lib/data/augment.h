/* augment.h: geometric and photometric augmentation applied consistently to
 * an image, its template, its mask, its boxes and keypoints (seed 003's
 * random rotation, flip, crop and zoom; seed 000's flips; brightness and
 * contrast). Used by aoi-synth augment and on the fly by aoi-train.
 *
 * A transform is drawn once per sample (aoi_augment_draw) and then applied
 * to every part of the sample, so that annotations still match pixels. */
#ifndef AOI_AUGMENT_H
#define AOI_AUGMENT_H

#include "base/error.h"
#include "base/rng.h"
#include "data/mask.h"
#include "image/image.h"

typedef struct aoi_augment_opts {
	int hflip, vflip;      /* each applied with probability 1/2 when set */
	double rotate;         /* degrees: angle drawn from [-rotate, rotate] */
	int rot90;             /* also turn by 0, 90, 180 or 270 degrees at random */
	double crop;           /* keep at least this share of each side (1 = no crop) */
	double zoom_lo, zoom_hi; /* scale drawn from [lo, hi]; 1,1 = none */
	double shift;          /* translation, share of the size, drawn from [-shift, shift] */
	double brightness;     /* added offset drawn from [-b, b] (in 0..255 units) */
	double contrast;       /* gain drawn from [1 - c, 1 + c] */
} aoi_augment_opts;

/* Output pixel (x, y) samples the source at (m[0]x + m[1]y + m[2],
 * m[3]x + m[4]y + m[5]); `fwd` maps source points to output points. */
typedef struct aoi_augment {
	double inv[6], fwd[6];
	int out_w, out_h;
	double gain, offset;   /* photometric: v' = gain * v + offset */
} aoi_augment;

void aoi_augment_opts_init(aoi_augment_opts *o); /* everything off */
/* Draw a transform for a src_w x src_h sample, output out_w x out_h. */
void aoi_augment_draw(const aoi_augment_opts *o, aoi_rng *rng, int src_w, int src_h,
		      int out_w, int out_h, aoi_augment *a);
/* Bilinear, border replicated; photometric part applied. dst allocated. */
int aoi_augment_image(const aoi_augment *a, const aoi_image *src, aoi_image *dst,
		      aoi_error *err);
/* Nearest neighbour, outside = 0, no photometric part. dst allocated. */
int aoi_augment_mask(const aoi_augment *a, const aoi_mask *src, aoi_mask *dst,
		     aoi_error *err);
void aoi_augment_point(const aoi_augment *a, double *x, double *y);
/* The box's four corners mapped, then their bounding box clipped to the
 * output; returns 0 when nothing of it is left. */
int aoi_augment_box(const aoi_augment *a, double box[4]);

#endif
