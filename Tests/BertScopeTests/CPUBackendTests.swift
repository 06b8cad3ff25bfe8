import Testing

@testable import BertScope

/// What only the CPU backend promises beyond matching the reference (every op against the
/// Double reference, on both host GEMMs, is in `BackendOpTests`).
@Suite("CPU backend ops")
struct CPUBackendTests {
  @Test("fused attention equals attentionProbs then attentionContext, bit for bit, with every head mode")
  func fusedAttention() throws {
    let backend = try CPUBackend()
    var rng = SplitMix64(seed: 8)
    for (lengths, heads, d) in [([5, 1, 9, 130], 3, 8), ([64, 7], 4, 32), ([13], 2, 20)] {
      let batch = TestInputs.batch(lengths: lengths, heads: heads, rng: &rng)
      let qkv = try backend.makeBuffer(rng.floats(batch.tokenCount * 3 * heads * d, in: -2...2))
      let layout = try backend.makeLayout(batch)
      let modes = (0..<heads).map { [HeadMode.normal, .uniform, .zero][$0 % 3] }
      for modes in [[], modes] {
        let (p1, c1) = (
          try backend.makeBuffer(count: batch.probCount), try backend.makeBuffer(count: batch.tokenCount * heads * d)
        )
        let (p2, c2) = (
          try backend.makeBuffer(count: batch.probCount), try backend.makeBuffer(count: batch.tokenCount * heads * d)
        )
        try backend.attentionProbs(
          probs: p1, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d, scale: 0.3, modes: modes)
        try backend.attentionContext(
          context: c1, probs: p1, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d)
        try backend.attention(
          probs: p2, context: c2, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d, scale: 0.3,
          modes: modes)
        let what = "lengths \(lengths), \(heads) heads of \(d), modes \(modes)"
        #expect(
          try backend.read(p1, range: 0..<batch.probCount) == backend.read(p2, range: 0..<batch.probCount), "\(what)")
        let n = batch.tokenCount * heads * d
        #expect(try backend.read(c1, range: 0..<n) == backend.read(c2, range: 0..<n), "\(what)")
      }
    }
  }
}

/// The host GEMMs' own properties: bit-for-bit row independence of the packed GEMM, and how
/// `BERTSCOPE_CPU_GEMM` picks one. (Both against the Double reference, every epilogue and
/// activation, in place too: `BackendOpTests`.)
@Suite("CPU backend GEMMs")
struct CPUBackendGemmTests {
  static let packedReason: Comment = "the packed GEMM needs AVX-512F, which this CPU lacks"

  static func backend(_ gemm: HostGemm) throws -> CPUBackend { try CPUBackend(gemm: gemm) }

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

  @Test("an explicit GEMM is used as asked; packed only where the CPU has AVX-512F")
  func explicitChoice() throws {
    #expect(try HostGemm.resolve(.openBLAS) == .openBLAS)
    #expect(HostGemm(rawValue: "openblas") == .openBLAS)
    #expect(HostGemm(rawValue: "packed") == .packed)
    if HostGemmTest.packedAvailable {
      #expect(try HostGemm.resolve(.packed) == .packed)
    } else {
      #expect(throws: BertScopeError.self) { try HostGemm.resolve(.packed) }
    }
  }
}

/// `HostGemm.resolve` reads BERTSCOPE_CPU_GEMM from the process environment, which a test
/// cannot change under the tests running beside it: `bertscope embed` runs in a child process.
@Suite(
  "BERTSCOPE_CPU_GEMM", .enabled(if: CLI.available, "the bertscope binary is not built next to the tests"))
struct HostGemmEnvironmentTests {
  func embed(gemm: String) throws -> CLI.Result {
    let out = Fixtures.temporaryDirectory().appendingPathComponent("out.npy")
    return try CLI.run(
      ["embed", "--backend", "cpu", "--model", Fixtures.tiny.path, "--input", "-", "--out", out.path, "-q"],
      stdin: "hello world\n", env: ["BERTSCOPE_CPU_GEMM": gemm])
  }

  @Test("names the GEMM in any case; unset or empty picks one that runs")
  func known() throws {
    for name in ["openblas", "OpenBLAS", ""] {
      let run = try embed(gemm: name)
      #expect(run.status == 0, "BERTSCOPE_CPU_GEMM=\(name): \(run.stderr)")
    }
    let packed = try embed(gemm: "packed")
    if HostGemmTest.packedAvailable {
      #expect(packed.status == 0, "\(packed.stderr)")
    } else {
      #expect(packed.status != 0)
      #expect(packed.stderr.contains("needs a CPU with AVX-512F; use BERTSCOPE_CPU_GEMM=openblas"), "\(packed.stderr)")
    }
  }

  @Test("an unknown name is a clear error, not a silent default")
  func unknown() throws {
    let run = try embed(gemm: "bogus")
    #expect(run.status != 0)
    #expect(run.stderr.contains("BERTSCOPE_CPU_GEMM=bogus: expected packed or openblas"), "\(run.stderr)")
  }
}

enum HostGemmTest {
  /// Whether this CPU runs the packed GEMM (AVX-512F).
  static let packedAvailable = (try? HostGemm.resolve(.packed)) != nil
  /// The CPU backend's GEMMs this machine can run.
  static let available: [HostGemm] = packedAvailable ? [.packed, .openBLAS] : [.openBLAS]
}
