// The host kernels for x86-64 with AVX2 and FMA, enabled per function (the rest of the build
// targets the baseline); host_kernels.c calls them only where the CPU has both.
#if defined(__x86_64__)
#define BS_TARGET __attribute__((target("avx2,fma")))
#define BS_ENTRY(name) bs_avx2_##name
#include "host_kernels_levels.h"
#include "host_kernels_body.h"
#endif
