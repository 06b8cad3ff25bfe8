import BertScope
import Foundation

/// The running sums of `bertscope clusters` (Clark et al. 2019, §6): for every pair of heads
/// over all layers, (layer_a, head_a) < (layer_b, head_b) — not only within a layer — the
/// Jensen–Shannon distance summed over texts and query rows,
///
/// ```
/// d(a, b) = Σ_texts Σᵢ JS(Ã_a[i, :], Ã_b[i, :]),   Ã = 0.999 · A + 0.001 / n  (n = the text's length L)
/// JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m),  m = (p + q) / 2,  natural log (nats)
/// ```
///
/// computed next to the maps by the backend (`HeadDistances`), with the pattern counts and
/// feature sums of the same pass (`MapStatistics`), so that the clusters can be coloured by
/// pattern type. Sums and counts only: shards merge exactly (up to the order of the additions).
public struct HeadDistanceState: AnalysisState {
  /// The model's shape.
  public let layers: Int
  public let heads: Int
  /// Texts added.
  public private(set) var texts = 0
  /// Query rows added: Σ L over the texts (the "tokens" of the mean per token).
  public private(set) var rows = 0
  /// `d(a, b)` summed over texts, in `HeadDistances.pairIndex` order over `layers · heads` heads.
  public private(set) var sums: [Double]
  /// Pattern counts and feature sums of the same maps.
  public private(set) var statistics: MapStatistics

  /// Empty sums for a model of `layers` × `heads`.
  public init(layers: Int, heads: Int, classifier: PatternClassifier = PatternClassifier()) {
    self.layers = layers
    self.heads = heads
    sums = [Double](repeating: 0, count: HeadDistances.pairCount(layers * heads))
    statistics = MapStatistics(layers: layers, heads: heads, classifier: classifier)
  }

  /// Heads over all layers: `layers · heads`.
  public var count: Int { layers * heads }

  /// Adds one text of `length` tokens: its pairwise distances in `pairIndex` order. A JS
  /// distance is never negative; a value below 0 (the rounding of H(m) − (H(p) + H(q))/2 for
  /// two identical maps) is added as 0.
  public mutating func add(distances: ArraySlice<Double>, length: Int) {
    precondition(distances.count == sums.count && length >= 0)
    for (k, v) in zip(sums.indices, distances) { sums[k] += max(v, 0) }
    texts += 1
    rows += length
  }

  /// Adds the pattern counts and feature sums of a batch's maps.
  public mutating func add(_ block: FeatureBlock) { statistics.add(block) }

  /// `d(a, b)` summed over texts for heads a ≠ b (`k = layer · heads + head`, 0-based); 0 for a = b.
  public func distance(_ a: Int, _ b: Int) -> Double {
    a == b ? 0 : sums[HeadDistances.pairIndex(min(a, b), max(a, b), count: count)]
  }

  public mutating func merge(_ other: HeadDistanceState) throws {
    guard other.layers == layers, other.heads == heads else {
      throw BertScopeError.invalidInput(
        "cannot merge head distances of \(layers) × \(heads) heads with \(other.layers) × \(other.heads)")
    }
    var merged = self
    try merged.statistics.merge(other.statistics)
    merged.texts = try addCount(texts, other.texts)
    merged.rows = try addCount(rows, other.rows)
    for k in sums.indices { merged.sums[k] += other.sums[k] }
    self = merged
  }

  enum CodingKeys: String, CodingKey { case layers, heads, texts, rows, sums, statistics }

  /// Decodes the sums and refuses any whose shapes or counts no run can have produced.
  public init(from decoder: any Swift.Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    layers = try c.decode(Int.self, forKey: .layers)
    heads = try c.decode(Int.self, forKey: .heads)
    texts = try c.decode(Int.self, forKey: .texts)
    rows = try c.decode(Int.self, forKey: .rows)
    sums = try c.decode([Double].self, forKey: .sums)
    statistics = try c.decode(MapStatistics.self, forKey: .statistics)
    let maps = layers.multipliedReportingOverflow(by: heads)
    guard layers >= 1, heads >= 1, !maps.overflow, maps.partialValue <= 1 << 12, texts >= 0, rows >= texts,
      sums.count == HeadDistances.pairCount(maps.partialValue), sums.allSatisfy({ $0.isFinite && $0 >= 0 }),
      statistics.patterns.layers == layers, statistics.patterns.heads == heads
    else { throw InvalidValue("head distances of impossible shapes or values") }
  }
}

/// `bertscope clusters`: each batch is encoded with the pairwise head distances and every
/// map's features computed on the backend, next to the maps; only `(layers · heads)²` floats
/// and the features come back per text.
public struct HeadClusteringAnalysis: CorpusAnalysis {
  /// The progress line's label.
  public var label: String
  /// The classifier each map's pattern type is classified by.
  public var classifier: PatternClassifier

  public init(label: String = "clusters", classifier: PatternClassifier = PatternClassifier()) {
    self.label = label
    self.classifier = classifier
  }

  public func makeState(for session: AnalysisSession) -> HeadDistanceState {
    HeadDistanceState(layers: session.config.numLayers, heads: session.config.numHeads, classifier: classifier)
  }

  /// Encodes `lines` (in runs whose maps of all layers fit the map budget, since every layer's
  /// maps are kept on the device until the distances are taken) and adds the distances and
  /// the pattern statistics; returns the tokens encoded.
  public func add(_ lines: [CorpusLine], path: String, session: AnalysisSession, to state: inout HeadDistanceState)
    throws -> Int
  {
    let encodings = try lines.map { try session.encode($0, path: path) }
    try Self.add(encodings, encoder: session.encoder, to: &state)
    return tokenCount(encodings)
  }

  /// Adds `encodings` to `state` (what `add` does after tokenizing).
  public static func add(_ encodings: [Encoding], encoder: Encoder, to state: inout HeadDistanceState) throws {
    let c = encoder.config
    let pairs = HeadDistances.pairCount(c.numLayers * c.numHeads)
    for run in Analysis.mapBatches(encodings.map(\.count), mapsPerSequence: c.numLayers * c.numHeads) {
      let part = Array(encodings[run])
      let kinds = part.map { TokenKind.kinds(of: $0, tokenizer: encoder.tokenizer).map { Int32($0.rawValue) } }
      let output = try encoder.encode(part, options: EncodeOptions(featureKinds: kinds, headDistances: true))
      state.add(FeatureBlock(sequences: part.count, layers: c.numLayers, heads: c.numHeads, values: output.features))
      for (s, e) in part.enumerated() {
        let slice = pairs == 0 ? [][...] : output.headDistances[(s * pairs)..<((s + 1) * pairs)]
        state.add(distances: slice, length: e.count)
      }
    }
  }
}
