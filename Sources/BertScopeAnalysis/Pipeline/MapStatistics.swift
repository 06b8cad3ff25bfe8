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
  /// The rules the pattern counts were made with.
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
  /// The rules each map is classified by.
  public var classifier: PatternClassifier
  /// The progress line's label.
  public var label: String

  /// Classifies with `classifier`; `label` names the progress line.
  public init(classifier: PatternClassifier = PatternClassifier(), label: String = "patterns + special") {
    self.classifier = classifier
    self.label = label
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
    for block in try FeatureBlock.compute(encodings, encoder: session.encoder) { state.add(block) }
    return tokenCount(encodings)
  }
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
