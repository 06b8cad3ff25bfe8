import BertScope
import Foundation

/// The columns of `special.csv` (after `layer,head`): per head, means over examples of these
/// `MapFeatures` (Kovaleva et al. 2019 §4.4, Clark et al. 2019).
public enum SpecialColumn: String, CaseIterable, Sendable, Codable {
  /// `cls`, `sep`, `punct`: the attention [CLS], [SEP] (the larger of a pair's two) and the
  /// most attended punctuation mark receive, averaged over query rows.
  case cls, sep, punct
  /// `self`: the mean attention of a token to itself (the map's diagonal).
  case selfAttention = "self"
  /// `prev`, `next`: the mean attention to the previous and the next token; `entropy`: the
  /// mean row entropy in nats (Clark et al. 2019).
  case prev, next, entropy

  /// The feature averaged.
  public var feature: MapFeatures.Index {
    switch self {
    case .cls: return .cls
    case .sep: return .sep
    case .punct: return .punct
    case .selfAttention: return .selfAttention
    case .prev: return .prev
    case .next: return .next
    case .entropy: return .entropy
    }
  }

  /// The CSV column names.
  public static let names = allCases.map(\.rawValue)
}

/// The kinds of key the [CLS] row is summed over (Kovaleva et al. 2019 §4.5): the columns of
/// `cls_row.csv` after `layer,head`; each row sums to 1.
public enum ClsRowKind: String, CaseIterable, Sendable, Codable {
  /// Keys that are [CLS], [SEP], punctuation, or any other token.
  case cls, sep, punct, other

  /// The feature that sums the [CLS] row over keys of this kind.
  public var feature: MapFeatures.Index {
    switch self {
    case .cls: return .clsRowCLS
    case .sep: return .clsRowSEP
    case .punct: return .clsRowPunct
    case .other: return .clsRowOther
    }
  }

  /// The CSV column names.
  public static let names = allCases.map(\.rawValue)
}

/// `bertscope special`: per head, the mean attention to [CLS], [SEP], punctuation, the token
/// itself, the previous and the next token, and the mean row entropy; and the [CLS] row by
/// key kind — means of `MapFeatures` over the examples.
///
/// Files: `special.csv` (`layer,head,cls,sep,punct,self,prev,next,entropy`), `cls_row.csv`
/// (`layer,head,cls,sep,punct,other`: the last layer's [CLS] row) and `special.json` (every
/// head's values and [CLS] row, per-layer means, layers ranked, the run).
public struct SpecialResult: AnalysisResult, Equatable {
  /// `special.json`.
  public static let name = "special"
  /// Per head, then the last layer's [CLS] row.
  public static let tableFiles = ["special.csv", "cls_row.csv"]
  /// `special.csv`: `layer,head,cls,sep,punct,self,prev,next,entropy`.
  public static let headHeader = ["layer", "head"] + SpecialColumn.names
  /// `cls_row.csv`: `layer,head,cls,sep,punct,other`.
  public static let clsRowHeader = ["layer", "head"] + ClsRowKind.names

  /// One head's numbers.
  public struct Head: Sendable, Equatable {
    /// In `SpecialColumn.allCases` order.
    public var values: [Double]
    /// In `ClsRowKind.allCases` order; nil where the files do not hold it.
    public var clsRow: [Double]?

    /// A head's numbers in column order.
    public init(values: [Double], clsRow: [Double]?) {
      self.values = values
      self.clsRow = clsRow
    }

    /// The mean of `column`.
    public subscript(_ column: SpecialColumn) -> Double { values[SpecialColumn.allCases.firstIndex(of: column)!] }
  }

  /// The run that made the numbers.
  public var info: RunInfo
  /// [layer][head], 0-based.
  public var perHead: [[Head]]
  /// The layer `cls_row.csv` holds (0-based): the last, unless the file read says otherwise.
  public var clsRowLayer: Int

  /// A result from its parts; `clsRowLayer` defaults to the last layer.
  public init(info: RunInfo, perHead: [[Head]], clsRowLayer: Int? = nil) {
    self.info = info
    self.perHead = perHead
    self.clsRowLayer = clsRowLayer ?? perHead.count - 1
  }

  /// The means of the feature sums in `features` (width `MapFeatures.count`).
  public init(features: HeadAccumulator, info: RunInfo) {
    precondition(features.width == MapFeatures.count)
    let perHead = (0..<features.layers).map { l in
      (0..<features.heads).map { h in
        Head(
          values: SpecialColumn.allCases.map { features.mean(layer: l, head: h, $0.feature.rawValue) },
          clsRow: ClsRowKind.allCases.map { features.mean(layer: l, head: h, $0.feature.rawValue) })
      }
    }
    self.init(info: info, perHead: perHead)
  }

  /// Mean over the heads of `layer` (0-based).
  public func layerMean(_ column: SpecialColumn, layer: Int) -> Double {
    perHead[layer].reduce(0.0) { $0 + $1[column] } / Double(max(perHead[layer].count, 1))
  }

  /// The [CLS] row of the heads of `layer`, [head][kind], when the files hold it.
  public func clsRow(layer: Int) -> [[Double]]? {
    let rows = perHead[layer].compactMap(\.clsRow)
    return rows.count == perHead[layer].count ? rows : nil
  }

  /// Mean over the heads of `layer` of the [CLS] row's share on `kind`.
  public func clsRowLayerMean(_ kind: ClsRowKind, layer: Int) -> Double? {
    guard let rows = clsRow(layer: layer), let k = ClsRowKind.allCases.firstIndex(of: kind) else { return nil }
    return rows.reduce(0.0) { $0 + $1[k] } / Double(max(rows.count, 1))
  }

  /// Layers (numbered from 1) ranked by their heads' mean of `column`, highest first.
  public func layersRanked(by column: SpecialColumn) -> [Int] {
    perHead.indices.sorted { layerMean(column, layer: $0) > layerMean(column, layer: $1) }.map { $0 + 1 }
  }

  /// `special.csv` and `cls_row.csv`, numbers with 6 decimals.
  public var tables: [CSVTable] {
    var heads = CSVTable(Self.headHeader)
    for (l, row) in perHead.enumerated() {
      for (h, head) in row.enumerated() {
        heads.append([CSVTable.cell(l + 1), CSVTable.cell(h + 1)] + head.values.map(CSVTable.cell))
      }
    }
    var cls = CSVTable(Self.clsRowHeader)
    for (h, head) in perHead[clsRowLayer].enumerated() {
      let row = head.clsRow ?? Array(repeating: .nan, count: ClsRowKind.allCases.count)
      cls.append([CSVTable.cell(clsRowLayer + 1), CSVTable.cell(h + 1)] + row.map(CSVTable.cell))
    }
    return [heads, cls]
  }

  /// Reads `special.csv` (required), `special.json` (the run and every head's [CLS] row) and
  /// `cls_row.csv` from `folder`.
  public static func read(from folder: URL) throws -> SpecialResult {
    let csv = try CSVFile(url: folder.appendingPathComponent(tableFiles[0]), header: headHeader)
    let grid = try csv.headGrid(columns: Array(2..<headHeader.count))
    var perHead = grid.map { $0.map { Head(values: $0, clsRow: nil) } }
    let (layers, heads) = (perHead.count, perHead[0].count)
    let info = try Self.info(in: folder, layers: layers, heads: heads)
    // special.json holds every head's [CLS] row; cls_row.csv, read after, the last layer's.
    if let extras = try json(Extras.self, in: folder) {
      for entry in extras.heads {
        guard (1...layers).contains(entry.layer), (1...heads).contains(entry.head) else {
          throw BertScopeError.invalidInput(
            "\(folder.appendingPathComponent("\(name).json").path): layer \(entry.layer) head \(entry.head) is not in \(tableFiles[0])"
          )
        }
        perHead[entry.layer - 1][entry.head - 1].clsRow = entry.clsRow
      }
    }
    var clsRowLayer = layers - 1
    let rowURL = folder.appendingPathComponent(tableFiles[1])
    if FileManager.default.fileExists(atPath: rowURL.path) {
      let rowCSV = try CSVFile(url: rowURL, header: clsRowHeader)
      var seen = Set<Int>()
      for row in rowCSV.rows {
        let (l, h) = (try rowCSV.index(row, 0), try rowCSV.index(row, 1))
        if row.line == 2 { clsRowLayer = l - 1 }
        guard l - 1 == clsRowLayer, l <= layers, h <= heads, seen.insert(h).inserted else {
          throw BertScopeError.invalidInput("\(rowCSV.path):\(row.line): expected one row per head of one layer")
        }
        perHead[l - 1][h - 1].clsRow = try (2..<clsRowHeader.count).map { try rowCSV.number(row, $0) }
      }
      guard seen.count == heads else {
        throw BertScopeError.invalidInput("\(rowCSV.path): \(seen.count) heads, \(tableFiles[0]) has \(heads)")
      }
    }
    return SpecialResult(info: info, perHead: perHead, clsRowLayer: clsRowLayer)
  }

  /// The per-head [CLS] rows of special.json.
  struct Extras: Decodable {
    struct Entry: Decodable {
      var layer: Int
      var head: Int
      var clsRow: [Double]?

      enum CodingKeys: String, CodingKey { case layer, head, clsRow }

      init(from decoder: any Swift.Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        layer = try c.decode(Int.self, forKey: .layer)
        head = try c.decode(Int.self, forKey: .head)
        if c.contains(.clsRow) {
          clsRow = try AnalysisJSON.numbers(
            ClsRowKind.names, from: c.nestedContainer(keyedBy: AnyKey.self, forKey: .clsRow))
        }
      }
    }
    var heads: [Entry]
  }

  public func encode(to encoder: any Swift.Encoder) throws {
    var c = encoder.container(keyedBy: AnyKey.self)
    try info.encode(into: &c)
    func row(_ values: [Double], clsRow: [Double]?, layer: Int, head: Int?) -> Row {
      Row(layer: layer, head: head, values: values, clsRow: clsRow)
    }
    var heads: [Row] = []
    for (l, line) in perHead.enumerated() {
      for (h, head) in line.enumerated() {
        heads.append(row(head.values, clsRow: head.clsRow, layer: l + 1, head: h + 1))
      }
    }
    try c.encode(heads, forKey: AnyKey("heads"))
    let layers = perHead.indices.map { l in
      row(
        SpecialColumn.allCases.map { layerMean($0, layer: l) },
        clsRow: clsRow(layer: l).map { _ in
          ClsRowKind.allCases.map { clsRowLayerMean($0, layer: l)! }
        }, layer: l + 1, head: nil)
    }
    try c.encode(layers, forKey: AnyKey("layers"))
    try c.encode(layersRanked(by: .cls), forKey: AnyKey("layersByCLS"))
    try c.encode(layersRanked(by: .sep), forKey: AnyKey("layersBySEP"))
    try c.encode(layersRanked(by: .punct), forKey: AnyKey("layersByPunct"))
    if let last = layers.last?.clsRow { try c.encode(Shares(values: last), forKey: AnyKey("lastLayerCLSRow")) }
  }

  /// `{"cls": …, "sep": …, "punct": …, "other": …}`.
  struct Shares: Encodable {
    var values: [Double]
    func encode(to encoder: any Swift.Encoder) throws {
      var c = encoder.container(keyedBy: AnyKey.self)
      try AnalysisJSON.encode(values, keys: ClsRowKind.names, into: &c)
    }
  }

  /// An entry of `heads` or `layers` in special.json.
  struct Row: Encodable {
    var layer: Int
    var head: Int?
    var values: [Double]
    var clsRow: [Double]?
    func encode(to encoder: any Swift.Encoder) throws {
      var c = encoder.container(keyedBy: AnyKey.self)
      try AnalysisJSON.encode(values, keys: SpecialColumn.names, into: &c)
      try c.encode(layer, forKey: AnyKey("layer"))
      if let head { try c.encode(head, forKey: AnyKey("head")) }
      if let clsRow { try c.encode(Shares(values: clsRow), forKey: AnyKey("clsRow")) }
    }
  }
}
