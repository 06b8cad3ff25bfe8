// kernel_attention_probs_{cpu,gpu}: P = softmax(scale · Q Kᵀ) per (sequence, head), over the
// sequence's real tokens, then the head's mode: 0 normal, 1 uniform (1/L), 2 zero.
//
//   probs  [Σ_s heads · L_s²]  per sequence s, [heads, L_s, L_s] at probOffsets[s]
//   qkv    [T, 3H]  Q | K | V column blocks; head h at columns h·HEAD_DIM..<(h+1)·HEAD_DIM of each
//   keysT  [Σ_s Lp_s · H]  K transposed per (sequence, head) by kernel_attention_keys (first)
//   tokenSeq [T] sequence of each packed token; lengths, tokenOffsets, probOffsets [sequences]
//   blockSeq, blockRow [blocks]  sequence and first row of each block of ROWS query rows
//   modes  [heads]
//   T tokens, H = heads · HEAD_DIM
//
// kernel_attention_keys        K → keysT; NDRange (T rounded up to the local size, heads)
// kernel_attention_probs_cpu   CPU devices: a work-item per block, ROWS rows × 16 keys per step in
//                              float16 registers, then each row's softmax in place; no barriers;
//                              NDRange (blocks rounded up to the local size, heads)
// kernel_attention_fused_cpu  the _cpu kernel followed by the same rows' P·V (only with
//                              -D WITH_CONTEXT, built after attention_context.cl)
// kernel_attention_rows_cpu    the fused kernel with the rows' probabilities kept __private,
//                              for passes without maps (-D PRIVATE_ROWS, see below)
// kernel_attention_probs_gpu   GPUs: a work-group of WG per block, reductions in __local memory;
//                              NDRange exactly (blocks · WG, heads), local (WG, 1)
//
// Build options: -D HEAD_DIM=<d> (required), -D ROWS=<query rows per block> (default 4),
// -D WG=<power of two> (_gpu, default 128; common.cl).

#ifndef HEAD_DIM
#error "HEAD_DIM must be defined"
#endif

// Keys transposed per (sequence, head), so that _cpu reads 16 keys as one vector and _gpu reads
// them coalesced:
// keysT[paddedOffsets[s]·H + (h·HEAD_DIM + c)·Lp + j] = K[tokenOffsets[s] + j][h·HEAD_DIM + c], with
// Lp = L rounded up to 16 and paddedOffsets the prefix sums of Lp; padding columns repeat the
// last key (finite, never stored).
// The work-item of every 16th token of a sequence moves that block of 16 keys.
// NDRange (T rounded up to the local size, heads).
__kernel void kernel_attention_keys(__global float *keysT, __global const float *qkv,
                                        __global const int *tokenSeq, __global const int *lengths,
                                        __global const int *tokenOffsets, __global const int *paddedOffsets, int T,
                                        int H) {
  const int t = get_global_id(0), h = get_global_id(1);
  if (t >= T) return;
  const int s = tokenSeq[t], L = lengths[s], j0 = t - tokenOffsets[s], Lp = (L + 15) & ~15;
  if (j0 & 15) return;
  const size_t stride = 3 * (size_t)H;
  __global const float *k[16];
  for (int jj = 0; jj < 16; jj++) k[jj] = qkv + (size_t)(t + min(jj, L - 1 - j0)) * stride + H + h * HEAD_DIM;
  __global float *kt = keysT + (size_t)paddedOffsets[s] * H + (size_t)h * HEAD_DIM * Lp + j0;
  for (int c = 0; c < HEAD_DIM; c++) {
    const float16 v = (float16)(k[0][c], k[1][c], k[2][c], k[3][c], k[4][c], k[5][c], k[6][c], k[7][c], k[8][c],
                                k[9][c], k[10][c], k[11][c], k[12][c], k[13][c], k[14][c], k[15][c]);
    vstore16(v, 0, kt + (size_t)c * Lp);
  }
}

#ifndef P_SPACE
#define P_SPACE __global
#endif

// Rows i0..<i0+ROWS of sequence s, head h into p0 (rows L apart: the map's rows i0… in
// __global memory, or a __private block in kernel_attention_rows_cpu) — one work-item of the
// _cpu kernels, a block (blockSeq, blockRow) per work-item: scores for 16 keys at a time in
// float16 registers, then the softmax of each row in place.
inline void probs_rows_cpu(P_SPACE float *p0, __global const float *qkv, __global const float *keysT, int s, int h,
                           int i0, __global const int *lengths, __global const int *tokenOffsets,
                           __global const int *paddedOffsets, __global const int *modes, int H, float scale) {
  const int L = lengths[s], Lp = (L + 15) & ~15;
  const int rows = min(ROWS, L - i0);
  const int mode = modes[h];
  if (mode != 0) {
    const float v = (mode == 1) ? 1.0f / (float)L : 0.0f;
    for (int e = 0; e < rows * L; e++) p0[e] = v;
    return;
  }
  const size_t stride = 3 * (size_t)H;
  float q[ROWS][HEAD_DIM];
  for (int r = 0; r < ROWS; r++) {
    __global const float *qrow = qkv + (size_t)(tokenOffsets[s] + i0 + min(r, rows - 1)) * stride + h * HEAD_DIM;
    for (int c = 0; c < HEAD_DIM; c++) q[r][c] = qrow[c] * scale;
  }
  __global const float *kt = keysT + (size_t)paddedOffsets[s] * H + (size_t)h * HEAD_DIM * Lp;

  for (int j0 = 0; j0 < L; j0 += 16) {
    float16 acc[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; r++) acc[r] = (float16)(0.0f);
    for (int c = 0; c < HEAD_DIM; c++) {
      const float16 k = vload16(0, kt + (size_t)c * Lp + j0);
#pragma unroll
      for (int r = 0; r < ROWS; r++) acc[r] = fma((float16)(q[r][c]), k, acc[r]);
    }
    if (j0 + 16 <= L) {
#pragma unroll
      for (int r = 0; r < ROWS; r++)
        if (r < rows) vstore16(acc[r], 0, p0 + (size_t)r * L + j0);
    } else {
      for (int r = 0; r < rows; r++) {
        float tmp[16];
        vstore16(acc[r], 0, tmp);
        for (int j = j0; j < L; j++) p0[(size_t)r * L + j] = tmp[j - j0];
      }
    }
  }

  const int full = L & ~15;
  for (int r = 0; r < rows; r++) {
    P_SPACE float *p = p0 + (size_t)r * L;
    float16 m16 = (float16)(-INFINITY);
    for (int j = 0; j < full; j += 16) m16 = fmax(m16, vload16(0, p + j));
    float mx = hmax16(m16);
    for (int j = full; j < L; j++) mx = fmax(mx, p[j]);
    float16 s16 = (float16)(0.0f);
    for (int j = 0; j < full; j += 16) {
      const float16 e = exp(vload16(0, p + j) - mx);
      vstore16(e, 0, p + j);
      s16 += e;
    }
    float sum = hsum16(s16);
    for (int j = full; j < L; j++) {
      const float e = exp(p[j] - mx);
      p[j] = e;
      sum += e;
    }
    const float inv = 1.0f / sum;
    for (int j = 0; j < full; j += 16) vstore16(vload16(0, p + j) * inv, 0, p + j);
    for (int j = full; j < L; j++) p[j] *= inv;
  }
}

// kernel_attention_probs_cpu; built with -D WITH_CONTEXT (after attention_context.cl) it is
// kernel_attention_fused_cpu instead, which takes `context` after `probs` and also computes the
// rows' P·V (context_rows_cpu) while they are still in cache. Same NDRange either way.
#ifdef WITH_CONTEXT
#define PROBS_CPU_KERNEL kernel_attention_fused_cpu
#define CONTEXT_ARGUMENT __global float *context,
#else
#define PROBS_CPU_KERNEL kernel_attention_probs_cpu
#define CONTEXT_ARGUMENT
#endif
#ifdef PRIVATE_ROWS
// kernel_attention_rows_cpu (-D PRIVATE_ROWS -D P_SPACE=__private -D MAX_L=<n>, after
// attention_context.cl): the fused kernel's arithmetic, the block's ROWS × L probabilities in a
// __private array instead of the maps, so a pass without maps writes and re-reads no L × L
// buffer. Sequences up to MAX_L tokens (the host keeps ROWS · MAX_L ≤ 4096 floats). Same
// NDRange as the _cpu kernels; no probs/probOffsets arguments.
__kernel void kernel_attention_rows_cpu(__global float *context, __global const float *qkv,
                                        __global const float *keysT, __global const int *blockSeq,
                                        __global const int *blockRow, __global const int *lengths,
                                        __global const int *tokenOffsets, __global const int *paddedOffsets,
                                        __global const int *modes, int blocks, int H, float scale) {
  const int b = get_global_id(0), h = get_global_id(1);
  if (b >= blocks) return;
  const int s = blockSeq[b], i0 = blockRow[b];
  float p[ROWS * MAX_L];
  probs_rows_cpu(p, qkv, keysT, s, h, i0, lengths, tokenOffsets, paddedOffsets, modes, H, scale);
  context_rows_cpu(context, p, qkv, s, h, i0, lengths, tokenOffsets, H);
}
#else
__kernel void PROBS_CPU_KERNEL(__global float *probs, CONTEXT_ARGUMENT __global const float *qkv,
                               __global const float *keysT, __global const int *blockSeq,
                               __global const int *blockRow, __global const int *lengths,
                               __global const int *tokenOffsets, __global const int *probOffsets,
                               __global const int *paddedOffsets, __global const int *modes, int blocks, int H,
                               float scale) {
  const int b = get_global_id(0), h = get_global_id(1);
  if (b >= blocks) return;
  const int s = blockSeq[b], i0 = blockRow[b];
  __global float *p0 = probs + probOffsets[s] + ((size_t)h * lengths[s] + i0) * lengths[s];
  probs_rows_cpu(p0, qkv, keysT, s, h, i0, lengths, tokenOffsets, paddedOffsets, modes, H, scale);
#ifdef WITH_CONTEXT
  context_rows_cpu(context, p0, qkv, s, h, i0, lengths, tokenOffsets, H);
#endif
}
#endif

// ROWS query rows of one sequence (blockSeq, blockRow) and one head per work-group of WG
// work-items; work-item j takes keys j, j + WG, … from keysT (coalesced) against the rows' Q in
// __local memory, then the rows' maxima and sums are reduced together.
// NOTE: no return before a barrier, even a uniform one (PoCL miscompiles that); the NDRange is
// exactly blocks · WG, and a uniform/zero head skips the work inside loops instead.
__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void kernel_attention_probs_gpu(
    __global float *probs, __global const float *qkv, __global const float *keysT, __global const int *blockSeq,
    __global const int *blockRow, __global const int *lengths, __global const int *tokenOffsets,
    __global const int *probOffsets, __global const int *paddedOffsets, __global const int *modes, int blocks,
    int H, float scale) {
  __local float qs[ROWS][HEAD_DIM];
  __local float red[ROWS][WG];
  const int b = get_group_id(0), h = get_global_id(1), lid = get_local_id(0);
  const int s = blockSeq[b], i0 = blockRow[b], L = lengths[s], Lp = (L + 15) & ~15;
  const int rows = min(ROWS, L - i0);
  __global float *p0 = probs + probOffsets[s] + ((size_t)h * L + i0) * L;
  const int mode = modes[h];
  const int n = (mode == 0) ? L : 0;  // keys this head computes
  if (mode != 0) {
    const float v = (mode == 1) ? 1.0f / (float)L : 0.0f;
    for (int e = lid; e < rows * L; e += WG) p0[e] = v;
  }
  const size_t stride = 3 * (size_t)H;
  for (int e = lid; e < ROWS * HEAD_DIM; e += WG) {
    const int r = e / HEAD_DIM, c = e % HEAD_DIM;
    qs[r][c] = qkv[(size_t)(tokenOffsets[s] + i0 + min(r, rows - 1)) * stride + h * HEAD_DIM + c] * scale;
  }
  barrier(CLK_LOCAL_MEM_FENCE);

  __global const float *kt = keysT + (size_t)paddedOffsets[s] * H + (size_t)h * HEAD_DIM * Lp;
  float m[ROWS];
  for (int r = 0; r < ROWS; r++) m[r] = -INFINITY;
  for (int j = lid; j < n; j += WG) {
    float acc[ROWS];
    for (int r = 0; r < ROWS; r++) acc[r] = 0.0f;
    for (int c = 0; c < HEAD_DIM; c++) {
      const float k = kt[(size_t)c * Lp + j];
      for (int r = 0; r < ROWS; r++) acc[r] = fma(qs[r][c], k, acc[r]);
    }
    for (int r = 0; r < ROWS; r++) {
      if (r < rows) {
        p0[(size_t)r * L + j] = acc[r];
        m[r] = fmax(m[r], acc[r]);
      }
    }
  }
  group_max_n_float(m, ROWS, &red[0][0], lid);

  float sum[ROWS];
  for (int r = 0; r < ROWS; r++) sum[r] = 0.0f;
  for (int j = lid; j < n; j += WG) {
    for (int r = 0; r < ROWS; r++) {
      if (r < rows) {
        const float e = exp(p0[(size_t)r * L + j] - m[r]);
        p0[(size_t)r * L + j] = e;
        sum[r] += e;
      }
    }
  }
  group_sum_n_float(sum, ROWS, &red[0][0], lid);
  for (int r = 0; r < ROWS; r++) sum[r] = 1.0f / sum[r];
  for (int j = lid; j < n; j += WG)
    for (int r = 0; r < ROWS; r++)
      if (r < rows) p0[(size_t)r * L + j] *= sum[r];
}
