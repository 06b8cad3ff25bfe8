import Foundation
import Testing

@testable import BertScope

/// `--precision tf32` (`Kernels/gemm_gpu_tf32.cl`). Its tensor-core instructions are inline
/// PTX, which only NVIDIA's OpenCL compiler takes; on every other device the same kernel is
/// built with `-D TF32_EMULATE`, which does the two PTX instructions in OpenCL C with the same
/// rounding and fragment layouts, so that the tiling, the fragment indexing and the epilogues are
/// tested here on PoCL. The PTX itself is only built and checked on an NVIDIA GPU (the last test,
/// skipped elsewhere; `scripts/gpu-check` takes the same path through the command line: the
/// backend's own GEMM check, parity with the CPU backend at this tolerance, timing).
@Suite("TF32 linear layers", .enabled(if: OpenCLTest.available, OpenCLTest.skipReason))
struct OpenCLTF32Tests {
  /// The emulated kernel on the test device.
  static func emulated() throws -> OpenCLBackend {
    try OpenCLTest.backend(.gpu) {
      $0.precision = .tf32
      $0.tf32Emulate = true
    }
  }

  /// TF32 rounds each input to a relative 2⁻¹¹, so a product is off by at most ~2⁻¹⁰ of it and a
  /// sum by ~2⁻¹⁰ of Σ|x·w| (plus fp32 summation): the check allows 2e-3 of Σ|x·w| (scaled by
  /// the epilogue's slope, at most 1.13 for GELU) and 1e-5.
  static func checkTF32Linear(_ backend: OpenCLBackend, shapes: [(Int, Int, Int)], seed: UInt64, label: String) throws {
    var rng = SplitMix64(seed: seed)
    var compared = 0
    for (rows, k, n) in shapes {
      let x = rng.floats(rows * k), w = rng.floats(n * k), bias = rng.floats(n), residual = rng.floats(rows * n)
      let product = Reference.product(x, rows: rows, w, n: n, k: k)
      let magnitude = Reference.product(x.map(abs), rows: rows, w.map(abs), n: n, k: k)
      let matrix = try backend.makeMatrix(w, rows: n, cols: k)
      let dx = try backend.makeBuffer(x), db = try backend.makeBuffer(bias), dr = try backend.makeBuffer(residual)
      let cases: [(String, Epilogue<OpenCLBuffer>, Activation, Reference.Epilogue)] = [
        ("bias", .bias, .gelu, .bias), ("bias+gelu", .biasActivation, .gelu, .biasActivation(.gelu)),
        ("bias+residual", .biasResidual(dr), .gelu, .biasResidual),
      ]
      for (name, epilogue, act, reference) in cases {
        let out = try backend.makeBuffer(count: rows * n)
        try backend.linear(
          out: out, input: dx, rows: rows, weight: matrix, bias: db, epilogue: epilogue, activation: act)
        let got = try backend.read(out, range: 0..<(rows * n))
        let expected = Reference.linear(product: product, n: n, bias: bias, reference, residual: residual)
        var worst = (excess: 0.0, index: -1)
        for i in got.indices {
          let excess = abs(Double(got[i]) - expected[i]) - (2e-3 * 1.13 * magnitude[i] + 1e-5)
          if excess > worst.excess || got[i].isNaN { worst = (got[i].isNaN ? .infinity : excess, i) }
        }
        compared += 1
        #expect(
          worst.index < 0,
          "\(label) \(name) [\(rows)×\(k)]·[\(n)×\(k)]ᵀ: element \(worst.index) is \(worst.index < 0 ? 0 : got[worst.index]), expected \(worst.index < 0 ? 0 : expected[worst.index])"
        )
      }
    }
    #expect(compared == shapes.count * 3)
  }

  /// Rows 1, 7, 64, 130 (one tile, a ragged one, exactly one, three); K below, between and above
  /// the K step of 32, not a multiple of 4; N below and above the 64-column tile.
  static let shapes: [(Int, Int, Int)] = [(1, 45, 37), (7, 64, 96), (64, 32, 64), (130, 33, 70), (70, 100, 130)]

  @Test("the tensor-core GEMM (PTX emulated) matches the reference within TF32's rounding, every epilogue")
  func emulatedGEMM() throws {
    try Self.checkTF32Linear(try Self.emulated(), shapes: Self.shapes, seed: 31, label: "tf32 (emulated)")
  }

  @Test("it really rounds to TF32: 1 + 2⁻¹² is 1, 1 + 2⁻¹⁰ stays, ties go away from zero")
  func rounds() throws {
    let backend = try Self.emulated()
    // x · 1 for a column of inputs: the output is the input rounded to TF32.
    let inputs: [Float] = [1 + 0x1p-12, 1 + 0x1p-10, 1 + 0x1p-11, -(1 + 0x1p-11), 1 + 3 * 0x1p-11, 3.0e38]
    let expected: [Float] = [1, 1 + 0x1p-10, 1 + 0x1p-10, -(1 + 0x1p-10), 1 + 0x1p-9, 3.0e38]
    let out = try backend.makeBuffer(count: inputs.count)
    try backend.linear(
      out: out, input: try backend.makeBuffer(inputs), rows: inputs.count,
      weight: try backend.makeMatrix([1], rows: 1, cols: 1),
      bias: try backend.makeBuffer([0]), epilogue: .bias, activation: .gelu)
    let got = try backend.read(out, range: 0..<inputs.count)
    // 3e38 rounds to the TF32 neighbour 3.0010e38 (relative 2⁻¹¹ at most).
    #expect(Array(got.prefix(5)) == Array(expected.prefix(5)), "\(got)")
    #expect(abs(got[5] / expected[5] - 1) <= 0x1p-11 && got[5].isFinite, "\(got[5])")
  }

  @Test(
    "the encoder with TF32 linear layers (PTX emulated) against fp32: its error, at its own tolerance",
    .enabled(if: Fixtures.hasMiniLM, "the default model is not installed (scripts/setup installs it)"),
    .enabled(if: AnalysisTestConfig.optimized, "runs the real model: release builds only (scripts/test)"))
  func encoder() async throws {
    let model = try await ModelCache.shared.model(try #require(Fixtures.miniLM))
    let golden = try GoldenCase(Fixtures.golden("minilm", "pair"))
    let options = EncodeOptions(maps: .all)
    let fp32 = try Forward(backend: try CPUBackend(), weights: model.weights).run(golden.encodings, options: options)
    let tf32 = try Forward(backend: try Self.emulated(), weights: model.weights).run(golden.encodings, options: options)
    var maps = 0.0, hidden = 0.0, hiddenScale = 0.0, cosine = 1.0
    for b in 0..<golden.encodings.count {
      for (x, y) in zip(tf32.maps[b].values(), fp32.maps[b].values()) { maps = max(maps, Double(abs(x - y))) }
      for (x, y) in zip(tf32.hiddenState(b), fp32.hiddenState(b)) {
        hidden = max(hidden, Double(abs(x - y)))
        hiddenScale = max(hiddenScale, Double(abs(y)))
      }
      let (e, f) = (tf32.embedding(b), fp32.embedding(b))
      cosine = min(cosine, zip(e, f).reduce(0.0) { $0 + Double($1.0) * Double($1.1) })
    }
    print(
      "tf32 (emulated) vs fp32, MiniLM pair: maps max abs \(maps), last hidden max abs \(hidden) (largest |h| \(hiddenScale)), embedding cosine \(cosine)"
    )
    // TF32's tolerance (not fp32's 1e-5 / 1e-4), about 4× the error measured here (maps 1.2e-3,
    // hidden states 1.4e-3 of a largest |h| of 4.7, cosine 0.9999998): maps within 5e-3, hidden
    // states within 5e-3 of the largest |h|, embeddings at cosine ≥ 0.99999.
    #expect(maps <= 5e-3)
    #expect(hidden <= 5e-3 * max(1, hiddenScale))
    #expect(cosine >= 0.99999)
    // And it is not fp32: TF32 moves the maps by more than fp32 rounding does.
    #expect(maps > 1e-6)
  }

  @Test("where TF32 cannot run it is a clear error, never a silent fp32 run")
  func refused() async throws {
    let model = try await ModelCache.shared.model(Fixtures.model("tiny-bert"))
    let cpu = #expect(throws: BertScopeError.self) { _ = try Encoder(model: model, backend: .cpu, precision: .tf32) }
    #expect("\(cpu.map { "\($0)" } ?? "")".contains("--backend opencl"), "\(String(describing: cpu))")
    let info = try OpenCLDevices.all()[OpenCLTest.deviceIndex]
    if OpenCLKernelConfig.Vendor(info.vendor + " " + info.platformName) != .nvidia {
      let error = #expect(throws: BertScopeError.self) {
        _ = try OpenCLBackend(device: OpenCLTest.deviceIndex, precision: .tf32)
      }
      guard case .backendUnavailable(let message)? = error else {
        Issue.record("expected backendUnavailable, got \(String(describing: error))")
        return
      }
      #expect(message.contains("--precision tf32") && message.contains(info.name), "\(message)")
    }
  }

  /// The first NVIDIA GPU OpenCL lists, if any.
  static let nvidia: Int? = (try? OpenCLDevices.all())?.first {
    $0.type == .gpu && OpenCLKernelConfig.Vendor($0.vendor + " " + $0.platformName) == .nvidia
  }?.index

  @Test(
    "on an NVIDIA GPU: the PTX builds, passes the backend's own check, and matches the reference",
    .enabled(
      if: nvidia != nil,
      "no NVIDIA GPU: the inline PTX is only built there (scripts/gpu-check checks it through the CLI)"))
  func nvidiaPTX() throws {
    let backend = try OpenCLBackend(device: try #require(Self.nvidia), precision: .tf32)
    #expect(backend.name.contains("tf32"))
    try Self.checkTF32Linear(
      backend, shapes: Self.shapes + [(512, 384, 1536), (512, 1536, 384)], seed: 32, label: "tf32 (PTX)")
  }
}
