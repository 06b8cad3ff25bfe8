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
/// Where the numbers come from: `Tests/Fixtures/analysis/tune_pattern_classifier.py --all
/// --sets v2,v3,v4,v5 --out v6 --rule-recall 0.75` fitted them (L2 penalty 0.001, full-batch
/// gradient descent, deterministic) on every map labelled by eye in
/// `Tests/Fixtures/analysis/labelled/v2` to `v5` (2,240 maps of 40 texts, PROTOCOL.md there) plus
/// 1,000 synthetic prototypes at weight 0.2; `mean` and `scale` are those maps' means and
/// standard deviations. The penalty and the +0.75 added to the heterogeneous bias were chosen
/// by leave-one-text-out cross-validation over the 40 texts, by a rule written down before
/// (`labelled/v6/DECISION.md`: the best agreement among the settings with heterogeneous recall
/// ≥ 0.75 at precision ≥ 0.65; CV 86.8 %, heterogeneous 0.77 / 0.67). The model was frozen in
/// `labelled/v6/frozen-model.json` before the fresh sets `v6` (6 texts no earlier set holds, all
/// 72 maps of each, two new labellers) and `v7` (16 more texts, four more labellers) were
/// labelled, and scored on them once, pooled, by the rule `labelled/v7/DECISION.md` fixed before
/// v7 was drawn: ``validation``. `v7/evaluation-pooled.json` holds the same numbers at full
/// precision; the earlier fits and their fresh sets are in `Tests/Fixtures/analysis/README.md`.
public struct PatternClassifier: Sendable, Equatable, Codable {
  /// Which classifier made a result (stored with pattern counts, so that counts of different
  /// classifiers are not merged): ``current`` for this one.
  public var model: String = Self.current
  /// For a result written before the linear model: the old rules' thresholds as the file held
  /// them (`diagonal`, `columnMass`, …), kept so that the file reads back and writes out the
  /// same; nil for this classifier. They are not used to classify.
  public var legacyThresholds: [String: Float]?

  /// The name of this classifier: the linear model of issue 20, fitted on v2–v5 (results of
  /// its first fit, on half of v2, were named `linear-2026-12`).
  public static let current = "linear-2026-12-v6"
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
    /// Fresh maps: every map of 22 texts of the sample corpus (all-MiniLM-L6-v2), labelled after
    /// the classifier was frozen (`labelled/v6` and `labelled/v7`).
    public let maps: Int
    public let agreement: Double
    public let heterogeneousRecall: Double
    public let heterogeneousPrecision: Double
    /// Two labellers on the 240 maps labelled twice: raw agreement and Cohen's κ (the ceiling).
    public let labellerAgreement: Double
    public let kappa: Double
  }

  /// Measured by `Tests/Fixtures/analysis/tune_pattern_classifier.py --fresh --set v6,v7 --model v6`
  /// on `Tests/Fixtures/analysis/labelled/v6` and `v7` pooled (1,584 maps of 22 texts labelled by
  /// eye with PROTOCOL.md after this model was frozen; the release test `AnalysisLabelledSetTests`
  /// recomputes it with the encoder). A bootstrap over texts gives agreement 84.0–88.8 %,
  /// heterogeneous recall 0.68–0.85 and precision 0.61–0.73 (95 %). On v6 alone (432 maps)
  /// heterogeneous precision was 0.59, one map short of issue 20's 0.60; on the earlier fresh sets
  /// the earlier fits missed other targets (`Tests/Fixtures/analysis/README.md`).
  public static let validation = Validation(
    maps: 1584, agreement: 0.865, heterogeneousRecall: 0.759, heterogeneousPrecision: 0.679,
    labellerAgreement: 0.875, kappa: 0.75)

  /// Rule 1's floor on `columnRatio` and `diagonal`.
  static let structureFloor: Float = 1.5
  /// `frozen-model.json`'s `mean`, per input.
  static let inputMean: [Float] = [
    0.4642202, 0.4401516, 2.007578, 0.2897435, 0.6938344, 0.1415522, 0.5819326, 0.4958527, 0.01565893, 0.300793,
    0.6008228, 0.7565731, 0.1688614, 0.3150967, 0,
  ]
  /// `frozen-model.json`'s `std`, per input.
  static let inputScale: [Float] = [
    0.5760245, 0.1970054, 0.5714653, 0.1746425, 0.2184561, 0.2727575, 0.2028718, 0.1928426, 0.02892459, 0.2057327,
    0.2719172, 0.2374019, 0.1829395, 0.2191369, 1,
  ]
  /// `frozen-model.json`'s `W`: one row per ``AttentionPattern`` (raw value order), one
  /// column per input.
  static let weights: [[Float]] = [
    [
      -0.7868056, -0.08598455, -0.5078896, 1.15241, 2.427698, -0.3720476, 0.515442, 0.3002731, -0.04936888,
      -0.1294979, 0.6391001, -0.3002732, -0.4445072, 0.08276567, 0.6124001,
    ],
    [
      0.9389916, -0.5212585, 0.7589791, -1.401516, -1.172615, 0.1842548, -0.7386859, 0.1084373, -0.07012037,
      0.4106537, -0.863266, 0.02009045, -0.01735832, -0.03028696, -0.5442326,
    ],
    [
      0.7136252, 0.332781, 0.4877533, -0.1864829, -1.407384, -0.08022347, -0.7947796, 0.6647351, -0.1063795, 0.308679,
      0.7737083, 1.134621, -0.3530276, 0.07784354, -0.1799344,
    ],
    [
      -0.2979561, 0.1958819, -0.6515916, 0.2122102, -0.1376114, 0.7852657, 0.03107462, -0.5513877, 0.3096177,
      -0.4511927, 0.2085348, -0.1511687, 0.5195072, 0.1612184, -0.4135068,
    ],
    [
      -0.567855, 0.07858017, -0.0872512, 0.2233787, 0.2899115, -0.5172494, 0.9869489, -0.5220578, -0.08374897,
      -0.138642, -0.7580771, -0.7032699, 0.2953859, -0.2915406, 0.5252737,
    ],
  ]
  /// `frozen-model.json`'s `b` (its heterogeneous entry includes the +0.75).
  static let bias: [Float] = [3.751145, -2.747731, 1.148973, -1.950262, 0.5478748]

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
