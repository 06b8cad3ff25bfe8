import BertScopeAnalysis
import Foundation
import Testing

@testable import BertScope

/// Every way this build runs the encoder's ops. Each test of `BackendOpTests` runs once per
/// variant this machine can run (`runnable`); each variant it cannot run is a skipped test
/// of `BackendVariantTests`, with the reason. (Swift Testing 6.3 prints a test case cancelled
/// with `Test.cancel` as "passed", so the matrix does not skip that way.)
enum BackendVariant: String, CaseIterable, Sendable, CustomTestStringConvertible {
  case cpuPacked = "cpu-packed"
  case cpuOpenBLAS = "cpu-openblas"
  case openCLCPUKernels = "opencl-cpu-kernels"
  case openCLGPUKernels = "opencl-gpu-kernels"

  var testDescription: String {
    switch self {
    case .cpuPacked: return "CPU backend, packed AVX-512 GEMM"
    case .cpuOpenBLAS: return "CPU backend, OpenBLAS GEMM"
    case .openCLCPUKernels: return "OpenCL backend, CPU kernels"
    case .openCLGPUKernels: return "OpenCL backend, GPU kernels"
    }
  }

  /// Why this machine cannot run the variant; nil when it can.
  var unavailableReason: String? {
    switch self {
    case .cpuPacked:
      return HostGemmTest.packedAvailable ? nil : "the packed host GEMM needs AVX-512F, which this CPU lacks"
    case .cpuOpenBLAS:
      return nil
    case .openCLCPUKernels, .openCLGPUKernels:
      // The GPU kernels run on any OpenCL device, PoCL's CPU device included (slowly).
      return OpenCLTest.available ? nil : "no OpenCL platform or device on this machine (install pocl-opencl-icd)"
    }
  }

  var isRunnable: Bool { unavailableReason == nil }
  /// What a skipped `BackendVariantTests` test says.
  var skipComment: Comment { "\(testDescription): not in the op matrix here: \(unavailableReason ?? "")" }

  /// The variants the op matrix runs on this machine.
  static let runnable = allCases.filter(\.isRunnable)

  /// A fresh backend of this variant.
  func makeBackend() throws -> any ComputeBackend {
    if let reason = unavailableReason { throw BertScopeError.backendUnavailable("\(testDescription): \(reason)") }
    switch self {
    case .cpuPacked: return try CPUBackend(gemm: .packed)
    case .cpuOpenBLAS: return try CPUBackend(gemm: .openBLAS)
    case .openCLCPUKernels: return try OpenCLTest.backend(.cpu)
    case .openCLGPUKernels: return try OpenCLTest.backend(.gpu)
    }
  }
}

/// One test per backend variant: skipped, with the reason, where this machine cannot run it
/// (so that a variant missing from the matrix shows as skipped, never as passed); where it
/// can, the variant is in the matrix and makes its backend.
@Suite("Backend variants of the op matrix")
struct BackendVariantTests {
  static func check(_ variant: BackendVariant) throws {
    #expect(BackendVariant.runnable.contains(variant))
    let backend = try variant.makeBackend()
    #expect(!backend.name.isEmpty)
  }

  @Test(
    "CPU backend, packed AVX-512 GEMM: runs every op check",
    .enabled(if: BackendVariant.cpuPacked.isRunnable, BackendVariant.cpuPacked.skipComment))
  func cpuPacked() throws { try Self.check(.cpuPacked) }

  @Test(
    "CPU backend, OpenBLAS GEMM: runs every op check",
    .enabled(if: BackendVariant.cpuOpenBLAS.isRunnable, BackendVariant.cpuOpenBLAS.skipComment))
  func cpuOpenBLAS() throws { try Self.check(.cpuOpenBLAS) }

  @Test(
    "OpenCL backend, CPU kernels: runs every op check",
    .enabled(if: BackendVariant.openCLCPUKernels.isRunnable, BackendVariant.openCLCPUKernels.skipComment))
  func openCLCPUKernels() throws { try Self.check(.openCLCPUKernels) }

  @Test(
    "OpenCL backend, GPU kernels: runs every op check",
    .enabled(if: BackendVariant.openCLGPUKernels.isRunnable, BackendVariant.openCLGPUKernels.skipComment))
  func openCLGPUKernels() throws { try Self.check(.openCLGPUKernels) }
}

/// Each op of `ComputeBackend` on every backend variant, on random inputs of awkward sizes,
/// against the straightforward Double references of `Reference`. Each check is written once,
/// generic over the backend; the OpenCL- and CPU-only suites keep what is not shared (kernel
/// tile sizes, faults, devices, bit-for-bit properties of one backend).
@Suite("Every op on every backend against a Double reference")
struct BackendOpTests {
  typealias Variant = BackendVariant
  static let variants = BackendVariant.runnable

  @Test("embed gathers word, position and type rows, adds them and normalises", arguments: variants)
  func embed(_ variant: Variant) throws {
    try checkEmbed(try variant.makeBackend(), label: variant.rawValue)
  }

  @Test("linear matches the reference for every epilogue and activation", arguments: variants)
  func linear(_ variant: Variant) throws {
    try checkLinear(try variant.makeBackend(), shapes: Self.gemmShapes, seed: 1, label: variant.rawValue)
  }

  @Test("linear adds the residual in place (out aliases the residual)", arguments: variants)
  func linearInPlace(_ variant: Variant) throws {
    try checkLinearInPlace(try variant.makeBackend(), seed: 7, label: variant.rawValue)
  }

  @Test("the GELU epilogues stay within 5e-7 of the exact functions over [-8, 8]", arguments: variants)
  func activationAccuracy(_ variant: Variant) throws {
    try checkActivationAccuracy(try variant.makeBackend(), label: variant.rawValue)
  }

  @Test(
    "attention probabilities match the reference with normal, uniform and zero heads (no modes: all normal); so does fused attention, and its P·V",
    arguments: variants)
  func attention(_ variant: Variant) throws {
    try checkAttention(try variant.makeBackend(), label: variant.rawValue)
  }

  @Test("attention context P·V matches the reference", arguments: variants)
  func attentionContext(_ variant: Variant) throws {
    try checkAttentionContext(try variant.makeBackend(), label: variant.rawValue)
  }

  @Test("attention features match MapFeatures' definition, written at the offset asked for", arguments: variants)
  func attentionFeatures(_ variant: Variant) throws {
    try checkAttentionFeatures(try variant.makeBackend(), label: variant.rawValue)
  }

  @Test("layer norm matches the reference, also in place", arguments: variants)
  func layerNorm(_ variant: Variant) throws {
    try checkLayerNorm(try variant.makeBackend(), label: variant.rawValue)
  }

  @Test("read and readStorage return exactly the ranges asked for", arguments: variants)
  func reads(_ variant: Variant) throws {
    try checkReads(try variant.makeBackend(), label: variant.rawValue)
  }

  @Test(
    "copy writes exactly the floats asked for at the offset asked for, and refuses what is out of range",
    arguments: variants)
  func copy(_ variant: Variant) throws {
    try checkCopy(try variant.makeBackend(), label: variant.rawValue)
  }

  @Test("an empty batch and zero rows are no work and no error", arguments: variants)
  func emptyWork(_ variant: Variant) throws {
    try checkEmptyWork(try variant.makeBackend(), label: variant.rawValue)
  }

  /// (rows, k, n). Rows: 1 and 3 (the few-row paths that split by columns), 6 and 7 (one
  /// micro-panel of 6 and one past it), 13, 20, 64, 129–131 (around the 128 rows where OpenBLAS
  /// switches to row blocks) and 520 (row blocks of the packed GEMM, which starts them at 512).
  /// k: 1, odd (31, 33, 65, 97), multiples of 16, up to 5000. n: below, between and above
  /// multiples of 16, 32 and 64 (17, 40, 63, 65, 70, 72, 100, 130, 200), and some exact ones.
  static let gemmShapes: [(Int, Int, Int)] = [
    (1, 1, 1), (7, 33, 17), (131, 65, 40), (13, 384, 100), (6, 16, 32), (6, 16, 64), (200, 1000, 130),
    (3, 5000, 70), (130, 384, 1152), (20, 40, 200), (64, 31, 63), (129, 97, 65), (520, 48, 72),
  ]
}

// MARK: - The checks, each written once for every backend

/// `embed` against `Reference.embed`: sequences of 1, 5, 64, 130 and 512 tokens, hidden sizes
/// 5, 37 (below and between SIMD widths) and 384.
func checkEmbed<B: ComputeBackend>(_ backend: B, label: String) throws {
  var m = Mismatches()
  var rng = SplitMix64(seed: 6)
  let (vocab, types) = (50, 2)
  for (lengths, hidden) in [([1, 5, 64, 130], 5), ([1, 5, 64, 130], 37), ([130, 1, 64, 5], 384), ([512], 384)] {
    let maxPositions = lengths.max()! + 3
    let batch = TestInputs.batch(lengths: lengths, heads: 1, vocab: vocab, types: types, rng: &rng)
    let word = rng.floats(vocab * hidden), position = rng.floats(maxPositions * hidden)
    let type = rng.floats(types * hidden), gamma = rng.floats(hidden), beta = rng.floats(hidden)
    let count = batch.tokenCount * hidden
    let out = try backend.makeBuffer(count: count)
    try backend.embed(
      out: out, layout: try backend.makeLayout(batch), batch: batch, word: try backend.makeBuffer(word),
      position: try backend.makeBuffer(position), type: try backend.makeBuffer(type),
      gamma: try backend.makeBuffer(gamma), beta: try backend.makeBuffer(beta), hidden: hidden, eps: 1e-12)
    let expected = Reference.embed(
      batch: batch, word: word, position: position, type: type, gamma: gamma, beta: beta, hidden: hidden, eps: 1e-12)
    m.check(try backend.read(out, range: 0..<count), expected, "\(label) embed lengths \(lengths) hidden \(hidden)")
  }
  m.record()
}

/// Every epilogue and activation of `linear` on `backend` against the reference, on each of
/// `shapes` (rows, k, n) with random inputs in [-1, 1]; `label` names the backend in failures.
/// The epilogues without an activation get an activation argument anyway (rotating through
/// all three), which they must ignore.
func checkLinear<B: ComputeBackend>(_ backend: B, shapes: [(Int, Int, Int)], seed: UInt64, label: String) throws {
  var m = Mismatches()
  var rng = SplitMix64(seed: seed)
  let activations: [Activation] = [.gelu, .geluTanh, .relu]
  for (index, (rows, k, n)) in shapes.enumerated() {
    let x = rng.floats(rows * k), w = rng.floats(n * k), bias = rng.floats(n), residual = rng.floats(rows * n)
    let dx = try backend.makeBuffer(x), db = try backend.makeBuffer(bias), dr = try backend.makeBuffer(residual)
    let matrix = try backend.makeMatrix(w, rows: n, cols: k)
    let product = Reference.product(x, rows: rows, w, n: n, k: k)
    let ignored = activations[index % 3]
    let cases: [(String, Epilogue<B.Buffer>, Activation, Reference.Epilogue)] = [
      ("bias (activation \(ignored) ignored)", .bias, ignored, .bias),
      ("bias+gelu", .biasActivation, .gelu, .biasActivation(.gelu)),
      ("bias+gelu_tanh", .biasActivation, .geluTanh, .biasActivation(.geluTanh)),
      ("bias+relu", .biasActivation, .relu, .biasActivation(.relu)),
      ("bias+residual (activation \(ignored) ignored)", .biasResidual(dr), ignored, .biasResidual),
    ]
    for (name, epilogue, act, reference) in cases {
      let out = try backend.makeBuffer(count: rows * n)
      try backend.linear(out: out, input: dx, rows: rows, weight: matrix, bias: db, epilogue: epilogue, activation: act)
      m.check(
        try backend.read(out, range: 0..<(rows * n)),
        Reference.linear(product: product, n: n, bias: bias, reference, residual: residual),
        atol: 1e-5 * Double(k).squareRoot(), "\(label) linear \(name) [\(rows)×\(k)]·[\(n)×\(k)]ᵀ")
    }
  }
  m.record()
}

/// The activation epilogues of `linear` on `backend` within 5e-7 of the exact functions over
/// [-8, 8]: out[r][j] = act(x[r] · 1 + 0) for 32 columns j, so that the vectorised epilogues run
/// (a single column takes the scalar tails of the OpenBLAS path and of the OpenCL CPU kernel).
func checkActivationAccuracy<B: ComputeBackend>(_ backend: B, label: String) throws {
  var m = Mismatches()
  let x = (0..<4001).map { Float(-8 + Double($0) * 0.004) }
  let n = 32
  let input = try backend.makeBuffer(x), bias = try backend.makeBuffer([Float](repeating: 0, count: n))
  let weight = try backend.makeMatrix([Float](repeating: 1, count: n), rows: n, cols: 1)
  for act in [Activation.gelu, .geluTanh, .relu] {
    let out = try backend.makeBuffer(count: x.count * n)
    try backend.linear(
      out: out, input: input, rows: x.count, weight: weight, bias: bias, epilogue: .biasActivation, activation: act)
    let expected = x.flatMap { [Double](repeating: Reference.activate(Double($0), act), count: n) }
    m.check(try backend.read(out, range: 0..<(x.count * n)), expected, rtol: 1e-6, atol: 5e-7, "\(label) \(act)")
  }
  m.record()
}

/// `linear` with `out` aliasing the residual (`x·Wᵀ + b + out` written over `out`), against the
/// reference: a small case at the default tolerance and an FFN-down-sized one (k = 1536, rows
/// past one row block).
func checkLinearInPlace<B: ComputeBackend>(_ backend: B, seed: UInt64, label: String) throws {
  var m = Mismatches()
  var rng = SplitMix64(seed: seed)
  for (rows, k, n, atol) in [(9, 20, 35, 1e-5), (200, 1536, 384, 1e-5 * Double(1536).squareRoot())] {
    let x = rng.floats(rows * k), w = rng.floats(n * k), bias = rng.floats(n), residual = rng.floats(rows * n)
    let io = try backend.makeBuffer(residual)
    try backend.linear(
      out: io, input: try backend.makeBuffer(x), rows: rows, weight: try backend.makeMatrix(w, rows: n, cols: k),
      bias: try backend.makeBuffer(bias), epilogue: .biasResidual(io), activation: .gelu)
    let expected = Reference.linear(
      product: Reference.product(x, rows: rows, w, n: n, k: k), n: n, bias: bias, .biasResidual, residual: residual)
    m.check(
      try backend.read(io, range: 0..<(rows * n)), expected, atol: atol,
      "\(label) in-place residual [\(rows)×\(k)]·[\(n)×\(k)]ᵀ")
  }
  m.record()
}

/// (lengths, heads, head dim): batches mixing 1, 5, 64 and 130 tokens at head dims 8, 32, 64;
/// one 512-token sequence; head dims 12 and 5 (not multiples of 4 or 8).
let attentionCases: [([Int], Int, Int)] = [
  ([1, 5, 64, 130], 3, 8), ([1, 5, 64, 130], 2, 32), ([5, 1, 130, 64], 2, 64), ([512], 1, 64), ([3, 2], 2, 12),
  ([7], 1, 5),
]

/// `attentionProbs`, the fused `attention` and `attentionContextOnly` against `Reference.attentionProbs` for three mode
/// sets (none, which means all normal; all normal spelled out; uniform, zero and normal heads),
/// with q and k in [-2, 2] so that rows are far from uniform; the fused op's P·V against the
/// reference product of the probabilities it wrote. A mode count other than the head count is
/// invalid input for both.
func checkAttention<B: ComputeBackend>(_ backend: B, label: String) throws {
  var m = Mismatches()
  var rng = SplitMix64(seed: 3)
  for (lengths, heads, d) in attentionCases {
    let batch = TestInputs.batch(lengths: lengths, heads: heads, rng: &rng)
    let qkv = rng.floats(batch.tokenCount * 3 * heads * d, in: -2...2)
    let scale = 1 / Float(d).squareRoot()
    let layout = try backend.makeLayout(batch)
    let dqkv = try backend.makeBuffer(qkv)
    let contextCount = batch.tokenCount * heads * d
    let allModes: [[HeadMode]] = [
      [], [HeadMode](repeating: .normal, count: heads),
      (0..<heads).map { [HeadMode.uniform, .zero, .normal][$0 % 3] },
    ]
    for modes in allModes {
      let what = "\(label) lengths \(lengths) heads \(heads) d \(d) modes \(modes.map(\.rawValue))"
      let expected = Reference.attentionProbs(
        qkv: qkv, batch: batch, heads: heads, headDim: d, scale: Double(scale), modes: modes)
      let probs = try backend.makeBuffer(count: batch.probCount)
      try backend.attentionProbs(
        probs: probs, qkv: dqkv, layout: layout, batch: batch, heads: heads, headDim: d, scale: scale, modes: modes)
      m.check(try backend.read(probs, range: 0..<batch.probCount), expected, rtol: 0, atol: 1e-6, "probs \(what)")

      let fusedProbs = try backend.makeBuffer(count: batch.probCount)
      let context = try backend.makeBuffer(count: contextCount)
      try backend.attention(
        probs: fusedProbs, context: context, qkv: dqkv, layout: layout, batch: batch, heads: heads, headDim: d,
        scale: scale, modes: modes)
      let got = try backend.read(fusedProbs, range: 0..<batch.probCount)
      m.check(got, expected, rtol: 0, atol: 1e-6, "fused probs \(what)")
      // P·V of the probabilities the op wrote, so that only the product is judged here.
      m.check(
        try backend.read(context, range: 0..<contextCount),
        Reference.attentionContext(probs: got, qkv: qkv, batch: batch, heads: heads, headDim: d),
        atol: 1e-5, "fused context \(what)")
      // Without maps: the context of the reference probabilities (it writes none to compare).
      let alone = try backend.makeBuffer(count: contextCount)
      try backend.attentionContextOnly(
        context: alone, qkv: dqkv, layout: layout, batch: batch, heads: heads, headDim: d, scale: scale, modes: modes)
      m.check(
        try backend.read(alone, range: 0..<contextCount),
        Reference.attentionContext(probs: expected.map { Float($0) }, qkv: qkv, batch: batch, heads: heads, headDim: d),
        atol: 1e-5, "context without maps \(what)")
    }
    if heads > 1 {
      let wrong = [HeadMode](repeating: .normal, count: heads - 1)
      let probs = try backend.makeBuffer(count: batch.probCount), context = try backend.makeBuffer(count: contextCount)
      let calls: [(String, () throws -> Void)] = [
        (
          "attentionProbs",
          {
            try backend.attentionProbs(
              probs: probs, qkv: dqkv, layout: layout, batch: batch, heads: heads, headDim: d, scale: scale,
              modes: wrong)
          }
        ),
        (
          "attention",
          {
            try backend.attention(
              probs: probs, context: context, qkv: dqkv, layout: layout, batch: batch, heads: heads, headDim: d,
              scale: scale, modes: wrong)
          }
        ),
        (
          "attentionContextOnly",
          {
            try backend.attentionContextOnly(
              context: context, qkv: dqkv, layout: layout, batch: batch, heads: heads, headDim: d, scale: scale,
              modes: wrong)
          }
        ),
      ]
      for (op, run) in calls {
        let what = "\(label) \(op): \(heads - 1) modes for \(heads) heads"
        do {
          try run()
          m.require(false, "\(what) accepted")
        } catch is BertScopeError {
          m.require(true, what)
        } catch {
          m.require(false, "\(what): \(error), not a BertScopeError")
        }
      }
    }
  }
  m.record()
}

/// Random attention maps of `batch`: per head, rows of random weights summed to 1 with about
/// a fifth exactly 0 (h % 3 == 0), uniform rows (h % 3 == 1) or all zeros (h % 3 == 2, a
/// zeroed head), laid out as `attentionProbs` writes them.
func randomMaps(_ batch: PackedBatch, heads: Int, rng: inout SplitMix64) -> [Float] {
  var probs = [Float](repeating: 0, count: batch.probCount)
  for s in 0..<batch.count {
    let L = batch.lengths[s]
    for h in 0..<heads {
      for i in 0..<L {
        let base = batch.probOffsets[s] + (h * L + i) * L
        switch h % 3 {
        case 0:
          var row = (0..<L).map { _ in rng.unit() < 0.2 ? 0 : Float.random(in: 0.01...1, using: &rng) }
          if row.allSatisfy({ $0 == 0 }) { row[i] = 1 }
          let sum = row.reduce(0, +)
          for j in 0..<L { probs[base + j] = row[j] / sum }
        case 1:
          for j in 0..<L { probs[base + j] = 1 / Float(L) }
        default:
          break
        }
      }
    }
  }
  return probs
}

/// `attentionContext` against the reference on random maps (see `randomMaps`) and V in [-1, 1].
func checkAttentionContext<B: ComputeBackend>(_ backend: B, label: String) throws {
  var m = Mismatches()
  var rng = SplitMix64(seed: 4)
  for (lengths, heads, d) in attentionCases {
    let batch = TestInputs.batch(lengths: lengths, heads: max(heads, 3), rng: &rng)
    let h = batch.heads
    let qkv = rng.floats(batch.tokenCount * 3 * h * d)
    let probs = randomMaps(batch, heads: h, rng: &rng)
    let count = batch.tokenCount * h * d
    let context = try backend.makeBuffer(count: count)
    try backend.attentionContext(
      context: context, probs: try backend.makeBuffer(probs), qkv: try backend.makeBuffer(qkv),
      layout: try backend.makeLayout(batch), batch: batch, heads: h, headDim: d)
    let expected = Reference.attentionContext(probs: probs, qkv: qkv, batch: batch, heads: h, headDim: d)
    m.check(
      try backend.read(context, range: 0..<count), expected, atol: 1e-5,
      "\(label) context lengths \(lengths) heads \(h) d \(d)")
  }
  m.record()
}

/// `attentionFeatures` against `Reference.features` (MapFeatures' table) on random maps of
/// sequences with every mix of token kinds: a lone [CLS]; random kinds; no special token at
/// all; nothing but [CLS] and [SEP] (no "other" key); a 512-token map. Segments are random
/// 0/1 per token. The vectors go to `out` at an offset; floats before and after stay as they were.
func checkAttentionFeatures<B: ComputeBackend>(_ backend: B, label: String) throws {
  var m = Mismatches()
  var rng = SplitMix64(seed: 12)
  let heads = 3, count = AttentionFeatures.count
  for lengths in [[1, 5, 64, 130, 7], [512, 2]] {
    let kinds: [[Int32]] = lengths.enumerated().map { s, L in
      switch (s, L) {
      case (_, 1): return [0]
      case (3, _): return [Int32](repeating: 3, count: L)  // no [CLS], [SEP] or punctuation
      case (4, _): return (0..<L).map { Int32($0 % 2) }  // only [CLS] and [SEP]
      default: return [0] + (1..<L).map { _ in Int32.random(in: 0...3, using: &rng) }
      }
    }
    let batch = TestInputs.batch(lengths: lengths, heads: heads, kinds: kinds, rng: &rng)
    let probs = randomMaps(batch, heads: heads, rng: &rng)
    var expected: [Double] = []
    for s in 0..<batch.count {
      let L = batch.lengths[s], t0 = batch.tokenOffsets[s]
      let segments = Array(batch.segments[t0..<(t0 + L)])
      for h in 0..<heads {
        let start = batch.probOffsets[s] + h * L * L
        expected += Reference.features(
          map: probs[start..<(start + L * L)].map(Double.init), kinds: kinds[s], segments: segments)
      }
    }
    let (offset, tail) = (37, 11)
    let sentinel: Float = -7.25
    let total = offset + batch.count * heads * count + tail
    let out = try backend.makeBuffer([Float](repeating: sentinel, count: total))
    try backend.attentionFeatures(
      out: out, offset: offset, probs: try backend.makeBuffer(probs), layout: try backend.makeLayout(batch),
      batch: batch, heads: heads)
    let got = try backend.read(out, range: 0..<total)
    m.require(got[..<offset].allSatisfy { $0 == sentinel }, "\(label): features wrote before their offset")
    m.require(got[(total - tail)...].allSatisfy { $0 == sentinel }, "\(label): features wrote past their end")
    let vectors = Array(got[offset..<(total - tail)])
    for (i, name) in MapFeatures.Index.allCases.map({ ($0.rawValue, $0.name) }) {
      // One feature at a time, so that a failure names it; vectors are (s, h)-major.
      let mine = stride(from: i, to: vectors.count, by: count).map { vectors[$0] }
      let reference = stride(from: i, to: expected.count, by: count).map { expected[$0] }
      m.check(mine, reference, rtol: 1e-5, atol: 1e-5, "\(label) feature \(i) \(name), lengths \(lengths)")
    }
  }
  m.record()
}

/// `layerNorm` against the reference, out of place and in place: one column (variance 0,
/// so out = beta), widths below, at and past SIMD widths, and rows offset from 0.
func checkLayerNorm<B: ComputeBackend>(_ backend: B, label: String) throws {
  var m = Mismatches()
  var rng = SplitMix64(seed: 5)
  let cases: [(Int, Int, ClosedRange<Float>)] = [
    (1, 1, -3...5), (7, 5, -3...5), (131, 384, -3...5), (3, 385, -3...5), (2, 768, -3...5), (64, 37, 10...14),
  ]
  for (rows, cols, range) in cases {
    let x = rng.floats(rows * cols, in: range), gamma = rng.floats(cols), beta = rng.floats(cols)
    let expected = Reference.layerNorm(x.map(Double.init), rows: rows, cols: cols, gamma: gamma, beta: beta, eps: 1e-12)
    let dx = try backend.makeBuffer(x), dg = try backend.makeBuffer(gamma), dbeta = try backend.makeBuffer(beta)
    let out = try backend.makeBuffer(count: rows * cols)
    try backend.layerNorm(out: out, input: dx, rows: rows, cols: cols, gamma: dg, beta: dbeta, eps: 1e-12)
    let what = "\(label) layerNorm [\(rows), \(cols)] of values in \(range)"
    m.check(try backend.read(out, range: 0..<(rows * cols)), expected, what)
    try backend.layerNorm(out: dx, input: dx, rows: rows, cols: cols, gamma: dg, beta: dbeta, eps: 1e-12)
    m.check(try backend.read(dx, range: 0..<(rows * cols)), expected, "in-place " + what)
  }
  m.record()
}

/// `read` of single ranges and of several at once (empty ones and the whole buffer included),
/// `readStorage` of a count and of ranges, on 1000 distinct values.
func checkReads<B: ComputeBackend>(_ backend: B, label: String) throws {
  var m = Mismatches()
  let values = (0..<1000).map { Float($0) * 0.5 - 7 }
  let buffer = try backend.makeBuffer(values)
  func slice(_ r: Range<Int>) -> [Float] { Array(values[r]) }
  for r in [0..<1000, 3..<7, 999..<1000, 500..<500] {
    m.exact(try backend.read(buffer, range: r), slice(r), "\(label): read \(r)")
  }
  let ranges = [3..<7, 0..<0, 995..<1000, 0..<1, 0..<1000, 640..<641]
  let parts = try backend.read(buffer, ranges: ranges)
  m.require(parts.count == ranges.count, "\(label): read \(ranges) gave \(parts.count) parts")
  for (part, r) in zip(parts, ranges) { m.exact(part, slice(r), "\(label): read \(r) of \(ranges)") }
  m.require(try backend.read(buffer, ranges: []).isEmpty, "\(label): read no ranges")

  let whole = try backend.readStorage(buffer, count: 1000)
  m.require(whole.count == 1000, "\(label): readStorage(count: 1000) holds \(whole.count) floats")
  m.exact(whole.array(), values, "\(label): readStorage of the whole buffer")
  let joined = try backend.readStorage(buffer, ranges: ranges)
  m.exact(joined.array(), ranges.flatMap(slice), "\(label): readStorage \(ranges)")

  let head = try backend.readStorage(buffer, count: 10)
  m.exact(head.array(0..<10), slice(0..<10), "\(label): readStorage of the first 10")
  m.require(head.count == 10, "\(label): readStorage(count: 10) holds \(head.count) floats")
  // Outside the buffer: an error naming the range, on every backend.
  for bad in [995..<1001, -1..<3] {
    m.require((try? backend.read(buffer, range: bad)) == nil, "\(label): read \(bad) of 1000 floats succeeded")
  }
  m.require(
    (try? backend.readStorage(buffer, count: 1001)) == nil, "\(label): readStorage(count: 1001) of 1000 succeeded")
  m.require(
    (try? backend.readStorage(buffer, ranges: [0..<2, 999..<1002])) == nil,
    "\(label): readStorage past the end succeeded")
  m.record()
}

/// `copy` of a prefix into the middle, the start and the end of a larger buffer (the rest
/// untouched), of nothing, and refusals: past either end, a negative offset or count, and a
/// buffer onto itself.
func checkCopy<B: ComputeBackend>(_ backend: B, label: String) throws {
  var m = Mismatches()
  let source = (0..<37).map { Float($0) + 0.25 }, before = (0..<100).map { -Float($0) }
  for (count, offset) in [(37, 20), (37, 0), (37, 63), (5, 95), (1, 99), (0, 100), (0, 0)] {
    let from = try backend.makeBuffer(source), to = try backend.makeBuffer(before)
    try backend.copy(from, count: count, to: to, at: offset)
    var expected = before
    expected.replaceSubrange(offset..<(offset + count), with: source[0..<count])
    m.exact(try backend.read(to, range: 0..<100), expected, "\(label): copy of \(count) to \(offset)")
    m.exact(try backend.read(from, range: 0..<37), source, "\(label): copy of \(count) to \(offset): source changed")
  }
  let from = try backend.makeBuffer(source), to = try backend.makeBuffer(before)
  for (count, offset) in [(37, 64), (38, 0), (1, 100), (5, -1), (-1, 0)] {
    m.require(
      (try? backend.copy(from, count: count, to: to, at: offset)) == nil,
      "\(label): copy of \(count) floats of 37 to offset \(offset) of 100 succeeded")
  }
  m.require(
    (try? backend.copy(to, count: 10, to: to, at: 50)) == nil, "\(label): copy of a buffer onto itself succeeded")
  m.exact(try backend.read(to, range: 0..<100), before, "\(label): a refused copy wrote")
  m.record()
}

/// Every op on an empty batch, and the row-wise ops on zero rows: nothing to do, no error, and
/// a buffer of zero floats reads back as nothing.
func checkEmptyWork<B: ComputeBackend>(_ backend: B, label: String) throws {
  let batch = PackedBatch([], heads: 2)
  let empty = try backend.makeBuffer(count: 0)
  let layout = try backend.makeLayout(batch)
  let four = try backend.makeBuffer([1, 2, 3, 4])
  let table = try backend.makeBuffer(count: 8 * 4)
  try backend.embed(
    out: empty, layout: layout, batch: batch, word: table, position: table, type: table, gamma: four, beta: four,
    hidden: 4, eps: 1e-12)
  try backend.attentionProbs(
    probs: empty, qkv: empty, layout: layout, batch: batch, heads: 2, headDim: 8, scale: 1, modes: [])
  try backend.attention(
    probs: empty, context: empty, qkv: empty, layout: layout, batch: batch, heads: 2, headDim: 8, scale: 1, modes: [])
  try backend.attentionContext(
    context: empty, probs: empty, qkv: empty, layout: layout, batch: batch, heads: 2, headDim: 8)
  try backend.attentionFeatures(out: empty, offset: 0, probs: empty, layout: layout, batch: batch, heads: 2)
  try backend.layerNorm(out: empty, input: empty, rows: 0, cols: 4, gamma: four, beta: four, eps: 1e-5)
  try backend.linear(
    out: empty, input: empty, rows: 0, weight: try backend.makeMatrix([1, 2, 3, 4], rows: 1, cols: 4), bias: four,
    epilogue: .bias, activation: .gelu)
  #expect(try backend.read(empty, range: 0..<0) == [], "\(label)")
  #expect(try backend.read(four, range: 0..<4) == [1, 2, 3, 4], "\(label): inputs untouched")
}
