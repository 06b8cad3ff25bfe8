import BertScope
import Foundation

/// A sentence of words as the model reads it: each word tokenized on its own and the pieces
/// concatenated between the classification and separator tokens — what Hugging Face's
/// `tokenizer(words, is_split_into_words=True)` gives, with `word_ids()` as ``wordOfToken``.
///
/// Word positions: 0 is `[CLS]`, 1…n the words, n + 1 the final `[SEP]`; the special tokens
/// are words of their own (Clark et al. 2019), so a word-level map is (n + 2) × (n + 2).
public struct WordAlignment: Sendable, Equatable {
  /// The model's input.
  public var encoding: Encoding
  /// For each token, its word position (0 … n + 1).
  public var wordOfToken: [Int]
  /// Words of the sentence, n (the specials not counted).
  public var words: Int

  /// An alignment from its parts: `wordOfToken` must run from 0 (the first token) to
  /// `words + 1` (the last), without gaps.
  public init(encoding: Encoding, wordOfToken: [Int], words: Int) {
    self.encoding = encoding
    self.wordOfToken = wordOfToken
    self.words = words
  }

  /// Positions of the word-level map: n + 2.
  public var positions: Int { words + 2 }

  /// Why a sentence cannot be aligned.
  public enum Failure: Error, Equatable {
    /// More pieces than the model takes (specials included).
    case tooLong(tokens: Int, maximum: Int)
    /// The word (from 1) gives no piece at all.
    case noPieces(word: Int)
  }

  /// The alignment of `forms` (one string per word) for `tokenizer`, at most `maxLength` tokens
  /// in all (default: the tokenizer's maximum).
  public static func align(_ forms: [String], tokenizer: Tokenizer, maxLength: Int? = nil) -> Result<
    WordAlignment, Failure
  > {
    let limit = maxLength ?? tokenizer.maxLength
    var tokens = [tokenizer.vocabulary.token(tokenizer.clsID)]
    var ids = [tokenizer.clsID]
    var offsets: [Range<Int>?] = [nil]
    var wordOf = [0]
    let pieces = forms.map { tokenizer.wordPieces($0) }
    let count = pieces.reduce(2) { $0 + $1.count }
    // Too long first (what counts as skipped_long), then a word without pieces.
    if count > limit { return .failure(.tooLong(tokens: count, maximum: limit)) }
    if let empty = pieces.firstIndex(where: \.isEmpty) { return .failure(.noPieces(word: empty + 1)) }
    var start = 0
    for (w, form) in forms.enumerated() {
      for p in pieces[w] {
        tokens.append(p.token)
        ids.append(p.id)
        // Offsets into the words joined by single spaces (for display only).
        offsets.append((start + p.offsets.lowerBound)..<(start + p.offsets.upperBound))
        wordOf.append(w + 1)
      }
      start += form.unicodeScalars.count + 1
    }
    tokens.append(tokenizer.vocabulary.token(tokenizer.sepID))
    ids.append(tokenizer.sepID)
    offsets.append(nil)
    wordOf.append(forms.count + 1)
    let encoding = Encoding(
      tokens: tokens, ids: ids, segments: Array(repeating: 0, count: ids.count), offsets: offsets)
    return .success(WordAlignment(encoding: encoding, wordOfToken: wordOf, words: forms.count))
  }

  /// The word-level map of a token map (`L` × `L`, row-major, rows = attention *from*):
  /// `W[a][b]` = the mean over the tokens of word a of the sum over the tokens of word b of
  /// `map[t][s]` — attention from a word is the mean of its pieces' rows, attention to a word
  /// the sum of its pieces' columns (Clark et al. 2019), so the rows of W still sum to 1.
  /// `out` gets (n + 2)² values, row-major; `scratch` at least `L · (n + 2)`.
  public func wordMap(
    _ map: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Double>,
    scratch: UnsafeMutableBufferPointer<Double>
  ) {
    let L = wordOfToken.count
    let P = positions
    precondition(map.count == L * L && out.count >= P * P && scratch.count >= L * P)
    // Columns summed by word: C[t][b].
    for t in 0..<L {
      let row = t * P
      for b in 0..<P { scratch[row + b] = 0 }
      for s in 0..<L { scratch[row + wordOfToken[s]] += Double(map[t * L + s]) }
    }
    for i in 0..<(P * P) { out[i] = 0 }
    var pieces = [Int](repeating: 0, count: P)
    for t in 0..<L {
      let a = wordOfToken[t]
      pieces[a] += 1
      for b in 0..<P { out[a * P + b] += scratch[t * P + b] }
    }
    for a in 0..<P where pieces[a] > 1 {
      let k = 1 / Double(pieces[a])
      for b in 0..<P { out[a * P + b] *= k }
    }
  }

  /// ``wordMap(_:into:scratch:)`` as a new array.
  public func wordMap(_ map: UnsafeBufferPointer<Float>) -> [Double] {
    var out = [Double](repeating: 0, count: positions * positions)
    var scratch = [Double](repeating: 0, count: wordOfToken.count * positions)
    out.withUnsafeMutableBufferPointer { o in
      scratch.withUnsafeMutableBufferPointer { wordMap(map, into: o, scratch: $0) }
    }
    return out
  }
}
