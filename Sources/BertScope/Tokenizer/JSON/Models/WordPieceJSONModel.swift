import Foundation

/// The `"WordPiece"` model of `tokenizer.json`: greedy longest-match-first, as `tokenizers`'
/// `WordPiece::tokenize`. A piece after the first is looked up with `continuing_subword_prefix`
/// in front; a word longer than `max_input_chars_per_word` scalars, or one without a full
/// segmentation, becomes a single `unk_token` covering the whole word.
///
/// Matching walks a scalar-exact trie with two roots: the vocabulary, and the tokens that start
/// with the prefix, the prefix removed.
struct WordPieceJSONModel: SubwordModel {
  private static let wordRoot: Int32 = 0
  private let continuationRoot: Int32
  private let trie: ScalarTrie
  private let tokens: [String?]
  /// The id of `unk_token`; nil when the vocabulary lacks it (then an unsegmentable word gives
  /// no token, where `tokenizers` fails the whole encoding with `MissingUnkToken`).
  let unknownID: Int32?
  /// `max_input_chars_per_word`.
  let maxInputCharsPerWord: Int
  /// `continuing_subword_prefix`.
  let continuingSubwordPrefix: String

  /// Reads the `model` object (`vocab`, `unk_token` (default `[UNK]`),
  /// `continuing_subword_prefix` (default `##`), `max_input_chars_per_word` (default 100)).
  /// `exactVocabulary`: `model.vocab` as ``ExactVocabulary`` read it, used instead of
  /// `json["vocab"]` (whose keys `JSONSerialization` may have merged).
  init(json: [String: Any], path: String, exactVocabulary: [(token: String, id: Int)]? = nil) throws {
    var reader = ModelJSONReader(json: json, path: path, kind: "WordPiece")
    reader.exactVocabulary = exactVocabulary
    let unk = try reader.string("unk_token") ?? "[UNK]"
    let prefix = try reader.string("continuing_subword_prefix") ?? "##"
    maxInputCharsPerWord = try reader.nonNegativeInt("max_input_chars_per_word") ?? 100
    continuingSubwordPrefix = prefix
    let (tokens, _) = try reader.dictionaryVocabulary()
    self.tokens = tokens
    let prefixScalars = Array(prefix.unicodeScalars)
    continuationRoot = prefixScalars.isEmpty ? Self.wordRoot : 1
    var builder = ScalarTrieBuilder(roots: prefixScalars.isEmpty ? 1 : 2)
    for (id, token) in tokens.enumerated() {
      guard let token else { continue }
      let scalars = Array(token.unicodeScalars)
      builder.insert(scalars, value: Int32(id), root: Self.wordRoot)
      if !prefixScalars.isEmpty, scalars.starts(with: prefixScalars) {
        builder.insert(scalars.dropFirst(prefixScalars.count), value: Int32(id), root: continuationRoot)
      }
    }
    trie = builder.build()
    unknownID = trie.lookup(unk.unicodeScalars)
  }

  /// Appends the pieces of `word`, or the unknown token for all of it.
  func tokenize(_ word: ArraySlice<Unicode.Scalar>, into out: inout [SubwordToken]) {
    if word.isEmpty { return }
    let base = word.startIndex
    if word.count <= maxInputCharsPerWord {
      let mark = out.count
      var start = word.startIndex
      var complete = true
      while start < word.endIndex {
        var node = start == word.startIndex ? Self.wordRoot : continuationRoot
        var bestEnd = -1
        var bestID: Int32 = -1
        var i = start
        while i < word.endIndex {
          node = trie.child(node, word[i])
          if node < 0 { break }
          i += 1
          let id = trie.value(node)
          if id >= 0 {
            bestEnd = i
            bestID = id
          }
        }
        if bestEnd < 0 {
          complete = false
          break
        }
        out.append(SubwordToken(id: bestID, range: (start - base)..<(bestEnd - base)))
        start = bestEnd
      }
      if complete { return }
      out.removeLast(out.count - mark)
    }
    if let unknownID {
      out.append(SubwordToken(id: unknownID, range: 0..<word.count))
    }
  }

  /// The id of `token` (exact scalars).
  func id(of token: String) -> Int32? {
    trie.lookup(token.unicodeScalars)
  }

  /// The token of `id`.
  func token(of id: Int32) -> String? {
    guard id >= 0, Int(id) < tokens.count else { return nil }
    return tokens[Int(id)]
  }

  /// Largest id + 1.
  var vocabularySize: Int { tokens.count }
}
