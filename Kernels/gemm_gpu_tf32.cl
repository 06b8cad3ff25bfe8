// kernel_gemm_gpu_tf32: C = epilogue(A · W) on NVIDIA tensor cores in TF32 (`--precision tf32`,
// opt-in; fp32 stays the default). Inputs are rounded to TF32 (10-bit mantissa, fp32 range, the
// PTX `cvt.rna.tf32.f32`: to nearest, ties away from zero); products are accumulated in fp32 by
// `mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32` (PTX ISA 7.0, compute capability 8.0+),
// written as inline PTX, which NVIDIA's OpenCL compiler accepts and others reject: the backend
// builds this file and checks one GEMM against a host reference before it uses it.
//
//   C [M, N]    row-major output
//   A [M, K]    row-major activations (any K: the last K-tile is read element by element)
//   WT [Kp, Np] the weight transposed ([in, out]) and zero-padded as for gemm_gpu_vec.cl (Kp a
//               multiple of 32, Np of 128), so W loads need no bounds checks
//   bias [N], R [M, N] (residual, only read under EPILOGUE_BIAS_RESIDUAL)
//
// A work-group of 128 work-items (4 warps) computes a 64 × 64 tile of C, warp w the 32 × 32
// quarter at rows (w / 2)·32, columns (w % 2)·32: 2 × 4 mma tiles of 16 × 8, 32 fp32 accumulators
// per work-item. K advances 32 at a time through __local tiles, A as As[m][k] and Wᵀ as Bs[k][n],
// already rounded to TF32, padded (rows of 36 and 72 words) so that each warp's fragment loads hit
// 32 distinct banks, and double-buffered: the next pair is loaded while this one is multiplied
// (one barrier per K-tile; 36 KB of __local memory). Fragment layouts (PTX ISA, "Matrix fragments for mma.m16n8k8", .tf32), with lane l of a
// warp, g = l / 4, t = l % 4:
//   A 16 × 8 (row): a0 (g, t), a1 (g + 8, t), a2 (g, t + 4), a3 (g + 8, t + 4)
//   B 8 × 8 (col):  b0 (t, g), b1 (t + 4, g)                          (k, n)
//   C 16 × 8:       c0 (g, 2t), c1 (g, 2t + 1), c2 (g + 8, 2t), c3 (g + 8, 2t + 1)
// Lanes are get_local_id(0) % 32: NVIDIA forms warps from consecutive local ids.
// NDRange: global (ceil(N/64)·128, ceil(M/64)), local (128, 1).
//
// Build options: -D EXACT_ERF (as the other GPU GEMMs); -D TF32_EMULATE replaces the two PTX
// instructions by OpenCL C that does the same per warp through __local memory (same rounding,
// same fragment layouts, fp32 sums), so that the tiling, the fragment indexing and the epilogues
// are tested on any device (PoCL in CI); it is slow and only for tests.

#define TF_M 64
#define TF_N 64
#define TF_K 32
#define AS_STRIDE (TF_K + 4)
#define BS_STRIDE (TF_N + 8)

// x rounded to TF32, as the bits of an fp32 whose low 13 mantissa bits are zero.
inline uint to_tf32(float x) {
#ifdef TF32_EMULATE
  uint b = as_uint(x);
  // Round the magnitude half away from zero at bit 13 (sign-magnitude: adding to the low bits
  // rounds the magnitude); infinities and NaNs pass through.
  if ((b & 0x7f800000u) != 0x7f800000u) b = (b + 0x1000u) & 0xffffe000u;
  return b;
#else
  uint r;
  asm volatile("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
#endif
}

#ifdef TF32_EMULATE
// One m16n8k8 step of a warp: c (this lane's 4 accumulators) += A · B, each lane holding its
// fragments as above. scratch: 192 floats of this warp's (A 16 × 8, then B 8 × 8). Every
// work-item of the group calls it the same number of times (it has barriers).
inline void mma_tf32(float *c, const uint *a, const uint *b, __local float *scratch, int lane) {
  __local float *sa = scratch, *sb = scratch + 128;
  const int g = lane >> 2, t = lane & 3;
  sa[g * 8 + t] = as_float(a[0]);
  sa[(g + 8) * 8 + t] = as_float(a[1]);
  sa[g * 8 + t + 4] = as_float(a[2]);
  sa[(g + 8) * 8 + t + 4] = as_float(a[3]);
  sb[t * 8 + g] = as_float(b[0]);
  sb[(t + 4) * 8 + g] = as_float(b[1]);
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int i = 0; i < 4; i++) {
    const int row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i & 1);
    float s = c[i];
    for (int k = 0; k < 8; k++) s = fma(sa[row * 8 + k], sb[k * 8 + col], s);
    c[i] = s;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
}
#else
inline void mma_tf32(float *c, const uint *a, const uint *b) {
  float d0, d1, d2, d3;
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%10,%11,%12,%13};"
      : "=f"(d0), "=f"(d1), "=f"(d2), "=f"(d3)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]),
        "f"(c[3]));
  c[0] = d0;
  c[1] = d1;
  c[2] = d2;
  c[3] = d3;
}
#endif

// Loads K-tile k0 of A (as[m][k]) and of Wᵀ (bs[k][n]) into __local memory, rounded to TF32
// once here rather than at every fragment load (two warps read each element).
inline void load_tiles(__local uint *as, __local uint *bs, __global const float *A, __global const float *WT,
                       int M, int K, int Np, int m0, int n0, int k0, int tid) {
  // A's 64 × 32 tile, float4 along K (bounds-checked in M and K).
  for (int e = tid; e < TF_M * TF_K / 4; e += 128) {
    const int r = e / (TF_K / 4), c = (e % (TF_K / 4)) * 4;
    const float4 v = load_row4(A, M, K, m0 + r, k0 + c);
    vstore4((uint4)(to_tf32(v.x), to_tf32(v.y), to_tf32(v.z), to_tf32(v.w)), 0, as + r * AS_STRIDE + c);
  }
  // Wᵀ's 32 × 64 tile (padded: no bounds checks).
  for (int e = tid; e < TF_K * TF_N / 4; e += 128) {
    const int r = e / (TF_N / 4), c = (e % (TF_N / 4)) * 4;
    const float4 v = vload4(0, WT + (size_t)(k0 + r) * Np + n0 + c);
    vstore4((uint4)(to_tf32(v.x), to_tf32(v.y), to_tf32(v.z), to_tf32(v.w)), 0, bs + r * BS_STRIDE + c);
  }
}

__kernel __attribute__((reqd_work_group_size(128, 1, 1))) void kernel_gemm_gpu_tf32(
    __global float *C, __global const float *A, __global const float *WT, __global const float *bias,
    __global const float *R, int M, int N, int K, int Np, int epilogue, int act) {
  __local uint As[2][TF_M * AS_STRIDE];
  __local uint Bs[2][TF_K * BS_STRIDE];
#ifdef TF32_EMULATE
  __local float scratch[4 * 192];
#endif
  const int tid = get_local_id(0), warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
  const int n0 = get_group_id(0) * TF_N, m0 = get_group_id(1) * TF_M;
  const int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;

  float acc[2][4][4];
  for (int mi = 0; mi < 2; mi++)
    for (int ni = 0; ni < 4; ni++)
      for (int i = 0; i < 4; i++) acc[mi][ni][i] = 0.0f;

  const int tiles = (K + TF_K - 1) / TF_K;
  load_tiles(As[0], Bs[0], A, WT, M, K, Np, m0, n0, 0, tid);
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int tile = 0; tile < tiles; tile++) {
    const int cur = tile & 1;
    // The other pair of buffers was last read in tile − 1, which ended with a barrier.
    if (tile + 1 < tiles) load_tiles(As[cur ^ 1], Bs[cur ^ 1], A, WT, M, K, Np, m0, n0, (tile + 1) * TF_K, tid);
    __local const uint *as = As[cur];
    __local const uint *bs = Bs[cur];
    for (int kk = 0; kk < TF_K; kk += 8) {
      uint a[2][4], b[4][2];
      for (int mi = 0; mi < 2; mi++) {
        const int base = (wm + mi * 16 + g) * AS_STRIDE + kk + t;
        a[mi][0] = as[base];
        a[mi][1] = as[base + 8 * AS_STRIDE];
        a[mi][2] = as[base + 4];
        a[mi][3] = as[base + 8 * AS_STRIDE + 4];
      }
      for (int ni = 0; ni < 4; ni++) {
        const int base = (kk + t) * BS_STRIDE + wn + ni * 8 + g;
        b[ni][0] = bs[base];
        b[ni][1] = bs[base + 4 * BS_STRIDE];
      }
      for (int mi = 0; mi < 2; mi++)
        for (int ni = 0; ni < 4; ni++)
#ifdef TF32_EMULATE
          mma_tf32(acc[mi][ni], a[mi], b[ni], scratch + warp * 192, lane);
#else
          mma_tf32(acc[mi][ni], a[mi], b[ni]);
#endif
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

  for (int mi = 0; mi < 2; mi++)
    for (int ni = 0; ni < 4; ni++)
      for (int i = 0; i < 4; i++) {
        const int m = m0 + wm + mi * 16 + g + (i >= 2 ? 8 : 0), n = n0 + wn + ni * 8 + 2 * t + (i & 1);
        if (m < M && n < N) {
          const size_t off = (size_t)m * N + n;
          C[off] = apply_epilogue(acc[mi][ni][i], epilogue, act, bias + n, R + off);
        }
      }
}
