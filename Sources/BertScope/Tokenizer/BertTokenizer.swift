import Foundation

// PLACEHOLDER — being replaced by the full Hugging Face-exact implementation
// (BasicTokenizer + WordPiece + pairs + truncation). Only the API here is settled.

/// WordPiece tokenizer, bit-exact with Hugging Face's `BertTokenizer`.
public struct BertTokenizer: Sendable {
  public let vocabulary: Vocabulary
  public let options: TokenizerOptions
  public let clsID: Int32
  public let sepID: Int32
  public let padID: Int32
  public let unknownID: Int32
  public let maskID: Int32?

  public init(vocabulary: Vocabulary, options: TokenizerOptions = TokenizerOptions(), path: String = "vocab.txt") throws {
    func need(_ token: String) throws -> Int32 {
      guard let id = vocabulary.id(token) else {
        throw BertScopeError.badModelFile(path: path, problem: "special token \(token) is not in the vocabulary")
      }
      return id
    }
    self.vocabulary = vocabulary
    self.options = options
    clsID = try need(options.clsToken)
    sepID = try need(options.sepToken)
    padID = try need(options.padToken)
    unknownID = try need(options.unknownToken)
    maskID = vocabulary.id(options.maskToken)
  }

  /// Encodes `text` (and `pair`) as `[CLS] A [SEP] (B [SEP])`.
  /// - Parameters:
  ///   - maxLength: longest result, specials included (default `options.maxLength`).
  ///   - truncate: when false, an input longer than `maxLength` throws `sequenceTooLong`.
  public func encode(_ text: String, pair: String? = nil, maxLength: Int? = nil, truncate: Bool = true) throws -> Encoding {
    var tokens = [options.clsToken]
    var ids = [clsID]
    for word in text.lowercased().split(whereSeparator: { $0.isWhitespace }) {
      let t = String(word)
      tokens.append(t)
      ids.append(vocabulary.id(t) ?? unknownID)
    }
    tokens.append(options.sepToken)
    ids.append(sepID)
    return Encoding(tokens: tokens, ids: ids, segments: Array(repeating: 0, count: ids.count), offsets: Array(repeating: nil, count: ids.count))
  }
}
