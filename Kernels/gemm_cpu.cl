// kernel_gemm_cpu: C = epilogue(A · Wᵀ) for CPU devices (PoCL), register-blocked.
//
//   C [M, N]   row-major output
//   A [M, K]   row-major activations
//   B [ceil(N/NR)][K][NR]  the weight W [N, K] packed once at upload into NR-column panels,
//              zero-padded past N (panel p, row k holds W[p·NR + j][k] for j < NR)
//   bias [N], R [M, N] (residual, only read when epilogue == 3)
//
// One work-item computes an MR × NR tile of C in vector registers: no __local memory, no
// barriers (PoCL runs those slowly). NDRange: dim 0 = row tiles (ceil(M/MR), rounded up to
// the local size), dim 1 = panels; a work-group is a run of row tiles sharing one B panel.
//
// Build options:
//   -D MR=<1..8>     rows per work-item (default 6)
//   -D NR=<8|16|32>  panel width, must match the packing (default 16)
//   -D EXACT_ERF     the built-in (scalar on PoCL) erf for GELU instead of the rational fit
// Runtime: epilogue 0 none, 1 bias, 2 bias + activation, 3 bias + residual;
//          act 0 exact erf GELU, 1 tanh GELU, 2 ReLU.

#ifndef MR
#define MR 6
#endif
#ifndef NR
#define NR 16
#endif

#if NR == 8
typedef float8 vecN;
#define VLOADN vload8
#define VSTOREN vstore8
#elif NR == 16
typedef float16 vecN;
#define VLOADN vload16
#define VSTOREN vstore16
#elif NR == 32
// Two float16 halves; written out so the compiler keeps both in registers.
#else
#error "NR must be 8, 16 or 32"
#endif

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
DEFINE_ERF(float16)
#if NR == 8
DEFINE_ERF(float8)
#endif

#ifdef EXACT_ERF
#define ERF(T, x) erf(x)
#else
#define ERF(T, x) erf_fast_##T(x)
#endif

#define GELU_ERF(T, x) (0.5f * (x) * (1.0f + ERF(T, (x) * INV_SQRT2)))
#define GELU_TANH(x) (0.5f * (x) * (1.0f + tanh(SQRT_2_OVER_PI_F * ((x) + 0.044715f * (x) * (x) * (x)))))

#if NR == 8
#define VEC_T float8
#else
#define VEC_T float16
#endif

inline VEC_T activate(VEC_T x, int act) {
  if (act == 0) return GELU_ERF(VEC_T, x);
  if (act == 1) return GELU_TANH(x);
  return fmax(x, (VEC_T)(0.0f));
}

inline float activate1(float x, int act) {
  if (act == 0) return GELU_ERF(float, x);
  if (act == 1) return GELU_TANH(x);
  return fmax(x, 0.0f);
}

__kernel void kernel_gemm_cpu(__global float *C, __global const float *A, __global const float *B,
                              __global const float *bias, __global const float *R, int M, int N, int K,
                              int epilogue, int act) {
  const int row0 = get_global_id(0) * MR;
  const int panel = get_global_id(1);
  if (row0 >= M) return;
  const int col0 = panel * NR;
  const __global float *bp = B + (size_t)panel * K * NR;

  // Rows past M re-read the last row; their results are not stored.
  const __global float *a[MR];
#pragma unroll
  for (int i = 0; i < MR; i++) a[i] = A + (size_t)min(row0 + i, M - 1) * K;

#if NR != 32
  vecN acc[MR];
#pragma unroll
  for (int i = 0; i < MR; i++) acc[i] = (vecN)(0.0f);
  for (int k = 0; k < K; k++) {
    const vecN b = VLOADN(k, bp);
#pragma unroll
    for (int i = 0; i < MR; i++) acc[i] = fma((vecN)(a[i][k]), b, acc[i]);
  }
#else
  float16 acc[MR], acc2[MR];
#pragma unroll
  for (int i = 0; i < MR; i++) { acc[i] = (float16)(0.0f); acc2[i] = (float16)(0.0f); }
  for (int k = 0; k < K; k++) {
    const float16 b0 = vload16(2 * k, bp);
    const float16 b1 = vload16(2 * k + 1, bp);
#pragma unroll
    for (int i = 0; i < MR; i++) {
      const float16 ai = (float16)(a[i][k]);
      acc[i] = fma(ai, b0, acc[i]);
      acc2[i] = fma(ai, b1, acc2[i]);
    }
  }
#endif

  const int rows = min(MR, M - row0);
  if (col0 + NR <= N) {
#if NR != 32
    vecN bv = (epilogue > 0) ? VLOADN(0, bias + col0) : (vecN)(0.0f);
#pragma unroll
    for (int i = 0; i < MR; i++) {
      if (i < rows) {
        __global float *c = C + (size_t)(row0 + i) * N + col0;
        vecN v = acc[i] + bv;
        if (epilogue == 2) v = activate(v, act);
        else if (epilogue == 3) v += VLOADN(0, R + (size_t)(row0 + i) * N + col0);
        VSTOREN(v, 0, c);
      }
    }
#else
    float16 bv0 = (epilogue > 0) ? vload16(0, bias + col0) : (float16)(0.0f);
    float16 bv1 = (epilogue > 0) ? vload16(1, bias + col0) : (float16)(0.0f);
#pragma unroll
    for (int i = 0; i < MR; i++) {
      if (i < rows) {
        __global float *c = C + (size_t)(row0 + i) * N + col0;
        float16 v0 = acc[i] + bv0, v1 = acc2[i] + bv1;
        if (epilogue == 2) { v0 = activate(v0, act); v1 = activate(v1, act); }
        else if (epilogue == 3) {
          v0 += vload16(0, R + (size_t)(row0 + i) * N + col0);
          v1 += vload16(1, R + (size_t)(row0 + i) * N + col0);
        }
        vstore16(v0, 0, c);
        vstore16(v1, 1, c);
      }
    }
#endif
  } else {
    // Last, partial panel: element by element.
    for (int i = 0; i < rows; i++) {
      float tmp[NR];
#if NR != 32
      VSTOREN(acc[i], 0, tmp);
#else
      vstore16(acc[i], 0, tmp);
      vstore16(acc2[i], 1, tmp);
#endif
      for (int j = 0; j < N - col0; j++) {
        const int n = col0 + j;
        float v = tmp[j];
        if (epilogue > 0) v += bias[n];
        if (epilogue == 2) v = activate1(v, act);
        else if (epilogue == 3) v += R[(size_t)(row0 + i) * N + n];
        C[(size_t)(row0 + i) * N + n] = v;
      }
    }
  }
}
