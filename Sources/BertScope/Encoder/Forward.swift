import Foundation

/// The engine behind `Encoder`, type-erased over the backend.
protocol EncoderEngine: Sendable {
  var backendName: String { get }
  /// Whether the pass's activations are host memory (the CPU backend; OpenCL on a CPU device),
  /// which the host memory budget then counts.
  var activationsInHostMemory: Bool { get }
  /// A pass over `encodings`: from their embeddings when `hidden` is nil, else from `hidden`,
  /// the input of layer `fromLayer` (`[T, H]`, packed as `EncoderOutput.hidden`), through
  /// layers `fromLayer..<layers`.
  func run(_ encodings: [Encoding], options: EncodeOptions, fromLayer: Int, hidden: UnsafeBufferPointer<Float>?) throws
    -> EncoderOutput
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
/// op, and reads back the last hidden state and the requested maps at the end. A pass may
/// start at any layer from a given hidden state (the embeddings are then not run), and may
/// keep the state at every layer boundary it crosses: layers below `l` do not depend on what
/// layer `l` does, so a pass that changes only layers `l…` (an ablation) needs only those.
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
  /// ELECTRA's `embeddings_project` (`[hidden, embedding]`), when the embeddings are narrower.
  let projection: (weight: B.Matrix, bias: B.Buffer)?
  let layers: [Layer]

  var backendName: String { backend.name }
  var activationsInHostMemory: Bool { backend.activationsInHostMemory }

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
    projection = try weights.embeddingProjection.map { p in
      (try backend.makeMatrix(p.weight, rows: h, cols: c.embeddingSize), try backend.makeBuffer(p.bias))
    }
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
      if config.usesTokenTypes,
        let (p, t) = e.segments.enumerated().first(where: { $0.element < 0 || Int($0.element) >= config.typeVocabSize })
      {
        throw BertScopeError.invalidInput(
          "input \(s + 1): segment id \(t) at position \(p) is outside 0..<\(config.typeVocabSize)")
      }
    }
  }

  func run(
    _ encodings: [Encoding], options: EncodeOptions, fromLayer first: Int = 0,
    hidden input: UnsafeBufferPointer<Float>? = nil
  ) throws -> EncoderOutput {
    let start = DispatchTime.now().uptimeNanoseconds
    try validate(encodings)
    let request = try Request(options, config: config, encodings: encodings, firstLayer: first, given: input != nil)
    let batch = PackedBatch(
      encodings, heads: config.numHeads, kinds: options.featureKinds, tokenTypes: config.usesTokenTypes,
      paddingID: config.family.positionsAfterPadding ? Int32(config.positionOffset - 1) : nil)
    let size = batch.tokenCount * config.hiddenSize
    if let input, input.count != size {
      throw BertScopeError.invalidInput(
        "the hidden state to start layer \(first + 1) from holds \(input.count) floats; these \(batch.count) inputs "
          + "need [\(batch.tokenCount) tokens, \(config.hiddenSize)] = \(size)")
    }
    guard batch.tokenCount > 0 else {
      let states = request.wantsHiddenStates ? emptyStates(first) : nil
      return EncoderOutput(
        lengths: [], tokenOffsets: [], hiddenSize: config.hiddenSize, hidden: FloatStorage(count: 0), pooled: [],
        maps: [], seconds: 0, features: [], hiddenStates: states)
    }
    let pass = try Pass(self, batch: batch, request: request, input: input)
    if input == nil { try embed(pass) }
    try keepState(pass, boundary: first)
    for l in first..<layers.count {
      try layer(l, pass)
      try keepState(pass, boundary: l + 1)
    }
    if let d = pass.distances {
      try backend.headDistances(
        out: d.out, entropies: d.entropies, probs: d.probs, layers: config.numLayers, layout: pass.layout,
        batch: batch, heads: config.numHeads)
    }
    let hidden = try backend.readStorage(pass.x, count: size)
    let readStart = DispatchTime.now().uptimeNanoseconds
    let (maps, mapTransferSeconds) = try readMaps(pass)
    let mapReadSeconds = Double(DispatchTime.now().uptimeNanoseconds - readStart) / 1e9
    let features = try readFeatures(pass)
    let states = try readStates(pass)
    let distances = try readDistances(pass)
    let pooled = Self.pool(hidden, batch: batch, hiddenSize: config.hiddenSize, pooling: options.pooling)
    return EncoderOutput(
      lengths: batch.lengths, tokenOffsets: batch.tokenOffsets, hiddenSize: config.hiddenSize, hidden: hidden,
      pooled: pooled, maps: maps, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9,
      features: features, hiddenStates: states, headDistances: distances, mapReadSeconds: mapReadSeconds,
      mapTransferSeconds: mapTransferSeconds)
  }

  private func emptyStates(_ first: Int) -> HiddenStates {
    HiddenStates(
      firstLayer: first, layers: config.numLayers, tokenCount: 0, hiddenSize: config.hiddenSize,
      storage: FloatStorage(count: 0))
  }

  /// What a pass is asked for, checked against the model: the layer it starts at, which maps
  /// to keep, each head's mode, whether map features are computed and whether the hidden
  /// states at the layer boundaries are kept.
  struct Request {
    /// The first layer run; the layers below it are not (their output is given).
    let firstLayer: Int
    let mapLayers: [Int]
    let mapHeads: [Int]
    /// [layer][head]; nil: every head normal.
    let headModes: [[HeadMode]]?
    let wantsFeatures: Bool
    let wantsHiddenStates: Bool
    let wantsDistances: Bool

    /// - Parameter given: whether the pass starts from a given hidden state (else from the
    ///   embeddings, which only layer 0 can).
    init(
      _ options: EncodeOptions, config c: BertConfig, encodings: [Encoding], firstLayer: Int = 0, given: Bool = false
    )
      throws
    {
      guard (0...c.numLayers).contains(firstLayer) else {
        throw BertScopeError.invalidInput(
          "a pass cannot start at layer \(firstLayer + 1): the model has layers 1–\(c.numLayers)")
      }
      guard given || firstLayer == 0 else {
        throw BertScopeError.invalidInput("a pass that starts at layer \(firstLayer + 1) needs that layer's input")
      }
      self.firstLayer = firstLayer
      (mapLayers, mapHeads) = try options.maps.resolve(c)
      if let skipped = mapLayers.first(where: { $0 < firstLayer }) {
        throw BertScopeError.invalidInput(
          "a pass that starts at layer \(firstLayer + 1) computes no maps of layer \(skipped + 1); "
            + "ask for layers \(firstLayer + 1)–\(c.numLayers) only")
      }
      if options.featureKinds != nil && firstLayer > 0 {
        throw BertScopeError.invalidInput(
          "map features are computed for every layer: a pass that starts at layer \(firstLayer + 1) cannot give them")
      }
      if let modes = options.headModes {
        guard modes.count == c.numLayers, modes.allSatisfy({ $0.count == c.numHeads }) else {
          throw BertScopeError.invalidInput("head modes must be [\(c.numLayers)][\(c.numHeads)]")
        }
      }
      headModes = options.headModes
      if let kinds = options.featureKinds {
        guard kinds.count == encodings.count, zip(kinds, encodings).allSatisfy({ $0.count == $1.count }) else {
          throw BertScopeError.invalidInput("feature kinds must give one kind per token of every input")
        }
        guard kinds.allSatisfy({ $0.allSatisfy { (0...3).contains($0) } }) else {
          throw BertScopeError.invalidInput("feature kinds must be AttentionFeatures.Kind raw values 0–3")
        }
      }
      if options.headDistances && firstLayer > 0 {
        throw BertScopeError.invalidInput(
          "head distances compare every layer's maps: a pass that starts at layer \(firstLayer + 1) cannot give them")
      }
      wantsFeatures = options.featureKinds != nil
      wantsHiddenStates = options.hiddenStates
      wantsDistances = options.headDistances
    }
  }

  /// One forward pass's activations on the backend. `x` holds the hidden state between ops;
  /// `probs` the probabilities of each layer (its own buffer for a layer whose maps are kept,
  /// else one scratch buffer shared by the others); `states` the kept layer boundaries.
  final class Pass {
    let batch: PackedBatch
    let request: Request
    let layout: B.Layout
    let x: B.Buffer, y: B.Buffer  // [T, H]
    let qkv: B.Buffer  // [T, 3H]
    let context: B.Buffer  // [T, H]
    let ffn: B.Buffer  // [T, intermediate]
    /// [layers, sequences, heads, AttentionFeatures.count] when features are asked for.
    let features: B.Buffer?
    /// [layers − firstLayer + 1, T, H] when the hidden states are asked for: boundary
    /// `firstLayer + i` at `i · T · H`.
    let states: B.Buffer?
    let featureStride: Int
    /// When head distances are asked for: every layer's probabilities `[layers, probCount]`
    /// (kept until the last layer ran), the per-head entropy sums `[sequences, K, 2]` and the
    /// pairwise sums `[sequences, K, K]`, K = layers · heads.
    let distances: (probs: B.Buffer, entropies: B.Buffer, out: B.Buffer)?
    /// The reads of each kept layer's maps, started after its attention, in layer order.
    var mapReads: [PendingRead] = []
    private var scratchProbs: B.Buffer?
    private let backend: B

    /// - Parameter input: the input of `request.firstLayer` (`[T, H]`), copied into `x`; nil
    ///   when the pass starts with the embeddings.
    init(_ forward: Forward, batch: PackedBatch, request: Request, input: UnsafeBufferPointer<Float>?) throws {
      let b = forward.backend, c = forward.config, t = batch.tokenCount, h = c.hiddenSize
      backend = b
      self.batch = batch
      self.request = request
      layout = try b.makeLayout(batch)
      x = try input.map { try b.makeBuffer(Array($0)) } ?? b.makeBuffer(count: t * h)
      y = try b.makeBuffer(count: t * h)
      qkv = try b.makeBuffer(count: t * 3 * h)
      context = try b.makeBuffer(count: t * h)
      ffn = try b.makeBuffer(count: t * c.intermediateSize)
      featureStride = batch.count * c.numHeads * AttentionFeatures.count
      features = request.wantsFeatures ? try b.makeBuffer(count: c.numLayers * featureStride) : nil
      let boundaries = c.numLayers - request.firstLayer + 1
      states = request.wantsHiddenStates ? try b.makeBuffer(count: boundaries * t * h) : nil
      let k = c.numLayers * c.numHeads
      distances =
        request.wantsDistances
        ? (
          try b.makeBuffer(count: c.numLayers * batch.probCount), try b.makeBuffer(count: batch.count * k * 2),
          try b.makeBuffer(count: batch.count * k * k)
        ) : nil
    }

    /// Whether layer `l`'s probabilities are used: its maps are kept, or map features or head
    /// distances are computed from them. Otherwise the layer runs `attentionContextOnly` and no
    /// probability buffer is made.
    func needsProbabilities(layer l: Int) -> Bool {
      request.mapLayers.contains(l) || features != nil || distances != nil
    }

    /// The buffer layer `l`'s probabilities go to.
    func probs(layer l: Int) throws -> B.Buffer {
      if request.mapLayers.contains(l) {
        return try backend.makeBuffer(count: batch.probCount)
      }
      if scratchProbs == nil { scratchProbs = try backend.makeBuffer(count: batch.probCount) }
      return scratchProbs!
    }
  }

  /// `x = LayerNorm(word + position + type)`, projected to the hidden size when the
  /// embeddings are narrower (ELECTRA: `x = LayerNorm(…)·Wᵀ + b`).
  func embed(_ pass: Pass) throws {
    guard let projection else {
      try backend.embed(
        out: pass.x, layout: pass.layout, batch: pass.batch, word: word, position: position, type: tokenType,
        gamma: embeddingGamma, beta: embeddingBeta, hidden: config.hiddenSize, eps: config.layerNormEps)
      return
    }
    let t = pass.batch.tokenCount
    let narrow = try backend.makeBuffer(count: t * config.embeddingSize)
    try backend.embed(
      out: narrow, layout: pass.layout, batch: pass.batch, word: word, position: position, type: tokenType,
      gamma: embeddingGamma, beta: embeddingBeta, hidden: config.embeddingSize, eps: config.layerNormEps)
    try backend.linear(
      out: pass.x, input: narrow, rows: t, weight: projection.weight, bias: projection.bias, epilogue: .bias,
      activation: activation)
  }

  /// Copies `pass.x`, the input of layer `boundary` (`layers`: the last hidden state), into
  /// `pass.states` when the states are kept.
  func keepState(_ pass: Pass, boundary: Int) throws {
    guard let states = pass.states else { return }
    let size = pass.batch.tokenCount * config.hiddenSize
    try backend.copy(pass.x, count: size, to: states, at: (boundary - pass.request.firstLayer) * size)
  }

  /// The kept layer boundaries as host storage (on the CPU backend, the buffer itself).
  func readStates(_ pass: Pass) throws -> HiddenStates? {
    guard let states = pass.states else { return nil }
    let t = pass.batch.tokenCount, h = config.hiddenSize, first = pass.request.firstLayer
    let storage = try backend.readStorage(states, count: (config.numLayers - first + 1) * t * h)
    return HiddenStates(firstLayer: first, layers: config.numLayers, tokenCount: t, hiddenSize: h, storage: storage)
  }

  /// One `BertLayer` on `pass.x`, in place: attention (+ its map features), then the FFN.
  func layer(_ l: Int, _ pass: Pass) throws {
    let w = layers[l], c = config, t = pass.batch.tokenCount, h = c.hiddenSize, nh = c.numHeads, d = c.headDim
    let modes = pass.request.headModes?[l] ?? Array(repeating: .normal, count: nh)
    let scale = 1 / Float(d).squareRoot()
    try backend.linear(
      out: pass.qkv, input: pass.x, rows: t, weight: w.qkv, bias: w.qkvBias, epilogue: .bias, activation: activation)
    if pass.needsProbabilities(layer: l) {
      let probs = try pass.probs(layer: l)
      try backend.attention(
        probs: probs, context: pass.context, qkv: pass.qkv, layout: pass.layout, batch: pass.batch, heads: nh,
        headDim: d, scale: scale, modes: modes)
      if let features = pass.features {
        try backend.attentionFeatures(
          out: features, offset: l * pass.featureStride, probs: probs, layout: pass.layout, batch: pass.batch,
          heads: nh)
      }
      if let d = pass.distances {
        try backend.copy(probs, count: pass.batch.probCount, to: d.probs, at: l * pass.batch.probCount)
      }
      if pass.request.mapLayers.contains(l) {
        pass.mapReads.append(try backend.startRead(probs, mapExtent(pass).extent))
      }
    } else {
      try backend.attentionContextOnly(
        context: pass.context, qkv: pass.qkv, layout: pass.layout, batch: pass.batch, heads: nh, headDim: d,
        scale: scale, modes: modes)
    }
    try backend.linear(
      out: pass.y, input: pass.context, rows: t, weight: w.attentionOutput, bias: w.attentionOutputBias,
      epilogue: .biasResidual(pass.x), activation: activation)
    try backend.layerNorm(
      out: pass.x, input: pass.y, rows: t, cols: h, gamma: w.attentionGamma, beta: w.attentionBeta, eps: c.layerNormEps)
    try backend.linear(
      out: pass.ffn, input: pass.x, rows: t, weight: w.intermediate, bias: w.intermediateBias,
      epilogue: .biasActivation,
      activation: activation)
    try backend.linear(
      out: pass.y, input: pass.ffn, rows: t, weight: w.output, bias: w.outputBias, epilogue: .biasResidual(pass.x),
      activation: activation)
    try backend.layerNorm(
      out: pass.x, input: pass.y, rows: t, cols: h, gamma: w.outputGamma, beta: w.outputBeta, eps: c.layerNormEps)
  }

  /// What is read of a kept layer's probabilities: the whole buffer when every head is kept,
  /// else only the kept heads' blocks; and where each sequence's `[head]` blocks land in it.
  func mapExtent(_ pass: Pass) -> (extent: ReadExtent, blocks: [[Int]]) {
    let batch = pass.batch, heads = pass.request.mapHeads
    if heads.count == config.numHeads {
      let blocks = (0..<batch.count).map { s in
        heads.map { batch.probOffsets[s] + $0 * batch.lengths[s] * batch.lengths[s] }
      }
      return (.first(batch.probCount), blocks)
    }
    var ranges: [Range<Int>] = [], blocks: [[Int]] = []
    var at = 0
    for s in 0..<batch.count {
      let l2 = batch.lengths[s] * batch.lengths[s]
      var offsets: [Int] = []
      for head in heads {
        let begin = batch.probOffsets[s] + head * l2
        ranges.append(begin..<(begin + l2))
        offsets.append(at)
        at += l2
      }
      blocks.append(offsets)
    }
    return (.ranges(ranges), blocks)
  }

  /// The kept maps of every sequence, cropped to its tokens, from the reads each kept layer
  /// started (`startRead`, right after its attention); and the device seconds those copies
  /// took, when the backend timed them.
  func readMaps(_ pass: Pass) throws -> (maps: [AttentionMaps], transferSeconds: Double?) {
    let batch = pass.batch, request = pass.request
    guard !request.mapLayers.isEmpty else { return ([], nil) }
    let blocks = mapExtent(pass).blocks
    let storages = try pass.mapReads.map { try $0.result() }
    let times = pass.mapReads.compactMap(\.transferSeconds)
    let maps = (0..<batch.count).map { s in
      AttentionMaps(
        layers: request.mapLayers, heads: request.mapHeads, length: batch.lengths[s], storages: storages,
        blocks: Array(repeating: blocks[s], count: storages.count))
    }
    return (maps, times.count == storages.count ? times.reduce(0, +) : nil)
  }

  /// The map features, `[layers, sequences, heads, K]` on the device, as
  /// `[sequences, layers, heads, K]`.
  func readFeatures(_ pass: Pass) throws -> [Float] {
    guard let features = pass.features else { return [] }
    let layers = config.numLayers, stride = pass.featureStride
    let raw = try backend.read(features, range: 0..<(layers * stride))
    let block = config.numHeads * AttentionFeatures.count
    var out = [Float](repeating: 0, count: raw.count)
    for l in 0..<layers {
      for s in 0..<pass.batch.count {
        let src = l * stride + s * block, dst = (s * layers + l) * block
        out[dst..<(dst + block)] = raw[src..<(src + block)]
      }
    }
    return out
  }

  /// The pairwise head distances, `[sequences, K, K]` on the device (upper triangle), packed
  /// as `[sequences, K·(K−1)/2]` in `HeadDistances.pairIndex` order.
  func readDistances(_ pass: Pass) throws -> [Double] {
    guard let d = pass.distances else { return [] }
    let k = config.numLayers * config.numHeads, pairs = HeadDistances.pairCount(k), n = pass.batch.count
    guard pairs > 0 else { return [] }
    let raw = try backend.read(d.out, range: 0..<(n * k * k))
    var out = [Double](repeating: 0, count: n * pairs)
    for s in 0..<n {
      var at = s * pairs
      for a in 0..<k {
        for b in (a + 1)..<k {
          out[at] = Double(raw[(s * k + a) * k + b])
          at += 1
        }
      }
    }
    return out
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
