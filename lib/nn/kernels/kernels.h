/* kernels.h: private to lib/nn. The numeric loops, apart from the layers'
 * bookkeeping: im2col/col2im for sgemm convolutions, the direct depthwise
 * convolution, activations and per-channel epilogues. Images are one NCHW
 * plane stack (C x H x W); nothing here allocates. Each function runs the
 * kernel level this CPU has (isa.h). */
#ifndef AOI_NN_KERNELS_H
#define AOI_NN_KERNELS_H

#include <stddef.h>

#include "nn/net.h"

/* A square 2-D window: kernel k, stride s, padding p, dilation d over an
 * h x w input giving oh x ow. */
typedef struct aoi_conv_geom {
	int k, s, p, d;
	int h, w, oh, ow;
} aoi_conv_geom;

/* Output columns ox whose input column ox*s + off lies in [0, w):
 * [*lo, *hi). */
void aoi_nn_valid_range(int s, int off, int w, int ow, int *lo, int *hi);

/* Columns for output rows [oy0, oy1) of c channels: a (c*k*k) x
 * ((oy1-oy0)*ow) row-major matrix, zero where the window is in padding. */
void aoi_nn_im2col(const float *x, int c, const aoi_conv_geom *g, int oy0,
		   int oy1, float *col);
/* The transpose: ADD those columns back into x. */
void aoi_nn_col2im(const float *col, int c, const aoi_conv_geom *g, int oy0,
		   int oy1, float *x);

/* Column buffer budget (floats) for one band of rows: convolutions by
 * im2col + sgemm go over bands of rows so that the columns stay small. */
#define AOI_NN_BAND_FLOATS ((size_t)1 << 21)

/* Rows of a band (at least 1, at most rows) whose columns, k floats for
 * each of cols pixels a row, fit the budget. */
static inline int aoi_nn_band_rows(size_t k, int rows, int cols)
{
	size_t r = AOI_NN_BAND_FLOATS / (k * (size_t)cols);

	if (r < 1)
		r = 1;
	return r > (size_t)rows ? rows : (int)r;
}

/* Depthwise: output channel co reads input channel co / mult. Weights are
 * cout x k x k; bias may be NULL; the activation is applied at the end. */
void aoi_nn_dw_forward(const float *x, const float *wt, const float *bias,
		       float *y, int cout, int mult, const aoi_conv_geom *g,
		       enum aoi_act act, float alpha);
/* Adds to dx (if not NULL) and dw (if not NULL) for one image. */
void aoi_nn_dw_backward(const float *x, const float *wt, const float *dy,
			float *dx, float *dw, int cout, int mult,
			const aoi_conv_geom *g);

/* The same for 3x3, stride 1, padding 1, one output per input channel
 * (MobileNetV2's), c planes of h x w, in whole vectors; work holds
 * c * aoi_nn_dw3_work_floats(h, w) floats. */
size_t aoi_nn_dw3_work_floats(int h, int w);
void aoi_nn_dw3_backward(const float *x, const float *wt, const float *dy,
			 float *dx, float *dw, int c, int h, int w, float *work);

/* The forward of the same on the zero-padded plane: no edge cases. */
void aoi_nn_dw3_forward(const float *x, const float *wt, const float *bias, float *y,
			int c, int h, int w, enum aoi_act act, float alpha, float *work);
/* Stride 2 (h and w even), the same way. */
size_t aoi_nn_dw3s2_work_floats(int h, int w);
void aoi_nn_dw3s2_backward(const float *x, const float *wt, const float *dy,
			   float *dx, float *dw, int c, int h, int w, float *work);

/* y = act(y) in place over n values; _row on the calling thread only. */
void aoi_nn_act_row(float *y, size_t n, enum aoi_act act, float alpha);
void aoi_nn_act_forward(float *y, size_t n, enum aoi_act act, float alpha);
/* dx += dy * act'(.) written with the activation's output y. */
void aoi_nn_act_backward(const float *y, const float *dy, float *dx, size_t n,
			 enum aoi_act act, float alpha);
/* y[c][i] = act(y[c][i] + bias[c]) for c planes of hw (bias may be NULL). */
void aoi_nn_bias_act(float *y, int c, size_t hw, const float *bias,
		     enum aoi_act act, float alpha);
/* db[c] += sum over the plane of dy[c]. */
void aoi_nn_bias_grad(const float *dy, int c, size_t hw, float *db);
/* dst += src over n values. */
void aoi_nn_accumulate(float *dst, const float *src, size_t n);

#endif
