import BertScope
import Foundation

/// One word of a CoNLL-U sentence (Universal Dependencies; what spaCy, Stanza and UDPipe
/// write): the columns the linguistic analyses read.
public struct CoNLLUWord: Sendable, Equatable, Codable {
  /// FORM, as written.
  public var form: String
  /// UPOS (`NOUN`, `VERB`, …), `_` when not given.
  public var upos: String
  /// HEAD: 0 for the root, 1…n for another word of the sentence, nil for `_`.
  public var head: Int?
  /// DEPREL as written (`nsubj`, `obl:tmod`, `dobj`, …), nil for `_`.
  public var deprel: String?

  public init(form: String, upos: String = "_", head: Int? = nil, deprel: String? = nil) {
    self.form = form
    self.upos = upos
    self.head = head
    self.deprel = deprel
  }
}

/// A CoNLL-U sentence: its words (integer IDs 1…n, in order) and where it lies in the file.
public struct CoNLLUSentence: Sendable, Equatable {
  /// Word `i` (from 1) is `words[i - 1]`.
  public var words: [CoNLLUWord]
  /// The line of its first word (errors and notes name it).
  public var line: Int

  public init(words: [CoNLLUWord], line: Int) {
    self.words = words
    self.line = line
  }
}

/// Reads the sentences of a CoNLL-U file one at a time (constant memory): comment lines
/// (`#`) skipped, word lines with an integer ID kept, multiword-token ranges (`1-2`) and empty
/// nodes (`1.1`) skipped; a blank line or the end of the file ends a sentence, and a sentence
/// with no words is none. A line that is not CoNLL-U (not 10 TAB-separated fields, an ID out of
/// sequence, a HEAD that is not a word of the sentence) is an error naming the file and line.
public final class CoNLLUSentences: CorpusUnits {
  public let reader: CorpusReader
  public var unitName: String { "sentences" }

  public init(_ reader: CorpusReader) { self.reader = reader }

  public func nextUnit() throws -> CorpusUnit<CoNLLUSentence>? {
    var words: [CoNLLUWord] = []
    var first = 0
    var last = reader.linesRead
    while let line = try reader.nextLine() {
      last = line.number
      let fields = line.fields
      if fields.allSatisfy({ $0.allSatisfy { $0 == " " || $0 == "\r" } }) {
        if words.isEmpty { continue }
        break
      }
      if fields[0].hasPrefix("#") { continue }
      guard let word = try Self.word(fields, expected: words.count + 1, where: "\(reader.path):\(line.number)") else {
        continue
      }
      if words.isEmpty { first = line.number }
      words.append(word)
    }
    guard !words.isEmpty else { return nil }
    for (i, w) in words.enumerated() {
      if let h = w.head, h > words.count {
        throw BertScopeError.invalidInput(
          "\(reader.path):\(first + i): HEAD \(h) is not a word of the sentence (it has \(words.count) words; lines of ranges, empty nodes and comments in between shift this number)"
        )
      }
    }
    return CorpusUnit(CoNLLUSentence(words: words, line: first), lastLine: last, shardKey: nil)
  }

  /// The word of one line's fields, nil for a range or an empty node; `expected` is the ID the
  /// next word must have.
  static func word(_ fields: [String], expected: Int, where location: String) throws -> CoNLLUWord? {
    guard fields.count == 10 else {
      throw BertScopeError.invalidInput(
        "\(location): a CoNLL-U word line has 10 TAB-separated fields (ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC), this one has \(fields.count)"
      )
    }
    let id = fields[0]
    func isNumber(_ s: Substring) -> Bool { !s.isEmpty && s.allSatisfy(\.isASCII) && s.allSatisfy(\.isNumber) }
    if id.contains("-") || id.contains(".") {
      let parts = id.split(separator: id.contains("-") ? "-" : ".", omittingEmptySubsequences: false)
      guard parts.count == 2, parts.allSatisfy(isNumber) else {
        throw BertScopeError.invalidInput(
          "\(location): ID \"\(printable(id))\" is not a word, a range 1-2 or an empty node 1.1")
      }
      return nil
    }
    guard isNumber(Substring(id)), let n = Int(id) else {
      throw BertScopeError.invalidInput(
        "\(location): ID \"\(printable(id))\" is not a word, a range 1-2 or an empty node 1.1")
    }
    guard n == expected else {
      throw BertScopeError.invalidInput(
        "\(location): word ID \(n) out of order (expected \(expected); a blank line must end each sentence)")
    }
    guard !fields[1].isEmpty else { throw BertScopeError.invalidInput("\(location): empty FORM") }
    var head: Int?
    if fields[6] != "_" {
      guard isNumber(Substring(fields[6])), let h = Int(fields[6]) else {
        throw BertScopeError.invalidInput("\(location): HEAD \"\(printable(fields[6]))\" is not a word number or _")
      }
      guard h != n else { throw BertScopeError.invalidInput("\(location): word \(n) is its own HEAD") }
      head = h
    }
    let deprel = fields[7].isEmpty || fields[7] == "_" ? nil : fields[7]
    return CoNLLUWord(form: fields[1], upos: fields[3], head: head, deprel: deprel)
  }
}
