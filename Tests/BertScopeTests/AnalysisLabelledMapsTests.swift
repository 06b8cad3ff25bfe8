import BertScopeAnalysis
import Foundation
import Testing

@testable import BertScope

/// One map of all-MiniLM-L6-v2 labelled by eye (`Tests/Fixtures/analysis/labelled`).
struct LabelledMap: Decodable {
  let image: String
  let text: String
  let pair: String?
  let layer: Int  // from 1
  let head: Int  // from 1
  let label: String
  let tokens: [String]
  let ids: [Int32]
  let segments: [Int32]

  static let folder = Fixtures.root.appendingPathComponent("analysis/labelled", isDirectory: true)

  static func load() throws -> [LabelledMap] {
    try JSONDecoder().decode([LabelledMap].self, from: Data(contentsOf: folder.appendingPathComponent("labels.json")))
  }

  /// The stored tokenization, so the maps do not depend on the tokenizer in use.
  var encoding: Encoding {
    Encoding(tokens: tokens, ids: ids, segments: segments, offsets: Array(repeating: nil, count: ids.count))
  }
}

/// Whether this test binary is an optimised build: tests that run the real model are
/// limited to those (numeric Swift is 10–100× slower in debug).
enum AnalysisTestConfig {
  #if DEBUG
    static let optimized = false
  #else
    static let optimized = true
  #endif
}

@Suite("Analysis: pattern classifier against maps labelled by eye")
struct AnalysisLabelledMapsTests {
  @Test("the labelled set is complete: ≥ 60 maps, every type named, every image present")
  func fixtureIsComplete() throws {
    let maps = try LabelledMap.load()
    #expect(maps.count >= 60)
    for m in maps {
      #expect(AttentionPattern(name: m.label) != nil, "\(m.image): unknown label \(m.label)")
      #expect(
        FileManager.default.fileExists(atPath: LabelledMap.folder.appendingPathComponent(m.image).path),
        "\(m.image) missing")
      #expect(m.tokens.count == m.ids.count && m.ids.count == m.segments.count)
    }
    #expect(maps.contains { $0.pair != nil }, "the set needs sentence pairs")
    let keys = Set(maps.map { "\($0.text)|\($0.pair ?? "")|\($0.layer)|\($0.head)" })
    #expect(keys.count == maps.count, "a map is labelled twice")
  }

  @Test(
    "the stored tokens are what the model's tokenizer gives",
    .enabled(if: Fixtures.hasMiniLM, "the default model is not installed (scripts/setup installs it)"))
  func tokenization() throws {
    let tokenizer = try BertTokenizer.load(from: try #require(Fixtures.miniLM))
    for m in try LabelledMap.load() {
      let e = try tokenizer.encode(m.text, pair: m.pair)
      #expect(e.ids == m.ids && e.segments == m.segments && e.tokens == m.tokens, "\(m.image)")
    }
  }

  @Test(
    "the classifier agrees with the labels on ≥ 83 % of the maps (recomputed with all-MiniLM-L6-v2)",
    .enabled(if: Fixtures.hasMiniLM, "the default model is not installed (scripts/setup installs it)"),
    .enabled(if: AnalysisTestConfig.optimized, "runs the real model: release builds only (scripts/test)"))
  func agreement() async throws {
    let model = try await ModelCache.shared.model(try #require(Fixtures.miniLM))
    let encoder = try Encoder(model: model, backend: .cpu)
    let maps = try LabelledMap.load()
    var byInput: [String: [LabelledMap]] = [:]
    var order: [String] = []
    for m in maps {
      let key = m.text + "\t" + (m.pair ?? "")
      if byInput[key] == nil { order.append(key) }
      byInput[key, default: []].append(m)
    }
    let classifier = PatternClassifier()
    let patterns = AttentionPattern.allCases
    var confusion = [[Int]](repeating: [Int](repeating: 0, count: patterns.count), count: patterns.count)
    var misses: [String] = []
    for key in order {
      let group = byInput[key]!
      let encoding = group[0].encoding
      let output = try encoder.encode([encoding], options: EncodeOptions(maps: .all))
      let context = try MapContext(encoding, tokenizer: model.tokenizer)
      for m in group {
        let map = try #require(output.maps[0].map(layer: m.layer - 1, head: m.head - 1))
        let features = MapFeatures.compute(map, context: context)
        let predicted = classifier.classify(features)
        let truth = try #require(AttentionPattern(name: m.label))
        confusion[truth.rawValue][predicted.rawValue] += 1
        if predicted != truth {
          let s = PatternScores(features)
          misses.append(
            String(
              format: "%@ label %@ → %@ (diagonal %.2f, columnMass %.2f, shared %.2f, concentration %.2f, block %.2f)",
              m.image, truth.name, predicted.name, s.diagonal, s.columnMass, s.sharedProfile, s.columnConcentration,
              s.blockExcess))
        }
      }
    }
    let agreed = patterns.indices.reduce(0) { $0 + confusion[$1][$1] }
    let agreement = Double(agreed) / Double(maps.count)
    var table = "labelled \\ predicted".padding(toLength: 22, withPad: " ", startingAt: 0)
    table += patterns.map { $0.name.padding(toLength: 18, withPad: " ", startingAt: 0) }.joined() + "\n"
    for t in patterns {
      table += t.name.padding(toLength: 22, withPad: " ", startingAt: 0)
      table += patterns.map {
        String(confusion[t.rawValue][$0.rawValue]).padding(toLength: 18, withPad: " ", startingAt: 0)
      }.joined()
      table += "\n"
    }
    print(
      "pattern classifier vs labels: \(agreed)/\(maps.count) = \(String(format: "%.1f", 100 * agreement)) %\n\(table)")
    print(misses.joined(separator: "\n"))
    // The old rules were set on these 105 maps (88.6 % in-sample); the linear models of issue 20
    // were fitted on other maps (labelled/v2–v5, two of whose texts are here): the first fit
    // agreed on 89/105 = 84.8 %, the shipped one (v6) on 87/105 = 82.9 % (these labels came from
    // the first labelling pass, before PROTOCOL.md existed). Its measure is the
    // fresh set of AnalysisLabelledSetTests; this floor catches a regression.
    #expect(agreement >= 0.80, "agreement \(agreement)\n\(table)")
  }
}
