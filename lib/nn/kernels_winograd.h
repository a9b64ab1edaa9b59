/* kernels_winograd.h: private to lib/nn. 3x3 stride-1 convolution by
 * Winograd's F(2x2, 3x3) (kernels_winograd.c). */
#ifndef AOI_NN_KERNELS_WINOGRAD_H
#define AOI_NN_KERNELS_WINOGRAD_H

#include <stddef.h>

size_t aoi_nn_winograd_filter_floats(int cout, int cin);
/* Scratch for aoi_nn_winograd_conv (not counting the filter). */
size_t aoi_nn_winograd_work_floats(int cout, int cin, int oh, int ow);
/* The transformed filters of w (cout x cin x 3 x 3). */
void aoi_nn_winograd_filter(const float *w, int cout, int cin, float *u);
/* y (cout x oh x ow, oh = h + 2p - 2) = the convolution of one image x
 * (cin x h x w) padded by p, without bias. */
void aoi_nn_winograd_conv(const float *x, int cin, int h, int w, int p,
			  const float *u, float *y, int cout, int oh, int ow,
			  float *work);

#endif
