import Foundation
import Testing

@testable import BertScope
@testable import BertScopeAnalysis

/// Map statistics computed by the backend next to the maps (what corpus runs use) equal the
/// ones computed on the host from the pulled-back maps, on every backend and kernel variant.
@Suite("Attention features on the device")
struct AttentionFeaturesTests {
  static let texts: [(String, String?)] = [
    ("Hello, world.", nil), ("Is this a pair?", "Yes, it is."), ("a", nil),
    ("A longer sentence, with commas; and a colon: then more words.", nil),
    ("Short.", "A much longer second sentence, which has punctuation and words!"),
  ]

  /// Host features from pulled maps, and the encodings' kinds.
  static func reference(_ model: BertModel) throws -> (encodings: [Encoding], kinds: [[Int32]], features: [Float]) {
    let encodings = try texts.map { try model.tokenizer.encode($0.0, pair: $0.1) }
    let contexts = try encodings.map { try MapContext($0, tokenizer: model.tokenizer) }
    let output = try Encoder(model: model).encode(encodings, options: EncodeOptions(maps: .all))
    let block = try FeatureBlock.compute(
      output, contexts: contexts, layers: model.config.numLayers, heads: model.config.numHeads)
    return (encodings, contexts.map(\.kindCodes), block.values)
  }

  @Test("CPU backend: features next to the maps equal features of the pulled maps")
  func cpu() async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let (encodings, kinds, expected) = try Self.reference(model)
    let out = try Encoder(model: model).encode(encodings, options: EncodeOptions(featureKinds: kinds))
    #expect(out.maps.isEmpty)
    #expect(out.features.count == encodings.count * 2 * 4 * AttentionFeatures.count)
    expectClose(out.features, expected, atol: 1e-6, rtol: 1e-6, "CPU features")
    let blocks = try FeatureBlock.compute(encodings, encoder: try Encoder(model: model))
    expectClose(blocks.flatMap(\.values), expected, atol: 1e-6, rtol: 1e-6, "FeatureBlock.compute")
  }

  @Test(
    "OpenCL backend, both kernel variants: same features as the host",
    .enabled(if: OpenCLTest.available, OpenCLTest.skipReason), arguments: OpenCLKernelConfig.Variant.allCases)
  func openCL(variant: OpenCLKernelConfig.Variant) async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let (encodings, kinds, expected) = try Self.reference(model)
    let forward = try Forward(backend: try OpenCLTest.backend(variant), weights: model.weights)
    let out = try forward.run(encodings, options: EncodeOptions(featureKinds: kinds))
    expectClose(out.features, expected, atol: 2e-5, rtol: 1e-5, "OpenCL \(variant) features")
  }

  @Test("feature kinds are validated")
  func validation() async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let e = try model.tokenizer.encode("hello world")
    let encoder = try Encoder(model: model)
    #expect(throws: BertScopeError.self) { try encoder.encode([e], options: EncodeOptions(featureKinds: [[0, 1]])) }
    #expect(throws: BertScopeError.self) {
      try encoder.encode([e], options: EncodeOptions(featureKinds: [Array(repeating: 7, count: e.count)]))
    }
  }
}
