// kernel_embed_{cpu,gpu}: out[t] = LayerNorm(word[ids[t]] + position[positions[t]] + type[segments[t]]).
//
//   out [T, H]; word [V, H]; position [P, H]; type [S, H]; gamma, beta [H]
//   ids, positions, segments [T] (checked against V, P, S by the host)
//
// _cpu: one work-item per token: the sum is written to out, then normalised in place
//       (no barriers); NDRange (T rounded up to the local size).
// _gpu: one work-group of WG work-items per token, reductions in __local memory;
//       NDRange exactly (T · WG), local (WG): no return before a barrier (PoCL miscompiles it).
// The normalisation is common.cl's normalize_row_{cpu,gpu}, as in layer_norm.cl.
//
// Build options: -D WG=<power of two> (_gpu, default 128; common.cl).

__kernel void kernel_embed_cpu(__global float *out, __global const int *ids, __global const int *positions,
                               __global const int *segments, __global const float *word,
                               __global const float *position, __global const float *type,
                               __global const float *gamma, __global const float *beta, int T, int H,
                               float eps) {
  const int t = get_global_id(0);
  if (t >= T) return;
  __global const float *w = word + (size_t)ids[t] * H;
  __global const float *p = position + (size_t)positions[t] * H;
  __global const float *y = type + (size_t)segments[t] * H;
  __global float *o = out + (size_t)t * H;
  const int nv = H / 16;

  // The sum is added as row_sum_cpu adds it, while the embeddings are written.
  float16 s16 = (float16)(0.0f);
  for (int c = 0; c < nv; c++) {
    const float16 e = vload16(c, w) + vload16(c, p) + vload16(c, y);
    vstore16(e, c, o);
    s16 += e;
  }
  float sum = hsum16(s16);
  for (int c = nv * 16; c < H; c++) {
    const float e = w[c] + p[c] + y[c];
    o[c] = e;
    sum += e;
  }
  normalize_row_cpu(o, o, sum, gamma, beta, H, eps);
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void kernel_embed_gpu(
    __global float *out, __global const int *ids, __global const int *positions, __global const int *segments,
    __global const float *word, __global const float *position, __global const float *type,
    __global const float *gamma, __global const float *beta, int T, int H, float eps) {
  __local float red[WG];
  const int t = get_group_id(0), lid = get_local_id(0);
  __global const float *w = word + (size_t)ids[t] * H;
  __global const float *p = position + (size_t)positions[t] * H;
  __global const float *y = type + (size_t)segments[t] * H;
  __global float *o = out + (size_t)t * H;

  // Each work-item keeps to its own columns (c ≡ lid mod WG) throughout, so o needs no barrier.
  float sum = 0.0f;
  for (int c = lid; c < H; c += WG) {
    const float e = w[c] + p[c] + y[c];
    o[c] = e;
    sum += e;
  }
  normalize_row_gpu(o, o, sum, gamma, beta, H, eps, red, lid);
}
