// kernel_layer_norm_{cpu,gpu}: out[r] = (x[r] - mean) / sqrt(var + eps) · gamma + beta per row
// (biased variance, as torch.nn.LayerNorm). out may alias x.
//
//   out, x [rows, cols]; gamma, beta [cols]
//
// _cpu: one work-item per row, two passes over the row (no barriers);
//       NDRange (rows rounded up to the local size).
// _gpu: one work-group of WG work-items per row, reductions in __local memory;
//       NDRange exactly (rows · WG), local (WG): no return before a barrier (PoCL miscompiles it).
//
// Build options: -D WG=<power of two> (_gpu, default 128).

#ifndef WG
#define WG 128
#endif

inline float hsum4(float4 v) { float2 a = v.lo + v.hi; return a.x + a.y; }
inline float hsum8(float8 v) { return hsum4(v.lo + v.hi); }
inline float hsum16(float16 v) { return hsum8(v.lo + v.hi); }

__kernel void kernel_layer_norm_cpu(__global float *out, __global const float *x, __global const float *gamma,
                                    __global const float *beta, int rows, int cols, float eps) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  __global const float *xr = x + (size_t)r * cols;
  __global float *o = out + (size_t)r * cols;
  const int nv = cols / 16;

  float16 s16 = (float16)(0.0f);
  for (int c = 0; c < nv; c++) s16 += vload16(c, xr);
  float sum = hsum16(s16);
  for (int c = nv * 16; c < cols; c++) sum += xr[c];
  const float mean = sum / (float)cols;

  float16 q16 = (float16)(0.0f);
  for (int c = 0; c < nv; c++) {
    const float16 d = vload16(c, xr) - mean;
    q16 = fma(d, d, q16);
  }
  float sq = hsum16(q16);
  for (int c = nv * 16; c < cols; c++) {
    const float d = xr[c] - mean;
    sq = fma(d, d, sq);
  }
  const float rstd = rsqrt(sq / (float)cols + eps);

  for (int c = 0; c < nv; c++)
    vstore16(fma((vload16(c, xr) - mean) * rstd, vload16(c, gamma), vload16(c, beta)), c, o);
  for (int c = nv * 16; c < cols; c++) o[c] = fma((xr[c] - mean) * rstd, gamma[c], beta[c]);
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void kernel_layer_norm_gpu(
    __global float *out, __global const float *x, __global const float *gamma, __global const float *beta,
    int rows, int cols, float eps) {
  __local float red[WG];
  const int r = get_group_id(0), lid = get_local_id(0);
  __global const float *xr = x + (size_t)r * cols;
  __global float *o = out + (size_t)r * cols;

  float sum = 0.0f;
  for (int c = lid; c < cols; c += WG) sum += xr[c];
  red[lid] = sum;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int w = WG / 2; w > 0; w >>= 1) {
    if (lid < w) red[lid] += red[lid + w];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float mean = red[0] / (float)cols;
  barrier(CLK_LOCAL_MEM_FENCE);

  float sq = 0.0f;
  for (int c = lid; c < cols; c += WG) {
    const float d = xr[c] - mean;
    sq = fma(d, d, sq);
  }
  red[lid] = sq;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int w = WG / 2; w > 0; w >>= 1) {
    if (lid < w) red[lid] += red[lid + w];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float rstd = rsqrt(red[0] / (float)cols + eps);
  // Every work-item has read red[0]; out may alias x, but each element is read then written
  // by the same work-item.
  for (int c = lid; c < cols; c += WG) o[c] = fma((xr[c] - mean) * rstd, gamma[c], beta[c]);
}
