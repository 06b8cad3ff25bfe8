import Foundation

/// A WordPiece vocabulary: `vocab.txt`, one token per line, id = line number.
public struct Vocabulary: Sendable, Equatable {
  /// Tokens by id.
  public let tokens: [String]
  /// Keyed by exact scalars, like Python's `dict`: Swift's `String` equality is canonical
  /// equivalence, under which "é" (U+00E9) and "e\u{301}" would be one token.
  let ids: [ExactString: Int32]

  /// Number of tokens; valid ids are `0..<count`.
  public var count: Int { tokens.count }

  /// Builds a vocabulary from tokens in id order. Duplicates and empty lists are errors.
  public init(tokens: [String], path: String = "vocab.txt") throws {
    guard !tokens.isEmpty else {
      throw BertScopeError.badModelFile(path: path, problem: "the vocabulary is empty")
    }
    guard tokens.count < Int(Int32.max) else {
      throw BertScopeError.badModelFile(path: path, problem: "the vocabulary has too many entries")
    }
    var ids: [ExactString: Int32] = [:]
    ids.reserveCapacity(tokens.count)
    for (index, token) in tokens.enumerated() {
      if let first = ids[ExactString(token)] {
        throw BertScopeError.badModelFile(
          path: path, problem: "token \"\(printable(token))\" appears twice (lines \(first + 1) and \(index + 1))")
      }
      ids[ExactString(token)] = Int32(index)
    }
    self.tokens = tokens
    self.ids = ids
  }

  /// Reads `vocab.txt` (UTF-8, `\n` or `\r\n` line ends; a final empty line is ignored).
  public init(contentsOf url: URL) throws {
    let data = try ModelFile.read(
      url, limit: ModelFile.maxVocabularyBytes, hint: "a BERT model folder holds vocab.txt")!
    try self.init(data: data, path: url.path)
  }

  /// Parses the bytes of a `vocab.txt`; `path` is only used in error messages.
  public init(data: Data, path: String = "vocab.txt") throws {
    // Lines are split on bytes: as Characters, "\r\n" is one grapheme that is not "\n".
    var lines: [String] = []
    var lineStart = data.startIndex
    var index = data.startIndex
    while index < data.endIndex {
      if data[index] == 0x0A {
        lines.append(try Self.line(data[lineStart..<index], number: lines.count + 1, path: path))
        lineStart = index + 1
      }
      index += 1
    }
    if lineStart < data.endIndex {
      lines.append(try Self.line(data[lineStart..<data.endIndex], number: lines.count + 1, path: path))
    }
    try self.init(tokens: lines, path: path)
  }

  private static func line(_ bytes: Data, number: Int, path: String) throws -> String {
    let content = bytes.last == 0x0D ? bytes.dropLast() : bytes
    guard let text = String(validating: content, as: UTF8.self) else {
      throw BertScopeError.badModelFile(path: path, problem: "line \(number) is not valid UTF-8")
    }
    return text
  }

  /// The id of `token`, or nil.
  public func id(_ token: String) -> Int32? { ids[ExactString(token)] }

  /// The token for `id`, or `"[id]"` for ids outside the vocabulary.
  public func token(_ id: Int32) -> String {
    (id >= 0 && Int(id) < tokens.count) ? tokens[Int(id)] : "[\(id)]"
  }

  /// True when `token` is in the vocabulary.
  public func contains(_ token: String) -> Bool { ids[ExactString(token)] != nil }
}

/// A string compared and hashed by its exact Unicode scalars (UTF-8 bytes), not by canonical
/// equivalence as `String` is.
struct ExactString: Hashable, Sendable {
  let value: String
  init(_ value: String) { self.value = value }
  static func == (a: ExactString, b: ExactString) -> Bool { a.value.utf8.elementsEqual(b.value.utf8) }
  func hash(into hasher: inout Hasher) {
    var copy = value
    copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
  }
}
