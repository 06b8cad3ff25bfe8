import Foundation

/// The architecture fields of a Hugging Face `config.json` that the encoder needs, for every
/// ``ModelFamily`` (BERT's key names; DistilBERT's `dim`, `n_layers`, … are read into the same
/// fields).
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
  /// The longest sequence in tokens, special tokens included: the rows of the
  /// position-embedding matrix (`max_position_embeddings`, default 512) less the
  /// ``positionOffset`` rows no position uses (RoBERTa's 514 rows hold 512 positions).
  public var maxPositions: Int
  /// The row of the position-embedding matrix that position 0 uses: 0, or `pad_token_id + 1`
  /// for the RoBERTa family (Hugging Face's `create_position_ids_from_input_ids`; a pad token
  /// written in the text takes row `pad_token_id` and does not advance the count).
  public var positionOffset: Int = 0
  /// Width of the embeddings before the encoder (`embedding_size`): the hidden size except in
  /// ELECTRA checkpoints that project them up (`embeddings_project`).
  public var embeddingSize: Int = 0
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
  /// The checkpoint's `model_type` as written (`"bert"` when absent).
  public var modelType: String
  /// The architecture `model_type` names.
  public var family: ModelFamily = .bert

  /// Width of one attention head: `hiddenSize / numHeads`.
  public var headDim: Int { hiddenSize / numHeads }

  /// Rows of the position-embedding matrix in the checkpoint: ``maxPositions`` + ``positionOffset``.
  public var positionRows: Int { maxPositions + positionOffset }

  /// Whether the tokenizer's segment ids reach the model (``ModelFamily/usesTokenTypes``);
  /// when not, every position uses token type 0.
  public var usesTokenTypes: Bool { family.usesTokenTypes }

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
    self.family = ModelFamily(rawValue: modelType) ?? .bert
    embeddingSize = hiddenSize
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
    let family = try ModelFamily(modelType: modelType, path: path)
    // DistilBERT's config names the same sizes differently and has no token types.
    let distil = family == .distilbert
    let act = (dict[distil ? "activation" : "hidden_act"] as? String) ?? "gelu"
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
    let rows = try int("max_position_embeddings", default: 512)
    self.init(
      vocabSize: try int("vocab_size"),
      hiddenSize: try int(distil ? "dim" : "hidden_size"),
      numLayers: try int(distil ? "n_layers" : "num_hidden_layers"),
      numHeads: try int(distil ? "n_heads" : "num_attention_heads"),
      intermediateSize: try int(distil ? "hidden_dim" : "intermediate_size"),
      maxPositions: rows,
      typeVocabSize: distil ? 1 : try int("type_vocab_size", default: 2),
      layerNormEps: eps,
      hiddenAct: act,
      numLabels: numLabels,
      labels: labels,
      modelType: modelType
    )
    self.family = family
    if family.positionsAfterPadding {
      let pad = try int("pad_token_id", default: 1)
      guard pad >= 0, pad + 1 < rows else {
        throw BertScopeError.badModelFile(
          path: path,
          problem: "pad_token_id \(pad) leaves no positions in the \(rows) rows of max_position_embeddings")
      }
      positionOffset = pad + 1
      maxPositions = rows - positionOffset
    }
    if family == .electra {
      // ElectraConfig's default embedding_size is 128, not the hidden size.
      embeddingSize = try int("embedding_size", default: 128)
      guard embeddingSize > 0, embeddingSize <= 1 << 24 else {
        throw BertScopeError.badModelFile(
          path: path, problem: "embedding_size must be positive, found \(embeddingSize)")
      }
    } else if let raw = dict["embedding_size"], let embedding = JSONValue.integer(raw), embedding != hiddenSize {
      throw BertScopeError.badModelFile(
        path: path,
        problem:
          "embedding_size \(embedding) differs from hidden_size (only ELECTRA's projected embeddings are supported)")
    }
    try validate(path: path)
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
