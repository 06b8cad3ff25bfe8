import BertScopeAnalysis
import Foundation
import Testing

@testable import BertScope
@testable import BertScopeReport

/// Compares two JSON documents: the same keys everywhere, strings and booleans equal, numbers
/// within `tolerance`; returns the first difference as a path, nil when they agree.
func jsonDifference(_ a: Any, _ b: Any, tolerance: Double, path: String = "") -> String? {
  switch (a, b) {
  case (let x as [String: Any], let y as [String: Any]):
    if Set(x.keys) != Set(y.keys) { return "\(path): keys \(x.keys.sorted()) vs \(y.keys.sorted())" }
    for k in x.keys.sorted() {
      if let d = jsonDifference(x[k]!, y[k]!, tolerance: tolerance, path: path + "." + k) { return d }
    }
    return nil
  case (let x as [Any], let y as [Any]):
    if x.count != y.count { return "\(path): \(x.count) vs \(y.count) elements" }
    for (i, (u, v)) in zip(x, y).enumerated() {
      if let d = jsonDifference(u, v, tolerance: tolerance, path: "\(path)[\(i)]") { return d }
    }
    return nil
  case (let x as String, let y as String):
    return x == y ? nil : "\(path): \"\(x)\" vs \"\(y)\""
  case (is NSNull, is NSNull):
    return nil
  case (let x as NSNumber, let y as NSNumber):
    return abs(x.doubleValue - y.doubleValue) <= tolerance ? nil : "\(path): \(x) vs \(y)"
  default:
    return "\(path): \(a) vs \(b)"
  }
}

func jsonObject(_ url: URL) throws -> Any { try JSONSerialization.jsonObject(with: Data(contentsOf: url)) }

@Suite("Analysis result files: one typed reader and writer per file")
struct ResultFilesTests {
  static let v1 = Fixtures.root.appendingPathComponent("analysis/written-by-v1", isDirectory: true)

  /// Writes `result` into a fresh folder and checks every file against the one in `original`:
  /// CSV byte for byte, JSON key for key (numbers within the 6-decimal rounding of the files).
  func expectSameFiles(
    _ result: some AnalysisResult, as original: URL, sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let out = Fixtures.temporaryDirectory("bertscope-results")
    defer { try? FileManager.default.removeItem(at: out) }
    let written = try result.write(to: out)
    #expect(written.map(\.lastPathComponent) == type(of: result).fileNames, sourceLocation: sourceLocation)
    for name in type(of: result).tableFiles {
      let mine = try String(contentsOf: out.appendingPathComponent(name), encoding: .utf8)
      let theirs = try String(contentsOf: original.appendingPathComponent(name), encoding: .utf8)
      #expect(mine == theirs, "\(name) differs", sourceLocation: sourceLocation)
    }
    let json = "\(type(of: result).name).json"
    let difference = jsonDifference(
      try jsonObject(out.appendingPathComponent(json)), try jsonObject(original.appendingPathComponent(json)),
      tolerance: 2e-6)
    #expect(difference == nil, "\(json): \(difference ?? "")", sourceLocation: sourceLocation)
  }

  @Test("a report folder written by the previous release reads back and writes out the same files")
  func previousRelease() throws {
    let folder = Self.v1.appendingPathComponent("report-v1")
    let results = try AnalysisResults.load(from: folder)
    let patterns = try #require(results.patterns)
    let special = try #require(results.special)
    let ablation = try #require(results.ablation)
    let comparison = try #require(results.comparison)
    #expect(patterns.info.model.layers == 2 && patterns.info.model.heads == 4 && patterns.info.examples == 12)
    #expect(patterns.info.options == RunOptions(input: "corpus.txt", batchSize: 32))
    #expect(ablation.task == .embeddingChange && ablation.mode == .uniform && ablation.metric == .meanCosineDistance)
    #expect(ablation.rows.count == 2 * (4 + 1) && ablation.forwardPasses == 11)
    #expect(ablation.info.options.limit == 200 && ablation.info.options.pooling == .mean)
    #expect(comparison.modelB?.hasSuffix("tiny-bert-prefixed") == true)
    #expect(special.clsRow(layer: 0) != nil, "special.json holds the [CLS] row of every layer")
    try expectSameFiles(patterns, as: folder)
    try expectSameFiles(special, as: folder)
    try expectSameFiles(ablation, as: folder)
    try expectSameFiles(comparison, as: folder)
    let run = try #require(results.run)
    #expect(run.stages.map(\.name).first == "load model" && run.examples == 12 && run.ablationLimit == 200)
    let example = try #require(results.example)
    #expect(example.tokens.first == "[CLS]" && example.source == "line 2 of corpus.txt" && example.maps.count == 2)

    let relations = try RelationsResult.read(from: Self.v1.appendingPathComponent("relations-v1"))
    #expect(relations.pairs + relations.skippedPairs == 4 && relations.info.examples == 2)
    try expectSameFiles(relations, as: Self.v1.appendingPathComponent("relations-v1"))
  }

  @Test("the tables alone (no JSON) still read, with the run marked unknown")
  func tablesAlone() throws {
    let folder = Fixtures.temporaryDirectory("bertscope-results")
    defer { try? FileManager.default.removeItem(at: folder) }
    for name in ["patterns.csv", "special.csv", "ablation.csv"] {
      try FileManager.default.copyItem(
        at: Self.v1.appendingPathComponent("report-v1/\(name)"), to: folder.appendingPathComponent(name))
    }
    let results = try AnalysisResults.load(from: folder)
    #expect(results.patterns?.info.model.name == "unknown" && results.special?.clsRow(layer: 1) == nil)
    #expect(results.ablation?.baseline.isNaN == true && results.ablation?.task == .embeddingChange)
  }

  @Test("a JSON file that does not fit its type names the file and the key")
  func badJSON() throws {
    let folder = Fixtures.temporaryDirectory("bertscope-results")
    defer { try? FileManager.default.removeItem(at: folder) }
    for name in ["ablation.csv", "ablation.json"] {
      try FileManager.default.copyItem(
        at: Self.v1.appendingPathComponent("report-v1/\(name)"), to: folder.appendingPathComponent(name))
    }
    let url = folder.appendingPathComponent("ablation.json")
    let text = try String(contentsOf: url, encoding: .utf8)
    try text.replacingOccurrences(of: "\"embedding-change\"", with: "\"guesswork\"").write(
      to: url, atomically: true, encoding: .utf8)
    #expect {
      _ = try AblationResult.read(from: folder)
    } throws: { "\($0)".hasPrefix(url.path + ": bad value at options.task") }
    try text.replacingOccurrences(of: "\"backend\"", with: "\"engine\"").write(
      to: url, atomically: true, encoding: .utf8)
    #expect {
      _ = try AblationResult.read(from: folder)
    } throws: { "\($0)" == url.path + ": missing \"backend\"" }
  }
}

@Suite("Analysis states: saved, restored and merged")
struct AnalysisStateTests {
  static let corpus = AnalysisCorpus.lines.map { line in line.1.map { "\(line.0)\t\($0)" } ?? line.0 }

  static func session(_ backend: BackendKind = .cpu) async throws -> AnalysisSession {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    return AnalysisSession(model: model, encoder: try Encoder(model: model, backend: backend))
  }

  /// `lines` as a corpus file.
  static func file(_ lines: some Sequence<String>, _ name: String) throws -> String {
    try AnalysisCorpus.tempFile(name, lines.joined(separator: "\n") + "\n")
  }

  /// The state of `analysis` over the whole corpus, and the merge of its two halves, each
  /// saved as JSON and read back first.
  func wholeAndHalves<A: CorpusAnalysis>(_ analysis: A, session: AnalysisSession, batch: Int = 5) throws -> (
    A.State, A.State
  ) {
    let lines = Self.corpus
    let whole = try session.run(analysis, on: CorpusSource(path: try Self.file(lines, "whole.txt"), batchSize: batch))
      .state
    let cut = lines.count / 2 + 1
    var parts: [A.State] = []
    for (k, part) in [lines[..<cut], lines[cut...]].enumerated() {
      let state = try session.run(
        analysis, on: CorpusSource(path: try Self.file(part, "part\(k).txt"), batchSize: batch)
      ).state
      let restored = try JSONDecoder().decode(A.State.self, from: try JSONEncoder().encode(state))
      #expect(restored == state, "a saved state reads back equal")
      parts.append(restored)
    }
    return (whole, try parts[0].merged(with: parts[1]))
  }

  @Test(
    "pattern counts and feature sums of two halves merge into those of the whole", arguments: TestBackends.available)
  func mapStatistics(_ backend: BackendKind) async throws {
    let session = try await Self.session(backend)
    let (whole, merged) = try wholeAndHalves(MapStatisticsAnalysis(), session: session)
    #expect(merged.patterns == whole.patterns && whole.patterns.examples == Self.corpus.count)
    #expect(merged.features.counts == whole.features.counts)
    // Sums in another order: equal up to double rounding; and the same per sequence whatever the batch.
    #expect(zip(merged.features.sums, whole.features.sums).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) })
  }

  @Test("ablation, comparison and relation states merge into those of the whole")
  func otherStates() async throws {
    let session = try await Self.session()
    let (ablationWhole, ablationMerged) = try wholeAndHalves(
      AblationAnalysis(targets: [AblationTarget(layer: 0, head: 1), AblationTarget(layer: 1, head: nil)]),
      session: session)
    #expect(
      ablationMerged.examples == ablationWhole.examples && ablationMerged.forwardPasses == ablationWhole.forwardPasses)
    for k in 0...2 { #expect(abs(ablationMerged.metric(k) - ablationWhole.metric(k)) < 1e-6) }
    let (compareWhole, compareMerged) = try wholeAndHalves(ComparisonAnalysis(other: session), session: session)
    #expect(compareMerged.examples == compareWhole.examples)
    #expect(zip(compareMerged.cosines.sums, compareWhole.cosines.sums).allSatisfy { abs($0 - $1) < 1e-6 })
  }

  @Test("states of different shapes or settings are refused, naming what differs")
  func refusedMerges() throws {
    var a = PatternCounts(layers: 2, heads: 4)
    #expect { try a.merge(PatternCounts(layers: 3, heads: 4)) } throws: { "\($0)".contains("2 × 4 heads with 3 × 4") }
    var u = AblationState(task: .embeddingChange, mode: .uniform, pooling: .mean, targets: [])
    let z = AblationState(task: .embeddingChange, mode: .zero, pooling: .mean, targets: [])
    #expect { try u.merge(z) } throws: { "\($0)".contains("different tasks, modes") }
  }

  @Test("a saved state whose arrays do not match its shape is refused when read")
  func corruptState() throws {
    var json =
      try JSONSerialization.jsonObject(with: try JSONEncoder().encode(HeadAccumulator(layers: 2, heads: 3, width: 4)))
      as! [String: Any]
    json["sums"] = [1.0, 2.0]
    let data = try JSONSerialization.data(withJSONObject: json)
    #expect {
      _ = try AnalysisJSON.decode(HeadAccumulator.self, from: data, path: "state.json")
    } throws: { "\($0)" == "state.json: sums and counts do not match 2 × 3 × 4" }
    #expect {
      _ = try AnalysisJSON.decode(HeadAccumulator.self, from: Data("{".utf8), path: "state.json")
    } throws: { "\($0)" == "state.json: not valid JSON" }
  }

  @Test("the corpus loop skips blank lines, stops at the limit, and refuses an empty input")
  func corpusLoop() throws {
    let path = try Self.file(["a", "", "  ", "b\tc", "d", "e"], "blank.txt")
    var seen: [[Int]] = []
    let count = try CorpusRun.forEachBatch(
      CorpusSource(path: path, batchSize: 2, limit: 3), progress: Progress("t", enabled: false)
    ) {
      lines, _ in
      seen.append(lines.map(\.number))
      return lines.count
    }
    #expect(seen == [[1, 4], [5]] && count.examples == 3 && count.tokens == 3)
    let empty = try Self.file(["", " "], "empty.txt")
    #expect {
      _ = try CorpusRun.forEachBatch(CorpusSource(path: empty), progress: Progress("t", enabled: false)) {
        $0.count + $1.count
      }
    } throws: { "\($0)".hasSuffix("no texts (the input is empty or blank)") }
    var rows = 0
    _ = try CorpusRun.forEachBatch(CorpusSource(path: empty), progress: Progress("t", enabled: false), skipBlank: false)
    {
      rows += $0.count
      return $1.isEmpty ? 0 : 0
    }
    #expect(rows == 2, "embed keeps a row per line, blank ones included")
  }
}
