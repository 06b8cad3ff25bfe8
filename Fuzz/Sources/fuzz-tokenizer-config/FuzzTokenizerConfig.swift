import BertScope
import Foundation
import FuzzSupport

/// `TokenizerOptions(json:path:maxPositions:)` on arbitrary bytes (first byte: the model's
/// position count). Accepted options then build a tokenizer over the tiny vocabulary, with
/// whatever special tokens the file names, and tokenize the file's own text.
let vocabulary = Fuzz.load("the tiny vocabulary") {
  try Vocabulary(contentsOf: Fuzz.fixture("Tests/Fixtures/tiny-bert/vocab.txt"))
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerConfig(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
  var input = ByteReader(Fuzz.data(start, count))
  let maxPositions = Int(input.byte()) + 1
  guard let options = Fuzz.expectTypedError({ try TokenizerOptions(json: input.rest, maxPositions: maxPositions) })
  else { return 0 }
  Fuzz.check(
    options.maxLength >= 1 && options.maxLength <= maxPositions,
    "maxLength \(options.maxLength) for \(maxPositions) positions")
  guard let tokenizer = Fuzz.expectTypedError({ try BertTokenizer(vocabulary: vocabulary, options: options) }) else {
    return 0
  }
  let text = String(decoding: input.rest, as: UTF8.self)
  if let e = Fuzz.expectTypedError({ try tokenizer.encode(text, pair: "w1 [SEP] w2") }) {
    Fuzz.checkEncoding(e, tokenizer: tokenizer, text: text, pair: "w1 [SEP] w2", limit: options.maxLength)
  } else {
    Fuzz.check(options.maxLength < 3, "encode failed with maxLength \(options.maxLength)")
  }
  return 0
}
