import BertScope
import Foundation

/// Shares of the five pattern types, in `AttentionPattern.allCases` order (sum 1, or all 0
/// when nothing was counted).
public struct PatternShares: Sendable, Equatable {
  /// One share per `AttentionPattern`, indexed by its raw value.
  public var values: [Double]

  /// Shares in `AttentionPattern.allCases` order (five values).
  public init(_ values: [Double]) {
    precondition(values.count == AttentionPattern.allCases.count)
    self.values = values
  }

  /// The share of `pattern`.
  public subscript(_ pattern: AttentionPattern) -> Double { values[pattern.rawValue] }

  /// The column names: `AttentionPattern` names (`vertical+diagonal` for the mixed type).
  public static let names = AttentionPattern.allCases.map(\.name)

  func encode(into c: inout KeyedEncodingContainer<AnyKey>) throws {
    try AnalysisJSON.encode(values, keys: Self.names, into: &c)
  }

  init(from c: KeyedDecodingContainer<AnyKey>) throws {
    self.init(try AnalysisJSON.numbers(Self.names, from: c))
  }
}

/// `bertscope patterns`: the share of examples in which each (layer, head) map is of each
/// pattern type (Kovaleva et al. 2019 §4.1, Figure 2).
///
/// Files: `patterns.csv` (`layer,head,vertical,diagonal,vertical+diagonal,block,heterogeneous`),
/// `patterns_by_layer.csv` (`layer,…`: per layer, over heads × examples) and `patterns.json`
/// (the same numbers, the overall shares, the classifier's thresholds and the run).
public struct PatternsResult: AnalysisResult, Equatable {
  /// `patterns.json`.
  public static let name = "patterns"
  /// Per head, then per layer.
  public static let tableFiles = ["patterns.csv", "patterns_by_layer.csv"]
  /// `patterns.csv`: `layer,head,vertical,diagonal,vertical+diagonal,block,heterogeneous`.
  public static let headHeader = ["layer", "head"] + PatternShares.names
  /// `patterns_by_layer.csv`: `layer,vertical,…,heterogeneous`.
  public static let layerHeader = ["layer"] + PatternShares.names

  /// The run that made the numbers.
  public var info: RunInfo
  /// [layer][head], 0-based.
  public var perHead: [[PatternShares]]
  /// [layer]: over all heads × examples of the layer (Figure 2).
  public var perLayer: [PatternShares]
  /// Over every map of the model.
  public var overall: PatternShares
  /// The classifier the maps were classified with (`{"model": …}` in patterns.json).
  public var thresholds: PatternClassifier

  /// A result from its parts (as read from files).
  public init(
    info: RunInfo, perHead: [[PatternShares]], perLayer: [PatternShares], overall: PatternShares,
    thresholds: PatternClassifier
  ) {
    self.info = info
    self.perHead = perHead
    self.perLayer = perLayer
    self.overall = overall
    self.thresholds = thresholds
  }

  /// The result of `counts`, classified with `classifier`.
  public init(counts: PatternCounts, classifier: PatternClassifier, info: RunInfo) {
    self.init(
      info: info,
      perHead: (0..<counts.layers).map { l in
        (0..<counts.heads).map { PatternShares(counts.fractions(layer: l, head: $0)) }
      },
      perLayer: (0..<counts.layers).map { PatternShares(counts.layerFractions($0)) },
      overall: PatternShares(counts.overallFractions), thresholds: classifier)
  }

  /// `patterns.csv` and `patterns_by_layer.csv`, numbers with 6 decimals.
  public var tables: [CSVTable] {
    var heads = CSVTable(Self.headHeader)
    for (l, row) in perHead.enumerated() {
      for (h, shares) in row.enumerated() {
        heads.append([CSVTable.cell(l + 1), CSVTable.cell(h + 1)] + shares.values.map(CSVTable.cell))
      }
    }
    var layers = CSVTable(Self.layerHeader)
    for (l, shares) in perLayer.enumerated() {
      layers.append([CSVTable.cell(l + 1)] + shares.values.map(CSVTable.cell))
    }
    return [heads, layers]
  }

  /// Reads `patterns.csv` (required), `patterns_by_layer.csv` (else the mean over heads) and
  /// `patterns.json` (the run, the overall shares and the thresholds) from `folder`.
  public static func read(from folder: URL) throws -> PatternsResult {
    let csv = try CSVFile(url: folder.appendingPathComponent(tableFiles[0]), header: headHeader)
    let perHead = try csv.headGrid(columns: Array(2..<headHeader.count)).map { $0.map(PatternShares.init) }
    let count = PatternShares.names.count
    var perLayer = perHead.map { heads in
      PatternShares((0..<count).map { k in heads.reduce(0) { $0 + $1.values[k] } / Double(heads.count) })
    }
    let layerURL = folder.appendingPathComponent(tableFiles[1])
    if FileManager.default.fileExists(atPath: layerURL.path) {
      let layerCSV = try CSVFile(url: layerURL, header: layerHeader)
      var rows: [Int: PatternShares] = [:]
      for row in layerCSV.rows {
        let l = try layerCSV.index(row, 0)
        guard l <= perHead.count, rows[l] == nil else {
          throw BertScopeError.invalidInput(
            "\(layerCSV.path):\(row.line): layer \(l) is repeated or not in \(tableFiles[0])")
        }
        rows[l] = PatternShares(try (1...count).map { try layerCSV.number(row, $0) })
      }
      guard rows.count == perHead.count else {
        throw BertScopeError.invalidInput(
          "\(layerCSV.path): \(rows.count) layers, \(tableFiles[0]) has \(perHead.count)")
      }
      perLayer = (1...perHead.count).map { rows[$0]! }
    }
    let info = try Self.info(in: folder, layers: perHead.count, heads: perHead[0].count)
    let extras = try json(Extras.self, in: folder)
    let overall = PatternShares(
      (0..<count).map { k in perLayer.reduce(0) { $0 + $1.values[k] } / Double(perLayer.count) })
    return PatternsResult(
      info: info, perHead: perHead, perLayer: perLayer, overall: extras?.overall ?? overall,
      thresholds: extras?.thresholds ?? PatternClassifier())
  }

  /// The keys of patterns.json beyond the run and the tables.
  struct Extras: Decodable {
    var overall: PatternShares?
    var thresholds: PatternClassifier?

    enum CodingKeys: String, CodingKey { case overall, thresholds }

    init(from decoder: any Swift.Decoder) throws {
      let c = try decoder.container(keyedBy: CodingKeys.self)
      overall = try c.decodeIfPresent(SharesObject.self, forKey: .overall)?.shares
      thresholds = try c.decodeIfPresent(PatternClassifier.self, forKey: .thresholds)
    }
  }

  /// `{"vertical": …, "diagonal": …, …}`.
  struct SharesObject: Codable {
    var shares: PatternShares
    init(_ shares: PatternShares) { self.shares = shares }
    init(from decoder: any Swift.Decoder) throws {
      shares = try PatternShares(from: decoder.container(keyedBy: AnyKey.self))
    }
    func encode(to encoder: any Swift.Encoder) throws {
      var c = encoder.container(keyedBy: AnyKey.self)
      try shares.encode(into: &c)
    }
  }

  /// One entry of `heads` or `layers`: the shares with the layer (and head) numbered from 1.
  struct Entry: Encodable {
    var layer: Int
    var head: Int?
    var shares: PatternShares
    func encode(to encoder: any Swift.Encoder) throws {
      var c = encoder.container(keyedBy: AnyKey.self)
      try shares.encode(into: &c)
      try c.encode(layer, forKey: AnyKey("layer"))
      if let head { try c.encode(head, forKey: AnyKey("head")) }
    }
  }

  public func encode(to encoder: any Swift.Encoder) throws {
    var c = encoder.container(keyedBy: AnyKey.self)
    try info.encode(into: &c)
    var heads: [Entry] = []
    for (l, row) in perHead.enumerated() {
      for (h, shares) in row.enumerated() { heads.append(Entry(layer: l + 1, head: h + 1, shares: shares)) }
    }
    try c.encode(heads, forKey: AnyKey("heads"))
    try c.encode(
      perLayer.enumerated().map { Entry(layer: $0.offset + 1, shares: $0.element) }, forKey: AnyKey("layers"))
    try c.encode(SharesObject(overall), forKey: AnyKey("overall"))
    try c.encode(thresholds, forKey: AnyKey("thresholds"))
  }
}
