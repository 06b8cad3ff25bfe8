// kernel_attention_features_{cpu,gpu}: the AttentionFeatures vector (24 floats) of every
// attention map of one layer, computed next to the maps so that corpus statistics read back
// 96 bytes per map instead of L² floats. Mirrors AttentionFeatures.compute (Swift) entry for
// entry; see Sources/BertScope/Encoder/AttentionFeatures.swift and the analyses' MapFeatures
// for the definitions.
//
//   out [sequences, heads, 24] at `offset`; probs: per sequence s, [heads, L, L] at
//   probOffsets[s]; kinds, segments [T] (kind: 0 [CLS], 1 [SEP], 2 punctuation, 3 other);
//   lengths, tokenOffsets, probOffsets [sequences]; withinUniform [sequences].
//
// _cpu: one work-item per (sequence, head) map; NDRange (sequences, heads), local (1, 1).
// _gpu: one work-group of WG work-items per map, reductions in __local memory;
//       NDRange exactly (sequences · WG, heads), local (WG, 1): no return before a barrier.
//
// Sums are accumulated in double where the device has cl_khr_fp64 (PoCL, NVIDIA), as the
// host reference does; in float otherwise.
//
// Build options: -D WG=<power of two> (_gpu, default 128; common.cl).

#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double acc_t;
#else
typedef float acc_t;
#endif
// group_sum_acc, group_max_acc: common.cl's work-group reductions over acc_t.
DEFINE_GROUP_REDUCTIONS(acc_t, acc)

#define NFEAT 24

inline float is_other(int kind) { return (kind == 0 || kind == 1) ? 0.0f : 1.0f; }

/// AttentionFeatures.ramp: the soft threshold of features 20-23 (0 below t - 0.05, 1 above t + 0.05).
inline float ramp(float x, float t) { return fmin(1.0f, fmax(0.0f, (x - t) * 10.0f + 0.5f)); }

/// Row statistics of row i: entropy (float, as the host), within/cross (float), the
/// diagonal-band contributions, and the row-wise band features (`scale` = 1 / the map's max).
inline void row_stats(__global const float *a, int n, int i, __global const int *kind, __global const int *seg,
                      float scale, acc_t *entropy, acc_t *within, acc_t *cross, acc_t *diag, acc_t *prev,
                      acc_t *next, acc_t *band, acc_t *dark_band, acc_t *near_band) {
  __global const float *row = a + (size_t)i * n;
  const int si = seg[i];
  float hh = 0.0f, w = 0.0f, x = 0.0f, row_max = 0.0f;
  for (int j = 0; j < n; j++) {
    const float p = row[j];
    if (p > 0.0f) hh -= p * log(p);
    const float o = p * is_other(kind[j]);
    if (seg[j] == si) w += o; else x += o;
    row_max = fmax(row_max, p);
  }
  float band_max = row[i];
  if (i > 0) band_max = fmax(band_max, row[i - 1]);
  if (i + 1 < n) band_max = fmax(band_max, row[i + 1]);
  *dark_band += (acc_t)ramp(band_max * scale, 0.4f);
  *near_band += (acc_t)ramp(row_max > 0.0f ? band_max / row_max : 0.0f, 0.5f);
  *entropy += (acc_t)hh;
  *within += (acc_t)w;
  *cross += (acc_t)x;
  *diag += (acc_t)row[i];
  *band += (acc_t)(row[i] * is_other(kind[i]));
  if (i > 0) {
    *prev += (acc_t)row[i - 1];
    *band += (acc_t)(row[i - 1] * is_other(kind[i - 1]));
  }
  if (i + 1 < n) {
    *next += (acc_t)row[i + 1];
    *band += (acc_t)(row[i + 1] * is_other(kind[i + 1]));
  }
}

/// Column j's statistics: its mean c (the attention token j receives) into mass_by and max_by
/// under token j's kind, row 0's entry a[0][j] into cls_row under that kind, c into the largest
/// mean and the means' entropy; its soft counts of dark and grey cells into their maxima.
inline void column_stats(__global const float *a, int n, int j, __global const int *kind, float scale,
                         acc_t *max_by, acc_t *mass_by, acc_t *cls_row, acc_t *max_column, acc_t *column_entropy,
                         acc_t *dark_column, acc_t *grey_column) {
  acc_t column = 0, dark = 0, grey = 0;
  for (int i = 0; i < n; i++) {
    const float p = a[(size_t)i * n + j];
    column += (acc_t)p;
    dark += (acc_t)ramp(p * scale, 0.4f);
    grey += (acc_t)ramp(p * scale, 0.25f);
  }
  *dark_column = fmax(*dark_column, dark);
  *grey_column = fmax(*grey_column, grey);
  const acc_t c = column / (acc_t)n;
  const int k = kind[j];
  if (k < 3) max_by[k] = fmax(max_by[k], c);
  mass_by[k] += c;
  cls_row[k] += (acc_t)a[j];
  *max_column = fmax(*max_column, c);
  if (c > 0) *column_entropy -= c * log(c);
}

/// The largest entry of the n x n map `a`, from the entries i = first, first + step, ...
inline float map_max(__global const float *a, int n, int first, int step) {
  float top = 0.0f;
  for (int k = first; k < n * n; k += step) top = fmax(top, a[k]);
  return top;
}

/// Writes the 24 features from the accumulated sums.
inline void store_features(__global float *o, int n, float within_uniform, acc_t entropy, acc_t within,
                           acc_t cross, acc_t diag, acc_t prev, acc_t next, acc_t band, const acc_t *max_by,
                           const acc_t *mass_by, const acc_t *cls_row, acc_t max_column, acc_t column_entropy,
                           acc_t dark_column, acc_t grey_column, acc_t dark_band, acc_t near_band) {
  const acc_t len = (acc_t)n;
  o[0] = (float)max_by[0];
  o[1] = (float)max_by[1];
  o[2] = (float)max_by[2];
  o[3] = (float)(diag / len);
  o[4] = n > 1 ? (float)(prev / (len - 1)) : 0.0f;
  o[5] = n > 1 ? (float)(next / (len - 1)) : 0.0f;
  o[6] = (float)(entropy / len);
  o[7] = (float)(mass_by[0] + mass_by[1]);
  o[8] = (float)mass_by[2];
  o[9] = (float)max_column;
  o[10] = (float)column_entropy;
  o[11] = (float)(band / len);
  o[12] = (float)(within / len);
  o[13] = (float)(cross / len);
  o[14] = (float)cls_row[0];
  o[15] = (float)cls_row[1];
  o[16] = (float)cls_row[2];
  o[17] = (float)cls_row[3];
  o[18] = (float)n;
  o[19] = within_uniform;
  o[20] = (float)(dark_column / len);
  o[21] = (float)(grey_column / len);
  o[22] = (float)(dark_band / len);
  o[23] = (float)(near_band / len);
}

__kernel void kernel_attention_features_cpu(__global float *out, int offset, __global const float *probs,
                                            __global const int *kinds, __global const int *segments,
                                            __global const int *lengths, __global const int *token_offsets,
                                            __global const int *prob_offsets, __global const float *within_uniform,
                                            int sequences, int heads) {
  const int s = get_global_id(0), h = get_global_id(1);
  if (s >= sequences || h >= heads) return;
  const int n = lengths[s];
  __global float *o = out + offset + ((size_t)s * heads + h) * NFEAT;
  __global const float *a = probs + prob_offsets[s] + (size_t)h * n * n;
  __global const int *kind = kinds + token_offsets[s];
  __global const int *seg = segments + token_offsets[s];
  const float top = map_max(a, n, 0, 1);
  const float scale = top > 0.0f ? 1.0f / top : 0.0f;
  acc_t entropy = 0, within = 0, cross = 0, diag = 0, prev = 0, next = 0, band = 0, dark_band = 0, near_band = 0;
  for (int i = 0; i < n; i++)
    row_stats(a, n, i, kind, seg, scale, &entropy, &within, &cross, &diag, &prev, &next, &band, &dark_band,
              &near_band);
  acc_t max_by[4] = {0, 0, 0, 0}, mass_by[4] = {0, 0, 0, 0}, cls_row[4] = {0, 0, 0, 0};
  acc_t max_column = 0, column_entropy = 0, dark_column = 0, grey_column = 0;
  for (int j = 0; j < n; j++)
    column_stats(a, n, j, kind, scale, max_by, mass_by, cls_row, &max_column, &column_entropy, &dark_column,
                 &grey_column);
  if (n == 0) {
    for (int f = 0; f < NFEAT; f++) o[f] = 0.0f;
    o[19] = within_uniform[s];
    return;
  }
  store_features(o, n, within_uniform[s], entropy, within, cross, diag, prev, next, band, max_by, mass_by, cls_row,
                 max_column, column_entropy, dark_column, grey_column, dark_band, near_band);
}

__kernel __attribute__((reqd_work_group_size(WG, 1, 1))) void kernel_attention_features_gpu(
    __global float *out, int offset, __global const float *probs, __global const int *kinds,
    __global const int *segments, __global const int *lengths, __global const int *token_offsets,
    __global const int *prob_offsets, __global const float *within_uniform, int sequences, int heads) {
  __local acc_t red[WG];
  const int s = get_group_id(0), h = get_global_id(1), lid = get_local_id(0);
  const int n = lengths[s];
  __global const float *a = probs + prob_offsets[s] + (size_t)h * n * n;
  __global const int *kind = kinds + token_offsets[s];
  __global const int *seg = segments + token_offsets[s];
  // The map's largest entry first (features 20-22 are relative to it).
  const float top = (float)group_max_acc((acc_t)map_max(a, n, lid, WG), red, lid);
  const float scale = top > 0.0f ? 1.0f / top : 0.0f;
  // Rows strided over the work-group.
  acc_t entropy = 0, within = 0, cross = 0, diag = 0, prev = 0, next = 0, band = 0, dark_band = 0, near_band = 0;
  for (int i = lid; i < n; i += WG)
    row_stats(a, n, i, kind, seg, scale, &entropy, &within, &cross, &diag, &prev, &next, &band, &dark_band,
              &near_band);
  // Columns strided over the work-group (neighbouring work-items read neighbouring columns).
  acc_t max_by[4] = {0, 0, 0, 0}, mass_by[4] = {0, 0, 0, 0}, cls_row[4] = {0, 0, 0, 0};
  acc_t max_column = 0, column_entropy = 0, dark_column = 0, grey_column = 0;
  for (int j = lid; j < n; j += WG)
    column_stats(a, n, j, kind, scale, max_by, mass_by, cls_row, &max_column, &column_entropy, &dark_column,
                 &grey_column);
  entropy = group_sum_acc(entropy, red, lid);
  within = group_sum_acc(within, red, lid);
  cross = group_sum_acc(cross, red, lid);
  diag = group_sum_acc(diag, red, lid);
  prev = group_sum_acc(prev, red, lid);
  next = group_sum_acc(next, red, lid);
  band = group_sum_acc(band, red, lid);
  for (int k = 0; k < 4; k++) {
    max_by[k] = group_max_acc(max_by[k], red, lid);
    mass_by[k] = group_sum_acc(mass_by[k], red, lid);
    cls_row[k] = group_sum_acc(cls_row[k], red, lid);
  }
  max_column = group_max_acc(max_column, red, lid);
  column_entropy = group_sum_acc(column_entropy, red, lid);
  dark_column = group_max_acc(dark_column, red, lid);
  grey_column = group_max_acc(grey_column, red, lid);
  dark_band = group_sum_acc(dark_band, red, lid);
  near_band = group_sum_acc(near_band, red, lid);
  if (lid == 0 && s < sequences && h < heads) {
    __global float *o = out + offset + ((size_t)s * heads + h) * NFEAT;
    if (n == 0) {
      for (int f = 0; f < NFEAT; f++) o[f] = 0.0f;
      o[19] = within_uniform[s];
    } else {
      store_features(o, n, within_uniform[s], entropy, within, cross, diag, prev, next, band, max_by, mass_by,
                     cls_row, max_column, column_entropy, dark_column, grey_column, dark_band, near_band);
    }
  }
}
