import Foundation

@testable import BertScope

/// `Tests/Fixtures/tokenizer`: the MiniLM vocabulary and the goldens of
/// `scripts/goldens/make_tokenizer_goldens.py`.
enum TokenizerFixtures {
  static let directory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/tokenizer")

  static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

  /// The all-MiniLM-L6-v2 tokenizer (its `vocab.txt` and `tokenizer_config.json`).
  static func miniLM() throws -> BertTokenizer {
    let options = try TokenizerOptions(contentsOf: url("tokenizer_config.json"), maxPositions: 512)
    return try BertTokenizer(vocabulary: try Vocabulary(contentsOf: url("vocab.txt")), options: options)
  }

  /// A tiny vocabulary: specials at the MiniLM ids' order, then `tokens`.
  static func tiny(_ tokens: [String], options: TokenizerOptions = TokenizerOptions()) throws -> BertTokenizer {
    let vocabulary = try Vocabulary(tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + tokens)
    return try BertTokenizer(vocabulary: vocabulary, options: options)
  }
}

extension Unicode.Scalar {
  var hex: String { "U+" + String(value, radix: 16, uppercase: true) }
}
