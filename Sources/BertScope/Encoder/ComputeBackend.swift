import CHostKernels
import Foundation

/// Sequences of one forward pass packed back to back with no padding: the linear layers
/// see `tokenCount` rows; attention runs per (sequence, head) over that sequence's own
/// length, so no padding mask is needed and a sequence's result cannot depend on what it
/// was batched with (Hugging Face's mask gives padded keys exactly 0 probability).
public struct PackedBatch: Sendable, Equatable {
  /// Real length of each sequence.
  public let lengths: [Int]
  /// First token (row) of each sequence.
  public let tokenOffsets: [Int]
  /// Offset of each sequence's `[heads, L, L]` block in one layer's probability buffer.
  public let probOffsets: [Int]
  /// Vocabulary id of each token, sequences back to back: [tokenCount].
  public let ids: [Int32]
  /// Segment id of each token (which text of a pair it belongs to): [tokenCount].
  public let segments: [Int32]
  /// The token-type row of each token's embedding: its segment id, or 0 for a model that
  /// takes no token types (``ModelFamily/usesTokenTypes``): [tokenCount].
  public let tokenTypes: [Int32]
  /// Position id of each token, the row of the position table it uses: its index within its
  /// sequence (0..<L), or for the RoBERTa family `pad + 1 + ` the number of non-pad tokens
  /// before it, and `pad` for a pad token (Hugging Face's `create_position_ids_from_input_ids`):
  /// [tokenCount].
  public let positions: [Int32]
  /// Each token's `AttentionFeatures.Kind` (all `.other` unless given): [tokenCount].
  public let kinds: [Int32]
  /// `AttentionFeatures.withinUniform` of each sequence.
  public let withinUniform: [Float]
  /// Attention heads per layer (the first dimension of each probability block).
  public let heads: Int

  /// Sequences in the batch.
  public var count: Int { lengths.count }
  /// Tokens of all sequences together: the rows of the hidden states.
  public var tokenCount: Int { ids.count }
  /// Floats in one layer's probability buffer: Σ heads·L².
  public let probCount: Int
  /// The longest sequence's length (0 for an empty batch).
  public var maxLength: Int { lengths.max() ?? 0 }

  /// Packs `encodings` in order, for a model with `heads` heads per layer.
  /// - Parameter kinds: per sequence, each token's `AttentionFeatures.Kind` raw value
  ///   (needed only for `attentionFeatures`).
  /// - Parameter tokenTypes: false embeds every token with token type 0 (RoBERTa, DistilBERT);
  ///   the segments still say which text each token is of.
  /// - Parameter paddingID: the RoBERTa family's padding id: positions start after it and a
  ///   pad token written in the text takes it as its position; nil: positions 0, 1, 2, …
  public init(
    _ encodings: [Encoding], heads: Int, kinds: [[Int32]]? = nil, tokenTypes: Bool = true, paddingID: Int32? = nil
  ) {
    var lengths: [Int] = [], tokenOffsets: [Int] = [], probOffsets: [Int] = []
    var ids: [Int32] = [], segments: [Int32] = [], positions: [Int32] = [], allKinds: [Int32] = []
    var within: [Float] = []
    var probs = 0
    for (s, e) in encodings.enumerated() {
      tokenOffsets.append(ids.count)
      probOffsets.append(probs)
      lengths.append(e.count)
      ids += e.ids
      segments += e.segments
      if let pad = paddingID {
        var next = pad
        positions += e.ids.map { id in
          guard id != pad else { return pad }
          next += 1
          return next
        }
      } else {
        positions += (0..<e.count).map { Int32($0) }
      }
      let k = kinds?[s] ?? Array(repeating: AttentionFeatures.Kind.other.rawValue, count: e.count)
      allKinds += k
      within.append(AttentionFeatures.withinUniform(kinds: k, segments: e.segments))
      probs += heads * e.count * e.count
    }
    self.kinds = allKinds
    self.withinUniform = within
    self.lengths = lengths
    self.tokenOffsets = tokenOffsets
    self.probOffsets = probOffsets
    self.ids = ids
    self.segments = segments
    self.tokenTypes = tokenTypes ? segments : [Int32](repeating: 0, count: segments.count)
    self.positions = positions
    self.heads = heads
    self.probCount = probs
  }
}

/// What attention does for one head of one layer (Kovaleva et al. 2019 §4.6; Michel et al. 2019).
public enum HeadMode: Int32, Sendable, Codable {
  /// Unchanged.
  case normal = 0
  /// Attention replaced by 1/L over the sequence's real tokens (the paper's "disabling").
  case uniform = 1
  /// Attention multiplied by 0, so the head contributes nothing (Hugging Face `head_mask`).
  case zero = 2
}

/// GEMM epilogues: what is applied to `input · weightᵀ` before it is stored.
enum Epilogue<Buffer> {
  /// `out = x·Wᵀ + b`
  case bias
  /// `out = act(x·Wᵀ + b)` with the model's activation (exact erf GELU for BERT).
  case biasActivation
  /// `out = x·Wᵀ + b + residual`
  case biasResidual(Buffer)

  /// The code every kernel takes (`bs_codes.h`; `Kernels/common.cl` defines the same values).
  var code: Int32 {
    switch self {
    case .bias: return Int32(BS_EPILOGUE_BIAS)
    case .biasActivation: return Int32(BS_EPILOGUE_BIAS_ACTIVATION)
    case .biasResidual: return Int32(BS_EPILOGUE_BIAS_RESIDUAL)
    }
  }
}

/// The activations of `BertConfig.hiddenAct`.
/// Raw values are the kernels' codes (`BS_ACTIVATION_*` in `bs_codes.h`).
public enum Activation: Int32, Sendable {
  /// Exact GELU, `0.5·x·(1 + erf(x/√2))` (`gelu`, BERT's).
  case gelu = 0
  /// The tanh approximation, `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` (`gelu_new`,
  /// `gelu_pytorch_tanh`, `gelu_fast`).
  case geluTanh = 1
  /// `max(x, 0)` (`relu`).
  case relu = 2

  /// The activation a `config.json` `hidden_act` names; any other name is taken as `gelu`
  /// (`BertConfig` accepts only the names above).
  public init(huggingFace name: String) {
    switch name {
    case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
    case "relu": self = .relu
    default: self = .gelu
    }
  }
}

/// One device (or the host) that runs the encoder's ops. One method per op; the encoder
/// (`Forward`) is written once against this protocol, and every op is tested on every
/// backend against the CPU one.
///
/// Calls may be asynchronous (an OpenCL backend enqueues them); results are only
/// guaranteed after `read`, which waits for everything queued before it.
/// Row-major everywhere; `T` is the batch's token count, `H` the hidden size,
/// `nh` heads, `d = H / nh`.
protocol ComputeBackend: AnyObject, Sendable {
  /// Floats on the device.
  associatedtype Buffer
  /// A linear layer's weight `[out, in]`, prepared (packed, uploaded) for `linear`.
  associatedtype Matrix
  /// A batch's integer data (ids, segments, positions, lengths, offsets), uploaded.
  associatedtype Layout

  /// Whether buffers are host memory (the CPU backend, an OpenCL CPU device).
  var activationsInHostMemory: Bool { get }

  /// Human-readable, e.g. "cpu (packed AVX-512 GEMM, AVX2+FMA kernels, 2 threads)".
  var name: String { get }

  /// `count` floats, contents undefined.
  func makeBuffer(count: Int) throws -> Buffer
  /// A copy of `values`.
  func makeBuffer(_ values: [Float]) throws -> Buffer
  /// Prepares `weight` (`[rows, cols]` = `[out, in]`) for `linear`.
  func makeMatrix(_ weight: [Float], rows: Int, cols: Int) throws -> Matrix
  /// Uploads the batch's token data.
  func makeLayout(_ batch: PackedBatch) throws -> Layout

  /// `out[t] = LayerNorm(word[ids[t]] + position[positions[t]] + type[tokenTypes[t]])`.
  /// out: [T, H]; word: [V, H]; position: [P, H]; type: [S, H]; gamma, beta: [H].
  func embed(
    out: Buffer, layout: Layout, batch: PackedBatch, word: Buffer, position: Buffer, type: Buffer,
    gamma: Buffer, beta: Buffer, hidden: Int, eps: Float) throws

  /// `out = epilogue(input · weightᵀ)`. out: [rows, weight.rows]; input: [rows, weight.cols];
  /// bias: [weight.rows]; residual (if any): like out.
  func linear(
    out: Buffer, input: Buffer, rows: Int, weight: Matrix, bias: Buffer, epilogue: Epilogue<Buffer>,
    activation: Activation) throws

  /// Scaled dot-product attention probabilities, per sequence s and head h:
  /// `probs[s][h] = softmax(scale · Q Kᵀ)` over the sequence's real tokens, then `modes[h]`
  /// applied (uniform: 1/L everywhere; zero: all 0).
  /// qkv: [T, 3H] with Q | K | V column blocks, head h at columns h·d..<(h+1)·d of each;
  /// probs: `batch.probCount` floats laid out per sequence as [nh, L, L] at `probOffsets[s]`.
  func attentionProbs(
    probs: Buffer, qkv: Buffer, layout: Layout, batch: PackedBatch, heads: Int, headDim: Int, scale: Float,
    modes: [HeadMode]) throws

  /// `context[s rows, h·d..<(h+1)·d] = probs[s][h] · V[s][h]` (heads merged back).
  /// context: [T, H]; qkv and probs as in `attentionProbs`.
  func attentionContext(
    context: Buffer, probs: Buffer, qkv: Buffer, layout: Layout, batch: PackedBatch, heads: Int, headDim: Int) throws

  /// `attentionProbs` then `attentionContext`; a backend may fuse the two (the CPU backend
  /// does, per sequence and head).
  func attention(
    probs: Buffer, context: Buffer, qkv: Buffer, layout: Layout, batch: PackedBatch, heads: Int, headDim: Int,
    scale: Float, modes: [HeadMode]) throws

  /// `attention`'s context alone, for a pass that keeps no maps, map features or head
  /// distances: no probability buffer is written (a GPU backend never stores the L × L maps,
  /// FlashAttention-style). context: [T, H]; qkv and modes as in `attentionProbs`.
  /// Deliberately without a default built on `attention`: every backend says how it avoids
  /// the maps.
  func attentionContextOnly(
    context: Buffer, qkv: Buffer, layout: Layout, batch: PackedBatch, heads: Int, headDim: Int, scale: Float,
    modes: [HeadMode]) throws

  /// The `AttentionFeatures` vector of every map of one layer, next to the maps:
  /// `out[offset + (s·nh + h)·count ..< +count]` for sequence s, head h, from `probs` as
  /// written by `attentionProbs` and the batch's token kinds and segments.
  func attentionFeatures(out: Buffer, offset: Int, probs: Buffer, layout: Layout, batch: PackedBatch, heads: Int) throws

  /// The `HeadDistances` of every pair of heads over all layers, per sequence, next to the
  /// maps: `probs` holds the `layers` layers' probabilities back to back (layer l at
  /// `l · batch.probCount`, each as `attentionProbs` writes it); `entropies` is scratch of
  /// `2 · count · K` floats (each head's entropy sum as a float pair); `out[(s·K + a)·K + b]`
  /// = d(a, b) of sequence s for a < b, K = layers · heads (the other entries are not written).
  func headDistances(
    out: Buffer, entropies: Buffer, probs: Buffer, layers: Int, layout: Layout, batch: PackedBatch, heads: Int) throws

  /// `out[r] = (x[r] - mean) / sqrt(var + eps) · gamma + beta` per row. out, input: [rows, cols].
  func layerNorm(out: Buffer, input: Buffer, rows: Int, cols: Int, gamma: Buffer, beta: Buffer, eps: Float) throws

  /// `destination[offset ..< offset + count] = source[0 ..< count]`, queued like any op (the
  /// forward pass keeps each layer's input this way without waiting for the device). The two
  /// must be different buffers.
  func copy(_ source: Buffer, count: Int, to destination: Buffer, at offset: Int) throws

  /// Waits for all queued work and copies `range` of `buffer` (in floats) to the host.
  func read(_ buffer: Buffer, range: Range<Int>) throws -> [Float]

  /// Copies several ranges, waiting once. Results in the order given.
  func read(_ buffer: Buffer, ranges: [Range<Int>]) throws -> [[Float]]

  /// The first `count` floats of `buffer` as host storage. The encoder calls this only for
  /// buffers it never writes again, so a host backend may return the buffer itself.
  func readStorage(_ buffer: Buffer, count: Int) throws -> FloatStorage

  /// `ranges` of `buffer` concatenated into one host storage, waiting once.
  func readStorage(_ buffer: Buffer, ranges: [Range<Int>]) throws -> FloatStorage

  /// Starts reading `extent` of `buffer` to the host once the work queued so far has run,
  /// without waiting: a GPU backend copies it while later ops compute (the forward pass
  /// starts each kept layer's maps this way right after the layer's attention). The encoder
  /// calls it only for buffers it never writes again. Host backends read when asked for the
  /// result (the default).
  func startRead(_ buffer: Buffer, _ extent: ReadExtent) throws -> PendingRead
}

/// What `startRead` copies: the first `count` floats of a buffer, or ranges of it back to back.
enum ReadExtent {
  case first(Int)
  case ranges([Range<Int>])
}

/// A copy to the host that may still be in flight; `result()` waits for it (once).
final class PendingRead: @unchecked Sendable {
  private var finish: (() throws -> (FloatStorage, Double?))?
  private var done: FloatStorage?
  /// Device seconds the copy itself took, when the backend timed it (after `result()`).
  private(set) var transferSeconds: Double?

  /// Whether dropping it unread still waits for it (a copy in flight into memory that goes
  /// back to a pool when it is dropped).
  private let waitsWhenDropped: Bool

  /// `finish` waits for the copy and gives the storage and, if known, the copy's device time.
  init(waitsWhenDropped: Bool = false, _ finish: @escaping () throws -> (FloatStorage, Double?)) {
    self.waitsWhenDropped = waitsWhenDropped
    self.finish = finish
  }

  deinit {
    // A pass that failed after starting this copy: let it land before its memory is reused.
    if waitsWhenDropped, finish != nil { _ = try? result() }
  }

  func result() throws -> FloatStorage {
    if let done { return done }
    guard let finish else { throw BertScopeError.invalidInput("a failed read was waited on twice") }
    self.finish = nil
    let (storage, seconds) = try finish()
    done = storage
    transferSeconds = seconds
    return storage
  }
}

extension ComputeBackend {
  func attention(
    probs: Buffer, context: Buffer, qkv: Buffer, layout: Layout, batch: PackedBatch, heads: Int, headDim: Int,
    scale: Float, modes: [HeadMode]
  ) throws {
    try attentionProbs(
      probs: probs, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim, scale: scale, modes: modes)
    try attentionContext(
      context: context, probs: probs, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim)
  }

  func read(_ buffer: Buffer, ranges: [Range<Int>]) throws -> [[Float]] {
    try ranges.map { try read(buffer, range: $0) }
  }

  func readStorage(_ buffer: Buffer, count: Int) throws -> FloatStorage {
    FloatStorage(try read(buffer, range: 0..<count))
  }

  func startRead(_ buffer: Buffer, _ extent: ReadExtent) throws -> PendingRead {
    PendingRead {
      switch extent {
      case .first(let count): (try self.readStorage(buffer, count: count), nil)
      case .ranges(let ranges): (try self.readStorage(buffer, ranges: ranges), nil)
      }
    }
  }

  func readStorage(_ buffer: Buffer, ranges: [Range<Int>]) throws -> FloatStorage {
    let parts = try read(buffer, ranges: ranges)
    let storage = FloatStorage(count: parts.reduce(0) { $0 + $1.count })
    var at = 0
    for part in parts {
      if !part.isEmpty {
        part.withUnsafeBufferPointer { (storage.pointer + at).update(from: $0.baseAddress!, count: part.count) }
      }
      at += part.count
    }
    return storage
  }
}
