import BertScope
import Foundation

/// How a disabled head is disabled (Kovaleva et al. 2019 §4.6; Michel et al. 2019).
public enum AblationMode: String, Sendable, CaseIterable {
  /// The head's attention becomes 1/L over the real tokens (the paper's method).
  case uniform
  /// The head's output is multiplied by 0 (Hugging Face `head_mask`).
  case zero

  public var headMode: HeadMode { self == .uniform ? .uniform : .zero }
}

/// What the effect of disabling a head is measured with.
public enum AblationTask: String, Sendable, CaseIterable {
  /// `text_a<TAB>text_b<TAB>score`: Spearman's ρ between the cosine of the two pooled
  /// embeddings and the score.
  case similarity
  /// `text<TAB>label` (or `text_a<TAB>text_b<TAB>label`) with a classification head:
  /// accuracy of the argmax of the logits. A label is a class index or a name of `id2label`.
  case classify
  /// Any corpus, no labels: the mean `1 − cos` between the ablated and the intact pooled
  /// embeddings.
  case embeddingChange = "embedding-change"

  public var metricName: String {
    switch self {
    case .similarity: return "spearman"
    case .classify: return "accuracy"
    case .embeddingChange: return "mean_cosine_distance"
    }
  }
}

/// One thing to disable: a head of a layer, or the whole layer (`head == nil`). 0-based.
public struct AblationTarget: Sendable, Hashable {
  public let layer: Int
  public let head: Int?

  public init(layer: Int, head: Int?) {
    self.layer = layer
    self.head = head
  }

  /// Every head alone, then every layer alone, layer by layer: L1H1 … L1Hn, L1, L2H1 …
  public static func all(layers: Int, heads: Int) -> [AblationTarget] {
    (0..<layers).flatMap { l in (0..<heads).map { AblationTarget(layer: l, head: $0) } + [AblationTarget(layer: l, head: nil)] }
  }

  /// The encoder's `headModes` with this target disabled.
  public func headModes(layers: Int, heads: Int, mode: AblationMode) -> [[HeadMode]] {
    var modes = [[HeadMode]](repeating: [HeadMode](repeating: .normal, count: heads), count: layers)
    if let head { modes[layer][head] = mode.headMode } else { modes[layer] = Array(repeating: mode.headMode, count: heads) }
    return modes
  }
}

/// One labelled (or unlabelled) example of an ablation run.
public struct AblationItem: Sendable {
  /// The text, or the first text of a similarity pair.
  public var first: Encoding
  /// The second text of a similarity pair (encoded on its own).
  public var second: Encoding?
  /// Gold similarity score.
  public var score: Double?
  /// Gold class index.
  public var label: Int?

  public init(first: Encoding, second: Encoding? = nil, score: Double? = nil, label: Int? = nil) {
    self.first = first
    self.second = second
    self.score = score
    self.label = label
  }
}

/// Parsing of the labelled corpus lines; errors name the file and line.
public enum AblationInput {
  /// `text_a<TAB>text_b<TAB>score`.
  public static func similarity(_ line: CorpusLine, path: String) throws -> (a: String, b: String, score: Double) {
    guard line.fields.count == 3 else {
      throw BertScopeError.invalidInput(
        "\(path):\(line.number): expected text_a<TAB>text_b<TAB>score (3 fields), found \(line.fields.count)")
    }
    let raw = line.fields[2].trimmingCharacters(in: .whitespaces)
    guard let score = Double(raw), score.isFinite else {
      throw BertScopeError.invalidInput("\(path):\(line.number): score \"\(printable(line.fields[2]))\" is not a number")
    }
    return (line.fields[0], line.fields[1], score)
  }

  /// `text<TAB>label` or `text_a<TAB>text_b<TAB>label`; `label` is an index below
  /// `classes` or one of `names` (the checkpoint's `id2label`).
  public static func classification(
    _ line: CorpusLine, classes: Int, names: [String]?, path: String
  ) throws -> (text: String, pair: String?, label: Int) {
    guard line.fields.count == 2 || line.fields.count == 3 else {
      throw BertScopeError.invalidInput(
        "\(path):\(line.number): expected text<TAB>label or text_a<TAB>text_b<TAB>label, found \(line.fields.count) fields")
    }
    let raw = line.fields.last!.trimmingCharacters(in: .whitespaces)
    let label: Int
    if let names, let index = names.firstIndex(of: raw) {
      label = index
    } else if let index = Int(raw), index >= 0, index < classes {
      label = index
    } else {
      let known = names.map { " or one of \(printable($0.joined(separator: ", ")))" } ?? ""
      throw BertScopeError.invalidInput(
        "\(path):\(line.number): label \"\(printable(line.fields.last!))\" is not a class index 0–\(classes - 1)\(known)")
    }
    return (line.fields[0], line.fields.count == 3 ? line.fields[1] : nil, label)
  }
}

/// Disables each target in turn on every batch and accumulates the task metric, keeping the
/// encoder (and its uploaded weights) for all runs: per batch one intact pass plus one pass
/// per target. Memory: the similarity task keeps one Float per (pair, target) for Spearman's
/// ranks; the other tasks are running sums.
public final class AblationRun {
  public let encoder: Encoder
  public let task: AblationTask
  public let mode: AblationMode
  public let targets: [AblationTarget]
  public let pooling: Pooling
  public private(set) var examples = 0
  public private(set) var forwardPasses = 0
  private var scores: [Double] = []
  /// Index 0 is the intact model, then `targets`.
  private var cosines: [[Float]]
  private var sums: [Double]

  public init(
    encoder: Encoder, task: AblationTask, mode: AblationMode, targets: [AblationTarget]? = nil, pooling: Pooling = .mean
  ) throws {
    let c = encoder.config
    if task == .classify && !encoder.hasClassifier {
      throw BertScopeError.invalidInput(
        "--task classify needs a checkpoint with a classification head (pooler.* and classifier.*); this one has none")
    }
    let targets = targets ?? AblationTarget.all(layers: c.numLayers, heads: c.numHeads)
    for t in targets where t.layer < 0 || t.layer >= c.numLayers || (t.head.map { $0 < 0 || $0 >= c.numHeads } ?? false) {
      throw BertScopeError.invalidInput("ablation target layer \(t.layer + 1) head \(t.head.map { String($0 + 1) } ?? "all") does not exist")
    }
    self.encoder = encoder
    self.task = task
    self.mode = mode
    self.targets = targets
    self.pooling = pooling
    cosines = Array(repeating: [], count: targets.count + 1)
    sums = Array(repeating: 0, count: targets.count + 1)
  }

  /// Runs the intact model and every target on `items`.
  public func add(_ items: [AblationItem]) throws {
    guard !items.isEmpty else { return }
    var encodings: [Encoding] = []
    for item in items {
      switch task {
      case .similarity:
        guard let second = item.second, let score = item.score else {
          throw BertScopeError.invalidInput("similarity items need a second text and a score")
        }
        encodings += [item.first, second]
        scores.append(score)
      case .classify:
        guard item.label != nil else { throw BertScopeError.invalidInput("classification items need a label") }
        encodings.append(item.first)
      case .embeddingChange:
        encodings.append(item.first)
      }
    }
    let intact = try encoder.encode(encodings, options: EncodeOptions(pooling: pooling))
    forwardPasses += 1
    try accumulate(0, intact, intact: intact, items: items)
    let c = encoder.config
    for (k, target) in targets.enumerated() {
      let modes = target.headModes(layers: c.numLayers, heads: c.numHeads, mode: mode)
      let out = try encoder.encode(encodings, options: EncodeOptions(pooling: pooling, headModes: modes))
      forwardPasses += 1
      try accumulate(k + 1, out, intact: intact, items: items)
    }
    examples += items.count
  }

  private func accumulate(_ k: Int, _ out: EncoderOutput, intact: EncoderOutput, items: [AblationItem]) throws {
    switch task {
    case .similarity:
      for i in items.indices { cosines[k].append(Float(Statistics.cosine(out.embedding(2 * i), out.embedding(2 * i + 1)))) }
    case .classify:
      let logits = try encoder.logits(out)
      let classes = logits.count / items.count
      for (i, item) in items.enumerated() {
        let row = logits[(i * classes)..<((i + 1) * classes)]
        let predicted = row.indices.max { row[$0] < row[$1] }! - i * classes
        if predicted == item.label { sums[k] += 1 }
      }
    case .embeddingChange:
      for i in items.indices { sums[k] += 1 - Statistics.cosine(out.embedding(i), intact.embedding(i)) }
    }
  }

  private func metric(_ k: Int) -> Double {
    switch task {
    case .similarity: return Statistics.spearman(cosines[k].map(Double.init), scores)
    case .classify, .embeddingChange: return examples > 0 ? sums[k] / Double(examples) : .nan
    }
  }

  public var report: AblationReport {
    let baseline = metric(0)
    let rows = targets.enumerated().map { k, t in
      let m = metric(k + 1)
      return AblationReport.Row(target: t, metric: m, delta: m - baseline)
    }
    return AblationReport(
      task: task, mode: mode, baseline: baseline, rows: rows, examples: examples, forwardPasses: forwardPasses)
  }
}

/// The result of `AblationRun`: the intact model's metric and, per target, the metric with
/// that target disabled and its change.
public struct AblationReport: Sendable {
  public struct Row: Sendable {
    public let target: AblationTarget
    public let metric: Double
    /// `metric − baseline`.
    public let delta: Double
  }

  public let task: AblationTask
  public let mode: AblationMode
  public let baseline: Double
  public let rows: [Row]
  public let examples: Int
  public let forwardPasses: Int

  /// `ablation.csv`: `layer,head,metric,delta`, `head` = `all` for a whole layer.
  public var csv: CSVTable {
    var t = CSVTable(["layer", "head", "metric", "delta"])
    for r in rows {
      t.append([
        CSVTable.cell(r.target.layer + 1), r.target.head.map { CSVTable.cell($0 + 1) } ?? "all", CSVTable.cell(r.metric),
        CSVTable.cell(r.delta),
      ])
    }
    return t
  }

  public var json: [String: Any] {
    [
      "task": task.rawValue, "mode": mode.rawValue, "metric": task.metricName, "baseline": jsonNumber(baseline),
      "examples": examples, "forwardPasses": forwardPasses,
      "rows": rows.map { r -> [String: Any] in
        [
          "layer": r.target.layer + 1, "head": r.target.head.map { $0 + 1 as Any } ?? "all", "metric": jsonNumber(r.metric),
          "delta": jsonNumber(r.delta),
        ]
      },
    ]
  }
}
