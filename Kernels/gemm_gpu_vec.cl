// kernel_gemm_gpu_vec: C = epilogue(A · W) for GPUs, W stored transposed and padded at upload,
// float4 loads and double-buffered __local tiles — the steps of the published SGEMM studies
// (Nugteren's OpenCL tutorial, kernels 5–7) past gemm_gpu.cl's plain tiling.
//
//   C [M, N]    row-major output
//   A [M, K]    row-major activations (any K: the last K-tile is read element by element)
//   WT [Kp, Np] the weight transposed ([in, out]), zero past K and N; Kp a multiple of 32,
//               Np of 128 (any tile candidate divides them), so W loads need no bounds checks
//   bias [N], R [M, N] (residual, only read under EPILOGUE_BIAS_RESIDUAL)
//
// A work-group computes a TS_M × TS_N tile of C; work-item (tx, ty) the WPT_M × WPT_N block at
// rows ty·WPT_M…, columns tx·WPT_N… of it (contiguous, so its local reads are float4 and its
// stores whole vectors). K advances TS_K at a time; while one pair of __local tiles is being
// multiplied the next pair is loaded into the other (one barrier per K-tile).
// NDRange: global (ceil(N/TS_N)·TS_N/WPT_N, ceil(M/TS_M)·TS_M/WPT_M), local (TS_N/WPT_N, TS_M/WPT_M).
//
// Build options: as gemm_gpu.cl (-D TS_M, TS_N, TS_K, WPT_M, WPT_N; -D EXACT_ERF); TS_K a
// multiple of 4. __local use: 2 · TS_K · (TS_M + TS_N) floats.

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
#define THREADS (LX * LY)

// Loads K-tile k0 of A (transposed into as[k][m]) and of WT (bs[k][n]).
inline void load_tiles(__local float *as, __local float *bs, __global const float *A, __global const float *WT,
                       int M, int K, int Np, int m0, int n0, int k0, int tid) {
  for (int e = tid; e < TS_M * TS_K / 4; e += THREADS) {
    const int r = e / (TS_K / 4), c = (e % (TS_K / 4)) * 4;
    const float4 v = load_row4(A, M, K, m0 + r, k0 + c);
    as[(c + 0) * TS_M + r] = v.x;
    as[(c + 1) * TS_M + r] = v.y;
    as[(c + 2) * TS_M + r] = v.z;
    as[(c + 3) * TS_M + r] = v.w;
  }
  for (int e = tid; e < TS_N * TS_K / 4; e += THREADS) {
    const int r = e / (TS_N / 4), c = (e % (TS_N / 4)) * 4;
    vstore4(vload4(0, WT + (size_t)(k0 + r) * Np + n0 + c), 0, bs + r * TS_N + c);
  }
}

__kernel __attribute__((reqd_work_group_size(LX, LY, 1))) void kernel_gemm_gpu_vec(
    __global float *C, __global const float *A, __global const float *WT, __global const float *bias,
    __global const float *R, int M, int N, int K, int Np, int epilogue, int act) {
  __local float As[2][TS_K * TS_M];
  __local float Bs[2][TS_K * TS_N];
  const int tx = get_local_id(0), ty = get_local_id(1);
  const int tid = ty * LX + tx;
  const int n0 = get_group_id(0) * TS_N, m0 = get_group_id(1) * TS_M;

  float acc[WPT_M][WPT_N];
#pragma unroll
  for (int i = 0; i < WPT_M; i++)
#pragma unroll
    for (int j = 0; j < WPT_N; j++) acc[i][j] = 0.0f;

  const int tiles = (K + TS_K - 1) / TS_K;
  load_tiles(As[0], Bs[0], A, WT, M, K, Np, m0, n0, 0, tid);
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int t = 0; t < tiles; t++) {
    const int cur = t & 1;
    // The other buffer was last read in tile t − 1, which ended with a barrier.
    if (t + 1 < tiles) load_tiles(As[cur ^ 1], Bs[cur ^ 1], A, WT, M, K, Np, m0, n0, (t + 1) * TS_K, tid);
    __local const float *as = As[cur];
    __local const float *bs = Bs[cur];
#pragma unroll
    for (int kk = 0; kk < TS_K; kk++) {
      float a[WPT_M], b[WPT_N];
#pragma unroll
      for (int i = 0; i < WPT_M; i++) a[i] = as[kk * TS_M + ty * WPT_M + i];
#pragma unroll
      for (int j = 0; j < WPT_N; j++) b[j] = bs[kk * TS_N + tx * WPT_N + j];
#pragma unroll
      for (int i = 0; i < WPT_M; i++)
#pragma unroll
        for (int j = 0; j < WPT_N; j++) acc[i][j] = fma(a[i], b[j], acc[i][j]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

#pragma unroll
  for (int i = 0; i < WPT_M; i++) {
    const int m = m0 + ty * WPT_M + i;
    if (m >= M) continue;
#pragma unroll
    for (int j = 0; j < WPT_N; j++) {
      const int n = n0 + tx * WPT_N + j;
      if (n >= N) continue;
      const size_t off = (size_t)m * N + n;
      C[off] = apply_epilogue(acc[i][j], epilogue, act, bias + n, R + off);
    }
  }
}
