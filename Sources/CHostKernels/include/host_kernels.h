// The CPU backend's element-wise and attention kernels (everything but the linear layers'
// GEMM): 16-float vectors, each kernel built twice from one source, for AVX2 + FMA (enabled
// per function) and for the baseline target, chosen at run time. Both levels give the same
// bits: every operation is one IEEE rounding in a fixed order, and FMAs are fused on both
// (the baseline build calls fmaf where the CPU has no FMA unit, which is slow but exact).
//
// The kernels run on the calling thread; the caller splits the work between threads. Row
// strides (`ld*`) are in floats.
#ifndef BERTSCOPE_HOST_KERNELS_H
#define BERTSCOPE_HOST_KERNELS_H
#include <stddef.h>

#include "bs_codes.h"

/* Kernel levels. */
enum {
  BS_KERNELS_PORTABLE = 0, /* baseline target of the build (SSE2 on x86-64, NEON on aarch64) */
  BS_KERNELS_AVX2_FMA = 1, /* x86-64 with AVX2 and FMA (Intel Haswell, AMD Zen or newer) */
};

/* What attention does for one head: the raw values of Swift's `HeadMode`. */
enum {
  BS_HEAD_NORMAL = 0,  /* softmax(scale · Q Kᵀ) */
  BS_HEAD_UNIFORM = 1, /* 1/L everywhere */
  BS_HEAD_ZERO = 2,    /* 0 everywhere */
};

/* Element-wise functions of bs_vmath. */
enum {
  BS_VMATH_EXP = 0,       /* e^x: 0 below −87.34, +∞ above 88.72, relative error ≤ 2 ulp */
  BS_VMATH_ERF = 1,       /* erf(x), |error| ≤ 3.3e-7 */
  BS_VMATH_GELU = 2,      /* 0.5·x·(1 + erf(x/√2)) */
  BS_VMATH_GELU_TANH = 3, /* 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) */
  BS_VMATH_TANH = 4,      /* 1 − 2/(e^{2x} + 1) */
};

/* The fastest level this CPU runs. */
int bs_kernels_best_level(void);

/* 1 when this CPU runs `level`. A kernel handed a level the CPU cannot run (or an unknown
   one) runs the portable build instead. */
int bs_kernels_level_available(int level);

/* "AVX2+FMA" or "portable". */
const char *bs_kernels_level_name(int level);

/* Floats of scratch bs_attention_head needs for a sequence of `length` tokens and head
   size d: Kᵀ in 16-column panels, six rows of scores, (for P·V) V padded to 16 columns and six
   rows of probabilities (for P·V without a map). */
size_t bs_attention_scratch_floats(long length, long d);

/* Attention of one (sequence, head). q, k and v point at the head's first column in the
   sequence's first token row, rows `ld` apart ([length][d] each). probs: the head's
   [length][length] map, or NULL for none (then only the context, each six rows' probabilities
   in scratch). With `context` (else NULL): also P·V into context[length][d], rows
   `ldc` apart, each six query rows right after their softmax. `mode`: BS_HEAD_*; an unknown
   mode acts as BS_HEAD_ZERO. `scratch`: bs_attention_scratch_floats(length, d) floats,
   64-byte aligned for speed. */
void bs_attention_head(int level, const float *q, const float *k, const float *v, long ld, long length, long d,
                       float scale, int mode, float *probs, float *context, long ldc, float *scratch);

/* context[length][d] (rows ldc apart) = probs[length][length] · v[length][d] (rows ld apart).
   `scratch`: bs_attention_scratch_floats(length, d) floats. */
void bs_attention_context_head(int level, const float *probs, const float *v, long ld, long length, long d,
                               float *context, long ldc, float *scratch);

/* LayerNorm of `rows` rows of n floats (out may be x): (x − mean) / √(var + eps) · gamma + beta,
   mean and biased variance in two passes. */
void bs_layer_norm_rows(int level, float *out, const float *x, long rows, long n, const float *gamma,
                        const float *beta, float eps);

/* Embeddings of `count` tokens, then LayerNorm: out[t][0..<n] =
   LayerNorm((word[ids[t]] + type[segments[t]]) + position[positions[t]]) (Hugging Face's
   order). The ids, segments and positions must index rows of their tables. */
void bs_embed_rows(int level, float *out, long count, long n, const float *word, const float *position,
                   const float *type, const int *ids, const int *positions, const int *segments,
                   const float *gamma, const float *beta, float eps);

/* In place on c[rows][cols] (rows ldc apart), after the GEMM: BS_EPILOGUE_BIAS: x + bias;
   BS_EPILOGUE_BIAS_RESIDUAL: (x + bias) + residual (rows ldr apart, not overlapping c);
   BS_EPILOGUE_BIAS_ACTIVATION: act(x + bias), act a BS_ACTIVATION_* (an unknown one acts as
   ReLU); BS_EPILOGUE_NONE: nothing. bias: [cols]. */
void bs_epilogue(int level, float *c, long rows, long cols, long ldc, const float *bias, const float *residual,
                 long ldr, int epilogue, int activation);

/* out[0..<n] = f(x[0..<n]), f a BS_VMATH_* (an unknown one copies x). out may be x. */
void bs_vmath(int level, int function, float *out, const float *x, long n);

#endif
