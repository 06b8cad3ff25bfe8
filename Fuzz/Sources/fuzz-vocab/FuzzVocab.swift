import BertScope
import Foundation
import FuzzSupport

/// `Vocabulary(data:path:)` on arbitrary bytes, checked against a byte-level reading of the
/// same file: one token per `\n`-terminated line (a final `\r` dropped, a final empty line
/// ignored), ids by line, duplicates only when two lines are byte-identical. An accepted
/// vocabulary with the four specials then builds a tokenizer (the WordPiece trie) that must
/// tokenize the file's own text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVocab(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
  let data = Fuzz.data(start, count)
  var lines: [[UInt8]] = []
  var line: [UInt8] = []
  for b in data {
    if b == 0x0A {
      lines.append(line.last == 0x0D ? Array(line.dropLast()) : line)
      line = []
    } else {
      line.append(b)
    }
  }
  if !line.isEmpty { lines.append(line.last == 0x0D ? Array(line.dropLast()) : line) }
  let valid = lines.allSatisfy { String(validating: $0, as: UTF8.self) != nil }
  let unique = Set(lines).count == lines.count

  guard let vocabulary = Fuzz.expectTypedError({ try Vocabulary(data: data, path: "vocab.txt") }) else {
    Fuzz.check(lines.isEmpty || !valid || !unique, "rejected \(lines.count) valid, distinct lines")
    return 0
  }
  Fuzz.check(valid && unique && !lines.isEmpty, "accepted a vocabulary that is empty, not UTF-8 or has duplicates")
  Fuzz.check(vocabulary.count == lines.count, "\(vocabulary.count) tokens for \(lines.count) lines")
  for (i, token) in vocabulary.tokens.enumerated() {
    Fuzz.check(Array(token.utf8) == lines[i], "token \(i) differs from line \(i + 1)")
    Fuzz.check(
      vocabulary.id(token) == Int32(i),
      "id(\(token.debugDescription)) is \(String(describing: vocabulary.id(token))), not \(i)")
  }
  guard let tokenizer = try? BertTokenizer(vocabulary: vocabulary) else { return 0 }
  let text = String(decoding: data, as: UTF8.self)
  Fuzz.checkPieces(tokenizer.wordPieces(text), tokenizer: tokenizer, text: text)
  if let e = Fuzz.expectTypedError({ try tokenizer.encode(text, maxLength: 64) }) {
    Fuzz.checkEncoding(e, tokenizer: tokenizer, text: text, pair: nil, limit: 64)
  }
  return 0
}
