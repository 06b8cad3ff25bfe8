import BertScope
import Foundation

/// Classical (Torgerson) multidimensional scaling: points in a few dimensions whose Euclidean
/// distances approximate a given distance matrix.
///
/// `B = −½ J D⁽²⁾ J` with `D⁽²⁾` the element-wise squared distances and `J = I − 𝟙𝟙ᵀ/n`
/// (double centring); the coordinates along dimension k are `v_k · √λ_k` for the k largest
/// eigenpairs (λ_k, v_k) of B (a negative λ gives 0). The eigenpairs come from the cyclic
/// Jacobi method (every rotation in a fixed order: deterministic); each eigenvector's sign is
/// fixed so that its largest-magnitude component (the first of equal ones) is positive.
public enum ClassicalMDS {
  /// An embedding of n points.
  public struct Embedding: Sendable, Equatable {
    /// `[n][dimensions]`.
    public var coordinates: [[Double]]
    /// The `dimensions` largest eigenvalues of B, largest first.
    public var eigenvalues: [Double]
    /// Σ of the kept eigenvalues (clamped at 0) over Σ of all positive eigenvalues: the share of
    /// the centred squared distances the embedding explains (1 when all are 0).
    public var explainedShare: Double
    /// Kruskal's stress-1: `√(Σ (d_ij − δ_ij)² / Σ d_ij²)` over pairs i < j, δ the embedded
    /// distances (0 when every d is 0).
    public var stress: Double
  }

  /// Embeds the n × n symmetric `distances` (row-major, zero diagonal) in `dimensions` dimensions.
  /// - Throws: ``BertScopeError/invalidInput(_:)`` when the matrix is not square and symmetric
  ///   with finite entries.
  public static func embed(_ distances: [Double], count n: Int, dimensions: Int = 2) throws -> Embedding {
    guard n >= 0, distances.count == n * n, dimensions >= 1 else {
      throw BertScopeError.invalidInput("MDS: \(distances.count) distances do not fill \(n) × \(n)")
    }
    guard distances.allSatisfy(\.isFinite) else { throw BertScopeError.invalidInput("MDS: a distance is not finite") }
    for i in 0..<n {
      for j in 0..<i where abs(distances[i * n + j] - distances[j * n + i]) > 1e-9 * max(1, abs(distances[i * n + j])) {
        throw BertScopeError.invalidInput("MDS: the distance matrix is not symmetric at (\(i + 1), \(j + 1))")
      }
    }
    guard n > 0 else { return Embedding(coordinates: [], eigenvalues: [], explainedShare: 1, stress: 0) }
    // B = −½ J D² J: subtract row and column means of D², add the grand mean.
    var b = distances.map { $0 * $0 }
    var rowMean = [Double](repeating: 0, count: n)
    for i in 0..<n { rowMean[i] = (0..<n).reduce(0.0) { $0 + b[i * n + $1] } / Double(n) }
    let grand = rowMean.reduce(0, +) / Double(n)
    for i in 0..<n {
      for j in 0..<n { b[i * n + j] = -0.5 * (b[i * n + j] - rowMean[i] - rowMean[j] + grand) }
    }
    let (values, vectors) = symmetricEigen(b, count: n)
    let order = values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
    let kept = Array(order.prefix(dimensions))
    var coordinates = [[Double]](repeating: [Double](repeating: 0, count: dimensions), count: n)
    var eigenvalues: [Double] = []
    for (d, k) in kept.enumerated() {
      var v = (0..<n).map { vectors[$0 * n + k] }
      var big = 0
      for i in 1..<n where abs(v[i]) > abs(v[big]) + 1e-12 { big = i }
      if v[big] < 0 { v = v.map { -$0 } }
      let scale = max(values[k], 0).squareRoot()
      for i in 0..<n { coordinates[i][d] = v[i] * scale }
      eigenvalues.append(values[k])
    }
    while eigenvalues.count < dimensions { eigenvalues.append(0) }
    let positive = values.filter { $0 > 0 }.reduce(0, +)
    let explained = positive > 0 ? eigenvalues.map { max($0, 0) }.reduce(0, +) / positive : 1
    var num = 0.0, den = 0.0
    for i in 0..<n {
      for j in (i + 1)..<max(i + 1, n) {
        let d = distances[i * n + j]
        var e = 0.0
        for k in 0..<dimensions {
          e += (coordinates[i][k] - coordinates[j][k]) * (coordinates[i][k] - coordinates[j][k])
        }
        num += (d - e.squareRoot()) * (d - e.squareRoot())
        den += d * d
      }
    }
    return Embedding(
      coordinates: coordinates, eigenvalues: eigenvalues, explainedShare: explained,
      stress: den > 0 ? (num / den).squareRoot() : 0)
  }

  /// The eigenvalues and eigenvectors (the columns of the row-major n × n result) of the
  /// symmetric n × n `matrix`, by cyclic Jacobi rotations until the off-diagonal mass is below
  /// 1e-22 of the total (at most 100 sweeps).
  public static func symmetricEigen(_ matrix: [Double], count n: Int) -> (values: [Double], vectors: [Double]) {
    var a = matrix
    var v = [Double](repeating: 0, count: n * n)
    for i in 0..<n { v[i * n + i] = 1 }
    let total = a.reduce(0) { $0 + $1 * $1 }
    for _ in 0..<100 {
      var off = 0.0
      for p in 0..<n {
        for q in (p + 1)..<max(p + 1, n) { off += a[p * n + q] * a[p * n + q] }
      }
      if off <= 1e-22 * total || off == 0 { break }
      for p in 0..<n {
        for q in (p + 1)..<max(p + 1, n) {
          let apq = a[p * n + q]
          if apq == 0 { continue }
          let app = a[p * n + p], aqq = a[q * n + q]
          let theta = (aqq - app) / (2 * apq)
          let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
          let c = 1 / (t * t + 1).squareRoot(), s = t * c
          for k in 0..<n {
            let akp = a[k * n + p], akq = a[k * n + q]
            a[k * n + p] = c * akp - s * akq
            a[k * n + q] = s * akp + c * akq
          }
          for k in 0..<n {
            let apk = a[p * n + k], aqk = a[q * n + k]
            a[p * n + k] = c * apk - s * aqk
            a[q * n + k] = s * apk + c * aqk
          }
          for k in 0..<n {
            let vkp = v[k * n + p], vkq = v[k * n + q]
            v[k * n + p] = c * vkp - s * vkq
            v[k * n + q] = s * vkp + c * vkq
          }
        }
      }
    }
    return ((0..<n).map { a[$0 * n + $0] }, v)
  }
}
