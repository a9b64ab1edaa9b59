/* kernels_direct.h: private to lib/nn. Direct stride-1 convolution (see
 * body_direct.h): pad the image once, pack the weights once, then run
 * register tiles of a few vectors of pixels by a block of output channels,
 * shaped for each kernel level's registers (isa.h). */
#ifndef AOI_NN_KERNELS_DIRECT_H
#define AOI_NN_KERNELS_DIRECT_H

#include <stddef.h>

#include "nn/kernels/kernels.h"

/* Where and how a convolution writes (direct, or Winograd's for each of
 * its images): y is cout x oh x ow; with accumulate it adds (no bias, no
 * activation). */
typedef struct aoi_direct_out {
	float *y;
	int cout, oh, ow;
	const float *bias;
	enum aoi_act act;
	float alpha;
	int accumulate;
} aoi_direct_out;

size_t aoi_nn_direct_packed_floats(int cout, int cin, int k);
size_t aoi_nn_direct_padded_floats(int c, int h, int w, int p);
/* w is cout x cin x k x k; with transpose it is cin x cout x k x k and
 * taken rotated by 180 degrees (the backward of a convolution). */
void aoi_nn_direct_pack(const float *w, int cout, int cin, int k, int transpose,
			float *packed);
void aoi_nn_direct_pad(const float *x, int c, int h, int w, int p, float *xp);
/* xp: cin x hp x wp padded input; output oh = hp - d(k-1), ow likewise. */
void aoi_nn_direct_conv(const float *xp, int cin, int hp, int wp,
			const float *packed, int k, int d, const aoi_direct_out *o);

/* The pointwise (1x1, stride 1) convolution by aoi's own packed product
 * (body_gemm.h): w is cout x cin, packed once; x is cin x the output's
 * oh * ow pixels; o->y gets the result (bias, activation or accumulation
 * as o says). work holds aoi_nn_gemm_work_floats(cin, threads); at most
 * `threads` threads (and the caller's OpenMP count) run it. */
size_t aoi_nn_gemm_packed_floats(int cout, int cin);
void aoi_nn_gemm_pack(const float *w, int cout, int cin, float *packed);
size_t aoi_nn_gemm_work_floats(int cin, int threads);
void aoi_nn_gemm_conv1x1(const float *packed, const float *x, int cin,
			 const aoi_direct_out *o, int threads, float *work);

/* dw (cout x cin x k x k) += the weight gradient of one image: dy is
 * cout x oh x ow, xp the padded input as for aoi_nn_direct_conv. Meant for
 * few outputs (blocks of 4). */
void aoi_nn_direct_weight_grad(const float *xp, int cin, int hp, int wp,
			       const float *dy, int cout, int oh, int ow, int k,
			       int d, float *dw);

/* The same for 3x3 kernels and any number of outputs, two at a time with
 * all nine taps in registers. */
void aoi_nn_direct_weight_grad3(const float *xp, int cin, int hp, int wp,
				const float *dy, int cout, int oh, int ow, int d,
				float *dw);

#endif
