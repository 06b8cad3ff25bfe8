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
  /// Token embeddings, one row per vocabulary id: `[vocab, hidden]`.
  public var wordEmbeddings: [Float]
  /// Absolute position embeddings, row `i` for 0-based position `i`: `[maxPositions, hidden]`.
  public var positionEmbeddings: [Float]
  /// Token-type (segment) embeddings: `[typeVocab, hidden]`.
  public var tokenTypeEmbeddings: [Float]
  /// Scale of the LayerNorm applied to the summed embeddings: `[hidden]`.
  public var embeddingNormGamma: [Float]
  /// Shift of the LayerNorm applied to the summed embeddings: `[hidden]`.
  public var embeddingNormBeta: [Float]
  /// The transformer layers, 0-based in input-to-output order: `config.numLayers` of them.
  public var layers: [Layer]
  /// `pooler.dense`: `[hidden, hidden]` and `[hidden]`, when the checkpoint has one.
  public var pooler: (weight: [Float], bias: [Float])?
  /// `classifier`: `[labels, hidden]` and `[labels]`, when the checkpoint has one.
  public var classifier: (weight: [Float], bias: [Float])?

  /// Number of parameters held.
  public var parameterCount: Int {
    var n = wordEmbeddings.count + positionEmbeddings.count + tokenTypeEmbeddings.count + 2 * config.hiddenSize
    for l in layers {
      n += l.qkvWeight.count + l.qkvBias.count + l.attentionOutputWeight.count + l.attentionOutputBias.count
      n += l.intermediateWeight.count + l.intermediateBias.count + l.outputWeight.count + l.outputBias.count
      n += 4 * config.hiddenSize
    }
    n += (pooler?.weight.count ?? 0) + (pooler?.bias.count ?? 0)
    n += (classifier?.weight.count ?? 0) + (classifier?.bias.count ?? 0)
    return n
  }

  /// Assembles weights from arrays already in the documented shapes (no checks are made).
  public init(
    config: BertConfig, wordEmbeddings: [Float], positionEmbeddings: [Float], tokenTypeEmbeddings: [Float],
    embeddingNormGamma: [Float], embeddingNormBeta: [Float], layers: [Layer],
    pooler: (weight: [Float], bias: [Float])? = nil, classifier: (weight: [Float], bias: [Float])? = nil
  ) {
    self.config = config
    self.wordEmbeddings = wordEmbeddings
    self.positionEmbeddings = positionEmbeddings
    self.tokenTypeEmbeddings = tokenTypeEmbeddings
    self.embeddingNormGamma = embeddingNormGamma
    self.embeddingNormBeta = embeddingNormBeta
    self.layers = layers
    self.pooler = pooler
    self.classifier = classifier
  }

  /// Reads the encoder's tensors from `file`, accepting names with or without the `bert.`
  /// prefix and LayerNorm parameters named `weight/bias` or `gamma/beta`.
  public init(file: SafeTensorsFile, config: BertConfig) throws {
    let h = config.hiddenSize
    let inner = config.intermediateSize
    func find(_ name: String) -> SafeTensorsFile.Entry? {
      var candidates = [name, "bert." + name]
      if name.hasSuffix("LayerNorm.weight") {
        let stem = String(name.dropLast("weight".count))
        candidates += [stem + "gamma", "bert." + stem + "gamma"]
      } else if name.hasSuffix("LayerNorm.bias") {
        let stem = String(name.dropLast("bias".count))
        candidates += [stem + "beta", "bert." + stem + "beta"]
      }
      for candidate in candidates { if let entry = file.entries[candidate] { return entry } }
      return nil
    }
    func load(_ name: String, _ shape: [Int]) throws -> [Float] {
      guard let entry = find(name) else {
        throw BertScopeError.badModelFile(
          path: file.path, problem: "tensor \(name) (or bert.\(name)) is missing; is this a BERT checkpoint?")
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
    self.config = config
    wordEmbeddings = try load("embeddings.word_embeddings.weight", [config.vocabSize, h])
    positionEmbeddings = try load("embeddings.position_embeddings.weight", [config.maxPositions, h])
    tokenTypeEmbeddings = try load("embeddings.token_type_embeddings.weight", [config.typeVocabSize, h])
    embeddingNormGamma = try load("embeddings.LayerNorm.weight", [h])
    embeddingNormBeta = try load("embeddings.LayerNorm.bias", [h])
    var layers: [Layer] = []
    for i in 0..<config.numLayers {
      let p = "encoder.layer.\(i)."
      let q = try load(p + "attention.self.query.weight", [h, h])
      let k = try load(p + "attention.self.key.weight", [h, h])
      let v = try load(p + "attention.self.value.weight", [h, h])
      let qb = try load(p + "attention.self.query.bias", [h])
      let kb = try load(p + "attention.self.key.bias", [h])
      let vb = try load(p + "attention.self.value.bias", [h])
      layers.append(
        Layer(
          qkvWeight: q + k + v,
          qkvBias: qb + kb + vb,
          attentionOutputWeight: try load(p + "attention.output.dense.weight", [h, h]),
          attentionOutputBias: try load(p + "attention.output.dense.bias", [h]),
          attentionNormGamma: try load(p + "attention.output.LayerNorm.weight", [h]),
          attentionNormBeta: try load(p + "attention.output.LayerNorm.bias", [h]),
          intermediateWeight: try load(p + "intermediate.dense.weight", [inner, h]),
          intermediateBias: try load(p + "intermediate.dense.bias", [inner]),
          outputWeight: try load(p + "output.dense.weight", [h, inner]),
          outputBias: try load(p + "output.dense.bias", [h]),
          outputNormGamma: try load(p + "output.LayerNorm.weight", [h]),
          outputNormBeta: try load(p + "output.LayerNorm.bias", [h])))
    }
    if file.entries["encoder.layer.\(config.numLayers).attention.self.query.weight"] != nil
      || file.entries["bert.encoder.layer.\(config.numLayers).attention.self.query.weight"] != nil
    {
      throw BertScopeError.badModelFile(
        path: file.path, problem: "holds more than the \(config.numLayers) layers config.json declares")
    }
    self.layers = layers
    if find("pooler.dense.weight") != nil {
      pooler = (try load("pooler.dense.weight", [h, h]), try load("pooler.dense.bias", [h]))
    }
    if let entry = file.entries["classifier.weight"] {
      guard entry.shape.count == 2, entry.shape[1] == h, entry.shape[0] > 0 else {
        throw BertScopeError.shapeMismatch(
          path: file.path, tensor: "classifier.weight", expected: [config.numLabels ?? 2, h], found: entry.shape)
      }
      let labels = entry.shape[0]
      if let declared = config.numLabels, declared != labels {
        throw BertScopeError.shapeMismatch(
          path: file.path, tensor: "classifier.weight", expected: [declared, h], found: entry.shape)
      }
      classifier = (try load("classifier.weight", [labels, h]), try load("classifier.bias", [labels]))
    }
  }
}
