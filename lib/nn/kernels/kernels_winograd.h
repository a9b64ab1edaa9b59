/* kernels_winograd.h: private to lib/nn. 3x3 stride-1 convolution by
 * Winograd's F(4x4, 3x3) over a whole batch (body_winograd.h). */
#ifndef AOI_NN_KERNELS_WINOGRAD_H
#define AOI_NN_KERNELS_WINOGRAD_H

#include <stddef.h>

#include "nn/kernels/kernels_direct.h"

/* One convolution of n images x (cin x h x w) by k x k kernels, stride
 * 1, into out (n images of it, one after the other): output (oy, ox)
 * reads the window whose top-left input pixel is (oy + top, ox + left),
 * zero outside the image (top = left = -padding). Kernels larger than 3x3
 * run as their 3x3 windows at multiples of 3 (a 5x5 as four), each by
 * Winograd. */
typedef struct aoi_wino_job {
	const float *x;
	int n, cin, h, w, top, left, k;
	aoi_direct_out out;
} aoi_wino_job;

size_t aoi_nn_winograd_filter_floats(int cout, int cin, int k);
/* The transformed filters of w, cout x cin x k x k; with transpose w is
 * cin x cout x k x k taken rotated by 180 degrees (the backward of a
 * convolution to its input). */
void aoi_nn_winograd_filter(const float *w, int cout, int cin, int k,
			    int transpose, float *u);
/* Scratch for aoi_nn_winograd_conv with up to `threads` threads. */
size_t aoi_nn_winograd_work_floats(int cout, int cin, int threads);
/* Threads over blocks of tiles, at most `threads` (the scratch's room)
 * and the calling thread's OpenMP count; every output is computed by one
 * thread in one order, whatever their number. u from
 * aoi_nn_winograd_filter. */
void aoi_nn_winograd_conv(const aoi_wino_job *j, const float *u, int threads,
			  float *work);

/* The weight gradient the same way: dw (cout x cin x k x k) += the
 * correlation of the inputs j->x with the output gradients, here j->out.y
 * (n x cout x oh x ow; its bias, act and accumulate are not used). Its
 * sums run through sgemm (OpenBLAS threads). */
size_t aoi_nn_winograd_wgrad_floats(int cout, int cin, int k, int n, int oh, int ow);
void aoi_nn_winograd_weight_grad(const aoi_wino_job *j, float *dw, float *work);

#endif
