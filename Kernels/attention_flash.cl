// kernel_attention_flash_gpu: context = softmax(scale · Q Kᵀ) · V per (sequence, head), heads
// merged back, without ever writing the L × L probabilities (FlashAttention-style online softmax):
// for `embed`, a server, any pass that asks for no maps, no map features and no head distances.
//
//   context  [T, H]  head h at columns h·HEAD_DIM..<(h+1)·HEAD_DIM
//   qkv      [T, 3H]  Q | K | V column blocks
//   blockSeq, blockRow [blocks]  sequence and first row of each block of BR query rows
//   lengths, tokenOffsets [sequences]; modes [heads] (0 normal, 1 uniform 1/L, 2 zero)
//
// A work-group of BR work-items takes one block of BR query rows of one (sequence, head), a
// work-item per row, its scaled Q row and its context accumulator in registers. The sequence's
// keys and values go through __local memory BC rows at a time (coalesced loads, every work-item
// then reads the same K/V element: a broadcast); each work-item keeps its row's running maximum
// m and sum l, rescaling its accumulator by exp(m_old − m_new) when the maximum grows. A uniform
// head runs with Q = 0 (every score 0, so each key weighs 1/L); a zero head stores 0.
// NDRange exactly (blocks · BR, heads), local (BR, 1).
// NOTE: no return before a barrier (PoCL miscompiles even a uniform one); rows past the
// sequence compute on its last row and store nothing.
//
// Build options: -D HEAD_DIM=<d> (required), -D BR=<rows per work-group> (default 64),
// -D BC=<keys per __local tile> (default 32). __local use: 2 · BC · HEAD_DIM floats.

#ifndef HEAD_DIM
#error "HEAD_DIM must be defined"
#endif
#ifndef BR
#define BR 64
#endif
#ifndef BC
#define BC 32
#endif

#if HEAD_DIM % 4 == 0
#define FW 4
typedef float4 fvec;
#define FLOAD(i, p) vload4(i, p)
#define FSTORE(v, i, p) vstore4(v, i, p)
#define FSUM(v) (((v).x + (v).y) + ((v).z + (v).w))
#else
#define FW 1
typedef float fvec;
#define FLOAD(i, p) ((p)[i])
#define FSTORE(v, i, p) ((p)[i] = (v))
#define FSUM(v) (v)
#endif
#define NQ (HEAD_DIM / FW)

__kernel __attribute__((reqd_work_group_size(BR, 1, 1))) void kernel_attention_flash_gpu(
    __global float *context, __global const float *qkv, __global const int *blockSeq, __global const int *blockRow,
    __global const int *lengths, __global const int *tokenOffsets, __global const int *modes, int blocks, int H,
    float scale) {
  __local fvec ks[BC][NQ];
  __local fvec vs[BC][NQ];
  const int b = get_group_id(0), h = get_global_id(1), lid = get_local_id(0);
  const int s = blockSeq[b], L = lengths[s], t0 = tokenOffsets[s];
  const int i = blockRow[b] + lid;
  const int mode = modes[h];
  const size_t stride = 3 * (size_t)H;
  const float qscale = (mode == 0) ? scale : 0.0f;

  fvec q[NQ], acc[NQ];
  __global const float *qrow = qkv + (size_t)(t0 + min(i, L - 1)) * stride + h * HEAD_DIM;
#pragma unroll
  for (int c = 0; c < NQ; c++) {
    q[c] = FLOAD(c, qrow) * qscale;
    acc[c] = (fvec)(0.0f);
  }
  float m = -INFINITY, l = 0.0f;

  for (int j0 = 0; j0 < L; j0 += BC) {
    const int n = min(BC, L - j0);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int e = lid; e < BC * NQ; e += BR) {
      const int j = e / NQ, c = e % NQ;
      __global const float *krow = qkv + (size_t)(t0 + j0 + min(j, n - 1)) * stride + H + h * HEAD_DIM;
      ks[j][c] = FLOAD(c, krow);
      vs[j][c] = FLOAD(c, krow + H);
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    float sc[BC];
    float mt = m;
#pragma unroll
    for (int j = 0; j < BC; j++) {
      fvec a = (fvec)(0.0f);
#pragma unroll
      for (int c = 0; c < NQ; c++) a = fma(q[c], ks[j][c], a);
      sc[j] = (j < n) ? FSUM(a) : -INFINITY;
      mt = fmax(mt, sc[j]);
    }
    // mt is finite (n ≥ 1); on the first tile m = −∞ and the correction is exp(−∞) = 0.
    const float correction = exp(m - mt);
    l *= correction;
#pragma unroll
    for (int c = 0; c < NQ; c++) acc[c] *= correction;
#pragma unroll
    for (int j = 0; j < BC; j++) {
      const float p = exp(sc[j] - mt);  // 0 for keys past the sequence
      l += p;
#pragma unroll
      for (int c = 0; c < NQ; c++) acc[c] = fma((fvec)(p), vs[j][c], acc[c]);
    }
    m = mt;
  }

  if (i < L) {
    const float inv = (mode == 2) ? 0.0f : 1.0f / l;
    __global float *out = context + (size_t)(t0 + i) * H + h * HEAD_DIM;
#pragma unroll
    for (int c = 0; c < NQ; c++) FSTORE(acc[c] * inv, c, out);
  }
}
