import Foundation

/// One tokenized input (a text or a pair of texts) as the model sees it:
/// `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]`.
public struct Encoding: Sendable, Equatable, Codable {
  /// WordPiece tokens, specials included.
  public var tokens: [String]
  /// Vocabulary ids, one per token.
  public var ids: [Int32]
  /// Segment (token type) ids: 0 for `[CLS] A [SEP]`, 1 for `B [SEP]`.
  public var segments: [Int32]
  /// For each token, the range of Unicode scalars (Python `str` indices) of its source text
  /// it came from; nil for the `[CLS]`/`[SEP]` the encoder adds (a special token written in the
  /// text has its range). Which text: `segments`.
  public var offsets: [Range<Int>?]
  /// How many word pieces truncation removed (0 when the input fitted).
  public var truncatedTokens: Int

  /// Number of tokens, specials included (the sequence length `L`).
  public var count: Int { ids.count }

  /// Builds an encoding from parallel arrays, one element per token.
  public init(tokens: [String], ids: [Int32], segments: [Int32], offsets: [Range<Int>?], truncatedTokens: Int = 0) {
    self.tokens = tokens
    self.ids = ids
    self.segments = segments
    self.offsets = offsets
    self.truncatedTokens = truncatedTokens
  }
}

/// The settings of `tokenizer_config.json` that change how text is split.
public struct TokenizerOptions: Sendable, Equatable {
  /// Lower-case the text before splitting (`do_lower_case`, default true).
  public var lowercase: Bool = true
  /// nil: strip accents exactly when lower-casing (Hugging Face's rule for `strip_accents: null`).
  public var stripAccents: Bool? = nil
  /// Put spaces around CJK ideographs so each becomes its own word (`tokenize_chinese_chars`, default true).
  public var tokenizeChineseChars: Bool = true
  /// Longest encoding (specials included) that `encode` returns.
  public var maxLength: Int = 512
  /// The token for words without a segmentation (`unk_token`).
  public var unknownToken = "[UNK]"
  /// The classification token that starts every encoding (`cls_token`).
  public var clsToken = "[CLS]"
  /// The separator that ends each text of an encoding (`sep_token`).
  public var sepToken = "[SEP]"
  /// The padding token (`pad_token`).
  public var padToken = "[PAD]"
  /// The masked-language-model token (`mask_token`); need not be in the vocabulary.
  public var maskToken = "[MASK]"

  /// Hugging Face's `BertTokenizer` defaults: uncased, 512 tokens.
  public init() {}

  /// Reads `tokenizer_config.json` when it exists (defaults otherwise). `maxLength` is the
  /// smaller of `model_max_length` and the model's position count.
  public init(contentsOf url: URL, maxPositions: Int) throws {
    guard let data = try ModelFile.read(url, limit: ModelFile.maxJSONBytes, hint: "", optional: true) else {
      self.init()
      maxLength = maxPositions
      return
    }
    try self.init(json: data, path: url.path, maxPositions: maxPositions)
  }

  /// Parses the bytes of a `tokenizer_config.json`; `path` is only used in error messages.
  public init(json data: Data, path: String = "tokenizer_config.json", maxPositions: Int) throws {
    self.init()
    maxLength = maxPositions
    let object: Any
    do { object = try JSONSerialization.jsonObject(with: data) } catch {
      throw BertScopeError.badModelFile(path: path, problem: "not valid JSON")
    }
    guard let dict = object as? [String: Any] else {
      throw BertScopeError.badModelFile(path: path, problem: "expected a JSON object")
    }
    func flag(_ key: String) throws -> Bool? {
      guard let raw = dict[key], !(raw is NSNull) else { return nil }
      guard let value = JSONValue.bool(raw) else {
        throw BertScopeError.badModelFile(path: path, problem: "\"\(key)\" must be true, false or null")
      }
      return value
    }
    func token(_ key: String) -> String? {
      if let s = dict[key] as? String { return s }
      if let d = dict[key] as? [String: Any], let s = d["content"] as? String { return s }
      return nil
    }
    if let v = try flag("do_lower_case") { lowercase = v }
    stripAccents = try flag("strip_accents")
    if let v = try flag("tokenize_chinese_chars") { tokenizeChineseChars = v }
    if let raw = dict["model_max_length"], let value = JSONValue.number(raw), value >= 2, value < 1e9 {
      maxLength = min(maxPositions, Int(value))
    }
    if let s = token("unk_token") { unknownToken = s }
    if let s = token("cls_token") { clsToken = s }
    if let s = token("sep_token") { sepToken = s }
    if let s = token("pad_token") { padToken = s }
    if let s = token("mask_token") { maskToken = s }
  }
}
