// Vectorised float32 math for the CPU backend's element-wise ops.
//
// glibc's scalar expf/erff cost 5–16 ns each here; the exact GELU needs one erf per FFN
// element (~300 million for 256 × 128-token sentences), the softmax one exp per attention
// score. These SIMD16 versions run at about a nanosecond per 16 lanes.

typealias F16x = SIMD16<Float>

/// a·b + c in one rounding (vfmadd with AVX2/FMA enabled).
@inline(__always)
func madd(_ a: F16x, _ b: F16x, _ c: Float) -> F16x {
  F16x(repeating: c).addingProduct(a, b)
}

/// Lane-wise maximum as compare + blend. (The standard library's `pointwiseMax` goes
/// lane by lane through memory to honour IEEE maxNum's NaN rules: ~40x slower here.)
@inline(__always)
func vmax(_ a: F16x, _ b: F16x) -> F16x {
  a.replacing(with: b, where: b .> a)
}

/// Lane-wise minimum as compare + blend (see `vmax`).
@inline(__always)
func vmin(_ a: F16x, _ b: F16x) -> F16x {
  a.replacing(with: b, where: b .< a)
}

/// Sum of the lanes as a tree (the standard library's `sum()` adds lane by lane).
@inline(__always)
func hsum(_ v: F16x) -> Float {
  let a = v.lowHalf + v.highHalf
  let b = a.lowHalf + a.highHalf
  let c = b.lowHalf + b.highHalf
  return c[0] + c[1]
}

/// Largest lane, as a tree of compare + blend.
@inline(__always)
func hmax(_ v: F16x) -> Float {
  let a = v.lowHalf.replacing(with: v.highHalf, where: v.highHalf .> v.lowHalf)
  let b = a.lowHalf.replacing(with: a.highHalf, where: a.highHalf .> a.lowHalf)
  let c = b.lowHalf.replacing(with: b.highHalf, where: b.highHalf .> b.lowHalf)
  return Swift.max(c[0], c[1])
}

/// e^v for v already within [−87.3, 88.7]: Cody–Waite range reduction v = n·ln2 + r,
/// |r| ≤ ln2/2, a degree-6 polynomial for e^r (Cephes' expf coefficients, minimax on
/// [−ln2/2, ln2/2]) and scaling by 2^n through the exponent bits. Relative error ≤ 2 ulp.
@inline(__always)
private func expInRange(_ v: F16x) -> F16x {
  let n = (v * 1.442695040888963).rounded(.toNearestOrEven)
  // ln2 split into a high part exact in float and a low correction.
  var r = v.addingProduct(n, F16x(repeating: -0.693359375))
  r = r.addingProduct(n, F16x(repeating: 2.12194440e-4))
  var p = F16x(repeating: 1.9875691500e-4)
  p = madd(p, r, 1.3981999507e-3)
  p = madd(p, r, 8.3334519073e-3)
  p = madd(p, r, 4.1665795894e-2)
  p = madd(p, r, 1.6666665459e-1)
  p = madd(p, r, 5.0000001201e-1)
  p = (r + 1).addingProduct(p, r * r)
  // n is integral and |n| ≤ 128: adding 1.5·2²³ puts it in the low mantissa bits
  // (a float→int conversion without the generic, unspecialised SIMD init).
  let integer = unsafeBitCast(n + 12_582_912, to: SIMD16<Int32>.self) &- 0x4B40_0000
  return p * unsafeBitCast((integer &+ 127) &<< 23, to: F16x.self)
}

/// e^x for x ≤ 0 (softmax after subtracting the row maximum); 0 below −87.3, so −∞ gives 0.
@inline(__always)
func vexpNonPositive(_ x: F16x) -> F16x {
  let minX: Float = -87.33654
  return expInRange(x.replacing(with: minX, where: x .< minX)).replacing(with: 0, where: x .< minX)
}

/// e^x: 0 below −87.3, +∞ above 88.7.
@inline(__always)
func vexp(_ x: F16x) -> F16x {
  let maxX: Float = 88.72283
  let minX: Float = -87.33654
  var v = x.replacing(with: maxX, where: x .> maxX)
  v = v.replacing(with: minX, where: v .< minX)
  return expInRange(v).replacing(with: 0, where: x .< minX).replacing(with: .infinity, where: x .> maxX)
}

/// erf(x) ≈ x·P(x²)/Q(x²) on |x| ≤ 4, clamped beyond (where erf is within 2e-8 of ±1): a
/// rational fit made for BertScope, |error| ≤ 3.3e-7 in float32 — the same fit as
/// Kernels/gemm_cpu.cl and the packed GEMM's epilogue (Sources/CHostKernels).
@inline(__always)
func verf(_ x: F16x) -> F16x {
  var c = x.replacing(with: 4, where: x .> 4)
  c = c.replacing(with: -4, where: c .< -4)
  let t = c * c
  var p = madd(t, F16x(repeating: -1.36615022e-08), 4.77944811e-06)
  p = madd(p, t, 0.000382655381)
  p = madd(p, t, 0.00383960147)
  p = madd(p, t, 0.0543322951)
  p = madd(p, t, 0.184715093)
  p = madd(p, t, 1.12837918)
  var q = madd(t, F16x(repeating: 6.39989269e-05), 0.00130954413)
  q = madd(q, t, 0.0154535332)
  q = madd(q, t, 0.113827445)
  q = madd(q, t, 0.497033033)
  q = madd(q, t, 1.0)
  let e = c * p / q
  return vmax(vmin(e, F16x(repeating: 1)), F16x(repeating: -1))
}

/// Exact GELU: 0.5·x·(1 + erf(x/√2)) (Hendrycks & Gimpel 2016; BERT's "gelu").
@inline(__always)
func vgelu(_ x: F16x) -> F16x {
  let half = x * 0.5
  return half.addingProduct(half, verf(x * 0.7071067811865476))
}

/// tanh-approximated GELU ("gelu_new"): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
@inline(__always)
func vgeluTanh(_ x: F16x) -> F16x {
  let inner = (x + 0.044715 * x * x * x) * 0.7978845608028654
  return 0.5 * x * (1 + vtanh(inner))
}

/// tanh(x) = 1 − 2 / (e^{2x} + 1), saturating cleanly to ±1.
@inline(__always)
func vtanh(_ x: F16x) -> F16x {
  let e = vexp(2 * x)
  return 1 - 2 / (e + 1)
}
