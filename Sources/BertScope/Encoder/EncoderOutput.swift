import Foundation

/// Which attention maps a forward pass returns. Layer and head indices are 0-based here;
/// everything a user reads (CLI, CSV, JSON) numbers them from 1.
public enum MapRequest: Sendable, Equatable {
  /// No maps: the cheapest pass.
  case none
  /// Every head of every layer.
  case all
  /// A subset; nil means all layers (or all heads).
  case select(layers: [Int]?, heads: [Int]?)

  /// The concrete sorted layer and head lists for `config`, validated.
  public func resolve(_ config: BertConfig) throws -> (layers: [Int], heads: [Int]) {
    switch self {
    case .none: return ([], [])
    case .all: return (Array(0..<config.numLayers), Array(0..<config.numHeads))
    case .select(let layers, let heads):
      let l = Array(Set(layers ?? Array(0..<config.numLayers))).sorted()
      let h = Array(Set(heads ?? Array(0..<config.numHeads))).sorted()
      if let bad = l.first(where: { $0 < 0 || $0 >= config.numLayers }) {
        throw BertScopeError.invalidInput(
          "layer \(bad + 1) does not exist (the model has layers 1–\(config.numLayers))")
      }
      if let bad = h.first(where: { $0 < 0 || $0 >= config.numHeads }) {
        throw BertScopeError.invalidInput("head \(bad + 1) does not exist (the model has heads 1–\(config.numHeads))")
      }
      return (l, h)
    }
  }
}

/// How a sentence embedding is made from the last hidden state.
public enum Pooling: String, Sendable, CaseIterable, Codable {
  /// Mean over the real tokens, then L2-normalised (sentence-transformers' recipe for
  /// all-MiniLM-L6-v2: Pooling(mean) + Normalize).
  case mean
  /// The `[CLS]` token's hidden state, L2-normalised.
  case cls
}

/// Options of one forward pass.
public struct EncodeOptions: Sendable {
  /// Which attention maps to return in ``EncoderOutput/maps``.
  public var maps: MapRequest
  /// How ``EncoderOutput/pooled`` is made from the last hidden state.
  public var pooling: Pooling
  /// Per layer, per head: what attention does, `[numLayers][numHeads]`, 0-based (nil: the intact model).
  public var headModes: [[HeadMode]]?
  /// When given (per sequence, each token's `AttentionFeatures.Kind` raw value), the backend
  /// computes the `AttentionFeatures` of every map next to it: `EncoderOutput.features`.
  public var featureKinds: [[Int32]]?
  /// When true, ``EncoderOutput/hiddenStates`` holds the hidden state at every layer boundary
  /// the pass crosses (Hugging Face's `output_hidden_states`): a later pass can start from
  /// any of them (``Encoder/encode(_:options:fromLayer:hidden:)``). They cost
  /// `(layers + 1) · T · hidden` floats of host memory.
  public var hiddenStates: Bool
  /// When true, the backend computes the `HeadDistances` of every pair of heads over all
  /// layers for each sequence, next to the maps: ``EncoderOutput/headDistances``. Every
  /// layer's probabilities are then kept on the device until the last layer has run:
  /// `layers · Σ heads·L²` floats more device (host, on the CPU backend) memory, plus
  /// `count · (layers·heads)²` floats for the pairwise sums read back.
  public var headDistances: Bool

  /// Options for a pass; the defaults return no maps and mean-pooled embeddings of the intact model.
  /// - Parameters:
  ///   - maps: which attention maps to return.
  ///   - pooling: how sentence embeddings are made.
  ///   - headModes: `[numLayers][numHeads]` modes, 0-based, or nil for the intact model.
  ///   - featureKinds: per sequence, one ``AttentionFeatures/Kind`` raw value per token, or nil.
  ///   - hiddenStates: whether to return the hidden state at every layer boundary.
  public init(
    maps: MapRequest = .none, pooling: Pooling = .mean, headModes: [[HeadMode]]? = nil, featureKinds: [[Int32]]? = nil,
    hiddenStates: Bool = false, headDistances: Bool = false
  ) {
    self.maps = maps
    self.pooling = pooling
    self.headModes = headModes
    self.featureKinds = featureKinds
    self.hiddenStates = hiddenStates
    self.headDistances = headDistances
  }
}

/// The attention probabilities of one sequence for the requested layers and heads, cropped
/// to its real tokens: conceptually `[layers.count, heads.count, L, L]`, rows = queries
/// (attention *from*), columns = keys (attention *to*); every row sums to 1 (to 0 for a head
/// run in ``HeadMode/zero``).
/// Backed by the forward pass's buffers without copying.
public struct AttentionMaps: Sendable {
  /// Model layers held (0-based), in order.
  public let layers: [Int]
  /// Model heads held (0-based), in order.
  public let heads: [Int]
  /// Sequence length L.
  public let length: Int
  let storages: [FloatStorage]  // per held layer
  let blocks: [[Int]]  // [layer][head]: offset of the L×L block in storages[layer]

  init(layers: [Int], heads: [Int], length: Int, storages: [FloatStorage], blocks: [[Int]]) {
    self.layers = layers
    self.heads = heads
    self.length = length
    self.storages = storages
    self.blocks = blocks
  }

  /// The L×L map at positions `layerIndex` in `layers` and `headIndex` in `heads`, row-major.
  public func map(_ layerIndex: Int, _ headIndex: Int) -> UnsafeBufferPointer<Float> {
    UnsafeBufferPointer(start: storages[layerIndex].pointer + blocks[layerIndex][headIndex], count: length * length)
  }

  /// The L×L map of model layer `layer` and head `head` (0-based), if held.
  public func map(layer: Int, head: Int) -> UnsafeBufferPointer<Float>? {
    guard let li = layers.firstIndex(of: layer), let hi = heads.firstIndex(of: head) else { return nil }
    return map(li, hi)
  }

  /// All held maps as one array `[layers, heads, L, L]`.
  public func values() -> [Float] {
    let block = length * length
    var out = [Float](repeating: 0, count: layers.count * heads.count * block)
    out.withUnsafeMutableBufferPointer { dst in
      for li in layers.indices {
        for hi in heads.indices where block > 0 {
          (dst.baseAddress! + (li * heads.count + hi) * block).update(from: map(li, hi).baseAddress!, count: block)
        }
      }
    }
    return out
  }

  /// Applies `body` to every held map with its model layer and head (0-based).
  public func forEach(_ body: (_ layer: Int, _ head: Int, _ map: UnsafeBufferPointer<Float>) throws -> Void) rethrows {
    for li in layers.indices {
      for hi in heads.indices { try body(layers[li], heads[hi], map(li, hi)) }
    }
  }
}

/// The hidden states of a batch at the layer boundaries a pass crossed, sequences packed back
/// to back as in ``EncoderOutput/hidden``: boundary `l` is the input of layer `l` (0: the
/// embeddings' output) and boundary `layers` the last hidden state. A pass started at layer
/// `firstLayer` holds boundaries `firstLayer...layers`: `[layers − firstLayer + 1, T, hidden]`.
public struct HiddenStates: Sendable {
  /// The first boundary held (the layer the pass started at).
  public let firstLayer: Int
  /// The model's number of layers: the last boundary.
  public let layers: Int
  /// Rows of each boundary's state: the batch's tokens, `Σ L`.
  public let tokenCount: Int
  /// Width of each row.
  public let hiddenSize: Int
  let storage: FloatStorage

  init(firstLayer: Int, layers: Int, tokenCount: Int, hiddenSize: Int, storage: FloatStorage) {
    self.firstLayer = firstLayer
    self.layers = layers
    self.tokenCount = tokenCount
    self.hiddenSize = hiddenSize
    self.storage = storage
  }

  /// The boundaries held: `firstLayer...layers`.
  public var boundaries: ClosedRange<Int> { firstLayer...layers }

  /// The input of layer `layer` (`layers`: the last hidden state), `[T, hidden]`, without
  /// copying (valid while this value lives); nil for a boundary not held.
  public func input(ofLayer layer: Int) -> UnsafeBufferPointer<Float>? {
    guard boundaries.contains(layer) else { return nil }
    let size = tokenCount * hiddenSize
    return UnsafeBufferPointer(start: storage.pointer + (layer - firstLayer) * size, count: size)
  }
}

/// The result of encoding a batch.
public struct EncoderOutput: Sendable {
  /// Real length of each sequence.
  public let lengths: [Int]
  /// First row of each sequence in `hidden`.
  public let tokenOffsets: [Int]
  /// Width of each hidden-state row (`config.hiddenSize`).
  public let hiddenSize: Int
  /// Last hidden state of every real token, sequences back to back: `[Σ L, hiddenSize]`.
  public let hidden: FloatStorage
  /// Pooled, L2-normalised sentence embeddings `[count, hiddenSize]`.
  public let pooled: [Float]
  /// Attention maps per sequence (empty when none were requested).
  public let maps: [AttentionMaps]
  /// Wall-clock seconds of the forward pass: input checks, device work, reads and pooling.
  public let seconds: Double
  /// `AttentionFeatures` of every map when `EncodeOptions.featureKinds` was given:
  /// `[count, layers, heads, AttentionFeatures.count]`; empty otherwise.
  public let features: [Float]
  /// The hidden state at every layer boundary the pass crossed when
  /// ``EncodeOptions/hiddenStates`` was set; nil otherwise.
  public let hiddenStates: HiddenStates?
  /// `HeadDistances` when ``EncodeOptions/headDistances`` was set: per sequence, every pair
  /// (a, b), a < b, of the `K = layers · heads` heads (k = layer · heads + head) in
  /// `HeadDistances.pairIndex` order: `[count, K·(K−1)/2]`; empty otherwise.
  public internal(set) var headDistances: [Double] = []

  /// Seconds spent reading the maps back to the host, after the pass's compute finished
  /// (the last hidden state is read first, which waits for it): the readback alone.
  public internal(set) var mapReadSeconds: Double = 0

  /// Device seconds the maps' copies to the host took, summed, when the backend timed them
  /// (a GPU's pinned-staging reads, which run while later layers compute: `mapReadSeconds`
  /// is then only the part not hidden behind the compute); nil when not timed.
  public internal(set) var mapTransferSeconds: Double?

  /// Bytes of the maps returned (float32 `[layers, heads, L, L]` per sequence).
  public var mapBytes: Int { maps.reduce(0) { $0 + $1.layers.count * $1.heads.count * $1.length * $1.length * 4 } }

  /// Number of sequences in the batch.
  public var count: Int { lengths.count }

  /// The last hidden state of sequence `s`: `[L, hiddenSize]`.
  public func hiddenState(_ s: Int) -> [Float] {
    hidden.array(tokenOffsets[s] * hiddenSize..<(tokenOffsets[s] + lengths[s]) * hiddenSize)
  }

  /// The pooled embedding of sequence `s`.
  public func embedding(_ s: Int) -> ArraySlice<Float> {
    pooled[s * hiddenSize..<(s + 1) * hiddenSize]
  }
}
