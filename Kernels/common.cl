// common.cl: what the ops share. The host builds every program as this file followed by the
// op's file(s), so nothing here is a kernel; unused inline functions cost nothing.
//
//   codes        EPILOGUE_* and ACTIVATION_*, the values of Sources/CHostKernels/include/bs_codes.h
//                (KernelCodesTests checks that they agree)
//   hsum*, hmax* horizontal sum / maximum of a float4, float8, float16
//   group_*      work-group reductions over WG work-items (the _gpu kernels), for any type
//   row_sum_*, normalize_row_*  layer normalisation of one row (layer_norm.cl, embed.cl)
//   activate_*, finish_epilogue_*, apply_epilogue  the GEMM epilogues (gemm_cpu.cl, gemm_gpu.cl)
//   load_row4    four floats of a row-major [M, K] matrix, zero past its edges (the GPU GEMMs)
//
// Build options:
//   -D WG=<power of two>  work-group size of the reductions (default 128)
//   -D ROWS=<n>           query rows per block of the attention kernels (default 4)
//   -D EXACT_ERF          GELU through the built-in erf instead of the rational fit below

// ---- Codes (bs_codes.h) ------------------------------------------------------------------------

// What a GEMM applies to x = A · Wᵀ before C is stored.
#define EPILOGUE_NONE 0             // c = x
#define EPILOGUE_BIAS 1             // c = x + bias
#define EPILOGUE_BIAS_ACTIVATION 2  // c = act(x + bias)
#define EPILOGUE_BIAS_RESIDUAL 3    // c = (x + bias) + residual

// The model's activation.
#define ACTIVATION_GELU 0       // 0.5·x·(1 + erf(x/√2))
#define ACTIVATION_GELU_TANH 1  // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
#define ACTIVATION_RELU 2       // max(x, 0)

#ifndef WG
#define WG 128
#endif
// Query rows per block of the attention kernels (-D ROWS).
#ifndef ROWS
#define ROWS 4
#endif

// ---- Horizontal sums and maxima (halves combined pairwise; this order fixes the rounding) -------

inline float hsum4(float4 v) { float2 a = v.lo + v.hi; return a.x + a.y; }
inline float hsum8(float8 v) { return hsum4(v.lo + v.hi); }
inline float hsum16(float16 v) { return hsum8(v.lo + v.hi); }
inline float hmax4(float4 v) { float2 a = fmax(v.lo, v.hi); return fmax(a.x, a.y); }
inline float hmax8(float8 v) { return hmax4(fmax(v.lo, v.hi)); }
inline float hmax16(float16 v) { return hmax8(fmax(v.lo, v.hi)); }

// ---- Work-group reductions ----------------------------------------------------------------------
//
// group_{sum,max}_n_<name>(v, n, red, lid): v[0..<n] of every work-item reduced over the
// work-group, in place (every work-item gets the totals); red is n · WG elements of __local
// memory, [n][WG]. A tree: WG/2, WG/4, …, 1 partners, a barrier after each step, and a last
// barrier once the totals are read, so that red can be reused at once.
// group_{sum,max}_<name>(v, red, lid): the same for one value, returned.
// Every work-item of the work-group must call them: no return before a barrier, even a uniform
// one (PoCL miscompiles that), so kernels run whole work-groups and skip work inside loops
// instead. DEFINE_GROUP_REDUCTIONS(T, name) makes the four for type T; float's (name float) are
// made here.
#define DEFINE_GROUP_REDUCTION(T, NAME, OP)                                                \
  inline void group_##OP##_n_##NAME(T *v, int n, __local T *red, int lid) {                \
    for (int i = 0; i < n; i++) red[i * WG + lid] = v[i];                                  \
    barrier(CLK_LOCAL_MEM_FENCE);                                                          \
    for (int w = WG / 2; w > 0; w >>= 1) {                                                 \
      if (lid < w)                                                                         \
        for (int i = 0; i < n; i++) REDUCE_##OP(red[i * WG + lid], red[i * WG + lid + w]); \
      barrier(CLK_LOCAL_MEM_FENCE);                                                        \
    }                                                                                      \
    for (int i = 0; i < n; i++) v[i] = red[i * WG];                                        \
    barrier(CLK_LOCAL_MEM_FENCE);                                                          \
  }                                                                                        \
  inline T group_##OP##_##NAME(T v, __local T *red, int lid) {                             \
    group_##OP##_n_##NAME(&v, 1, red, lid);                                                \
    return v;                                                                              \
  }
#define REDUCE_sum(a, b) ((a) += (b))
#define REDUCE_max(a, b) ((a) = fmax((a), (b)))
#define DEFINE_GROUP_REDUCTIONS(T, NAME) \
  DEFINE_GROUP_REDUCTION(T, NAME, sum)   \
  DEFINE_GROUP_REDUCTION(T, NAME, max)
DEFINE_GROUP_REDUCTIONS(float, float)

// ---- Row normalisation: o = (x - mean) / sqrt(var + eps) · gamma + beta -------------------------
//
// Biased variance (as torch.nn.LayerNorm), two passes over the row; o may alias x: each element
// is read, then written, by the same work-item.

// _cpu: one work-item per row of `cols`. The row's sum: 16 lanes, their horizontal sum, then the
// columns past the last multiple of 16 in order.
inline float row_sum_cpu(__global const float *x, int cols) {
  const int nv = cols / 16;
  float16 s16 = (float16)(0.0f);
  for (int c = 0; c < nv; c++) s16 += vload16(c, x);
  float sum = hsum16(s16);
  for (int c = nv * 16; c < cols; c++) sum += x[c];
  return sum;
}

// `sum`: the row's sum as row_sum_cpu adds it.
inline void normalize_row_cpu(__global float *o, __global const float *x, float sum, __global const float *gamma,
                              __global const float *beta, int cols, float eps) {
  const int nv = cols / 16;
  const float mean = sum / (float)cols;
  float16 q16 = (float16)(0.0f);
  for (int c = 0; c < nv; c++) {
    const float16 d = vload16(c, x) - mean;
    q16 = fma(d, d, q16);
  }
  float sq = hsum16(q16);
  for (int c = nv * 16; c < cols; c++) {
    const float d = x[c] - mean;
    sq = fma(d, d, sq);
  }
  const float rstd = rsqrt(sq / (float)cols + eps);

  for (int c = 0; c < nv; c++)
    vstore16(fma((vload16(c, x) - mean) * rstd, vload16(c, gamma), vload16(c, beta)), c, o);
  for (int c = nv * 16; c < cols; c++) o[c] = fma((x[c] - mean) * rstd, gamma[c], beta[c]);
}

// _gpu: one work-group of WG work-items per row; work-item lid takes the columns c ≡ lid (mod WG)
// throughout, so o and x need no barrier between the passes.

// This work-item's share of the row's sum.
inline float row_sum_gpu(__global const float *x, int cols, int lid) {
  float sum = 0.0f;
  for (int c = lid; c < cols; c += WG) sum += x[c];
  return sum;
}

// `sum`: this work-item's share of the row's sum, its columns added in order; red: WG floats of
// __local memory. Every work-item of the work-group calls it (group_sum_float).
inline void normalize_row_gpu(__global float *o, __global const float *x, float sum, __global const float *gamma,
                              __global const float *beta, int cols, float eps, __local float *red, int lid) {
  const float mean = group_sum_float(sum, red, lid) / (float)cols;
  float sq = 0.0f;
  for (int c = lid; c < cols; c += WG) {
    const float d = x[c] - mean;
    sq = fma(d, d, sq);
  }
  const float rstd = rsqrt(group_sum_float(sq, red, lid) / (float)cols + eps);
  for (int c = lid; c < cols; c += WG) o[c] = fma((x[c] - mean) * rstd, gamma[c], beta[c]);
}

// ---- Activations --------------------------------------------------------------------------------

#define INV_SQRT2 0.70710678118654752f
#define SQRT_2_OVER_PI_F 0.79788456080286536f

// erf(x) ≈ x·P(x²)/Q(x²) on |x| ≤ 4, clamped beyond (where erf is within 2e-8 of ±1): a rational
// fit made for BertScope (least squares reweighted towards minimax), |error| ≤ 3.3e-7 in float32.
// PoCL's erf is a scalar library call (~4.5 ns an element on a 2.6 GHz core, as much time as the
// FFN GEMM itself); this one vectorises. -D EXACT_ERF uses the built-in erf instead.
#define DEFINE_ERF(T)                                                                             \
  inline T erf_fast_##T(T x) {                                                                    \
    const T c = clamp(x, -4.0f, 4.0f), t = c * c;                                                 \
    T p = fma(t, (T)(-1.36615022e-08f), (T)(4.77944811e-06f));                                    \
    p = fma(p, t, (T)(0.000382655381f));                                                          \
    p = fma(p, t, (T)(0.00383960147f));                                                           \
    p = fma(p, t, (T)(0.0543322951f));                                                            \
    p = fma(p, t, (T)(0.184715093f));                                                             \
    p = fma(p, t, (T)(1.12837918f));                                                              \
    T q = fma(t, (T)(6.39989269e-05f), (T)(0.00130954413f));                                      \
    q = fma(q, t, (T)(0.0154535332f));                                                            \
    q = fma(q, t, (T)(0.113827445f));                                                             \
    q = fma(q, t, (T)(0.497033033f));                                                             \
    q = fma(q, t, (T)(1.0f));                                                                     \
    return clamp(c * p / q, -1.0f, 1.0f);                                                         \
  }
DEFINE_ERF(float)
DEFINE_ERF(float8)
DEFINE_ERF(float16)

#ifdef EXACT_ERF
#define ERF(T, x) erf(x)
#else
#define ERF(T, x) erf_fast_##T(x)
#endif

#define GELU_ERF(T, x) (0.5f * (x) * (1.0f + ERF(T, (x) * INV_SQRT2)))
#define GELU_TANH(x) (0.5f * (x) * (1.0f + tanh(SQRT_2_OVER_PI_F * ((x) + 0.044715f * (x) * (x) * (x)))))

// activate_T(x, act): act an ACTIVATION_* code.
#define DEFINE_ACTIVATE(T)                                  \
  inline T activate_##T(T x, int act) {                     \
    if (act == ACTIVATION_GELU) return GELU_ERF(T, x);      \
    if (act == ACTIVATION_GELU_TANH) return GELU_TANH(x);   \
    return fmax(x, (T)(0.0f));                              \
  }
DEFINE_ACTIVATE(float)
DEFINE_ACTIVATE(float8)
DEFINE_ACTIVATE(float16)

// ---- GEMM epilogues -----------------------------------------------------------------------------
//
// finish_epilogue_T(v, epilogue, act, r): what follows the bias. v = x + bias (x + 0 under
// EPILOGUE_NONE); the activation, or the residual r[0..<lanes], as `epilogue` says.
#define LOAD1(i, p) ((p)[i])
#define DEFINE_EPILOGUE(T, LOAD)                                                               \
  inline T finish_epilogue_##T(T v, int epilogue, int act, __global const float *r) {          \
    if (epilogue == EPILOGUE_BIAS_ACTIVATION) v = activate_##T(v, act);                        \
    else if (epilogue == EPILOGUE_BIAS_RESIDUAL) v += LOAD(0, r);                              \
    return v;                                                                                  \
  }
DEFINE_EPILOGUE(float, LOAD1)
DEFINE_EPILOGUE(float8, vload8)
DEFINE_EPILOGUE(float16, vload16)

// One output element: x = (A · Wᵀ)[m][n], bias = &bias[n], r = &R[m][n] (read only for
// EPILOGUE_BIAS_RESIDUAL).
inline float apply_epilogue(float x, int epilogue, int act, __global const float *bias, __global const float *r) {
  if (epilogue != EPILOGUE_NONE) x += *bias;
  return finish_epilogue_float(x, epilogue, act, r);
}

// A[m][k … k + 3] of a row-major [M, K] matrix, zero past row M and column K (the last K-tile of
// gemm_gpu_vec.cl and gemm_gpu_tf32.cl, where K need not be a multiple of 4).
inline float4 load_row4(__global const float *A, int M, int K, int m, int k) {
  float4 v = (float4)(0.0f);
  if (m < M) {
    __global const float *a = A + (size_t)m * K + k;
    if (k + 3 < K) {
      v = vload4(0, a);
    } else {
      v.x = k < K ? a[0] : 0.0f;
      v.y = k + 1 < K ? a[1] : 0.0f;
      v.z = k + 2 < K ? a[2] : 0.0f;
    }
  }
  return v;
}
