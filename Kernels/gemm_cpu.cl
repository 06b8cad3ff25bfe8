// kernel_gemm_cpu: C = epilogue(A · Wᵀ) for CPU devices (PoCL), register-blocked.
//
//   C [M, N]   row-major output
//   A [M, K]   row-major activations
//   B [ceil(N/NR)][K][NR]  the weight W [N, K] packed once at upload into NR-column panels,
//              zero-padded past N (panel p, row k holds W[p·NR + j][k] for j < NR)
//   bias [N], R [M, N] (residual, only read under EPILOGUE_BIAS_RESIDUAL)
//
// One work-item computes an MR × NR tile of C in vector registers: no __local memory, no
// barriers (PoCL runs those slowly). NDRange: dim 0 = row tiles (ceil(M/MR), rounded up to
// the local size), dim 1 = panels; a work-group is a run of row tiles sharing one B panel.
//
// Build options:
//   -D MR=<1..8>     rows per work-item (default 6)
//   -D NR=<8|16|32>  panel width, must match the packing (default 16)
//   -D EXACT_ERF     the built-in (scalar on PoCL) erf for GELU instead of common.cl's rational fit
// Runtime: epilogue an EPILOGUE_* code, act an ACTIVATION_* code (common.cl, = bs_codes.h);
//          the epilogue is common.cl's, shared with gemm_gpu.cl.

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
#define FINISH_EPILOGUE_N finish_epilogue_float8
#elif NR == 16
typedef float16 vecN;
#define VLOADN vload16
#define VSTOREN vstore16
#define FINISH_EPILOGUE_N finish_epilogue_float16
#elif NR == 32
// Two float16 halves; written out so the compiler keeps both in registers.
#else
#error "NR must be 8, 16 or 32"
#endif

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
    vecN bv = (epilogue != EPILOGUE_NONE) ? VLOADN(0, bias + col0) : (vecN)(0.0f);
#pragma unroll
    for (int i = 0; i < MR; i++) {
      if (i < rows) {
        const size_t off = (size_t)(row0 + i) * N + col0;
        VSTOREN(FINISH_EPILOGUE_N(acc[i] + bv, epilogue, act, R + off), 0, C + off);
      }
    }
#else
    float16 bv0 = (epilogue != EPILOGUE_NONE) ? vload16(0, bias + col0) : (float16)(0.0f);
    float16 bv1 = (epilogue != EPILOGUE_NONE) ? vload16(1, bias + col0) : (float16)(0.0f);
#pragma unroll
    for (int i = 0; i < MR; i++) {
      if (i < rows) {
        const size_t off = (size_t)(row0 + i) * N + col0;
        const float16 v0 = finish_epilogue_float16(acc[i] + bv0, epilogue, act, R + off);
        const float16 v1 = finish_epilogue_float16(acc2[i] + bv1, epilogue, act, R + off + 16);
        vstore16(v0, 0, C + off);
        vstore16(v1, 1, C + off);
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
        const size_t off = (size_t)(row0 + i) * N + col0 + j;
        C[off] = apply_epilogue(tmp[j], epilogue, act, bias + col0 + j, R + off);
      }
    }
  }
}
