import Foundation

/// Runs every op of a backend on fixed random inputs of awkward sizes and compares it with
/// the CPU backend — `bertscope selftest`, and the same check the test suite runs.
public enum SelfTest {
  /// One op's comparison.
  public struct Result: Sendable {
    /// The op compared, e.g. `"linear gelu"`, `"attentionProbs"`, `"layerNorm"`.
    public let op: String
    /// Largest |OpenCL − CPU| over the op's outputs; infinity when any output is NaN.
    public let maxAbsError: Double
    /// Allowed |a − b| ≤ tolerance + 1e-4·|b|.
    public let tolerance: Double
    /// True when every output is within ``tolerance`` (plus the relative term) and the output sizes match.
    public let passed: Bool
  }

  /// Every op on OpenCL device `device` against the CPU backend.
  /// - Parameter device: the 0-based OpenCL device index, as `bertscope devices` lists them.
  public static func openCL(device: Int) throws -> [Result] {
    let expected = try runEveryOp(try CPUBackend())
    let actual = try runEveryOp(try OpenCLBackend(device: device))
    return zip(actual, expected).map { mine, reference in
      var worst = 0.0
      var passed = mine.1.count == reference.1.count
      for (a, b) in zip(mine.1, reference.1) {
        let d = abs(Double(a) - Double(b))
        if d > worst || d.isNaN { worst = d.isNaN ? .infinity : d }
        if !(d <= mine.2 + 1e-4 * abs(Double(b))) { passed = false }
      }
      return Result(op: mine.0, maxAbsError: worst, tolerance: mine.2, passed: passed)
    }
  }

  /// Every op once on `backend`, on fixed random inputs; outputs by op name.
  static func runEveryOp<B: ComputeBackend>(_ backend: B) throws -> [(String, [Float], Double)] {
    var rng = SplitMix64(seed: 77)
    var results: [(String, [Float], Double)] = []  // (op, output, absolute tolerance)
    let (rows, k, n) = (131, 65, 40)
    let x = try backend.makeBuffer(rng.floats(rows * k)), bias = try backend.makeBuffer(rng.floats(n))
    let residual = try backend.makeBuffer(rng.floats(rows * n))
    let w = try backend.makeMatrix(rng.floats(n * k), rows: n, cols: k)
    let epilogues: [(String, Epilogue<B.Buffer>, Activation)] = [
      ("bias", .bias, .gelu), ("gelu", .biasActivation, .gelu), ("gelu_tanh", .biasActivation, .geluTanh),
      ("relu", .biasActivation, .relu), ("residual", .biasResidual(residual), .gelu),
    ]
    for (label, epilogue, act) in epilogues {
      let out = try backend.makeBuffer(count: rows * n)
      try backend.linear(out: out, input: x, rows: rows, weight: w, bias: bias, epilogue: epilogue, activation: act)
      results.append(("linear \(label)", try backend.read(out, range: 0..<(rows * n)), 1e-4))
    }
    let (heads, d) = (3, 32)
    let batch = rng.batch(lengths: [1, 5, 64, 130], heads: heads, vocab: 50)
    let layout = try backend.makeLayout(batch)
    let qkv = try backend.makeBuffer(rng.floats(batch.tokenCount * 3 * heads * d, in: -2...2))
    let probs = try backend.makeBuffer(count: batch.probCount)
    try backend.attentionProbs(
      probs: probs, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d, scale: 0.18,
      modes: [.normal, .uniform, .zero])
    results.append(("attentionProbs", try backend.read(probs, range: 0..<batch.probCount), 1e-5))
    let kinds = (0..<batch.tokenCount).map { _ in Int32.random(in: 0...3, using: &rng) }
    var offset = 0
    let perSequence = batch.lengths.map { l -> [Int32] in
      defer { offset += l }
      return Array(kinds[offset..<(offset + l)])
    }
    let kinded = PackedBatch(
      zip(batch.lengths, batch.tokenOffsets).map { l, o in
        Encoding(
          tokens: [], ids: Array(batch.ids[o..<(o + l)]), segments: Array(batch.segments[o..<(o + l)]),
          offsets: Array(repeating: nil, count: l))
      }, heads: heads, kinds: perSequence)
    let featureCount = 2 * batch.count * heads * AttentionFeatures.count
    let features = try backend.makeBuffer(count: featureCount)
    let kindedLayout = try backend.makeLayout(kinded)
    try backend.attentionFeatures(
      out: features, offset: featureCount / 2, probs: probs, layout: kindedLayout, batch: kinded, heads: heads)
    results.append(("attentionFeatures", try backend.read(features, range: (featureCount / 2)..<featureCount), 2e-5))
    let context = try backend.makeBuffer(count: batch.tokenCount * heads * d)
    try backend.attentionContext(
      context: context, probs: probs, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d)
    results.append(("attentionContext", try backend.read(context, range: 0..<(batch.tokenCount * heads * d)), 1e-4))
    let fusedProbs = try backend.makeBuffer(count: batch.probCount)
    let fusedContext = try backend.makeBuffer(count: batch.tokenCount * heads * d)
    try backend.attention(
      probs: fusedProbs, context: fusedContext, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d,
      scale: 0.18, modes: [.normal, .uniform, .zero])
    results.append(
      ("attention (fused)", try backend.read(fusedContext, range: 0..<(batch.tokenCount * heads * d)), 1e-4))
    let aloneContext = try backend.makeBuffer(count: batch.tokenCount * heads * d)
    try backend.attentionContextOnly(
      context: aloneContext, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d, scale: 0.18,
      modes: [.normal, .uniform, .zero])
    results.append(
      ("attention (no maps)", try backend.read(aloneContext, range: 0..<(batch.tokenCount * heads * d)), 1e-4))
    // Two "layers": the probabilities above, then the fused pass's (the same maps).
    let layered = try backend.makeBuffer(count: 2 * batch.probCount)
    try backend.copy(probs, count: batch.probCount, to: layered, at: 0)
    try backend.copy(fusedProbs, count: batch.probCount, to: layered, at: batch.probCount)
    let pairs = 2 * heads
    let distances = try backend.makeBuffer([Float](repeating: 0, count: batch.count * pairs * pairs))
    let entropies = try backend.makeBuffer(count: batch.count * pairs * 2)
    try backend.headDistances(
      out: distances, entropies: entropies, probs: layered, layers: 2, layout: layout, batch: batch, heads: heads)
    results.append(("headDistances", try backend.read(distances, range: 0..<(batch.count * pairs * pairs)), 1e-3))
    let hidden = 384
    let gamma = try backend.makeBuffer(rng.floats(hidden)), beta = try backend.makeBuffer(rng.floats(hidden))
    let y = try backend.makeBuffer(rng.floats(rows * hidden, in: -3...5))
    let normed = try backend.makeBuffer(count: rows * hidden)
    try backend.layerNorm(out: normed, input: y, rows: rows, cols: hidden, gamma: gamma, beta: beta, eps: 1e-12)
    results.append(("layerNorm", try backend.read(normed, range: 0..<(rows * hidden)), 1e-4))
    let embedded = try backend.makeBuffer(count: batch.tokenCount * hidden)
    try backend.embed(
      out: embedded, layout: layout, batch: batch, word: try backend.makeBuffer(rng.floats(50 * hidden)),
      position: try backend.makeBuffer(rng.floats(140 * hidden)), type: try backend.makeBuffer(rng.floats(2 * hidden)),
      gamma: gamma, beta: beta, hidden: hidden, eps: 1e-12)
    results.append(("embed", try backend.read(embedded, range: 0..<(batch.tokenCount * hidden)), 1e-4))
    let kept = try backend.makeBuffer(rng.floats(3 * rows * hidden))
    try backend.copy(y, count: rows * hidden, to: kept, at: rows * hidden + 1)
    results.append(("copy", try backend.read(kept, range: 0..<(3 * rows * hidden)), 0))
    return results
  }

}

extension SplitMix64 {
  mutating func batch(lengths: [Int], heads: Int, vocab: Int) -> PackedBatch {
    let encodings = lengths.map { n in
      Encoding(
        tokens: Array(repeating: "x", count: n),
        ids: (0..<n).map { _ in Int32.random(in: 0..<Int32(vocab), using: &self) },
        segments: (0..<n).map { _ in Int32.random(in: 0..<2, using: &self) },
        offsets: Array(repeating: nil, count: n))
    }
    return PackedBatch(encodings, heads: heads)
  }
}
