/* isa_base.c: the kernels for baseline x86-64 (SSE2), or for whatever
 * the compiler targets on another architecture (isa.h). */
#define ISA_TABLE aoi_nn_kernels_base
#define ISA_NAME "baseline"
#define VW 4
#include "nn/kernels/body_all.h"
