import Foundation

/// One entry of `added_tokens` in `tokenizer.json`.
struct AddedToken: Sendable, Equatable {
  /// Its id.
  var id: Int32
  /// Its text.
  var content: String
  /// Matched only as a whole word (no word character on either side).
  var singleWord: Bool
  /// Takes the whitespace before it.
  var lstrip: Bool
  /// Takes the whitespace after it.
  var rstrip: Bool
  /// Matched in the normalised text (after the normaliser) rather than in the raw text.
  var normalized: Bool
  /// A special token (`[CLS]`, `<mask>`, …).
  var special: Bool

  /// Parses one entry.
  init(_ node: JSONNode) throws {
    id = Int32(try node.required("id").integer())
    content = try node.required("content").string()
    singleWord = try node.bool("single_word", default: false)
    lstrip = try node.bool("lstrip", default: false)
    rstrip = try node.bool("rstrip", default: false)
    special = try node.bool("special", default: false)
    normalized = try node.bool("normalized", default: !special)
  }
}

/// `tokenizers`' `AddedVocabulary` matching: a leftmost-longest search over a trie of the
/// added tokens (one for those matched in the raw text, one for those matched after
/// normalisation), with the `single_word`, `lstrip` and `rstrip` rules applied to each match.
struct AddedTokenMatcher: Sendable {
  /// The tokens, indexed by `nodeToken`.
  private let tokens: [AddedToken]
  /// Per trie node: the index of the token ending there, or -1.
  private let nodeToken: [Int32]
  /// Trie edges: `(node << 21 | scalar)` → child node.
  private let edges: [UInt64: Int32]
  /// First scalars of tokens, for a quick reject.
  private let firstScalars: Set<UInt32>

  /// True when no token is matched by this matcher.
  var isEmpty: Bool { tokens.isEmpty }

  /// A matcher for `tokens` under their matching text `patterns` (the normalised content for
  /// normalised tokens); empty patterns are left out.
  init(tokens: [AddedToken], patterns: [[Unicode.Scalar]]) {
    var edges: [UInt64: Int32] = [:]
    var nodeToken: [Int32] = [-1]
    var firsts = Set<UInt32>()
    var kept: [AddedToken] = []
    for (token, pattern) in zip(tokens, patterns) where !pattern.isEmpty {
      var node: Int32 = 0
      for s in pattern {
        let key = UInt64(node) << 21 | UInt64(s.value)
        if let child = edges[key] {
          node = child
        } else {
          let child = Int32(nodeToken.count)
          nodeToken.append(-1)
          edges[key] = child
          node = child
        }
      }
      if nodeToken[Int(node)] < 0 {
        nodeToken[Int(node)] = Int32(kept.count)
        kept.append(token)
      }
      firsts.insert(pattern[0].value)
    }
    self.tokens = kept
    self.nodeToken = nodeToken
    self.edges = edges
    self.firstScalars = firsts
  }

  /// The longest token starting at `i` in `scalars[..<end]`: its end and token index.
  @inline(__always)
  private func longest(at i: Int, in scalars: [Unicode.Scalar], end: Int) -> (end: Int, token: Int)? {
    guard firstScalars.contains(scalars[i].value) else { return nil }
    var node: Int32 = 0
    var best: (end: Int, token: Int)? = nil
    var j = i
    while j < end, let child = edges[UInt64(node) << 21 | UInt64(scalars[j].value)] {
      node = child
      j += 1
      let t = nodeToken[Int(node)]
      if t >= 0 { best = (j, Int(t)) }
    }
    return best
  }

  /// Splits every text piece of `input` around the added tokens found in it
  /// (`AddedVocabulary::split_with_indices`); a token's piece is its matched text (with the
  /// whitespace `lstrip`/`rstrip` took), marked with its id.
  func split(_ input: AlignedText) -> AlignedText {
    guard !tokens.isEmpty else { return input }
    var out = AlignedText()
    out.scalars.reserveCapacity(input.count)
    out.starts.reserveCapacity(input.count)
    out.ends.reserveCapacity(input.count)
    let s = input.scalars
    for piece in input.pieces {
      if piece.token != nil {
        input.copyPiece(piece, into: &out)
        continue
      }
      let lower = piece.range.lowerBound
      let end = piece.range.upperBound
      var startOffset = lower
      var i = lower
      while i < end {
        guard let found = longest(at: i, in: s, end: end) else {
          i += 1
          continue
        }
        let token = tokens[found.token]
        var start = i
        var stop = found.end
        i = found.end
        if token.singleWord {
          let startSpace = start == lower || !RustUnicode.isWord(s[start - 1])
          let stopSpace = stop == end || !RustUnicode.isWord(s[stop])
          if !startSpace || !stopSpace { continue }
        }
        if token.lstrip {
          var k = start
          while k > lower && RustUnicode.isWhitespace(s[k - 1]) { k -= 1 }
          start = max(k, startOffset)
        }
        if token.rstrip {
          while stop < end && RustUnicode.isWhitespace(s[stop]) { stop += 1 }
        }
        if startOffset < start { input.appendSlice(startOffset..<start, into: &out) }
        input.appendSlice(start..<stop, token: token.id, into: &out)
        startOffset = stop
        i = max(i, stop)
      }
      if startOffset < end { input.appendSlice(startOffset..<end, into: &out) }
    }
    return out
  }
}
