import Foundation

/// All parameters of a BERT encoder as F32 arrays in Hugging Face layout
/// (linear weights `[out, in]`, row-major), checked against the config.
public struct BertWeights: Sendable {
  /// The parameters of one transformer layer (Hugging Face `encoder.layer.N`).
  public struct Layer: Sendable {
    /// Query, key and value projections stacked: `[3 * hidden, hidden]`, rows q | k | v.
    public var qkvWeight: [Float]
    /// Query, key and value biases stacked: `[3 * hidden]`, q | k | v.
    public var qkvBias: [Float]
    /// Attention output projection (`attention.output.dense.weight`): `[hidden, hidden]`.
    public var attentionOutputWeight: [Float]
    /// Attention output projection bias: `[hidden]`.
    public var attentionOutputBias: [Float]
    /// Scale of the LayerNorm after the attention block's residual sum: `[hidden]`.
    public var attentionNormGamma: [Float]
    /// Shift of the LayerNorm after the attention block's residual sum: `[hidden]`.
    public var attentionNormBeta: [Float]
    /// Feed-forward up-projection (`intermediate.dense.weight`): `[intermediate, hidden]`.
    public var intermediateWeight: [Float]
    /// Feed-forward up-projection bias: `[intermediate]`.
    public var intermediateBias: [Float]
    /// Feed-forward down-projection (`output.dense.weight`): `[hidden, intermediate]`.
    public var outputWeight: [Float]
    /// Feed-forward down-projection bias: `[hidden]`.
    public var outputBias: [Float]
    /// Scale of the LayerNorm after the feed-forward block's residual sum: `[hidden]`.
    public var outputNormGamma: [Float]
    /// Shift of the LayerNorm after the feed-forward block's residual sum: `[hidden]`.
    public var outputNormBeta: [Float]
  }

  /// The configuration the shapes were checked against.
  public var config: BertConfig
  /// Token embeddings, one row per vocabulary id: `[vocab, embedding]` (the embedding width
  /// is the hidden size except for a projecting ELECTRA).
  public var wordEmbeddings: [Float]
  /// Absolute position embeddings, row `p` for position id `p`: `[positionRows, embedding]`
  /// (position ids start at ``BertConfig/positionOffset``).
  public var positionEmbeddings: [Float]
  /// Token-type (segment) embeddings: `[typeVocab, embedding]` (one zero row for DistilBERT).
  public var tokenTypeEmbeddings: [Float]
  /// Scale of the LayerNorm applied to the summed embeddings: `[embedding]`.
  public var embeddingNormGamma: [Float]
  /// Shift of the LayerNorm applied to the summed embeddings: `[embedding]`.
  public var embeddingNormBeta: [Float]
  /// The transformer layers, 0-based in input-to-output order: `config.numLayers` of them.
  public var layers: [Layer]
  /// ELECTRA's `embeddings_project` (`[hidden, embedding]`, `[hidden]`) when its embeddings
  /// are narrower than the hidden state; applied after the embedding LayerNorm.
  public var embeddingProjection: (weight: [Float], bias: [Float])?
  /// `pooler.dense`: `[hidden, hidden]` and `[hidden]`, when the checkpoint has one.
  public var pooler: (weight: [Float], bias: [Float])?
  /// The sequence-classification head of a `…ForSequenceClassification` checkpoint.
  public var head: ClassificationHead?

  /// Number of parameters held.
  public var parameterCount: Int {
    var n = wordEmbeddings.count + positionEmbeddings.count + tokenTypeEmbeddings.count + 2 * config.embeddingSize
    n += (embeddingProjection?.weight.count ?? 0) + (embeddingProjection?.bias.count ?? 0)
    for l in layers {
      n += l.qkvWeight.count + l.qkvBias.count + l.attentionOutputWeight.count + l.attentionOutputBias.count
      n += l.intermediateWeight.count + l.intermediateBias.count + l.outputWeight.count + l.outputBias.count
      n += 4 * config.hiddenSize
    }
    // A BERT head's first layer is the pooler itself.
    if config.family != .bert || head == nil { n += (pooler?.weight.count ?? 0) + (pooler?.bias.count ?? 0) }
    n += (head?.dense.weight.count ?? 0) + (head?.dense.bias.count ?? 0)
    n += (head?.output.weight.count ?? 0) + (head?.output.bias.count ?? 0)
    return n
  }

  /// Assembles weights from arrays already in the documented shapes (no checks are made).
  public init(
    config: BertConfig, wordEmbeddings: [Float], positionEmbeddings: [Float], tokenTypeEmbeddings: [Float],
    embeddingNormGamma: [Float], embeddingNormBeta: [Float], layers: [Layer],
    pooler: (weight: [Float], bias: [Float])? = nil, head: ClassificationHead? = nil,
    embeddingProjection: (weight: [Float], bias: [Float])? = nil
  ) {
    self.config = config
    self.wordEmbeddings = wordEmbeddings
    self.positionEmbeddings = positionEmbeddings
    self.tokenTypeEmbeddings = tokenTypeEmbeddings
    self.embeddingNormGamma = embeddingNormGamma
    self.embeddingNormBeta = embeddingNormBeta
    self.layers = layers
    self.pooler = pooler
    self.head = head
    self.embeddingProjection = embeddingProjection
  }

  /// Reads the encoder's tensors from `file` by the names of `config.family`, accepting them
  /// with or without the family's prefix (`bert.`, `roberta.`, `distilbert.`, `electra.`) and
  /// LayerNorm parameters named `weight/bias` or `gamma/beta`; DistilBERT gets a zero
  /// token-type row.
  public init(file: SafeTensorsFile, config: BertConfig) throws {
    let h = config.hiddenSize
    let e = config.embeddingSize
    let inner = config.intermediateSize
    let family = config.family
    let prefix = family.weightPrefix
    func candidates(_ name: String) -> [String] {
      var names = [name, prefix + name]
      for (suffix, old) in [("LayerNorm.weight", "gamma"), ("LayerNorm.bias", "beta")] where name.hasSuffix(suffix) {
        let stem = String(name.dropLast(suffix.count - "LayerNorm.".count))
        names += [stem + old, prefix + stem + old]
      }
      return names
    }
    func find(_ name: String) -> SafeTensorsFile.Entry? {
      for candidate in candidates(name) { if let entry = file.entries[candidate] { return entry } }
      return nil
    }
    func load(_ name: String, _ shape: [Int]) throws -> [Float] {
      guard let entry = find(name) else {
        throw BertScopeError.badModelFile(
          path: file.path,
          problem:
            "tensor \(name) (or \(prefix)\(name)) is missing; is this a \(family.rawValue) checkpoint (model_type in config.json)?"
        )
      }
      guard entry.shape == shape else {
        throw BertScopeError.shapeMismatch(path: file.path, tensor: entry.name, expected: shape, found: entry.shape)
      }
      let values = try file.floats(entry)
      // NaN or ±Inf in a weight turns every output into NaN; refuse the file instead.
      if let first = values.firstIndex(where: { !$0.isFinite }) {
        let count = values.reduce(0) { $1.isFinite ? $0 : $0 + 1 }
        throw BertScopeError.badModelFile(
          path: file.path,
          problem:
            "tensor \(entry.name) holds \(count) non-finite value\(count == 1 ? "" : "s") (NaN or ±Inf), the first at element \(first) (\(values[first])); the checkpoint is corrupt"
        )
      }
      return values
    }
    func linear(_ name: String, out: Int, in: Int) throws -> (weight: [Float], bias: [Float]) {
      (try load(name + ".weight", [out, `in`]), try load(name + ".bias", [out]))
    }
    self.config = config
    wordEmbeddings = try load("embeddings.word_embeddings.weight", [config.vocabSize, e])
    positionEmbeddings = try load("embeddings.position_embeddings.weight", [config.positionRows, e])
    tokenTypeEmbeddings =
      family == .distilbert
      ? [Float](repeating: 0, count: e)
      : try load("embeddings.token_type_embeddings.weight", [config.typeVocabSize, e])
    embeddingNormGamma = try load("embeddings.LayerNorm.weight", [e])
    embeddingNormBeta = try load("embeddings.LayerNorm.bias", [e])
    if family == .electra && e != h {
      embeddingProjection = try linear("embeddings_project", out: h, in: e)
    }
    let names = LayerNames(family)
    var layers: [Layer] = []
    for i in 0..<config.numLayers {
      let p = names.layer + "\(i)."
      let q = try linear(p + names.query, out: h, in: h)
      let k = try linear(p + names.key, out: h, in: h)
      let v = try linear(p + names.value, out: h, in: h)
      let attentionOutput = try linear(p + names.attentionOutput, out: h, in: h)
      let up = try linear(p + names.intermediate, out: inner, in: h)
      let down = try linear(p + names.output, out: h, in: inner)
      layers.append(
        Layer(
          qkvWeight: q.weight + k.weight + v.weight,
          qkvBias: q.bias + k.bias + v.bias,
          attentionOutputWeight: attentionOutput.weight,
          attentionOutputBias: attentionOutput.bias,
          attentionNormGamma: try load(p + names.attentionNorm + ".weight", [h]),
          attentionNormBeta: try load(p + names.attentionNorm + ".bias", [h]),
          intermediateWeight: up.weight,
          intermediateBias: up.bias,
          outputWeight: down.weight,
          outputBias: down.bias,
          outputNormGamma: try load(p + names.outputNorm + ".weight", [h]),
          outputNormBeta: try load(p + names.outputNorm + ".bias", [h])))
    }
    if candidates(names.layer + "\(config.numLayers)." + names.query + ".weight").contains(where: {
      file.entries[$0] != nil
    }) {
      throw BertScopeError.badModelFile(
        path: file.path, problem: "holds more than the \(config.numLayers) layers config.json declares")
    }
    self.layers = layers
    if find("pooler.dense.weight") != nil { pooler = try linear("pooler.dense", out: h, in: h) }
    head = try Self.classificationHead(family: family, config: config, path: file.path, find: find) { name, out in
      try linear(name, out: out, in: h)
    }
  }

  /// The tensor names of one transformer layer in a family's checkpoints.
  struct LayerNames {
    let layer, query, key, value, attentionOutput, attentionNorm, intermediate, output, outputNorm: String

    init(_ family: ModelFamily) {
      if family == .distilbert {
        (layer, query, key, value) = ("transformer.layer.", "attention.q_lin", "attention.k_lin", "attention.v_lin")
        (attentionOutput, attentionNorm) = ("attention.out_lin", "sa_layer_norm")
        (intermediate, output, outputNorm) = ("ffn.lin1", "ffn.lin2", "output_layer_norm")
      } else {
        (layer, query, key, value) = (
          "encoder.layer.", "attention.self.query", "attention.self.key", "attention.self.value"
        )
        (attentionOutput, attentionNorm) = ("attention.output.dense", "attention.output.LayerNorm")
        (intermediate, output, outputNorm) = ("intermediate.dense", "output.dense", "output.LayerNorm")
      }
    }
  }

  /// The sequence-classification head of a `…ForSequenceClassification` checkpoint, by family:
  /// BERT `classifier(tanh(pooler.dense(h)))`; RoBERTa family
  /// `classifier.out_proj(tanh(classifier.dense(h)))`; ELECTRA the same with exact GELU;
  /// DistilBERT `classifier(relu(pre_classifier(h)))` — `h` the first token's last hidden state.
  static func classificationHead(
    family: ModelFamily, config: BertConfig, path: String, find: (String) -> SafeTensorsFile.Entry?,
    linear: (String, Int) throws -> (weight: [Float], bias: [Float])
  ) throws -> ClassificationHead? {
    let h = config.hiddenSize
    let (dense, output, activation): (String, String, ClassificationHead.Activation)
    switch family {
    case .bert: (dense, output, activation) = ("pooler.dense", "classifier", .tanh)
    case .roberta, .xlmRoberta, .camembert:
      (dense, output, activation) = ("classifier.dense", "classifier.out_proj", .tanh)
    case .electra: (dense, output, activation) = ("classifier.dense", "classifier.out_proj", .gelu)
    case .distilbert: (dense, output, activation) = ("pre_classifier", "classifier", .relu)
    }
    // The head's tensors are never prefixed; `find` also tries the prefix, harmlessly.
    guard let entry = find(output + ".weight"), find(dense + ".weight") != nil else { return nil }
    guard entry.shape.count == 2, entry.shape[1] == h, entry.shape[0] > 0 else {
      throw BertScopeError.shapeMismatch(
        path: path, tensor: entry.name, expected: [config.numLabels ?? 2, h], found: entry.shape)
    }
    let labels = entry.shape[0]
    if let declared = config.numLabels, declared != labels {
      throw BertScopeError.shapeMismatch(path: path, tensor: entry.name, expected: [declared, h], found: entry.shape)
    }
    return ClassificationHead(
      dense: try linear(dense, h), activation: activation, output: try linear(output, labels))
  }
}

/// A sequence-classification head on the first token's last hidden state `h`:
/// `logits = output(activation(dense(h)))`.
public struct ClassificationHead: Sendable {
  /// The nonlinearity between the two layers.
  public enum Activation: String, Sendable {
    /// BERT's pooler and RoBERTa's head.
    case tanh
    /// ELECTRA's head (exact erf GELU).
    case gelu
    /// DistilBERT's head.
    case relu
  }

  /// The first layer, `[hidden, hidden]` and `[hidden]` (BERT: `pooler.dense`).
  public var dense: (weight: [Float], bias: [Float])
  /// The nonlinearity after ``dense``.
  public var activation: Activation
  /// The output layer, `[labels, hidden]` and `[labels]`.
  public var output: (weight: [Float], bias: [Float])

  /// Number of classes.
  public var labels: Int { output.bias.count }

  /// A head from its two layers.
  public init(
    dense: (weight: [Float], bias: [Float]), activation: Activation, output: (weight: [Float], bias: [Float])
  ) {
    self.dense = dense
    self.activation = activation
    self.output = output
  }

  /// The logits of one first-token state `h` (`[hidden]`), in double precision.
  public func logits(_ h: UnsafePointer<Float>) -> [Float] {
    let n = dense.bias.count
    var hidden = [Double](repeating: 0, count: n)
    for i in 0..<n {
      var acc = Double(dense.bias[i])
      for j in 0..<n { acc += Double(dense.weight[i * n + j]) * Double(h[j]) }
      switch activation {
      case .tanh: hidden[i] = tanh(acc)
      case .gelu: hidden[i] = 0.5 * acc * (1 + erf(acc / 2.0.squareRoot()))
      case .relu: hidden[i] = max(acc, 0)
      }
    }
    return (0..<labels).map { k in
      var acc = Double(output.bias[k])
      for j in 0..<n { acc += Double(output.weight[k * n + j]) * hidden[j] }
      return Float(acc)
    }
  }
}
