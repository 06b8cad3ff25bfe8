import Foundation
import Testing

@testable import BertScope
@testable import BertScopeAnalysis

/// A labelled set of `Tests/Fixtures/analysis/labelled/` (PROTOCOL.md, README.md): `v2`, 944
/// maps of 22 texts of all-MiniLM-L6-v2 labelled by eye, split by text; `v3` to `v7`, all 72
/// maps of fresh texts (6 each, 16 in `v7`), each labelled blind after a classifier was frozen
/// (`v6` and `v7` are the ones the shipped classifier was never fitted on).
struct LabelledSet: Decodable {
  struct Text: Decodable {
    let id: String
    let text: String
    let pair: String?
    let tokens: [String]
    let ids: [Int32]
    let segments: [Int32]
    let split: String

    var encoding: Encoding {
      Encoding(tokens: tokens, ids: ids, segments: segments, offsets: Array(repeating: nil, count: ids.count))
    }
  }
  struct Map: Decodable {
    let id: String
    let text_id: String
    let split: String
    let layer: Int
    let head: Int
    let image: String
    let features: [Double]
  }
  struct Label: Decodable {
    let label: String
    let unsure: Bool?
  }
  struct Labels: Decodable {
    let labels: [String: Label]
    let second: [String: String]
    /// v3, v4: the new labellers' labels on maps of v2.
    let calibration: [String: String]?
  }

  let feature_names: [String]
  let texts: [Text]
  let maps: [Map]

  static let folder = folder("v2")

  static func folder(_ name: String) -> URL {
    Fixtures.root.appendingPathComponent("analysis/labelled/\(name)", isDirectory: true)
  }

  static func load(_ name: String = "v2") throws -> (LabelledSet, Labels) {
    let set = try JSONDecoder().decode(
      LabelledSet.self, from: Data(contentsOf: folder(name).appendingPathComponent("maps.json")))
    let labels = try JSONDecoder().decode(
      Labels.self, from: Data(contentsOf: folder(name).appendingPathComponent("labels.json")))
    return (set, labels)
  }

  /// Every map's features as the encoder computes them, by map id: CPU maps with
  /// `MapFeatures.compute`, or on `backend` through the backend's own feature kernel.
  static func features(_ set: LabelledSet, backend: BackendKind = .cpu, device: Int? = nil, split: String? = nil)
    async throws -> [String: [Float]]
  {
    let model = try await ModelCache.shared.model(try #require(Fixtures.miniLM))
    let encoder = try Encoder(model: model, backend: backend, device: device)
    var out: [String: [Float]] = [:]
    for text in set.texts where split == nil || text.split == split {
      let blocks = try FeatureBlock.compute([text.encoding], encoder: encoder)
      let block = try #require(blocks.first)
      for m in set.maps where m.text_id == text.id {
        out[m.id] = Array(block.features(0, m.layer - 1, m.head - 1))
      }
    }
    return out
  }
}

/// Precision, recall and agreement of predictions against labels.
struct Agreement: CustomStringConvertible {
  var confusion = [[Int]](repeating: [Int](repeating: 0, count: 5), count: 5)

  mutating func add(_ truth: AttentionPattern, _ predicted: AttentionPattern) {
    confusion[truth.rawValue][predicted.rawValue] += 1
  }

  var total: Int { confusion.joined().reduce(0, +) }
  var agreement: Double { Double((0..<5).reduce(0) { $0 + confusion[$1][$1] }) / Double(max(total, 1)) }
  func support(_ p: AttentionPattern) -> Int { confusion[p.rawValue].reduce(0, +) }
  func recall(_ p: AttentionPattern) -> Double {
    Double(confusion[p.rawValue][p.rawValue]) / Double(max(support(p), 1))
  }
  func precision(_ p: AttentionPattern) -> Double {
    let predicted = (0..<5).reduce(0) { $0 + confusion[$1][p.rawValue] }
    return Double(confusion[p.rawValue][p.rawValue]) / Double(max(predicted, 1))
  }

  var description: String {
    var s = "agreement \(String(format: "%.1f", 100 * agreement)) % of \(total)\n"
    for p in AttentionPattern.allCases {
      s +=
        "\(p.name): support \(support(p)), recall \(String(format: "%.2f", recall(p))), precision \(String(format: "%.2f", precision(p))), row \(confusion[p.rawValue])\n"
    }
    return s
  }
}

@Suite("Analysis: the labelled sets (v2–v7) and the classifier's agreement on a fresh set")
struct AnalysisLabelledSetTests {
  @Test("≥ 400 labelled maps of ≥ 8 texts, singles and pairs; ≥ 60 of each type that occurs; split by text")
  func complete() throws {
    let (set, labels) = try LabelledSet.load()
    let labelled = set.maps.filter { labels.labels[$0.id] != nil }
    #expect(labelled.count >= 400)
    #expect(Set(labelled.map(\.text_id)).count >= 8)
    #expect(set.texts.contains { $0.pair != nil } && set.texts.contains { $0.pair == nil })
    var counts: [String: Int] = [:]
    for m in labelled {
      let label = labels.labels[m.id]!.label
      #expect(AttentionPattern(name: label) != nil, "\(m.id): \(label)")
      counts[label, default: 0] += 1
      #expect(FileManager.default.fileExists(atPath: LabelledSet.folder.appendingPathComponent(m.image).path))
    }
    for p in AttentionPattern.allCases where p != .block {
      #expect((counts[p.name] ?? 0) >= 60, "\(p.name): \(counts[p.name] ?? 0) maps")
    }
    // Never a text on both sides.
    for t in set.texts { #expect(set.maps.filter { $0.text_id == t.id }.allSatisfy { $0.split == t.split }) }
    #expect(Set(set.texts.map(\.split)) == ["tune", "heldout"])
    for (id, label) in labels.second { #expect(AttentionPattern(name: label) != nil && labels.labels[id] != nil) }
  }

  @Test(
    "the stored features are what the encoder's maps give (an independent float64 BERT made them)",
    .enabled(if: Fixtures.hasMiniLM, "the default model is not installed (scripts/setup installs it)"),
    .enabled(if: AnalysisTestConfig.optimized, "runs the real model: release builds only (scripts/test)"))
  func features() async throws {
    let (set, _) = try LabelledSet.load()
    let ours = try await LabelledSet.features(set)
    var worst = 0.0
    for m in set.maps {
      let f = try #require(ours[m.id])
      for (a, b) in zip(f, m.features) { worst = max(worst, abs(Double(a) - b) / max(1, abs(b))) }
    }
    #expect(worst < 1e-4, "largest difference \(worst)")
  }

  @Test("v3 to v7: all 72 maps of each fresh text, labelled, none of their texts in an earlier set")
  func freshSets() throws {
    let (v2, _) = try LabelledSet.load("v2")
    var seen = Set(v2.texts.map { "\($0.text)|\($0.pair ?? "")" })
    // (texts, of them pairs, maps labelled twice, v2 maps labelled for calibration), as
    // make_fresh_set.py draws them: v7 has 16 texts and four labellers.
    let expected: [(String, Int, Int, Int, Int)] = [
      ("v3", 6, 3, 80, 64), ("v4", 6, 3, 80, 64), ("v5", 6, 3, 80, 64), ("v6", 6, 3, 80, 64), ("v7", 16, 8, 160, 96),
    ]
    for (name, texts, pairs, second, calibration) in expected {
      let (set, labels) = try LabelledSet.load(name)
      #expect(set.texts.count == texts && set.maps.count == 72 * texts, "\(name)")
      #expect(set.texts.filter { $0.pair != nil }.count == pairs, "\(name)")
      #expect(set.maps.allSatisfy { $0.split == "heldout" && labels.labels[$0.id] != nil })
      for t in set.texts { #expect(seen.insert("\(t.text)|\(t.pair ?? "")").inserted, "\(name): \(t.text)") }
      for m in set.maps {
        #expect(AttentionPattern(name: labels.labels[m.id]!.label) != nil)
        #expect(FileManager.default.fileExists(atPath: LabelledSet.folder(name).appendingPathComponent(m.image).path))
      }
      #expect(labels.second.count == second && labels.second.keys.allSatisfy { labels.labels[$0] != nil }, "\(name)")
      #expect(labels.calibration?.count == calibration, "\(name)")
    }
  }

  @Test("the shipped constants are labelled/v6/frozen-model.json's (frozen before v6 was labelled)")
  func frozen() throws {
    struct Frozen: Decodable {
      let mean: [Double]
      let std: [Double]
      let W: [[Double]]
      let b: [Double]
      let inputs: [String]
      let structure_floor: Double
    }
    let m = try JSONDecoder().decode(
      Frozen.self, from: Data(contentsOf: LabelledSet.folder("v6").appendingPathComponent("frozen-model.json")))
    func close(_ a: [Float], _ b: [Double]) -> Bool {
      a.count == b.count && zip(a, b).allSatisfy { abs(Double($0) - $1) <= 1e-6 * max(1, abs($1)) }
    }
    #expect(m.inputs == PatternScores.inputNames)
    #expect(close(PatternClassifier.inputMean, m.mean))
    #expect(close(PatternClassifier.inputScale, m.std))
    #expect(close(PatternClassifier.bias, m.b))
    #expect(PatternClassifier.weights.count == 5 && zip(PatternClassifier.weights, m.W).allSatisfy { close($0, $1) })
    #expect(Double(PatternClassifier.structureFloor) == m.structure_floor)
  }

  @Test(
    "fresh sets v6 + v7: the frozen classifier's agreement, per-type recall and precision as tune_pattern_classifier.py --fresh measures them",
    .enabled(if: Fixtures.hasMiniLM, "the default model is not installed (scripts/setup installs it)"),
    .enabled(if: AnalysisTestConfig.optimized, "runs the real model: release builds only (scripts/test)"))
  func heldOut() async throws {
    let classifier = PatternClassifier()
    var held = Agreement()
    for name in ["v6", "v7"] {
      let (set, labels) = try LabelledSet.load(name)
      let features = try await LabelledSet.features(set)
      for m in set.maps {
        guard let label = labels.labels[m.id], let truth = AttentionPattern(name: label.label) else { continue }
        held.add(truth, classifier.classify(try #require(features[m.id])))
      }
    }
    print("fresh sets v6 + v7: \(held)")
    // tune_pattern_classifier.py --fresh --set v6,v7 --model v6, the frozen model on the stored
    // (float64) features, gave this confusion matrix (labelled/v7/DECISION.md fixed this
    // measurement before v7 was drawn); the encoder's float32 features may move a map that lies
    // on a decision boundary, not more.
    struct Evaluation: Decodable {
      struct Report: Decodable { let confusion: [[Int]] }
      let sets: [String]
      let frozen_model: Report
      let kappa: Double
      let raw_agreement_between_labellers: Double
    }
    let evaluation = try JSONDecoder().decode(
      Evaluation.self,
      from: Data(contentsOf: LabelledSet.folder("v7").appendingPathComponent("evaluation-pooled.json")))
    #expect(evaluation.sets == ["v6", "v7"])
    let moved = zip(held.confusion.joined(), evaluation.frozen_model.confusion.joined()).reduce(0) {
      $0 + abs($1.0 - $1.1)
    }
    #expect(moved <= 6, "\(held) vs evaluation-pooled.json \(evaluation.frozen_model.confusion)")
    // What the report quotes (PatternClassifier.validation) is this measurement, rounded.
    let v = PatternClassifier.validation
    #expect(v.maps == held.total && abs(v.agreement - held.agreement) < 0.005)
    #expect(abs(v.heterogeneousRecall - held.recall(.heterogeneous)) < 0.005)
    #expect(abs(v.heterogeneousPrecision - held.precision(.heterogeneous)) < 0.005)
    #expect(abs(v.kappa - evaluation.kappa) < 0.005)
    #expect(abs(v.labellerAgreement - evaluation.raw_agreement_between_labellers) < 0.0005)
    #expect(held.total == 1584)
    // Issue 20's targets on maps of texts the classifier was not fitted on: agreement ≥ 85 %,
    // heterogeneous recall ≥ 70 % at precision ≥ 60 %, no type with ≥ 20 maps below 60 % recall
    // (pooled: 86.5 %, 0.76 / 0.68; lowest vertical+diagonal 0.71; block has 5 maps).
    #expect(held.agreement >= 0.85, "\(held)")
    #expect(held.recall(.heterogeneous) >= 0.70, "\(held)")
    #expect(held.precision(.heterogeneous) >= 0.60, "\(held)")
    for p in AttentionPattern.allCases where held.support(p) >= 20 {
      #expect(held.recall(p) >= 0.60, "\(p.name): \(held)")
    }
  }

  @Test(
    "a map's type does not depend on the backend: OpenCL features give the CPU's types",
    .enabled(if: Fixtures.hasMiniLM, "the default model is not installed (scripts/setup installs it)"),
    .enabled(if: AnalysisTestConfig.optimized, "runs the real model: release builds only (scripts/test)"),
    .enabled(if: OpenCLTest.available, OpenCLTest.skipReason))
  func backends() async throws {
    let (set, _) = try LabelledSet.load()
    let cpu = try await LabelledSet.features(set, split: "heldout")
    let opencl = try await LabelledSet.features(set, backend: .opencl, device: OpenCLTest.deviceIndex, split: "heldout")
    let classifier = PatternClassifier()
    var differ: [String] = []
    for (id, f) in cpu {
      let (a, b) = (classifier.decide(f), classifier.decide(try #require(opencl[id])))
      // Only a map on a threshold (confidence below 1e-3) could flip by float rounding.
      if a.pattern != b.pattern && min(a.confidence, b.confidence) >= 1e-3 { differ.append("\(id): \(a) vs \(b)") }
    }
    #expect(cpu.count >= 400)
    #expect(differ.isEmpty, "\(differ)")
  }
}

@Suite("patterns --per-map", .enabled(if: CLI.available, "the bertscope binary is not built next to the tests"))
struct PatternsPerMapTests {
  @Test("maps.csv: a row per (text, layer, head) in input order, whose types add up to patterns.csv")
  func rows() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-per-map")
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = try ShardCorpus.write(ShardCorpus.lines, in: dir)
    let out = dir.appendingPathComponent("out")
    let tiny = Fixtures.tiny.path
    let r = try CLI.run([
      "patterns", "--model", tiny, "--input", input.path, "--out", out.path, "--per-map", "--batch-size", "5",
    ])
    try #require(r.status == 0, "\(r.stderr)")
    let lines = try String(contentsOf: out.appendingPathComponent("maps.csv"), encoding: .utf8)
      .split(separator: "\n").map(String.init)
    #expect(lines.first == "line,layer,head,type,confidence")
    let rows = lines.dropFirst().map { $0.split(separator: ",").map(String.init) }
    let texts = ShardCorpus.lines.enumerated().filter { !$0.element.isEmpty }.map { $0.offset + 1 }
    #expect(rows.count == texts.count * 2 * 4)
    #expect(rows.map { Int($0[0])! } == texts.flatMap { Array(repeating: $0, count: 8) })
    var counts: [String: Int] = [:]
    for row in rows {
      #expect(row.count == 5 && AttentionPattern(name: row[3]) != nil)
      let confidence = try #require(Double(row[4]))
      #expect(confidence >= 0 && confidence <= 1)
      counts["\(row[1]),\(row[2]),\(row[3])", default: 0] += 1
    }
    let patterns = try PatternsResult.read(from: out)
    for l in 0..<2 {
      for h in 0..<4 {
        for p in AttentionPattern.allCases {
          let share = Double(counts["\(l + 1),\(h + 1),\(p.name)"] ?? 0) / Double(texts.count)
          #expect(abs(share - patterns.perHead[l][h].values[p.rawValue]) < 1e-6)
        }
      }
    }
    let sharded = try CLI.run([
      "patterns", "--model", tiny, "--input", input.path, "--out", dir.appendingPathComponent("s").path,
      "--per-map", "--shard", "0/2", "-q",
    ])
    #expect(sharded.status == 1 && sharded.stderr.contains("--per-map writes a row per map"), "\(sharded.stderr)")
  }
}
