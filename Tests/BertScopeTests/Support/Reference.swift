import Foundation
import Testing

@testable import BertScope

/// Where `actual` is not within `atol + rtol·|expected|` of `expected`: the worst element, or
/// the sizes when they differ; nil when every element is within (a NaN or infinity where a
/// finite value is expected is not).
func mismatch(_ actual: [Float], _ expected: [Double], rtol: Double, atol: Double) -> String? {
  guard actual.count == expected.count else { return "\(actual.count) values, expected \(expected.count)" }
  var worst = -1
  var worstExcess = 0.0
  for i in actual.indices {
    let error = abs(Double(actual[i]) - expected[i])
    let excess = error - (atol + rtol * abs(expected[i]))
    if !(excess <= 0) && (worst < 0 || !(excess <= worstExcess)) {
      worst = i
      worstExcess = excess
    }
  }
  guard worst >= 0 else { return nil }
  return "element \(worst) is \(actual[worst]), expected \(expected[worst]) (rtol \(rtol), atol \(atol))"
}

/// Expects `|actual - expected| <= atol + rtol·|expected|` everywhere; reports the worst element.
func expectMatches(
  _ actual: [Float], _ expected: [Double], rtol: Double = 1e-4, atol: Double = 1e-5, _ what: String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  if let problem = mismatch(actual, expected, rtol: rtol, atol: atol) {
    Issue.record("\(what): \(problem)", sourceLocation: sourceLocation)
  }
}

/// The comparisons of one op check, recorded as one issue that lists every one out of
/// tolerance (the first 12), so that a broken op gives one readable failure per backend rather
/// than dozens. A check that compared nothing is a failure too.
struct Mismatches {
  private var found: [String] = []
  private var compared = 0

  /// `actual` against `expected` within `atol + rtol·|expected|`.
  mutating func check(_ actual: [Float], _ expected: [Double], rtol: Double = 1e-4, atol: Double = 1e-5, _ what: String)
  {
    compared += 1
    if let problem = mismatch(actual, expected, rtol: rtol, atol: atol) { found.append("\(what): \(problem)") }
  }

  /// `actual` equal to `expected`, element for element.
  mutating func exact(_ actual: [Float], _ expected: [Float], _ what: String) {
    check(actual, expected.map(Double.init), rtol: 0, atol: 0, what)
  }

  mutating func require(_ condition: Bool, _ what: String) {
    compared += 1
    if !condition { found.append(what) }
  }

  func record(sourceLocation: SourceLocation = #_sourceLocation) {
    guard compared > 0 else {
      Issue.record("no comparison was made", sourceLocation: sourceLocation)
      return
    }
    guard !found.isEmpty else { return }
    let list = found.prefix(12).joined(separator: "\n") + (found.count > 12 ? "\n…" : "")
    Issue.record(
      Comment(rawValue: "\(found.count) of \(compared) comparisons failed:\n" + list), sourceLocation: sourceLocation)
  }
}

/// Random inputs shared by the op tests.
enum TestInputs {
  /// A packed batch of sequences of `lengths` with random ids below `vocab`, random segment ids
  /// below `types` and, when given, each sequence's token kinds (`AttentionFeatures.Kind` codes).
  static func batch(
    lengths: [Int], heads: Int, vocab: Int = 100, types: Int = 2, kinds: [[Int32]]? = nil, rng: inout SplitMix64
  ) -> PackedBatch {
    let encodings = lengths.map { n in
      Encoding(
        tokens: Array(repeating: "x", count: n),
        ids: (0..<n).map { _ in Int32.random(in: 0..<Int32(vocab), using: &rng) },
        segments: (0..<n).map { _ in Int32.random(in: 0..<Int32(types), using: &rng) },
        offsets: Array(repeating: nil, count: n))
    }
    return PackedBatch(encodings, heads: heads, kinds: kinds)
  }
}

/// Straightforward references in Double precision, written from the definitions (the protocol's
/// doc comments in `ComputeBackend.swift`, the feature table in `MapFeatures.swift`), sharing no
/// code with the backends.
enum Reference {
  static func activate(_ x: Double, _ act: Activation) -> Double {
    switch act {
    case .gelu: return 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
    case .geluTanh: return 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    case .relu: return max(x, 0)
    }
  }

  /// What `linear` applies after the product, as the reference sees it.
  enum Epilogue {
    case bias
    case biasActivation(Activation)
    case biasResidual
  }

  /// `x · wᵀ`: x [rows, k], w [n, k] → [rows, n]. Computed once per shape and shared by every
  /// epilogue (the largest test shape is 57 M multiply-adds).
  static func product(_ x: [Float], rows: Int, _ w: [Float], n: Int, k: Int) -> [Double] {
    var out = [Double](repeating: 0, count: rows * n)
    let xd = x.map(Double.init), wd = w.map(Double.init)
    xd.withUnsafeBufferPointer { xp in
      wd.withUnsafeBufferPointer { wp in
        for r in 0..<rows {
          for j in 0..<n {
            var s = 0.0
            for kk in 0..<k { s += xp[r * k + kk] * wp[j * k + kk] }
            out[r * n + j] = s
          }
        }
      }
    }
    return out
  }

  /// `epilogue(product + bias)` per row: product [rows, n], bias [n], residual [rows, n].
  static func linear(product: [Double], n: Int, bias: [Float], _ epilogue: Epilogue, residual: [Float] = []) -> [Double]
  {
    product.indices.map { i in
      let s = product[i] + Double(bias[i % n])
      switch epilogue {
      case .bias: return s
      case .biasActivation(let act): return activate(s, act)
      case .biasResidual: return s + Double(residual[i])
      }
    }
  }

  /// `softmax(scale · Q Kᵀ)` per sequence and head, then the head's mode; no modes: all normal.
  static func attentionProbs(
    qkv: [Float], batch: PackedBatch, heads: Int, headDim d: Int, scale: Double, modes: [HeadMode]
  ) -> [Double] {
    let hidden = heads * d, stride = 3 * hidden
    var probs = [Double](repeating: 0, count: batch.probCount)
    for s in 0..<batch.count {
      let L = batch.lengths[s], t0 = batch.tokenOffsets[s]
      for h in 0..<heads {
        for i in 0..<L {
          let base = batch.probOffsets[s] + (h * L + i) * L
          let mode = modes.isEmpty ? .normal : modes[h]
          if mode != .normal {
            for j in 0..<L { probs[base + j] = mode == .uniform ? 1 / Double(L) : 0 }
            continue
          }
          var scores = [Double](repeating: 0, count: L)
          for j in 0..<L {
            var dot = 0.0
            for c in 0..<d {
              dot += Double(qkv[(t0 + i) * stride + h * d + c]) * Double(qkv[(t0 + j) * stride + hidden + h * d + c])
            }
            scores[j] = dot * scale
          }
          let mx = scores.max()!
          let e = scores.map { Foundation.exp($0 - mx) }
          let sum = e.reduce(0, +)
          for j in 0..<L { probs[base + j] = e[j] / sum }
        }
      }
    }
    return probs
  }

  /// `probs[s][h] · V[s][h]`, heads merged back: [tokens, heads·d].
  static func attentionContext(probs: [Float], qkv: [Float], batch: PackedBatch, heads: Int, headDim d: Int)
    -> [Double]
  {
    let hidden = heads * d, stride = 3 * hidden
    var context = [Double](repeating: 0, count: batch.tokenCount * hidden)
    for s in 0..<batch.count {
      let L = batch.lengths[s], t0 = batch.tokenOffsets[s]
      for h in 0..<heads {
        for i in 0..<L {
          let base = batch.probOffsets[s] + (h * L + i) * L
          for c in 0..<d {
            var acc = 0.0
            for j in 0..<L { acc += Double(probs[base + j]) * Double(qkv[(t0 + j) * stride + 2 * hidden + h * d + c]) }
            context[(t0 + i) * hidden + h * d + c] = acc
          }
        }
      }
    }
    return context
  }

  /// Per row: `(x - mean) / sqrt(biased variance + eps) · gamma + beta`.
  static func layerNorm(_ x: [Double], rows: Int, cols: Int, gamma: [Float], beta: [Float], eps: Double) -> [Double] {
    var out = [Double](repeating: 0, count: rows * cols)
    for r in 0..<rows {
      let row = x[(r * cols)..<((r + 1) * cols)]
      let mean = row.reduce(0, +) / Double(cols)
      let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(cols)
      let rstd = 1 / (variance + eps).squareRoot()
      for c in 0..<cols {
        out[r * cols + c] = (x[r * cols + c] - mean) * rstd * Double(gamma[c]) + Double(beta[c])
      }
    }
    return out
  }

  /// `LayerNorm(word[id] + position[position] + type[segment])` per token: [tokens, hidden].
  static func embed(
    batch: PackedBatch, word: [Float], position: [Float], type: [Float], gamma: [Float], beta: [Float], hidden: Int,
    eps: Double
  ) -> [Double] {
    var sums = [Double](repeating: 0, count: batch.tokenCount * hidden)
    for t in 0..<batch.tokenCount {
      for c in 0..<hidden {
        sums[t * hidden + c] =
          Double(word[Int(batch.ids[t]) * hidden + c]) + Double(position[Int(batch.positions[t]) * hidden + c])
          + Double(type[Int(batch.segments[t]) * hidden + c])
      }
    }
    return layerNorm(sums, rows: batch.tokenCount, cols: hidden, gamma: gamma, beta: beta, eps: eps)
  }

  /// The feature vector of one L×L map (rows = queries) as `MapFeatures` documents it, entry by
  /// entry; `kinds` are `AttentionFeatures.Kind` codes (0 [CLS], 1 [SEP], 2 punctuation,
  /// 3 other), "special" = [CLS] or [SEP], "other" = everything else (punctuation included).
  static func features(map a: [Double], kinds: [Int32], segments: [Int32]) -> [Double] {
    let L = kinds.count
    precondition(a.count == L * L && segments.count == L)
    var f = [Double](repeating: 0, count: 24)
    f[18] = Double(L)
    f[19] = withinUniform(kinds: kinds, segments: segments)
    guard L > 0 else { return f }
    let n = Double(L)
    func A(_ i: Int, _ j: Int) -> Double { a[i * L + j] }
    let special = kinds.map { $0 == 0 || $0 == 1 }
    let column = (0..<L).map { j in (0..<L).reduce(0.0) { $0 + A($1, j) } / n }  // c_j
    func maxColumn(ofKind kind: Int32) -> Double {
      (0..<L).filter { kinds[$0] == kind }.map { column[$0] }.max() ?? 0
    }
    f[0] = maxColumn(ofKind: 0)
    f[1] = maxColumn(ofKind: 1)
    f[2] = maxColumn(ofKind: 2)
    f[3] = (0..<L).reduce(0.0) { $0 + A($1, $1) } / n
    if L > 1 {
      f[4] = (1..<L).reduce(0.0) { $0 + A($1, $1 - 1) } / (n - 1)
      f[5] = (0..<(L - 1)).reduce(0.0) { $0 + A($1, $1 + 1) } / (n - 1)
    }
    var entropy = 0.0
    for i in 0..<L { for j in 0..<L where A(i, j) > 0 { entropy -= A(i, j) * Foundation.log(A(i, j)) } }
    f[6] = entropy / n
    f[7] = (0..<L).filter { special[$0] }.reduce(0.0) { $0 + column[$1] }
    f[8] = (0..<L).filter { kinds[$0] == 2 }.reduce(0.0) { $0 + column[$1] }
    f[9] = column.max()!
    f[10] = column.filter { $0 > 0 }.reduce(0.0) { $0 - $1 * Foundation.log($1) }
    var band = 0.0, within = 0.0, cross = 0.0
    for i in 0..<L {
      for j in 0..<L where !special[j] {
        if abs(i - j) <= 1 { band += A(i, j) }
        if segments[i] == segments[j] { within += A(i, j) } else { cross += A(i, j) }
      }
    }
    f[11] = band / n
    f[12] = within / n
    f[13] = cross / n
    for (k, kind) in [Int32(0), 1, 2, 3].enumerated() {
      f[14 + k] = (0..<L).filter { kinds[$0] == kind }.reduce(0.0) { $0 + A(0, $1) }
    }
    // 20–23: soft counts of rows (ramp: 0 below t − 0.05, 1 above t + 0.05) against the map's max m,
    // each row's max r_i and its band max b_i = max over |j − i| ≤ 1.
    func ramp(_ x: Double, _ t: Double) -> Double { min(1, max(0, (x - t) * 10 + 0.5)) }
    let m = a.max()!
    let rowMax = (0..<L).map { i in (0..<L).map { A(i, $0) }.max()! }
    let bandMax = (0..<L).map { i in (max(i - 1, 0)...min(i + 1, L - 1)).map { A(i, $0) }.max()! }
    f[20] = (0..<L).map { j in (0..<L).reduce(0.0) { $0 + ramp(A($1, j) / m, 0.4) } }.max()! / n
    f[21] = (0..<L).map { j in (0..<L).reduce(0.0) { $0 + ramp(A($1, j) / m, 0.25) } }.max()! / n
    f[22] = (0..<L).reduce(0.0) { $0 + ramp(bandMax[$1] / m, 0.4) } / n
    f[23] = (0..<L).reduce(0.0) { $0 + ramp(bandMax[$1] / rowMax[$1], 0.5) } / n
    return f
  }

  /// `(1/L) Σᵢ n(segᵢ)/n`, n(s) = non-[CLS]/[SEP] keys in segment s, n = all of them; 1 when
  /// there are none.
  static func withinUniform(kinds: [Int32], segments: [Int32]) -> Double {
    let other = kinds.indices.filter { kinds[$0] != 0 && kinds[$0] != 1 }
    guard !other.isEmpty else { return 1 }
    let total = Double(other.count)
    let sum = segments.reduce(0.0) { acc, s in acc + Double(other.filter { segments[$0] == s }.count) / total }
    return sum / Double(kinds.count)
  }
}
