// The entry points of each level's build of host_kernels_body.h (bs_portable_* everywhere,
// bs_avx2_* on x86-64), called by host_kernels.c's dispatchers.
#ifndef BERTSCOPE_HOST_KERNELS_LEVELS_H
#define BERTSCOPE_HOST_KERNELS_LEVELS_H

#define BS_DECLARE_LEVEL(prefix)                                                                                     \
  void prefix##vmath(int function, float *out, const float *x, long n);                                              \
  void prefix##layer_norm_rows(float *out, const float *x, long rows, long n, const float *gamma, const float *beta, \
                               float eps);                                                                           \
  void prefix##embed_rows(float *out, long count, long n, const float *word, const float *position,                  \
                          const float *type, const int *ids, const int *positions, const int *segments,              \
                          const float *gamma, const float *beta, float eps);                                         \
  void prefix##epilogue(float *c, long rows, long cols, long ldc, const float *bias, const float *residual, long ldr, \
                        int epilogue, int activation);                                                               \
  void prefix##attention_context_head(const float *probs, const float *v, long ld, long length, long d,              \
                                      float *context, long ldc, float *scratch);                                     \
  void prefix##attention_head(const float *q, const float *k, const float *v, long ld, long length, long d,          \
                              float scale, int mode, float *probs, float *context, long ldc, float *scratch);

BS_DECLARE_LEVEL(bs_portable_)
#if defined(__x86_64__)
BS_DECLARE_LEVEL(bs_avx2_)
#endif

#endif
