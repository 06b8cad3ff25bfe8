import BertScope
import Foundation

/// Kovaleva et al. 2019 §4.3: how much fine-tuning changed each head — the cosine similarity
/// of two checkpoints' flattened maps on the same input (cropped to the real tokens), per
/// head, averaged over examples.
public struct MapComparison: AnalysisState {
  /// Sums of per-example cosines, width 1.
  public private(set) var cosines: HeadAccumulator

  /// No examples yet, for a model of `layers` × `heads`.
  public init(layers: Int, heads: Int) {
    cosines = HeadAccumulator(layers: layers, heads: heads, width: 1)
  }

  /// Throws unless the two checkpoints have the same architecture (layers, heads, hidden and
  /// FFN sizes, positions) and the same vocabulary and tokenizer settings, so that the same
  /// text gives the same tokens and maps of the same shape.
  public static func checkComparable(_ a: BertModel, _ b: BertModel) throws {
    let ca = a.config, cb = b.config
    let fields: [(String, Int, Int)] = [
      ("layers", ca.numLayers, cb.numLayers), ("attention heads", ca.numHeads, cb.numHeads),
      ("hidden size", ca.hiddenSize, cb.hiddenSize), ("FFN size", ca.intermediateSize, cb.intermediateSize),
      ("max positions", ca.maxPositions, cb.maxPositions), ("vocabulary size", ca.vocabSize, cb.vocabSize),
    ]
    for (name, x, y) in fields where x != y {
      throw BertScopeError.invalidInput(
        "cannot compare \(a.directory.path) and \(b.directory.path): different architecture (\(name) \(x) vs \(y))")
    }
    if a.vocabulary != b.vocabulary {
      let first = zip(a.vocabulary.tokens, b.vocabulary.tokens).enumerated().first { $0.element.0 != $0.element.1 }
      let detail =
        first.map { "token \($0.offset) is \"\(printable($0.element.0))\" vs \"\(printable($0.element.1))\"" }
        ?? "different lengths"
      throw BertScopeError.invalidInput(
        "cannot compare \(a.directory.path) and \(b.directory.path): different vocabularies (\(detail))")
    }
    if a.tokenizer.isPipeline == b.tokenizer.isPipeline && a.tokenizer.fingerprint != b.tokenizer.fingerprint {
      throw BertScopeError.invalidInput(
        "cannot compare \(a.directory.path) and \(b.directory.path): different tokenizer settings (tokenizer.json / tokenizer_config.json)"
      )
    }
  }

  /// Adds one example per sequence: the outputs of the two checkpoints on the same encodings,
  /// both holding every layer and head.
  public mutating func add(_ a: EncoderOutput, _ b: EncoderOutput) throws {
    guard a.count == b.count, a.lengths == b.lengths, a.maps.count == a.count, b.maps.count == b.count else {
      throw BertScopeError.invalidInput("compare: the two outputs do not hold the maps of the same sequences")
    }
    for s in 0..<a.count {
      let ma = a.maps[s], mb = b.maps[s]
      guard ma.layers.count == cosines.layers, ma.heads.count == cosines.heads, ma.layers == mb.layers,
        ma.heads == mb.heads
      else { throw BertScopeError.invalidInput("compare needs every layer and head of both models") }
      for li in ma.layers.indices {
        for hi in ma.heads.indices {
          cosines.add(
            CollectionOfOne(Float(Statistics.cosine(ma.map(li, hi), mb.map(li, hi)))), layer: ma.layers[li],
            head: ma.heads[hi])
        }
      }
    }
  }

  /// Adds `other`'s cosine sums; throws when the shapes differ.
  public mutating func merge(_ other: MapComparison) throws {
    try cosines.merge(other.cosines)
  }

  /// Examples compared (every head gets one cosine per example).
  public var examples: Int { cosines.count(layer: 0, head: 0) }

  /// The mean cosine of (layer, head), 0-based: 1 for identical maps.
  public func cosine(layer: Int, head: Int) -> Double { cosines.mean(layer: layer, head: head, 0) }
}

/// Both checkpoints on every batch, all maps compared head by head (`bertscope compare`).
public struct ComparisonAnalysis: CorpusAnalysis {
  /// The second checkpoint, on the same backend.
  public let other: AnalysisSession
  /// The progress line's label.
  public var label: String

  /// Compares the session the analysis runs on (model A) with `other` (model B); `label`
  /// names the progress line.
  public init(other: AnalysisSession, label: String = "compare") {
    self.other = other
    self.label = label
  }

  /// The empty comparison; throws unless `session`'s model and `other`'s are comparable
  /// (`MapComparison.checkComparable`).
  public func makeState(for session: AnalysisSession) throws -> MapComparison {
    try MapComparison.checkComparable(session.model, other.model)
    return MapComparison(layers: session.config.numLayers, heads: session.config.numHeads)
  }

  /// Encodes `lines` with both models (every map, in runs that fit the memory budget) and
  /// adds each sequence's per-head cosines; returns the tokens of one model's pass.
  public func add(_ lines: [CorpusLine], path: String, session: AnalysisSession, to state: inout MapComparison) throws
    -> Int
  {
    let encodings = try lines.map { try session.encode($0, path: path) }
    // Both models' maps are held at once: half the budget each.
    let c = session.config
    for run in Analysis.mapBatches(encodings.map(\.count), mapsPerSequence: 2 * c.numLayers * c.numHeads) {
      let part = Array(encodings[run])
      let a = try session.encoder.encode(part, options: EncodeOptions(maps: .all))
      let b = try other.encoder.encode(part, options: EncodeOptions(maps: .all))
      try state.add(a, b)
    }
    return tokenCount(encodings)
  }
}

extension CompareResult {
  /// The mean cosine per head of `comparison`.
  public init(_ comparison: MapComparison, info: RunInfo) {
    self.init(info: info, cosine: HeadScores(comparison.cosines))
  }
}
