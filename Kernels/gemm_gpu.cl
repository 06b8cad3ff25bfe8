// kernel_gemm_gpu: C = epilogue(A · Wᵀ) for GPUs, tiled through __local memory.
//
//   C [M, N]   row-major output
//   A [M, K]   row-major activations
//   W [N, K]   the weight as stored by the model ([out, in]), not packed
//   bias [N], R [M, N] (residual, only read under EPILOGUE_BIAS_RESIDUAL)
//
// A work-group computes a TS_M × TS_N tile of C; each work-item WPT_M × WPT_N outputs,
// strided by the work-group's dimensions so that neighbouring work-items store neighbouring
// columns. K advances TS_K at a time through two __local tiles.
// NDRange: global (ceil(N/TS_N)·TS_N/WPT_N, ceil(M/TS_M)·TS_M/WPT_M), local (TS_N/WPT_N, TS_M/WPT_M).
//
// Build options: -D TS_M=64 -D TS_N=64 -D TS_K=16 -D WPT_M=4 -D WPT_N=4 (defaults shown);
// -D EXACT_ERF, always passed by the host: this GEMM keeps the built-in erf, which GPU compilers
// inline; common.cl's rational fit exists for PoCL, whose erf is a scalar library call.
// Runtime: epilogue an EPILOGUE_* code, act an ACTIVATION_* code (common.cl, = bs_codes.h);
//          the epilogue is common.cl's, shared with gemm_cpu.cl.

#ifndef TS_M
#define TS_M 64
#endif
#ifndef TS_N
#define TS_N 64
#endif
#ifndef TS_K
#define TS_K 16
#endif
#ifndef WPT_M
#define WPT_M 4
#endif
#ifndef WPT_N
#define WPT_N 4
#endif
#define LX (TS_N / WPT_N)
#define LY (TS_M / WPT_M)

__kernel __attribute__((reqd_work_group_size(LX, LY, 1))) void kernel_gemm_gpu(
    __global float *C, __global const float *A, __global const float *W, __global const float *bias,
    __global const float *R, int M, int N, int K, int epilogue, int act) {
  __local float As[TS_K][TS_M + 1];
  __local float Bs[TS_K][TS_N + 1];
  const int tx = get_local_id(0), ty = get_local_id(1);
  const int tid = ty * LX + tx;
  const int n0 = get_group_id(0) * TS_N, m0 = get_group_id(1) * TS_M;

  float acc[WPT_M][WPT_N];
  for (int i = 0; i < WPT_M; i++)
    for (int j = 0; j < WPT_N; j++) acc[i][j] = 0.0f;

  for (int k0 = 0; k0 < K; k0 += TS_K) {
    for (int e = tid; e < TS_M * TS_K; e += LX * LY) {
      const int r = e / TS_K, c = e % TS_K, m = m0 + r, k = k0 + c;
      As[c][r] = (m < M && k < K) ? A[(size_t)m * K + k] : 0.0f;
    }
    for (int e = tid; e < TS_N * TS_K; e += LX * LY) {
      const int r = e / TS_K, c = e % TS_K, n = n0 + r, k = k0 + c;
      Bs[c][r] = (n < N && k < K) ? W[(size_t)n * K + k] : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int kk = 0; kk < TS_K; kk++) {
      float a[WPT_M], b[WPT_N];
      for (int i = 0; i < WPT_M; i++) a[i] = As[kk][ty + i * LY];
      for (int j = 0; j < WPT_N; j++) b[j] = Bs[kk][tx + j * LX];
      for (int i = 0; i < WPT_M; i++)
        for (int j = 0; j < WPT_N; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

  for (int i = 0; i < WPT_M; i++) {
    const int m = m0 + ty + i * LY;
    if (m >= M) continue;
    for (int j = 0; j < WPT_N; j++) {
      const int n = n0 + tx + j * LX;
      if (n >= N) continue;
      const size_t off = (size_t)m * N + n;
      C[off] = apply_epilogue(acc[i][j], epilogue, act, bias + n, R + off);
    }
  }
}
