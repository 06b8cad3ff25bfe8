import Foundation

/// The Jensen–Shannon distances between every pair of attention heads of one sequence
/// (Clark et al. 2019, §6), computed next to the maps by the backend so that a corpus run
/// moves one number per pair instead of the maps (`Kernels/head_distances.cl` mirrors this
/// on OpenCL devices).
///
/// Heads are numbered over all layers, `k = layer · heads + head` (0-based), `H = layers ·
/// heads` of them. For every pair `a < b` (across layers, not only within one) and a
/// sequence of length `n = L`:
///
/// ```
/// Ã   = 0.999 · A + 0.001 / n                       (each map smoothed)
/// d(a, b) = Σᵢ JS(Ã_a[i, :], Ã_b[i, :])            (over the n query rows)
/// JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m) = H(m) − (H(p) + H(q)) / 2,  m = (p + q) / 2
/// ```
///
/// with natural logarithms (nats) and `H` the entropy. The per-row entropies `H(p)` are
/// computed once per head (their sum over rows, `E_a = Σᵢ H(Ã_a[i, :])`); only `H(m)` is
/// pairwise, so `d(a, b) = Σᵢ H(mᵢ) − (E_a + E_b) / 2`. The corpus distance is the sum of
/// `d` over texts.
public enum HeadDistances {
  /// The weight of the uniform distribution mixed into every map: `Ã = (1 − ε)·A + ε/n`.
  public static let smoothing = 0.001

  /// Unordered pairs of `count` heads: `count · (count − 1) / 2`.
  public static func pairCount(_ count: Int) -> Int { count * (count - 1) / 2 }

  /// The position of pair (a, b), `a < b < count`, in the packed order (a = 0: b = 1…, then a = 1, …).
  public static func pairIndex(_ a: Int, _ b: Int, count: Int) -> Int {
    precondition(a < b && b < count)
    return a * count - a * (a + 1) / 2 + (b - a - 1)
  }

  /// `−Σⱼ x ln x` over one smoothed row: `x = (1 − ε)·row[j] + ε/n`.
  @inline(__always)
  static func smoothedEntropy(_ row: UnsafePointer<Float>, _ n: Int) -> Double {
    let keep = 1 - smoothing, floor = smoothing / Double(n)
    var h = 0.0
    for j in 0..<n {
      let x = keep * Double(row[j]) + floor
      h -= x * log(x)
    }
    return h
  }

  /// `E = Σᵢ H(Ã[i, :])` of one n × n map (row-major, rows = queries), in double.
  public static func entropySum(map a: UnsafePointer<Float>, length n: Int) -> Double {
    var sum = 0.0
    for i in 0..<n { sum += smoothedEntropy(a + i * n, n) }
    return sum
  }

  /// `Σᵢ H(mᵢ)`, `m = (Ã_a[i, :] + Ã_b[i, :]) / 2`, of two n × n maps, in double.
  public static func mixtureEntropySum(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, length n: Int) -> Double {
    let keep = 0.5 * (1 - smoothing), floor = smoothing / Double(n)
    var sum = 0.0
    for i in 0..<n {
      let ra = a + i * n, rb = b + i * n
      var h = 0.0
      for j in 0..<n {
        let m = keep * (Double(ra[j]) + Double(rb[j])) + floor
        h -= m * log(m)
      }
      sum += h
    }
    return sum
  }

  /// `d(a, b)` of two n × n maps of one sequence (the Swift reference of the kernels).
  public static func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, length n: Int) -> Double {
    mixtureEntropySum(a, b, length: n) - 0.5 * (entropySum(map: a, length: n) + entropySum(map: b, length: n))
  }

  /// `d(a, b)` of two row-major n × n maps given as arrays (tests, small inputs).
  public static func distance(_ a: [Float], _ b: [Float], length n: Int) -> Double {
    precondition(a.count == n * n && b.count == n * n)
    return a.withUnsafeBufferPointer { pa in
      b.withUnsafeBufferPointer { pb in distance(pa.baseAddress!, pb.baseAddress!, length: n) }
    }
  }
}
