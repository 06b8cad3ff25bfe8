// BertScope's host GEMM: C = epilogue(A · Wᵀ) with W packed once into 64-column panels, a
// 6 × 64 AVX-512 micro-kernel (24 accumulators, ~99 % of one core's FMA peak when its operands
// are in cache) and the bias / residual / GELU epilogue applied in registers before the one
// store of C.
//
// One thread's loops: for each block of rows of A, for each 64-column panel of W, for each
// 6 rows of the block: micro-kernel over all of k. A is read in place (six row streams; packing
// it cost more than it saved); the block (288 KiB: 192 rows at k = 384, 48 at k = 1536) and
// the current k × 64 panel stay in L2. k is never split, so every element of C is
// one chain of FMAs in k order, written once: a row's result does not depend on the rows
// around it, and c may alias residual.
#include "host_gemm.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <stdint.h>

// Vector intrinsics are never contracted into FMAs behind our back: the element-wise math
// below rounds exactly like host_kernels_body.h's.
#pragma clang fp contract(off)

#define MR 6
#define NR BS_GEMM_PANEL
#define MC 192               // most rows of A per block
#define BLOCK_FLOATS (MC * 384) // a block of A: 288 KiB, in L2 beside the current panel

int bs_gemm_available(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") ? 1 : 0;
}

// Rows of A per block for this k: BLOCK_FLOATS floats, whole micro-panels, at least one.
static int block_rows(int k) {
  int rows = k > 0 ? BLOCK_FLOATS / k / MR * MR : MC;
  return rows < MR ? MR : rows > MC ? MC : rows;
}

size_t bs_gemm_packed_count(int n, int k) { return (size_t)((n + NR - 1) / NR) * NR * (size_t)k; }

void bs_gemm_pack(const float *weight, int n, int k, float *packed) {
  for (int j0 = 0; j0 < n; j0 += NR) {
    float *panel = packed + (size_t)(j0 / NR) * NR * k;
    int width = n - j0 < NR ? n - j0 : NR;
    for (int p = 0; p < k; p++) {
      float *dst = panel + (size_t)p * NR;
      for (int c = 0; c < width; c++) dst[c] = weight[(size_t)(j0 + c) * k + p];
      for (int c = width; c < NR; c++) dst[c] = 0;
    }
  }
}

// ---- the epilogue's element-wise math: the polynomials of host_kernels_body.h ----

#define VECTOR __attribute__((target("avx512f,fma"), always_inline)) static inline

VECTOR __m512 madd(__m512 p, __m512 x, float c) { return _mm512_fmadd_ps(p, x, _mm512_set1_ps(c)); }

// erf(x) ≈ x·P(x²)/Q(x²) on |x| ≤ 4, clamped beyond: the fit of Kernels/gemm_cpu.cl and
// host_kernels_body.h's verf, |error| ≤ 3.3e-7.
VECTOR __m512 v_erf(__m512 x) {
  __m512 c = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-4)), _mm512_set1_ps(4));
  __m512 t = _mm512_mul_ps(c, c);
  __m512 p = madd(t, _mm512_set1_ps(-1.36615022e-08f), 4.77944811e-06f);
  p = madd(p, t, 0.000382655381f);
  p = madd(p, t, 0.00383960147f);
  p = madd(p, t, 0.0543322951f);
  p = madd(p, t, 0.184715093f);
  p = madd(p, t, 1.12837918f);
  __m512 q = madd(t, _mm512_set1_ps(6.39989269e-05f), 0.00130954413f);
  q = madd(q, t, 0.0154535332f);
  q = madd(q, t, 0.113827445f);
  q = madd(q, t, 0.497033033f);
  q = madd(q, t, 1.0f);
  __m512 e = _mm512_div_ps(_mm512_mul_ps(c, p), q);
  return _mm512_min_ps(_mm512_max_ps(e, _mm512_set1_ps(-1)), _mm512_set1_ps(1));
}

// e^x: 0 below −87.3, +∞ above 88.7 (see vexp).
VECTOR __m512 v_exp(__m512 x) {
  const float maxX = 88.72283f, minX = -87.33654f;
  __m512 v = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(minX)), _mm512_set1_ps(maxX));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(v, _mm512_set1_ps(1.442695040888963f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-0.693359375f), v);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = madd(p, r, 1.3981999507e-3f);
  p = madd(p, r, 8.3334519073e-3f);
  p = madd(p, r, 4.1665795894e-2f);
  p = madd(p, r, 1.6666665459e-1f);
  p = madd(p, r, 5.0000001201e-1f);
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1)));
  __m512i i = _mm512_sub_epi32(_mm512_castps_si512(_mm512_add_ps(n, _mm512_set1_ps(12582912.0f))),
                               _mm512_set1_epi32(0x4B400000));
  __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(i, _mm512_set1_epi32(127)), 23));
  __m512 e = _mm512_mul_ps(p, scale);
  e = _mm512_mask_mov_ps(e, _mm512_cmp_ps_mask(x, _mm512_set1_ps(minX), _CMP_LT_OQ), _mm512_setzero_ps());
  return _mm512_mask_mov_ps(e, _mm512_cmp_ps_mask(x, _mm512_set1_ps(maxX), _CMP_GT_OQ),
                            _mm512_set1_ps(__builtin_inff()));
}

VECTOR __m512 activate(__m512 x, int activation) {
  switch (activation) {
  case BS_ACTIVATION_GELU: {  // 0.5·x·(1 + erf(x/√2))
    __m512 half = _mm512_mul_ps(x, _mm512_set1_ps(0.5f));
    return _mm512_fmadd_ps(half, v_erf(_mm512_mul_ps(x, _mm512_set1_ps(0.7071067811865476f))), half);
  }
  case BS_ACTIVATION_GELU_TANH: {  // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), tanh = 1 − 2/(e^{2u} + 1)
    __m512 cube = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.044715f), x), x), x);
    __m512 inner = _mm512_mul_ps(_mm512_add_ps(x, cube), _mm512_set1_ps(0.7978845608028654f));
    __m512 e = v_exp(_mm512_mul_ps(_mm512_set1_ps(2), inner));
    __m512 t = _mm512_sub_ps(_mm512_set1_ps(1), _mm512_div_ps(_mm512_set1_ps(2), _mm512_add_ps(e, _mm512_set1_ps(1))));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1), t));
  }
  default:  // ReLU
    return _mm512_max_ps(x, _mm512_setzero_ps());
  }
}

// ---- micro-kernel ----

typedef struct {
  const float *bias, *residual;
  int ldr, epilogue, activation;
} Epilogue;

#define FMA_ROW(r)                                                                                                    \
  x = _mm512_set1_ps(a##r[p]);                                                                                          \
  c##r##0 = _mm512_fmadd_ps(x, b0, c##r##0);                                                                         \
  c##r##1 = _mm512_fmadd_ps(x, b1, c##r##1);                                                                         \
  c##r##2 = _mm512_fmadd_ps(x, b2, c##r##2);                                                                         \
  c##r##3 = _mm512_fmadd_ps(x, b3, c##r##3);

// c[rows][cols] = epilogue(a[rows][k] (rows lda apart) · b (k × 64, k-major)), rows ≤ 6, cols ≤ 64.
__attribute__((target("avx512f,fma,prfchw"))) static void kernel(int k, const float *restrict a, int lda,
                                                                 const float *restrict b, float *c, int ldc, int rows,
                                                                 int cols, const Epilogue *ep) {
  // Rows past `rows` repeat the last one (computed, never stored).
  const float *a0 = a, *a1 = a + (size_t)(rows > 1 ? 1 : 0) * lda, *a2 = a + (size_t)(rows > 2 ? 2 : rows - 1) * lda,
              *a3 = a + (size_t)(rows > 3 ? 3 : rows - 1) * lda, *a4 = a + (size_t)(rows > 4 ? 4 : rows - 1) * lda,
              *a5 = a + (size_t)(rows > 5 ? 5 : rows - 1) * lda;
  // Fetch C's tile for writing while the loop runs, not when the stores stall on it.
  for (int r = 0; r < rows; r++)
    for (int g = 0; g < 4; g++) _m_prefetchw(c + (size_t)r * ldc + 16 * g);
  __m512 c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23;
  __m512 c30, c31, c32, c33, c40, c41, c42, c43, c50, c51, c52, c53;
  c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = c20 = c21 = c22 = c23 = _mm512_setzero_ps();
  c30 = c31 = c32 = c33 = c40 = c41 = c42 = c43 = c50 = c51 = c52 = c53 = _mm512_setzero_ps();
  for (int p = 0; p < k; p++) {
    __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16), b2 = _mm512_loadu_ps(b + 32),
           b3 = _mm512_loadu_ps(b + 48);
    __m512 x;
    FMA_ROW(0)
    FMA_ROW(1)
    FMA_ROW(2)
    FMA_ROW(3)
    FMA_ROW(4)
    FMA_ROW(5)
    b += NR;
  }
  __m512 acc[MR][4] = {{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23},
                       {c30, c31, c32, c33}, {c40, c41, c42, c43}, {c50, c51, c52, c53}};
  __mmask16 mask[4];
  for (int g = 0; g < 4; g++) {
    int left = cols - 16 * g;
    mask[g] = left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
  }
  if (ep->epilogue != BS_EPILOGUE_NONE) {
    for (int g = 0; g < 4; g++) {
      __m512 bias = _mm512_maskz_loadu_ps(mask[g], ep->bias + 16 * g);
      for (int r = 0; r < MR; r++) acc[r][g] = _mm512_add_ps(acc[r][g], bias);
    }
  }
  if (ep->epilogue == BS_EPILOGUE_BIAS_RESIDUAL) {
    for (int r = 0; r < MR && r < rows; r++)
      for (int g = 0; g < 4; g++)
        acc[r][g] =
          _mm512_add_ps(acc[r][g], _mm512_maskz_loadu_ps(mask[g], ep->residual + (size_t)r * ep->ldr + 16 * g));
  } else if (ep->epilogue == BS_EPILOGUE_BIAS_ACTIVATION) {
    for (int r = 0; r < MR && r < rows; r++)
      for (int g = 0; g < 4; g++) acc[r][g] = activate(acc[r][g], ep->activation);
  }
  for (int r = 0; r < MR && r < rows; r++)
    for (int g = 0; g < 4; g++) _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16 * g, mask[g], acc[r][g]);
}

void bs_gemm(int m, int n, int k, const float *a, int lda, const float *packed, const float *bias,
             const float *residual, int ldr, int epilogue, int activation, float *c, int ldc) {
  int mcMax = block_rows(k);
  for (int i0 = 0; i0 < m; i0 += mcMax) {
    int mc = m - i0 < mcMax ? m - i0 : mcMax;
    for (int j0 = 0; j0 < n; j0 += NR) {
      int cols = n - j0 < NR ? n - j0 : NR;
      const float *panel = packed + (size_t)(j0 / NR) * NR * k;
      for (int i = 0; i < mc; i += MR) {
        int rows = mc - i < MR ? mc - i : MR;
        Epilogue ep = {bias + j0, residual ? residual + (size_t)(i0 + i) * ldr + j0 : 0, ldr, epilogue, activation};
        kernel(k, a + (size_t)(i0 + i) * lda, lda, panel, c + (size_t)(i0 + i) * ldc + j0, ldc, rows, cols, &ep);
      }
    }
  }
}

#else  // not x86-64: the CPU backend uses OpenBLAS

int bs_gemm_available(void) { return 0; }
size_t bs_gemm_packed_count(int n, int k) { return (size_t)n * (size_t)k; }
void bs_gemm_pack(const float *weight, int n, int k, float *packed) {
  (void)weight, (void)n, (void)k, (void)packed;
}
void bs_gemm(int m, int n, int k, const float *a, int lda, const float *packed, const float *bias,
             const float *residual, int ldr, int epilogue, int activation, float *c, int ldc) {
  (void)m, (void)n, (void)k, (void)a, (void)lda, (void)packed, (void)bias, (void)residual, (void)ldr;
  (void)epilogue, (void)activation, (void)c, (void)ldc;
}

#endif
