import BertScope

/// What a key position is, for the statistics that group attention by token kind.
public enum TokenKind: Int, Sendable, CaseIterable, Codable {
  /// The `[CLS]` token (by id).
  case cls = 0
  /// A `[SEP]` token (by id): one per text.
  case sep = 1
  /// A word piece made only of punctuation (see ``isPunctuation(token:)``).
  case punctuation = 2
  /// Every other token, `[UNK]`, `[PAD]` and `[MASK]` included.
  case other = 3

  /// The name used in CSV headers and JSON keys.
  public var name: String {
    switch self {
    case .cls: return "cls"
    case .sep: return "sep"
    case .punctuation: return "punct"
    case .other: return "other"
    }
  }

  /// True for Hugging Face BERT's punctuation: Unicode general category P* plus the ASCII
  /// symbols 33–47, 58–64, 91–96, 123–126 (so `$`, `+`, `^`, `` ` `` count too).
  public static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 33...47, 58...64, 91...96, 123...126: return true
    default: break
    }
    switch scalar.properties.generalCategory {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
      .initialPunctuation, .finalPunctuation, .otherPunctuation:
      return true
    default: return false
    }
  }

  /// A word piece made only of punctuation (a leading `##` continuation mark, byte-level
  /// BPE's `Ġ` space mark or SentencePiece's `▁` is ignored).
  public static func isPunctuation(token: String) -> Bool {
    var body = Substring(token)
    if body.hasPrefix("##") && body.count > 2 {
      body = body.dropFirst(2)
    } else if (body.hasPrefix("\u{120}") || body.hasPrefix("\u{2581}")) && body.count > 1 {
      body = body.dropFirst()
    }
    return !body.isEmpty && body.unicodeScalars.allSatisfy(isPunctuation)
  }

  /// The kind of a token known only by its string (a saved `tokens.json`): `[CLS]` and `<s>`
  /// are ``cls``, `[SEP]` and `</s>` ``sep``, then punctuation or other.
  public init(token: String) {
    switch token {
    case "[CLS]", "<s>": self = .cls
    case "[SEP]", "</s>": self = .sep
    default: self = Self.isPunctuation(token: token) ? .punctuation : .other
    }
  }

  /// The kind of every position of `encoding`. [CLS]/[SEP] are recognised by id (so a
  /// literal "[SEP]" typed in the text, which the tokenizer maps to the id, counts too);
  /// punctuation by the token string, looked up in the vocabulary when `tokens` is empty.
  public static func kinds(of encoding: Encoding, tokenizer: Tokenizer) -> [TokenKind] {
    encoding.ids.enumerated().map { position, id in
      if id == tokenizer.clsID { return .cls }
      if id == tokenizer.sepID { return .sep }
      let token = position < encoding.tokens.count ? encoding.tokens[position] : tokenizer.vocabulary.token(id)
      return isPunctuation(token: token) ? .punctuation : .other
    }
  }
}
