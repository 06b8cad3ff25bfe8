import CHostKernels
import Foundation
import Testing

@testable import BertScope

/// The host C kernels (`host_kernels.h`): both builds bit for bit against each other, and the
/// vectorised functions against libm.
@Suite("CPU host kernels")
struct HostKernelTests {
  static let avx2Available = HostKernels.avx2.available
  static let avx2Reason: Comment = "this CPU lacks AVX2 + FMA, so only the portable kernels run"

  /// Two backends that differ only in the kernels' build.
  static func pair() throws -> (portable: CPUBackend, avx2: CPUBackend) {
    (try CPUBackend(gemm: .openBLAS, kernels: .portable), try CPUBackend(gemm: .openBLAS, kernels: .avx2))
  }

  static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

  @Test("the backend's name says which kernels run")
  func name() throws {
    #expect(try CPUBackend(kernels: .portable).name.contains("portable kernels"))
    if Self.avx2Available { #expect(try CPUBackend(kernels: .avx2).name.contains("AVX2+FMA kernels")) }
    #expect(HostKernels.portable.available)
  }

  @Test(
    "portable and AVX2+FMA kernels: attention, LayerNorm, embeddings, epilogues give the same bits",
    .enabled(if: avx2Available, avx2Reason))
  func levelsAgreeOnOps() throws {
    let (a, b) = try Self.pair()
    var rng = SplitMix64(seed: 21)
    // Attention: lengths off the 6-row and 16-column grids, head sizes off 16, every mode.
    for (lengths, heads, d) in [([1, 5, 17, 130], 3, 8), ([64, 7], 4, 32), ([13, 40], 2, 20), ([3], 1, 1)] {
      let batch = TestInputs.batch(lengths: lengths, heads: heads, rng: &rng)
      let qkv = rng.floats(batch.tokenCount * 3 * heads * d, in: -3...3)
      let modes = (0..<heads).map { [HeadMode.normal, .uniform, .zero][$0 % 3] }
      func run(_ backend: CPUBackend, fused: Bool) throws -> ([Float], [Float]) {
        let q = try backend.makeBuffer(qkv), layout = try backend.makeLayout(batch)
        let p = try backend.makeBuffer(count: batch.probCount),
          c = try backend.makeBuffer(count: batch.tokenCount * heads * d)
        if fused {
          try backend.attention(
            probs: p, context: c, qkv: q, layout: layout, batch: batch, heads: heads, headDim: d, scale: 0.4,
            modes: modes)
        } else {
          try backend.attentionProbs(
            probs: p, qkv: q, layout: layout, batch: batch, heads: heads, headDim: d, scale: 0.4, modes: modes)
          try backend.attentionContext(
            context: c, probs: p, qkv: q, layout: layout, batch: batch, heads: heads, headDim: d)
        }
        return (
          try backend.read(p, range: 0..<batch.probCount), try backend.read(c, range: 0..<batch.tokenCount * heads * d)
        )
      }
      for fused in [false, true] {
        let (pa, ca) = try run(a, fused: fused), (pb, cb) = try run(b, fused: fused)
        #expect(Self.bits(pa) == Self.bits(pb), "probs, lengths \(lengths), d \(d), fused \(fused)")
        #expect(Self.bits(ca) == Self.bits(cb), "context, lengths \(lengths), d \(d), fused \(fused)")
      }
    }
    // LayerNorm and embeddings: rows shorter than, equal to and off 16 floats.
    for cols in [1, 15, 16, 17, 48, 384] {
      let rows = 9
      let x = rng.floats(rows * cols, in: -4...4), gamma = rng.floats(cols, in: 0.5...1.5), beta = rng.floats(cols)
      func norm(_ backend: CPUBackend) throws -> [Float] {
        let out = try backend.makeBuffer(count: rows * cols)
        try backend.layerNorm(
          out: out, input: try backend.makeBuffer(x), rows: rows, cols: cols, gamma: try backend.makeBuffer(gamma),
          beta: try backend.makeBuffer(beta), eps: 1e-12)
        return try backend.read(out, range: 0..<rows * cols)
      }
      #expect(Self.bits(try norm(a)) == Self.bits(try norm(b)), "layerNorm, \(cols) columns")
      let batch = TestInputs.batch(lengths: [4, 30], heads: 1, vocab: 10, rng: &rng)
      let word = rng.floats(10 * cols), position = rng.floats(30 * cols), type = rng.floats(2 * cols)
      func embed(_ backend: CPUBackend) throws -> [Float] {
        let out = try backend.makeBuffer(count: batch.tokenCount * cols)
        try backend.embed(
          out: out, layout: try backend.makeLayout(batch), batch: batch, word: try backend.makeBuffer(word),
          position: try backend.makeBuffer(position), type: try backend.makeBuffer(type),
          gamma: try backend.makeBuffer(gamma), beta: try backend.makeBuffer(beta), hidden: cols, eps: 1e-12)
        return try backend.read(out, range: 0..<batch.tokenCount * cols)
      }
      #expect(Self.bits(try embed(a)) == Self.bits(try embed(b)), "embed, \(cols) columns")
    }
    // The OpenBLAS path's epilogues: widths with and without a scalar tail, row and column blocks.
    for (rows, k, n) in [(3, 20, 17), (200, 16, 40), (5, 8, 1)] {
      let x = rng.floats(rows * k, in: -2...2), w = rng.floats(n * k, in: -1...1), bias = rng.floats(n)
      let residual = rng.floats(rows * n)
      for activation in [Activation.gelu, .geluTanh, .relu] {
        for kind in 0..<3 {
          func linear(_ backend: CPUBackend) throws -> [Float] {
            let out = try backend.makeBuffer(count: rows * n)
            let epilogue: Epilogue<FloatStorage> =
              kind == 0 ? .bias : kind == 1 ? .biasActivation : .biasResidual(try backend.makeBuffer(residual))
            try backend.linear(
              out: out, input: try backend.makeBuffer(x), rows: rows,
              weight: try backend.makeMatrix(w, rows: n, cols: k),
              bias: try backend.makeBuffer(bias), epilogue: epilogue, activation: activation)
            return try backend.read(out, range: 0..<rows * n)
          }
          #expect(
            Self.bits(try linear(a)) == Self.bits(try linear(b)), "linear \(rows)×\(k)×\(n), \(kind), \(activation)")
        }
      }
    }
  }

  @Test(
    "portable and AVX2+FMA kernels: the tiny model's hidden states and maps are the same bits",
    .enabled(if: avx2Available, avx2Reason))
  func levelsAgreeOnModel() async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let golden = try GoldenCase(Fixtures.golden("tiny", "batch"))
    let (a, b) = try Self.pair()
    let options = EncodeOptions(maps: .all)
    let x = try Forward(backend: a, weights: model.weights).run(golden.encodings, options: options)
    let y = try Forward(backend: b, weights: model.weights).run(golden.encodings, options: options)
    for s in 0..<golden.encodings.count {
      #expect(Self.bits(x.hiddenState(s)) == Self.bits(y.hiddenState(s)), "hidden #\(s)")
      #expect(Self.bits(x.maps[s].values()) == Self.bits(y.maps[s].values()), "maps #\(s)")
    }
  }

  static let levels: [HostKernels] = HostKernels.allCases.filter(\.available)

  /// `function` of the kernels at `kernels` on `x` (1,000 + 7 values, so the tail runs too).
  static func vmath(_ function: Int32, _ x: [Float], _ kernels: HostKernels) -> [Float] {
    var y = [Float](repeating: .nan, count: x.count)
    bs_vmath(kernels.level, function, &y, x, x.count)
    return y
  }

  @Test("vectorised exp: ≤ 2 ulp on its range, 0 below, +∞ above, NaN stays NaN", arguments: levels)
  func exp(_ kernels: HostKernels) {
    var rng = SplitMix64(seed: 1)
    let x = rng.floats(1007, in: -87.3...88.7)
    let y = Self.vmath(Int32(BS_VMATH_EXP), x, kernels)
    let worst = zip(x, y).map { abs(Double($1) - Foundation.exp(Double($0))) / Foundation.exp(Double($0)) }.max()!
    #expect(worst <= 2.4e-7)
    let edges = Self.vmath(Int32(BS_VMATH_EXP), [-.infinity, -100, 0, 100, .infinity, .nan], kernels)
    #expect(edges[0] == 0 && edges[1] == 0 && edges[2] == 1 && edges[3] == .infinity && edges[4] == .infinity)
    #expect(edges[5].isNaN)
  }

  @Test("vectorised erf, tanh and both GELUs against libm in double", arguments: levels)
  func erfTanhGelu(_ kernels: HostKernels) {
    var rng = SplitMix64(seed: 2)
    let x = rng.floats(1007, in: -8...8)
    func worst(_ function: Int32, _ reference: (Double) -> Double) -> Double {
      zip(x, Self.vmath(function, x, kernels)).map {
        abs(Double($1) - reference(Double($0))) / max(1, abs(reference(Double($0))))
      }.max()!
    }
    #expect(worst(Int32(BS_VMATH_ERF), Foundation.erf) <= 3.3e-7)
    #expect(worst(Int32(BS_VMATH_TANH), Foundation.tanh) <= 3e-7)
    #expect(worst(Int32(BS_VMATH_GELU)) { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) } <= 1.5e-6)
    #expect(
      worst(Int32(BS_VMATH_GELU_TANH)) {
        0.5 * $0 * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0)))
      } <= 1e-6)
  }
}
