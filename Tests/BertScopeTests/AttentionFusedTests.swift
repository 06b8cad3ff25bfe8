import Foundation
import Testing

@testable import BertScope

/// A pass that keeps no maps, map features or head distances runs `attentionContextOnly`, which
/// writes no L × L probabilities: on the CPU backend and OpenCL's CPU kernels the same
/// arithmetic with each block's rows in scratch (so the same result to the bit), on GPU kernels
/// the online-softmax kernel_attention_flash_gpu (within float rounding of the maps path).
@Suite("Attention without maps")
struct AttentionFusedTests {
  /// The golden batch with and without maps on one backend: the hidden states agree within
  /// `atol` (0: bit for bit).
  static func compareMapsAndNone<B: ComputeBackend>(_ backend: B, atol: Float, _ label: String) async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let golden = try GoldenCase(Fixtures.golden("tiny", "batch"))
    let forward = try Forward(backend: backend, weights: model.weights)
    let with = try forward.run(golden.encodings, options: EncodeOptions(maps: .all))
    let without = try forward.run(golden.encodings, options: EncodeOptions(maps: .none))
    #expect(without.maps.isEmpty, "\(label): no maps asked for, none returned")
    for b in golden.encodings.indices {
      let a = with.hiddenState(b), c = without.hiddenState(b)
      if atol == 0 {
        #expect(a == c, "\(label): hidden state #\(b) differs between maps all and none")
      } else {
        #expect(maxAbsDiff(a, c) <= atol, "\(label): hidden state #\(b): \(maxAbsDiff(a, c)) > \(atol)")
      }
    }
    // And against the golden file, so both paths are right, not merely equal.
    for b in golden.encodings.indices {
      expectClose(
        without.hiddenState(b), try golden.array("hidden_b\(b).npy").values, atol: 1e-4,
        "\(label): hidden state #\(b) without maps vs transformers")
    }
  }

  @Test("CPU backend: the same hidden states to the bit with maps all and none")
  func cpu() async throws {
    try await Self.compareMapsAndNone(try CPUBackend(gemm: .openBLAS), atol: 0, "cpu")
  }

  @Test(
    "OpenCL CPU kernels: kernel_attention_rows_cpu gives the fused kernel's hidden states to the bit",
    .enabled(if: OpenCLTest.available, OpenCLTest.skipReason))
  func openCLCPUKernels() async throws {
    try await Self.compareMapsAndNone(try OpenCLTest.backend(.cpu), atol: 0, "opencl cpu kernels")
  }

  @Test(
    "OpenCL GPU kernels: the flash kernel's hidden states within 1e-5 of the maps path",
    .enabled(if: OpenCLTest.available, OpenCLTest.skipReason))
  func openCLGPUKernels() async throws {
    try await Self.compareMapsAndNone(try OpenCLTest.backend(.gpu), atol: 1e-5, "opencl gpu kernels")
  }

  /// The op check of `BackendOpTests` (every attention case, three mode sets) with the flash
  /// kernel's tiles at the edges: one row per work-group, key tiles of 1 and of more keys than
  /// any sequence has, rows per group not a power of two.
  @Test(
    "flash kernel: every tile shape agrees with the reference",
    .enabled(if: OpenCLTest.available, OpenCLTest.skipReason),
    arguments: [(1, 1), (16, 8), (24, 16), (64, 32), (128, 64), (32, 256)])
  func flashTiles(rows: Int, keys: Int) throws {
    let backend = try OpenCLTest.backend(.gpu) {
      $0.flashRows = rows
      $0.flashKeys = keys
    }
    try checkAttention(backend, label: "flash BR \(rows) BC \(keys)")
  }

  /// kernel_attention_context_gpu's tiles at the edges (one row, one key per tile, rows per
  /// work-item not dividing a sequence, more keys per tile than any sequence has); contextRows
  /// 0 runs the per-element kernel_attention_context_rows_gpu.
  @Test(
    "tiled P·V on GPU kernels: every tile shape agrees with the reference",
    .enabled(if: OpenCLTest.available, OpenCLTest.skipReason),
    arguments: [(16, 4, 32), (1, 1, 1), (8, 8, 16), (12, 3, 8), (32, 4, 256), (0, 1, 32)])
  func contextTiles(rows: Int, perItem: Int, keys: Int) throws {
    let backend = try OpenCLTest.backend(.gpu) {
      $0.contextRows = rows
      $0.contextRowsPerItem = perItem
      $0.contextKeys = keys
    }
    try checkAttentionContext(backend, label: "P·V CR \(rows) CRI \(perItem) CK \(keys)")
    try checkAttention(backend, label: "attention with P·V CR \(rows) CRI \(perItem) CK \(keys)")
  }

  @Test(
    "CPU kernels: sequences too long for the private rows go to the flash kernel, still right",
    .enabled(if: OpenCLTest.available, OpenCLTest.skipReason))
  func cpuKernelsLongSequences() throws {
    // 64 private floats: sequences over 16 tokens (attentionRows 4) take the flash kernel.
    let backend = try OpenCLTest.backend(.cpu) { $0.privateRowsFloats = 64 }
    #expect(backend.config.privateRowsLimit == 16)
    try checkAttention(backend, label: "cpu kernels, flash for L > 16")
  }

  /// Which attention op each layer ran, and how many probability-sized buffers were made.
  final class SpyBackend: ComputeBackend, @unchecked Sendable {
    typealias Buffer = FloatStorage
    typealias Matrix = CPUBackend.Matrix
    typealias Layout = CPUBackend.Layout
    let base: CPUBackend
    let probCount: Int
    var fused = 0, contextOnly = 0, probBuffers = 0
    init(probCount: Int) throws {
      base = try CPUBackend(gemm: .openBLAS)
      self.probCount = probCount
    }
    var name: String { "spy" }
    var activationsInHostMemory: Bool { true }
    func makeBuffer(count: Int) throws -> FloatStorage {
      if count == probCount { probBuffers += 1 }
      return try base.makeBuffer(count: count)
    }
    func makeBuffer(_ values: [Float]) throws -> FloatStorage { try base.makeBuffer(values) }
    func makeMatrix(_ weight: [Float], rows: Int, cols: Int) throws -> Matrix {
      try base.makeMatrix(weight, rows: rows, cols: cols)
    }
    func makeLayout(_ batch: PackedBatch) throws -> Layout { try base.makeLayout(batch) }
    func embed(
      out: Buffer, layout: Layout, batch: PackedBatch, word: Buffer, position: Buffer, type: Buffer, gamma: Buffer,
      beta: Buffer, hidden: Int, eps: Float
    ) throws {
      try base.embed(
        out: out, layout: layout, batch: batch, word: word, position: position, type: type, gamma: gamma, beta: beta,
        hidden: hidden, eps: eps)
    }
    func linear(
      out: Buffer, input: Buffer, rows: Int, weight: Matrix, bias: Buffer, epilogue: Epilogue<Buffer>,
      activation: Activation
    ) throws {
      try base.linear(
        out: out, input: input, rows: rows, weight: weight, bias: bias, epilogue: epilogue, activation: activation)
    }
    func attentionProbs(
      probs: Buffer, qkv: Buffer, layout: Layout, batch: PackedBatch, heads: Int, headDim: Int, scale: Float,
      modes: [HeadMode]
    ) throws {
      try base.attentionProbs(
        probs: probs, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim, scale: scale,
        modes: modes)
    }
    func attentionContext(
      context: Buffer, probs: Buffer, qkv: Buffer, layout: Layout, batch: PackedBatch, heads: Int, headDim: Int
    ) throws {
      try base.attentionContext(
        context: context, probs: probs, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim)
    }
    func attention(
      probs: Buffer, context: Buffer, qkv: Buffer, layout: Layout, batch: PackedBatch, heads: Int, headDim: Int,
      scale: Float, modes: [HeadMode]
    ) throws {
      fused += 1
      try base.attention(
        probs: probs, context: context, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim,
        scale: scale, modes: modes)
    }
    func attentionContextOnly(
      context: Buffer, qkv: Buffer, layout: Layout, batch: PackedBatch, heads: Int, headDim: Int, scale: Float,
      modes: [HeadMode]
    ) throws {
      contextOnly += 1
      try base.attentionContextOnly(
        context: context, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim, scale: scale,
        modes: modes)
    }
    func attentionFeatures(
      out: Buffer, offset: Int, probs: Buffer, layout: Layout, batch: PackedBatch, heads: Int
    ) throws {
      try base.attentionFeatures(out: out, offset: offset, probs: probs, layout: layout, batch: batch, heads: heads)
    }
    func headDistances(
      out: Buffer, entropies: Buffer, probs: Buffer, layers: Int, layout: Layout, batch: PackedBatch, heads: Int
    ) throws {
      try base.headDistances(
        out: out, entropies: entropies, probs: probs, layers: layers, layout: layout, batch: batch, heads: heads)
    }
    func layerNorm(out: Buffer, input: Buffer, rows: Int, cols: Int, gamma: Buffer, beta: Buffer, eps: Float) throws {
      try base.layerNorm(out: out, input: input, rows: rows, cols: cols, gamma: gamma, beta: beta, eps: eps)
    }
    func copy(_ source: Buffer, count: Int, to destination: Buffer, at offset: Int) throws {
      try base.copy(source, count: count, to: destination, at: offset)
    }
    func read(_ buffer: Buffer, range: Range<Int>) throws -> [Float] { try base.read(buffer, range: range) }
  }

  @Test("the forward pass uses the fused op exactly where probabilities are needed, and allocates none otherwise")
  func opChoice() async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let golden = try GoldenCase(Fixtures.golden("tiny", "batch"))
    let c = model.weights.config
    let probCount = PackedBatch(golden.encodings, heads: c.numHeads).probCount
    let cases: [(String, EncodeOptions, fused: Int, probBuffers: Int)] = [
      ("maps none", EncodeOptions(maps: .none), 0, 0),
      ("maps all", EncodeOptions(maps: .all), c.numLayers, c.numLayers),
      ("last layer's maps", EncodeOptions(maps: .select(layers: [c.numLayers - 1], heads: nil)), 1, 1),
      ("hidden states only", EncodeOptions(maps: .none, hiddenStates: true), 0, 0),
      (
        "features", EncodeOptions(featureKinds: golden.encodings.map { Array(repeating: 0, count: $0.count) }),
        c.numLayers, 1
      ),
    ]
    for (label, options, fused, buffers) in cases {
      let spy = try SpyBackend(probCount: probCount)
      _ = try Forward(backend: spy, weights: model.weights).run(golden.encodings, options: options)
      #expect(spy.fused == fused, "\(label): \(spy.fused) fused attention calls, expected \(fused)")
      #expect(spy.contextOnly == c.numLayers - fused, "\(label): \(spy.contextOnly) context-only calls")
      #expect(spy.probBuffers == buffers, "\(label): \(spy.probBuffers) probability buffers, expected \(buffers)")
    }
  }
}
