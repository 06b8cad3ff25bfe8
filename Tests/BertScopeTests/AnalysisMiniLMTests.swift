import BertScopeAnalysis
import Foundation
import Testing

@testable import BertScope

/// The analyses on the real default model and real sentences (release builds only).
@Suite(
  "Analysis: all-MiniLM-L6-v2 on WordNet sentences",
  .enabled(if: Fixtures.hasMiniLM, "the default model is not installed (scripts/setup installs it)"),
  .enabled(if: AnalysisTestConfig.optimized, "runs the real model: release builds only (scripts/test)"))
struct AnalysisMiniLMTests {
  static func sentences(_ count: Int) throws -> [String] {
    let url = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
      "samples/wordnet-sentences.txt")
    return Array(try String(contentsOf: url, encoding: .utf8).split(separator: "\n").prefix(count).map(String.init))
  }

  @Test("compare(model, model) is 1 for all 72 heads")
  func selfComparison() async throws {
    let model = try await ModelCache.shared.model(try #require(Fixtures.miniLM))
    let a = try Encoder(model: model, backend: .cpu)
    let b = try Encoder(model: model, backend: .cpu)
    let encodings = try Self.sentences(24).map { try model.tokenizer.encode($0) }
    var comparison = MapComparison(layers: 6, heads: 12)
    for start in stride(from: 0, to: encodings.count, by: 8) {
      let part = Array(encodings[start..<(start + 8)])
      try comparison.add(
        try a.encode(part, options: EncodeOptions(maps: .all)), try b.encode(part, options: EncodeOptions(maps: .all)))
    }
    #expect(comparison.examples == 24)
    for l in 0..<6 { for h in 0..<12 { #expect(abs(comparison.cosine(layer: l, head: h) - 1) < 1e-6) } }
  }

  @Test("special and pattern statistics of two halves of 64 sentences merge into those of the whole")
  func mergeHalves() async throws {
    let model = try await ModelCache.shared.model(try #require(Fixtures.miniLM))
    let encoder = try Encoder(model: model, backend: .cpu)
    let encodings = try Self.sentences(64).map { try model.tokenizer.encode($0) }
    let blocks = try AnalysisCorpus.blocks(encoder, model, encodings, batch: 16)
    func statistics(_ blocks: ArraySlice<FeatureBlock>) -> (HeadAccumulator, PatternCounts) {
      var f = HeadAccumulator(layers: 6, heads: 12, width: MapFeatures.count)
      var p = PatternCounts(layers: 6, heads: 12)
      for b in blocks {
        f.add(b)
        p.add(b, classifier: PatternClassifier())
      }
      return (f, p)
    }
    let (wholeF, wholeP) = statistics(blocks[...])
    let (f1, p1) = statistics(blocks[0..<2])
    let (f2, p2) = statistics(blocks[2...])
    let mergedF = try f1.merged(with: f2)
    #expect(mergedF.counts == wholeF.counts)
    #expect(zip(mergedF.sums, wholeF.sums).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, abs($1)) })
    #expect(try p1.merged(with: p2) == wholeP)
    let special = SpecialResult(features: mergedF, info: .unknown(layers: 6, heads: 12))
    // Every head attends somewhere: the [CLS] row and the per-head means are proper distributions.
    for l in 0..<6 {
      for h in 0..<12 {
        let row = try #require(special.perHead[l][h].clsRow).reduce(0, +)
        #expect(abs(row - 1) < 1e-5)
      }
    }
  }
}
