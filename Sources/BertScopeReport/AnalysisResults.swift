import BertScope
import BertScopeAnalysis
import Foundation

/// The analyses' outputs as they lie in a folder, read back through the same typed results
/// that wrote them: what a report is drawn from. `bertscope report` writes these files and
/// then reads them with `AnalysisResults.load(from:)`, so a report regenerated later with
/// `--from DIR` (no model run) shows exactly the same numbers, and every figure can be
/// checked against its CSV.
///
/// | files | read into |
/// |---|---|
/// | `patterns.csv`, `patterns_by_layer.csv`, `patterns.json` | `patterns` (`PatternsResult`) |
/// | `special.csv`, `cls_row.csv`, `special.json` | `special` (`SpecialResult`) |
/// | `ablation.csv`, `ablation.json` | `ablation` (`AblationResult`) |
/// | `compare.csv`, `compare.json` | `comparison` (`CompareResult`) |
/// | `features.csv`, `cls_features.csv`, `dependencies.csv`, `dependency_best.csv`, `linguistic.json` | `linguistic` (`LinguisticResult`) |
/// | `features_compare.csv`, `cls_features_compare.csv`, `linguistic_compare.json` | `linguisticComparison` |
/// | `head_distances.csv`, `head_mds.csv`, `clusters.json` | `clusters` (`ClustersResult`) |
/// | `relations.csv`, `relations.json` (`bertscope relations`, `report --relations`) | `relations` (`RelationsResult`) |
/// | `rollout.npy` [layers, L, L], `tokens.json` (`bertscope rollout`, `report --rollout`) | `rollout` |
/// | `example/attention.npy` [layers, heads, L, L], `example/tokens.json` | `example` |
/// | `report.json` (stage timings, corpus) | `run` (`ReportRecord`) |
///
/// Every part is optional; a file that is present but malformed is an error naming it (and
/// the line, for CSV).
public struct AnalysisResults: Sendable {
  /// One example's maps, as `bertscope attention` writes them.
  public struct Example: Sendable {
    /// The word pieces, [CLS] and [SEP] included: L of them.
    public var tokens: [String]
    /// Each token's segment (token type) id: 0 for the first text, 1 for a pair's second.
    public var segments: [Int32]
    /// maps[layer][head], 0-based, each (L, L) with rows = queries.
    public var maps: [[Matrix]]
    /// The input text, when `tokens.json` records it.
    public var text: String?
    /// The second text of a pair.
    public var pair: String?
    /// Where it came from, e.g. "line 1 of samples/wordnet-sentences.txt".
    public var source: String?

    /// An example from its parts (`maps` as `[layers][heads]` of L × L).
    public init(
      tokens: [String], segments: [Int32], maps: [[Matrix]], text: String? = nil, pair: String? = nil,
      source: String? = nil
    ) {
      self.tokens = tokens
      self.segments = segments
      self.maps = maps
      self.text = text
      self.pair = pair
      self.source = source
    }
  }

  /// One text's attention rollout, as `bertscope rollout` writes it.
  public struct RolloutMaps: Sendable {
    /// The tokens, L of them.
    public var tokens: [String]
    /// layers[l] = R_{l+1}, (L, L): rows are tokens after that layer, columns input tokens.
    public var layers: [Matrix]
    /// The input text, when `tokens.json` records it.
    public var text: String?

    /// Rollout maps from their parts.
    public init(tokens: [String], layers: [Matrix], text: String? = nil) {
      self.tokens = tokens
      self.layers = layers
      self.text = text
    }
  }

  /// The folder the files were read from.
  public var folder: URL
  /// `patterns.csv`, `patterns_by_layer.csv`, `patterns.json`.
  public var patterns: PatternsResult?
  /// `special.csv`, `cls_row.csv`, `special.json`.
  public var special: SpecialResult?
  /// `ablation.csv`, `ablation.json`.
  public var ablation: AblationResult?
  /// `compare.csv`, `compare.json`.
  public var comparison: CompareResult?
  /// `features.csv`, …, `linguistic.json` (`report --conllu`, `bertscope linguistic`).
  public var linguistic: LinguisticResult?
  /// `features_compare.csv`, `cls_features_compare.csv` (`linguistic --model-b`).
  public var linguisticComparison: LinguisticComparisonResult?
  /// `head_distances.csv`, `head_mds.csv`, `clusters.json` (`bertscope clusters`, `report`).
  public var clusters: ClustersResult?
  /// `example/attention.npy` and `example/tokens.json`: the model view's maps.
  public var example: Example?
  /// `relations.csv`, `relations.json`.
  public var relations: RelationsResult?
  /// `rollout.npy` and `tokens.json`.
  public var rollout: RolloutMaps?
  /// `report.json`: what `bertscope report` ran and the stage timings.
  public var run: ReportRecord?

  /// Results from their parts (nil: absent).
  public init(
    folder: URL, patterns: PatternsResult? = nil, special: SpecialResult? = nil, ablation: AblationResult? = nil,
    comparison: CompareResult? = nil, example: Example? = nil, run: ReportRecord? = nil
  ) {
    self.folder = folder
    self.patterns = patterns
    self.special = special
    self.ablation = ablation
    self.comparison = comparison
    self.example = example
    self.run = run
  }

  /// The first run information found (model, backend, corpus size).
  public var info: RunInfo? {
    patterns?.info ?? special?.info ?? ablation?.info ?? comparison?.info ?? linguistic?.info ?? clusters?.info
      ?? relations?.info
  }

  /// (layers, heads) of the model, from whichever part is present.
  public var shape: (layers: Int, heads: Int)? {
    if let i = info { return (i.model.layers, i.model.heads) }
    if let e = example { return (e.maps.count, e.maps.first?.count ?? 0) }
    return nil
  }

  static let exampleFiles = ["example/attention.npy", "example/tokens.json"]
  /// What `bertscope rollout --out DIR` writes (and `report --rollout`).
  public static let rolloutFiles = ["rollout.npy", "tokens.json"]

  /// The file names the analyses and `bertscope report` write, copied by `--from`.
  public static let fileNames =
    PatternsResult.fileNames + SpecialResult.fileNames + AblationResult.fileNames + CompareResult.fileNames
    + LinguisticResult.fileNames + LinguisticComparisonResult.fileNames + ClustersResult.fileNames
    + RelationsResult.fileNames + [ReportRecord.fileName] + exampleFiles + rolloutFiles

  /// Reads every analysis output present in `folder`; throws when none is, or when one is
  /// malformed or disagrees with the others about the model's shape.
  public static func load(from folder: URL) throws -> AnalysisResults {
    var r = AnalysisResults(folder: folder)
    func has(_ name: String) -> Bool {
      FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path)
    }
    if has(PatternsResult.tableFiles[0]) { r.patterns = try PatternsResult.read(from: folder) }
    if has(SpecialResult.tableFiles[0]) { r.special = try SpecialResult.read(from: folder) }
    if has(AblationResult.tableFiles[0]) { r.ablation = try AblationResult.read(from: folder) }
    if has(CompareResult.tableFiles[0]) { r.comparison = try CompareResult.read(from: folder) }
    if has(LinguisticResult.tableFiles[0]) { r.linguistic = try LinguisticResult.read(from: folder) }
    if has(LinguisticComparisonResult.tableFiles[0]) {
      r.linguisticComparison = try LinguisticComparisonResult.read(from: folder)
    }
    if has(ClustersResult.tableFiles[0]) { r.clusters = try ClustersResult.read(from: folder) }
    if has(exampleFiles[0]) { r.example = try readExample(folder) }
    if has(RelationsResult.tableFiles[0]) { r.relations = try RelationsResult.read(from: folder) }
    if has(rolloutFiles[0]) { r.rollout = try readRollout(folder) }
    if has(ReportRecord.fileName) {
      r.run = try AnalysisJSON.read(ReportRecord.self, from: folder.appendingPathComponent(ReportRecord.fileName))
    }
    guard
      r.patterns != nil || r.special != nil || r.ablation != nil || r.comparison != nil || r.linguistic != nil
        || r.clusters != nil || r.example != nil || r.relations != nil || r.rollout != nil
    else {
      let tables =
        [
          PatternsResult.self, SpecialResult.self, AblationResult.self, CompareResult.self, LinguisticResult.self,
          ClustersResult.self,
        ] as [any AnalysisResult.Type]
      throw BertScopeError.invalidInput(
        "\(folder.path): no analysis outputs (\(tables.map { $0.tableFiles[0] }.joined(separator: ", ")) or \(exampleFiles[0]))"
      )
    }
    var shapes: [(String, Int, Int)] = []
    if let p = r.patterns { shapes.append((PatternsResult.tableFiles[0], p.perHead.count, p.perHead[0].count)) }
    if let s = r.special { shapes.append((SpecialResult.tableFiles[0], s.perHead.count, s.perHead[0].count)) }
    if let a = r.ablation { shapes.append((AblationResult.tableFiles[0], a.layers, a.heads)) }
    if let c = r.comparison { shapes.append((CompareResult.tableFiles[0], c.cosine.layers, c.cosine.heads)) }
    if let l = r.linguistic, let f = l.features.first {
      shapes.append((LinguisticResult.tableFiles[0], f.scores.count, f.scores[0].count))
    }
    if let c = r.clusters { shapes.append((ClustersResult.tableFiles[0], c.layers, c.heads)) }
    if let e = r.example { shapes.append((exampleFiles[0], e.maps.count, e.maps[0].count)) }
    if let rel = r.relations {
      shapes.append((RelationsResult.tableFiles[0], rel.scores.layers, rel.scores.heads))
    }
    if let ro = r.rollout, let first = shapes.first, ro.layers.count != first.1 {
      throw BertScopeError.invalidInput(
        "\(folder.path): \(first.0) has \(first.1) layers but \(rolloutFiles[0]) has \(ro.layers.count): "
          + "the files come from different models")
    }
    if let first = shapes.first, let other = shapes.first(where: { $0.1 != first.1 || $0.2 != first.2 }) {
      throw BertScopeError.invalidInput(
        "\(folder.path): \(first.0) has \(first.1) layers × \(first.2) heads but \(other.0) has \(other.1) × \(other.2): "
          + "the files come from different models")
    }
    return r
  }

  static func readRollout(_ folder: URL) throws -> RolloutMaps {
    let npyURL = folder.appendingPathComponent(rolloutFiles[0])
    let npy = try NPY.read(npyURL)
    guard npy.shape.count == 3, npy.shape[1] == npy.shape[2], npy.shape[0] > 0, npy.shape[1] > 0 else {
      throw BertScopeError.invalidInput("\(npyURL.path): shape \(npy.shape), expected [layers, L, L]")
    }
    let (layers, l) = (npy.shape[0], npy.shape[1])
    let tokensURL = folder.appendingPathComponent(rolloutFiles[1])
    guard FileManager.default.fileExists(atPath: tokensURL.path) else {
      throw BertScopeError.invalidInput("\(tokensURL.path): missing (the tokens of \(rolloutFiles[0]))")
    }
    let tokens = try TokensFile.read(from: tokensURL, length: l)
    let maps = try (0..<layers).map { li in
      try Matrix(rows: l, columns: l, values: Array(npy.values[(li * l * l)..<((li + 1) * l * l)]))
    }
    return RolloutMaps(tokens: tokens.tokens, layers: maps, text: tokens.text)
  }

  static func readExample(_ folder: URL) throws -> Example {
    let npyURL = folder.appendingPathComponent(exampleFiles[0])
    let npy = try NPY.read(npyURL)
    guard npy.shape.count == 4, npy.shape[2] == npy.shape[3], npy.shape[0] > 0, npy.shape[1] > 0, npy.shape[2] > 0
    else {
      throw BertScopeError.invalidInput("\(npyURL.path): shape \(npy.shape), expected [layers, heads, L, L]")
    }
    let (layers, heads, l) = (npy.shape[0], npy.shape[1], npy.shape[2])
    let tokensURL = folder.appendingPathComponent(exampleFiles[1])
    guard FileManager.default.fileExists(atPath: tokensURL.path) else {
      throw BertScopeError.invalidInput("\(tokensURL.path): missing (the tokens of \(exampleFiles[0]))")
    }
    let tokens = try TokensFile.read(from: tokensURL, length: l)
    // Only complete maps make a model view (`bertscope attention --layers/--heads` may hold a subset).
    if let held = tokens.layers, held != Array(1...layers) {
      throw BertScopeError.invalidInput("\(tokensURL.path): holds layers \(held), the report needs all of them")
    }
    let block = l * l
    let maps = try (0..<layers).map { li in
      try (0..<heads).map { hi in
        let start = (li * heads + hi) * block
        return try Matrix(rows: l, columns: l, values: Array(npy.values[start..<(start + block)]))
      }
    }
    return Example(
      tokens: tokens.tokens, segments: tokens.segments, maps: maps, text: tokens.text, pair: tokens.pair,
      source: tokens.source)
  }
}

/// `report.json`: what `bertscope report` ran and how long each stage took.
public struct ReportRecord: Codable, Sendable, Equatable {
  /// `report.json`.
  public static let fileName = "report.json"

  /// One timed step of a report run, as its summary table lists it.
  public struct Stage: Codable, Sendable, Equatable {
    /// What ran, e.g. "load model" or "patterns + special (200 texts, one pass)".
    public var name: String
    /// Wall-clock seconds it took (NaN when `report.json` holds null).
    public var seconds: Double

    /// A stage that took `seconds`.
    public init(name: String, seconds: Double) {
      self.name = name
      self.seconds = seconds
    }

    enum CodingKeys: String, CodingKey { case name, seconds }

    public init(from decoder: any Swift.Decoder) throws {
      let c = try decoder.container(keyedBy: CodingKeys.self)
      name = try c.decode(String.self, forKey: .name)
      seconds = try c.decode(JSONNumber.self, forKey: .seconds).orNaN
    }

    public func encode(to encoder: any Swift.Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(name, forKey: .name)
      try c.encode(JSONNumber(seconds), forKey: .seconds)
    }
  }

  /// The stages in the order they ran, ending with "figures and page": the drawing of the
  /// page, which the page itself does not show (a redraw replaces it with its own).
  public var stages: [Stage] = []
  /// The corpus of the patterns, special-token and comparison runs.
  public var input: String?
  /// Texts of `input` analysed.
  public var examples: Int?
  /// The corpus of the ablation.
  public var ablationInput: String?
  /// The most texts of `ablationInput` the ablation used, from its start.
  public var ablationLimit: Int?
  /// The day the numbers were made (ISO 8601).
  public var created: String?
  /// The command line that made them.
  public var command: String?

  /// An empty record (nothing ran yet).
  public init() {}
}
