import Foundation

// The request and response bodies, as TEI and OpenAI name their fields; responses are
// written with snake_case keys (`promptTokens` → `prompt_tokens`). The embeddings and maps are
// written by `JSONWriter` (see `EmbeddingServer`), in the shapes documented there.

/// `"text"` or `["a", "b", …]`.
enum TextInputs: Decodable, Sendable {
  case one(String)
  case many([String])

  init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if let text = try? container.decode(String.self) {
      self = .one(text)
    } else if let texts = try? container.decode([String].self) {
      self = .many(texts)
    } else {
      throw DecodingError.typeMismatch(
        TextInputs.self,
        DecodingError.Context(
          codingPath: decoder.codingPath, debugDescription: "expected a string or an array of strings"))
    }
  }

  /// The texts; an empty array is refused (`field` names it in the error).
  func texts(field: String) throws -> [String] {
    switch self {
    case .one(let text): return [text]
    case .many(let texts):
      guard !texts.isEmpty else { throw ServeError.validation("\(field) is an empty array") }
      return texts
    }
  }
}

/// OpenAI's `input`: `"text"`, `["a", "b", …]`, one list of token ids `[101, 2023, …]`, or a
/// list of lists of token ids.
enum EmbeddingInputs: Decodable, Sendable {
  enum Sequence: Sendable {
    case text(String)
    case ids([Int])
  }
  case one(Sequence)
  case many([Sequence])

  init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if let text = try? container.decode(String.self) {
      self = .one(.text(text))
    } else if let texts = try? container.decode([String].self) {
      self = .many(texts.map { .text($0) })
    } else if let ids = try? container.decode([Int].self) {
      self = .one(.ids(ids))
    } else if let lists = try? container.decode([[Int]].self) {
      self = .many(lists.map { .ids($0) })
    } else {
      throw DecodingError.typeMismatch(
        EmbeddingInputs.self,
        DecodingError.Context(
          codingPath: decoder.codingPath,
          debugDescription: "expected a string, an array of strings, an array of token ids or an array of arrays"))
    }
  }

  /// Whether the input was a list of sequences (its items are named `input[i]` in errors).
  var isBatch: Bool { if case .many = self { return true } else { return false } }

  /// The sequences; an empty array is refused (`field` names it in the error).
  func sequences(field: String) throws -> [Sequence] {
    switch self {
    case .one(let sequence): return [sequence]
    case .many(let sequences):
      guard !sequences.isEmpty else { throw ServeError.validation("\(field) is an empty array") }
      return sequences
    }
  }
}

/// TEI's `POST /embed`.
struct EmbedRequest: Decodable, Sendable {
  var inputs: TextInputs
  var normalize: Bool?
  var truncate: Bool?
  /// Keep the first `dimensions` values of each embedding (normalised again when `normalize`).
  var dimensions: Int?
}

/// OpenAI's `POST /v1/embeddings`.
struct OpenAIEmbeddingRequest: Decodable, Sendable {
  var input: EmbeddingInputs
  var model: String?
  /// `"float"` (default) or `"base64"` (little-endian float32 bytes).
  var encodingFormat: String?
  /// Keep the first `dimensions` values of each embedding, normalised again.
  var dimensions: Int?

  enum CodingKeys: String, CodingKey {
    case input, model, dimensions
    case encodingFormat = "encoding_format"
  }
}

/// `POST /tokenize`.
struct TokenizeRequest: Decodable, Sendable {
  var inputs: TextInputs
  var truncate: Bool?
}

/// One input's tokens: offsets are `[start, end)` in Unicode scalars of the text (of the
/// pair's second text where `segments` is 1), null for the `[CLS]`/`[SEP]` added.
struct TokenizeResponse: Encodable, Sendable {
  var tokens: [String]
  var ids: [Int32]
  var segments: [Int32]
  var offsets: [[Int]?]
}

/// `POST /attention`: layers and heads numbered from 1, default all.
struct AttentionRequest: Decodable, Sendable {
  var inputs: String
  var pair: String?
  var layers: [Int]?
  var heads: [Int]?
  var truncate: Bool?
}

/// `GET /info`.
struct InfoResponse: Encodable, Sendable {
  var model: String
  var modelPath: String
  var backend: String
  var backendDescription: String
  var device: Int?
  var hiddenSize: Int
  var layers: Int
  var heads: Int
  var maxBatchTokens: Int
  var maxQueue: Int
  var maxInputTokens: Int
  var maxBodyBytes: Int
  var pooling: String
  var queueTimeout: Double?
  var version: String
}
