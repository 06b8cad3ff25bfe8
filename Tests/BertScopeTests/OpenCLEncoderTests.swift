import Foundation
import Testing

@testable import BertScope

/// The whole encoder on the OpenCL backend against Hugging Face's goldens (same tolerances as
/// `EncoderGoldenTests`: attention 1e-5 max abs, last hidden state 1e-4, pooled cosine ≥ 0.99999),
/// and every op against the CPU backend.
@Suite("OpenCL encoder", .enabled(if: OpenCLTest.available, OpenCLTest.skipReason))
struct OpenCLEncoderTests {
  typealias Variant = OpenCLKernelConfig.Variant

  static func check(model: BertModel, golden: GoldenCase, variant: Variant) throws {
    let forward = try Forward(backend: try OpenCLTest.backend(variant), weights: model.weights)
    try EncoderGoldenTests.check(model: model, golden: golden, on: "OpenCL \(variant) kernels") {
      try forward.run(golden.encodings, options: $0)
    }
  }

  static let tinyCases: [(model: String, folder: String, caseName: String)] = [
    ("tiny", "tiny-bert", "single"), ("tiny", "tiny-bert", "pair"), ("tiny", "tiny-bert", "max64"),
    ("tiny", "tiny-bert", "batch"), ("tiny-f16", "tiny-bert-f16", "pair"), ("tiny-bf16", "tiny-bert-bf16", "pair"),
  ]

  @Test("tiny random BERT matches Hugging Face", arguments: tinyCases, Variant.allCases)
  func tiny(_ item: (model: String, folder: String, caseName: String), variant: Variant) async throws {
    let model = try await ModelCache.shared.model(Fixtures.model(item.folder))
    try Self.check(model: model, golden: try GoldenCase(Fixtures.golden(item.model, item.caseName)), variant: variant)
  }

  @Test(
    "all-MiniLM-L6-v2 matches Hugging Face: single, pair, mixed batch, 512 tokens",
    .enabled(if: Fixtures.hasMiniLM, "the default model is not installed (scripts/setup installs it)"),
    arguments: ["single", "pair", "batch", "long512"])
  func miniLM(_ caseName: String) async throws {
    let model = try await ModelCache.shared.model(try #require(Fixtures.miniLM))
    let golden = try GoldenCase(Fixtures.golden("minilm", caseName))
    try Self.check(model: model, golden: golden, variant: .cpu)
    if caseName == "pair" { try Self.check(model: model, golden: golden, variant: .gpu) }
  }

  @Test("head modes and selected maps agree with the CPU backend")
  func headModesAndSelection() async throws {
    let model = try await ModelCache.shared.model(Fixtures.model("tiny-bert"))
    let golden = try GoldenCase(Fixtures.golden("tiny", "batch"))
    let c = model.config
    var modes = [[HeadMode]](repeating: Array(repeating: .normal, count: c.numHeads), count: c.numLayers)
    modes[0][0] = .uniform
    modes[c.numLayers - 1][c.numHeads - 1] = .zero
    let options = EncodeOptions(maps: .select(layers: [c.numLayers - 1], heads: [0, c.numHeads - 1]), headModes: modes)
    let cpu = try Forward(backend: try CPUBackend(), weights: model.weights).run(golden.encodings, options: options)
    for variant in Variant.allCases {
      let cl = try Forward(backend: try OpenCLTest.backend(variant), weights: model.weights)
        .run(golden.encodings, options: options)
      for b in 0..<golden.lengths.count {
        expectClose(cl.hiddenState(b), cpu.hiddenState(b), atol: 1e-4, "hidden #\(b) \(variant)")
        expectClose(cl.maps[b].values(), cpu.maps[b].values(), atol: 1e-5, "selected maps #\(b) \(variant)")
      }
    }
  }

  @Test("every op agrees with the CPU backend", arguments: Variant.allCases)
  func opsAgainstCPU(variant: Variant) throws {
    let expected = try SelfTest.runEveryOp(try CPUBackend())
    let actual = try SelfTest.runEveryOp(try OpenCLTest.backend(variant))
    for ((op, mine, tol), (_, reference, _)) in zip(actual, expected) {
      expectClose(mine, reference, atol: Float(tol), rtol: 1e-4, "\(op) on OpenCL \(variant) kernels vs CPU")
    }
  }
}
