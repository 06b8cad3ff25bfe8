import Foundation

/// One value of a parsed `tokenizer.json` with where it is (`normalizer.normalizers[2]`), so
/// that every wrong type or unsupported value becomes a `badModelFile` error naming the file
/// and the JSON path.
struct JSONNode {
  /// The value as `JSONSerialization` gives it.
  let value: Any
  /// Where it is in the document (`""` for the root).
  let path: String
  /// The file, for error messages.
  let file: String

  /// The deepest nesting of arrays and objects accepted (real files nest under 10 deep).
  static let maxDepth = 512

  /// Parses `data` as a JSON document after checking its nesting depth on the raw bytes, so
  /// that a hostile file of 100,000 nested arrays is refused instead of exhausting the stack.
  static func parse(_ data: Data, file: String) throws -> JSONNode {
    try checkDepth(data, file: file)
    let object: Any
    do {
      object = try JSONSerialization.jsonObject(with: escapingByteOrderMarks(data), options: [.fragmentsAllowed])
    } catch {
      throw BertScopeError.badModelFile(path: file, problem: "not valid JSON")
    }
    return JSONNode(value: object, path: "", file: file)
  }

  /// `data` with every U+FEFF after the first byte written as the escape `\\ufeff`:
  /// `JSONSerialization` silently drops raw byte-order marks even inside strings (a vocabulary
  /// token holding one would lose it). A leading one is dropped, as a byte-order mark.
  static func escapingByteOrderMarks(_ data: Data) -> Data {
    let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
    var bytes = [UInt8](data)
    if bytes.starts(with: bom) { bytes.removeFirst(3) }
    guard bytes.firstRange(of: bom) != nil else { return Data(bytes) }
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count + 64)
    var i = 0
    while i < bytes.count {
      if bytes[i] == 0xEF && i + 2 < bytes.count && bytes[i + 1] == 0xBB && bytes[i + 2] == 0xBF {
        out.append(contentsOf: Array("\\ufeff".utf8))
        i += 3
      } else {
        out.append(bytes[i])
        i += 1
      }
    }
    return Data(out)
  }

  /// Refuses documents nested deeper than ``maxDepth`` (brackets inside strings do not count).
  static func checkDepth(_ data: Data, file: String) throws {
    var depth = 0
    var inString = false
    var escaped = false
    for byte in data {
      if inString {
        if escaped {
          escaped = false
        } else if byte == UInt8(ascii: "\\") {
          escaped = true
        } else if byte == UInt8(ascii: "\"") {
          inString = false
        }
        continue
      }
      switch byte {
      case UInt8(ascii: "\""): inString = true
      case UInt8(ascii: "["), UInt8(ascii: "{"):
        depth += 1
        if depth > maxDepth {
          throw BertScopeError.badModelFile(
            path: file, problem: "JSON nested more than \(maxDepth) levels deep")
        }
      case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
      default: break
      }
    }
  }

  /// An error about this value.
  func error(_ problem: String) -> BertScopeError {
    .badModelFile(path: file, problem: path.isEmpty ? problem : "\(path): \(problem)")
  }

  /// True for JSON `null`.
  var isNull: Bool { value is NSNull }

  /// The member `key` of this object; nil when absent or `null`.
  func member(_ key: String) throws -> JSONNode? {
    guard let raw = try object()[key], !(raw is NSNull) else { return nil }
    return JSONNode(value: raw, path: path.isEmpty ? key : "\(path).\(key)", file: file)
  }

  /// The member `key`, which must be present and not `null`.
  func required(_ key: String) throws -> JSONNode {
    guard let node = try member(key) else {
      throw error("\"\(key)\" is missing")
    }
    return node
  }

  /// This value as an object.
  func object() throws -> [String: Any] {
    guard let dict = value as? [String: Any] else { throw error("expected a JSON object") }
    return dict
  }

  /// This value as an array of nodes.
  func array() throws -> [JSONNode] {
    guard let items = value as? [Any] else { throw error("expected a JSON array") }
    return items.enumerated().map { JSONNode(value: $1, path: "\(path)[\($0)]", file: file) }
  }

  /// This value as a string.
  func string() throws -> String {
    guard let s = value as? String else { throw error("expected a string") }
    return s
  }

  /// This value as a boolean.
  func bool() throws -> Bool {
    guard let b = JSONValue.bool(value) else { throw error("expected true or false") }
    return b
  }

  /// This value as an integer within `range`.
  func integer(in range: ClosedRange<Int> = 0...Int(Int32.max)) throws -> Int {
    guard let n = JSONValue.integer(value) else { throw error("expected an integer") }
    guard range.contains(n) else { throw error("\(n) is out of range \(range.lowerBound)...\(range.upperBound)") }
    return n
  }

  /// The string member `key`, or `fallback` when absent.
  func string(_ key: String, default fallback: String) throws -> String {
    try member(key)?.string() ?? fallback
  }

  /// The boolean member `key`, or `fallback` when absent.
  func bool(_ key: String, default fallback: Bool) throws -> Bool {
    try member(key)?.bool() ?? fallback
  }

  /// The `"type"` of this component object.
  func type() throws -> String {
    try required("type").string()
  }

  /// The error for a component `"type"` that is not supported.
  func unsupported(_ kind: String, _ type: String, supported: [String]) -> BertScopeError {
    error("unsupported \(kind) type \"\(printable(type))\" (supported: \(supported.joined(separator: ", ")))")
  }
}
