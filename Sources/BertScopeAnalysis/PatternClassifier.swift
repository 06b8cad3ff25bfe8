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
  /// How far the strongest column stands above a uniform one: `columnMass · L` (1 for uniform rows).
  public var columnRatio: Float
  /// The inputs of ``PatternClassifier``'s linear model, in the order of ``inputNames``
  /// (`Tests/Fixtures/analysis/tune_pattern_classifier.py`'s `scores`).
  public var inputs: [Float]

  /// The names of ``inputs``: `logDiagonal` = ln max(diagonal, 0.001), `logColumnRatio` =
  /// ln max(columnRatio, 0.001), `sharedProfile` clamped to [0, 2], `rowEntropy` = mean row
  /// entropy / ln L, `specialMass` and `punctMass` the features, `bandShare` = `bandOther` /
  /// the non-[CLS]/[SEP] mass, the four row-wise features (`MapFeatures` 20–23) as they are,
  /// `isPair` 0 or 1.
  public static let inputNames = [
    "logDiagonal", "columnMass", "logColumnRatio", "columnConcentration", "sharedProfile", "blockExcess", "rowEntropy",
    "specialMass", "punctMass", "bandShare", "darkColumn", "greyColumn", "darkBand", "nearBand", "isPair",
  ]

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
    columnRatio = columnMass * length
    inputs = [
      logf(max(diagonal, 1e-3)), columnMass, logf(max(columnRatio, 1e-3)), columnConcentration,
      min(max(sharedProfile, 0), 2), blockExcess, logLength > 0 ? x(.entropy) / logLength : 0, x(.specialMass),
      x(.punctMass), other > 1e-6 ? x(.bandOther) / other : 0, x(.darkColumn), x(.greyColumn), x(.darkBand),
      x(.nearBand), isPair ? 1 : 0,
    ]
  }
}

/// From map features to a pattern type: a multinomial logistic regression on
/// ``PatternScores/inputs`` (Kovaleva et al. 2019 §4.1 trained a CNN on the maps instead;
/// neither its labels nor its model were published), with one rule in front of it.
///
/// 1. *No structure*: when neither the strongest column nor the diagonal band gets 1.5 times
///    what uniform rows would give it (`columnRatio < 1.5` and `diagonal < 1.5`), the map is
///    heterogeneous. This only covers maps unlike any the model was fitted on (near-uniform
///    ones, whose row-wise features read "dark everywhere" because the image is scaled to the
///    map's largest entry); on the 944 labelled MiniLM maps the smallest `columnRatio` is 1.77,
///    so the rule decides none of them.
/// 2. Otherwise the type with the largest logit `W · (inputs − mean) / scale + b`, block only for
///    a pair.
///
/// Where the numbers come from: `Tests/Fixtures/analysis/tune_pattern_classifier.py` fitted
/// them (L2 penalty 0.003, full-batch gradient descent, deterministic) on the 472 maps of the
/// 11 *tune* texts of `Tests/Fixtures/analysis/labelled/v2` (labelled by eye with its
/// PROTOCOL.md) plus 1,000 synthetic prototypes at weight 0.2; `mean` and `scale` are the tune
/// maps' means and standard deviations; the penalty and the +1.0 added to the heterogeneous
/// bias were chosen by leave-one-text-out cross-validation on the tune texts (the best
/// agreement among the settings with heterogeneous recall ≥ 0.70 at precision ≥ 0.60:
/// 88.3 %, heterogeneous 0.74 / 0.68). The held-out texts were used once, to measure
/// ``validation``. `evaluation.json` there holds the same numbers at full precision.
public struct PatternClassifier: Sendable, Equatable, Codable {
  /// Which classifier made a result (stored with pattern counts, so that counts of different
  /// classifiers are not merged): ``current`` for this one.
  public var model: String = Self.current
  /// For a result written before the linear model: the old rules' thresholds as the file held
  /// them (`diagonal`, `columnMass`, …), kept so that the file reads back and writes out the
  /// same; nil for this classifier. They are not used to classify.
  public var legacyThresholds: [String: Float]?

  /// The name of this classifier: the linear model of issue 20.
  public static let current = "linear-2026-12"
  /// The name given to results written by the rules that came before it.
  public static let legacyRules = "rules-2026-11"

  /// The classifier fitted on the labelled MiniLM maps.
  public init() {}

  struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }

  public init(from decoder: any Swift.Decoder) throws {
    let c = try decoder.container(keyedBy: Key.self)
    if let name = try c.decodeIfPresent(String.self, forKey: Key(stringValue: "model")) {
      model = name
    } else {
      // Results written before the linear model hold the old rules' thresholds instead.
      model = Self.legacyRules
      var thresholds: [String: Float] = [:]
      for key in c.allKeys { thresholds[key.stringValue] = try c.decode(Float.self, forKey: key) }
      legacyThresholds = thresholds
    }
  }

  public func encode(to encoder: any Swift.Encoder) throws {
    var c = encoder.container(keyedBy: Key.self)
    if let thresholds = legacyThresholds {
      for (name, value) in thresholds.sorted(by: { $0.key < $1.key }) {
        try c.encode(value, forKey: Key(stringValue: name))
      }
    } else {
      try c.encode(model, forKey: Key(stringValue: "model"))
    }
  }

  /// How the classifier does on maps labelled by eye that it was not fitted on.
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

  /// Measured by `Tests/Fixtures/analysis/tune_pattern_classifier.py` on the held-out texts of
  /// `Tests/Fixtures/analysis/labelled/v2` (944 maps of 22 texts labelled by eye with its
  /// PROTOCOL.md, split by text; the release test `AnalysisLabelledSetTests` recomputes it
  /// with the encoder). Heterogeneous precision is below issue 20's 0.60.
  public static let validation = Validation(
    maps: 472, agreement: 0.856, heterogeneousRecall: 0.74, heterogeneousPrecision: 0.52, labellerAgreement: 0.896,
    kappa: 0.78)

  /// Rule 1's floor on `columnRatio` and `diagonal`.
  static let structureFloor: Float = 1.5
  /// `evaluation.json`'s `linear.mean`, per input.
  static let inputMean: [Float] = [
    0.5036626, 0.4289295, 2.001947, 0.2828304, 0.6856403, 0.1475859, 0.5820804, 0.4883345, 0.02112042, 0.307787,
    0.5849239, 0.7425847, 0.178348, 0.3309028, 0,
  ]
  /// `evaluation.json`'s `linear.std`, per input.
  static let inputScale: [Float] = [
    0.5968103, 0.1991937, 0.5969858, 0.1742646, 0.2280958, 0.2709945, 0.2079114, 0.1949156, 0.02827083, 0.2154597,
    0.2732459, 0.2411806, 0.2005328, 0.2308204, 1,
  ]
  /// `evaluation.json`'s `linear.W`: one row per ``AttentionPattern`` (raw value order), one
  /// column per input.
  static let weights: [[Float]] = [
    [
      -1.053991, 0.1330907, -0.2516816, 0.7120963, 1.838047, 0.06916176, 0.3920236, 0.1050409, -0.3687372, -0.2734375,
      0.8973145, -0.5571106, -0.360191, -0.3225761, 0.02550952,
    ],
    [
      1.022193, -0.1024487, 0.3359547, -0.3422506, -0.2820067, -0.08878341, -0.4495855, -0.375394, 0.3138643, 0.7156718,
      -0.7440366, -0.4451909, 0.1212748, 0.1362787, -0.151661,
    ],
    [
      0.4931864, 0.3127446, 0.3837975, -0.08695397, -0.9909248, 0.3856531, -0.7711333, 0.7218796, 0.2686942, 0.4776401,
      0.4175571, 1.228292, -0.06176335, 0.04642956, 0.09821076,
    ],
    [
      0.1099621, -0.09915649, -0.2244896, 0.1473282, -0.3852603, 0.3242604, 0.07960897, -0.4862924, 0.2776178,
      -0.5102172, 0.2118574, -0.01891524, 0.4359976, 0.6164551, -0.4960937,
    ],
    [
      -0.571351, -0.2442301, -0.2435809, -0.43022, -0.1798555, -0.6902918, 0.7490862, 0.0347659, -0.4914392, -0.4096572,
      -0.7826924, -0.2070757, -0.1353181, -0.4765873, 0.5240345,
    ],
  ]
  /// `evaluation.json`'s `linear.b` (its heterogeneous entry includes the +1.0).
  static let bias: [Float] = [3.733432, -2.172077, 1.344793, -1.934317, 0.02816857]

  /// The pattern of one map, from its ``MapFeatures`` vector.
  public func classify(_ features: some Collection<Float>) -> AttentionPattern {
    classify(PatternScores(features))
  }

  /// The pattern of one map and how sure the model is: the softmax probability of the type
  /// minus that of the runner-up (0 on a decision boundary, near 1 for a clear map; 1 for a
  /// map rule 1 decides).
  public func decide(_ features: some Collection<Float>) -> (pattern: AttentionPattern, confidence: Float) {
    let s = PatternScores(features)
    guard let z = logits(s) else { return (.heterogeneous, 1) }
    let order = z.indices.sorted { z[$0] > z[$1] || (z[$0] == z[$1] && $0 < $1) }
    let top = z[order[0]]
    let p = z.map { $0 == -.infinity ? 0 : expf($0 - top) }
    let sum = p.reduce(0, +)
    return (AttentionPattern(rawValue: order[0])!, min(1, max(0, (p[order[0]] - p[order[1]]) / sum)))
  }

  /// The pattern of one map, from its scores.
  public func classify(_ s: PatternScores) -> AttentionPattern {
    guard let z = logits(s) else { return .heterogeneous }
    var best = 0
    for k in 1..<z.count where z[k] > z[best] { best = k }
    return AttentionPattern(rawValue: best)!
  }

  /// The model's logits per ``AttentionPattern`` (block −∞ for a single text), or nil when
  /// rule 1 decides.
  public func logits(_ s: PatternScores) -> [Float]? {
    if s.columnRatio < Self.structureFloor && s.diagonal < Self.structureFloor { return nil }
    var x = s.inputs
    for k in x.indices { x[k] = (x[k] - Self.inputMean[k]) / Self.inputScale[k] }
    return AttentionPattern.allCases.map { p in
      if p == .block && !s.isPair { return -.infinity }
      let w = Self.weights[p.rawValue]
      var z = Self.bias[p.rawValue]
      for k in x.indices { z += w[k] * x[k] }
      return z
    }
  }
}
