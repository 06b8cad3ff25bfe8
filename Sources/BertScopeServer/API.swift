import Foundation

// The request and response bodies, as TEI and OpenAI name their fields; responses are
// written with snake_case keys (`promptTokens` → `prompt_tokens`).

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

/// TEI's `POST /embed`.
struct EmbedRequest: Decodable, Sendable {
  var inputs: TextInputs
  var normalize: Bool?
  var truncate: Bool?
}

/// OpenAI's `POST /v1/embeddings`.
struct OpenAIEmbeddingRequest: Decodable, Sendable {
  var input: TextInputs
  var model: String?
}

struct OpenAIEmbeddingResponse: Encodable, Sendable {
  struct Item: Encodable, Sendable {
    var object = "embedding"
    var index: Int
    var embedding: [Float]
  }
  struct Usage: Encodable, Sendable {
    var promptTokens: Int
    var totalTokens: Int
  }
  var object = "list"
  var data: [Item]
  var model: String
  var usage: Usage
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

/// The maps as JSON: `attention[layer][head][query][key]`, for `layers` and `heads` in order.
struct AttentionResponse: Encodable, Sendable {
  var tokens: [String]
  var layers: [Int]
  var heads: [Int]
  var shape: [Int]
  var attention: [[[[Float]]]]
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
  var version: String
}
