import BertScopeAnalysis
import Foundation
import Testing

@testable import BertScope

/// `linguistic` against Hugging Face: `scripts/goldens/make_linguistic_goldens.py` computes
/// the same statistics from transformers' eager attention maps, aligning words with
/// `tokenizer(words, is_split_into_words=True).word_ids()` (see
/// Tests/Fixtures/goldens/linguistic/README.md).
enum LinguisticGolden {
  static func conllu(_ name: String) -> URL { Fixtures.root.appendingPathComponent("linguistic/\(name).conllu") }
  static func folder(_ model: String, _ name: String) -> URL {
    Fixtures.root.appendingPathComponent("goldens/linguistic/\(model)/\(name)", isDirectory: true)
  }

  /// Rows of a golden CSV as dictionaries by header name.
  static func rows(_ url: URL) throws -> [[String: String]] {
    let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
    let header = lines[0].split(separator: ",").map(String.init)
    return lines.dropFirst().map { line in
      Dictionary(
        uniqueKeysWithValues: zip(header, line.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
      )
    }
  }

  struct Summary: Decodable {
    var sentences: Int
    var skipped_long: Int
    var skipped_unaligned: Int
    var words: Int
    var tokens: Int
    var arcs: Int
  }

  /// Runs `linguistic` on `name`.conllu with `session` and checks every file's numbers against
  /// the goldens of `model`.
  static func check(_ session: AnalysisSession, model: String, _ name: String) throws {
    let source = CorpusSource(path: conllu(name).path, batchSize: 7)
    let (state, count) = try session.run(LinguisticAnalysis(), on: source)
    let r = LinguisticResult(state, info: session.runInfo(count, options: source.options))
    let dir = folder(model, name)
    let summary = try JSONDecoder().decode(
      Summary.self, from: Data(contentsOf: dir.appendingPathComponent("summary.json")))
    let c = r.counts
    let ours: [Int] = [c.sentences, c.skippedLong, c.skippedUnaligned, c.words, c.tokens, c.arcs]
    let theirs: [Int] = [
      summary.sentences, summary.skipped_long, summary.skipped_unaligned, summary.words, summary.tokens, summary.arcs,
    ]
    #expect(ours == theirs, "\(model)/\(name): counts \(c) vs \(summary)")

    for (file, cls) in [("features.csv", false), ("cls_features.csv", true)] {
      let golden = try rows(dir.appendingPathComponent(file))
      let present = Set(golden.map { $0["feature"]! })
      #expect(
        Set((cls ? r.clsFeatures : r.features).map(\.feature.rawValue)) == present,
        "\(model)/\(name)/\(file): the classes that occur")
      var worst = 0.0
      for g in golden {
        let (l, h) = (Int(g["layer"]!)! - 1, Int(g["head"]!)! - 1)
        let f = try #require(LinguisticFeature(rawValue: g["feature"]!))
        let ours = try #require(r.scores(f, cls: cls)).scores[l][h]
        worst = max(worst, abs(ours - Double(g["score"]!)!))
      }
      #expect(worst <= 1e-5, "\(model)/\(name)/\(file): largest difference \(worst)")
    }

    let golden = try rows(dir.appendingPathComponent("dependencies.csv"))
    #expect(r.relations.map(\.relation) == golden.map { $0["relation"]! }.uniqued(), "\(model)/\(name): relation order")
    var mismatches = 0
    var maxTies: [String: Int] = [:]
    for g in golden {
      let key = "\(g["relation"]!) \(g["direction"]!)"
      let d = try #require(r.dependencies.first { "\($0.relation) \($0.direction.rawValue)" == key })
      let (l, h) = (Int(g["layer"]!)! - 1, Int(g["head"]!)! - 1)
      let ours = Int((d.accuracy[l][h] * Double(d.count)).rounded())
      let (correct, ties) = (Int(g["correct"]!)!, Int(g["ties"]!)!)
      maxTies[key] = max(maxTies[key] ?? 0, ties)
      #expect(d.count == Int(g["count"]!)!)
      // Equal, except where two words' attention is within 1e-6 of each other (a near tie).
      if abs(ours - correct) > ties {
        mismatches += 1
        Issue.record("\(model)/\(name): \(key) L\(l + 1) H\(h + 1): \(ours) correct, HF \(correct) (\(ties) near ties)")
      }
    }
    #expect(mismatches == 0)
    for g in try rows(dir.appendingPathComponent("dependency_best.csv")) {
      let key = "\(g["relation"]!) \(g["direction"]!)"
      let d = try #require(r.dependencies.first { "\($0.relation) \($0.direction.rawValue)" == key })
      #expect(d.baselineOffset == Int(g["baseline_offset"]!)!, "\(key)")
      #expect(abs(d.baselineAccuracy - Double(g["baseline_accuracy"]!)!) < 1e-8, "\(key)")
      let best = d.best
      let slack = Double(maxTies[key] ?? 0) / Double(d.count)
      #expect(abs(best.accuracy - Double(g["accuracy"]!)!) <= slack + 1e-8, "\(key)")
      if maxTies[key] == 0 {
        #expect(best.layer + 1 == Int(g["best_layer"]!)! && best.head + 1 == Int(g["best_head"]!)!, "\(key)")
      }
    }
  }
}

extension Array where Element: Hashable {
  fileprivate func uniqued() -> [Element] {
    var seen = Set<Element>()
    return filter { seen.insert($0).inserted }
  }
}

@Suite("linguistic vs Hugging Face: tiny-bert")
struct LinguisticTinyGoldenTests {
  @Test(
    "features within 1e-5, dependency accuracies equal but for near ties, counts equal (CPU)",
    arguments: ["sample", "edge"])
  func cpu(_ name: String) throws {
    try LinguisticGolden.check(try AnalysisSession.load(directory: Fixtures.tiny), model: "tiny", name)
  }

  @Test(
    "the same on the OpenCL backend", .enabled(if: OpenCLTest.available, OpenCLTest.skipReason),
    arguments: ["sample", "edge"])
  func opencl(_ name: String) throws {
    let session = try AnalysisSession.load(directory: Fixtures.tiny, backend: .opencl, device: OpenCLTest.deviceIndex)
    try LinguisticGolden.check(session, model: "tiny", name)
  }
}

@Suite(
  "linguistic vs Hugging Face: all-MiniLM-L6-v2",
  .enabled(if: Fixtures.hasMiniLM, "the default model is not installed (scripts/setup installs it)"))
struct LinguisticMiniLMGoldenTests {
  @Test(
    "features within 1e-5, dependency accuracies equal but for near ties, counts equal", arguments: ["sample", "edge"])
  func cpu(_ name: String) throws {
    try LinguisticGolden.check(try AnalysisSession.load(directory: Fixtures.miniLM!), model: "minilm", name)
  }
}
