import Foundation

/// The architecture fields of a Hugging Face BERT `config.json` that the encoder needs.
public struct BertConfig: Sendable, Equatable, Codable {
  /// Number of WordPiece tokens: rows of the word-embedding matrix (`vocab_size`).
  public var vocabSize: Int
  /// Width of every hidden state (`hidden_size`), e.g. 384 for MiniLM-L6, 768 for BERT-base.
  public var hiddenSize: Int
  /// Number of transformer layers (`num_hidden_layers`).
  public var numLayers: Int
  /// Attention heads per layer (`num_attention_heads`); must divide ``hiddenSize``.
  public var numHeads: Int
  /// Width of the feed-forward layer inside each transformer layer (`intermediate_size`).
  public var intermediateSize: Int
  /// Rows of the position-embedding matrix, and so the longest sequence in tokens, special
  /// tokens included (`max_position_embeddings`, default 512).
  public var maxPositions: Int
  /// Number of token types (segments) the token-type embedding holds (`type_vocab_size`, default 2).
  public var typeVocabSize: Int
  /// The epsilon added to the variance in every LayerNorm (`layer_norm_eps`, default 1e-12).
  public var layerNormEps: Float
  /// The feed-forward activation by its Hugging Face name (`hidden_act`, default `"gelu"`).
  ///
  /// `"gelu"` (exact erf GELU) is what BERT checkpoints use; `"gelu_new"`, `"gelu_pytorch_tanh"`
  /// and `"gelu_fast"` select the tanh approximation, `"relu"` ReLU.
  public var hiddenAct: String
  /// Number of classes of a sequence-classification head as the config declares it:
  /// `num_labels` when given, else the size of `id2label`; nil when neither is present.
  /// ``BertWeights`` checks it against `classifier.weight` when the checkpoint has one.
  public var numLabels: Int?
  /// `id2label` from the config, indexed by class id, when present.
  public var labels: [String]?
  /// The checkpoint's `model_type` (`"bert"` when absent); informational only.
  public var modelType: String

  /// Width of one attention head: `hiddenSize / numHeads`.
  public var headDim: Int { hiddenSize / numHeads }

  /// Builds a configuration from its fields; defaults are those of BERT-base.
  ///
  /// Call ``validate(path:)`` before using a configuration that was not read from a file.
  public init(
    vocabSize: Int, hiddenSize: Int, numLayers: Int, numHeads: Int, intermediateSize: Int,
    maxPositions: Int = 512, typeVocabSize: Int = 2, layerNormEps: Float = 1e-12,
    hiddenAct: String = "gelu", numLabels: Int? = nil, labels: [String]? = nil,
    modelType: String = "bert"
  ) {
    self.vocabSize = vocabSize
    self.hiddenSize = hiddenSize
    self.numLayers = numLayers
    self.numHeads = numHeads
    self.intermediateSize = intermediateSize
    self.maxPositions = maxPositions
    self.typeVocabSize = typeVocabSize
    self.layerNormEps = layerNormEps
    self.hiddenAct = hiddenAct
    self.numLabels = numLabels
    self.labels = labels
    self.modelType = modelType
  }

  /// The activations BertScope implements, by their Hugging Face names.
  public static let supportedActivations: Set<String> = [
    "gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu",
  ]

  /// Reads and validates `config.json`.
  public init(contentsOf url: URL) throws {
    let data = try ModelFile.read(
      url, limit: ModelFile.maxJSONBytes, hint: "a Hugging Face model folder holds config.json")!
    try self.init(json: data, path: url.path)
  }

  /// Parses `config.json` bytes; `path` is only used in error messages.
  public init(json data: Data, path: String = "config.json") throws {
    let object: Any
    do {
      object = try JSONSerialization.jsonObject(with: data)
    } catch {
      throw BertScopeError.badModelFile(
        path: path, problem: "not valid JSON (\(printable(error.localizedDescription)))")
    }
    guard let dict = object as? [String: Any] else {
      throw BertScopeError.badModelFile(path: path, problem: "expected a JSON object")
    }
    func int(_ key: String, default value: Int? = nil) throws -> Int {
      guard let raw = dict[key] else {
        if let value { return value }
        throw BertScopeError.badModelFile(path: path, problem: "missing \"\(key)\"")
      }
      guard let exact = JSONValue.integer(raw) else {
        throw BertScopeError.badModelFile(
          path: path, problem: "\"\(key)\" must be an integer, found \(printable("\(raw)"))")
      }
      return exact
    }
    let modelType = (dict["model_type"] as? String) ?? "bert"
    let act = (dict["hidden_act"] as? String) ?? "gelu"
    var eps: Float = 1e-12
    if let raw = dict["layer_norm_eps"] {
      guard let number = JSONValue.number(raw) else {
        throw BertScopeError.badModelFile(path: path, problem: "\"layer_norm_eps\" must be a number")
      }
      eps = Float(number)
    }
    var labels: [String]? = nil
    if let id2label = dict["id2label"] as? [String: Any], !id2label.isEmpty {
      var list = [String](repeating: "", count: id2label.count)
      for (key, value) in id2label {
        guard let index = Int(key), index >= 0, index < list.count else {
          throw BertScopeError.badModelFile(path: path, problem: "\"id2label\" keys must be 0..<\(list.count)")
        }
        list[index] = "\(value)"
      }
      labels = list
    }
    var numLabels: Int? = labels?.count
    if dict["num_labels"] != nil { numLabels = try int("num_labels") }
    self.init(
      vocabSize: try int("vocab_size"),
      hiddenSize: try int("hidden_size"),
      numLayers: try int("num_hidden_layers"),
      numHeads: try int("num_attention_heads"),
      intermediateSize: try int("intermediate_size"),
      maxPositions: try int("max_position_embeddings", default: 512),
      typeVocabSize: try int("type_vocab_size", default: 2),
      layerNormEps: eps,
      hiddenAct: act,
      numLabels: numLabels,
      labels: labels,
      modelType: modelType
    )
    try validate(path: path)
    if let raw = dict["embedding_size"], let embedding = JSONValue.integer(raw), embedding != hiddenSize {
      throw BertScopeError.badModelFile(
        path: path,
        problem: "embedding_size \(embedding) differs from hidden_size (ALBERT-style factorisation is not supported)")
    }
    if let kind = dict["position_embedding_type"] as? String, kind != "absolute" {
      throw BertScopeError.badModelFile(
        path: path, problem: "position_embedding_type \"\(printable(kind))\" is not supported (only \"absolute\")")
    }
  }

  /// Checks sizes are positive, heads divide the hidden size and the activation is known.
  public func validate(path: String = "config.json") throws {
    let positive: [(String, Int)] = [
      ("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("num_hidden_layers", numLayers),
      ("num_attention_heads", numHeads), ("intermediate_size", intermediateSize),
      ("max_position_embeddings", maxPositions), ("type_vocab_size", typeVocabSize),
    ]
    for (name, value) in positive where value <= 0 {
      throw BertScopeError.badModelFile(path: path, problem: "\(name) must be positive, found \(value)")
    }
    // Keep sizes within what a 32-bit index and a sane amount of memory can hold.
    for (name, value) in positive where value > 1 << 24 {
      throw BertScopeError.badModelFile(path: path, problem: "\(name) = \(value) is implausibly large")
    }
    if hiddenSize % numHeads != 0 {
      throw BertScopeError.badModelFile(
        path: path, problem: "hidden_size \(hiddenSize) is not divisible by num_attention_heads \(numHeads)")
    }
    if !(layerNormEps.isFinite && layerNormEps >= 0) {
      throw BertScopeError.badModelFile(path: path, problem: "layer_norm_eps must be a finite non-negative number")
    }
    if !Self.supportedActivations.contains(hiddenAct) {
      throw BertScopeError.badModelFile(
        path: path,
        problem:
          "hidden_act \"\(printable(hiddenAct))\" is not supported (one of \(Self.supportedActivations.sorted().joined(separator: ", ")))"
      )
    }
    if let numLabels, numLabels <= 0 {
      throw BertScopeError.badModelFile(path: path, problem: "num_labels must be positive, found \(numLabels)")
    }
  }
}
