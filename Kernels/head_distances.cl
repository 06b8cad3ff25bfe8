// kernel_head_entropies, kernel_head_distances: the Jensen–Shannon distance of every pair of
// attention heads of every sequence (Clark et al. 2019 §6), over all layers at once, computed
// next to the maps so that a corpus run reads back K² floats per sequence (K = layers · heads)
// instead of the maps. Mirrors HeadDistances (Swift); see
// Sources/BertScope/Encoder/HeadDistances.swift for the definition:
//
//   Ã = 0.999 · A + 0.001 / n,  d(a, b) = Σᵢ H(mᵢ) − (E_a + E_b) / 2,  mᵢ = (Ã_a[i,:] + Ã_b[i,:]) / 2,
//   E_a = Σᵢ H(Ã_a[i,:]),  H the entropy in nats.
//
//   probs: `layers` layers' probability buffers back to back, layer l at l · prob_count; per
//   sequence s its [heads, L, L] block at prob_offsets[s] within a layer. Head k = l · heads + h.
//   lengths, prob_offsets [sequences].
//   entropies [sequences, K, 2]: E as a float pair (hi, lo), hi + lo = the sum to ~double precision.
//   out [sequences, K, K]: entry (a, b) = d(a, b) for a < b; the others are not written.
//
// kernel_head_entropies: one work-item per (head, sequence); NDRange (K, sequences).
// kernel_head_distances: one work-item per (b, a, sequence), b > a; NDRange (K, K, sequences),
//   any local size (items outside return). Reads rows of two maps; no barriers.
//
// Sums (over a row's keys and over rows) are accumulated in double where the device has
// cl_khr_fp64 (PoCL, NVIDIA); elsewhere in float with Kahan compensation. Each term
// x · ln x is evaluated in float.
//
// Build options: none.

#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double acc_t;
#define ACC_ADD(sum, comp, x) ((sum) += (acc_t)(x))
#else
typedef float acc_t;
#define ACC_ADD(sum, comp, x)                                                                                       \
  do {                                                                                                               \
    const float y_ = (x) - (comp);                                                                                   \
    const float t_ = (sum) + y_;                                                                                     \
    (comp) = (t_ - (sum)) - y_;                                                                                      \
    (sum) = t_;                                                                                                      \
  } while (0)
#endif

#define SMOOTHING 0.001f

inline __global const float *head_map(__global const float *probs, int prob_count, __global const int *prob_offsets,
                                      int s, int n, int k, int heads) {
  const int l = k / heads, h = k % heads;
  return probs + (size_t)l * prob_count + prob_offsets[s] + (size_t)h * n * n;
}

__kernel void kernel_head_entropies(__global float *entropies, __global const float *probs,
                                    __global const int *lengths, __global const int *prob_offsets, int prob_count,
                                    int sequences, int heads, int count) {
  const int k = get_global_id(0), s = get_global_id(1);
  if (k >= count || s >= sequences) return;
  const int n = lengths[s];
  __global const float *a = head_map(probs, prob_count, prob_offsets, s, n, k, heads);
  const float keep = 1.0f - SMOOTHING, floor_ = SMOOTHING / (float)n;
  acc_t sum = 0, comp = 0;
  for (int i = 0; i < n; i++) {
    __global const float *row = a + (size_t)i * n;
    acc_t h = 0, hc = 0;
    for (int j = 0; j < n; j++) {
      const float x = keep * row[j] + floor_;
      ACC_ADD(h, hc, -x * log(x));
    }
    ACC_ADD(sum, comp, h);
  }
  __global float *e = entropies + ((size_t)s * count + k) * 2;
  const float hi = (float)sum;
  e[0] = hi;
  e[1] = (float)(sum - (acc_t)hi);
}

__kernel void kernel_head_distances(__global float *out, __global const float *entropies,
                                    __global const float *probs, __global const int *lengths,
                                    __global const int *prob_offsets, int prob_count, int sequences, int heads,
                                    int count) {
  const int b = get_global_id(0), a = get_global_id(1), s = get_global_id(2);
  if (b >= count || a >= b || s >= sequences) return;
  const int n = lengths[s];
  __global const float *pa = head_map(probs, prob_count, prob_offsets, s, n, a, heads);
  __global const float *pb = head_map(probs, prob_count, prob_offsets, s, n, b, heads);
  const float keep = 0.5f * (1.0f - SMOOTHING), floor_ = SMOOTHING / (float)n;
  acc_t sum = 0, comp = 0;
  for (int i = 0; i < n; i++) {
    __global const float *ra = pa + (size_t)i * n;
    __global const float *rb = pb + (size_t)i * n;
    acc_t h = 0, hc = 0;
    for (int j = 0; j < n; j++) {
      const float m = keep * (ra[j] + rb[j]) + floor_;
      ACC_ADD(h, hc, -m * log(m));
    }
    ACC_ADD(sum, comp, h);
  }
  __global const float *ea = entropies + ((size_t)s * count + a) * 2;
  __global const float *eb = entropies + ((size_t)s * count + b) * 2;
  const acc_t one_half = (acc_t)0.5f;
  const acc_t d = sum - one_half * (((acc_t)ea[0] + (acc_t)ea[1]) + ((acc_t)eb[0] + (acc_t)eb[1]));
  out[((size_t)s * count + a) * count + b] = (float)d;
}
