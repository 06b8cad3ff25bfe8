// The host kernels' one source, compiled once per level: the including file defines
// BS_TARGET (the level's function attribute, possibly empty) and BS_ENTRY(name) (the name of
// an entry point at that level), and host_kernels.c dispatches between the levels.
//
// Arithmetic on 16-float vectors in a fixed order: sums as trees of halves, FMAs only where
// written (`fma16`), selects as compare + blend (a NaN compares false and passes through), no
// contraction. Both levels therefore round every operation the same way and give the same bits.
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "host_kernels.h"

#pragma clang fp contract(off)
// Vector arguments of the (always inlined) helpers would change the calling convention
// without AVX-512; they never cross a call.
#pragma clang diagnostic ignored "-Wpsabi"

typedef float f16x __attribute__((vector_size(64)));
typedef float f8x __attribute__((vector_size(32)));
typedef float f4x __attribute__((vector_size(16)));
typedef float f2x __attribute__((vector_size(8)));
typedef int i16x __attribute__((vector_size(64)));
typedef int i8x __attribute__((vector_size(32)));
typedef int i4x __attribute__((vector_size(16)));
typedef int i2x __attribute__((vector_size(8)));
typedef unsigned u16x __attribute__((vector_size(64)));

#define INLINE static inline BS_TARGET __attribute__((always_inline))
#define ENTRY BS_TARGET

// `m ? yes : no` lane by lane, m a comparison's result (all ones or all zeros per lane).
#define SELECT(F, I, m, yes, no) ((F)(((m) & (I)(yes)) | (~(m) & (I)(no))))

INLINE f16x splat(float x) { return (f16x){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }
INLINE f16x load(const float *p) {
  f16x v;
  memcpy(&v, p, sizeof v);
  return v;
}
INLINE void store(float *p, f16x v) { memcpy(p, &v, sizeof v); }

// a·b + c in one rounding.
INLINE f16x fma16(f16x a, f16x b, f16x c) { return __builtin_elementwise_fma(a, b, c); }
INLINE f16x madd(f16x a, f16x b, float c) { return fma16(a, b, splat(c)); }
INLINE f16x select16(i16x m, f16x yes, f16x no) { return SELECT(f16x, i16x, m, yes, no); }
// b where b > a, else a.
INLINE f16x vmax(f16x a, f16x b) { return select16(b > a, b, a); }
// b where b < a, else a.
INLINE f16x vmin(f16x a, f16x b) { return select16(b < a, b, a); }

#define LOW8(v) __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7)
#define HIGH8(v) __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15)
#define LOW4(v) __builtin_shufflevector(v, v, 0, 1, 2, 3)
#define HIGH4(v) __builtin_shufflevector(v, v, 4, 5, 6, 7)
#define LOW2(v) __builtin_shufflevector(v, v, 0, 1)
#define HIGH2(v) __builtin_shufflevector(v, v, 2, 3)

// Sum of the lanes: halves added, 16 → 8 → 4 → 2 → 1.
INLINE float hsum(f16x v) {
  f8x a = LOW8(v) + HIGH8(v);
  f4x b = LOW4(a) + HIGH4(a);
  f2x c = LOW2(b) + HIGH2(b);
  return c[0] + c[1];
}

// Largest lane, by the same tree: the high half's lane where it is larger.
INLINE float hmax(f16x v) {
  f8x l8 = LOW8(v), h8 = HIGH8(v);
  f8x a = SELECT(f8x, i8x, h8 > l8, h8, l8);
  f4x l4 = LOW4(a), h4 = HIGH4(a);
  f4x b = SELECT(f4x, i4x, h4 > l4, h4, l4);
  f2x l2 = LOW2(b), h2 = HIGH2(b);
  f2x c = SELECT(f2x, i2x, h2 > l2, h2, l2);
  return c[1] >= c[0] ? c[1] : c[0];
}

// ---- element-wise math ----

#define EXP_MIN (-87.33654f)
#define EXP_MAX 88.72283f

// e^v for v already within [EXP_MIN, EXP_MAX]: Cody–Waite range reduction v = n·ln2 + r,
// |r| ≤ ln2/2, a degree-6 polynomial for e^r (Cephes' expf coefficients, minimax on
// [−ln2/2, ln2/2]) and scaling by 2^n through the exponent bits. Relative error ≤ 2 ulp.
INLINE f16x exp_in_range(f16x v) {
  f16x n = __builtin_elementwise_roundeven(v * 1.442695040888963f);
  // ln2 split into a high part exact in float and a low correction.
  f16x r = fma16(n, splat(-0.693359375f), v);
  r = fma16(n, splat(2.12194440e-4f), r);
  f16x p = splat(1.9875691500e-4f);
  p = madd(p, r, 1.3981999507e-3f);
  p = madd(p, r, 8.3334519073e-3f);
  p = madd(p, r, 4.1665795894e-2f);
  p = madd(p, r, 1.6666665459e-1f);
  p = madd(p, r, 5.0000001201e-1f);
  p = fma16(p, r * r, r + 1.0f);
  // n is integral and |n| ≤ 128: adding 1.5·2²³ puts it in the low mantissa bits.
  u16x integer = (u16x)(n + 12582912.0f) - 0x4B400000u;
  return p * (f16x)((integer + 127u) << 23);
}

// e^x for x ≤ 0 (softmax after subtracting the row maximum); 0 below EXP_MIN, so −∞ gives 0.
INLINE f16x vexp_nonpositive(f16x x) {
  i16x under = x < EXP_MIN;
  return select16(under, splat(0), exp_in_range(select16(under, splat(EXP_MIN), x)));
}

// e^x: 0 below EXP_MIN, +∞ above EXP_MAX.
INLINE f16x vexp(f16x x) {
  f16x v = select16(x > EXP_MAX, splat(EXP_MAX), x);
  v = select16(v < EXP_MIN, splat(EXP_MIN), v);
  f16x e = select16(x < EXP_MIN, splat(0), exp_in_range(v));
  return select16(x > EXP_MAX, splat(INFINITY), e);
}

// erf(x) ≈ x·P(x²)/Q(x²) on |x| ≤ 4, clamped beyond (where erf is within 2e-8 of ±1): a
// rational fit made for BertScope, |error| ≤ 3.3e-7 in float32; Kernels/gemm_cpu.cl and the
// packed GEMM's epilogue use the same one.
INLINE f16x verf(f16x x) {
  f16x c = select16(x > 4.0f, splat(4), x);
  c = select16(c < -4.0f, splat(-4), c);
  f16x t = c * c;
  f16x p = madd(t, splat(-1.36615022e-08f), 4.77944811e-06f);
  p = madd(p, t, 0.000382655381f);
  p = madd(p, t, 0.00383960147f);
  p = madd(p, t, 0.0543322951f);
  p = madd(p, t, 0.184715093f);
  p = madd(p, t, 1.12837918f);
  f16x q = madd(t, splat(6.39989269e-05f), 0.00130954413f);
  q = madd(q, t, 0.0154535332f);
  q = madd(q, t, 0.113827445f);
  q = madd(q, t, 0.497033033f);
  q = madd(q, t, 1.0f);
  f16x e = c * p / q;
  return vmax(vmin(e, splat(1)), splat(-1));
}

// Exact GELU: 0.5·x·(1 + erf(x/√2)) (Hendrycks & Gimpel 2016; BERT's "gelu").
INLINE f16x vgelu(f16x x) {
  f16x half = x * 0.5f;
  return fma16(half, verf(x * 0.7071067811865476f), half);
}

// tanh(x) = 1 − 2 / (e^{2x} + 1), saturating cleanly to ±1.
INLINE f16x vtanh(f16x x) {
  f16x e = vexp(2.0f * x);
  return 1.0f - 2.0f / (e + 1.0f);
}

// tanh-approximated GELU ("gelu_new"): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
INLINE f16x vgelu_tanh(f16x x) {
  f16x inner = (x + 0.044715f * x * x * x) * 0.7978845608028654f;
  return 0.5f * x * (1.0f + vtanh(inner));
}

INLINE f16x vmath(int function, f16x x) {
  switch (function) {
  case BS_VMATH_EXP: return vexp(x);
  case BS_VMATH_ERF: return verf(x);
  case BS_VMATH_GELU: return vgelu(x);
  case BS_VMATH_GELU_TANH: return vgelu_tanh(x);
  case BS_VMATH_TANH: return vtanh(x);
  default: return x;
  }
}

ENTRY void BS_ENTRY(vmath)(int function, float *out, const float *x, long n) {
  long j = 0;
  for (; j + 16 <= n; j += 16) store(out + j, vmath(function, load(x + j)));
  if (j < n) {
    float lanes[16] = {0};
    memcpy(lanes, x + j, (size_t)(n - j) * sizeof(float));
    store(lanes, vmath(function, load(lanes)));
    memcpy(out + j, lanes, (size_t)(n - j) * sizeof(float));
  }
}

// ---- LayerNorm and embeddings ----

// LayerNorm of one row (out may be x): mean and biased variance in two passes.
INLINE void normalize_row(float *out, const float *x, long n, const float *gamma, const float *beta, float eps) {
  f16x acc = {0};
  long j = 0;
  for (; j + 16 <= n; j += 16) acc += load(x + j);
  float sum = hsum(acc);
  for (; j < n; j++) sum += x[j];
  float mean = sum / (float)n;
  acc = (f16x){0};
  for (j = 0; j + 16 <= n; j += 16) {
    f16x dv = load(x + j) - mean;
    acc = fma16(dv, dv, acc);
  }
  float squares = hsum(acc);
  for (; j < n; j++) {
    float dv = x[j] - mean;
    squares += dv * dv;
  }
  float inverse = 1.0f / __builtin_sqrtf(squares / (float)n + eps);
  for (j = 0; j + 16 <= n; j += 16) {
    f16x v = (load(x + j) - mean) * inverse;
    store(out + j, fma16(v, load(gamma + j), load(beta + j)));
  }
  for (; j < n; j++) out[j] = (x[j] - mean) * inverse * gamma[j] + beta[j];
}

ENTRY void BS_ENTRY(layer_norm_rows)(float *out, const float *x, long rows, long n, const float *gamma,
                                     const float *beta, float eps) {
  for (long r = 0; r < rows; r++) normalize_row(out + r * n, x + r * n, n, gamma, beta, eps);
}

ENTRY void BS_ENTRY(embed_rows)(float *out, long count, long n, const float *word, const float *position,
                                const float *type, const int *ids, const int *positions, const int *segments,
                                const float *gamma, const float *beta, float eps) {
  for (long t = 0; t < count; t++) {
    float *row = out + t * n;
    const float *w = word + (long)ids[t] * n, *p = position + (long)positions[t] * n,
                *ty = type + (long)segments[t] * n;
    for (long j = 0; j < n; j++) row[j] = (w[j] + ty[j]) + p[j];
    normalize_row(row, row, n, gamma, beta, eps);
  }
}

// ---- the OpenBLAS path's epilogues ----

INLINE void add_bias(float *row, const float *bias, long n) {
  long j = 0;
  for (; j + 16 <= n; j += 16) store(row + j, load(row + j) + load(bias + j));
  for (; j < n; j++) row[j] += bias[j];
}

// Hugging Face: LayerNorm(dense(x) + residual), dense(x) = x·Wᵀ + b.
INLINE void add_bias_residual(float *row, const float *bias, const float *residual, long n) {
  long j = 0;
  for (; j + 16 <= n; j += 16) store(row + j, (load(row + j) + load(bias + j)) + load(residual + j));
  for (; j < n; j++) row[j] = (row[j] + bias[j]) + residual[j];
}

INLINE void add_bias_activate(float *row, const float *bias, long n, int activation) {
  long j = 0;
  for (; j + 16 <= n; j += 16) {
    f16x v = load(row + j) + load(bias + j);
    f16x y;
    switch (activation) {
    case BS_ACTIVATION_GELU: y = vgelu(v); break;
    case BS_ACTIVATION_GELU_TANH: y = vgelu_tanh(v); break;
    default: y = vmax(v, splat(0)); break;
    }
    store(row + j, y);
  }
  // The last < 16 columns in double through libm.
  for (; j < n; j++) {
    double v = (double)(row[j] + bias[j]);
    switch (activation) {
    case BS_ACTIVATION_GELU: row[j] = (float)(0.5 * v * (1 + erf(v / sqrt(2.0)))); break;
    case BS_ACTIVATION_GELU_TANH:
      row[j] = (float)(0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v))));
      break;
    default: row[j] = (float)(0.0 >= v ? 0.0 : v); break;
    }
  }
}

ENTRY void BS_ENTRY(epilogue)(float *c, long rows, long cols, long ldc, const float *bias, const float *residual,
                              long ldr, int epilogue, int activation) {
  for (long r = 0; r < rows; r++) {
    float *row = c + r * ldc;
    switch (epilogue) {
    case BS_EPILOGUE_BIAS: add_bias(row, bias, cols); break;
    case BS_EPILOGUE_BIAS_RESIDUAL: add_bias_residual(row, bias, residual + r * ldr, cols); break;
    case BS_EPILOGUE_BIAS_ACTIVATION: add_bias_activate(row, bias, cols, activation); break;
    default: break;
    }
  }
}

// ---- attention, one (sequence, head) ----

// Rows first…first+5 of a matrix (rows `stride` apart); rows past `last` repeat row `last`
// (their results are computed but not stored).
typedef struct {
  const float *r0, *r1, *r2, *r3, *r4, *r5;
} SixRows;

INLINE long min_long(long a, long b) { return b < a ? b : a; }

INLINE SixRows six_rows(const float *base, long first, long last, long stride) {
  SixRows a = {base + min_long(first, last) * stride,     base + min_long(first + 1, last) * stride,
               base + min_long(first + 2, last) * stride, base + min_long(first + 3, last) * stride,
               base + min_long(first + 4, last) * stride, base + min_long(first + 5, last) * stride};
  return a;
}

typedef struct {
  f16x c0, c1, c2, c3, c4, c5;
} Tile;

// 6×16 block of A·B: rows `a` (k floats each) times b (k rows of ≥ 16 floats, ldb apart),
// one FMA chain per element in k order. Twelve AVX2 accumulators; the micro-kernel of QKᵀ
// and P·V.
INLINE Tile tile6x16(long k, SixRows a, const float *b, long ldb) {
  const float *a0 = a.r0, *a1 = a.r1, *a2 = a.r2, *a3 = a.r3, *a4 = a.r4, *a5 = a.r5;
  f16x c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0}, c4 = {0}, c5 = {0};
  for (long p = 0; p < k; p++) {
    f16x bv = load(b);
    c0 = fma16(splat(a0[p]), bv, c0);
    c1 = fma16(splat(a1[p]), bv, c1);
    c2 = fma16(splat(a2[p]), bv, c2);
    c3 = fma16(splat(a3[p]), bv, c3);
    c4 = fma16(splat(a4[p]), bv, c4);
    c5 = fma16(splat(a5[p]), bv, c5);
    b += ldb;
  }
  Tile t = {c0, c1, c2, c3, c4, c5};
  return t;
}

// The first `rows` rows of t at dst (rows ld apart).
INLINE void store_rows(Tile t, long rows, float *dst, long ld) {
  store(dst, t.c0);
  if (rows > 1) store(dst + ld, t.c1);
  if (rows > 2) store(dst + 2 * ld, t.c2);
  if (rows > 3) store(dst + 3 * ld, t.c3);
  if (rows > 4) store(dst + 4 * ld, t.c4);
  if (rows > 5) store(dst + 5 * ld, t.c5);
}

// The first `cols` (< 16) columns of the first `rows` rows of t.
INLINE void store_rows_partial(Tile t, long rows, long cols, float *dst, long ld) {
  f16x all[6] = {t.c0, t.c1, t.c2, t.c3, t.c4, t.c5};
  for (long r = 0; r < rows; r++) memcpy(dst + r * ld, &all[r], (size_t)cols * sizeof(float));
}

// out[0..<n] = softmax(scale · s[0..<n]); s has room for `padded` (a multiple of 16) floats
// and is used as scratch.
INLINE void softmax_row(float *s, long n, long padded, float scale, float *out) {
  for (long j = n; j < padded; j++) s[j] = -INFINITY;
  f16x m = splat(-INFINITY);
  for (long j = 0; j < padded; j += 16) m = vmax(m, load(s + j));
  float shift = hmax(m) * scale;
  f16x sum = {0};
  for (long j = 0; j < padded; j += 16) {
    f16x e = vexp_nonpositive(load(s + j) * scale - shift);
    store(s + j, e);
    sum += e;
  }
  float inverse = 1.0f / hsum(sum);
  long j = 0;
  for (; j + 16 <= n; j += 16) store(out + j, load(s + j) * inverse);
  for (; j < n; j++) out[j] = s[j] * inverse;
}

INLINE long padded16(long n) { return (n + 15) & ~15L; }

// One head's V rows as [length][dPadded], zero past column d.
INLINE void pack_v(const float *v, long ld, long length, long d, float *packed) {
  long dPadded = padded16(d);
  for (long k = 0; k < length; k++) {
    memcpy(packed + k * dPadded, v + k * ld, (size_t)d * sizeof(float));
    for (long c = d; c < dPadded; c++) packed[k * dPadded + c] = 0;
  }
}

// `rows` (≤ 6) rows of P·V: probability rows `a` (`length` floats each) times packed V.
INLINE void context_rows(SixRows a, long rows, long length, const float *packed, long d, float *dst, long ldc) {
  long dPadded = padded16(d);
  for (long j0 = 0; j0 < d; j0 += 16) {
    Tile t = tile6x16(length, a, packed + j0, dPadded);
    long cols = min_long(16, d - j0);
    if (cols == 16)
      store_rows(t, rows, dst + j0, ldc);
    else
      store_rows_partial(t, rows, cols, dst + j0, ldc);
  }
}

ENTRY void BS_ENTRY(attention_context_head)(const float *probs, const float *v, long ld, long length, long d,
                                            float *context, long ldc, float *scratch) {
  if (length <= 0) return;
  pack_v(v, ld, length, d, scratch);
  for (long i = 0; i < length; i += 6)
    context_rows(six_rows(probs, i, length - 1, length), min_long(6, length - i), length, scratch, d,
                 context + i * ldc, ldc);
}

ENTRY void BS_ENTRY(attention_head)(const float *q, const float *k, const float *v, long ld, long length, long d,
                                    float scale, int mode, float *probs, float *context, long ldc, float *scratch) {
  if (length <= 0) return;
  long padded = padded16(length);
  float *kt = scratch, *scores = scratch + d * padded, *packed = scores + 6 * padded;
  // Without a map (probs NULL, context only): each block's six probability rows go to scratch,
  // rows `length` apart like the map's, and are multiplied by V from there (the same
  // arithmetic, so the same context to the bit).
  float *rows6 = packed + length * padded16(d);
  if (mode != BS_HEAD_NORMAL) {
    float value = mode == BS_HEAD_UNIFORM ? 1.0f / (float)length : 0.0f;
    if (probs) {
      for (long j = 0; j < length * length; j++) probs[j] = value;
      if (context) BS_ENTRY(attention_context_head)(probs, v, ld, length, d, context, ldc, scratch);
      return;
    }
    if (!context) return;
    for (long j = 0; j < 6 * length; j++) rows6[j] = value;
    pack_v(v, ld, length, d, packed);
    for (long i = 0; i < length; i += 6) {
      long rows = min_long(6, length - i);
      context_rows(six_rows(rows6, 0, rows - 1, length), rows, length, packed, d, context + i * ldc, ldc);
    }
    return;
  }
  if (!probs && !context) return;
  // Kᵀ as [d][padded], zero past the sequence so that whole 16-wide panels can be read.
  // Column by column, so that the stores are sequential (row-by-row stores stride through
  // kt and stall on 4K aliasing); the 2·L source cache lines stay in L1.
  for (long p = 0; p < d; p++) {
    float *dst = kt + p * padded;
    const float *src = k + p;
    for (long j = 0; j < length; j++, src += ld) dst[j] = *src;
    for (long j = length; j < padded; j++) dst[j] = 0;
  }
  if (context) pack_v(v, ld, length, d, packed);
  for (long i = 0; i < length; i += 6) {
    long rows = min_long(6, length - i);
    SixRows a = six_rows(q, i, length - 1, ld);
    for (long j0 = 0; j0 < padded; j0 += 16) store_rows(tile6x16(d, a, kt + j0, padded), rows, scores + j0, padded);
    float *out = probs ? probs + i * length : rows6;
    for (long r = 0; r < rows; r++) softmax_row(scores + r * padded, length, padded, scale, out + r * length);
    if (context) context_rows(six_rows(out, 0, rows - 1, length), rows, length, packed, d, context + i * ldc, ldc);
  }
}
