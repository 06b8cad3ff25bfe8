import Foundation

/// A trie of vocabulary strings keyed by exact Unicode scalars (as Rust's `HashMap<String, _>`
/// compares them: byte for byte), with its edges in one open-addressing hash table so that a
/// step costs one probe. Swift `String` equality (canonical equivalence) would merge `"é"` and
/// `"e\u{301}"`; this does not.
///
/// A trie can have several roots (e.g. WordPiece's word-start and continuation roots); node ids
/// are `Int32`, -1 meaning "no such node".
struct ScalarTrie: Sendable {
  /// The value stored at each node, or -1.
  private let nodeValue: [Int32]
  /// Edge keys `(parent << 21 | scalar) + 1` (0 = empty slot) and the child of each.
  private let edgeKeys: [UInt64]
  private let edgeChildren: [Int32]
  private let shift: UInt64

  /// Number of nodes (roots included).
  var nodeCount: Int { nodeValue.count }

  fileprivate init(nodeValue: [Int32], edges: [UInt64: Int32]) {
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
    self.nodeValue = nodeValue
    self.edgeKeys = keys
    self.edgeChildren = children
    self.shift = 64 - bits
  }

  @inline(__always)
  private static func slot(_ key: UInt64, shift: UInt64) -> Int {
    Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
  }

  /// The child of `node` along `scalar`, or -1 (also for `node` -1).
  @inline(__always)
  func child(_ node: Int32, _ scalar: Unicode.Scalar) -> Int32 {
    if node < 0 { return -1 }
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

  /// The value at `node`, or -1 (also for `node` -1).
  @inline(__always)
  func value(_ node: Int32) -> Int32 {
    node < 0 ? -1 : nodeValue[Int(node)]
  }

  /// The node reached from `node` along `scalars`, or -1.
  func walk<S: Sequence<Unicode.Scalar>>(_ scalars: S, from node: Int32) -> Int32 {
    var node = node
    for scalar in scalars {
      node = child(node, scalar)
      if node < 0 { return -1 }
    }
    return node
  }

  /// The value stored for exactly `scalars` below root `root`, or nil.
  func lookup<S: Sequence<Unicode.Scalar>>(_ scalars: S, root: Int32 = 0) -> Int32? {
    let v = value(walk(scalars, from: root))
    return v >= 0 ? v : nil
  }
}

/// Builds a ``ScalarTrie``.
struct ScalarTrieBuilder {
  private var edges: [UInt64: Int32] = [:]
  private var nodeValue: [Int32]

  /// A builder with `roots` empty roots, ids 0..<roots.
  init(roots: Int = 1) {
    nodeValue = [Int32](repeating: -1, count: roots)
  }

  /// Stores `value` for `scalars` below `root`, replacing an earlier value. An empty string is
  /// not stored (no search ever matches it). Returns the value it replaced, or nil.
  @discardableResult
  mutating func insert<S: Sequence<Unicode.Scalar>>(_ scalars: S, value: Int32, root: Int32 = 0) -> Int32? {
    var node = root
    for scalar in scalars {
      let key = UInt64(node) << 21 | UInt64(scalar.value)
      if let child = edges[key] {
        node = child
      } else {
        let child = Int32(nodeValue.count)
        nodeValue.append(-1)
        edges[key] = child
        node = child
      }
    }
    if node == root { return nil }
    let old = nodeValue[Int(node)]
    nodeValue[Int(node)] = value
    return old >= 0 ? old : nil
  }

  /// The finished trie.
  func build() -> ScalarTrie {
    ScalarTrie(nodeValue: nodeValue, edges: edges)
  }
}

/// Reading the `model` object of `tokenizer.json` (as `JSONSerialization` returns it) with
/// errors that name the file and the field.
struct ModelJSONReader {
  /// Most vocabulary entries (and merges) a model may have.
  static let maxEntries = 4_000_000

  /// The `model` object.
  let json: [String: Any]
  /// The file, for messages.
  let path: String
  /// The model type, for messages ("BPE model: …").
  let kind: String
  /// `model.vocab` read exactly from the file (``ExactVocabulary``), used instead of
  /// `json["vocab"]` when given.
  var exactVocabulary: [(token: String, id: Int)]? = nil

  /// A `badModelFile` error about this model.
  func error(_ problem: String) -> BertScopeError {
    .badModelFile(path: path, problem: "tokenizer.json \(kind) model: \(problem)")
  }

  /// Whether `key` is absent or JSON null.
  func isAbsent(_ key: String) -> Bool {
    guard let value = json[key] else { return true }
    return value is NSNull
  }

  /// An optional string field (absent or null: nil).
  func string(_ key: String) throws -> String? {
    if isAbsent(key) { return nil }
    guard let s = json[key] as? String else { throw error("\"\(key)\" is not a string") }
    return s
  }

  /// An optional boolean field (absent or null: `defaultValue`).
  func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
    if isAbsent(key) { return defaultValue }
    guard let b = JSONValue.bool(json[key]!) else { throw error("\"\(key)\" is not a boolean") }
    return b
  }

  /// An optional non-negative integer field (absent or null: nil).
  func nonNegativeInt(_ key: String) throws -> Int? {
    if isAbsent(key) { return nil }
    guard let n = JSONValue.integer(json[key]!), n >= 0 else {
      throw error("\"\(key)\" is not a non-negative integer")
    }
    return n
  }

  /// The `vocab` object (token → id) of WordPiece and BPE: the token of every id (nil for
  /// ids no token has) and a scalar-exact trie of the tokens. Ids must be distinct integers in
  /// `0 ..< max(2 · entries, entries + 65536)`, so that the id table stays proportional to the
  /// input.
  func dictionaryVocabulary() throws -> (tokens: [String?], trie: ScalarTrie) {
    guard let raw = json["vocab"] else { throw error("no \"vocab\"") }
    guard let vocab = raw as? [String: Any] else { throw error("\"vocab\" is not an object of token → id") }
    let entries: [(token: String, id: Any)] =
      exactVocabulary?.map { ($0.token, $0.id as Any) } ?? vocab.map { ($0.key, $0.value) }
    if entries.isEmpty { throw error("\"vocab\" is empty") }
    if entries.count > Self.maxEntries {
      throw error("\"vocab\" has \(entries.count) entries, more than the \(Self.maxEntries) accepted")
    }
    let bound = max(2 * entries.count, entries.count + 65536)
    var ids: [(String, Int)] = []
    ids.reserveCapacity(entries.count)
    var largest = -1
    for (token, value) in entries {
      guard let id = exactVocabulary != nil ? value as? Int : JSONValue.integer(value) else {
        throw error("the id of \(quoted(token)) is not an integer")
      }
      guard id >= 0, id < bound else {
        throw error("the id \(id) of \(quoted(token)) is out of range (0 ..< \(bound) for \(entries.count) entries)")
      }
      largest = max(largest, id)
      ids.append((token, id))
    }
    var tokens = [String?](repeating: nil, count: largest + 1)
    var builder = ScalarTrieBuilder()
    for (token, id) in ids {
      if let other = tokens[id] {
        throw error("tokens \(quoted(other)) and \(quoted(token)) share the id \(id)")
      }
      tokens[id] = token
      builder.insert(token.unicodeScalars, value: Int32(id))
    }
    return (tokens, builder.build())
  }
}

/// `s` in double quotes, shortened to 40 scalars, control and format characters escaped
/// (``printable(_:limit:)``), for error messages.
func quoted(_ s: String) -> String { "\"\(printable(s, limit: 40))\"" }

/// The vocabulary ids of the byte tokens `<0x00>` … `<0xFF>` (-1 where absent).
func byteTokenIDs(_ lookup: (String) -> Int32?) -> [Int32] {
  let hex = Array("0123456789ABCDEF")
  return (0..<256).map { b in
    lookup("<0x\(hex[b >> 4])\(hex[b & 15])>") ?? -1
  }
}
