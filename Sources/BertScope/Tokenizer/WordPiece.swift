/// One WordPiece token of a text, with where it came from.
public struct WordPiece: Sendable, Equatable, Hashable {
  /// The vocabulary entry (`##`-prefixed inside a word), or the unknown token.
  public var token: String
  /// The token's vocabulary id.
  public var id: Int32
  /// Unicode-scalar indices (Python `str` indices) of the source text this piece came from, as
  /// Hugging Face's fast tokenizer reports them in `offset_mapping`.
  public var offsets: Range<Int>

  /// Builds a piece from its token, id and source range.
  public init(token: String, id: Int32, offsets: Range<Int>) {
    self.token = token
    self.id = id
    self.offsets = offsets
  }
}

/// Greedy longest-match-first WordPiece (Hugging Face `WordpieceTokenizer`) over a trie of the
/// vocabulary, so that a piece costs one hash probe per scalar instead of a dictionary lookup
/// per candidate substring. Matching is by exact scalars, like Python's `dict`; Swift's `String`
/// equality (canonical equivalence) would not be.
struct WordPieceModel: Sendable {
  /// Words longer than this (in Unicode scalars) become the unknown token.
  static let maxInputCharsPerWord = 100
  static let wordRoot: Int32 = 0
  static let continuationRoot: Int32 = 1

  /// Token id ending at each trie node, or -1.
  private let nodeToken: [Int32]
  /// Open-addressing hash of the trie edges: key `(parent << 21 | scalar) + 1` (0 = empty slot).
  private let edgeKeys: [UInt64]
  private let edgeChildren: [Int32]
  private let shift: UInt64

  init(vocabulary: Vocabulary) {
    var edges: [UInt64: Int32] = [:]
    var nodeToken: [Int32] = [-1, -1]
    func insert<S: Sequence<Unicode.Scalar>>(_ scalars: S, from root: Int32, id: Int32) {
      var node = root
      for scalar in scalars {
        let key = UInt64(node) << 21 | UInt64(scalar.value)
        if let child = edges[key] {
          node = child
        } else {
          let child = Int32(nodeToken.count)
          nodeToken.append(-1)
          edges[key] = child
          node = child
        }
      }
      if node != root { nodeToken[Int(node)] = id }
    }
    for (index, token) in vocabulary.tokens.enumerated() {
      let id = Int32(index)
      insert(token.unicodeScalars, from: Self.wordRoot, id: id)
      // By scalars: "##ि" is "#" + "#ि" as Characters, so hasPrefix("##") would miss it.
      if token.unicodeScalars.starts(with: "##".unicodeScalars) {
        insert(token.unicodeScalars.dropFirst(2), from: Self.continuationRoot, id: id)
      }
    }
    var bits: UInt64 = 4
    while (1 << bits) < edges.count * 2 { bits += 1 }
    let capacity = 1 << Int(bits)
    var keys = [UInt64](repeating: 0, count: capacity)
    var children = [Int32](repeating: -1, count: capacity)
    for (key, child) in edges {
      var slot = Self.slot(key &+ 1, shift: 64 - bits)
      while keys[slot] != 0 { slot = (slot + 1) & (capacity - 1) }
      keys[slot] = key &+ 1
      children[slot] = child
    }
    self.nodeToken = nodeToken
    self.edgeKeys = keys
    self.edgeChildren = children
    self.shift = 64 - bits
  }

  @inline(__always)
  private static func slot(_ key: UInt64, shift: UInt64) -> Int {
    Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
  }

  @inline(__always)
  private func child(_ node: Int32, _ scalar: Unicode.Scalar) -> Int32 {
    let key = (UInt64(node) << 21 | UInt64(scalar.value)) &+ 1
    let mask = edgeKeys.count - 1
    var slot = Self.slot(key, shift: shift)
    while true {
      let found = edgeKeys[slot]
      if found == key { return edgeChildren[slot] }
      if found == 0 { return -1 }
      slot = (slot + 1) & mask
    }
  }

  /// Splits one pre-token into pieces, appending each piece's id and end position (in
  /// `scalars`' indices) to `ids` and `ends`. Returns false, appending nothing, when the word is
  /// too long or has no full segmentation: the caller emits the unknown token for the whole word.
  @inline(__always)
  func segment(_ scalars: ArraySlice<Unicode.Scalar>, ids: inout [Int32], ends: inout [Int]) -> Bool {
    guard scalars.count <= Self.maxInputCharsPerWord else { return false }
    let mark = ids.count
    var start = scalars.startIndex
    while start < scalars.endIndex {
      var node = start == scalars.startIndex ? Self.wordRoot : Self.continuationRoot
      var bestEnd = -1
      var bestID: Int32 = -1
      var i = start
      while i < scalars.endIndex {
        node = child(node, scalars[i])
        if node < 0 { break }
        i += 1
        let id = nodeToken[Int(node)]
        if id >= 0 {
          bestEnd = i
          bestID = id
        }
      }
      if bestEnd < 0 {
        ids.removeLast(ids.count - mark)
        ends.removeLast(ends.count - mark)
        return false
      }
      ids.append(bestID)
      ends.append(bestEnd)
      start = bestEnd
    }
    return true
  }
}
