import Foundation

/// A WordPiece vocabulary: `vocab.txt`, one token per line, id = line number.
public struct Vocabulary: Sendable, Equatable {
  /// Tokens by id.
  public let tokens: [String]
  let ids: [String: Int32]

  public var count: Int { tokens.count }

  /// Builds a vocabulary from tokens in id order. Duplicates and empty lists are errors.
  public init(tokens: [String], path: String = "vocab.txt") throws {
    guard !tokens.isEmpty else {
      throw BertScopeError.badModelFile(path: path, problem: "the vocabulary is empty")
    }
    guard tokens.count < Int(Int32.max) else {
      throw BertScopeError.badModelFile(path: path, problem: "the vocabulary has too many entries")
    }
    var ids: [String: Int32] = [:]
    ids.reserveCapacity(tokens.count)
    for (index, token) in tokens.enumerated() {
      if let first = ids[token] {
        throw BertScopeError.badModelFile(
          path: path, problem: "token \"\(token)\" appears twice (lines \(first + 1) and \(index + 1))")
      }
      ids[token] = Int32(index)
    }
    self.tokens = tokens
    self.ids = ids
  }

  /// Reads `vocab.txt` (UTF-8, `\n` or `\r\n` line ends; a final empty line is ignored).
  public init(contentsOf url: URL) throws {
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw BertScopeError.modelNotFound(path: url.path, hint: "a BERT model folder holds vocab.txt")
    }
    guard let text = String(validatingUTF8Data: data) else {
      throw BertScopeError.badModelFile(path: url.path, problem: "not valid UTF-8")
    }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
      line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
    }
    if lines.last == "" { lines.removeLast() }
    try self.init(tokens: lines, path: url.path)
  }

  /// The id of `token`, or nil.
  public func id(_ token: String) -> Int32? { ids[token] }

  /// The token for `id`, or `"[id]"` for ids outside the vocabulary.
  public func token(_ id: Int32) -> String {
    (id >= 0 && Int(id) < tokens.count) ? tokens[Int(id)] : "[\(id)]"
  }

  /// True when `token` is in the vocabulary.
  public func contains(_ token: String) -> Bool { ids[token] != nil }
}

extension String {
  /// Decodes UTF-8, returning nil (not replacement characters) on invalid input.
  init?(validatingUTF8Data data: Data) {
    guard let text = String(validating: data, as: UTF8.self) else { return nil }
    self = text
  }
}
