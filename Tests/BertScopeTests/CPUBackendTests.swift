import Testing

@testable import BertScope

@Suite("CPU backend ops")
struct CPUBackendTests {
  @Test("attentionProbs: no head modes means every head normal; a wrong count is invalid input")
  func headModes() throws {
    let backend = try CPUBackend()
    var rng = SplitMix64(seed: 7)
    let (heads, d) = (3, 8)
    let batch = OpenCLTest.batch(lengths: [5, 1, 9], heads: heads, rng: &rng)
    let qkv = try backend.makeBuffer(rng.floats(batch.tokenCount * 3 * heads * d))
    let layout = try backend.makeLayout(batch)
    func probs(_ modes: [HeadMode]) throws -> [Float] {
      let out = try backend.makeBuffer(count: batch.probCount)
      try backend.attentionProbs(
        probs: out, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d, scale: 0.35, modes: modes)
      return try backend.read(out, range: 0..<batch.probCount)
    }
    let implicit = try probs([])
    #expect(implicit == (try probs(Array(repeating: .normal, count: heads))))
    #expect(implicit != (try probs([.normal, .uniform, .normal])))
    #expect(throws: BertScopeError.self) { try probs([.normal, .normal]) }
  }

  @Test("fused attention equals attentionProbs then attentionContext, bit for bit, with every head mode")
  func fusedAttention() throws {
    let backend = try CPUBackend()
    var rng = SplitMix64(seed: 8)
    for (lengths, heads, d) in [([5, 1, 9, 130], 3, 8), ([64, 7], 4, 32), ([13], 2, 20)] {
      let batch = OpenCLTest.batch(lengths: lengths, heads: heads, rng: &rng)
      let qkv = try backend.makeBuffer(rng.floats(batch.tokenCount * 3 * heads * d, in: -2...2))
      let layout = try backend.makeLayout(batch)
      let modes = (0..<heads).map { [HeadMode.normal, .uniform, .zero][$0 % 3] }
      for modes in [[], modes] {
        let (p1, c1) = (try backend.makeBuffer(count: batch.probCount), try backend.makeBuffer(count: batch.tokenCount * heads * d))
        let (p2, c2) = (try backend.makeBuffer(count: batch.probCount), try backend.makeBuffer(count: batch.tokenCount * heads * d))
        try backend.attentionProbs(
          probs: p1, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d, scale: 0.3, modes: modes)
        try backend.attentionContext(
          context: c1, probs: p1, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d)
        try backend.attention(
          probs: p2, context: c2, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d, scale: 0.3,
          modes: modes)
        let what = "lengths \(lengths), \(heads) heads of \(d), modes \(modes)"
        #expect(try backend.read(p1, range: 0..<batch.probCount) == backend.read(p2, range: 0..<batch.probCount), "\(what)")
        let n = batch.tokenCount * heads * d
        #expect(try backend.read(c1, range: 0..<n) == backend.read(c2, range: 0..<n), "\(what)")
      }
    }
  }
}

/// Both host GEMMs of the CPU backend against a Double reference: every epilogue and
/// activation, shapes off the 6 × 64 tile grid, inputs wider than one block of rows, few-row
/// inputs split by columns, k from 1 to 5000.
@Suite("CPU backend GEMMs")
struct CPUBackendGemmTests {
  /// (rows, k, n)
  static let shapes: [(Int, Int, Int)] = [
    (1, 1, 1), (7, 33, 17), (131, 65, 40), (13, 384, 100), (6, 16, 64), (200, 1000, 130), (3, 5000, 70),
    (130, 384, 1152), (20, 40, 200),
  ]

  static let packedReason: Comment = "the packed GEMM needs AVX-512F, which this CPU lacks"

  static func backend(_ gemm: HostGemm) throws -> CPUBackend { try CPUBackend(gemm: gemm) }

  @Test("OpenBLAS GEMM: every epilogue and activation matches the reference")
  func openBLAS() throws { try check(.openBLAS) }

  @Test(
    "packed AVX-512 GEMM: every epilogue and activation matches the reference",
    .enabled(if: HostGemmTest.packedAvailable, packedReason))
  func packed() throws { try check(.packed) }

  @Test("out may alias the residual, also when k spans several row blocks", arguments: HostGemmTest.available)
  func linearInPlace(gemm: HostGemm) throws {
    try checkLinearInPlace(try Self.backend(gemm), seed: 9, label: "\(gemm)")
  }

  @Test(
    "packed GEMM: a row's result is bit-for-bit the same whatever rows surround it",
    .enabled(if: HostGemmTest.packedAvailable, packedReason))
  func packedRowIndependence() throws {
    let backend = try Self.backend(.packed)
    var rng = SplitMix64(seed: 11)
    let (rows, k, n) = (500, 384, 200)
    let x = rng.floats(rows * k), w = rng.floats(n * k), bias = rng.floats(n)
    let matrix = try backend.makeMatrix(w, rows: n, cols: k), b = try backend.makeBuffer(bias)
    func run(_ input: ArraySlice<Float>, rows: Int) throws -> [Float] {
      let out = try backend.makeBuffer(count: rows * n)
      try backend.linear(
        out: out, input: try backend.makeBuffer(Array(input)), rows: rows, weight: matrix, bias: b,
        epilogue: .biasActivation, activation: .gelu)
      return try backend.read(out, range: 0..<(rows * n))
    }
    let all = try run(x[...], rows: rows)
    // Single rows (the column-split path), a short block and an odd offset.
    for (start, count) in [(0, 1), (37, 1), (250, 13), (499, 1), (1, 499)] {
      let part = try run(x[(start * k)..<((start + count) * k)], rows: count)
      #expect(part == Array(all[(start * n)..<((start + count) * n)]), "rows \(start)..<\(start + count)")
    }
  }

  @Test("the GELU epilogues stay within 5e-7 of the exact functions over [-8, 8]", arguments: HostGemmTest.available)
  func geluAccuracy(gemm: HostGemm) throws {
    try checkActivationAccuracy(try Self.backend(gemm), label: "\(gemm)")
  }

  @Test("BERTSCOPE_CPU_GEMM names the GEMM; an unknown name is a clear error")
  func environment() throws {
    #expect(try HostGemm.resolve(.openBLAS) == .openBLAS)
    #expect(HostGemm(rawValue: "openblas") == .openBLAS)
    #expect(HostGemm(rawValue: "packed") == .packed)
    if HostGemmTest.packedAvailable {
      #expect(try HostGemm.resolve(.packed) == .packed)
    } else {
      #expect(throws: BertScopeError.self) { try HostGemm.resolve(.packed) }
    }
  }

  private func check(_ gemm: HostGemm) throws {
    try checkLinear(try Self.backend(gemm), shapes: Self.shapes, seed: 5, label: "\(gemm)")
  }
}

enum HostGemmTest {
  /// Whether this CPU runs the packed GEMM (AVX-512F).
  static let packedAvailable = (try? HostGemm.resolve(.packed)) != nil
  /// The CPU backend's GEMMs this machine can run.
  static let available: [HostGemm] = packedAvailable ? [.packed, .openBLAS] : [.openBLAS]
}
