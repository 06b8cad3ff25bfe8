// Run-time choice between the host kernels' builds (host_kernels_avx2.c,
// host_kernels_portable.c): the level asked for where the CPU runs it, else portable.
#include "host_kernels.h"

#include "host_kernels_levels.h"

int bs_kernels_level_available(int level) {
  switch (level) {
  case BS_KERNELS_PORTABLE: return 1;
  case BS_KERNELS_AVX2_FMA: {
#if defined(__x86_64__)
    // Computed once; a race only stores the same value twice.
    static int cached = -1;
    int known = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (known < 0) {
      __builtin_cpu_init();
      known = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
      __atomic_store_n(&cached, known, __ATOMIC_RELAXED);
    }
    return known;
#else
    return 0;
#endif
  }
  default: return 0;
  }
}

int bs_kernels_best_level(void) {
  return bs_kernels_level_available(BS_KERNELS_AVX2_FMA) ? BS_KERNELS_AVX2_FMA : BS_KERNELS_PORTABLE;
}

const char *bs_kernels_level_name(int level) {
  switch (level) {
  case BS_KERNELS_PORTABLE: return "portable";
  case BS_KERNELS_AVX2_FMA: return "AVX2+FMA";
  default: return "unknown";
  }
}

size_t bs_attention_scratch_floats(long length, long d) {
  if (length <= 0 || d < 0) return 0;
  size_t padded = ((size_t)length + 15) & ~(size_t)15, dPadded = ((size_t)d + 15) & ~(size_t)15;
  return (size_t)d * padded + 6 * padded + (size_t)length * dPadded + 6 * (size_t)length;
}

// Calls the AVX2 build where `level` asks for it and the CPU has it, else the portable one.
#if defined(__x86_64__)
#define DISPATCH(level, name, ...)                                                                                   \
  do {                                                                                                               \
    if ((level) == BS_KERNELS_AVX2_FMA && bs_kernels_level_available(BS_KERNELS_AVX2_FMA))                           \
      bs_avx2_##name(__VA_ARGS__);                                                                                   \
    else                                                                                                             \
      bs_portable_##name(__VA_ARGS__);                                                                               \
  } while (0)
#else
#define DISPATCH(level, name, ...) ((void)(level), bs_portable_##name(__VA_ARGS__))
#endif

void bs_attention_head(int level, const float *q, const float *k, const float *v, long ld, long length, long d,
                       float scale, int mode, float *probs, float *context, long ldc, float *scratch) {
  DISPATCH(level, attention_head, q, k, v, ld, length, d, scale, mode, probs, context, ldc, scratch);
}

void bs_attention_context_head(int level, const float *probs, const float *v, long ld, long length, long d,
                               float *context, long ldc, float *scratch) {
  DISPATCH(level, attention_context_head, probs, v, ld, length, d, context, ldc, scratch);
}

void bs_layer_norm_rows(int level, float *out, const float *x, long rows, long n, const float *gamma,
                        const float *beta, float eps) {
  DISPATCH(level, layer_norm_rows, out, x, rows, n, gamma, beta, eps);
}

void bs_embed_rows(int level, float *out, long count, long n, const float *word, const float *position,
                   const float *type, const int *ids, const int *positions, const int *segments,
                   const float *gamma, const float *beta, float eps) {
  DISPATCH(level, embed_rows, out, count, n, word, position, type, ids, positions, segments, gamma, beta, eps);
}

void bs_epilogue(int level, float *c, long rows, long cols, long ldc, const float *bias, const float *residual,
                 long ldr, int epilogue, int activation) {
  DISPATCH(level, epilogue, c, rows, cols, ldc, bias, residual, ldr, epilogue, activation);
}

void bs_vmath(int level, int function, float *out, const float *x, long n) {
  DISPATCH(level, vmath, function, out, x, n);
}
