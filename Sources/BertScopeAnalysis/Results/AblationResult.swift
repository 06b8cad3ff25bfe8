import BertScope
import Foundation

/// The metric an ablation reports, by task.
public enum AblationMetric: String, CaseIterable, Sendable, Codable {
  /// Spearman's ρ between the embeddings' cosine and the gold score (`similarity`).
  case spearman
  /// Share of examples whose argmax class is the gold label (`classify`).
  case accuracy
  /// Mean `1 − cos(ablated, intact)` of the pooled embeddings (`embedding-change`).
  case meanCosineDistance = "mean_cosine_distance"
}

/// `bertscope ablate`: every target (a head alone, a whole layer alone) disabled in turn, the
/// task metric with it disabled, and its change from the intact model (Kovaleva et al. 2019
/// §4.6).
///
/// Files: `ablation.csv` (`layer,head,metric,delta`; `head` is `all` for a whole layer) and
/// `ablation.json` (task, mode, metric, baseline, rows, forward passes, the run).
public struct AblationResult: AnalysisResult, Equatable {
  /// `ablation.json`.
  public static let name = "ablation"
  /// `ablation.csv`.
  public static let tableFiles = ["ablation.csv"]
  /// `ablation.csv`'s header.
  public static let header = ["layer", "head", "metric", "delta"]
  /// The `head` cell of a whole layer.
  public static let wholeLayer = "all"

  /// One disabled target.
  public struct Row: Sendable, Equatable {
    /// What was disabled.
    public var target: AblationTarget
    /// The metric with the target disabled.
    public var metric: Double
    /// `metric − baseline`.
    public var delta: Double

    /// A row: the metric with `target` disabled and its change from the baseline.
    public init(target: AblationTarget, metric: Double, delta: Double) {
      self.target = target
      self.metric = metric
      self.delta = delta
    }
  }

  /// The run that made the numbers.
  public var info: RunInfo
  /// What was measured.
  public var task: AblationTask
  /// How the targets were disabled.
  public var mode: AblationMode
  /// The metric `task` reports.
  public var metric: AblationMetric
  /// The intact model's metric (NaN when unknown).
  public var baseline: Double
  /// One row per target, in the order they ran (`AblationTarget.all`).
  public var rows: [Row]
  /// Forward passes run (nil when read without ablation.json).
  public var forwardPasses: Int?

  /// A result from its parts; the metric follows from `task`.
  public init(
    info: RunInfo, task: AblationTask, mode: AblationMode, baseline: Double, rows: [Row], forwardPasses: Int?
  ) {
    self.info = info
    self.task = task
    self.mode = mode
    metric = task.metric
    self.baseline = baseline
    self.rows = rows
    self.forwardPasses = forwardPasses
  }

  /// Layers covered: one more than the largest target layer.
  public var layers: Int { (rows.map(\.target.layer).max() ?? -1) + 1 }
  /// Heads covered.
  public var heads: Int { (rows.compactMap(\.target.head).max() ?? -1) + 1 }

  /// [layer][head]: the change with that head alone disabled (NaN where there is no row).
  public var headDelta: [[Double]] { grid(\.delta) }
  /// [layer][head]: the metric with that head alone disabled.
  public var headMetric: [[Double]] { grid(\.metric) }
  /// [layer]: the change with the whole layer disabled (NaN where there is no row).
  public var layerDelta: [Double] { layerValues(\.delta) }
  /// [layer]: the metric with the whole layer disabled.
  public var layerMetric: [Double] { layerValues(\.metric) }

  private func grid(_ value: KeyPath<Row, Double>) -> [[Double]] {
    var out = [[Double]](repeating: [Double](repeating: .nan, count: heads), count: layers)
    for r in rows { if let h = r.target.head { out[r.target.layer][h] = r[keyPath: value] } }
    return out
  }

  private func layerValues(_ value: KeyPath<Row, Double>) -> [Double] {
    var out = [Double](repeating: .nan, count: layers)
    for r in rows where r.target.head == nil { out[r.target.layer] = r[keyPath: value] }
    return out
  }

  /// `ablation.csv`: one row per target, `all` for a whole layer.
  public var tables: [CSVTable] {
    var t = CSVTable(Self.header)
    for r in rows {
      t.append([
        CSVTable.cell(r.target.layer + 1), r.target.head.map { CSVTable.cell($0 + 1) } ?? Self.wholeLayer,
        CSVTable.cell(r.metric), CSVTable.cell(r.delta),
      ])
    }
    return [t]
  }

  /// Reads `ablation.csv` (required) and `ablation.json` (the run, task, mode, metric, baseline)
  /// from `folder`; without the JSON the task is taken as `embedding-change`, the mode as
  /// `uniform`, the baseline as NaN.
  public static func read(from folder: URL) throws -> AblationResult {
    let csv = try CSVFile(url: folder.appendingPathComponent(tableFiles[0]), header: header)
    var heads: [Int: [Int: Row]] = [:]
    var layers: [Int: Row] = [:]
    var rows: [Row] = []
    for line in csv.rows {
      let l = try csv.index(line, 0)
      let head = line.cells[1] == wholeLayer ? nil : try csv.index(line, 1)
      let row = Row(
        target: AblationTarget(layer: l - 1, head: head.map { $0 - 1 }), metric: try csv.number(line, 2),
        delta: try csv.number(line, 3))
      if let h = head {
        guard heads[l]?[h] == nil else {
          throw BertScopeError.invalidInput("\(csv.path):\(line.line): layer \(l) head \(h) appears twice")
        }
        heads[l, default: [:]][h] = row
      } else {
        guard layers[l] == nil else {
          throw BertScopeError.invalidInput("\(csv.path):\(line.line): layer \(l) appears twice")
        }
        layers[l] = row
      }
      rows.append(row)
    }
    guard !heads.isEmpty else { throw BertScopeError.invalidInput("\(csv.path): no rows for single heads") }
    let grid = try CSVFile.grid(heads, path: csv.path)
    if let l = layers.keys.first(where: { $0 > grid.count }) {
      throw BertScopeError.invalidInput("\(csv.path): layer \(l) has a whole-layer row but no head rows")
    }
    let info = try Self.info(in: folder, layers: grid.count, heads: grid[0].count)
    let extras = try json(Extras.self, in: folder)
    var result = AblationResult(
      info: info, task: extras?.task ?? .embeddingChange, mode: extras?.mode ?? .uniform,
      baseline: extras?.baseline.orNaN ?? .nan,
      rows: rows, forwardPasses: extras?.forwardPasses)
    if let metric = extras?.metric { result.metric = metric }
    return result
  }

  /// ablation.json's own keys.
  struct Extras: Decodable {
    var task: AblationTask
    var mode: AblationMode
    var metric: AblationMetric
    var baseline: JSONNumber
    var forwardPasses: Int?
  }

  public func encode(to encoder: any Swift.Encoder) throws {
    var c = encoder.container(keyedBy: AnyKey.self)
    try info.encode(into: &c)
    try c.encode(task, forKey: AnyKey("task"))
    try c.encode(mode, forKey: AnyKey("mode"))
    try c.encode(metric, forKey: AnyKey("metric"))
    try c.encode(JSONNumber(baseline), forKey: AnyKey("baseline"))
    if let forwardPasses { try c.encode(forwardPasses, forKey: AnyKey("forwardPasses")) }
    try c.encode(rows.map(RowJSON.init), forKey: AnyKey("rows"))
  }

  /// `{"layer": 1, "head": 2 | "all", "metric": …, "delta": …}`.
  struct RowJSON: Encodable {
    var row: Row
    init(_ row: Row) { self.row = row }
    func encode(to encoder: any Swift.Encoder) throws {
      var c = encoder.container(keyedBy: AnyKey.self)
      try c.encode(row.target.layer + 1, forKey: AnyKey("layer"))
      if let h = row.target.head {
        try c.encode(h + 1, forKey: AnyKey("head"))
      } else {
        try c.encode(AblationResult.wholeLayer, forKey: AnyKey("head"))
      }
      try c.encode(JSONNumber(row.metric), forKey: AnyKey("metric"))
      try c.encode(JSONNumber(row.delta), forKey: AnyKey("delta"))
    }
  }
}
