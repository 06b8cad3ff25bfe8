import Foundation

/// The `"BPE"` model of `tokenizer.json`, as `tokenizers`' `BPE` (without dropout: inference).
///
/// A word starts as one symbol per scalar: the scalar, with `continuing_subword_prefix` in
/// front when it is not the first and `end_of_word_suffix` after the last, looked up in the
/// vocabulary. A scalar not there becomes its UTF-8 bytes as `<0xXX>` tokens
/// (`byte_fallback`, when all of them exist), else `unk_token` (consecutive ones fused into one
/// with `fuse_unk`), else nothing. Then merges apply by rank as `Word::merge_all` does: a
/// priority queue of (rank, position), lowest rank first and leftmost among equal ranks, stale
/// entries (whose pair no longer produces the entry's token) skipped. With `ignore_merges`, a
/// word that is itself a token is that token.
///
/// The merge table maps a pair of ids to (rank, id of the merged token); the merged token is
/// the first token followed by the second with the prefix's length cut off its front (in UTF-8
/// bytes, as `tokenizers` does whether or not it starts with the prefix). A merge naming a
/// token that is not in the vocabulary, or whose result is not, is refused as `tokenizers`
/// refuses it; of two merges of the same pair, the later one counts.
///
/// Ranges: `tokenizers` measures symbols in UTF-8 bytes (a byte token one byte); a token covers
/// the scalars its bytes fall in, clamped to the word (byte tokens of the prefix and suffix
/// count too, so offsets can run past the word in `tokenizers`; a dropped unknown scalar counts
/// none, so the ranges after it shift left, as `tokenizers`' offsets do).
struct BPEModel: SubwordModel {
  private let trie: ScalarTrie
  private let tokens: [String?]
  private let merges: PairTable
  /// `unk_token`'s id; nil without one, or when the vocabulary lacks it (`tokenizers` then fails
  /// the encoding with `UnkTokenOutOfVocabulary` on an unknown scalar; here it is dropped).
  let unknownID: Int32?
  /// `fuse_unk`.
  let fuseUnknown: Bool
  /// `byte_fallback`.
  let byteFallback: Bool
  /// `ignore_merges`.
  let ignoreMerges: Bool
  /// `continuing_subword_prefix` (empty: none).
  let continuingSubwordPrefix: [Unicode.Scalar]
  /// `end_of_word_suffix` (empty: none).
  let endOfWordSuffix: [Unicode.Scalar]
  private let prefixBytes: Int
  private let suffixBytes: Int
  /// The trie node of the prefix (-1 when no token starts with it).
  private let prefixNode: Int32
  /// Ids of `<0x00>` … `<0xFF>` (-1 where absent).
  private let byteIDs: [Int32]
  private let prefixUTF8: [UInt8]
  private let suffixUTF8: [UInt8]

  /// Reads the `model` object: `vocab`, `merges` (`"a b"` strings or `["a", "b"]` pairs),
  /// `unk_token`, `continuing_subword_prefix`, `end_of_word_suffix`, `fuse_unk`,
  /// `byte_fallback`, `ignore_merges`; `dropout` is ignored.
  /// `exactVocabulary`: `model.vocab` as ``ExactVocabulary`` read it, used instead of
  /// `json["vocab"]` (whose keys `JSONSerialization` may have merged).
  init(json: [String: Any], path: String, exactVocabulary: [(token: String, id: Int)]? = nil) throws {
    var reader = ModelJSONReader(json: json, path: path, kind: "BPE")
    reader.exactVocabulary = exactVocabulary
    if let dropout = json["dropout"], !(dropout is NSNull) {
      guard let p = JSONValue.number(dropout), p >= 0, p <= 1 else {
        throw reader.error("\"dropout\" is not a number in [0, 1]")
      }
    }
    let unk = try reader.string("unk_token")
    let prefix = try reader.string("continuing_subword_prefix") ?? ""
    let suffix = try reader.string("end_of_word_suffix") ?? ""
    fuseUnknown = try reader.bool("fuse_unk", default: false)
    byteFallback = try reader.bool("byte_fallback", default: false)
    ignoreMerges = try reader.bool("ignore_merges", default: false)
    continuingSubwordPrefix = Array(prefix.unicodeScalars)
    endOfWordSuffix = Array(suffix.unicodeScalars)
    prefixUTF8 = Array(prefix.utf8)
    suffixUTF8 = Array(suffix.utf8)
    prefixBytes = prefixUTF8.count
    suffixBytes = suffixUTF8.count
    let (tokens, trie) = try reader.dictionaryVocabulary()
    self.tokens = tokens
    self.trie = trie
    prefixNode = trie.walk(continuingSubwordPrefix, from: 0)
    unknownID = unk.flatMap { trie.lookup($0.unicodeScalars) }
    byteIDs = byteTokenIDs { trie.lookup($0.unicodeScalars) }
    merges = try Self.readMerges(reader, trie: trie, prefixBytes: prefixUTF8.count)
  }

  private static func readMerges(_ reader: ModelJSONReader, trie: ScalarTrie, prefixBytes: Int) throws -> PairTable {
    guard let raw = reader.json["merges"] else { throw reader.error("no \"merges\"") }
    guard let list = raw as? [Any] else { throw reader.error("\"merges\" is not an array") }
    if list.count > ModelJSONReader.maxEntries {
      throw reader.error("\"merges\" has \(list.count) entries, more than the \(ModelJSONReader.maxEntries) accepted")
    }
    var pairs: [(String, String)] = []
    pairs.reserveCapacity(list.count)
    if list.allSatisfy({ ($0 as? [Any]).map { $0.count == 2 && $0.allSatisfy { $0 is String } } ?? false }) {
      for item in list {
        let pair = item as! [Any]
        pairs.append((pair[0] as! String, pair[1] as! String))
      }
    } else if list.allSatisfy({ $0 is String }) {
      var rank = 0
      for item in list {
        let line = item as! String
        if line.utf8.starts(with: "#version".utf8) { continue }
        rank += 1
        let parts = line.utf8.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 2 else {
          throw reader.error("merge \(rank) (\(quoted(line))) is not two tokens separated by one space")
        }
        pairs.append((String(decoding: parts[0], as: UTF8.self), String(decoding: parts[1], as: UTF8.self)))
      }
    } else {
      throw reader.error("\"merges\" is neither a list of \"a b\" strings nor a list of [\"a\", \"b\"] pairs")
    }
    var table = PairTable(capacity: pairs.count)
    for (rank, (a, b)) in pairs.enumerated() {
      guard let left = trie.lookup(a.unicodeScalars) else {
        throw reader.error("merge \(rank + 1) names \(quoted(a)), which is not in the vocabulary")
      }
      guard let right = trie.lookup(b.unicodeScalars) else {
        throw reader.error("merge \(rank + 1) names \(quoted(b)), which is not in the vocabulary")
      }
      var merged = Array(a.utf8)
      let bBytes = Array(b.utf8)
      guard bBytes.count >= prefixBytes else {
        throw reader.error(
          "merge \(rank + 1) (\(quoted(a)) \(quoted(b))): the second token is shorter than continuing_subword_prefix")
      }
      merged.append(contentsOf: bBytes[prefixBytes...])
      guard let mergedString = String(validating: merged, as: UTF8.self),
        let result = trie.lookup(mergedString.unicodeScalars)
      else {
        throw reader.error(
          "merge \(rank + 1) (\(quoted(a)) \(quoted(b))) gives \(quoted(String(decoding: merged, as: UTF8.self))), which is not in the vocabulary"
        )
      }
      table.insert(left: left, right: right, rank: Int32(rank), result: result)
    }
    return table
  }

  /// Appends the tokens of `word`.
  func tokenize(_ word: ArraySlice<Unicode.Scalar>, into out: inout [SubwordToken]) {
    let n = word.count
    if n == 0 { return }
    let base = word.startIndex
    if ignoreMerges, let id = trie.lookup(word) {
      out.append(SubwordToken(id: id, range: 0..<n))
      return
    }
    // Symbols: id and UTF-8 length, linked; len 0 marks a symbol merged away.
    var ids: [Int32] = []
    var lens: [Int32] = []
    ids.reserveCapacity(n)
    lens.reserveCapacity(n)
    // Scalar owning each byte of the word, to turn byte offsets into scalar ranges.
    var owner: [Int32] = []
    owner.reserveCapacity(n * 2)
    var pendingUnknown: (id: Int32, len: Int32)? = nil
    for i in 0..<n {
      let scalar = word[base + i]
      let byteLen = Int32(UTF8.width(scalar))
      for _ in 0..<byteLen { owner.append(Int32(i)) }
      let isFirst = i == 0
      let isLast = i == n - 1
      var node = trie.child(isFirst ? 0 : prefixNode, scalar)
      if isLast, !endOfWordSuffix.isEmpty { node = trie.walk(endOfWordSuffix, from: node) }
      let id = trie.value(node)
      if id >= 0 {
        if let pending = pendingUnknown {
          ids.append(pending.id)
          lens.append(pending.len)
          pendingUnknown = nil
        }
        ids.append(id)
        lens.append(byteLen)
        continue
      }
      if byteFallback, appendByteTokens(scalar, isFirst: isFirst, isLast: isLast, ids: &ids, lens: &lens) {
        continue
      }
      if let unknownID {
        if let pending = pendingUnknown {
          if fuseUnknown {
            pendingUnknown = (pending.id, pending.len + byteLen)
          } else {
            ids.append(pending.id)
            lens.append(pending.len)
            pendingUnknown = (unknownID, byteLen)
          }
        } else {
          pendingUnknown = (unknownID, byteLen)
        }
      }
    }
    if let pending = pendingUnknown {
      ids.append(pending.id)
      lens.append(pending.len)
    }
    if ids.count > 1, !merges.isEmpty { mergeAll(ids: &ids, lens: &lens) }
    var byte = 0
    for (id, len) in zip(ids, lens) where len > 0 {
      let start = byte
      byte += Int(len)
      let s0 = start < owner.count ? Int(owner[start]) : n
      let s1 = byte - 1 < owner.count ? Int(owner[byte - 1]) + 1 : n
      out.append(SubwordToken(id: id, range: s0..<max(s0, s1)))
    }
  }

  /// The `<0xXX>` tokens of prefix + scalar + suffix's bytes, one byte each, when all exist.
  private func appendByteTokens(
    _ scalar: Unicode.Scalar, isFirst: Bool, isLast: Bool, ids: inout [Int32], lens: inout [Int32]
  ) -> Bool {
    var bytes: [UInt8] = []
    if !isFirst { bytes += prefixUTF8 }
    bytes += UTF8.encode(scalar)!
    if isLast { bytes += suffixUTF8 }
    for b in bytes where byteIDs[Int(b)] < 0 { return false }
    for b in bytes {
      ids.append(byteIDs[Int(b)])
      lens.append(1)
    }
    return true
  }

  /// `Word::merge_all` without dropout, on parallel arrays (`lens[i] == 0`: merged away).
  private func mergeAll(ids: inout [Int32], lens: inout [Int32]) {
    let count = ids.count
    var prev = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
      for i in 0..<count { buffer[i] = Int32(i) - 1 }
      initialized = count
    }
    var next = [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
      for i in 0..<count { buffer[i] = i + 1 < count ? Int32(i + 1) : -1 }
      initialized = count
    }
    var queue = MergeQueue()
    queue.reserve(count)
    for i in 0..<(count - 1) {
      if let m = merges.find(left: ids[i], right: ids[i + 1]) {
        queue.push(MergeQueue.Entry(rank: m.rank, pos: Int32(i), result: m.result))
      }
    }
    while let top = queue.pop() {
      let pos = Int(top.pos)
      if lens[pos] == 0 { continue }
      let nextPos = next[pos]
      if nextPos < 0 { continue }
      let right = Int(nextPos)
      guard let m = merges.find(left: ids[pos], right: ids[right]), m.result == top.result else { continue }
      ids[pos] = top.result
      lens[pos] += lens[right]
      next[pos] = next[right]
      lens[right] = 0
      let after = next[right]
      if after >= 0 { prev[Int(after)] = Int32(pos) }
      let before = prev[pos]
      if before >= 0, let m = merges.find(left: ids[Int(before)], right: ids[pos]) {
        queue.push(MergeQueue.Entry(rank: m.rank, pos: before, result: m.result))
      }
      if after >= 0, let m = merges.find(left: ids[pos], right: ids[Int(after)]) {
        queue.push(MergeQueue.Entry(rank: m.rank, pos: Int32(pos), result: m.result))
      }
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

  /// Number of merges with a distinct pair.
  var mergeCount: Int { merges.count }
}

/// Open-addressing hash of merges: (left id, right id) → (rank, merged id).
struct PairTable: Sendable {
  private var keys: [UInt64]
  private var values: [(rank: Int32, result: Int32)]
  private var mask: Int
  private var shift: UInt64
  /// Number of distinct pairs.
  private(set) var count = 0

  /// Whether there are no merges.
  var isEmpty: Bool { count == 0 }

  /// An empty table sized for `capacity` pairs (it does not grow).
  init(capacity: Int) {
    var bits: UInt64 = 4
    while (1 << bits) < capacity * 2 { bits += 1 }
    let size = 1 << Int(bits)
    keys = [UInt64](repeating: 0, count: size)
    values = [(Int32, Int32)](repeating: (0, 0), count: size)
    mask = size - 1
    shift = 64 - bits
  }

  @inline(__always)
  private func key(_ left: Int32, _ right: Int32) -> UInt64 {
    (UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))) &+ 1
  }

  /// Sets the merge of `(left, right)`, replacing an earlier one (a later merge wins).
  mutating func insert(left: Int32, right: Int32, rank: Int32, result: Int32) {
    let k = key(left, right)
    var slot = Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> shift)
    while keys[slot] != 0 && keys[slot] != k { slot = (slot + 1) & mask }
    if keys[slot] == 0 { count += 1 }
    keys[slot] = k
    values[slot] = (rank, result)
  }

  /// The merge of `(left, right)`, if any.
  @inline(__always)
  func find(left: Int32, right: Int32) -> (rank: Int32, result: Int32)? {
    let k = key(left, right)
    var slot = Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> shift)
    while true {
      let found = keys[slot]
      if found == k { return values[slot] }
      if found == 0 { return nil }
      slot = (slot + 1) & mask
    }
  }
}

/// A binary min-heap of pending merges ordered by (rank, position).
struct MergeQueue {
  /// One pending merge: of the symbol at `pos` with the next one, into `result`.
  struct Entry {
    /// The merge's rank (its index in `merges`).
    var rank: Int32
    /// The left symbol's index.
    var pos: Int32
    /// The merged token's id.
    var result: Int32

    /// Whether `self` pops before `other`.
    @inline(__always)
    func before(_ other: Entry) -> Bool {
      rank != other.rank ? rank < other.rank : pos < other.pos
    }
  }

  private var heap: [Entry] = []

  /// Makes room for `n` entries.
  mutating func reserve(_ n: Int) { heap.reserveCapacity(n) }

  /// Adds `e`.
  mutating func push(_ e: Entry) {
    heap.append(e)
    var i = heap.count - 1
    while i > 0 {
      let parent = (i - 1) / 2
      if !heap[i].before(heap[parent]) { break }
      heap.swapAt(i, parent)
      i = parent
    }
  }

  /// Removes and returns the entry of lowest (rank, position), or nil when empty.
  mutating func pop() -> Entry? {
    guard let last = heap.popLast() else { return nil }
    if heap.isEmpty { return last }
    let top = heap[0]
    heap[0] = last
    var i = 0
    let n = heap.count
    while true {
      let l = 2 * i + 1
      if l >= n { break }
      var c = l
      if l + 1 < n, heap[l + 1].before(heap[l]) { c = l + 1 }
      if !heap[c].before(heap[i]) { break }
      heap.swapAt(i, c)
      i = c
    }
    return top
  }
}
