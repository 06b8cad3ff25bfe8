import BertScope
import Foundation

/// `bertscope linguistic`: attention to linguistic features (Kovaleva et al. 2019 §4.4–4.5,
/// Figures 6–7) and syntactic heads (Clark et al. 2019 §4.2) over a CoNLL-U corpus.
///
/// | file | header |
/// |---|---|
/// | `features.csv` | `layer,head,feature,score`: per head the mean over the sentences that have the feature of its largest column mean (attention to the word from all words) |
/// | `cls_features.csv` | `layer,head,feature,score`: the same with the [CLS] row |
/// | `dependencies.csv` | `relation,direction,count,layer,head,accuracy` |
/// | `dependency_best.csv` | `relation,direction,count,best_layer,best_head,accuracy,baseline_offset,baseline_accuracy` |
/// | `linguistic.json` | all of it, the counts, the model, backend and options |
public struct LinguisticResult: AnalysisResult, Equatable {
  public static let name = "linguistic"
  public static let tableFiles = ["features.csv", "cls_features.csv", "dependencies.csv", "dependency_best.csv"]
  public static let featureHeader = ["layer", "head", "feature", "score"]
  public static let dependencyHeader = ["relation", "direction", "count", "layer", "head", "accuracy"]
  public static let bestHeader = [
    "relation", "direction", "count", "best_layer", "best_head", "accuracy", "baseline_offset", "baseline_accuracy",
  ]

  /// What the corpus held.
  public struct Counts: Codable, Sendable, Equatable {
    public var sentences = 0
    /// Longer than the model's maximum.
    public var skippedLong = 0
    /// A word gave no piece.
    public var skippedUnaligned = 0
    public var words = 0
    /// Specials included.
    public var tokens = 0
    /// Dependency arcs scored (the roots not counted).
    public var arcs = 0

    public init() {}
  }

  /// One feature's scores.
  public struct FeatureScores: Sendable, Equatable {
    public var feature: LinguisticFeature
    /// Sentences that have the feature (0 when read from a CSV without its JSON).
    public var sentences: Int
    /// [layer][head].
    public var scores: [[Double]]
  }

  /// One dependency relation in one direction.
  public struct Dependency: Sendable, Equatable {
    public var relation: String
    public var direction: DependencyDirection
    /// Arcs of the relation.
    public var count: Int
    /// [layer][head]: the share of arcs whose other end the head's row attends to most.
    public var accuracy: [[Double]]
    /// The best fixed offset k (predict the word k positions away) and its accuracy.
    public var baselineOffset: Int
    public var baselineAccuracy: Double

    /// The best head (0-based): highest accuracy, the lowest layer and head on ties.
    public var best: (layer: Int, head: Int, accuracy: Double) {
      var out = (layer: 0, head: 0, accuracy: -Double.infinity)
      for (l, row) in accuracy.enumerated() {
        for (h, v) in row.enumerated() where v > out.accuracy { out = (l, h, v) }
      }
      return out
    }
  }

  public var info: RunInfo
  public var counts: Counts
  /// Features that occur, in `LinguisticFeature` order (one that no sentence has is absent).
  public var features: [FeatureScores]
  public var clsFeatures: [FeatureScores]
  /// By count (descending), then relation name, then direction.
  public var dependencies: [Dependency]

  public init(
    info: RunInfo, counts: Counts, features: [FeatureScores], clsFeatures: [FeatureScores],
    dependencies: [Dependency]
  ) {
    self.info = info
    self.counts = counts
    self.features = features
    self.clsFeatures = clsFeatures
    self.dependencies = dependencies
  }

  /// The means of `state`'s sums.
  public init(_ state: LinguisticState, info: RunInfo) {
    let (layers, heads) = (state.layers, state.heads)
    func grid(_ value: (Int) -> Double) -> [[Double]] {
      (0..<layers).map { l in (0..<heads).map { value(l * heads + $0) } }
    }
    func scores(_ sums: [[Double]]) -> [FeatureScores] {
      LinguisticFeature.allCases.enumerated().compactMap { f, feature in
        let n = state.featureSentences[f]
        guard n > 0 else { return nil }
        return FeatureScores(feature: feature, sentences: n, scores: grid { sums[f][$0] / Double(n) })
      }
    }
    var counts = Counts()
    counts.sentences = state.sentences
    counts.skippedLong = state.skippedLong
    counts.skippedUnaligned = state.skippedUnaligned
    counts.words = state.words
    counts.tokens = state.tokens
    counts.arcs = state.arcs
    // The best offset: highest accuracy; ties → the smallest |k|, then the negative one.
    let offsetOrder = LinguisticState.offsets.indices.sorted {
      let (a, b) = (LinguisticState.offsets[$0], LinguisticState.offsets[$1])
      return (abs(a), a) < (abs(b), b)
    }
    var dependencies: [Dependency] = []
    for (relation, tally) in Self.ordered(state.relations) {
      let n = Double(tally.count)
      for (d, direction) in DependencyDirection.allCases.enumerated() {
        var best = offsetOrder[0]
        for k in offsetOrder where tally.baseline[d][k] > tally.baseline[d][best] { best = k }
        dependencies.append(
          Dependency(
            relation: relation, direction: direction, count: tally.count,
            accuracy: grid { Double(tally.correct[d][$0]) / n }, baselineOffset: LinguisticState.offsets[best],
            baselineAccuracy: Double(tally.baseline[d][best]) / n))
      }
    }
    self.init(
      info: info, counts: counts, features: scores(state.featureSums), clsFeatures: scores(state.clsFeatureSums),
      dependencies: dependencies)
  }

  /// Relations by count (descending), then name (byte order).
  static func ordered(_ relations: [String: LinguisticState.RelationTally]) -> [(
    String, LinguisticState.RelationTally
  )] {
    relations.sorted { a, b in
      a.value.count != b.value.count ? a.value.count > b.value.count : a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
    }.map { ($0.key, $0.value) }
  }

  /// The scores of `feature`, when some sentence has it.
  public func scores(_ feature: LinguisticFeature, cls: Bool = false) -> FeatureScores? {
    (cls ? clsFeatures : features).first { $0.feature == feature }
  }

  /// The relations in order, each once.
  public var relations: [(relation: String, count: Int)] {
    var seen = Set<String>()
    return dependencies.compactMap { seen.insert($0.relation).inserted ? ($0.relation, $0.count) : nil }
  }

  public var tables: [CSVTable] {
    func featureTable(_ list: [FeatureScores]) -> CSVTable {
      var t = CSVTable(Self.featureHeader)
      let layers = list.first?.scores.count ?? 0
      let heads = list.first?.scores.first?.count ?? 0
      for l in 0..<layers {
        for h in 0..<heads {
          for f in list {
            t.append([CSVTable.cell(l + 1), CSVTable.cell(h + 1), f.feature.rawValue, CSVTable.cell(f.scores[l][h])])
          }
        }
      }
      return t
    }
    var deps = CSVTable(Self.dependencyHeader)
    var best = CSVTable(Self.bestHeader)
    for d in dependencies {
      for (l, row) in d.accuracy.enumerated() {
        for (h, v) in row.enumerated() {
          deps.append([
            d.relation, d.direction.rawValue, CSVTable.cell(d.count), CSVTable.cell(l + 1), CSVTable.cell(h + 1),
            CSVTable.cell(v),
          ])
        }
      }
      let b = d.best
      best.append([
        d.relation, d.direction.rawValue, CSVTable.cell(d.count), CSVTable.cell(b.layer + 1), CSVTable.cell(b.head + 1),
        CSVTable.cell(b.accuracy), CSVTable.cell(d.baselineOffset), CSVTable.cell(d.baselineAccuracy),
      ])
    }
    return [featureTable(features), featureTable(clsFeatures), deps, best]
  }

  // MARK: Reading

  /// Reads the four tables (`features.csv` required, the others when present) and
  /// `linguistic.json` (the run and the counts) from `folder`.
  public static func read(from folder: URL) throws -> LinguisticResult {
    let features = try readFeatures(folder.appendingPathComponent(tableFiles[0]))
    let layers = features.first?.scores.count ?? 0
    let heads = features.first?.scores.first?.count ?? 0
    let info = try Self.info(in: folder, layers: layers, heads: heads)
    let clsURL = folder.appendingPathComponent(tableFiles[1])
    let cls = FileManager.default.fileExists(atPath: clsURL.path) ? try readFeatures(clsURL) : []
    var dependencies: [Dependency] = []
    let depURL = folder.appendingPathComponent(tableFiles[2])
    let bestURL = folder.appendingPathComponent(tableFiles[3])
    if FileManager.default.fileExists(atPath: depURL.path) && FileManager.default.fileExists(atPath: bestURL.path) {
      dependencies = try readDependencies(depURL, best: bestURL, layers: layers, heads: heads)
    }
    let extras = try json(Extras.self, in: folder)
    var withCounts = features
    for i in withCounts.indices { withCounts[i].sentences = extras?.sentences(withCounts[i].feature) ?? 0 }
    var clsCounts = cls
    for i in clsCounts.indices { clsCounts[i].sentences = extras?.sentences(clsCounts[i].feature) ?? 0 }
    return LinguisticResult(
      info: info, counts: extras?.counts ?? Counts(), features: withCounts, clsFeatures: clsCounts,
      dependencies: dependencies)
  }

  static func readFeatures(_ url: URL) throws -> [FeatureScores] {
    // The table may be empty after its header when no sentence had any feature but cls/sep;
    // cls and sep always occur, so an empty table is an error.
    let csv = try CSVFile(url: url, header: featureHeader)
    var cells: [LinguisticFeature: [Int: [Int: Double]]] = [:]
    for row in csv.rows {
      let (l, h) = (try csv.index(row, 0), try csv.index(row, 1))
      guard let feature = LinguisticFeature(rawValue: row.cells[2]) else {
        throw BertScopeError.invalidInput(
          "\(url.path):\(row.line): feature \"\(printable(row.cells[2]))\" is not one of \(LinguisticFeature.names.joined(separator: ", "))"
        )
      }
      guard cells[feature]?[l]?[h] == nil else {
        throw BertScopeError.invalidInput(
          "\(url.path):\(row.line): \(feature.rawValue) of layer \(l) head \(h) appears twice")
      }
      cells[feature, default: [:]][l, default: [:]][h] = try csv.number(row, 3)
    }
    var out: [FeatureScores] = []
    var shape: (Int, Int)?
    for feature in LinguisticFeature.allCases {
      guard let c = cells[feature] else { continue }
      let grid = try CSVFile.grid(c, path: url.path)
      if let shape, shape != (grid.count, grid[0].count) {
        throw BertScopeError.invalidInput(
          "\(url.path): \(feature.rawValue) covers another set of heads than the others")
      }
      shape = (grid.count, grid[0].count)
      out.append(FeatureScores(feature: feature, sentences: 0, scores: grid))
    }
    return out
  }

  static func readDependencies(_ url: URL, best: URL, layers: Int, heads: Int) throws -> [Dependency] {
    let csv = try CSVFile(url: url, header: dependencyHeader)
    struct Key: Hashable {
      var relation: String
      var direction: DependencyDirection
    }
    var order: [Key] = []
    var cells: [Key: (count: Int, grid: [Int: [Int: Double]])] = [:]
    for row in csv.rows {
      guard let direction = DependencyDirection(rawValue: row.cells[1]) else {
        throw BertScopeError.invalidInput(
          "\(url.path):\(row.line): direction \"\(printable(row.cells[1]))\" is not dependent-to-head or head-to-dependent"
        )
      }
      let key = Key(relation: row.cells[0], direction: direction)
      guard let count = Int(row.cells[2]), count >= 1 else {
        throw BertScopeError.invalidInput(
          "\(url.path):\(row.line): count \"\(printable(row.cells[2]))\" is not a number ≥ 1")
      }
      let (l, h) = (try csv.index(row, 3), try csv.index(row, 4))
      if cells[key] == nil {
        order.append(key)
        cells[key] = (count, [:])
      }
      guard cells[key]!.count == count, cells[key]!.grid[l]?[h] == nil else {
        throw BertScopeError.invalidInput(
          "\(url.path):\(row.line): \(key.relation) \(direction.rawValue) layer \(l) head \(h) repeats or changes its count"
        )
      }
      cells[key]!.grid[l, default: [:]][h] = try csv.number(row, 5)
    }
    let bestCSV = try CSVFile(url: best, header: bestHeader)
    var baselines: [Key: (Int, Double)] = [:]
    for row in bestCSV.rows {
      guard let direction = DependencyDirection(rawValue: row.cells[1]), let offset = Int(row.cells[6]) else {
        throw BertScopeError.invalidInput(
          "\(best.path):\(row.line): expected a direction and an integer baseline_offset")
      }
      baselines[Key(relation: row.cells[0], direction: direction)] = (offset, try bestCSV.number(row, 7))
    }
    return try order.map { key in
      let grid = try CSVFile.grid(cells[key]!.grid, path: url.path)
      guard grid.count == layers, grid[0].count == heads else {
        throw BertScopeError.invalidInput(
          "\(url.path): \(key.relation) \(key.direction.rawValue) covers \(grid.count) × \(grid[0].count) heads, features.csv \(layers) × \(heads)"
        )
      }
      guard let (offset, accuracy) = baselines[key] else {
        throw BertScopeError.invalidInput("\(best.path): no row for \(key.relation) \(key.direction.rawValue)")
      }
      return Dependency(
        relation: key.relation, direction: key.direction, count: cells[key]!.count, accuracy: grid,
        baselineOffset: offset, baselineAccuracy: accuracy)
    }
  }

  /// The keys of linguistic.json that the CSV files do not hold.
  struct Extras: Decodable {
    var counts: Counts
    var featureSentences: [String: Int]
    func sentences(_ f: LinguisticFeature) -> Int { featureSentences[f.rawValue] ?? 0 }
  }

  // MARK: JSON

  public func encode(to encoder: any Swift.Encoder) throws {
    var c = encoder.container(keyedBy: AnyKey.self)
    try info.encode(into: &c)
    try c.encode(counts, forKey: AnyKey("counts"))
    try c.encode(
      Dictionary(uniqueKeysWithValues: features.map { ($0.feature.rawValue, $0.sentences) }),
      forKey: AnyKey("featureSentences"))
    struct Feature: Encodable {
      var feature: String
      var sentences: Int
      var scores: [[JSONNumber]]
    }
    func list(_ f: [FeatureScores]) -> [Feature] {
      f.map {
        Feature(
          feature: $0.feature.rawValue, sentences: $0.sentences, scores: $0.scores.map { $0.map(JSONNumber.init) })
      }
    }
    try c.encode(list(features), forKey: AnyKey("features"))
    try c.encode(list(clsFeatures), forKey: AnyKey("clsFeatures"))
    struct Relation: Encodable {
      var relation: String
      var direction: String
      var count: Int
      var bestLayer: Int
      var bestHead: Int
      var accuracy: JSONNumber
      var baselineOffset: Int
      var baselineAccuracy: JSONNumber
      var heads: [[JSONNumber]]
    }
    try c.encode(
      dependencies.map { d in
        let b = d.best
        return Relation(
          relation: d.relation, direction: d.direction.rawValue, count: d.count, bestLayer: b.layer + 1,
          bestHead: b.head + 1, accuracy: JSONNumber(b.accuracy), baselineOffset: d.baselineOffset,
          baselineAccuracy: JSONNumber(d.baselineAccuracy), heads: d.accuracy.map { $0.map(JSONNumber.init) })
      }, forKey: AnyKey("dependencies"))
  }
}
