/* cpu.h: which kernels lib/nn runs on this machine. Its numeric kernels
 * are compiled for several x86-64 levels, "baseline" (x86-64 with SSE2),
 * "avx2" (AVX2 and FMA) and "avx512" (AVX-512 F/BW/DQ/VL); a process runs
 * the best one its CPU has, or a lower one named by the environment
 * variable AOI_ISA (for tests and comparisons). A build for another
 * architecture has "baseline" alone. */
#ifndef AOI_NN_CPU_H
#define AOI_NN_CPU_H

#include "base/error.h"

/* The level this process runs: "baseline", "avx2" or "avx512". */
const char *aoi_nn_kernel_level(void);
/* The best level this CPU and this build have. */
const char *aoi_nn_kernel_best(void);
/* 0 when AOI_ISA is unset or names a level (one above the CPU's runs the
 * CPU's); -1 with err set when it names none. */
int aoi_nn_kernel_env_check(aoi_error *err);

#endif
