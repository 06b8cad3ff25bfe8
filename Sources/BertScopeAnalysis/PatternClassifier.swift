import Foundation

/// The attention pattern types of Kovaleva et al. 2019 §4.1 (their Figure 1).
public enum AttentionPattern: Int, Sendable, CaseIterable, Codable {
  /// Stripes: most queries attend to the same few keys, typically [CLS], [SEP] or punctuation.
  case vertical = 0
  /// Attention to the previous, same or following token.
  case diagonal
  /// Both stripes and a diagonal.
  case verticalDiagonal
  /// In a text pair, attention that stays inside the query's own text.
  case block
  /// No distinct structure.
  case heterogeneous

  /// The name used in CSV headers and JSON (`vertical+diagonal` for the mixed type).
  public var name: String {
    switch self {
    case .vertical: return "vertical"
    case .diagonal: return "diagonal"
    case .verticalDiagonal: return "vertical+diagonal"
    case .block: return "block"
    case .heterogeneous: return "heterogeneous"
    }
  }

  /// The pattern whose ``name`` is `name`, or nil.
  public init?(name: String) {
    guard let p = Self.allCases.first(where: { $0.name == name }) else { return nil }
    self = p
  }
}

/// The scores the classifier's rules test, derived from a `MapFeatures` vector.
public struct PatternScores: Sendable, Equatable {
  /// Share of the non-[CLS]/[SEP] mass on the band at offsets −1/0/+1, divided by the share
  /// uniform rows would put there (3/L): 1 for no preference, L/3 for a pure diagonal.
  /// A perfect two-segment block gives about 2, hence the threshold above 2.
  public var diagonal: Float
  /// The largest column mean: the share of all attention that goes to one key.
  public var columnMass: Float
  /// `1 − H(c)/ln L`: how far the column means are from uniform (0 = uniform).
  public var columnConcentration: Float
  /// `(ln L − H(c)) / (ln L − mean row entropy)`: the part of the rows' concentration that
  /// their shared column profile explains. Near 1 when every row is the same distribution
  /// (pure stripes); small when rows look at different keys (diagonals, scattered maps).
  public var sharedProfile: Float
  /// For a pair: `(w − w₀)/(1 − w₀)` with `w` the within-segment share of the
  /// non-[CLS]/[SEP] mass and `w₀` its value for uniform rows; 0 for a single text.
  public var blockExcess: Float
  /// True when uniform rows would not stay inside the query's segment (`withinUniform < 1`):
  /// a text pair with ordinary (non-[CLS]/[SEP]) tokens in at least one of its texts.
  public var isPair: Bool

  /// The scores of one map's features.
  /// - Parameter f: a ``MapFeatures`` vector, `MapFeatures.count` floats (a precondition).
  public init(_ f: some Collection<Float>) {
    let v = Array(f)
    precondition(v.count == MapFeatures.count, "expected \(MapFeatures.count) features, got \(v.count)")
    func x(_ i: MapFeatures.Index) -> Float { v[i.rawValue] }
    let length = x(.length)
    let logLength = length > 1 ? logf(length) : 0
    let other = x(.withinOther) + x(.crossOther)
    diagonal = other > 1e-6 && length > 0 ? x(.bandOther) / other * length / 3 : 0
    columnMass = x(.maxColumn)
    columnConcentration = logLength > 0 ? 1 - x(.columnEntropy) / logLength : 0
    let rowConcentration = logLength - x(.entropy)
    sharedProfile = rowConcentration > 1e-4 ? (logLength - x(.columnEntropy)) / rowConcentration : 0
    let w0 = x(.withinUniform)
    isPair = w0 < 1 - 1e-6
    blockExcess = isPair && other > 1e-6 ? (x(.withinOther) / other - w0) / (1 - w0) : 0
  }
}

/// Explicit rules from map features to a pattern type (Kovaleva et al. 2019 §4.1 trained a
/// CNN instead; neither its labels nor its model were published).
///
/// 1. *diagonal component*: `diagonal ≥ 2.2`;
/// 2. *vertical component*: `columnMass ≥ 0.3`, or the rows share one column profile
///    (`sharedProfile ≥ 0.6` with `columnConcentration ≥ 0.05`, i.e. stripes that are not
///    just a uniform map);
/// 3. both → vertical+diagonal; diagonal only → diagonal; vertical only → vertical;
/// 4. neither: a pair whose attention stays in the query's own segment
///    (`blockExcess ≥ 0.5`) → block, else heterogeneous.
///
/// Block comes after the stripes because MiniLM's broad near-diagonal bands with a strong
/// [CLS] column also stay inside their segment; a block in the paper's sense is spread
/// over the segment with no dominant column.
///
/// The thresholds were set on 105 maps of all-MiniLM-L6-v2 labelled by eye before the rules
/// were written (`Tests/Fixtures/analysis/labelled`); `Tests/Fixtures/analysis/README.md`
/// gives the agreement.
public struct PatternClassifier: Sendable, Equatable, Codable {
  /// Rule 1: the least ``PatternScores/diagonal`` that counts as a diagonal component.
  public var diagonal: Float = 2.2
  /// Rule 2: the least ``PatternScores/columnMass`` that alone counts as a vertical component.
  public var columnMass: Float = 0.3
  /// Rule 2: the least ``PatternScores/sharedProfile`` of stripes (with ``columnConcentration``).
  public var sharedProfile: Float = 0.6
  /// Rule 2: the least ``PatternScores/columnConcentration`` of stripes, so a uniform map is not one.
  public var columnConcentration: Float = 0.05
  /// Rule 4: the least ``PatternScores/blockExcess`` of a block.
  public var blockExcess: Float = 0.5

  /// The classifier with the thresholds set on the labelled MiniLM maps.
  public init() {}

  /// How these rules do on maps labelled by eye that they were not set on.
  public struct Validation: Sendable {
    /// Held-out maps: every map of 11 texts of the sample corpus (all-MiniLM-L6-v2).
    public let maps: Int
    public let agreement: Double
    public let heterogeneousRecall: Double
    public let heterogeneousPrecision: Double
    /// Two labellers on the 183 maps both labelled: raw agreement and Cohen's κ (the ceiling).
    public let labellerAgreement: Double
    public let kappa: Double
  }

  /// Measured by `Tests/Fixtures/analysis/tune_pattern_classifier.py` on
  /// `Tests/Fixtures/analysis/labelled/v2` (944 maps of 22 texts labelled by eye with its
  /// PROTOCOL.md, split by text; the release test `AnalysisLabelledSetTests` recomputes it
  /// with the encoder).
  public static let validation = Validation(
    maps: 472, agreement: 0.837, heterogeneousRecall: 0.55, heterogeneousPrecision: 0.57, labellerAgreement: 0.896,
    kappa: 0.78)

  /// The pattern of one map, from its ``MapFeatures`` vector.
  public func classify(_ features: some Collection<Float>) -> AttentionPattern {
    classify(PatternScores(features))
  }

  /// The pattern of one map and how far it is from another type: the smallest relative margin
  /// `(score − threshold) / threshold` of the tests that decided it (each on the side that
  /// gave this type), capped at 1 — 0 on a threshold, 1 when every deciding score is at least
  /// twice (or at most zero times) its threshold.
  public func decide(_ features: some Collection<Float>) -> (pattern: AttentionPattern, confidence: Float) {
    let s = PatternScores(features)
    func m(_ x: Float, _ t: Float) -> Float { (x - t) / t }
    let md = m(s.diagonal, diagonal)
    let mv = max(
      m(s.columnMass, columnMass), min(m(s.sharedProfile, sharedProfile), m(s.columnConcentration, columnConcentration))
    )
    let mb = s.isPair ? m(s.blockExcess, blockExcess) : -Float.infinity
    let pattern = classify(s)
    let margin: Float
    switch pattern {
    case .verticalDiagonal: margin = min(md, mv)
    case .diagonal: margin = min(md, -mv)
    case .vertical: margin = min(-md, mv)
    case .block: margin = min(-md, -mv, mb)
    case .heterogeneous: margin = min(-md, -mv, -mb)
    }
    return (pattern, min(1, max(0, margin)))
  }

  /// The pattern of one map, from its scores, by the rules above.
  public func classify(_ s: PatternScores) -> AttentionPattern {
    let hasDiagonal = s.diagonal >= diagonal
    let hasVertical =
      s.columnMass >= columnMass || (s.sharedProfile >= sharedProfile && s.columnConcentration >= columnConcentration)
    if hasDiagonal { return hasVertical ? .verticalDiagonal : .diagonal }
    if hasVertical { return .vertical }
    return s.isPair && s.blockExcess >= blockExcess ? .block : .heterogeneous
  }
}
