import BertScope
import Foundation

/// `tokens.json` beside `attention.npy` (and `rollout.npy`), and each line `bertscope tokenize`
/// prints: the input's tokens, ids and segments, and what the maps beside it hold.
public struct TokensFile: Codable, Sendable, Equatable {
  /// Word pieces, `[CLS]` and `[SEP]` included.
  public var tokens: [String]
  /// Vocabulary ids.
  public var ids: [Int32]
  /// Token type ids: 0 for the first text, 1 for a pair's second.
  public var segments: [Int32]
  /// Each token's character range in its text (`[start, end]`, Unicode scalars), null for
  /// the special tokens; only `tokenize --offsets` prints it.
  public var offsets: [[Int]?]?
  /// The layers and heads `attention.npy` holds, numbered from 1.
  public var layers: [Int]?
  /// See `layers`.
  public var heads: [Int]?
  /// The input text.
  public var text: String?
  /// The second text of a pair.
  public var pair: String?
  /// Where the text came from, e.g. "line 1 of wordnet-sentences.txt".
  public var source: String?
  /// The model folder.
  public var model: String?
  /// The backend that computed the maps.
  public var backend: String?

  /// The tokens, ids and segments of `encoding` (and its offsets when `offsets`).
  public init(_ encoding: Encoding, offsets: Bool = false) {
    tokens = encoding.tokens
    ids = encoding.ids
    segments = encoding.segments
    if offsets { self.offsets = encoding.offsets.map { $0.map { [$0.lowerBound, $0.upperBound] } } }
  }

  /// `tokens.json` of an input's maps: the encoding, the text, and which maps were kept.
  public init(
    _ encoding: Encoding, maps: AttentionMaps?, text: String, pair: String?, source: String? = nil, model: String,
    backend: String?
  ) {
    self.init(encoding)
    layers = maps.map { $0.layers.map { $0 + 1 } }
    heads = maps.map { $0.heads.map { $0 + 1 } }
    self.text = text
    self.pair = pair
    self.source = source
    self.model = model
    self.backend = backend
  }

  /// Reads `url` and checks that it describes `length` tokens.
  public static func read(from url: URL, length: Int) throws -> TokensFile {
    let file = try AnalysisJSON.read(TokensFile.self, from: url)
    guard file.tokens.count == length else {
      throw BertScopeError.invalidInput("\(url.path): \(file.tokens.count) tokens, the maps beside it have \(length)")
    }
    guard file.segments.count == length, file.ids.count == length else {
      throw BertScopeError.invalidInput("\(url.path): tokens, ids and segments differ in length")
    }
    return file
  }
}

/// The maps of one input as `bertscope attention` writes them: `attention.npy` (float32
/// `[layers, heads, L, L]`), optionally `hidden.npy` (`[L, hidden]`), and `tokens.json`.
public enum AttentionExport {
  /// Writes sequence 0 of `output` (with `encoding`) into `folder`; returns the files written.
  @discardableResult
  public static func write(
    _ output: EncoderOutput, encoding: Encoding, tokens: TokensFile, hidden: Bool, to folder: URL
  ) throws -> [URL] {
    guard let maps = output.maps.first else {
      throw BertScopeError.invalidInput("attention export: the output holds no maps")
    }
    let l = encoding.count
    var written: [URL] = []
    let attention = folder.appendingPathComponent("attention.npy")
    try NPY.write(maps.values(), shape: [maps.layers.count, maps.heads.count, l, l], to: attention)
    written.append(attention)
    if hidden {
      let url = folder.appendingPathComponent("hidden.npy")
      try NPY.write(output.hiddenState(0), shape: [l, output.hiddenSize], to: url)
      written.append(url)
    }
    let url = folder.appendingPathComponent("tokens.json")
    try AnalysisJSON.write(tokens, to: url)
    return written + [url]
  }
}
