import Foundation

/// The fixed-length feature vector of one attention map, computed next to the map by the
/// backend so that corpus statistics move `count` floats per map instead of L² (the
/// analyses' `MapFeatures` documents each entry; this is its single implementation, and
/// `Kernels/attention_features.cl` mirrors it on OpenCL devices).
///
/// Inputs per sequence: each key's kind (`AttentionFeatures.Kind`) and segment id.
public enum AttentionFeatures {
  /// Token kinds as the feature kernels take them (the analyses' `TokenKind` raw values).
  public enum Kind: Int32, Sendable, CaseIterable {
    /// `[CLS]`, `[SEP]`, an all-punctuation word piece, or any other token.
    case cls = 0, sep = 1, punctuation = 2, other = 3
  }

  /// Floats per map.
  public static let count = 24

  /// The soft threshold of the row-wise features 20–23: 0 below `t − 0.05`, 1 above
  /// `t + 0.05`, linear between — a count of the rows past `t` that moves by at most 10·δ when
  /// an entry moves by δ, so that backends whose maps differ by rounding give the same
  /// features (a hard count would jump by 1/L).
  @inline(__always) public static func ramp(_ x: Float, _ t: Float) -> Float {
    min(1, max(0, (x - t) * 10 + 0.5))
  }

  /// The within-segment share of a query's non-[CLS]/[SEP] mass if every row were uniform,
  /// averaged over queries: (1/L) Σᵢ n(segᵢ)/n, n(s) = non-special keys in segment s; 1 when
  /// there are no such keys.
  public static func withinUniform(kinds: [Int32], segments: [Int32]) -> Float {
    var perSegment: [Int32: Int] = [:]
    var total = 0
    for (k, s) in zip(kinds, segments) where k != Kind.cls.rawValue && k != Kind.sep.rawValue {
      perSegment[s, default: 0] += 1
      total += 1
    }
    guard total > 0, !kinds.isEmpty else { return 1 }
    let sum = segments.reduce(0.0) { $0 + Double(perSegment[$1] ?? 0) / Double(total) }
    return Float(sum / Double(kinds.count))
  }

  /// Writes the features of the n×n `map` (rows = queries) into `out[0..<count]`.
  /// - Parameters:
  ///   - out: room for ``count`` floats, in the order of the analyses' `MapFeatures.Index`.
  ///   - a: the map, row-major, `n·n` floats.
  ///   - n: the sequence length L.
  ///   - kinds: each position's ``Kind`` raw value, `n` of them.
  ///   - segments: each position's segment id, `n` of them.
  ///   - withinUniform: ``withinUniform(kinds:segments:)`` of the same sequence, stored as is.
  public static func compute(
    into out: UnsafeMutablePointer<Float>, map a: UnsafePointer<Float>, length n: Int,
    kinds: UnsafePointer<Int32>, segments: UnsafePointer<Int32>, withinUniform: Float
  ) {
    for k in 0..<count { out[k] = 0 }
    out[18] = Float(n)
    out[19] = withinUniform
    guard n > 0 else { return }
    var top: Float = 0
    for k in 0..<(n * n) { top = max(top, a[k]) }
    let scale: Float = top > 0 ? 1 / top : 0
    @inline(__always) func isOther(_ j: Int) -> Float {
      kinds[j] == Kind.cls.rawValue || kinds[j] == Kind.sep.rawValue ? 0 : 1
    }
    var entropy = 0.0, diagonal = 0.0, previous = 0.0, following = 0.0
    var band = 0.0, within = 0.0, cross = 0.0, darkBand = 0.0, nearBand = 0.0
    for i in 0..<n {
      let row = a + i * n
      let si = segments[i]
      var h: Float = 0, w: Float = 0, x: Float = 0, rowMax: Float = 0
      for j in 0..<n {
        let p = row[j]
        if p > 0 { h -= p * logf(p) }
        let o = p * isOther(j)
        if segments[j] == si { w += o } else { x += o }
        rowMax = max(rowMax, p)
      }
      var bandMax = row[i]
      if i > 0 { bandMax = max(bandMax, row[i - 1]) }
      if i + 1 < n { bandMax = max(bandMax, row[i + 1]) }
      darkBand += Double(ramp(bandMax * scale, 0.4))
      nearBand += Double(ramp(rowMax > 0 ? bandMax / rowMax : 0, 0.5))
      entropy += Double(h)
      within += Double(w)
      cross += Double(x)
      diagonal += Double(row[i])
      band += Double(row[i] * isOther(i))
      if i > 0 {
        previous += Double(row[i - 1])
        band += Double(row[i - 1] * isOther(i - 1))
      }
      if i + 1 < n {
        following += Double(row[i + 1])
        band += Double(row[i + 1] * isOther(i + 1))
      }
    }
    let length = Double(n)
    var maxBy = (0.0, 0.0, 0.0, 0.0), massBy = (0.0, 0.0, 0.0, 0.0), clsRow = (0.0, 0.0, 0.0, 0.0)
    var columnEntropy = 0.0, maxColumn = 0.0, darkColumn = 0.0, greyColumn = 0.0
    for j in 0..<n {
      var column = 0.0, dark = 0.0, grey = 0.0
      for i in 0..<n {
        let p = a[i * n + j]
        column += Double(p)
        dark += Double(ramp(p * scale, 0.4))
        grey += Double(ramp(p * scale, 0.25))
      }
      darkColumn = max(darkColumn, dark)
      greyColumn = max(greyColumn, grey)
      let c = column / length
      let first = Double(a[j])
      switch kinds[j] {
      case Kind.cls.rawValue:
        maxBy.0 = max(maxBy.0, c)
        massBy.0 += c
        clsRow.0 += first
      case Kind.sep.rawValue:
        maxBy.1 = max(maxBy.1, c)
        massBy.1 += c
        clsRow.1 += first
      case Kind.punctuation.rawValue:
        maxBy.2 = max(maxBy.2, c)
        massBy.2 += c
        clsRow.2 += first
      default:
        massBy.3 += c
        clsRow.3 += first
      }
      maxColumn = max(maxColumn, c)
      if c > 0 { columnEntropy -= c * log(c) }
    }
    out[0] = Float(maxBy.0)
    out[1] = Float(maxBy.1)
    out[2] = Float(maxBy.2)
    out[3] = Float(diagonal / length)
    if n > 1 {
      out[4] = Float(previous / (length - 1))
      out[5] = Float(following / (length - 1))
    }
    out[6] = Float(entropy / length)
    out[7] = Float(massBy.0 + massBy.1)
    out[8] = Float(massBy.2)
    out[9] = Float(maxColumn)
    out[10] = Float(columnEntropy)
    out[11] = Float(band / length)
    out[12] = Float(within / length)
    out[13] = Float(cross / length)
    out[14] = Float(clsRow.0)
    out[15] = Float(clsRow.1)
    out[16] = Float(clsRow.2)
    out[17] = Float(clsRow.3)
    out[20] = Float(darkColumn / length)
    out[21] = Float(greyColumn / length)
    out[22] = Float(darkBand / length)
    out[23] = Float(nearBand / length)
  }
}
