import BertScope
import Foundation
import FuzzSupport

/// `BertTokenizer.encode(_:pair:maxLength:truncate:)` and `wordPieces(_:)` on arbitrary
/// bytes with the real 30,522-token vocabulary (Tests/Fixtures/tokenizer/vocab.txt).
///
/// Input: byte 0 picks the options (lower-casing, accent stripping, CJK spacing, special
/// tokens recognised or not), byte 1 the length limit (0 = the default 512), byte 2 whether
/// there is a pair, whether to truncate and how invalid UTF-8 is handled (replaced by U+FFFD,
/// or the input skipped as a reader that validates would), byte 3 where the pair splits;
/// the rest is the text. Checks `Fuzz.checkEncoding`'s invariants, that `encode` without
/// truncation holds exactly the word pieces, and that `--no-truncate` refuses only over-long inputs.
let vocabulary = Fuzz.load("the real vocabulary") {
  try Vocabulary(contentsOf: Fuzz.fixture("Tests/Fixtures/tokenizer/vocab.txt"))
}

let tokenizers: [BertTokenizer] = Fuzz.load("tokenizers") {
  var out: [BertTokenizer] = []
  for lowercase in [true, false] {
    for strip: Bool? in [nil, true, false] {
      for cjk in [true, false] {
        var options = TokenizerOptions()
        options.lowercase = lowercase
        options.stripAccents = strip
        options.tokenizeChineseChars = cjk
        out.append(try BertTokenizer(vocabulary: vocabulary, options: options))
      }
    }
  }
  return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
  var input = ByteReader(Fuzz.data(start, count))
  let choice = input.byte()
  var tokenizer = tokenizers[Int(choice & 0x7F) % tokenizers.count]
  tokenizer.recognizesSpecialTokens = choice & 0x80 == 0
  let lengthByte = input.byte()
  let limit = lengthByte == 0 ? tokenizer.options.maxLength : Int(lengthByte)
  let flags = input.byte()
  let hasPair = flags & 1 != 0
  let truncate = flags & 2 == 0
  let (a, b) = input.split(at: input.byte())
  let textBytes = hasPair ? a : input.rest
  func decode(_ bytes: Data) -> String? {
    flags & 4 == 0 ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self)
  }
  guard let text = decode(textBytes) else { return 0 }
  var pair: String? = nil
  if hasPair {
    guard let p = decode(b) else { return 0 }
    pair = p
  }

  let firstPieces = tokenizer.wordPieces(text)
  Fuzz.checkPieces(firstPieces, tokenizer: tokenizer, text: text)
  var secondPieces: [WordPiece] = []
  if let pair {
    secondPieces = tokenizer.wordPieces(pair)
    Fuzz.checkPieces(secondPieces, tokenizer: tokenizer, text: pair)
  }
  let specials = hasPair ? 3 : 2
  let needed = firstPieces.count + secondPieces.count + specials
  do {
    let e = try tokenizer.encode(text, pair: pair, maxLength: limit, truncate: truncate)
    Fuzz.check(limit >= specials, "encoded with a limit of \(limit) below the \(specials) specials")
    Fuzz.check(truncate || needed <= limit, "--no-truncate accepted \(needed) tokens over \(limit)")
    Fuzz.checkEncoding(
      e, tokenizer: tokenizer, text: text, pair: pair, limit: limit, pieces: (firstPieces.count, secondPieces.count))
    if e.truncatedTokens == 0 {
      let firstEnd = 1 + firstPieces.count
      Fuzz.check(Array(e.ids[1..<firstEnd]) == firstPieces.map(\.id), "encode and wordPieces disagree on the text")
      Fuzz.check(e.offsets[1..<firstEnd].map { $0! } == firstPieces.map(\.offsets), "offsets disagree with wordPieces")
      if hasPair {
        Fuzz.check(
          Array(e.ids[(firstEnd + 1)..<(e.count - 1)]) == secondPieces.map(\.id),
          "encode and wordPieces disagree on the pair")
      }
    }
  } catch BertScopeError.sequenceTooLong(let length, let maximum) {
    Fuzz.check(
      !truncate && length == needed && maximum == limit && needed > limit,
      "sequenceTooLong(\(length), \(maximum)) for \(needed) tokens, limit \(limit)")
  } catch BertScopeError.invalidInput {
    Fuzz.check(limit < specials, "invalidInput with a limit of \(limit)")
  } catch {
    Fuzz.fail("unexpected error \(error)")
  }
  return 0
}
