// kernel_layer_norm_{cpu,gpu}: out[r] = (x[r] - mean) / sqrt(var + eps) · gamma + beta per row
// (biased variance, as torch.nn.LayerNorm). out may alias x.
//
//   out, x [rows, cols]; gamma, beta [cols]
//
// _cpu: one work-item per row, two passes over the row (no barriers);
//       NDRange (rows rounded up to the local size).
// _gpu: one work-group of WG work-items per row, reductions in __local memory;
//       NDRange exactly (rows · WG), local (WG): no return before a barrier (PoCL miscompiles it).
// Both bodies are common.cl's normalize_row_{cpu,gpu}, shared with embed.cl.
//
// Build options: -D WG=<power of two> (_gpu, default 128; common.cl).

__kernel void kernel_layer_norm_cpu(__global float *out, __global const float *x, __global const float *gamma,
                                    __global const float *beta, int rows, int cols, float eps) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  __global const float *xr = x + (size_t)r * cols;
  normalize_row_cpu(out + (size_t)r * cols, xr, row_sum_cpu(xr, cols), gamma, beta, cols, eps);
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void kernel_layer_norm_gpu(
    __global float *out, __global const float *x, __global const float *gamma, __global const float *beta,
    int rows, int cols, float eps) {
  __local float red[WG];
  const int r = get_group_id(0), lid = get_local_id(0);
  __global const float *xr = x + (size_t)r * cols;
  normalize_row_gpu(out + (size_t)r * cols, xr, row_sum_gpu(xr, cols, lid), gamma, beta, cols, eps, red, lid);
}
