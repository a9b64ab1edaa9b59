/* isa_avx2.c: the kernels for AVX2 with FMA (isa.h); the Makefile builds
 * files named *_avx2.c with -mavx2 -mfma on x86-64, elsewhere this level
 * is left out. */
#include "nn/kernels/isa.h"

#if defined(__AVX2__) && defined(__FMA__)
#define ISA_TABLE aoi_nn_kernels_avx2
#define ISA_NAME "avx2"
#define VW 8
#include "nn/kernels/body_all.h"
#else
const aoi_kernels aoi_nn_kernels_avx2 = {.built = 0, .name = "avx2"};
#endif
