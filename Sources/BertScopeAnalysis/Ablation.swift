import BertScope
import Foundation

/// How a disabled head is disabled (Kovaleva et al. 2019 §4.6; Michel et al. 2019).
public enum AblationMode: String, Sendable, CaseIterable, Codable {
  /// The head's attention becomes 1/L over the real tokens (the paper's method).
  case uniform
  /// The head's output is multiplied by 0 (Hugging Face `head_mask`).
  case zero

  /// The encoder's `HeadMode` for a head disabled this way.
  public var headMode: HeadMode { self == .uniform ? .uniform : .zero }
}

/// What the effect of disabling a head is measured with.
public enum AblationTask: String, Sendable, CaseIterable, Codable {
  /// `text_a<TAB>text_b<TAB>score`: Spearman's ρ between the cosine of the two pooled
  /// embeddings and the score.
  case similarity
  /// `text<TAB>label` (or `text_a<TAB>text_b<TAB>label`) with a classification head:
  /// accuracy of the argmax of the logits. A label is a class index or a name of `id2label`.
  case classify
  /// Any corpus, no labels: the mean `1 − cos` between the ablated and the intact pooled
  /// embeddings.
  case embeddingChange = "embedding-change"

  /// What the task measures.
  public var metric: AblationMetric {
    switch self {
    case .similarity: return .spearman
    case .classify: return .accuracy
    case .embeddingChange: return .meanCosineDistance
    }
  }
}

/// One thing to disable: a head of a layer, or the whole layer (`head == nil`). 0-based;
/// `ablation.csv` numbers them from 1.
public struct AblationTarget: Sendable, Hashable, Codable {
  /// The layer, 0-based.
  public let layer: Int
  /// The head within `layer`, 0-based; nil for every head of the layer.
  public let head: Int?

  /// Head `head` of `layer` (both 0-based), or the whole layer when `head` is nil.
  public init(layer: Int, head: Int?) {
    self.layer = layer
    self.head = head
  }

  /// Every head alone, then every layer alone, layer by layer: L1H1 … L1Hn, L1, L2H1 …
  public static func all(layers: Int, heads: Int) -> [AblationTarget] {
    (0..<layers).flatMap { l in
      (0..<heads).map { AblationTarget(layer: l, head: $0) } + [AblationTarget(layer: l, head: nil)]
    }
  }

  /// The encoder's `headModes` (`[layers][heads]`) with this target disabled by `mode` and
  /// every other head `.normal`.
  public func headModes(layers: Int, heads: Int, mode: AblationMode) -> [[HeadMode]] {
    var modes = [[HeadMode]](repeating: [HeadMode](repeating: .normal, count: heads), count: layers)
    if let head {
      modes[layer][head] = mode.headMode
    } else {
      modes[layer] = Array(repeating: mode.headMode, count: heads)
    }
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

  /// An item: `second` and `score` for `similarity`, `label` for `classify`, neither for
  /// `embedding-change`.
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
      throw BertScopeError.invalidInput(
        "\(path):\(line.number): score \"\(printable(line.fields[2]))\" is not a number")
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
        "\(path):\(line.number): expected text<TAB>label or text_a<TAB>text_b<TAB>label, found \(line.fields.count) fields"
      )
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
        "\(path):\(line.number): label \"\(printable(line.fields.last!))\" is not a class index 0–\(classes - 1)\(known)"
      )
    }
    return (line.fields[0], line.fields.count == 3 ? line.fields[1] : nil, label)
  }
}

/// Disabling each target in turn (Kovaleva et al. 2019 §4.6): per batch one intact pass plus
/// one pass per target, on the same uploaded weights; the state accumulates the task metric.
/// A target's pass runs only from its layer on, from the intact pass's hidden state there.
public struct AblationAnalysis: CorpusAnalysis {
  /// What the effect is measured with (and so what the corpus lines hold).
  public var task: AblationTask
  /// How a disabled head is disabled.
  public var mode: AblationMode
  /// How the sentence embeddings compared by `similarity` and `embedding-change` are pooled.
  public var pooling: Pooling
  /// nil: every head alone, then every layer alone (`AblationTarget.all`).
  public var targets: [AblationTarget]?
  /// The progress line's label.
  public var label: String
  /// Whether a target of layer l runs layers l… only, from the intact pass's input to layer
  /// l (true), or the whole model again (false: the older path, kept to check the two against
  /// each other and to time them side by side). Both give the same numbers.
  public var reusesIntactLayers: Bool

  /// The default of ``reusesIntactLayers``: true unless `BERTSCOPE_ABLATION_RECOMPUTE` is set
  /// to `1` in the environment (how the CLI's `ablate` is timed against the full recompute).
  public static var reusesIntactLayersByDefault: Bool {
    ProcessInfo.processInfo.environment["BERTSCOPE_ABLATION_RECOMPUTE"] != "1"
  }

  /// An ablation of `targets` (nil: all of them) measured by `task`; `label` names the
  /// progress line; `reusesIntactLayers` (see there) only changes how long it takes.
  public init(
    task: AblationTask = .embeddingChange, mode: AblationMode = .uniform, pooling: Pooling = .mean,
    targets: [AblationTarget]? = nil, label: String = "ablate",
    reusesIntactLayers: Bool = AblationAnalysis.reusesIntactLayersByDefault
  ) {
    self.task = task
    self.mode = mode
    self.pooling = pooling
    self.targets = targets
    self.label = label
    self.reusesIntactLayers = reusesIntactLayers
  }

  /// The empty state for `session`'s encoder (see `makeState(encoder:)`).
  public func makeState(for session: AnalysisSession) throws -> AblationState {
    try makeState(encoder: session.encoder)
  }

  /// The empty state for `encoder`'s model; throws for targets it does not have, or for
  /// `classify` without a classification head.
  public func makeState(encoder: Encoder) throws -> AblationState {
    let c = encoder.config
    if task == .classify && !encoder.hasClassifier {
      throw BertScopeError.invalidInput(
        "--task classify needs a …ForSequenceClassification checkpoint (a classification head: BERT pooler.* + classifier.*, RoBERTa/ELECTRA classifier.dense + classifier.out_proj, DistilBERT pre_classifier + classifier); this one has none"
      )
    }
    let targets = self.targets ?? AblationTarget.all(layers: c.numLayers, heads: c.numHeads)
    for t in targets where t.layer < 0 || t.layer >= c.numLayers || (t.head.map { $0 < 0 || $0 >= c.numHeads } ?? false)
    {
      throw BertScopeError.invalidInput(
        "ablation target layer \(t.layer + 1) head \(t.head.map { String($0 + 1) } ?? "all") does not exist")
    }
    return AblationState(task: task, mode: mode, pooling: pooling, targets: targets)
  }

  /// Parses `lines` for the task (`items`), runs the intact model and every target on
  /// them, and returns the tokens of one pass.
  public func add(_ lines: [CorpusLine], path: String, session: AnalysisSession, to state: inout AblationState) throws
    -> Int
  {
    let items = try self.items(lines, path: path, session: session)
    try add(items, encoder: session.encoder, to: &state)
    return items.reduce(0) { $0 + $1.first.count + ($1.second?.count ?? 0) }
  }

  /// The items of corpus lines for the task: pairs with a score, a text (or pair) with a
  /// label, or plain texts; errors name the line.
  public func items(_ lines: [CorpusLine], path: String, session: AnalysisSession) throws -> [AblationItem] {
    let model = session.model
    let classes = model.weights.head?.labels ?? 0
    return try lines.map { line in
      let at = "\(path):\(line.number)"
      switch task {
      case .similarity:
        let (a, b, score) = try AblationInput.similarity(line, path: path)
        return AblationItem(
          first: try session.encode(a, where: at), second: try session.encode(b, where: at), score: score)
      case .classify:
        let (text, pair, label) = try AblationInput.classification(
          line, classes: classes, names: model.config.labels, path: path)
        return AblationItem(first: try session.encode(text, pair: pair, where: at), label: label)
      case .embeddingChange:
        return AblationItem(first: try session.encode(line, path: path))
      }
    }
  }

  /// Runs the intact model and every target of `state` on `items` (1 + targets forward
  /// passes, a target of layer l running layers l… only) and adds their metrics; throws for
  /// items the task cannot use.
  public func add(_ items: [AblationItem], encoder: Encoder, to state: inout AblationState) throws {
    guard !items.isEmpty else { return }
    var encodings: [Encoding] = []
    for item in items {
      switch state.task {
      case .similarity:
        guard let second = item.second, item.score != nil else {
          throw BertScopeError.invalidInput("similarity items need a second text and a score")
        }
        encodings += [item.first, second]
      case .classify:
        guard item.label != nil else { throw BertScopeError.invalidInput("classification items need a label") }
        encodings.append(item.first)
      case .embeddingChange:
        encodings.append(item.first)
      }
    }
    let c = encoder.config
    // Disabling a head of layer l leaves layers 0..<l as they are, so each target's pass
    // starts at its layer from the intact pass's input to it: the intact pass keeps the
    // hidden state at every layer boundary ([layers + 1, T, H] floats).
    let intact = try encoder.encode(
      encodings, options: EncodeOptions(pooling: state.pooling, hiddenStates: reusesIntactLayers))
    try state.accumulate(0, intact, intact: intact, items: items, encoder: encoder)
    for (k, target) in state.targets.enumerated() {
      let modes = target.headModes(layers: c.numLayers, heads: c.numHeads, mode: state.mode)
      let options = EncodeOptions(pooling: state.pooling, headModes: modes)
      let out: EncoderOutput
      if let states = intact.hiddenStates {
        out = try encoder.encode(encodings, options: options, fromLayer: target.layer, states: states)
      } else {
        out = try encoder.encode(encodings, options: options)
      }
      try state.accumulate(k + 1, out, intact: intact, items: items, encoder: encoder)
    }
    state.finish(items)
  }
}

/// The running metric of an ablation: per target (index 0 the intact model) a running sum
/// (accuracy, embedding change) or, for Spearman's ρ, one cosine per pair (ranks need them
/// all: one Float per pair and target). Merging appends a later part of the corpus.
public struct AblationState: AnalysisState {
  /// What the metric measures.
  public let task: AblationTask
  /// How the targets are disabled.
  public let mode: AblationMode
  /// How the compared embeddings are pooled.
  public let pooling: Pooling
  /// What is disabled, in order: pass k + 1 disables `targets[k]`.
  public let targets: [AblationTarget]
  /// Items (texts, or similarity pairs) added.
  public private(set) var examples = 0
  /// Encoder calls made: one per batch for the intact model and one per batch and target.
  public private(set) var forwardPasses = 0
  /// Gold scores of the similarity pairs, in corpus order.
  public private(set) var scores: [Double] = []
  /// [1 + targets][pairs]: cosine of each pair's two embeddings (similarity).
  public private(set) var cosines: [[Float]]
  /// [1 + targets]: correct predictions (classify) or Σ 1 − cos (embedding change).
  public private(set) var sums: [Double]

  /// An empty state for `targets`.
  public init(task: AblationTask, mode: AblationMode, pooling: Pooling, targets: [AblationTarget]) {
    self.task = task
    self.mode = mode
    self.pooling = pooling
    self.targets = targets
    cosines = Array(repeating: [], count: targets.count + 1)
    sums = Array(repeating: 0, count: targets.count + 1)
  }

  /// Adds pass `k` (0 the intact model, else target k − 1) on `items`.
  mutating func accumulate(
    _ k: Int, _ out: EncoderOutput, intact: EncoderOutput, items: [AblationItem], encoder: Encoder
  ) throws {
    switch task {
    case .similarity:
      for i in items.indices {
        cosines[k].append(Float(Statistics.cosine(out.embedding(2 * i), out.embedding(2 * i + 1))))
      }
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
    forwardPasses += 1
  }

  /// Counts `items` once all passes on them are in.
  mutating func finish(_ items: [AblationItem]) {
    if task == .similarity { scores += items.map { $0.score! } }
    examples += items.count
  }

  /// The metric of the intact model (k = 0) or with target k − 1 disabled.
  public func metric(_ k: Int) -> Double {
    switch task {
    case .similarity: return Statistics.spearman(cosines[k].map(Double.init), scores)
    case .classify, .embeddingChange: return examples > 0 ? sums[k] / Double(examples) : .nan
    }
  }

  /// Appends `other`'s items as if they followed this state's (the pair cosines of
  /// `similarity` are concatenated, so that ρ is that of the whole corpus); throws unless
  /// both have the same task, mode, pooling and targets.
  public mutating func merge(_ other: AblationState) throws {
    guard other.task == task, other.mode == mode, other.pooling == pooling, other.targets == targets else {
      throw BertScopeError.invalidInput("cannot merge ablations of different tasks, modes, pooling or targets")
    }
    let (e, f) = (try addCount(examples, other.examples), try addCount(forwardPasses, other.forwardPasses))
    (examples, forwardPasses) = (e, f)
    scores += other.scores
    for k in cosines.indices { cosines[k] += other.cosines[k] }
    for k in sums.indices { sums[k] += other.sums[k] }
  }

  enum CodingKeys: String, CodingKey {
    case task, mode, pooling, targets, examples, forwardPasses, scores, cosines, sums
  }

  public init(from decoder: any Swift.Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    task = try c.decode(AblationTask.self, forKey: .task)
    mode = try c.decode(AblationMode.self, forKey: .mode)
    pooling = try c.decode(Pooling.self, forKey: .pooling)
    targets = try c.decode([AblationTarget].self, forKey: .targets)
    examples = try c.decode(Int.self, forKey: .examples)
    forwardPasses = try c.decode(Int.self, forKey: .forwardPasses)
    scores = try c.decode([Double].self, forKey: .scores)
    cosines = try c.decode([[Float]].self, forKey: .cosines)
    sums = try c.decode([Double].self, forKey: .sums)
    let pairs = task == .similarity ? examples : 0
    guard cosines.count == targets.count + 1, sums.count == targets.count + 1, scores.count == pairs,
      cosines.allSatisfy({ $0.count == pairs }), examples >= 0, forwardPasses >= 0
    else {
      throw InvalidValue("the ablation state's arrays do not match its targets")
    }
  }
}

extension AblationResult {
  /// The metric with each target disabled and its change from the intact model.
  public init(_ state: AblationState, info: RunInfo) {
    let baseline = state.metric(0)
    let rows = state.targets.enumerated().map { k, t in
      let m = state.metric(k + 1)
      return Row(target: t, metric: m, delta: m - baseline)
    }
    self.init(
      info: info, task: state.task, mode: state.mode, baseline: baseline, rows: rows, forwardPasses: state.forwardPasses
    )
  }
}
