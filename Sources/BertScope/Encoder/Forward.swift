import Foundation

/// The engine behind `Encoder`, type-erased over the backend.
protocol EncoderEngine: Sendable {
  var backendName: String { get }
  func run(_ encodings: [Encoding], options: EncodeOptions) throws -> EncoderOutput
}

/// A BERT encoder forward pass written once against `ComputeBackend`.
///
/// Per layer (Hugging Face `BertLayer`, post-LayerNorm):
/// ```
/// qkv = x·Wqkvᵀ + b                       [T, 3H]
/// P   = softmax(Q Kᵀ / √d) per (seq, head) [nh, L, L] per sequence
/// c   = P·V, heads merged                  [T, H]
/// x   = LN(c·Woᵀ + bo + x)
/// x   = LN(GELU(x·W1ᵀ + b1)·W2ᵀ + b2 + x)
/// ```
/// The weights are uploaded once at init; a pass allocates its activations, queues every
/// op, and reads back the last hidden state and the requested maps at the end.
final class Forward<B: ComputeBackend>: EncoderEngine, @unchecked Sendable {
  // Immutable after init; the backend is Sendable, buffers are only read by ops.
  struct Layer {
    let qkv: B.Matrix, qkvBias: B.Buffer
    let attentionOutput: B.Matrix, attentionOutputBias: B.Buffer
    let attentionGamma: B.Buffer, attentionBeta: B.Buffer
    let intermediate: B.Matrix, intermediateBias: B.Buffer
    let output: B.Matrix, outputBias: B.Buffer
    let outputGamma: B.Buffer, outputBeta: B.Buffer
  }

  let backend: B
  let config: BertConfig
  let activation: Activation
  let word: B.Buffer, position: B.Buffer, tokenType: B.Buffer
  let embeddingGamma: B.Buffer, embeddingBeta: B.Buffer
  let layers: [Layer]

  var backendName: String { backend.name }

  init(backend: B, weights: BertWeights) throws {
    let c = weights.config
    let h = c.hiddenSize, inner = c.intermediateSize
    self.backend = backend
    config = c
    activation = Activation(huggingFace: c.hiddenAct)
    word = try backend.makeBuffer(weights.wordEmbeddings)
    position = try backend.makeBuffer(weights.positionEmbeddings)
    tokenType = try backend.makeBuffer(weights.tokenTypeEmbeddings)
    embeddingGamma = try backend.makeBuffer(weights.embeddingNormGamma)
    embeddingBeta = try backend.makeBuffer(weights.embeddingNormBeta)
    layers = try weights.layers.map { l in
      Layer(
        qkv: try backend.makeMatrix(l.qkvWeight, rows: 3 * h, cols: h),
        qkvBias: try backend.makeBuffer(l.qkvBias),
        attentionOutput: try backend.makeMatrix(l.attentionOutputWeight, rows: h, cols: h),
        attentionOutputBias: try backend.makeBuffer(l.attentionOutputBias),
        attentionGamma: try backend.makeBuffer(l.attentionNormGamma),
        attentionBeta: try backend.makeBuffer(l.attentionNormBeta),
        intermediate: try backend.makeMatrix(l.intermediateWeight, rows: inner, cols: h),
        intermediateBias: try backend.makeBuffer(l.intermediateBias),
        output: try backend.makeMatrix(l.outputWeight, rows: h, cols: inner),
        outputBias: try backend.makeBuffer(l.outputBias),
        outputGamma: try backend.makeBuffer(l.outputNormGamma),
        outputBeta: try backend.makeBuffer(l.outputNormBeta))
    }
  }

  /// Checks what would otherwise index out of bounds on the device.
  func validate(_ encodings: [Encoding]) throws {
    for (s, e) in encodings.enumerated() {
      guard e.count > 0 else { throw BertScopeError.invalidInput("input \(s + 1) has no tokens") }
      guard e.count <= config.maxPositions else {
        throw BertScopeError.sequenceTooLong(length: e.count, maximum: config.maxPositions)
      }
      guard e.segments.count == e.count else {
        throw BertScopeError.invalidInput("input \(s + 1): \(e.count) ids but \(e.segments.count) segment ids")
      }
      if let (p, id) = e.ids.enumerated().first(where: { $0.element < 0 || Int($0.element) >= config.vocabSize }) {
        throw BertScopeError.invalidInput(
          "input \(s + 1): token id \(id) at position \(p) is outside the vocabulary (0..<\(config.vocabSize))")
      }
      if let (p, t) = e.segments.enumerated().first(where: { $0.element < 0 || Int($0.element) >= config.typeVocabSize }) {
        throw BertScopeError.invalidInput(
          "input \(s + 1): segment id \(t) at position \(p) is outside 0..<\(config.typeVocabSize)")
      }
    }
  }

  func run(_ encodings: [Encoding], options: EncodeOptions) throws -> EncoderOutput {
    let start = DispatchTime.now().uptimeNanoseconds
    try validate(encodings)
    let c = config
    let h = c.hiddenSize, nh = c.numHeads, d = c.headDim
    let (mapLayers, mapHeads) = try options.maps.resolve(c)
    if let modes = options.headModes {
      guard modes.count == c.numLayers, modes.allSatisfy({ $0.count == nh }) else {
        throw BertScopeError.invalidInput("head modes must be [\(c.numLayers)][\(nh)]")
      }
    }
    if let kinds = options.featureKinds {
      guard kinds.count == encodings.count, zip(kinds, encodings).allSatisfy({ $0.count == $1.count }) else {
        throw BertScopeError.invalidInput("feature kinds must give one kind per token of every input")
      }
      guard kinds.allSatisfy({ $0.allSatisfy { (0...3).contains($0) } }) else {
        throw BertScopeError.invalidInput("feature kinds must be AttentionFeatures.Kind raw values 0–3")
      }
    }
    let batch = PackedBatch(encodings, heads: nh, kinds: options.featureKinds)
    let t = batch.tokenCount
    guard t > 0 else {
      return EncoderOutput(
        lengths: [], tokenOffsets: [], hiddenSize: h, hidden: FloatStorage(count: 0), pooled: [], maps: [], seconds: 0,
        features: [])
    }
    let layout = try backend.makeLayout(batch)
    let x = try backend.makeBuffer(count: t * h)
    let y = try backend.makeBuffer(count: t * h)
    let qkv = try backend.makeBuffer(count: t * 3 * h)
    let context = try backend.makeBuffer(count: t * h)
    let ffn = try backend.makeBuffer(count: t * c.intermediateSize)
    let featureStride = batch.count * nh * AttentionFeatures.count
    let features = options.featureKinds == nil ? nil : try backend.makeBuffer(count: c.numLayers * featureStride)
    var scratchProbs: B.Buffer? = nil
    var heldProbs: [B.Buffer] = []
    let scale = 1 / Float(d).squareRoot()

    try backend.embed(
      out: x, layout: layout, batch: batch, word: word, position: position, type: tokenType,
      gamma: embeddingGamma, beta: embeddingBeta, hidden: h, eps: c.layerNormEps)
    for (l, w) in layers.enumerated() {
      let probs: B.Buffer
      if mapLayers.contains(l) {
        probs = try backend.makeBuffer(count: batch.probCount)
        heldProbs.append(probs)
      } else {
        if scratchProbs == nil { scratchProbs = try backend.makeBuffer(count: batch.probCount) }
        probs = scratchProbs!
      }
      let modes = options.headModes?[l] ?? Array(repeating: .normal, count: nh)
      try backend.linear(out: qkv, input: x, rows: t, weight: w.qkv, bias: w.qkvBias, epilogue: .bias, activation: activation)
      try backend.attention(
        probs: probs, context: context, qkv: qkv, layout: layout, batch: batch, heads: nh, headDim: d, scale: scale,
        modes: modes)
      if let features {
        try backend.attentionFeatures(
          out: features, offset: l * featureStride, probs: probs, layout: layout, batch: batch, heads: nh)
      }
      try backend.linear(
        out: y, input: context, rows: t, weight: w.attentionOutput, bias: w.attentionOutputBias,
        epilogue: .biasResidual(x), activation: activation)
      try backend.layerNorm(out: x, input: y, rows: t, cols: h, gamma: w.attentionGamma, beta: w.attentionBeta, eps: c.layerNormEps)
      try backend.linear(
        out: ffn, input: x, rows: t, weight: w.intermediate, bias: w.intermediateBias, epilogue: .biasActivation,
        activation: activation)
      try backend.linear(
        out: y, input: ffn, rows: t, weight: w.output, bias: w.outputBias, epilogue: .biasResidual(x),
        activation: activation)
      try backend.layerNorm(out: x, input: y, rows: t, cols: h, gamma: w.outputGamma, beta: w.outputBeta, eps: c.layerNormEps)
    }

    let hidden = try backend.readStorage(x, count: t * h)
    var maps: [AttentionMaps] = []
    if !mapLayers.isEmpty {
      let allHeads = mapHeads.count == nh
      var storages: [FloatStorage] = []
      // blocks[s][layer][head]
      var blocks = [[[Int]]](repeating: [], count: batch.count)
      for probs in heldProbs {
        if allHeads {
          storages.append(try backend.readStorage(probs, count: batch.probCount))
          for s in 0..<batch.count {
            let l2 = batch.lengths[s] * batch.lengths[s]
            blocks[s].append(mapHeads.map { batch.probOffsets[s] + $0 * l2 })
          }
        } else {
          var ranges: [Range<Int>] = []
          var at = 0
          for s in 0..<batch.count {
            let l2 = batch.lengths[s] * batch.lengths[s]
            var offsets: [Int] = []
            for head in mapHeads {
              let begin = batch.probOffsets[s] + head * l2
              ranges.append(begin..<(begin + l2))
              offsets.append(at)
              at += l2
            }
            blocks[s].append(offsets)
          }
          storages.append(try backend.readStorage(probs, ranges: ranges))
        }
      }
      maps = (0..<batch.count).map { s in
        AttentionMaps(layers: mapLayers, heads: mapHeads, length: batch.lengths[s], storages: storages, blocks: blocks[s])
      }
    }
    var featureValues: [Float] = []
    if let features {
      // [layers, sequences, heads, K] on the device → [sequences, layers, heads, K].
      let raw = try backend.read(features, range: 0..<(c.numLayers * featureStride))
      let k = AttentionFeatures.count, block = nh * k
      featureValues = [Float](repeating: 0, count: raw.count)
      for l in 0..<c.numLayers {
        for s in 0..<batch.count {
          let src = l * featureStride + s * block, dst = (s * c.numLayers + l) * block
          featureValues[dst..<(dst + block)] = raw[src..<(src + block)]
        }
      }
    }
    let pooled = Self.pool(hidden, batch: batch, hiddenSize: h, pooling: options.pooling)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return EncoderOutput(
      lengths: batch.lengths, tokenOffsets: batch.tokenOffsets, hiddenSize: h, hidden: hidden, pooled: pooled,
      maps: maps, seconds: seconds, features: featureValues)
  }

  /// Mean (or CLS) pooling then L2 normalisation, in double precision.
  static func pool(_ hidden: FloatStorage, batch: PackedBatch, hiddenSize h: Int, pooling: Pooling) -> [Float] {
    var pooled = [Float](repeating: 0, count: batch.count * h)
    for s in 0..<batch.count {
      var sum = [Double](repeating: 0, count: h)
      let first = batch.tokenOffsets[s]
      let rows = pooling == .cls ? 1 : batch.lengths[s]
      for r in 0..<rows {
        let row = hidden.pointer + (first + r) * h
        for j in 0..<h { sum[j] += Double(row[j]) }
      }
      var norm = 0.0
      for j in 0..<h {
        sum[j] /= Double(rows)
        norm += sum[j] * sum[j]
      }
      let scale = 1 / max(norm.squareRoot(), 1e-12)
      for j in 0..<h { pooled[s * h + j] = Float(sum[j] * scale) }
    }
    return pooled
  }
}
