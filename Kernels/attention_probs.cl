// kernel_attention_probs_{cpu,gpu}: P = softmax(scale · Q Kᵀ) per (sequence, head), over the
// sequence's real tokens, then the head's mode: 0 normal, 1 uniform (1/L), 2 zero.
//
//   probs  [Σ_s heads · L_s²]  per sequence s, [heads, L_s, L_s] at probOffsets[s]
//   qkv    [T, 3H]  Q | K | V column blocks; head h at columns h·HEAD_DIM..<(h+1)·HEAD_DIM of each
//   tokenSeq [T] sequence of each packed token; lengths, tokenOffsets, probOffsets [sequences]
//   modes  [heads]
//   T tokens, H = heads · HEAD_DIM
//
// _cpu: one work-item per query row (no barriers); NDRange (T rounded up to the local size, heads).
// _gpu: one work-group of WG work-items per query row, reductions in __local memory;
//       NDRange exactly (T · WG, heads), local (WG, 1).
//
// Build options: -D HEAD_DIM=<d> (required), -D WG=<power of two> (_gpu, default 128).

#ifndef HEAD_DIM
#error "HEAD_DIM must be defined"
#endif
#ifndef WG
#define WG 128
#endif

#if HEAD_DIM % 16 == 0
#define VW 16
typedef float16 vecD;
#define VLOADD vload16
#define HSUM(v) hsum16(v)
#elif HEAD_DIM % 8 == 0
#define VW 8
typedef float8 vecD;
#define VLOADD vload8
#define HSUM(v) hsum8(v)
#elif HEAD_DIM % 4 == 0
#define VW 4
typedef float4 vecD;
#define VLOADD vload4
#define HSUM(v) hsum4(v)
#else
#define VW 1
typedef float vecD;
#define VLOADD(i, p) ((p)[i])
#define HSUM(v) (v)
#endif
#define NV (HEAD_DIM / VW)

inline float hsum4(float4 v) { float2 a = v.lo + v.hi; return a.x + a.y; }
inline float hsum8(float8 v) { return hsum4(v.lo + v.hi); }
inline float hsum16(float16 v) { return hsum8(v.lo + v.hi); }

__kernel void kernel_attention_probs_cpu(__global float *probs, __global const float *qkv,
                                         __global const int *tokenSeq, __global const int *lengths,
                                         __global const int *tokenOffsets, __global const int *probOffsets,
                                         __global const int *modes, int T, int H, float scale) {
  const int t = get_global_id(0), h = get_global_id(1);
  if (t >= T) return;
  const int s = tokenSeq[t], L = lengths[s], t0 = tokenOffsets[s], i = t - t0;
  __global float *p = probs + probOffsets[s] + ((size_t)h * L + i) * L;
  const int mode = modes[h];
  if (mode != 0) {
    const float v = (mode == 1) ? 1.0f / (float)L : 0.0f;
    for (int j = 0; j < L; j++) p[j] = v;
    return;
  }
  const size_t stride = 3 * (size_t)H;
  __global const float *qrow = qkv + (size_t)t * stride + h * HEAD_DIM;
  __global const float *kbase = qkv + (size_t)t0 * stride + H + h * HEAD_DIM;
  vecD q[NV];
  for (int c = 0; c < NV; c++) q[c] = VLOADD(c, qrow) * scale;

  float mx = -INFINITY;
  for (int j = 0; j < L; j++) {
    __global const float *krow = kbase + (size_t)j * stride;
    vecD acc = q[0] * VLOADD(0, krow);
    for (int c = 1; c < NV; c++) acc = fma(q[c], VLOADD(c, krow), acc);
    const float score = HSUM(acc);
    p[j] = score;
    mx = fmax(mx, score);
  }
  float sum = 0.0f;
  for (int j = 0; j < L; j++) {
    const float e = exp(p[j] - mx);
    p[j] = e;
    sum += e;
  }
  const float inv = 1.0f / sum;
  for (int j = 0; j < L; j++) p[j] *= inv;
}

// NOTE: no return before a barrier, even a uniform one (PoCL miscompiles that); the NDRange is
// exactly T · WG, and a uniform/zero head skips the work inside loops instead.
__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void kernel_attention_probs_gpu(
    __global float *probs, __global const float *qkv, __global const int *tokenSeq,
    __global const int *lengths, __global const int *tokenOffsets, __global const int *probOffsets,
    __global const int *modes, int T, int H, float scale) {
  __local float red[WG];
  __local float qs[HEAD_DIM];
  const int t = get_group_id(0), h = get_global_id(1), lid = get_local_id(0);
  const int s = tokenSeq[t], L = lengths[s], t0 = tokenOffsets[s], i = t - t0;
  __global float *p = probs + probOffsets[s] + ((size_t)h * L + i) * L;
  const int mode = modes[h];
  const int n = (mode == 0) ? L : 0;  // keys this head computes
  if (mode != 0) {
    const float v = (mode == 1) ? 1.0f / (float)L : 0.0f;
    for (int j = lid; j < L; j += WG) p[j] = v;
  }
  const size_t stride = 3 * (size_t)H;
  for (int c = lid; c < HEAD_DIM; c += WG) qs[c] = qkv[(size_t)t * stride + h * HEAD_DIM + c] * scale;
  barrier(CLK_LOCAL_MEM_FENCE);

  __global const float *kbase = qkv + (size_t)t0 * stride + H + h * HEAD_DIM;
  float mx = -INFINITY;
  for (int j = lid; j < n; j += WG) {
    __global const float *krow = kbase + (size_t)j * stride;
    float acc = 0.0f;
    for (int c = 0; c < HEAD_DIM; c++) acc = fma(qs[c], krow[c], acc);
    p[j] = acc;
    mx = fmax(mx, acc);
  }
  red[lid] = mx;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int w = WG / 2; w > 0; w >>= 1) {
    if (lid < w) red[lid] = fmax(red[lid], red[lid + w]);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  mx = red[0];
  barrier(CLK_LOCAL_MEM_FENCE);

  float sum = 0.0f;
  for (int j = lid; j < n; j += WG) {
    const float e = exp(p[j] - mx);
    p[j] = e;
    sum += e;
  }
  red[lid] = sum;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int w = WG / 2; w > 0; w >>= 1) {
    if (lid < w) red[lid] += red[lid + w];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float inv = 1.0f / red[0];
  for (int j = lid; j < n; j += WG) p[j] *= inv;
}
