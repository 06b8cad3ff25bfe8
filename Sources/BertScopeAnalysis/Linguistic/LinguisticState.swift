import BertScope
import Foundation

/// The running sums of `bertscope linguistic` (Kovaleva et al. 2019 §4.4–4.5, Clark et al.
/// 2019 §4.2) over a CoNLL-U corpus: per head, the attention to each `LinguisticFeature` (the
/// column mean and the [CLS] row) and, per dependency relation, how often each head's strongest
/// attention lands on the other end of the arc, with the fixed-offset baselines. Sums and
/// counts only, so that shards merge exactly.
public struct LinguisticState: AnalysisState {
  /// The model's shape.
  public let layers: Int
  public let heads: Int
  /// Sentences analysed.
  public private(set) var sentences = 0
  /// Sentences skipped: longer than the model's maximum, or with a word that gives no piece.
  public private(set) var skippedLong = 0
  public private(set) var skippedUnaligned = 0
  /// Words and tokens (specials included) of the sentences analysed.
  public private(set) var words = 0
  public private(set) var tokens = 0
  /// `[feature][layer · heads + head]`: sums of the per-sentence scores; column mean / [CLS] row.
  public private(set) var featureSums: [[Double]]
  public private(set) var clsFeatureSums: [[Double]]
  /// Per feature, the sentences that have it (every head scores each of them once).
  public private(set) var featureSentences: [Int]
  /// Per relation label (DEPREL as written), its arcs and what predicted them.
  public private(set) var relations: [String: RelationTally]

  /// One relation's counts.
  public struct RelationTally: Codable, Sendable, Equatable {
    /// Arcs of the relation.
    public var count = 0
    /// `[direction][layer · heads + head]`: arcs whose other end the head's row attends to most.
    public var correct: [[Int]]
    /// `[direction][k]`: arcs the fixed offset `LinguisticState.offsets[k]` predicts.
    public var baseline: [[Int]]

    init(maps: Int) {
      correct = Array(repeating: Array(repeating: 0, count: maps), count: DependencyDirection.allCases.count)
      baseline = Array(
        repeating: Array(repeating: 0, count: LinguisticState.offsets.count), count: DependencyDirection.allCases.count)
    }

    mutating func merge(_ other: RelationTally) throws {
      count = try addCount(count, other.count)
      for d in correct.indices {
        for i in correct[d].indices { correct[d][i] = try addCount(correct[d][i], other.correct[d][i]) }
        for k in baseline[d].indices { baseline[d][k] = try addCount(baseline[d][k], other.baseline[d][k]) }
      }
    }
  }

  /// The baseline offsets: predict the word k positions from the row's word (Clark et al.).
  public static let offsets = [-5, -4, -3, -2, -1, 1, 2, 3, 4, 5]

  /// Empty sums for a model of `layers` × `heads`.
  public init(layers: Int, heads: Int) {
    self.layers = layers
    self.heads = heads
    let f = LinguisticFeature.allCases.count
    featureSums = Array(repeating: Array(repeating: 0, count: layers * heads), count: f)
    clsFeatureSums = featureSums
    featureSentences = Array(repeating: 0, count: f)
    relations = [:]
  }

  /// Counts a sentence that could not be analysed.
  public mutating func skip(_ failure: WordAlignment.Failure) {
    switch failure {
    case .tooLong: skippedLong += 1
    case .noPieces: skippedUnaligned += 1
    }
  }

  /// What one map of one sentence contributes: per feature its score (nil: the sentence has
  /// none) from the column mean and from the [CLS] row, and per word row the word it attends to
  /// most.
  public struct MapScores: Sendable, Equatable {
    public var feature: [Double?]
    public var clsFeature: [Double?]
    /// `prediction[x]` for word x (1…n; index 0 unused): the word 1…n other than x with the
    /// largest attention in x's row, the lowest on ties; 0 when the sentence has one word.
    public var prediction: [Int]

    public init(feature: [Double?], clsFeature: [Double?], prediction: [Int]) {
      self.feature = feature
      self.clsFeature = clsFeature
      self.prediction = prediction
    }
  }

  /// The scores of one word-level map `w` ((n + 2)², row-major) of a sentence whose feature
  /// targets are `targets` (per feature, word positions).
  public static func scores(wordMap w: UnsafeBufferPointer<Double>, words n: Int, targets: [[Int]]) -> MapScores {
    let P = n + 2
    precondition(w.count >= P * P)
    var column = [Double](repeating: 0, count: P)
    for a in 0..<P {
      for b in 0..<P { column[b] += w[a * P + b] }
    }
    for b in 0..<P { column[b] /= Double(P) }
    let feature = targets.map { t in t.isEmpty ? nil : t.map { column[$0] }.max() }
    let cls = targets.map { t in t.isEmpty ? nil : t.map { w[$0] }.max() }
    var prediction = [Int](repeating: 0, count: n + 1)
    for x in stride(from: 1, through: n, by: 1) {
      var best = 0
      var value = -Double.infinity
      for j in 1...n where j != x && w[x * P + j] > value {
        best = j
        value = w[x * P + j]
      }
      prediction[x] = best
    }
    return MapScores(feature: feature, clsFeature: cls, prediction: prediction)
  }

  /// Adds a sentence: `maps[layer · heads + head]` its map scores (``scores(wordMap:words:targets:)``),
  /// `alignment` its tokens.
  public mutating func add(_ sentence: CoNLLUSentence, alignment: WordAlignment, targets: [[Int]], maps: [MapScores]) {
    precondition(maps.count == layers * heads && targets.count == LinguisticFeature.allCases.count)
    sentences += 1
    words += sentence.words.count
    tokens += alignment.encoding.count
    for f in targets.indices where !targets[f].isEmpty {
      featureSentences[f] += 1
      for m in maps.indices {
        featureSums[f][m] += maps[m].feature[f]!
        clsFeatureSums[f][m] += maps[m].clsFeature[f]!
      }
    }
    let n = sentence.words.count
    for (i0, word) in sentence.words.enumerated() {
      guard let h = word.head, h >= 1, h <= n, let relation = word.deprel else { continue }
      let i = i0 + 1
      var tally = relations[relation] ?? RelationTally(maps: maps.count)
      tally.count += 1
      for m in maps.indices {
        if maps[m].prediction[i] == h { tally.correct[0][m] += 1 }
        if maps[m].prediction[h] == i { tally.correct[1][m] += 1 }
      }
      for (k, offset) in Self.offsets.enumerated() {
        if i + offset == h { tally.baseline[0][k] += 1 }
        if h + offset == i { tally.baseline[1][k] += 1 }
      }
      relations[relation] = tally
    }
  }

  /// Adds `other`'s sums and counts; throws when the shapes differ.
  public mutating func merge(_ other: LinguisticState) throws {
    guard other.layers == layers, other.heads == heads else {
      throw BertScopeError.invalidInput(
        "cannot merge linguistic sums of \(layers) × \(heads) heads with \(other.layers) × \(other.heads)")
    }
    var merged = self
    merged.sentences = try addCount(sentences, other.sentences)
    merged.skippedLong = try addCount(skippedLong, other.skippedLong)
    merged.skippedUnaligned = try addCount(skippedUnaligned, other.skippedUnaligned)
    merged.words = try addCount(words, other.words)
    merged.tokens = try addCount(tokens, other.tokens)
    for f in featureSums.indices {
      merged.featureSentences[f] = try addCount(featureSentences[f], other.featureSentences[f])
      for m in featureSums[f].indices {
        merged.featureSums[f][m] += other.featureSums[f][m]
        merged.clsFeatureSums[f][m] += other.clsFeatureSums[f][m]
      }
    }
    for (relation, tally) in other.relations {
      if var mine = merged.relations[relation] {
        try mine.merge(tally)
        merged.relations[relation] = mine
      } else {
        merged.relations[relation] = tally
      }
    }
    self = merged
  }

  /// Arcs counted, over all relations.
  public var arcs: Int { relations.values.reduce(0) { $0 + $1.count } }

  enum CodingKeys: String, CodingKey {
    case layers, heads, sentences, skippedLong, skippedUnaligned, words, tokens, featureSums, clsFeatureSums,
      featureSentences, relations
  }

  /// Decodes the sums and refuses any whose shapes or counts no run can have produced.
  public init(from decoder: any Swift.Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    layers = try c.decode(Int.self, forKey: .layers)
    heads = try c.decode(Int.self, forKey: .heads)
    sentences = try c.decode(Int.self, forKey: .sentences)
    skippedLong = try c.decode(Int.self, forKey: .skippedLong)
    skippedUnaligned = try c.decode(Int.self, forKey: .skippedUnaligned)
    words = try c.decode(Int.self, forKey: .words)
    tokens = try c.decode(Int.self, forKey: .tokens)
    featureSums = try c.decode([[Double]].self, forKey: .featureSums)
    clsFeatureSums = try c.decode([[Double]].self, forKey: .clsFeatureSums)
    featureSentences = try c.decode([Int].self, forKey: .featureSentences)
    relations = try c.decode([String: RelationTally].self, forKey: .relations)
    let maps = layers.multipliedReportingOverflow(by: heads)
    let f = LinguisticFeature.allCases.count
    let d = DependencyDirection.allCases.count
    guard layers >= 1, heads >= 1, !maps.overflow, maps.partialValue <= 1 << 20,
      [sentences, skippedLong, skippedUnaligned, words, tokens].allSatisfy({ $0 >= 0 }),
      featureSums.count == f, clsFeatureSums.count == f, featureSentences.count == f,
      featureSentences.allSatisfy({ $0 >= 0 && $0 <= sentences }),
      (featureSums + clsFeatureSums).allSatisfy({ $0.count == maps.partialValue && $0.allSatisfy(\.isFinite) }),
      relations.values.allSatisfy({ t in
        t.count >= 0 && t.correct.count == d && t.baseline.count == d
          && t.correct.allSatisfy { $0.count == maps.partialValue && $0.allSatisfy { $0 >= 0 && $0 <= t.count } }
          && t.baseline.allSatisfy { $0.count == Self.offsets.count && $0.allSatisfy { $0 >= 0 && $0 <= t.count } }
      })
    else { throw InvalidValue("linguistic sums of impossible shapes or counts") }
  }
}
