import BertScope
import Foundation

/// One line of a `relations` corpus: `{"text": ..., "pairs": [[[start, end], [start, end]], ...]}`,
/// spans as half-open ranges of Unicode scalars (Python `str` indices) of `text`.
public struct RelationExample: Sendable, Equatable {
  /// The text the spans index.
  public var text: String
  /// The annotated span pairs: half-open ranges of Unicode scalar offsets into `text`.
  public var pairs: [(Range<Int>, Range<Int>)]
  /// The line's number in its file, from 1 (for errors).
  public var line: Int

  /// Same text, line and span pairs (tuples are not `Equatable`, so this is spelled out).
  public static func == (a: RelationExample, b: RelationExample) -> Bool {
    a.text == b.text && a.line == b.line && a.pairs.count == b.pairs.count
      && zip(a.pairs, b.pairs).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
  }

  private struct Line: Decodable {
    let text: String
    let pairs: [[[Int]]]
  }

  /// Parses and validates one JSONL line (`line` from 1); every span must lie inside the
  /// text and be non-empty. Errors name `path:line`.
  public static func parse(_ text: String, line: Int, path: String) throws -> RelationExample {
    let where_ = "\(path):\(line)"
    let decoded: Line
    do {
      decoded = try JSONDecoder().decode(Line.self, from: Data(text.utf8))
    } catch {
      throw BertScopeError.invalidInput(
        "\(where_): expected {\"text\": \"...\", \"pairs\": [[[start, end], [start, end]], ...]} (\((error as? DecodingError).map(AnalysisJSON.describe) ?? "not valid JSON"))"
      )
    }
    let length = decoded.text.unicodeScalars.count
    var pairs: [(Range<Int>, Range<Int>)] = []
    for (p, pair) in decoded.pairs.enumerated() {
      guard pair.count == 2, pair.allSatisfy({ $0.count == 2 }) else {
        throw BertScopeError.invalidInput("\(where_): pair \(p + 1) must be [[start, end], [start, end]]")
      }
      var spans: [Range<Int>] = []
      for span in pair {
        let (s, e) = (span[0], span[1])
        guard s >= 0, s < e, e <= length else {
          throw BertScopeError.invalidInput(
            "\(where_): pair \(p + 1): span [\(s), \(e)] is outside the text (\(length) characters; need 0 ≤ start < end ≤ \(length))"
          )
        }
        spans.append(s..<e)
      }
      pairs.append((spans[0], spans[1]))
    }
    return RelationExample(text: decoded.text, pairs: pairs, line: line)
  }

  /// Positions (0-based) of the tokens of `encoding`'s first segment whose character range
  /// overlaps `span`; special tokens have none and never match.
  public static func tokens(covering span: Range<Int>, in encoding: Encoding) -> [Int] {
    encoding.offsets.indices.filter { i in
      guard let r = encoding.offsets[i], encoding.segments[i] == 0 else { return false }
      return r.overlaps(span)
    }
  }
}

/// Kovaleva et al. 2019 §4.2 (FrameNet relations): for each annotated pair of spans, the
/// maximum attention between any token of one span and any token of the other, in either
/// direction, per head; averaged over all annotated pairs.
public struct RelationScores: AnalysisState {
  /// Sums of the per-pair scores per head, width 1.
  public private(set) var scores: HeadAccumulator
  /// Examples (lines) read.
  public private(set) var examples = 0
  /// Span pairs scored.
  public private(set) var pairs = 0
  /// Span pairs skipped because a span covered no token (only whitespace, or cut off by
  /// truncation).
  public private(set) var skippedPairs = 0

  /// No pairs yet, for a model of `layers` × `heads`.
  public init(layers: Int, heads: Int) {
    scores = HeadAccumulator(layers: layers, heads: heads, width: 1)
  }

  /// The score of one pair for one map (`length` × `length`, row-major, rows = queries):
  /// the largest `map[i, j]` or `map[j, i]` for token positions i in `a` and j in `b`.
  public static func score(_ map: UnsafeBufferPointer<Float>, length n: Int, _ a: [Int], _ b: [Int]) -> Float {
    var best: Float = 0
    for i in a {
      for j in b { best = max(best, map[i * n + j], map[j * n + i]) }
    }
    return best
  }

  /// Adds one example: its encoding, maps (every layer and head) and annotated pairs.
  public mutating func add(_ example: RelationExample, encoding: Encoding, maps: AttentionMaps, path: String) throws {
    guard maps.layers.count == scores.layers, maps.heads.count == scores.heads else {
      throw BertScopeError.invalidInput("relations need every layer and head")
    }
    if !example.pairs.isEmpty && encoding.offsets.allSatisfy({ $0 == nil }) {
      throw BertScopeError.invalidInput(
        "\(path):\(example.line): the tokenizer gave no character offsets, so spans cannot be mapped to tokens")
    }
    examples += 1
    for (sa, sb) in example.pairs {
      let a = RelationExample.tokens(covering: sa, in: encoding)
      let b = RelationExample.tokens(covering: sb, in: encoding)
      guard !a.isEmpty, !b.isEmpty else {
        skippedPairs += 1
        continue
      }
      maps.forEach { l, h, map in
        scores.add(CollectionOfOne(Self.score(map, length: maps.length, a, b)), layer: l, head: h)
      }
      pairs += 1
    }
  }

  /// Adds `other`'s sums and counts; throws when the shapes differ.
  public mutating func merge(_ other: RelationScores) throws {
    let (e, p, s) = (
      try addCount(examples, other.examples), try addCount(pairs, other.pairs),
      try addCount(skippedPairs, other.skippedPairs)
    )
    try scores.merge(other.scores)
    (examples, pairs, skippedPairs) = (e, p, s)
  }

  /// The mean score of (layer, head), 0-based, over the pairs scored (0 when none).
  public func score(layer: Int, head: Int) -> Double { scores.mean(layer: layer, head: head, 0) }
}

/// Relation heads over a JSON Lines corpus of texts with annotated span pairs
/// (`bertscope relations`).
public struct RelationsAnalysis: CorpusAnalysis {
  /// The progress line's label.
  public var label: String

  /// The analysis; `label` names the progress line.
  public init(label: String = "relations") { self.label = label }

  /// No pairs yet, for `session`'s model.
  public func makeState(for session: AnalysisSession) -> RelationScores {
    RelationScores(layers: session.config.numLayers, heads: session.config.numHeads)
  }

  /// Parses each line as a `RelationExample`, encodes its text with every map, and scores
  /// its pairs; returns the tokens encoded.
  public func add(_ lines: [CorpusLine], path: String, session: AnalysisSession, to state: inout RelationScores) throws
    -> Int
  {
    // A JSON line may contain TABs inside strings: parse the raw line, not the fields.
    let parsed = try lines.map {
      try RelationExample.parse($0.fields.joined(separator: "\t"), line: $0.number, path: path)
    }
    let encodings = try parsed.map { try session.encode($0.text, where: "\(path):\($0.line)") }
    let c = session.config
    for run in Analysis.mapBatches(encodings.map(\.count), mapsPerSequence: c.numLayers * c.numHeads) {
      let output = try session.encoder.encode(Array(encodings[run]), options: EncodeOptions(maps: .all))
      for (k, i) in run.enumerated() {
        try state.add(parsed[i], encoding: encodings[i], maps: output.maps[k], path: path)
      }
    }
    return tokenCount(encodings)
  }
}

extension RelationsResult {
  /// The mean score per head of `scores`.
  public init(_ scores: RelationScores, info: RunInfo) {
    self.init(info: info, scores: HeadScores(scores.scores), pairs: scores.pairs, skippedPairs: scores.skippedPairs)
  }
}
