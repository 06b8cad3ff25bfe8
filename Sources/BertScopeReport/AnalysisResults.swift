import BertScope
import BertScopeAnalysis
import Foundation

/// The outputs of the analysis commands as they lie in a folder, read back: what a report is
/// drawn from. `bertscope report` writes these files and then reads them with
/// `AnalysisResults.load(from:)`, so a report regenerated later with `--from DIR` (no model
/// run) shows exactly the same numbers, and every figure can be checked against its CSV.
///
/// | file | read into |
/// |---|---|
/// | `patterns.csv`, `patterns_by_layer.csv`, `patterns.json` | `patterns` |
/// | `special.csv`, `cls_row.csv`, `special.json` | `special` |
/// | `ablation.csv`, `ablation.json` | `ablation` |
/// | `compare.csv`, `compare.json` | `comparison` |
/// | `example/attention.npy` [layers, heads, L, L], `example/tokens.json` | `example` |
/// | `report.json` (stage timings, corpus) | `run` |
///
/// Every part is optional; a file that is present but malformed is an error naming it (and
/// the line, for CSV).
public struct AnalysisResults: Sendable {
  /// What an analysis JSON says about the run that wrote it.
  public struct RunInfo: Sendable, Equatable {
    public var modelName: String
    public var modelPath: String
    public var layers: Int
    public var heads: Int
    public var backend: String
    public var examples: Int
    public var seconds: Double?
    /// The corpus (`options.input`).
    public var input: String?
  }

  /// `patterns.csv` (per head) and `patterns_by_layer.csv` (per layer): fractions of examples
  /// of each `AttentionPattern`, in `AttentionPattern.allCases` order.
  public struct Patterns: Sendable {
    public var info: RunInfo
    /// [layer][head][pattern].
    public var perHead: [[[Double]]]
    /// [layer][pattern] (Kovaleva et al. Figure 2).
    public var perLayer: [[Double]]
  }

  /// `special.csv`: per head, the means of `columns`; `cls_row.csv`: the last layer's [CLS] row.
  public struct Special: Sendable {
    public static let columns = ["cls", "sep", "punct", "self", "prev", "next", "entropy"]
    public static let clsRowColumns = ["cls", "sep", "punct", "other"]
    public var info: RunInfo
    /// [layer][head][column] for `columns`.
    public var perHead: [[[Double]]]
    /// [head][kind] for `clsRowColumns`, of layer `clsRowLayer` (0-based); nil without cls_row.csv.
    public var clsRow: [[Double]]?
    public var clsRowLayer: Int

    /// Mean over the heads of `layer` (0-based) of `column`.
    public func layerMean(_ column: String, layer: Int) -> Double {
      guard let k = Self.columns.firstIndex(of: column) else { return .nan }
      let row = perHead[layer]
      return row.reduce(0) { $0 + $1[k] } / Double(max(row.count, 1))
    }

    /// Layers (1-based) ranked by `layerMean(column)`, highest first.
    public func layersRanked(by column: String) -> [Int] {
      perHead.indices.sorted { layerMean(column, layer: $0) > layerMean(column, layer: $1) }.map { $0 + 1 }
    }
  }

  /// `ablation.csv` + `ablation.json`.
  public struct Ablation: Sendable {
    public var info: RunInfo
    /// `similarity`, `classify` or `embedding-change`.
    public var task: String
    /// `uniform` or `zero`.
    public var mode: String
    /// `spearman`, `accuracy` or `mean_cosine_distance`.
    public var metric: String
    /// The intact model's metric (NaN when the JSON has none).
    public var baseline: Double
    /// [layer][head]: the metric with that head disabled, and its change from the baseline.
    public var headMetric: [[Double]]
    public var headDelta: [[Double]]
    /// [layer]: the whole layer disabled (NaN where the CSV has no row).
    public var layerMetric: [Double]
    public var layerDelta: [Double]
  }

  /// `compare.csv` + `compare.json`.
  public struct Comparison: Sendable {
    public var info: RunInfo
    public var modelB: String?
    /// [layer][head].
    public var cosine: [[Double]]
  }

  /// One example's maps, as `bertscope attention` writes them.
  public struct Example: Sendable {
    public var tokens: [String]
    public var segments: [Int32]
    /// maps[layer][head], each (L, L).
    public var maps: [[Matrix]]
    public var text: String?
    public var pair: String?
    /// Where it came from, e.g. "line 1 of samples/wordnet-sentences.txt".
    public var source: String?
  }

  /// `report.json`: what `bertscope report` ran and how long each stage took.
  public struct Run: Sendable {
    public var stages: [(name: String, seconds: Double)]
    public var input: String?
    public var examples: Int?
    public var ablationInput: String?
    public var ablationLimit: Int?
    public var created: String?
    public var command: String?
  }

  public var folder: URL
  public var patterns: Patterns?
  public var special: Special?
  public var ablation: Ablation?
  public var comparison: Comparison?
  public var example: Example?
  public var run: Run?

  public init(
    folder: URL, patterns: Patterns? = nil, special: Special? = nil, ablation: Ablation? = nil, comparison: Comparison? = nil,
    example: Example? = nil, run: Run? = nil
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
  public var info: RunInfo? { patterns?.info ?? special?.info ?? ablation?.info ?? comparison?.info }

  /// (layers, heads) of the model, from whichever part is present.
  public var shape: (layers: Int, heads: Int)? {
    if let i = info { return (i.layers, i.heads) }
    if let e = example { return (e.maps.count, e.maps.first?.count ?? 0) }
    return nil
  }

  /// The largest CSV or JSON analysis file read (a 48-layer × 64-head model's are under 1 MB).
  public static let maxFileBytes = 256 << 20

  /// The file names the analysis commands and `bertscope report` write, copied by `--from`.
  public static let fileNames = [
    "patterns.csv", "patterns_by_layer.csv", "patterns.json", "special.csv", "cls_row.csv", "special.json", "ablation.csv",
    "ablation.json", "compare.csv", "compare.json", "report.json", "example/attention.npy", "example/tokens.json",
  ]

  /// Reads every analysis output present in `folder`; throws when none is, or when one is
  /// malformed or disagrees with the others about the model's shape.
  public static func load(from folder: URL) throws -> AnalysisResults {
    var r = AnalysisResults(folder: folder)
    let reader = FolderReader(folder: folder)
    if reader.has("patterns.csv") { r.patterns = try reader.patterns() }
    if reader.has("special.csv") { r.special = try reader.special() }
    if reader.has("ablation.csv") { r.ablation = try reader.ablation() }
    if reader.has("compare.csv") { r.comparison = try reader.comparison() }
    if reader.has("example/attention.npy") { r.example = try reader.example() }
    if reader.has("report.json") { r.run = try reader.run() }
    guard r.patterns != nil || r.special != nil || r.ablation != nil || r.comparison != nil || r.example != nil else {
      throw BertScopeError.invalidInput(
        "\(folder.path): no analysis outputs (patterns.csv, special.csv, ablation.csv, compare.csv or example/attention.npy)")
    }
    var shapes: [(String, Int, Int)] = []
    if let p = r.patterns { shapes.append(("patterns.csv", p.perHead.count, p.perHead[0].count)) }
    if let s = r.special { shapes.append(("special.csv", s.perHead.count, s.perHead[0].count)) }
    if let a = r.ablation { shapes.append(("ablation.csv", a.headDelta.count, a.headDelta[0].count)) }
    if let c = r.comparison { shapes.append(("compare.csv", c.cosine.count, c.cosine[0].count)) }
    if let e = r.example { shapes.append(("example/attention.npy", e.maps.count, e.maps[0].count)) }
    if let first = shapes.first, let other = shapes.first(where: { $0.1 != first.1 || $0.2 != first.2 }) {
      throw BertScopeError.invalidInput(
        "\(folder.path): \(first.0) has \(first.1) layers × \(first.2) heads but \(other.0) has \(other.1) × \(other.2): "
          + "the files come from different models")
    }
    return r
  }
}

/// A CSV file as the analysis commands write it: a header line, then comma-separated cells
/// without quoting (numbers, and `all` in ablation.csv).
struct CSVFile {
  let path: String
  let header: [String]
  /// (line number from 1, cells).
  let rows: [(line: Int, cells: [String])]

  init(url: URL, header expected: [String]) throws {
    path = url.path
    let text = try FileBytes.text(url, limit: AnalysisResults.maxFileBytes)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
      $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
    }
    while lines.last?.isEmpty == true { lines.removeLast() }
    guard let first = lines.first else { throw BertScopeError.invalidInput("\(url.path): empty file") }
    header = first.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    guard header == expected else {
      throw BertScopeError.invalidInput(
        "\(url.path):1: header is \"\(printable(first))\", expected \"\(expected.joined(separator: ","))\"")
    }
    var rows: [(Int, [String])] = []
    for (i, line) in lines.enumerated().dropFirst() {
      let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
      guard cells.count == expected.count else {
        throw BertScopeError.invalidInput("\(url.path):\(i + 1): \(cells.count) cells, the header has \(expected.count)")
      }
      rows.append((i + 1, cells))
    }
    guard !rows.isEmpty else { throw BertScopeError.invalidInput("\(url.path): no rows after the header") }
    self.rows = rows
  }

  /// A layer or head number (from 1).
  func index(_ row: (line: Int, cells: [String]), _ column: Int) throws -> Int {
    guard let v = Int(row.cells[column]), v >= 1 else {
      throw BertScopeError.invalidInput(
        "\(path):\(row.line): \(header[column]) \"\(printable(row.cells[column]))\" is not a number from 1")
    }
    return v
  }

  /// A number; "nan" reads as NaN (the writers print non-finite values so).
  func number(_ row: (line: Int, cells: [String]), _ column: Int) throws -> Double {
    let cell = row.cells[column].trimmingCharacters(in: .whitespaces)
    if cell == "nan" { return .nan }
    guard let v = Double(cell), v.isFinite else {
      throw BertScopeError.invalidInput("\(path):\(row.line): \(header[column]) \"\(printable(row.cells[column]))\" is not a number")
    }
    return v
  }

  /// Rows keyed by (layer, head), 1-based, checked to cover every head of a full
  /// layers × heads grid exactly once; returns the grid of `columns` values, 0-based.
  func headGrid(columns: [Int]) throws -> [[[Double]]] {
    var cells: [Int: [Int: [Double]]] = [:]
    for row in rows {
      let (l, h) = (try index(row, 0), try index(row, 1))
      guard cells[l]?[h] == nil else { throw BertScopeError.invalidInput("\(path):\(row.line): layer \(l) head \(h) appears twice") }
      cells[l, default: [:]][h] = try columns.map { try number(row, $0) }
    }
    return try CSVFile.grid(cells, path: path)
  }

  static func grid<T>(_ cells: [Int: [Int: T]], path: String) throws -> [[T]] {
    let layers = cells.keys.max() ?? 0
    let heads = cells.values.flatMap(\.keys).max() ?? 0
    return try (1...max(layers, 1)).map { l in
      try (1...max(heads, 1)).map { h in
        guard let v = cells[l]?[h] else {
          throw BertScopeError.invalidInput("\(path): no row for layer \(l) head \(h) (expected \(layers) layers × \(heads) heads)")
        }
        return v
      }
    }
  }
}

/// Reads the analysis files of one folder.
struct FolderReader {
  let folder: URL

  func url(_ name: String) -> URL { folder.appendingPathComponent(name) }
  func has(_ name: String) -> Bool { FileManager.default.fileExists(atPath: url(name).path) }

  func json(_ name: String) throws -> [String: Any] {
    let u = url(name)
    let data = try FileBytes.read(u, limit: AnalysisResults.maxFileBytes)
    guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
      throw BertScopeError.invalidInput("\(u.path): not a JSON object")
    }
    return object
  }

  /// The run information of `name.json`, or a stand-in from the CSV's shape when the JSON is
  /// missing (a CSV copied alone).
  func info(_ name: String, layers: Int, heads: Int) throws -> AnalysisResults.RunInfo {
    guard has("\(name).json") else {
      return .init(modelName: "unknown", modelPath: "", layers: layers, heads: heads, backend: "unknown", examples: 0)
    }
    let j = try json("\(name).json")
    let model = j["model"] as? [String: Any] ?? [:]
    let info = AnalysisResults.RunInfo(
      modelName: model["name"] as? String ?? "unknown", modelPath: model["path"] as? String ?? "",
      layers: model["layers"] as? Int ?? layers, heads: model["heads"] as? Int ?? heads,
      backend: j["backend"] as? String ?? "unknown", examples: j["examples"] as? Int ?? 0,
      seconds: (j["seconds"] as? NSNumber)?.doubleValue, input: (j["options"] as? [String: Any])?["input"] as? String)
    guard info.layers == layers, info.heads == heads else {
      throw BertScopeError.invalidInput(
        "\(url("\(name).json").path): the model has \(info.layers) layers × \(info.heads) heads but \(name).csv covers \(layers) × \(heads)")
    }
    return info
  }

  func patterns() throws -> AnalysisResults.Patterns {
    let names = AttentionPattern.allCases.map(\.name)
    let csv = try CSVFile(url: url("patterns.csv"), header: ["layer", "head"] + names)
    let perHead = try csv.headGrid(columns: Array(2..<(2 + names.count)))
    var perLayer = perHead.map { heads in
      names.indices.map { k in heads.reduce(0) { $0 + $1[k] } / Double(heads.count) }
    }
    if has("patterns_by_layer.csv") {
      let layerCSV = try CSVFile(url: url("patterns_by_layer.csv"), header: ["layer"] + names)
      var rows: [Int: [Double]] = [:]
      for row in layerCSV.rows {
        let l = try layerCSV.index(row, 0)
        guard l <= perHead.count, rows[l] == nil else {
          throw BertScopeError.invalidInput("\(layerCSV.path):\(row.line): layer \(l) is repeated or not in patterns.csv")
        }
        rows[l] = try names.indices.map { try layerCSV.number(row, $0 + 1) }
      }
      guard rows.count == perHead.count else {
        throw BertScopeError.invalidInput("\(layerCSV.path): \(rows.count) layers, patterns.csv has \(perHead.count)")
      }
      perLayer = (1...perHead.count).map { rows[$0]! }
    }
    return .init(info: try info("patterns", layers: perHead.count, heads: perHead[0].count), perHead: perHead, perLayer: perLayer)
  }

  func special() throws -> AnalysisResults.Special {
    let columns = AnalysisResults.Special.columns
    let csv = try CSVFile(url: url("special.csv"), header: ["layer", "head"] + columns)
    let perHead = try csv.headGrid(columns: Array(2..<(2 + columns.count)))
    var clsRow: [[Double]]?
    var clsRowLayer = perHead.count - 1
    if has("cls_row.csv") {
      let kinds = AnalysisResults.Special.clsRowColumns
      let rowCSV = try CSVFile(url: url("cls_row.csv"), header: ["layer", "head"] + kinds)
      var heads: [Int: [Double]] = [:]
      for row in rowCSV.rows {
        let (l, h) = (try rowCSV.index(row, 0), try rowCSV.index(row, 1))
        if row.line == 2 { clsRowLayer = l - 1 }
        guard l - 1 == clsRowLayer, l <= perHead.count, h <= perHead[0].count, heads[h] == nil else {
          throw BertScopeError.invalidInput("\(rowCSV.path):\(row.line): expected one row per head of one layer")
        }
        heads[h] = try kinds.indices.map { try rowCSV.number(row, $0 + 2) }
      }
      guard heads.count == perHead[0].count else {
        throw BertScopeError.invalidInput("\(rowCSV.path): \(heads.count) heads, special.csv has \(perHead[0].count)")
      }
      clsRow = (1...heads.count).map { heads[$0]! }
    }
    return .init(
      info: try info("special", layers: perHead.count, heads: perHead[0].count), perHead: perHead, clsRow: clsRow,
      clsRowLayer: clsRowLayer)
  }

  func ablation() throws -> AnalysisResults.Ablation {
    let csv = try CSVFile(url: url("ablation.csv"), header: ["layer", "head", "metric", "delta"])
    var heads: [Int: [Int: (Double, Double)]] = [:]
    var layers: [Int: (Double, Double)] = [:]
    for row in csv.rows {
      let l = try csv.index(row, 0)
      let values = (try csv.number(row, 2), try csv.number(row, 3))
      if row.cells[1] == "all" {
        guard layers[l] == nil else { throw BertScopeError.invalidInput("\(csv.path):\(row.line): layer \(l) appears twice") }
        layers[l] = values
      } else {
        let h = try csv.index(row, 1)
        guard heads[l]?[h] == nil else { throw BertScopeError.invalidInput("\(csv.path):\(row.line): layer \(l) head \(h) appears twice") }
        heads[l, default: [:]][h] = values
      }
    }
    guard !heads.isEmpty else { throw BertScopeError.invalidInput("\(csv.path): no rows for single heads") }
    let grid = try CSVFile.grid(heads, path: csv.path)
    var task = "embedding-change", mode = "uniform", metric = "mean_cosine_distance", baseline = Double.nan
    if has("ablation.json") {
      let j = try json("ablation.json")
      task = j["task"] as? String ?? task
      mode = j["mode"] as? String ?? mode
      metric = j["metric"] as? String ?? metric
      baseline = (j["baseline"] as? NSNumber)?.doubleValue ?? .nan
    }
    return .init(
      info: try info("ablation", layers: grid.count, heads: grid[0].count), task: task, mode: mode, metric: metric,
      baseline: baseline, headMetric: grid.map { $0.map(\.0) }, headDelta: grid.map { $0.map(\.1) },
      layerMetric: (1...grid.count).map { layers[$0]?.0 ?? .nan }, layerDelta: (1...grid.count).map { layers[$0]?.1 ?? .nan })
  }

  func comparison() throws -> AnalysisResults.Comparison {
    let csv = try CSVFile(url: url("compare.csv"), header: ["layer", "head", "cosine"])
    let grid = try csv.headGrid(columns: [2]).map { $0.map { $0[0] } }
    var modelB: String?
    if has("compare.json") { modelB = (try json("compare.json")["options"] as? [String: Any])?["modelB"] as? String }
    return .init(info: try info("compare", layers: grid.count, heads: grid[0].count), modelB: modelB, cosine: grid)
  }

  func example() throws -> AnalysisResults.Example {
    let npy = try NPY.read(url("example/attention.npy"))
    guard npy.shape.count == 4, npy.shape[2] == npy.shape[3], npy.shape[0] > 0, npy.shape[1] > 0, npy.shape[2] > 0 else {
      throw BertScopeError.invalidInput("\(url("example/attention.npy").path): shape \(npy.shape), expected [layers, heads, L, L]")
    }
    let (layers, heads, l) = (npy.shape[0], npy.shape[1], npy.shape[2])
    guard has("example/tokens.json") else {
      throw BertScopeError.invalidInput("\(url("example/tokens.json").path): missing (the tokens of example/attention.npy)")
    }
    let j = try json("example/tokens.json")
    guard let tokens = j["tokens"] as? [String], tokens.count == l else {
      throw BertScopeError.invalidInput("\(url("example/tokens.json").path): needs \"tokens\", \(l) strings like attention.npy")
    }
    // Only complete maps make a model view (`bertscope attention --layers/--heads` may hold a subset).
    if let held = j["layers"] as? [Int], held != Array(1...layers) {
      throw BertScopeError.invalidInput("\(url("example/tokens.json").path): holds layers \(held), the report needs all of them")
    }
    let segments = (j["segments"] as? [Int])?.map(Int32.init) ?? Array(repeating: 0, count: l)
    let block = l * l
    let maps = try (0..<layers).map { li in
      try (0..<heads).map { hi in
        let start = (li * heads + hi) * block
        return try Matrix(rows: l, columns: l, values: Array(npy.values[start..<(start + block)]))
      }
    }
    return .init(
      tokens: tokens, segments: segments.count == l ? segments : Array(repeating: 0, count: l), maps: maps,
      text: j["text"] as? String, pair: j["pair"] as? String, source: j["source"] as? String)
  }

  func run() throws -> AnalysisResults.Run {
    let j = try json("report.json")
    let stages = (j["stages"] as? [[String: Any]] ?? []).compactMap { s -> (String, Double)? in
      guard let name = s["name"] as? String, let seconds = (s["seconds"] as? NSNumber)?.doubleValue else { return nil }
      return (name, seconds)
    }
    return .init(
      stages: stages, input: j["input"] as? String, examples: j["examples"] as? Int, ablationInput: j["ablationInput"] as? String,
      ablationLimit: j["ablationLimit"] as? Int, created: j["created"] as? String, command: j["command"] as? String)
  }
}
