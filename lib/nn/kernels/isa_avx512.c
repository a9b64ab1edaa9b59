/* isa_avx512.c: the kernels for AVX-512 F, BW, DQ and VL (isa.h); the
 * Makefile builds files named *_avx512.c with those -m flags on x86-64,
 * elsewhere this level is left out. */
#include "nn/kernels/isa.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && \
	defined(__AVX512VL__) && defined(__FMA__)
#define ISA_TABLE aoi_nn_kernels_avx512
#define ISA_NAME "avx512"
#define VW 16
#include "nn/kernels/body_all.h"
#else
const aoi_kernels aoi_nn_kernels_avx512 = {.built = 0, .name = "avx512"};
#endif
