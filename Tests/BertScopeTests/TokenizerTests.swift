import Foundation
import Testing

@testable import BertScope

@Suite("Tokenizer pieces")
struct TokenizerTests {
  private func tokens(_ tokenizer: BertTokenizer, _ text: String) -> [String] {
    tokenizer.wordPieces(text).map(\.token)
  }

  private func offsets(_ tokenizer: BertTokenizer, _ text: String) -> [Range<Int>] {
    tokenizer.wordPieces(text).map(\.offsets)
  }

  @Test("splits off every punctuation character, ASCII symbols included")
  func punctuation() throws {
    let tokenizer = try TokenizerFixtures.tiny(["hello", "world", ",", "!", "$", "^", "`", "¿", "«", "»", "a", "b"])
    #expect(tokens(tokenizer, "Hello, world!") == ["hello", ",", "world", "!"])
    #expect(tokens(tokenizer, "a$b^a`b") == ["a", "$", "b", "^", "a", "`", "b"])
    #expect(tokens(tokenizer, "¿«hello»") == ["¿", "«", "hello", "»"])
    #expect(offsets(tokenizer, "Hello, world!") == [0..<5, 5..<6, 7..<12, 12..<13])
  }

  @Test("puts CJK ideographs in words of their own, but not kana or hangul")
  func cjkSpacing() throws {
    let tokenizer = try TokenizerFixtures.tiny(["abc", "def", "中", "文", "かな"])
    #expect(tokens(tokenizer, "abc中def") == ["abc", "中", "def"])
    #expect(tokens(tokenizer, "中文かな") == ["中", "文", "かな"])
    #expect(offsets(tokenizer, "abc中def") == [0..<3, 3..<4, 4..<7])
    var options = TokenizerOptions()
    options.tokenizeChineseChars = false
    let whole = try TokenizerFixtures.tiny(["abc", "abc中def"], options: options)
    #expect(tokens(whole, "abc中def") == ["abc中def"])
  }

  @Test("lower-cases and strips accents, keeping each scalar's source offsets")
  func accents() throws {
    let tokenizer = try TokenizerFixtures.miniLM()
    let pieces = tokenizer.wordPieces("Ångström café")
    #expect(pieces.map(\.token) == ["ang", "##strom", "cafe"])
    #expect(pieces.map(\.offsets) == [0..<3, 3..<8, 9..<13])
    // Decomposed input: the combining acute is dropped, so the word ends before it.
    #expect(offsets(tokenizer, "cafe\u{301} x") == [0..<4, 6..<7])
    // Python's lower() of İ is i + U+0307; the mark is then stripped.
    #expect(tokenizer.wordPieces("İstanbul").map(\.offsets) == [0..<8])
    // Hangul syllables decompose into jamo, each piece pointing at its syllable.
    #expect(tokens(tokenizer, "한국") == ["ᄒ", "##ᅡ", "##ᆫ", "##ᄀ", "##ᅮ", "##ᆨ"])
    #expect(offsets(tokenizer, "한국") == [0..<1, 0..<1, 0..<1, 1..<2, 1..<2, 1..<2])
  }

  @Test("Greek capital sigma lower-cases to final ς at the end of a word, like Python")
  func finalSigma() throws {
    let tokenizer = try TokenizerFixtures.miniLM()
    let pieces = tokenizer.wordPieces("ΟΔΟΣ")
    #expect(pieces.map(\.token) == ["ο", "##δ", "##ος"])
    #expect(pieces.map(\.offsets) == [0..<1, 1..<2, 2..<4])
    #expect(tokens(tokenizer, "ΣΑ") == tokens(tokenizer, "σα"))
  }

  @Test("keeps accents and composes to NFC when strip_accents is false")
  func keepAccents() throws {
    var cased = TokenizerOptions()
    cased.lowercase = false
    let tokenizer = try TokenizerFixtures.tiny(["Café", "Å", "x", "`", "y"], options: cased)
    let pieces = tokenizer.wordPieces("Cafe\u{301} \u{212B} x\u{1FEF}y")
    #expect(pieces.map(\.token) == ["Café", "Å", "x", "`", "y"])
    #expect(pieces.map(\.offsets) == [0..<5, 6..<7, 8..<9, 9..<10, 10..<11])

    var lowerOnly = TokenizerOptions()
    lowerOnly.stripAccents = false
    let lower = try TokenizerFixtures.tiny(["café", "οδος", "ångström"], options: lowerOnly)
    #expect(tokens(lower, "Cafe\u{301} ΟΔΟΣ Ångström") == ["café", "οδος", "ångström"])

    var stripOnly = TokenizerOptions()
    stripOnly.lowercase = false
    stripOnly.stripAccents = true
    let strip = try TokenizerFixtures.tiny(["Cafe", "ΟΔΟΣ", "Angstrom"], options: stripOnly)
    #expect(tokens(strip, "Cafe\u{301} ΟΔΟΣ Ångström") == ["Cafe", "ΟΔΟΣ", "Angstrom"])
  }

  @Test("drops control, format and unassigned characters; maps whitespace to separators")
  func cleaning() throws {
    let tokenizer = try TokenizerFixtures.tiny(["ab", "cd", "x"])
    #expect(tokens(tokenizer, "a\u{0}b\u{200B}\u{FEFF}\u{AD}\u{7F}\u{FFFD}\u{E000}") == ["ab"])
    #expect(offsets(tokenizer, "a\u{200B}b") == [0..<3])
    #expect(
      tokens(tokenizer, "ab\tcd\nab\rcd\u{A0}ab\u{3000}cd\u{2028}x") == ["ab", "cd", "ab", "cd", "ab", "cd", "x"])
    // U+1FAE8 (Unicode 15.0) is unassigned to Python 3.11, hence dropped.
    #expect(tokens(tokenizer, "x\u{1FAE8}") == ["x"])
  }

  @Test("greedy longest match with ## continuations, [UNK] for unsplittable words")
  func wordPiece() throws {
    let tokenizer = try TokenizerFixtures.tiny(["un", "unaff", "##aff", "##able", "##ab", "a", "##a"])
    #expect(tokens(tokenizer, "unaffable") == ["unaff", "##able"])
    #expect(offsets(tokenizer, "unaffable") == [0..<5, 5..<9])
    #expect(tokens(tokenizer, "unaffablez un") == ["[UNK]", "un"])
    #expect(offsets(tokenizer, "unaffablez un") == [0..<10, 11..<13])
  }

  @Test("a word over 100 scalars is [UNK]; 100 is not")
  func longWords() throws {
    let tokenizer = try TokenizerFixtures.tiny(["a", "##a"])
    #expect(tokens(tokenizer, String(repeating: "a", count: 100)) == ["a"] + Array(repeating: "##a", count: 99))
    #expect(tokens(tokenizer, String(repeating: "a", count: 101)) == ["[UNK]"])
    #expect(offsets(tokenizer, "x " + String(repeating: "a", count: 101)) == [0..<1, 2..<103])
    // Counted after normalisation: stripped accents do not count, and they are not graphemes.
    #expect(tokens(tokenizer, String(repeating: "a\u{301}", count: 100)).count == 100)
  }

  @Test("keeps special tokens written in the text whole, unless told not to")
  func specialTokensInText() throws {
    var tokenizer = try TokenizerFixtures.tiny(["x", "[", "]", "mask"])
    #expect(tokens(tokenizer, "x[MASK] [SEP]x") == ["x", "[MASK]", "[SEP]", "x"])
    #expect(offsets(tokenizer, "x[MASK] [SEP]x") == [0..<1, 1..<7, 8..<13, 13..<14])
    #expect(tokens(tokenizer, "[mask]") == ["[", "mask", "]"])
    tokenizer.recognizesSpecialTokens = false
    #expect(tokens(tokenizer, "[MASK]") == ["[", "mask", "]"])
  }

  @Test("encodes [CLS] A [SEP] B [SEP] with segments 0/1 and nil offsets for the specials")
  func pairs() throws {
    let tokenizer = try TokenizerFixtures.tiny(["a", "b", "c"])
    let encoding = try tokenizer.encode("a b", pair: "c")
    #expect(encoding.tokens == ["[CLS]", "a", "b", "[SEP]", "c", "[SEP]"])
    #expect(encoding.ids == [2, 5, 6, 3, 7, 3])
    #expect(encoding.segments == [0, 0, 0, 0, 1, 1])
    #expect(encoding.offsets == [nil, 0..<1, 2..<3, nil, 0..<1, nil])
    #expect(encoding.truncatedTokens == 0)
    #expect(try tokenizer.encode("").tokens == ["[CLS]", "[SEP]"])
    #expect(try tokenizer.encode(" \t\n").tokens == ["[CLS]", "[SEP]"])
    #expect(try tokenizer.encode("\u{0}\u{200B}\u{FEFF}").tokens == ["[CLS]", "[SEP]"])
    // An empty second text is still a pair (the slow Hugging Face tokenizer's behaviour).
    #expect(try tokenizer.encode("a", pair: "").tokens == ["[CLS]", "a", "[SEP]", "[SEP]"])
  }

  @Test("longest_first removes from the longer text, and on a tie from the second")
  func truncationRule() throws {
    let rule = BertTokenizer.longestFirst
    #expect(rule(10, nil, 3) == (3, 0))
    #expect(rule(10, 4, 3) == (3, 0))
    #expect(rule(4, 10, 3) == (0, 3))
    #expect(rule(10, 10, 3) == (1, 2))
    #expect(rule(10, 10, 4) == (2, 2))
    #expect(rule(10, 8, 5) == (3, 2))
    #expect(rule(8, 10, 5) == (1, 4))
    #expect(rule(5, 5, 10) == (5, 5))
    #expect(rule(0, 6, 6) == (0, 6))

    let tokenizer = try TokenizerFixtures.tiny(["a", "b"])
    let a = String(repeating: "a ", count: 10)
    let b = String(repeating: "b ", count: 10)
    let encoding = try tokenizer.encode(a, pair: b, maxLength: 16)
    #expect(encoding.count == 16)
    #expect(encoding.tokens.filter { $0 == "a" }.count == 7)
    #expect(encoding.tokens.filter { $0 == "b" }.count == 6)
    #expect(encoding.truncatedTokens == 7)
    #expect(encoding.offsets[7] == 12..<13)
    let single = try tokenizer.encode(a, maxLength: 5)
    #expect(single.tokens == ["[CLS]", "a", "a", "a", "[SEP]"])
    #expect(single.truncatedTokens == 7)
  }

  @Test("truncate: false throws sequenceTooLong; a maxLength below the specials is invalid")
  func tooLong() throws {
    let tokenizer = try TokenizerFixtures.tiny(["a"])
    #expect(throws: BertScopeError.sequenceTooLong(length: 12, maximum: 8)) {
      try tokenizer.encode(String(repeating: "a ", count: 10), maxLength: 8, truncate: false)
    }
    #expect(throws: BertScopeError.sequenceTooLong(length: 7, maximum: 6)) {
      try tokenizer.encode("a a", pair: "a a", maxLength: 6, truncate: false)
    }
    #expect(try tokenizer.encode("a a", pair: "a a", maxLength: 7, truncate: false).count == 7)
    #expect(throws: BertScopeError.self) { try tokenizer.encode("a", pair: "a", maxLength: 2) }
    #expect(throws: BertScopeError.self) { try tokenizer.encode("a", maxLength: 1) }
  }

  @Test("batch encoding equals one-by-one encoding, on any thread count")
  func batch() throws {
    let tokenizer = try TokenizerFixtures.miniLM()
    let texts = (0..<300).map { "Sentence number \($0): café, 東京 and ΟΔΟΣ #\($0 * 7)!" }
    let pairs = texts.map { String($0.reversed()) }
    let batch = try tokenizer.encode(texts, pairs: pairs, maxLength: 24)
    for i in texts.indices {
      #expect(batch[i] == (try tokenizer.encode(texts[i], pair: pairs[i], maxLength: 24)))
    }
    #expect(try tokenizer.encode([String]()).isEmpty)
    #expect(throws: BertScopeError.self) { try tokenizer.encode(["a", "b"], pairs: ["c"]) }
    #expect(throws: BertScopeError.sequenceTooLong(length: 6, maximum: 5)) {
      try tokenizer.encode(Array(repeating: "a b c", count: 100) + ["a b c d"], maxLength: 5, truncate: false)
    }
  }

  @Test("never traps: random scalars from every plane, huge words, lone marks")
  func robustness() throws {
    let tokenizer = try TokenizerFixtures.miniLM()
    var generator = SplitMix64(seed: 42)
    var text = String.UnicodeScalarView()
    var count = 0
    while count < 60_000 {
      let pick = generator.next() % 10
      let value: UInt32 =
        switch pick {
        case 0..<4: UInt32(generator.next() % 0x80)
        case 4..<6: UInt32(generator.next() % 0x3000)
        case 6: 0x300 + UInt32(generator.next() % 0x70)
        case 7: 0xAC00 + UInt32(generator.next() % 11172)
        default: UInt32(generator.next() % 0x110000)
        }
      if let scalar = Unicode.Scalar(value) {
        text.append(scalar)
        count += 1
      }
    }
    let string = String(text)
    let pieces = tokenizer.wordPieces(string)
    #expect(!pieces.isEmpty)
    #expect(pieces.allSatisfy { $0.offsets.lowerBound >= 0 && $0.offsets.upperBound <= 60_000 && !$0.offsets.isEmpty })
    #expect(try tokenizer.encode(string, pair: string).count == 512)
    #expect(try tokenizer.encode(String(repeating: "\u{301}", count: 5000)).count == 2)
    #expect(try tokenizer.encode(String(repeating: "x", count: 100_000)).tokens == ["[CLS]", "[UNK]", "[SEP]"])
    #expect(try tokenizer.encode(String(repeating: "Σ", count: 1000)).count == 3)
    // The NFC path of tokenizers that keep accents.
    var cased = TokenizerOptions()
    cased.lowercase = false
    let casedTokenizer = try BertTokenizer(vocabulary: tokenizer.vocabulary, options: cased)
    #expect(casedTokenizer.wordPieces(string).allSatisfy { !$0.offsets.isEmpty && $0.offsets.upperBound <= 60_000 })
  }

  @Test("long texts are processed in chunks without changing the result")
  func longText() throws {
    let tokenizer = try TokenizerFixtures.miniLM()
    let unit = "café ΟΔΟΣ 東京, "
    let n = unit.unicodeScalars.count
    let unitPieces = tokenizer.wordPieces(unit)
    let pieces = tokenizer.wordPieces(String(repeating: unit, count: 5000))
    #expect(pieces.count == unitPieces.count * 5000)
    for k in [0, 1, 1234, 4999] {
      let slice = pieces[(k * unitPieces.count)..<((k + 1) * unitPieces.count)]
      #expect(slice.map(\.token) == unitPieces.map(\.token))
      #expect(
        slice.map(\.offsets) == unitPieces.map { ($0.offsets.lowerBound + n * k)..<($0.offsets.upperBound + n * k) })
    }
  }

  @Test("reads the MiniLM tokenizer_config.json")
  func options() throws {
    let options = try TokenizerOptions(contentsOf: TokenizerFixtures.url("tokenizer_config.json"), maxPositions: 512)
    #expect(options == TokenizerOptions())
    let tokenizer = try TokenizerFixtures.miniLM()
    #expect(
      (tokenizer.padID, tokenizer.unknownID, tokenizer.clsID, tokenizer.sepID, tokenizer.maskID) == (
        0, 100, 101, 102, 103
      ))
  }
}
