import BertScope
import Foundation

/// One number per (layer, head), as `compare.csv` (`layer,head,cosine`) and `relations.csv`
/// (`layer,head,score`) hold it.
public struct HeadScores: Sendable, Equatable {
  /// [layer][head], 0-based.
  public var values: [[Double]]

  /// Scores [layer][head].
  public init(_ values: [[Double]]) { self.values = values }

  /// The means of a width-1 accumulator.
  public init(_ accumulator: HeadAccumulator) {
    values = (0..<accumulator.layers).map { l in (0..<accumulator.heads).map { accumulator.mean(layer: l, head: $0, 0) }
    }
  }

  /// Layers covered.
  public var layers: Int { values.count }
  /// Heads per layer.
  public var heads: Int { values.first?.count ?? 0 }

  /// Mean over the heads of `layer`.
  public func layerMean(_ layer: Int) -> Double { values[layer].reduce(0, +) / Double(max(heads, 1)) }

  func table(column: String) -> CSVTable {
    var t = CSVTable(["layer", "head", column])
    for (l, row) in values.enumerated() {
      for (h, v) in row.enumerated() { t.append([CSVTable.cell(l + 1), CSVTable.cell(h + 1), CSVTable.cell(v)]) }
    }
    return t
  }

  static func read(_ url: URL, column: String) throws -> HeadScores {
    let csv = try CSVFile(url: url, header: ["layer", "head", column])
    return HeadScores(try csv.headGrid(columns: [2]).map { $0.map { $0[0] } })
  }

  /// `[{"layer": l, "head": h, column: v}, …]`.
  func encodeHeads(column: String, into c: inout KeyedEncodingContainer<AnyKey>) throws {
    var rows: [[String: JSONNumber]] = []
    for (l, row) in values.enumerated() {
      for (h, v) in row.enumerated() {
        rows.append(["layer": JSONNumber(Double(l + 1)), "head": JSONNumber(Double(h + 1)), column: JSONNumber(v)])
      }
    }
    try c.encode(rows, forKey: AnyKey("heads"))
  }
}

/// A result that is one number per head (`compare`, `relations`): its CSV table, the reading of
/// that table and the `heads` array of its JSON come from here.
public protocol HeadScoresResult: AnalysisResult {
  /// The number's column in the CSV (after `layer,head`) and its key in the JSON.
  static var column: String { get }
  /// The number per head.
  var scores: HeadScores { get }
}

extension HeadScoresResult {
  /// The table: `layer,head,<column>`.
  public var tables: [CSVTable] { [scores.table(column: Self.column)] }

  /// The scores of the table in `folder` and the run in its JSON (or a stand-in).
  static func readScores(from folder: URL) throws -> (HeadScores, RunInfo) {
    let scores = try HeadScores.read(folder.appendingPathComponent(tableFiles[0]), column: column)
    return (scores, try info(in: folder, layers: scores.layers, heads: scores.heads))
  }

  /// The run's keys and `heads`, then whatever `extra` adds.
  func encodeScores(to encoder: any Swift.Encoder, extra: (inout KeyedEncodingContainer<AnyKey>) throws -> Void) throws
  {
    var c = encoder.container(keyedBy: AnyKey.self)
    try info.encode(into: &c)
    try scores.encodeHeads(column: Self.column, into: &c)
    try extra(&c)
  }
}

/// `bertscope compare`: per head, the cosine similarity of two checkpoints' maps on the same
/// input, averaged over examples (Kovaleva et al. 2019 §4.3, Figure 5).
///
/// Files: `compare.csv` (`layer,head,cosine`) and `compare.json` (per head and per layer, the
/// second model in `options.modelB`, the run).
public struct CompareResult: HeadScoresResult, Equatable {
  /// `compare.json`.
  public static let name = "compare"
  /// `compare.csv`.
  public static let tableFiles = ["compare.csv"]
  /// The score column of `compare.csv`.
  public static let column = "cosine"

  /// The run (`options.modelB` names the second checkpoint).
  public var info: RunInfo
  /// Mean cosine similarity of the two checkpoints' maps, per head.
  public var scores: HeadScores

  /// A result from its parts.
  public init(info: RunInfo, cosine: HeadScores) {
    self.info = info
    scores = cosine
  }

  /// The mean cosine per head (`scores`).
  public var cosine: HeadScores { scores }

  /// The second checkpoint.
  public var modelB: String? { info.options.modelB }

  /// Reads `compare.csv` (required) and `compare.json` (the run) from `folder`.
  public static func read(from folder: URL) throws -> CompareResult {
    let (scores, info) = try readScores(from: folder)
    return CompareResult(info: info, cosine: scores)
  }

  /// compare.json: the run, `heads`, and `layers` (the mean over each layer's heads).
  public func encode(to encoder: any Swift.Encoder) throws {
    try encodeScores(to: encoder) { c in
      let layers = (0..<scores.layers).map {
        ["layer": JSONNumber(Double($0 + 1)), Self.column: JSONNumber(scores.layerMean($0))]
      }
      try c.encode(layers, forKey: AnyKey("layers"))
    }
  }
}

/// `bertscope relations`: per head, the mean over annotated span pairs of the largest
/// attention between the two spans (Kovaleva et al. 2019 §4.2).
///
/// Files: `relations.csv` (`layer,head,score`) and `relations.json` (pairs scored and skipped,
/// per head, the run).
public struct RelationsResult: HeadScoresResult, Equatable {
  /// `relations.json`.
  public static let name = "relations"
  /// `relations.csv`.
  public static let tableFiles = ["relations.csv"]
  /// The score column of `relations.csv`.
  public static let column = "score"

  /// The run that made the numbers.
  public var info: RunInfo
  /// Mean over span pairs of the largest attention between the spans, per head.
  public var scores: HeadScores
  /// Span pairs scored.
  public var pairs: Int
  /// Span pairs skipped because a span covered no token.
  public var skippedPairs: Int

  /// A result from its parts.
  public init(info: RunInfo, scores: HeadScores, pairs: Int, skippedPairs: Int) {
    self.info = info
    self.scores = scores
    self.pairs = pairs
    self.skippedPairs = skippedPairs
  }

  struct Extras: Decodable {
    var pairs: Int
    var skippedPairs: Int
  }

  /// Reads `relations.csv` (required) and `relations.json` (the run, pair counts) from `folder`.
  public static func read(from folder: URL) throws -> RelationsResult {
    let (scores, info) = try readScores(from: folder)
    let extras = try json(Extras.self, in: folder)
    return RelationsResult(
      info: info, scores: scores, pairs: extras?.pairs ?? 0, skippedPairs: extras?.skippedPairs ?? 0)
  }

  /// relations.json: the run, `heads`, `pairs` and `skippedPairs`.
  public func encode(to encoder: any Swift.Encoder) throws {
    try encodeScores(to: encoder) { c in
      try c.encode(pairs, forKey: AnyKey("pairs"))
      try c.encode(skippedPairs, forKey: AnyKey("skippedPairs"))
    }
  }
}
