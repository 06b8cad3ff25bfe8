import Foundation

/// A model folder's tokenizer: its `tokenizer.json` (the Hugging Face `tokenizers` format:
/// WordPiece, byte-level BPE or Unigram, bit-exact with `tokenizers` as transformers 5 calls
/// it) when the folder has one, else its `vocab.txt` (``BertTokenizer``, bit-exact with the
/// Python `BertTokenizer`).
///
/// Whatever the kind, an encoding starts with the classification token (``clsID``: `[CLS]`
/// or `<s>`) and each text ends with the separator (``sepID``: `[SEP]` or `</s>`), which is
/// how the analyses find the special tokens by role.
public struct Tokenizer: Sendable {
  enum Engine: Sendable {
    case wordPiece(BertTokenizer)
    case pipeline(PipelineTokenizer)
  }

  let engine: Engine
  /// Every token by id (the model's vocabulary and, for `tokenizer.json`, its added tokens).
  public let vocabulary: Vocabulary
  /// Id of the classification token every encoding starts with (`[CLS]`, `<s>`).
  public let clsID: Int32
  /// Id of the separator that ends each text (`[SEP]`, `</s>`).
  public let sepID: Int32
  /// Id of the padding token, when the tokenizer has one.
  public let padID: Int32?
  /// Id of the unknown token, when the tokenizer has one (byte-level BPE needs none).
  public let unknownID: Int32?
  /// Id of the mask token, when the tokenizer has one.
  public let maskID: Int32?
  /// The longest encoding `encode` returns by default (specials included).
  public let maxLength: Int
  /// What the tokenizer is, in words: `vocab.txt WordPiece (BertTokenizer)` or the
  /// `tokenizer.json` pipeline's components, e.g.
  /// `tokenizer.json: BertNormalizer → BertPreTokenizer → WordPiece → TemplateProcessing`.
  public let summary: String
  /// Identifies the tokenizer's behaviour: equal for two tokenizers that encode alike (same
  /// kind, same settings or the same `tokenizer.json` bytes).
  public let fingerprint: String

  /// The `vocab.txt` tokenizer `wordPiece`.
  public init(_ wordPiece: BertTokenizer) {
    engine = .wordPiece(wordPiece)
    vocabulary = wordPiece.vocabulary
    clsID = wordPiece.clsID
    sepID = wordPiece.sepID
    padID = wordPiece.padID
    unknownID = wordPiece.unknownID
    maskID = wordPiece.maskID
    maxLength = wordPiece.options.maxLength
    summary = "vocab.txt WordPiece (BertTokenizer)"
    let o = wordPiece.options
    fingerprint =
      "vocab.txt lower=\(o.lowercase) accents=\(String(describing: o.stripAccents)) cjk=\(o.tokenizeChineseChars) "
      + "max=\(o.maxLength) special=\([o.unknownToken, o.clsToken, o.sepToken, o.padToken, o.maskToken])"
  }

  /// The tokenizer of a `tokenizer.json`.
  /// - Parameters:
  ///   - json: the bytes of `tokenizer.json`.
  ///   - config: the bytes of `tokenizer_config.json`, when the folder has one.
  ///   - maxPositions: the model's longest sequence (caps `model_max_length`).
  ///   - family: says which tokens play `[CLS]`/`[SEP]` when the file does not.
  ///   - path: names the file in errors.
  public init(
    json: Data, config: Data?, maxPositions: Int, family: ModelFamily = .bert, path: String = "tokenizer.json"
  ) throws {
    let pipeline = try PipelineTokenizer(json: json, path: path, config: config, maxPositions: maxPositions)
    func role(_ found: Int32?, _ fallback: String, _ name: String) throws -> Int32 {
      if let found { return found }
      if let id = pipeline.vocabulary.id(fallback) { return id }
      throw BertScopeError.badModelFile(
        path: path,
        problem:
          "names no \(name) token and has no \(printable(fallback)); the analyses need the sequence's start and separator tokens"
      )
    }
    let defaults = family.defaultSpecialTokens
    engine = .pipeline(pipeline)
    vocabulary = pipeline.vocabulary
    clsID = try role(pipeline.clsID, defaults.cls, "classification (cls_token / bos_token)")
    sepID = try role(pipeline.sepID, defaults.sep, "separator (sep_token / eos_token)")
    padID = pipeline.padID
    unknownID = pipeline.unknownID
    maskID = pipeline.maskID
    maxLength = pipeline.maxLength
    summary = "tokenizer.json: " + pipeline.description
    fingerprint = "tokenizer.json \(Self.fnv1a(json)) \(config.map(Self.fnv1a) ?? 0) max=\(pipeline.maxLength)"
  }

  /// The `vocab.txt` tokenizer when this is one.
  public var wordPiece: BertTokenizer? {
    if case .wordPiece(let t) = engine { return t }
    return nil
  }

  /// Whether this tokenizer comes from a `tokenizer.json`.
  public var isPipeline: Bool {
    if case .pipeline = engine { return true }
    return false
  }

  /// The tokens of `text` before the special tokens are added (no truncation).
  public func wordPieces(_ text: String) -> [WordPiece] {
    switch engine {
    case .wordPiece(let t): return t.wordPieces(text)
    case .pipeline(let t): return t.pieces(text)
    }
  }

  /// Encodes `text` (and `pair`) with the tokenizer's special tokens.
  /// - Parameters:
  ///   - maxLength: longest result, specials included (default ``maxLength``); longer inputs
  ///     lose tokens from the end by the `longest_first` rule.
  ///   - truncate: when false, an input longer than `maxLength` throws `sequenceTooLong`.
  public func encode(_ text: String, pair: String? = nil, maxLength: Int? = nil, truncate: Bool = true) throws
    -> Encoding
  {
    switch engine {
    case .wordPiece(let t): return try t.encode(text, pair: pair, maxLength: maxLength, truncate: truncate)
    case .pipeline(let t): return try t.encode(text, pair: pair, maxLength: maxLength, truncate: truncate)
    }
  }

  /// Encodes many texts (or pairs: `pairs[i]` goes with `texts[i]`) on all cores; throws the
  /// error of the first input that fails.
  public func encode(_ texts: [String], pairs: [String]? = nil, maxLength: Int? = nil, truncate: Bool = true) throws
    -> [Encoding]
  {
    if let pairs, pairs.count != texts.count {
      throw BertScopeError.invalidInput("\(texts.count) texts but \(pairs.count) pairs")
    }
    if case .wordPiece(let t) = engine {
      return try t.encode(texts, pairs: pairs, maxLength: maxLength, truncate: truncate)
    }
    return try encodeInParallel(count: texts.count, makeState: {}) { i, _ in
      try encode(texts[i], pair: pairs?[i], maxLength: maxLength, truncate: truncate)
    }
  }

  /// The tokenizer of the model in `directory`: `tokenizer.json` (+ `tokenizer_config.json`)
  /// when present, else `vocab.txt` (+ `tokenizer_config.json`); `config.json`, when present,
  /// gives the maximum length and the model family.
  public static func load(from directory: URL) throws -> Tokenizer {
    var maxPositions = 512
    var family = ModelFamily.bert
    let configURL = directory.appendingPathComponent("config.json")
    if ModelFile.exists(configURL) {
      let config = try BertConfig(contentsOf: configURL)
      maxPositions = config.maxPositions
      family = config.family
    }
    return try load(from: directory, maxPositions: maxPositions, family: family)
  }

  /// The tokenizer of the folder for a model of `maxPositions` positions and `family`.
  static func load(from directory: URL, maxPositions: Int, family: ModelFamily) throws -> Tokenizer {
    let jsonURL = directory.appendingPathComponent("tokenizer.json")
    let configURL = directory.appendingPathComponent("tokenizer_config.json")
    if ModelFile.exists(jsonURL) {
      let json = try ModelFile.read(jsonURL, limit: ModelFile.maxTokenizerJSONBytes, hint: "")!
      let config = try ModelFile.read(configURL, limit: ModelFile.maxJSONBytes, hint: "", optional: true)
      return try Tokenizer(
        json: json, config: config, maxPositions: maxPositions, family: family, path: jsonURL.path)
    }
    let vocabURL = directory.appendingPathComponent("vocab.txt")
    guard ModelFile.exists(vocabURL) else {
      throw BertScopeError.modelNotFound(
        path: jsonURL.path,
        hint:
          "the model folder \(directory.path) has neither tokenizer.json nor vocab.txt (save_pretrained writes tokenizer.json)"
          + ModelLocator.installHint(for: directory))
    }
    let options = try TokenizerOptions(contentsOf: configURL, maxPositions: maxPositions)
    return Tokenizer(
      try BertTokenizer(vocabulary: try Vocabulary(contentsOf: vocabURL), options: options, path: vocabURL.path))
  }

  /// 64-bit FNV-1a of `data`, to tell files apart cheaply.
  static func fnv1a(_ data: Data) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in data {
      hash ^= UInt64(byte)
      hash = hash &* 0x100_0000_01b3
    }
    return hash
  }
}
