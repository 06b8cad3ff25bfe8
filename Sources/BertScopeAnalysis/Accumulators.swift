import BertScope
import Foundation

/// Running per-(layer, head) sums of fixed-length vectors (map features, or a single score),
/// so that a corpus streams through in constant memory. Mergeable: the statistic of a corpus
/// is the merge of the statistics of its parts.
public struct HeadAccumulator: AnalysisState {
  /// Layers of the model.
  public let layers: Int
  /// Heads per layer.
  public let heads: Int
  /// Entries per vector (`MapFeatures.count` for map features, 1 for a score).
  public let width: Int
  /// `[layers, heads, width]`, accumulated in double precision.
  public private(set) var sums: [Double]
  /// `[layers, heads]`: vectors added per head.
  public private(set) var counts: [Int]

  /// Zero sums for `layers` × `heads` vectors of `width` entries.
  public init(layers: Int, heads: Int, width: Int) {
    self.layers = layers
    self.heads = heads
    self.width = width
    sums = Array(repeating: 0, count: layers * heads * width)
    counts = Array(repeating: 0, count: layers * heads)
  }

  /// Adds one vector for (layer, head), 0-based.
  public mutating func add(_ vector: some Collection<Float>, layer: Int, head: Int) {
    precondition(vector.count == width, "expected \(width) values, got \(vector.count)")
    let base = (layer * heads + head) * width
    for (k, v) in vector.enumerated() { sums[base + k] += Double(v) }
    counts[layer * heads + head] += 1
  }

  /// Adds every (sequence, layer, head) vector of a feature block (width must be `MapFeatures.count`).
  public mutating func add(_ block: FeatureBlock) {
    precondition(block.layers == layers && block.heads == heads && width == MapFeatures.count)
    for s in 0..<block.sequences {
      for l in 0..<layers {
        for h in 0..<heads { add(block.features(s, l, h), layer: l, head: h) }
      }
    }
  }

  /// Adds `other`'s sums and counts (the statistic of the union of both inputs).
  public mutating func merge(_ other: HeadAccumulator) throws {
    guard other.layers == layers, other.heads == heads, other.width == width else {
      throw BertScopeError.invalidInput(
        "cannot merge per-head sums of \(layers) × \(heads) × \(width) with \(other.layers) × \(other.heads) × \(other.width)"
      )
    }
    let merged = try counts.indices.map { try addCount(counts[$0], other.counts[$0]) }
    for i in sums.indices { sums[i] += other.sums[i] }
    counts = merged
  }

  enum CodingKeys: String, CodingKey { case layers, heads, width, sums, counts }

  public init(from decoder: any Swift.Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    layers = try c.decode(Int.self, forKey: .layers)
    heads = try c.decode(Int.self, forKey: .heads)
    width = try c.decode(Int.self, forKey: .width)
    sums = try c.decode([Double].self, forKey: .sums)
    counts = try c.decode([Int].self, forKey: .counts)
    guard layers >= 0, heads >= 0, width >= 0, sums.count == layers * heads * width, counts.count == layers * heads,
      counts.allSatisfy({ $0 >= 0 })
    else {
      throw InvalidValue("sums and counts do not match \(layers) × \(heads) × \(width)")
    }
  }

  /// Vectors added for (layer, head), 0-based.
  public func count(layer: Int, head: Int) -> Int { counts[layer * heads + head] }

  /// The mean vector of (layer, head), 0-based; zeros when nothing was added.
  public func mean(layer: Int, head: Int) -> [Double] {
    let n = counts[layer * heads + head]
    let base = (layer * heads + head) * width
    return (0..<width).map { n > 0 ? sums[base + $0] / Double(n) : 0 }
  }

  /// The mean of entry `k` for (layer, head), 0-based; 0 when nothing was added.
  public func mean(layer: Int, head: Int, _ k: Int) -> Double {
    let n = counts[layer * heads + head]
    return n > 0 ? sums[(layer * heads + head) * width + k] / Double(n) : 0
  }
}

/// How often each (layer, head) map was classified as each pattern. Mergeable.
public struct PatternCounts: AnalysisState {
  /// Layers of the model.
  public let layers: Int
  /// Heads per layer.
  public let heads: Int
  /// `[layers, heads, AttentionPattern.allCases.count]`.
  public private(set) var counts: [Int]
  /// Examples seen.
  public private(set) var examples = 0

  /// Zero counts for `layers` × `heads` heads.
  public init(layers: Int, heads: Int) {
    self.layers = layers
    self.heads = heads
    counts = Array(repeating: 0, count: layers * heads * AttentionPattern.allCases.count)
  }

  /// Classifies every map of the block (one example per sequence).
  public mutating func add(_ block: FeatureBlock, classifier: PatternClassifier) {
    precondition(block.layers == layers && block.heads == heads)
    for s in 0..<block.sequences {
      for l in 0..<layers {
        for h in 0..<heads { add(classifier.classify(block.features(s, l, h)), layer: l, head: h) }
      }
      examples += 1
    }
  }

  /// Counts one map of (layer, head), 0-based; call `addExample()` once per example.
  public mutating func add(_ pattern: AttentionPattern, layer: Int, head: Int) {
    counts[(layer * heads + head) * AttentionPattern.allCases.count + pattern.rawValue] += 1
  }

  /// Counts one example in `examples`, for maps added one by one with `add(_:layer:head:)`.
  public mutating func addExample() { examples += 1 }

  /// Adds `other`'s counts.
  public mutating func merge(_ other: PatternCounts) throws {
    guard other.layers == layers, other.heads == heads else {
      throw BertScopeError.invalidInput(
        "cannot merge pattern counts of \(layers) × \(heads) heads with \(other.layers) × \(other.heads)")
    }
    let merged = try counts.indices.map { try addCount(counts[$0], other.counts[$0]) }
    examples = try addCount(examples, other.examples)
    counts = merged
  }

  enum CodingKeys: String, CodingKey { case layers, heads, counts, examples }

  public init(from decoder: any Swift.Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    layers = try c.decode(Int.self, forKey: .layers)
    heads = try c.decode(Int.self, forKey: .heads)
    counts = try c.decode([Int].self, forKey: .counts)
    examples = try c.decode(Int.self, forKey: .examples)
    guard layers >= 0, heads >= 0, counts.count == layers * heads * AttentionPattern.allCases.count, examples >= 0,
      counts.allSatisfy({ $0 >= 0 })
    else {
      throw InvalidValue("counts do not match \(layers) × \(heads) heads")
    }
  }

  /// How many of (layer, head)'s maps (0-based) were classified as `pattern`.
  public func count(layer: Int, head: Int, _ pattern: AttentionPattern) -> Int {
    counts[(layer * heads + head) * AttentionPattern.allCases.count + pattern.rawValue]
  }

  /// Fraction of examples of each pattern for (layer, head); sums to 1 (zeros if empty).
  public func fractions(layer: Int, head: Int) -> [Double] {
    let row = AttentionPattern.allCases.map { Double(count(layer: layer, head: head, $0)) }
    let total = row.reduce(0, +)
    return row.map { total > 0 ? $0 / total : 0 }
  }

  /// Fraction of each pattern over all heads × examples of `layer` (the paper's Figure 2).
  public func layerFractions(_ layer: Int) -> [Double] {
    var row = [Double](repeating: 0, count: AttentionPattern.allCases.count)
    for h in 0..<heads {
      for p in AttentionPattern.allCases { row[p.rawValue] += Double(count(layer: layer, head: h, p)) }
    }
    let total = row.reduce(0, +)
    return row.map { total > 0 ? $0 / total : 0 }
  }

  /// Fraction of each pattern over the whole model.
  public var overallFractions: [Double] {
    var row = [Double](repeating: 0, count: AttentionPattern.allCases.count)
    for l in 0..<layers {
      for h in 0..<heads {
        for p in AttentionPattern.allCases { row[p.rawValue] += Double(count(layer: l, head: h, p)) }
      }
    }
    let total = row.reduce(0, +)
    return row.map { total > 0 ? $0 / total : 0 }
  }
}

/// `a + b` for counts merged from saved states, which may be crafted: an error, not a trap.
func addCount<T: FixedWidthInteger>(_ a: T, _ b: T) throws -> T {
  let (sum, overflow) = a.addingReportingOverflow(b)
  guard !overflow else {
    throw BertScopeError.invalidInput("cannot merge counts this large (\(a) + \(b)): the state is not from a real run")
  }
  return sum
}
