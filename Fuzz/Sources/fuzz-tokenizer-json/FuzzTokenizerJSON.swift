import BertScope
import Foundation
import FuzzSupport

/// `PipelineTokenizer(json:path:config:maxPositions:)` on arbitrary bytes (byte 0: the maximum
/// length to encode with, 0 for the default; byte 1: bit 0 refuses over-long inputs instead of
/// truncating). An accepted pipeline then encodes fixed texts, the file's own text and a pair.
let texts = [
  "Hello, world! [CLS] [SEP] [MASK] <s> </s> <mask> <unk>",
  "café cafe\u{301} ﬁne ½ İstanbul ΣΟΦΙΑ 日本語 한국어 😀👍🏽 \u{200B}\u{FEFF}\u{0000}\t\n  end",
  "",
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerJSON(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
  var input = ByteReader(Fuzz.data(start, count))
  let length = Int(input.byte())
  let refuse = input.byte() & 1 == 1
  let json = input.rest
  guard
    let tokenizer = Fuzz.expectTypedError({
      try PipelineTokenizer(json: json, path: "tokenizer.json", config: nil, maxPositions: 64)
    })
  else { return 0 }
  Fuzz.check(tokenizer.maxLength == 64, "maxLength \(tokenizer.maxLength) without a config")
  let own = String(decoding: json.prefix(512), as: UTF8.self)
  for (text, pair) in [(texts[0], nil), (texts[1], texts[0]), (own, nil), (texts[2], own), (own, "a")] {
    let limit = length == 0 ? tokenizer.maxLength : length
    guard
      let e = Fuzz.expectTypedError({
        try tokenizer.encode(text, pair: pair, maxLength: length == 0 ? nil : length, truncate: !refuse)
      })
    else { continue }
    check(e, tokenizer: tokenizer, text: text, pair: pair, limit: limit)
  }
  let pieces = tokenizer.pieces(own)
  for p in pieces {
    Fuzz.check(p.id >= 0 && Int(p.id) < tokenizer.vocabulary.count, "piece id \(p.id) out of range")
    Fuzz.check(p.offsets.lowerBound >= 0 && p.offsets.upperBound <= Fuzz.scalarCount(own), "piece offsets \(p.offsets)")
  }
  _ = tokenizer.description
  return 0
}

/// The invariants of an encoding: parallel arrays, ids in the vocabulary, offsets inside their
/// text, segments 0 or 1 only with a pair, truncation within the limit.
func check(_ e: Encoding, tokenizer: PipelineTokenizer, text: String, pair: String?, limit: Int) {
  let n = e.count
  Fuzz.check(e.tokens.count == n && e.segments.count == n && e.offsets.count == n, "array lengths differ")
  let lengths = [Fuzz.scalarCount(text), pair.map(Fuzz.scalarCount) ?? 0]
  for i in 0..<n {
    let id = e.ids[i]
    Fuzz.check(id >= 0 && Int(id) < tokenizer.vocabulary.count, "id \(id) at \(i) out of range")
    Fuzz.check(e.segments[i] >= 0, "negative segment at \(i)")
    if let range = e.offsets[i] {
      let bound = max(lengths[0], lengths[1])
      Fuzz.check(range.lowerBound >= 0 && range.upperBound <= bound, "offsets \(range) outside the texts")
    }
  }
  if e.truncatedTokens > 0 {
    Fuzz.check(n <= limit, "truncated to \(n) tokens, over the limit \(limit)")
  }
}
