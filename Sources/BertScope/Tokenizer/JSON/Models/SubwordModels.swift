import Foundation

/// Builds the ``SubwordModel`` a `tokenizer.json` names.
enum SubwordModels {
  /// The model types ``make(json:path:)`` reads.
  static let supportedTypes = ["BPE", "Unigram", "WordPiece"]

  /// The model of the parsed `"model"` object of `tokenizer.json` (from `JSONSerialization`),
  /// by its `"type"`: ``WordPieceJSONModel``, ``BPEModel`` or ``UnigramModel``. Without a
  /// `"type"` (old files), the type is told from the fields as `tokenizers` does: `merges`
  /// means BPE, a `vocab` list Unigram, `continuing_subword_prefix` or
  /// `max_input_chars_per_word` WordPiece.
  ///
  /// Throws `badModelFile` naming `path` for an unknown type or malformed model.
  ///
  /// `exactVocabulary`: pass ``ExactVocabulary/entries(tokenizerJSON:)`` of the file's bytes.
  /// `JSONSerialization` returns a `vocab` object as a dictionary keyed by Swift `String`, which
  /// merges canonically equivalent keys (`"é"` and `"e\u{301}"`) and drops a leading raw
  /// U+FEFF; WordPiece and BPE then read these exact entries instead (Unigram's list is safe).
  static func make(
    json: [String: Any], path: String, exactVocabulary: [(token: String, id: Int)]? = nil
  ) throws -> any SubwordModel {
    let type: String
    if let t = json["type"], !(t is NSNull) {
      guard let s = t as? String else {
        throw BertScopeError.badModelFile(path: path, problem: "tokenizer.json model: \"type\" is not a string")
      }
      type = s
    } else if json["merges"] != nil {
      type = "BPE"
    } else if json["vocab"] is [Any] {
      type = "Unigram"
    } else if json["continuing_subword_prefix"] != nil || json["max_input_chars_per_word"] != nil {
      type = "WordPiece"
    } else {
      throw BertScopeError.badModelFile(
        path: path,
        problem: "tokenizer.json model has no \"type\" (supported: \(supportedTypes.joined(separator: ", ")))")
    }
    switch type {
    case "WordPiece": return try WordPieceJSONModel(json: json, path: path, exactVocabulary: exactVocabulary)
    case "BPE": return try BPEModel(json: json, path: path, exactVocabulary: exactVocabulary)
    case "Unigram": return try UnigramModel(json: json, path: path)
    default:
      throw BertScopeError.badModelFile(
        path: path,
        problem:
          "tokenizer.json model type \(quoted(type)) is not supported (supported: \(supportedTypes.joined(separator: ", ")))"
      )
    }
  }
}
