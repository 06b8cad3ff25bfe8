import Foundation
import Testing

@testable import BertScope

/// The CPU backend (OpenBLAS GEMM) with one deliberate, plausible bug, so that each shared op
/// check of `BackendOpTests` can be shown to fail on a backend that gets its op wrong (and to
/// pass on the same wrapper without a bug). Everything not mutated is forwarded unchanged.
final class MutantBackend: ComputeBackend, @unchecked Sendable {
  typealias Buffer = FloatStorage
  typealias Matrix = CPUBackend.Matrix
  typealias Layout = CPUBackend.Layout

  enum Mutation: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case none
    /// embed: positions counted over the packed batch instead of per sequence.
    case embedBatchPositions
    /// linear: `.bias` applies the activation it is given.
    case biasAppliesActivation
    /// linear: the erf GELU computed as the tanh approximation.
    case geluAsTanh
    /// linear in place: the residual read after the product overwrote it (the old OpenBLAS bug).
    case residualReadAfterWrite
    /// attentionProbs, attention: head modes ignored (every head normal; a wrong count still refused).
    case headModesIgnored
    /// attentionProbs, attention: a wrong number of modes taken as "all normal".
    case modeCountUnchecked
    /// attention (fused): the context right, the probabilities never stored.
    case fusedProbsNotStored
    /// attentionContextOnly: the softmax without the scale (as if scale were 1).
    case contextOnlyUnscaled
    /// attentionContext: the last key of every sequence left out of P·V.
    case contextDropsLastKey
    /// attentionFeatures: written at 0 whatever the offset.
    case featuresOffsetIgnored
    /// attentionFeatures: `prev` and `next` swapped.
    case featuresPrevNextSwapped
    /// layerNorm: the unbiased variance (÷ (n − 1)).
    case layerNormUnbiasedVariance
    /// layerNorm in place: the row normalised twice.
    case layerNormInPlaceTwice
    /// read: every range read one float late.
    case readShiftedByOne
    /// copy: written at offset 0 whatever the offset.
    case copyOffsetIgnored
    /// copy: the last float left out.
    case copyDropsLast
    /// attentionProbs: an empty batch refused.
    case emptyBatchRejected
    /// headDistances: only pairs within a layer (the cross-layer ones left at 0).
    case distancesWithinLayerOnly

    var testDescription: String { rawValue }
  }

  let base: CPUBackend
  let mutation: Mutation
  var name: String { "mutant(\(mutation.rawValue)) of \(base.name)" }
  var activationsInHostMemory: Bool { base.activationsInHostMemory }

  init(_ mutation: Mutation) throws {
    base = try CPUBackend(gemm: .openBLAS)
    self.mutation = mutation
  }

  func makeBuffer(count: Int) throws -> FloatStorage { try base.makeBuffer(count: count) }
  func makeBuffer(_ values: [Float]) throws -> FloatStorage { try base.makeBuffer(values) }
  func makeMatrix(_ weight: [Float], rows: Int, cols: Int) throws -> Matrix {
    try base.makeMatrix(weight, rows: rows, cols: cols)
  }
  func makeLayout(_ batch: PackedBatch) throws -> Layout { try base.makeLayout(batch) }

  func embed(
    out: FloatStorage, layout: Layout, batch: PackedBatch, word: FloatStorage, position: FloatStorage,
    type: FloatStorage, gamma: FloatStorage, beta: FloatStorage, hidden: Int, eps: Float
  ) throws {
    guard mutation == .embedBatchPositions else {
      return try base.embed(
        out: out, layout: layout, batch: batch, word: word, position: position, type: type, gamma: gamma, beta: beta,
        hidden: hidden, eps: eps)
    }
    let positions = position.count / hidden
    for t in 0..<batch.tokenCount {
      let p = min(t, positions - 1)  // the token's index in the batch, kept inside the table
      for c in 0..<hidden {
        out.pointer[t * hidden + c] =
          word.pointer[Int(batch.ids[t]) * hidden + c] + type.pointer[Int(batch.segments[t]) * hidden + c]
          + position.pointer[p * hidden + c]
      }
    }
    try base.layerNorm(out: out, input: out, rows: batch.tokenCount, cols: hidden, gamma: gamma, beta: beta, eps: eps)
  }

  func linear(
    out: FloatStorage, input: FloatStorage, rows: Int, weight: Matrix, bias: FloatStorage,
    epilogue: Epilogue<FloatStorage>, activation: Activation
  ) throws {
    switch (mutation, epilogue) {
    case (.biasAppliesActivation, .bias):
      try base.linear(
        out: out, input: input, rows: rows, weight: weight, bias: bias, epilogue: .biasActivation,
        activation: activation)
    case (.geluAsTanh, _):
      try base.linear(
        out: out, input: input, rows: rows, weight: weight, bias: bias, epilogue: epilogue,
        activation: activation == .gelu ? .geluTanh : activation)
    case (.residualReadAfterWrite, .biasResidual(let residual)) where residual === out:
      try base.linear(
        out: out, input: input, rows: rows, weight: weight, bias: bias, epilogue: .bias, activation: activation)
      for i in 0..<(rows * weight.rows) { out.pointer[i] += residual.pointer[i] }
    default:
      try base.linear(
        out: out, input: input, rows: rows, weight: weight, bias: bias, epilogue: epilogue, activation: activation)
    }
  }

  private func modes(_ modes: [HeadMode], heads: Int) -> [HeadMode] {
    switch mutation {
    case .headModesIgnored where modes.count == heads: return []
    case .modeCountUnchecked where modes.count != heads: return []
    default: return modes
    }
  }

  func attentionProbs(
    probs: FloatStorage, qkv: FloatStorage, layout: Layout, batch: PackedBatch, heads: Int, headDim: Int,
    scale: Float, modes: [HeadMode]
  ) throws {
    if mutation == .emptyBatchRejected && batch.count == 0 {
      throw BertScopeError.invalidInput("mutant: empty batch")
    }
    try base.attentionProbs(
      probs: probs, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim, scale: scale,
      modes: self.modes(modes, heads: heads))
  }

  func attentionContext(
    context: FloatStorage, probs: FloatStorage, qkv: FloatStorage, layout: Layout, batch: PackedBatch, heads: Int,
    headDim: Int
  ) throws {
    guard mutation == .contextDropsLastKey else {
      return try base.attentionContext(
        context: context, probs: probs, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim)
    }
    let cut = FloatStorage(probs.array(0..<batch.probCount))
    for s in 0..<batch.count {
      let L = batch.lengths[s]
      for row in 0..<(heads * L) { cut.pointer[batch.probOffsets[s] + row * L + L - 1] = 0 }
    }
    try base.attentionContext(
      context: context, probs: cut, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim)
  }

  func attention(
    probs: FloatStorage, context: FloatStorage, qkv: FloatStorage, layout: Layout, batch: PackedBatch, heads: Int,
    headDim: Int, scale: Float, modes: [HeadMode]
  ) throws {
    let target = mutation == .fusedProbsNotStored ? FloatStorage(count: batch.probCount) : probs
    try base.attention(
      probs: target, context: context, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim,
      scale: scale, modes: self.modes(modes, heads: heads))
  }

  func attentionContextOnly(
    context: FloatStorage, qkv: FloatStorage, layout: Layout, batch: PackedBatch, heads: Int, headDim: Int,
    scale: Float, modes: [HeadMode]
  ) throws {
    try base.attentionContextOnly(
      context: context, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim,
      scale: mutation == .contextOnlyUnscaled ? 1 : scale, modes: self.modes(modes, heads: heads))
  }

  func headDistances(
    out: FloatStorage, entropies: FloatStorage, probs: FloatStorage, layers: Int, layout: Layout, batch: PackedBatch,
    heads: Int
  ) throws {
    try base.headDistances(
      out: out, entropies: entropies, probs: probs, layers: layers, layout: layout, batch: batch, heads: heads)
    if mutation == .distancesWithinLayerOnly {
      let k = layers * heads
      for s in 0..<batch.count {
        for a in 0..<k {
          for b in (a + 1)..<k where a / heads != b / heads { out.pointer[(s * k + a) * k + b] = 0 }
        }
      }
    }
  }

  func attentionFeatures(
    out: FloatStorage, offset: Int, probs: FloatStorage, layout: Layout, batch: PackedBatch, heads: Int
  ) throws {
    try base.attentionFeatures(
      out: out, offset: mutation == .featuresOffsetIgnored ? 0 : offset, probs: probs, layout: layout, batch: batch,
      heads: heads)
    if mutation == .featuresPrevNextSwapped {
      for item in 0..<(batch.count * heads) {
        let v = out.pointer + offset + item * AttentionFeatures.count
        (v[4], v[5]) = (v[5], v[4])
      }
    }
  }

  func layerNorm(
    out: FloatStorage, input: FloatStorage, rows: Int, cols: Int, gamma: FloatStorage, beta: FloatStorage, eps: Float
  ) throws {
    switch mutation {
    case .layerNormUnbiasedVariance:
      for r in 0..<rows {
        let x = input.pointer + r * cols, o = out.pointer + r * cols
        let mean = (0..<cols).reduce(Float(0)) { $0 + x[$1] } / Float(cols)
        let variance = (0..<cols).reduce(Float(0)) { $0 + (x[$1] - mean) * (x[$1] - mean) } / Float(cols - 1)
        let inverse = 1 / (variance + eps).squareRoot()
        for c in 0..<cols { o[c] = (x[c] - mean) * inverse * gamma.pointer[c] + beta.pointer[c] }
      }
    case .layerNormInPlaceTwice where out === input:
      try base.layerNorm(out: out, input: input, rows: rows, cols: cols, gamma: gamma, beta: beta, eps: eps)
      try base.layerNorm(out: out, input: out, rows: rows, cols: cols, gamma: gamma, beta: beta, eps: eps)
    default:
      try base.layerNorm(out: out, input: input, rows: rows, cols: cols, gamma: gamma, beta: beta, eps: eps)
    }
  }

  func copy(_ source: FloatStorage, count: Int, to destination: FloatStorage, at offset: Int) throws {
    switch mutation {
    case .copyOffsetIgnored: try base.copy(source, count: count, to: destination, at: 0)
    case .copyDropsLast where count > 0: try base.copy(source, count: count - 1, to: destination, at: offset)
    default: try base.copy(source, count: count, to: destination, at: offset)
    }
  }

  /// `read(ranges:)`, `readStorage(count:)` and `readStorage(ranges:)` are the protocol's
  /// defaults, built on this.
  func read(_ buffer: FloatStorage, range: Range<Int>) throws -> [Float] {
    if mutation == .readShiftedByOne && !range.isEmpty && range.upperBound < buffer.count {
      return try base.read(buffer, range: (range.lowerBound + 1)..<(range.upperBound + 1))
    }
    return try base.read(buffer, range: range)
  }
}

@Suite("The op checks fail on a backend that gets its op wrong")
struct BackendCheckMutationTests {
  typealias Mutation = MutantBackend.Mutation

  /// The check of `BackendOpTests` that covers the op `mutation` breaks.
  static func check(_ backend: MutantBackend) throws {
    let label = backend.mutation.rawValue
    switch backend.mutation {
    case .none:
      try checkEmbed(backend, label: label)
      try checkLinear(backend, shapes: [(7, 33, 17), (131, 65, 40)], seed: 1, label: label)
      try checkActivationAccuracy(backend, label: label)
      try checkLinearInPlace(backend, seed: 7, label: label)
      try checkAttention(backend, label: label)
      try checkAttentionContext(backend, label: label)
      try checkAttentionFeatures(backend, label: label)
      try checkLayerNorm(backend, label: label)
      try checkReads(backend, label: label)
      try checkCopy(backend, label: label)
      try checkEmptyWork(backend, label: label)
      try checkHeadDistances(backend, label: label)
    case .embedBatchPositions:
      try checkEmbed(backend, label: label)
    case .biasAppliesActivation:
      try checkLinear(backend, shapes: [(7, 33, 17), (131, 65, 40)], seed: 1, label: label)
    case .geluAsTanh:
      try checkActivationAccuracy(backend, label: label)
    case .residualReadAfterWrite:
      try checkLinearInPlace(backend, seed: 7, label: label)
    case .headModesIgnored, .modeCountUnchecked, .fusedProbsNotStored, .contextOnlyUnscaled:
      try checkAttention(backend, label: label)
    case .contextDropsLastKey:
      try checkAttentionContext(backend, label: label)
    case .featuresOffsetIgnored, .featuresPrevNextSwapped:
      try checkAttentionFeatures(backend, label: label)
    case .layerNormUnbiasedVariance, .layerNormInPlaceTwice:
      try checkLayerNorm(backend, label: label)
    case .readShiftedByOne:
      try checkReads(backend, label: label)
    case .copyOffsetIgnored, .copyDropsLast:
      try checkCopy(backend, label: label)
    case .emptyBatchRejected:
      try checkEmptyWork(backend, label: label)
    case .distancesWithinLayerOnly:
      try checkHeadDistances(backend, label: label)
    }
  }

  @Test("the wrapper without a mutation passes every check")
  func unmutated() throws {
    try Self.check(try MutantBackend(.none))
  }

  @Test(
    "each mutant fails the check of its op", arguments: Mutation.allCases.filter { $0 != .none })
  func mutantFails(_ mutation: Mutation) throws {
    let backend = try MutantBackend(mutation)
    // Only failed expectations and recorded issues count (an error thrown by the check counts
    // only for the mutant whose bug is to throw), so a check that crashes for some other
    // reason is not taken for one that caught the bug.
    try withKnownIssue("the mutant \(mutation) must fail its check") {
      try Self.check(backend)
    } matching: { issue in
      switch issue.kind {
      case .expectationFailed, .unconditional: return true
      case .errorCaught: return mutation == .emptyBatchRejected
      default: return false
      }
    }
  }
}
