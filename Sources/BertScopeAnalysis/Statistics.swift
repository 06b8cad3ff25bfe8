import Foundation

/// Small statistics helpers, in double precision.
public enum Statistics {
  /// Ranks from 1, ties given the average of the ranks they span (as scipy's `rankdata`).
  public static func ranks(_ x: [Double]) -> [Double] {
    let order = x.indices.sorted { x[$0] < x[$1] || (x[$0] == x[$1] && $0 < $1) }
    var out = [Double](repeating: 0, count: x.count)
    var i = 0
    while i < order.count {
      var j = i
      while j + 1 < order.count && x[order[j + 1]] == x[order[i]] { j += 1 }
      let rank = Double(i + j) / 2 + 1
      for k in i...j { out[order[k]] = rank }
      i = j + 1
    }
    return out
  }

  /// Pearson's correlation; NaN when either input is constant or shorter than 2.
  public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
    precondition(x.count == y.count)
    guard x.count >= 2 else { return .nan }
    let n = Double(x.count)
    let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
    var sxy = 0.0, sxx = 0.0, syy = 0.0
    for (a, b) in zip(x, y) {
      sxy += (a - mx) * (b - my)
      sxx += (a - mx) * (a - mx)
      syy += (b - my) * (b - my)
    }
    guard sxx > 0, syy > 0 else { return .nan }
    return sxy / (sxx * syy).squareRoot()
  }

  /// Spearman's ρ: Pearson's correlation of the average ranks (ties handled).
  public static func spearman(_ x: [Double], _ y: [Double]) -> Double {
    pearson(ranks(x), ranks(y))
  }

  /// Cosine similarity; 0 when either vector is zero.
  public static func cosine<A: Collection, B: Collection>(_ a: A, _ b: B) -> Double
  where A.Element == Float, B.Element == Float {
    precondition(a.count == b.count)
    var dot = 0.0, na = 0.0, nb = 0.0
    for (x, y) in zip(a, b) {
      dot += Double(x) * Double(y)
      na += Double(x) * Double(x)
      nb += Double(y) * Double(y)
    }
    guard na > 0, nb > 0 else { return 0 }
    return dot / (na * nb).squareRoot()
  }
}
