import BertScope
import Foundation

/// The corpus statistics reduced from every map's `MapFeatures`: pattern-type counts
/// (`patterns`, for `PatternsResult`) and feature sums (`features`, for `SpecialResult`).
/// One pass over a corpus gives both; the maps never leave the device (the backend computes
/// the features next to them).
public struct MapStatistics: AnalysisState {
  /// How often each head's map was of each pattern type.
  public var patterns: PatternCounts
  /// Sums of the `MapFeatures` vectors per head.
  public var features: HeadAccumulator
  /// The classifier the pattern counts were made with.
  public let classifier: PatternClassifier

  /// Empty statistics for a model of `layers` × `heads`.
  public init(layers: Int, heads: Int, classifier: PatternClassifier = PatternClassifier()) {
    patterns = PatternCounts(layers: layers, heads: heads)
    features = HeadAccumulator(layers: layers, heads: heads, width: MapFeatures.count)
    self.classifier = classifier
  }

  /// Adds every map of `block` (one example per sequence).
  public mutating func add(_ block: FeatureBlock) {
    patterns.add(block, classifier: classifier)
    features.add(block)
  }

  /// Adds `other`'s counts and sums; both must use the same classifier.
  public mutating func merge(_ other: MapStatistics) throws {
    guard other.classifier == classifier else {
      throw BertScopeError.invalidInput("cannot merge pattern counts made with different classifier thresholds")
    }
    try patterns.merge(other.patterns)
    try features.merge(other.features)
  }

  public init(from decoder: any Swift.Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    patterns = try c.decode(PatternCounts.self, forKey: .patterns)
    features = try c.decode(HeadAccumulator.self, forKey: .features)
    classifier = try c.decode(PatternClassifier.self, forKey: .classifier)
    guard features.width == MapFeatures.count, features.layers == patterns.layers, features.heads == patterns.heads
    else {
      throw InvalidValue("pattern counts and feature sums disagree")
    }
  }

  enum CodingKeys: String, CodingKey { case patterns, features, classifier }
}

/// Pattern types and special-token attention in one pass (`patterns`, `special` and the
/// report): each batch is encoded with its maps' features computed on the backend.
public struct MapStatisticsAnalysis: CorpusAnalysis {
  /// The classifier each map is classified by.
  public var classifier: PatternClassifier
  /// The progress line's label.
  public var label: String
  /// Receives every map's type and confidence as it is classified (`patterns --per-map`).
  public var perMap: PerMapRows?

  /// Classifies with `classifier`; `label` names the progress line; `perMap` gets a row per map.
  public init(
    classifier: PatternClassifier = PatternClassifier(), label: String = "patterns + special",
    perMap: PerMapRows? = nil
  ) {
    self.classifier = classifier
    self.label = label
    self.perMap = perMap
  }

  /// Empty statistics for `session`'s model, classified by `classifier`.
  public func makeState(for session: AnalysisSession) -> MapStatistics {
    MapStatistics(layers: session.config.numLayers, heads: session.config.numHeads, classifier: classifier)
  }

  /// Encodes `lines` with every map's features computed on the backend and adds them;
  /// returns the tokens encoded.
  public func add(_ lines: [CorpusLine], path: String, session: AnalysisSession, to state: inout MapStatistics) throws
    -> Int
  {
    let encodings = try lines.map { try session.encode($0, path: path) }
    var first = 0
    for block in try FeatureBlock.compute(encodings, encoder: session.encoder) {
      state.add(block)
      try perMap?.add(block, lines: lines[first..<(first + block.sequences)].map(\.number), classifier: classifier)
      first += block.sequences
    }
    return tokenCount(encodings)
  }
}

/// `maps.csv` of `patterns --per-map`: one row per (text, layer, head) map, header
/// `line,layer,head,type,confidence` (line from 1, layer and head from 1, the type's name, the
/// classifier's margin for it), written as the run goes under a hidden name and renamed into
/// place by `finish()`.
public final class PerMapRows: @unchecked Sendable {
  public static let fileName = "maps.csv"
  public static let header = "line,layer,head,type,confidence"
  let file: ResumableFile
  private let lock = NSLock()
  public private(set) var rows = 0

  /// Starts `folder/maps.csv` (the header written).
  public init(folder: URL) throws {
    file = try ResumableFile(url: folder.appendingPathComponent(Self.fileName), resumable: false)
    try file.append(Data((Self.header + "\n").utf8))
  }

  /// Classifies every map of `block` (sequence s is the text of corpus line `lines[s]`) and
  /// appends its rows.
  public func add(_ block: FeatureBlock, lines: [Int], classifier: PatternClassifier) throws {
    var text = ""
    for s in 0..<block.sequences {
      for l in 0..<block.layers {
        for h in 0..<block.heads {
          let d = classifier.decide(block.features(s, l, h))
          text += "\(lines[s]),\(l + 1),\(h + 1),\(d.pattern.name),\(String(format: "%.4f", d.confidence))\n"
        }
      }
    }
    lock.lock()
    defer { lock.unlock() }
    try file.append(Data(text.utf8))
    rows += block.sequences * block.layers * block.heads
  }

  /// Renames the finished file into place; returns it.
  public func finish() throws -> URL {
    try file.commit()
    return file.url
  }

  /// Removes the partial file (a failed run leaves no maps.csv).
  public func abandon() { file.abandon() }
}

extension PatternsResult {
  /// The pattern shares of `statistics`.
  public init(_ statistics: MapStatistics, info: RunInfo) {
    self.init(counts: statistics.patterns, classifier: statistics.classifier, info: info)
  }
}

extension SpecialResult {
  /// The special-token means of `statistics`.
  public init(_ statistics: MapStatistics, info: RunInfo) {
    self.init(features: statistics.features, info: info)
  }
}
