// The host kernels for the build's baseline target: any x86-64 or aarch64 CPU. Same source and
// same results as the AVX2 build; on x86-64 without FMA each fused multiply-add is a call to
// fmaf, so this is several times slower there.
#define BS_TARGET
#define BS_ENTRY(name) bs_portable_##name
#include "host_kernels_levels.h"
#include "host_kernels_body.h"
