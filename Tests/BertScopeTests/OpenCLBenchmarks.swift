import COpenBLAS
import Foundation
import Testing

@testable import BertScope

/// Throughput of the OpenCL kernels next to OpenBLAS, printed, never asserted (shared, noisy
/// machines). Run in an optimised build:
///
///     BERTSCOPE_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter OpenCLBenchmarks
///
/// OpenCL and OpenBLAS samples alternate, so that load from other processes hits both alike.
@Suite(
  "OpenCL benchmarks", .serialized,
  .enabled(
    if: OpenCLTest.available && ProcessInfo.processInfo.environment["BERTSCOPE_BENCH"] == "1",
    "benchmarks run only with BERTSCOPE_BENCH=1 (use a release build)"))
struct OpenCLBenchmarks {
  static let samples = Int(ProcessInfo.processInfo.environment["BERTSCOPE_BENCH_SAMPLES"] ?? "") ?? 9
  /// Calls queued back to back per sample, as in a forward pass.
  static let callsPerSample = 8

  static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

  static func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
  }

  @Test("GEMM GFLOPS against the CPU backend's packed GEMM and OpenBLAS sgemm on the encoder's shapes")
  func gemm() throws {
    // BERTSCOPE_BENCH_GEMM_TILE=MRxNR (e.g. 6x32) tries other OpenCL tiles.
    let tile = (ProcessInfo.processInfo.environment["BERTSCOPE_BENCH_GEMM_TILE"] ?? "").split(separator: "x")
      .compactMap { Int($0) }
    let backend = try OpenCLTest.backend(.cpu) {
      if tile.count == 2 { ($0.gemmMR, $0.gemmNR) = (tile[0], tile[1]) }
    }
    let host = HostGemmTest.packedAvailable ? try CPUBackend(gemm: .packed) : nil
    // For a one-core comparison: BERTSCOPE_BENCH_THREADS=1 POCL_CPU_MAX_CU_COUNT=1 (the packed
    // GEMM always uses every core).
    let threads = Int(ProcessInfo.processInfo.environment["BERTSCOPE_BENCH_THREADS"] ?? "")
    openblas_set_num_threads(Int32(threads ?? ProcessInfo.processInfo.activeProcessorCount))
    var rng = SplitMix64(seed: 42)
    var lines = [
      "GEMM on \(backend.device.name) (tile \(backend.config.gemmMR)×\(backend.config.gemmNR)), packed host GEMM "
        + (host == nil ? "n/a" : "\(hostThreads) threads") + ", OpenBLAS \(String(cString: openblas_get_corename())) "
        + "\(openblas_get_num_threads()) threads (no epilogue); medians of \(Self.samples) samples × \(Self.callsPerSample) calls",
      "    M      K      N   epilogue   OpenCL GFLOPS  packed GFLOPS  OpenBLAS GFLOPS  OpenCL/packed  OpenCL/OpenBLAS",
    ]
    for (m, k, n) in [
      (4096, 384, 1152), (4096, 384, 384), (4096, 384, 1536), (4096, 1536, 384), (128, 384, 1152), (128, 384, 384),
      (128, 384, 1536), (128, 1536, 384),
    ] {
      let x = rng.floats(m * k), w = rng.floats(n * k), bias = rng.floats(n)
      let dx = try backend.makeBuffer(x), db = try backend.makeBuffer(bias), out = try backend.makeBuffer(count: m * n)
      let matrix = try backend.makeMatrix(w, rows: n, cols: k)
      let hx = try host?.makeBuffer(x), hb = try host?.makeBuffer(bias), hout = try host?.makeBuffer(count: m * n)
      let hmatrix = try host?.makeMatrix(w, rows: n, cols: k)
      var c = [Float](repeating: 0, count: m * n)
      let gelu = n == 1536
      let epilogue: Epilogue<OpenCLBuffer> = gelu ? .biasActivation : .bias
      try backend.linear(out: out, input: dx, rows: m, weight: matrix, bias: db, epilogue: epilogue, activation: .gelu)
      try backend.finish()
      var cl: [Double] = [], packed: [Double] = [], blas: [Double] = []
      for _ in 0..<Self.samples {
        cl.append(
          try Self.seconds {
            for _ in 0..<Self.callsPerSample {
              try backend.linear(
                out: out, input: dx, rows: m, weight: matrix, bias: db, epilogue: epilogue, activation: .gelu)
            }
            try backend.finish()
          })
        if let host, let hx, let hb, let hout, let hmatrix {
          packed.append(
            try Self.seconds {
              for _ in 0..<Self.callsPerSample {
                try host.linear(
                  out: hout, input: hx, rows: m, weight: hmatrix, bias: hb, epilogue: gelu ? .biasActivation : .bias,
                  activation: .gelu)
              }
            })
        }
        blas.append(
          Self.seconds {
            for _ in 0..<Self.callsPerSample {
              cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, x, Int32(k), w,
                Int32(k), 0, &c, Int32(n))
            }
          })
      }
      let flops = 2.0 * Double(m * n * k) * Double(Self.callsPerSample)
      let gcl = flops / Self.median(cl) / 1e9, gblas = flops / Self.median(blas) / 1e9
      let gpacked = packed.isEmpty ? Double.nan : flops / Self.median(packed) / 1e9
      lines.append(
        String(
          format: "%5d  %5d  %5d   %@  %13.1f  %13.1f  %15.1f  %13.2f  %15.2f", m, k, n,
          (gelu ? "bias+gelu" : "bias").padding(toLength: 9, withPad: " ", startingAt: 0), gcl, gpacked, gblas,
          gcl / gpacked, gcl / gblas))
    }
    print(lines.joined(separator: "\n"))
  }

  @Test("time per op at MiniLM shapes (batch 32 × 128 tokens), OpenCL and the CPU backend")
  func ops() throws {
    let opencl = try OpenCLTest.backend(.cpu)
    try Self.timeOps(opencl) { try opencl.finish() }
    try Self.timeOps(try CPUBackend()) {}
  }

  /// One encoder layer's ops on random data, each timed alone (4 calls per sample).
  static func timeOps<B: ComputeBackend>(_ backend: B, finish: () throws -> Void) throws {
    do {
      var rng = SplitMix64(seed: 43)
      let (hidden, heads, d, ffn) = (384, 12, 32, 1536)
      // BERTSCOPE_BENCH_SHAPE=BxL (e.g. 8x512) times another batch shape (default 32x128).
      let shape = (ProcessInfo.processInfo.environment["BERTSCOPE_BENCH_SHAPE"] ?? "").split(separator: "x")
        .compactMap { Int($0) }
      let (count, length) = shape.count == 2 && shape.allSatisfy({ $0 > 0 }) ? (shape[0], shape[1]) : (32, 128)
      print("ops at \(count) × \(length) tokens on \(backend.name)")
      let batch = TestInputs.batch(
        lengths: Array(repeating: length, count: count), heads: heads, vocab: 1000, rng: &rng)
      let t = batch.tokenCount
      let layout = try backend.makeLayout(batch)
      let x = try backend.makeBuffer(rng.floats(t * hidden))
      let qkv = try backend.makeBuffer(rng.floats(t * 3 * hidden))
      let probs = try backend.makeBuffer(count: batch.probCount)
      let context = try backend.makeBuffer(count: t * hidden)
      let inter = try backend.makeBuffer(count: t * ffn)
      let out = try backend.makeBuffer(count: t * hidden)
      let g = try backend.makeBuffer(rng.floats(hidden)), b = try backend.makeBuffer(rng.floats(ffn))
      let wqkv = try backend.makeMatrix(rng.floats(3 * hidden * hidden), rows: 3 * hidden, cols: hidden)
      let wo = try backend.makeMatrix(rng.floats(hidden * hidden), rows: hidden, cols: hidden)
      let w1 = try backend.makeMatrix(rng.floats(ffn * hidden), rows: ffn, cols: hidden)
      let w2 = try backend.makeMatrix(rng.floats(ffn * hidden), rows: hidden, cols: ffn)
      let word = try backend.makeBuffer(rng.floats(1000 * hidden)),
        pos = try backend.makeBuffer(rng.floats(512 * hidden))
      let steps: [(String, () throws -> Void)] = [
        (
          "embed",
          {
            try backend.embed(
              out: x, layout: layout, batch: batch, word: word, position: pos, type: pos, gamma: g, beta: g,
              hidden: hidden, eps: 1e-12)
          }
        ),
        (
          "qkv gemm",
          { try backend.linear(out: qkv, input: x, rows: t, weight: wqkv, bias: b, epilogue: .bias, activation: .gelu) }
        ),
        (
          "attention",
          {
            try backend.attention(
              probs: probs, context: context, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d,
              scale: 0.17, modes: [])
          }
        ),
        (
          "attention, no maps",
          {
            try backend.attentionContextOnly(
              context: context, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d, scale: 0.17,
              modes: [])
          }
        ),
        (
          "(probabilities alone)",
          {
            try backend.attentionProbs(
              probs: probs, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d, scale: 0.17, modes: [])
          }
        ),
        (
          "(P·V alone)",
          {
            try backend.attentionContext(
              context: context, probs: probs, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d)
          }
        ),
        (
          "out gemm + residual",
          {
            try backend.linear(
              out: out, input: context, rows: t, weight: wo, bias: b, epilogue: .biasResidual(x), activation: .gelu)
          }
        ),
        (
          "layer norm",
          { try backend.layerNorm(out: out, input: out, rows: t, cols: hidden, gamma: g, beta: g, eps: 1e-12) }
        ),
        (
          "ffn1 gemm + gelu",
          {
            try backend.linear(
              out: inter, input: out, rows: t, weight: w1, bias: b, epilogue: .biasActivation, activation: .gelu)
          }
        ),
        (
          "(ffn1 gemm, bias only)",
          {
            try backend.linear(out: inter, input: out, rows: t, weight: w1, bias: b, epilogue: .bias, activation: .gelu)
          }
        ),
        (
          "ffn2 gemm + residual",
          {
            try backend.linear(
              out: x, input: inter, rows: t, weight: w2, bias: b, epilogue: .biasResidual(out), activation: .gelu)
          }
        ),
      ]
      var lines = ["ops on \(backend.name), batch 32 × 128, medians of \(Self.samples) (ms):"]
      var total = 0.0
      for (label, step) in steps {
        try step()
        try finish()
        var times: [Double] = []
        for _ in 0..<Self.samples {
          times.append(
            try Self.seconds {
              for _ in 0..<4 { try step() }; try finish()
            } / 4)
        }
        let ms = Self.median(times) * 1000
        if label != "embed" && !label.hasPrefix("(") { total += ms }
        lines.append("  " + label.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: " %8.2f", ms))
      }
      lines.append(String(format: "  layer                  %8.2f (without the second layer norm)", total))
      print(lines.joined(separator: "\n"))
    }
  }
}
