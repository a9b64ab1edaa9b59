/* body_all.h: one kernel level (isa.h), included once by each of
 * isa_base.c, isa_avx2.c and isa_avx512.c. They define ISA_TABLE (the
 * table's name), ISA_NAME and VW, the floats in one vector register, and
 * the Makefile gives each its -m flags: the bodies below are written in
 * GCC vector extensions and compile to that level's instructions. */
#ifndef AOI_NN_KERNELS_BODY_ALL_H
#define AOI_NN_KERNELS_BODY_ALL_H

/* -std=c11 turns off contracting a * b + c into fused multiply-adds; the
 * kernels are nothing but those. */
#pragma GCC optimize("fp-contract=fast")

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>

#include "nn/kernels/isa.h"

/* one vector register of floats, aligned or not, and of ints */
typedef float vf __attribute__((vector_size(VW * sizeof(float))));
typedef float vfu __attribute__((vector_size(VW * sizeof(float)), aligned(4)));
typedef int vfi __attribute__((vector_size(VW * sizeof(int))));

#include "nn/kernels/body_misc.h"
#include "nn/kernels/body_direct.h"
#include "nn/kernels/body_winograd.h"
#include "nn/kernels/body_gemm.h"
#include "nn/kernels/body_int8.h"

const aoi_kernels ISA_TABLE = {
	.built = 1,
	.name = ISA_NAME,
	.dw_forward = dw_forward,
	.dw_backward = dw_backward,
	.dw3_backward = dw3_backward,
	.dw3_forward = dw3_forward,
	.dw3s2_backward = dw3s2_backward,
	.act_row = act_row,
	.act_forward = act_forward,
	.act_backward = act_backward,
	.bias_act = bias_act,
	.bias_grad = bias_grad,
	.accumulate = accumulate,
	.direct_packed_floats = direct_packed_floats,
	.direct_padded_floats = direct_padded_floats,
	.direct_pack = direct_pack,
	.direct_pad = direct_pad,
	.direct_conv = direct_conv,
	.direct_weight_grad = direct_weight_grad,
	.direct_weight_grad3 = direct_weight_grad3,
	.gemm_packed_floats = gemm_packed_floats,
	.gemm_pack = gemm_pack,
	.gemm_work_floats = gemm_work_floats,
	.gemm_conv1x1 = gemm_conv1x1,
	.q8_packed_shorts = q8_packed_shorts,
	.q8_work_shorts = q8_work_shorts,
	.q8_pack = q8_pack,
	.q8_quantize = q8_quantize,
	.q8_conv1x1 = q8_conv1x1,
	.winograd_filter_floats = winograd_filter_floats,
	.winograd_filter = winograd_filter,
	.winograd_work_floats = winograd_work_floats,
	.winograd_conv = winograd_conv,
	.winograd_wgrad_floats = winograd_wgrad_floats,
	.winograd_weight_grad = winograd_weight_grad,
};

#endif
