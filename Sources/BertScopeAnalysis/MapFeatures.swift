import BertScope
import Foundation

/// The positions of one input as the map statistics see them: each key's kind and segment.
/// Built once per sequence and shared by all of its layers × heads maps.
public struct MapContext: Sendable, Equatable {
  /// The kind of each position, 0-based like the map's rows and columns.
  public let kinds: [TokenKind]
  /// The segment (token type) id of each position: 0 for the first text, 1 for the second.
  public let segments: [Int32]
  /// Sequence length L: the maps this context describes are L×L.
  public var length: Int { kinds.count }
  /// `kinds` as `AttentionFeatures.Kind` raw values, what the backends take.
  public let kindCodes: [Int32]
  /// The within-segment share of a query's non-[CLS]/[SEP] mass if it attended uniformly,
  /// averaged over queries: (1/L) Σᵢ n(segᵢ)/n, n(s) = non-special keys in segment s;
  /// 1 when there are no such keys.
  let withinUniform: Float

  /// A context from per-position kinds and segment ids.
  /// - Throws: ``BertScopeError/invalidInput(_:)`` when the two arrays differ in length.
  public init(kinds: [TokenKind], segments: [Int32]) throws {
    guard kinds.count == segments.count else {
      throw BertScopeError.invalidInput("map context: \(kinds.count) token kinds but \(segments.count) segment ids")
    }
    self.kinds = kinds
    self.segments = segments
    kindCodes = kinds.map { Int32($0.rawValue) }
    withinUniform = AttentionFeatures.withinUniform(kinds: kindCodes, segments: segments)
  }

  /// The context of `encoding` (kinds from `TokenKind.kinds`).
  public init(_ encoding: Encoding, tokenizer: Tokenizer) throws {
    try self.init(kinds: TokenKind.kinds(of: encoding, tokenizer: tokenizer), segments: encoding.segments)
  }
}

/// The fixed-length feature vector of one attention map — the single definition every
/// corpus statistic (`special`, `patterns`) is reduced from.
///
/// `A` is one head's L×L map, rows = queries (each sums to 1), columns = keys;
/// `c_j = (1/L) Σᵢ A[i,j]` is key j's column mean (the attention it receives, averaged over
/// queries); "special" keys are [CLS] and [SEP]; "other" keys are all the rest (punctuation
/// included). Every entry is a sum over rows or columns, an entropy, or a max over a few
/// positions, so that a device kernel can compute the same vector next to the map
/// (one work-item per map) and a corpus run moves `count` floats per map instead of L².
///
/// | index | name | definition |
/// |---|---|---|
/// | 0 | `cls` | max over [CLS] positions of `c_j` (Kovaleva §4.4; 0 if none) |
/// | 1 | `sep` | max over [SEP] positions of `c_j` (two in a pair) |
/// | 2 | `punct` | max over punctuation positions of `c_j` (0 if none) |
/// | 3 | `self` | `(1/L) Σᵢ A[i,i]` |
/// | 4 | `prev` | `(1/(L−1)) Σ_{i≥1} A[i,i−1]` (0 if L = 1) |
/// | 5 | `next` | `(1/(L−1)) Σ_{i≤L−2} A[i,i+1]` (0 if L = 1) |
/// | 6 | `entropy` | `(1/L) Σᵢ −Σⱼ A[i,j] ln A[i,j]`, nats (Clark et al. 2019) |
/// | 7 | `specialMass` | `Σ_{j special} c_j` |
/// | 8 | `punctMass` | `Σ_{j punctuation} c_j` |
/// | 9 | `maxColumn` | `max_j c_j` |
/// | 10 | `columnEntropy` | `−Σⱼ c_j ln c_j`, nats |
/// | 11 | `bandOther` | `(1/L) Σᵢ Σ_{|i−j|≤1, j other} A[i,j]` (offsets −1, 0, +1) |
/// | 12 | `withinOther` | `(1/L) Σᵢ Σ_{j other, seg j = seg i} A[i,j]` |
/// | 13 | `crossOther` | `(1/L) Σᵢ Σ_{j other, seg j ≠ seg i} A[i,j]` |
/// | 14–17 | `clsRowCLS`, `clsRowSEP`, `clsRowPunct`, `clsRowOther` | row 0 (the [CLS] query) summed by key kind (§4.5) |
/// | 18 | `length` | L |
/// | 19 | `withinUniform` | what `withinOther / (withinOther + crossOther)` would be for uniform rows (1 for a single text) |
/// | 20 | `darkColumn` | `max_j (1/L) Σᵢ ramp(A[i,j]/m, 0.4)`, m = the map's largest entry: the share of rows in which the darkest column is at least medium grey |
/// | 21 | `greyColumn` | the same at 0.25 (light grey) |
/// | 22 | `darkBand` | `(1/L) Σᵢ ramp(bᵢ/m, 0.4)`, `bᵢ = max_{|j−i|≤1} A[i,j]`: rows whose diagonal band is at least medium grey |
/// | 23 | `nearBand` | `(1/L) Σᵢ ramp(bᵢ/rᵢ, 0.5)`, `rᵢ = max_j A[i,j]`: rows whose band is at least half as dark as their darkest cell |
///
/// Features 18–19 depend on the input only; they make the vector self-contained for
/// `PatternClassifier`. Features 20–23 (issue 20) are row-wise: what `PROTOCOL.md` of the
/// labelled maps judges by eye ("a column dark in most rows", the image scaled to the map's
/// largest entry), which averages over rows cannot tell from a faint column in every row.
/// `ramp(x, t) = clamp((x − t)·10 + 0.5, 0, 1)` (`AttentionFeatures.ramp`) is a soft
/// threshold, so that maps that differ by rounding (CPU, OpenCL, float64) give features that
/// differ by as little. Averages of the vector over examples are the `special` statistics.
public enum MapFeatures {
  /// The position of each feature in the vector; the raw value is the index in the table above.
  public enum Index: Int, CaseIterable, Sendable {
    case cls = 0, sep, punct, selfAttention, prev, next, entropy
    case specialMass, punctMass, maxColumn, columnEntropy
    case bandOther, withinOther, crossOther
    case clsRowCLS, clsRowSEP, clsRowPunct, clsRowOther
    case length, withinUniform
    case darkColumn, greyColumn, darkBand, nearBand

    /// The feature's name in CSV headers and JSON keys (the table's "name" column).
    public var name: String {
      switch self {
      case .cls: return "cls"
      case .sep: return "sep"
      case .punct: return "punct"
      case .selfAttention: return "self"
      case .prev: return "prev"
      case .next: return "next"
      case .entropy: return "entropy"
      case .specialMass: return "specialMass"
      case .punctMass: return "punctMass"
      case .maxColumn: return "maxColumn"
      case .columnEntropy: return "columnEntropy"
      case .bandOther: return "bandOther"
      case .withinOther: return "withinOther"
      case .crossOther: return "crossOther"
      case .clsRowCLS: return "clsRowCLS"
      case .clsRowSEP: return "clsRowSEP"
      case .clsRowPunct: return "clsRowPunct"
      case .clsRowOther: return "clsRowOther"
      case .length: return "length"
      case .withinUniform: return "withinUniform"
      case .darkColumn: return "darkColumn"
      case .greyColumn: return "greyColumn"
      case .darkBand: return "darkBand"
      case .nearBand: return "nearBand"
      }
    }
  }

  /// Floats per map.
  public static let count = Index.allCases.count

  /// The features of `map` (L×L, row-major, rows = queries) as a new array.
  public static func compute(_ map: UnsafeBufferPointer<Float>, context: MapContext) -> [Float] {
    var out = [Float](repeating: 0, count: count)
    out.withUnsafeMutableBufferPointer { compute(into: $0, map, context: context) }
    return out
  }

  /// Convenience for tests and small inputs: `map` as a flat row-major array.
  public static func compute(_ map: [Float], context: MapContext) -> [Float] {
    map.withUnsafeBufferPointer { compute($0, context: context) }
  }

  /// Writes the features of `map` into `out[0..<count]` (`AttentionFeatures.compute`, the
  /// one implementation the backends share).
  public static func compute(
    into out: UnsafeMutableBufferPointer<Float>, _ map: UnsafeBufferPointer<Float>, context: MapContext
  ) {
    let n = context.length
    precondition(map.count == n * n && out.count >= count, "map is \(map.count) floats, context has \(n) positions")
    guard n > 0 else {
      for k in 0..<count { out[k] = 0 }
      out[Index.withinUniform.rawValue] = context.withinUniform
      return
    }
    context.kindCodes.withUnsafeBufferPointer { kinds in
      context.segments.withUnsafeBufferPointer { segments in
        AttentionFeatures.compute(
          into: out.baseAddress!, map: map.baseAddress!, length: n, kinds: kinds.baseAddress!,
          segments: segments.baseAddress!, withinUniform: context.withinUniform)
      }
    }
  }
}

/// The feature vectors of a batch: `[sequences, layers, heads, MapFeatures.count]`.
/// This is what a device backend returns instead of the maps (see `MapFeatures`).
public struct FeatureBlock: Sendable {
  /// Number of sequences in the batch (first dimension).
  public let sequences: Int
  /// Number of layers per sequence (second dimension).
  public let layers: Int
  /// Number of heads per layer (third dimension).
  public let heads: Int
  /// The vectors back to back: `[sequences, layers, heads, MapFeatures.count]`, row-major.
  public var values: [Float]

  /// Wraps `values`, which must hold `sequences × layers × heads × MapFeatures.count` floats
  /// (a precondition).
  public init(sequences: Int, layers: Int, heads: Int, values: [Float]) {
    precondition(values.count == sequences * layers * heads * MapFeatures.count)
    self.sequences = sequences
    self.layers = layers
    self.heads = heads
    self.values = values
  }

  /// The vector of sequence `s`, layer `l`, head `h` (0-based).
  public func features(_ s: Int, _ l: Int, _ h: Int) -> ArraySlice<Float> {
    let start = ((s * layers + l) * heads + h) * MapFeatures.count
    return values[start..<(start + MapFeatures.count)]
  }

  /// Computes the features of every map of `output` (which must hold all layers and heads)
  /// on the host, one sequence per thread.
  public static func compute(_ output: EncoderOutput, contexts: [MapContext], layers: Int, heads: Int) throws
    -> FeatureBlock
  {
    guard output.maps.count == output.count, contexts.count == output.count else {
      throw BertScopeError.invalidInput(
        "features need the maps of every sequence (\(output.maps.count) maps, \(contexts.count) contexts, \(output.count) sequences)"
      )
    }
    for (s, maps) in output.maps.enumerated() {
      guard maps.layers == Array(0..<layers), maps.heads == Array(0..<heads) else {
        throw BertScopeError.invalidInput("features need all \(layers) layers × \(heads) heads of every sequence")
      }
      guard contexts[s].length == maps.length else {
        throw BertScopeError.invalidInput(
          "sequence \(s + 1): context has \(contexts[s].length) positions, map has \(maps.length)")
      }
    }
    let per = layers * heads * MapFeatures.count
    var values = [Float](repeating: 0, count: output.count * per)
    values.withUnsafeMutableBufferPointer { buffer in
      let base = UnsafeSendablePointer(buffer.baseAddress!)
      DispatchQueue.concurrentPerform(iterations: output.count) { s in
        output.maps[s].forEach { l, h, map in
          let start = s * per + (l * heads + h) * MapFeatures.count
          MapFeatures.compute(
            into: UnsafeMutableBufferPointer(start: base.pointer + start, count: MapFeatures.count), map,
            context: contexts[s])
        }
      }
    }
    return FeatureBlock(sequences: output.count, layers: layers, heads: heads, values: values)
  }
}

/// Lets disjoint slices of one buffer be written from `concurrentPerform`.
struct UnsafeSendablePointer: @unchecked Sendable {
  let pointer: UnsafeMutablePointer<Float>
  init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}

extension FeatureBlock {
  /// Encodes `encodings` and returns the features of all their maps. The backend computes
  /// them next to the maps (`EncodeOptions.featureKinds`), so no map leaves the device and
  /// a corpus run moves 96 bytes per map; batches are split so that one layer's maps fit in
  /// `budgetBytes` on the device.
  public static func compute(_ encodings: [Encoding], encoder: Encoder, budgetBytes: Int = 256 << 20) throws
    -> [FeatureBlock]
  {
    let c = encoder.config
    return try Analysis.mapBatches(encodings.map(\.count), mapsPerSequence: c.numHeads, budgetBytes: budgetBytes)
      .map { run in
        let part = Array(encodings[run])
        let kinds = part.map { TokenKind.kinds(of: $0, tokenizer: encoder.tokenizer).map { Int32($0.rawValue) } }
        let output = try encoder.encode(part, options: EncodeOptions(featureKinds: kinds))
        return FeatureBlock(sequences: part.count, layers: c.numLayers, heads: c.numHeads, values: output.features)
      }
  }
}
