import Foundation
import Testing

@testable import BertScope

/// Every op on random inputs of awkward sizes against a Double reference, for both kernel
/// variants (the GPU ones run on PoCL too, slowly but correctly).
@Suite("OpenCL ops", .enabled(if: OpenCLTest.available, OpenCLTest.skipReason))
struct OpenCLOpTests {
  typealias Variant = OpenCLKernelConfig.Variant

  /// (rows, k, n): rows 1, 7, 131; k odd; n below, between and above multiples of 16.
  static let gemmShapes: [(Int, Int, Int)] = [(1, 1, 1), (7, 33, 17), (131, 65, 40), (13, 384, 100), (6, 16, 32)]

  @Test("linear matches the reference for every epilogue and activation", arguments: Variant.allCases)
  func linear(variant: Variant) throws {
    let backend = try OpenCLTest.backend(variant)
    try checkLinear(backend, seed: 1)
  }

  @Test(
    "the CPU GEMM is right for other tile sizes",
    arguments: [(1, 8), (6, 16), (8, 16), (5, 8)])
  func gemmTiles(mr: Int, nr: Int) throws {
    let backend = try OpenCLTest.backend(.cpu) {
      $0.gemmMR = mr
      $0.gemmNR = nr
      $0.gemmLocal = 1
    }
    try checkLinear(backend, seed: UInt64(10 * mr + nr))
  }

  private func checkLinear(_ backend: OpenCLBackend, seed: UInt64) throws {
    try BertScopeTests.checkLinear(backend, shapes: Self.gemmShapes, seed: seed, label: "\(backend.config.variant)")
  }

  @Test("linear adds the residual in place (out aliases residual)", arguments: Variant.allCases)
  func linearInPlace(variant: Variant) throws {
    try checkLinearInPlace(try OpenCLTest.backend(variant), seed: 7, label: "\(variant)")
  }

  @Test("the GELU epilogues stay within 5e-7 of the exact functions over [-8, 8]", arguments: Variant.allCases)
  func geluAccuracy(variant: Variant) throws {
    try checkActivationAccuracy(try OpenCLTest.backend(variant), label: "\(variant)")
  }

  /// (lengths, heads, head dim): a batch mixing 1, 5, 64, 130 at head dims 8/32/64; one 512.
  static let attentionCases: [([Int], Int, Int)] = [
    ([1, 5, 64, 130], 3, 8), ([1, 5, 64, 130], 2, 32), ([5, 1, 130, 64], 2, 64), ([512], 1, 64), ([3, 2], 2, 12),
    ([7], 1, 5),
  ]

  /// Also `attention` (probabilities and P·V; one kernel on CPU devices) on the same inputs.
  @Test(
    "attention probabilities match the reference, with uniform and zero heads; so do fused attention's, and its P·V",
    arguments: Variant.allCases)
  func attentionProbs(variant: Variant) throws {
    let backend = try OpenCLTest.backend(variant)
    var rng = SplitMix64(seed: 3)
    for (lengths, heads, d) in Self.attentionCases {
      let batch = OpenCLTest.batch(lengths: lengths, heads: heads, rng: &rng)
      let qkv = rng.floats(batch.tokenCount * 3 * heads * d, in: -2...2)
      let scale = 1 / Float(d).squareRoot()
      let layout = try backend.makeLayout(batch)
      let dqkv = try backend.makeBuffer(qkv)
      let allModes: [[HeadMode]] = [
        [], [HeadMode](repeating: .normal, count: heads),
        (0..<heads).map { [HeadMode.uniform, .zero, .normal][$0 % 3] },
      ]
      for modes in allModes {
        let probs = try backend.makeBuffer(count: batch.probCount)
        try backend.attentionProbs(
          probs: probs, qkv: dqkv, layout: layout, batch: batch, heads: heads, headDim: d, scale: scale, modes: modes)
        let expected = Reference.attentionProbs(
          qkv: qkv, batch: batch, heads: heads, headDim: d, scale: Double(scale), modes: modes)
        let what = "\(variant) lengths \(lengths) heads \(heads) d \(d) modes \(modes.map(\.rawValue))"
        expectMatches(try backend.read(probs, range: 0..<batch.probCount), expected, rtol: 0, atol: 1e-5, "probs \(what)")

        let fusedProbs = try backend.makeBuffer(count: batch.probCount)
        let context = try backend.makeBuffer(count: batch.tokenCount * heads * d)
        try backend.attention(
          probs: fusedProbs, context: context, qkv: dqkv, layout: layout, batch: batch, heads: heads, headDim: d,
          scale: scale, modes: modes)
        let got = try backend.read(fusedProbs, range: 0..<batch.probCount)
        expectMatches(got, expected, rtol: 0, atol: 1e-5, "fused probs \(what)")
        // P·V of the probabilities the kernel wrote, so that only the product is judged here.
        expectMatches(
          try backend.read(context, range: 0..<context.count),
          Reference.attentionContext(probs: got, qkv: qkv, batch: batch, heads: heads, headDim: d),
          atol: 1e-5 * Double(batch.maxLength), "fused context \(what)")
      }
    }
  }

  @Test("attention context P·V matches the reference", arguments: Variant.allCases)
  func attentionContext(variant: Variant) throws {
    let backend = try OpenCLTest.backend(variant)
    var rng = SplitMix64(seed: 4)
    for (lengths, heads, d) in Self.attentionCases {
      let batch = OpenCLTest.batch(lengths: lengths, heads: heads, rng: &rng)
      let qkv = rng.floats(batch.tokenCount * 3 * heads * d)
      let probs = rng.floats(batch.probCount, in: 0...1)
      let context = try backend.makeBuffer(count: batch.tokenCount * heads * d)
      try backend.attentionContext(
        context: context, probs: try backend.makeBuffer(probs), qkv: try backend.makeBuffer(qkv),
        layout: try backend.makeLayout(batch), batch: batch, heads: heads, headDim: d)
      let expected = Reference.attentionContext(probs: probs, qkv: qkv, batch: batch, heads: heads, headDim: d)
      expectMatches(
        try backend.read(context, range: 0..<context.count), expected, atol: 1e-5 * Double(batch.maxLength),
        "\(variant) context lengths \(lengths) heads \(heads) d \(d)")
    }
  }

  @Test("layer norm matches the reference, also in place", arguments: Variant.allCases)
  func layerNorm(variant: Variant) throws {
    let backend = try OpenCLTest.backend(variant)
    var rng = SplitMix64(seed: 5)
    for (rows, cols) in [(1, 1), (7, 5), (131, 384), (3, 385), (2, 768)] {
      let x = rng.floats(rows * cols, in: -3...5), gamma = rng.floats(cols), beta = rng.floats(cols)
      let expected = Reference.layerNorm(
        x.map(Double.init), rows: rows, cols: cols, gamma: gamma, beta: beta, eps: 1e-12)
      let dx = try backend.makeBuffer(x), dg = try backend.makeBuffer(gamma), dbeta = try backend.makeBuffer(beta)
      let out = try backend.makeBuffer(count: rows * cols)
      try backend.layerNorm(out: out, input: dx, rows: rows, cols: cols, gamma: dg, beta: dbeta, eps: 1e-12)
      expectMatches(
        try backend.read(out, range: 0..<(rows * cols)), expected, "\(variant) layerNorm [\(rows), \(cols)]")
      try backend.layerNorm(out: dx, input: dx, rows: rows, cols: cols, gamma: dg, beta: dbeta, eps: 1e-12)
      expectMatches(try backend.read(dx, range: 0..<(rows * cols)), expected, "\(variant) in-place layerNorm")
    }
  }

  @Test("embeddings gather, add and normalise", arguments: Variant.allCases)
  func embed(variant: Variant) throws {
    let backend = try OpenCLTest.backend(variant)
    var rng = SplitMix64(seed: 6)
    for hidden in [5, 37, 384] {
      let (vocab, maxPositions, types) = (50, 140, 2)
      let batch = OpenCLTest.batch(lengths: [1, 5, 64, 130], heads: 1, vocab: vocab, types: types, rng: &rng)
      let word = rng.floats(vocab * hidden), position = rng.floats(maxPositions * hidden)
      let type = rng.floats(types * hidden), gamma = rng.floats(hidden), beta = rng.floats(hidden)
      let out = try backend.makeBuffer(count: batch.tokenCount * hidden)
      try backend.embed(
        out: out, layout: try backend.makeLayout(batch), batch: batch, word: try backend.makeBuffer(word),
        position: try backend.makeBuffer(position), type: try backend.makeBuffer(type),
        gamma: try backend.makeBuffer(gamma), beta: try backend.makeBuffer(beta), hidden: hidden, eps: 1e-12)
      var sums = [Double](repeating: 0, count: batch.tokenCount * hidden)
      for t in 0..<batch.tokenCount {
        for c in 0..<hidden {
          sums[t * hidden + c] =
            Double(word[Int(batch.ids[t]) * hidden + c]) + Double(position[Int(batch.positions[t]) * hidden + c])
            + Double(type[Int(batch.segments[t]) * hidden + c])
        }
      }
      let expected = Reference.layerNorm(
        sums, rows: batch.tokenCount, cols: hidden, gamma: gamma, beta: beta, eps: 1e-12)
      expectMatches(try backend.read(out, range: 0..<out.count), expected, "\(variant) embed hidden \(hidden)")
    }
  }

  @Test("one backend used from several threads at once gives each caller its own result")
  func concurrentUse() async throws {
    let backend = try OpenCLTest.backend(.cpu)
    let (rows, k, n) = (33, 48, 40)
    var rng = SplitMix64(seed: 11)
    let w = rng.floats(n * k), bias = rng.floats(n)
    let matrix = try backend.makeMatrix(w, rows: n, cols: k)
    let db = try backend.makeBuffer(bias)
    let inputs = (0..<8).map { _ in rng.floats(rows * k) }
    let results = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
      for (i, x) in inputs.enumerated() {
        group.addTask {
          let out = try backend.makeBuffer(count: rows * n)
          for _ in 0..<5 {
            try backend.linear(
              out: out, input: try backend.makeBuffer(x), rows: rows, weight: matrix, bias: db, epilogue: .bias,
              activation: .gelu)
          }
          return (i, try backend.read(out, range: 0..<(rows * n)))
        }
      }
      var all: [Int: [Float]] = [:]
      for try await (i, r) in group { all[i] = r }
      return all
    }
    for (i, x) in inputs.enumerated() {
      let expected = Reference.linear(x, rows: rows, w, n: n, k: k, bias: bias, code: 1, act: .gelu, residual: [])
      expectMatches(results[i] ?? [], expected, "caller \(i)")
    }
  }

  @Test("read returns exactly the ranges asked for")
  func readRanges() throws {
    let backend = try OpenCLTest.backend(.cpu)
    let values = (0..<100).map(Float.init)
    let buffer = try backend.makeBuffer(values)
    let parts = try backend.read(buffer, ranges: [3..<7, 0..<0, 95..<100, 0..<1])
    #expect(parts == [[3, 4, 5, 6], [], [95, 96, 97, 98, 99], [0]])
    #expect(throws: BertScopeError.self) { try backend.read(buffer, range: 90..<101) }
  }

  @Test("shapes that do not fit are invalid input, not a device fault")
  func badShapes() throws {
    let backend = try OpenCLTest.backend(.cpu)
    let small = try backend.makeBuffer(count: 10)
    let matrix = try backend.makeMatrix([Float](repeating: 1, count: 12), rows: 3, cols: 4)
    #expect(throws: BertScopeError.self) {
      try backend.linear(
        out: small, input: small, rows: 5, weight: matrix, bias: small, epilogue: .bias, activation: .gelu)
    }
    #expect(throws: BertScopeError.self) { try backend.makeMatrix([1, 2, 3], rows: 2, cols: 2) }
    var rng = SplitMix64(seed: 9)
    let batch = OpenCLTest.batch(lengths: [4], heads: 2, vocab: 1000, rng: &rng)
    let word = try backend.makeBuffer(count: 10 * 4)
    #expect(throws: BertScopeError.self) {
      try backend.embed(
        out: small, layout: try backend.makeLayout(batch), batch: batch, word: word, position: word, type: word,
        gamma: small, beta: small, hidden: 4, eps: 1e-12)
    }
  }

  @Test("an empty batch and zero rows enqueue nothing")
  func emptyWork() throws {
    let backend = try OpenCLTest.backend(.cpu)
    let batch = PackedBatch([], heads: 2)
    let buffer = try backend.makeBuffer(count: 0)
    try backend.attentionProbs(
      probs: buffer, qkv: buffer, layout: try backend.makeLayout(batch), batch: batch, heads: 2, headDim: 8,
      scale: 1, modes: [])
    try backend.layerNorm(
      out: buffer, input: buffer, rows: 0, cols: 4, gamma: try backend.makeBuffer(count: 4),
      beta: try backend.makeBuffer(count: 4), eps: 1e-5)
    #expect(try backend.read(buffer, range: 0..<0) == [])
  }
}
