// kernel_attention_context_{cpu,gpu}: context = P · V per (sequence, head), heads merged back.
//
//   context [T, H]  head h at columns h·HEAD_DIM..<(h+1)·HEAD_DIM
//   probs   per sequence s, [heads, L_s, L_s] at probOffsets[s] (as attention_probs.cl writes)
//   qkv     [T, 3H]  V is the third column block
//   tokenSeq [T], lengths, tokenOffsets, probOffsets [sequences]
//
// _cpu: one work-item per block of ROWS query rows of one sequence (blockSeq, blockRow) and one
//       head, ROWS × HEAD_DIM accumulators in vector registers, no barriers;
//       NDRange (blocks rounded up to the local size, heads). Its body, context_rows_cpu, also
//       serves kernel_attention_fused_cpu: this file is built in front of attention_probs.cl
//       with -D WITH_CONTEXT for that.
// _gpu: blocks of CR query rows per work-group, V and P tiles in __local memory (see below);
//       _rows_gpu: one work-item per output element (heads too wide for the tiled one).
//
// Build options: -D HEAD_DIM=<d> (required), -D ROWS=<query rows per work-item> (_cpu, default 4);
// _gpu: -D CR=<rows per work-group> -D CRI=<rows per work-item> -D CK=<keys per tile>
// (defaults 16, 4, 32).

#ifndef HEAD_DIM
#error "HEAD_DIM must be defined"
#endif

#if HEAD_DIM % 16 == 0
#define VW 16
typedef float16 vecD;
#define VLOADD vload16
#define VSTORED vstore16
#elif HEAD_DIM % 8 == 0
#define VW 8
typedef float8 vecD;
#define VLOADD vload8
#define VSTORED vstore8
#elif HEAD_DIM % 4 == 0
#define VW 4
typedef float4 vecD;
#define VLOADD vload4
#define VSTORED vstore4
#else
#define VW 1
typedef float vecD;
#define VLOADD(i, p) ((p)[i])
#define VSTORED(v, i, p) ((p)[i] = (v))
#endif
#define NV (HEAD_DIM / VW)

// Where the CPU kernels' probability rows live: __global (the maps), or __private in
// kernel_attention_rows_cpu (built with -D P_SPACE=__private), which never writes them out.
#ifndef P_SPACE
#define P_SPACE __global
#endif

// Context rows i0..<i0+rows (rows ≤ ROWS) of sequence s, head h: P rows from p0 (row i0 of the
// head's map, rows L apart), V from qkv. Also called by kernel_attention_fused_cpu and
// kernel_attention_rows_cpu (attention_probs.cl, built after this file).
inline void context_rows_cpu(__global float *context, P_SPACE const float *p0, __global const float *qkv, int s,
                             int h, int i0, __global const int *lengths, __global const int *tokenOffsets, int H) {
  const int L = lengths[s], t0 = tokenOffsets[s];
  const int rows = min(ROWS, L - i0);
  P_SPACE const float *p[ROWS];
#pragma unroll
  for (int r = 0; r < ROWS; r++) p[r] = p0 + (size_t)min(r, rows - 1) * L;
  const size_t stride = 3 * (size_t)H;
  __global const float *vbase = qkv + (size_t)t0 * stride + 2 * H + h * HEAD_DIM;
  vecD acc[ROWS][NV];
#pragma unroll
  for (int r = 0; r < ROWS; r++)
#pragma unroll
    for (int c = 0; c < NV; c++) acc[r][c] = (vecD)(0.0f);
  for (int j = 0; j < L; j++) {
    __global const float *vrow = vbase + (size_t)j * stride;
    vecD v[NV];
#pragma unroll
    for (int c = 0; c < NV; c++) v[c] = VLOADD(c, vrow);
#pragma unroll
    for (int r = 0; r < ROWS; r++) {
      const vecD pj = (vecD)(p[r][j]);
#pragma unroll
      for (int c = 0; c < NV; c++) acc[r][c] = fma(pj, v[c], acc[r][c]);
    }
  }
#pragma unroll
  for (int r = 0; r < ROWS; r++) {
    if (r < rows) {
      __global float *out = context + (size_t)(t0 + i0 + r) * H + h * HEAD_DIM;
#pragma unroll
      for (int c = 0; c < NV; c++) VSTORED(acc[r][c], c, out);
    }
  }
}

#ifndef PRIVATE_ROWS
__kernel void kernel_attention_context_cpu(__global float *context, __global const float *probs,
                                           __global const float *qkv, __global const int *blockSeq,
                                           __global const int *blockRow, __global const int *lengths,
                                           __global const int *tokenOffsets, __global const int *probOffsets,
                                           int blocks, int H) {
  const int b = get_global_id(0), h = get_global_id(1);
  if (b >= blocks) return;
  const int s = blockSeq[b], i0 = blockRow[b], L = lengths[s];
  context_rows_cpu(context, probs + probOffsets[s] + ((size_t)h * L + i0) * L, qkv, s, h, i0, lengths, tokenOffsets,
                   H);
}
#endif

// kernel_attention_context_gpu: a work-group per block of CR query rows of one (sequence, head)
// (blockSeq, blockRow of CR-row blocks), HEAD_DIM × (CR / CRI) work-items; work-item (c, g)
// computes column c of rows g·CRI…g·CRI+CRI−1. V is staged CK keys at a time in __local
// memory with the block's CR × CK probabilities, so each V row is read from memory once per
// block instead of once per query row. The products run over the keys in order, as
// kernel_attention_context_rows_gpu's do (tile padding adds fma(0, 0, acc) = acc), so the two
// give the same context.
// NDRange exactly (blocks · HEAD_DIM, CR / CRI, heads), local (HEAD_DIM, CR / CRI, 1).
#ifndef CR
#define CR 16
#endif
#ifndef CRI
#define CRI 4
#endif
#ifndef CK
#define CK 32
#endif
#define CG (CR / CRI)

__kernel __attribute__((reqd_work_group_size(HEAD_DIM, CG, 1))) void kernel_attention_context_gpu(
    __global float *context, __global const float *probs, __global const float *qkv, __global const int *blockSeq,
    __global const int *blockRow, __global const int *lengths, __global const int *tokenOffsets,
    __global const int *probOffsets, int blocks, int H) {
  __local float vs[CK][HEAD_DIM];
  __local float ps[CR][CK + 1];
  const int b = get_group_id(0), c = get_local_id(0), g = get_local_id(1), h = get_global_id(2);
  const int s = blockSeq[b], i0 = blockRow[b], L = lengths[s], t0 = tokenOffsets[s];
  const int rows = min(CR, L - i0);
  const int lid = g * HEAD_DIM + c;
  const size_t stride = 3 * (size_t)H;
  __global const float *p0 = probs + probOffsets[s] + ((size_t)h * L + i0) * L;
  __global const float *v0 = qkv + (size_t)t0 * stride + 2 * H + h * HEAD_DIM;
  float acc[CRI];
  for (int q = 0; q < CRI; q++) acc[q] = 0.0f;
  for (int j0 = 0; j0 < L; j0 += CK) {
    const int n = min(CK, L - j0);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int e = lid; e < CK * HEAD_DIM; e += HEAD_DIM * CG) {
      const int j = e / HEAD_DIM, cc = e % HEAD_DIM;
      vs[j][cc] = (j < n) ? v0[(size_t)(j0 + j) * stride + cc] : 0.0f;
    }
    for (int e = lid; e < CR * CK; e += HEAD_DIM * CG) {
      const int r = e / CK, j = e % CK;
      ps[r][j] = (r < rows && j < n) ? p0[(size_t)r * L + j0 + j] : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int j = 0; j < CK; j++) {
      const float v = vs[j][c];
#pragma unroll
      for (int q = 0; q < CRI; q++) acc[q] = fma(ps[g * CRI + q][j], v, acc[q]);
    }
  }
  for (int q = 0; q < CRI; q++) {
    const int r = g * CRI + q;
    if (r < rows) context[(size_t)(t0 + i0 + r) * H + h * HEAD_DIM + c] = acc[q];
  }
}

// kernel_attention_context_rows_gpu: one work-item per output element, a work-group per
// (row, head) (coalesced V reads); for heads wider than a work-group of the tiled kernel.
// NDRange (T · HEAD_DIM, heads), local (HEAD_DIM, 1).
__kernel __attribute__((reqd_work_group_size(HEAD_DIM, 1, 1))) void kernel_attention_context_rows_gpu(
    __global float *context, __global const float *probs, __global const float *qkv,
    __global const int *tokenSeq, __global const int *lengths, __global const int *tokenOffsets,
    __global const int *probOffsets, int T, int H) {
  const int t = get_group_id(0), h = get_global_id(1), c = get_local_id(0);
  if (t >= T) return;
  const int s = tokenSeq[t], L = lengths[s], t0 = tokenOffsets[s], i = t - t0;
  __global const float *p = probs + probOffsets[s] + ((size_t)h * L + i) * L;
  const size_t stride = 3 * (size_t)H;
  __global const float *v = qkv + (size_t)t0 * stride + 2 * H + h * HEAD_DIM + c;
  float acc = 0.0f;
  for (int j = 0; j < L; j++) acc = fma(p[j], v[(size_t)j * stride], acc);
  context[(size_t)t * H + h * HEAD_DIM + c] = acc;
}
