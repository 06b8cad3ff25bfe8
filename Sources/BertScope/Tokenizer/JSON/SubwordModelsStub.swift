import Foundation

// TEMPORARY (branch `tok`): a stand-in for the models helper's `SubwordModels` (branch
// `tok-models`), so that the pipeline builds and its tests run before the merge. Delete this
// file when merging `tok-models`.

/// Makes the `model` of a `tokenizer.json` (stand-in: WordPiece only).
enum SubwordModels {
  /// The model of the parsed `"model"` object.
  static func make(json: [String: Any], path: String) throws -> any SubwordModel {
    guard json["type"] as? String == "WordPiece", let vocab = json["vocab"] as? [String: Any] else {
      throw BertScopeError.badModelFile(path: path, problem: "model: only WordPiece is supported by the stand-in")
    }
    var tokens = [String](repeating: "", count: vocab.count)
    for (token, value) in vocab {
      guard let id = JSONValue.integer(value), id >= 0, id < vocab.count else {
        throw BertScopeError.badModelFile(path: path, problem: "model.vocab: bad id for \(printable(token))")
      }
      tokens[id] = token
    }
    let vocabulary = try Vocabulary(tokens: tokens, path: path)
    let unk = vocabulary.id(json["unk_token"] as? String ?? "[UNK]")
    return StandInWordPiece(vocabulary: vocabulary, model: WordPieceModel(vocabulary: vocabulary), unknownID: unk)
  }
}

/// Stand-in WordPiece over the vocab.txt tokenizer's `WordPieceModel`.
struct StandInWordPiece: SubwordModel {
  let vocabulary: Vocabulary
  let model: WordPieceModel
  let unknownID: Int32?

  func tokenize(_ word: ArraySlice<Unicode.Scalar>, into out: inout [SubwordToken]) {
    var ids: [Int32] = []
    var ends: [Int] = []
    let base = word.startIndex
    if model.segment(word, ids: &ids, ends: &ends) {
      var start = 0
      for (id, end) in zip(ids, ends) {
        out.append(SubwordToken(id: id, range: start..<(end - base)))
        start = end - base
      }
    } else if let unknownID {
      out.append(SubwordToken(id: unknownID, range: 0..<word.count))
    }
  }

  func id(of token: String) -> Int32? { vocabulary.id(token) }
  func token(of id: Int32) -> String? { id >= 0 && Int(id) < vocabulary.count ? vocabulary.tokens[Int(id)] : nil }
  var vocabularySize: Int { vocabulary.count }
}
