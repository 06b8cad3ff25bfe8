import Foundation

/// The `"Unigram"` model of `tokenizer.json` (SentencePiece unigram), as `tokenizers`'
/// `Unigram::encode` (its optimised Viterbi) and `Unigram::tokenize`.
///
/// - Best path: for each start position in order, every vocabulary piece starting there (in
///   order of length) offers `score + best score up to the start`; a scalar with no piece of its
///   own offers the unknown piece at `min score − 10`. An end position keeps the first best
///   offer (strictly greater replaces), so ties go to the earliest start.
/// - Consecutive nodes with the unknown id (including the unknown piece matched literally)
///   fuse into one string. Each string of the path is then looked up again: its id if it is a
///   piece (of duplicate pieces the last one, as everywhere in `tokenizers`); else, with
///   `byte_fallback`, one `<0xXX>` token per UTF-8 byte of the string, each covering the whole
///   string, when all exist; else the unknown id.
/// - Without `unk_id`, `tokenizers` fails the encoding of a word with an unknown scalar
///   (`MissingUnkId`); here that scalar gives no token.
struct UnigramModel: SubwordModel {
  private let trie: ScalarTrie
  private let pieces: [String]
  private let scores: [Double]
  /// `unk_id`.
  let unknownID: Int32?
  /// `byte_fallback`.
  let byteFallback: Bool
  /// The lowest score of the vocabulary.
  let minScore: Double
  private let byteIDs: [Int32]

  /// `tokenizers`' `K_UNK_PENALTY`.
  static let unknownPenalty = 10.0

  /// Reads the `model` object: `vocab` (`[[piece, score], …]`), `unk_id` (null: none),
  /// `byte_fallback`.
  init(json: [String: Any], path: String) throws {
    let reader = ModelJSONReader(json: json, path: path, kind: "Unigram")
    guard let raw = json["vocab"] else { throw reader.error("no \"vocab\"") }
    guard let list = raw as? [Any] else { throw reader.error("\"vocab\" is not a list of [piece, score]") }
    if list.isEmpty { throw reader.error("\"vocab\" is empty") }
    if list.count > ModelJSONReader.maxEntries {
      throw reader.error("\"vocab\" has \(list.count) entries, more than the \(ModelJSONReader.maxEntries) accepted")
    }
    var pieces: [String] = []
    var scores: [Double] = []
    pieces.reserveCapacity(list.count)
    scores.reserveCapacity(list.count)
    var builder = ScalarTrieBuilder()
    var minScore = Double.infinity
    for (id, item) in list.enumerated() {
      guard let pair = item as? [Any], pair.count == 2, let piece = pair[0] as? String,
        let score = JSONValue.number(pair[1])
      else {
        throw reader.error("vocab entry \(id) is not [piece, score]")
      }
      guard score.isFinite else { throw reader.error("the score of vocab entry \(id) (\(quoted(piece))) is \(score)") }
      pieces.append(piece)
      scores.append(score)
      minScore = min(minScore, score)
      builder.insert(piece.unicodeScalars, value: Int32(id))
    }
    self.pieces = pieces
    self.scores = scores
    self.minScore = minScore
    if let unk = json["unk_id"], !(unk is NSNull) {
      guard let id = JSONValue.integer(unk), id >= 0, id < list.count else {
        throw reader.error("\"unk_id\" is not an id of the vocabulary (0 ..< \(list.count))")
      }
      unknownID = Int32(id)
    } else {
      unknownID = nil
    }
    byteFallback = try reader.bool("byte_fallback", default: false)
    let trie = builder.build()
    self.trie = trie
    byteIDs = byteTokenIDs { trie.lookup($0.unicodeScalars) }
  }

  /// Appends the tokens of `word`.
  func tokenize(_ word: ArraySlice<Unicode.Scalar>, into out: inout [SubwordToken]) {
    let n = word.count
    if n == 0 { return }
    let base = word.startIndex
    let unknownScore = minScore - Self.unknownPenalty
    // Best path ending at each position: score, start (-1: none yet), id (-1: dropped unknown).
    var bestScore = [Double](repeating: 0, count: n + 1)
    var bestStart = [Int32](repeating: -1, count: n + 1)
    var bestID = [Int32](repeating: -1, count: n + 1)
    for start in 0..<n {
      let till = bestScore[start]
      var hasSingle = false
      var node: Int32 = 0
      var end = start
      while end < n {
        node = trie.child(node, word[base + end])
        if node < 0 { break }
        end += 1
        let id = trie.value(node)
        if id < 0 { continue }
        let candidate = scores[Int(id)] + till
        if bestStart[end] < 0 || candidate > bestScore[end] {
          bestScore[end] = candidate
          bestStart[end] = Int32(start)
          bestID[end] = id
        }
        if end == start + 1 { hasSingle = true }
      }
      if !hasSingle {
        let candidate = unknownScore + till
        if bestStart[start + 1] < 0 || candidate > bestScore[start + 1] {
          bestScore[start + 1] = candidate
          bestStart[start + 1] = Int32(start)
          bestID[start + 1] = unknownID ?? -1
        }
      }
    }
    // Back from the end: (start, end, fused-unknown?) strings, reversed.
    var path: [(start: Int, end: Int)] = []
    var end = n
    var fusedEnd = -1
    var fusedStart = -1
    while end > 0 {
      let start = Int(bestStart[end])
      let id = bestID[end]
      if let unknownID, id == unknownID {
        if fusedEnd < 0 { fusedEnd = end }
        fusedStart = start
      } else {
        if fusedEnd >= 0 {
          path.append((fusedStart, fusedEnd))
          fusedEnd = -1
        }
        if id >= 0 { path.append((start, end)) }
      }
      end = start
    }
    if fusedEnd >= 0 { path.append((fusedStart, fusedEnd)) }
    for (start, end) in path.reversed() {
      let piece = word[(base + start)..<(base + end)]
      if let id = trie.lookup(piece) {
        out.append(SubwordToken(id: id, range: start..<end))
        continue
      }
      if byteFallback, appendByteTokens(piece, range: start..<end, into: &out) { continue }
      if let unknownID { out.append(SubwordToken(id: unknownID, range: start..<end)) }
    }
  }

  private func appendByteTokens(
    _ piece: ArraySlice<Unicode.Scalar>, range: Range<Int>, into out: inout [SubwordToken]
  ) -> Bool {
    var ids: [Int32] = []
    for scalar in piece {
      for b in UTF8.encode(scalar)! {
        let id = byteIDs[Int(b)]
        if id < 0 { return false }
        ids.append(id)
      }
    }
    for id in ids { out.append(SubwordToken(id: id, range: range)) }
    return true
  }

  /// The id of `token` (exact scalars; of duplicate pieces the last).
  func id(of token: String) -> Int32? {
    trie.lookup(token.unicodeScalars)
  }

  /// The piece of `id`.
  func token(of id: Int32) -> String? {
    guard id >= 0, Int(id) < pieces.count else { return nil }
    return pieces[Int(id)]
  }

  /// Number of pieces.
  var vocabularySize: Int { pieces.count }

  /// The score of `id`'s piece.
  func score(of id: Int32) -> Double? {
    guard id >= 0, Int(id) < scores.count else { return nil }
    return scores[Int(id)]
  }
}
