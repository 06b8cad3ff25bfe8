import Foundation

/// A `normalizer` of `tokenizer.json`, applied to every piece of text not yet matched as an
/// added token, with `tokenizers`' alignment rules (see ``AlignedText``).
indirect enum TextNormalizer: Sendable {
  /// `BertNormalizer`: drop controls and map whitespace to spaces, space out CJK ideographs,
  /// strip accents (NFD, drop Mn), lower-case.
  case bert(cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool, lowercase: Bool)
  /// `NFD`, `NFKD`, `NFC`, `NFKC`.
  case unicode(compatible: Bool, compose: Bool)
  /// `Lowercase` (Rust's full per-character lower-casing).
  case lowercase
  /// `StripAccents`: drop combining marks (Mn, Mc, Me).
  case stripAccents
  /// `Replace`: every match of `pattern` becomes `content`.
  case replace(pattern: TextPattern, content: [Unicode.Scalar])
  /// `Prepend`: a prefix before non-empty text.
  case prepend([Unicode.Scalar])
  /// `Strip`: whitespace off either end.
  case strip(left: Bool, right: Bool)
  /// `Nmt`: drop some controls, map others to spaces.
  case nmt
  /// `ByteLevel`: every byte of the UTF-8 becomes one of GPT-2's 256 byte characters.
  case byteLevel
  /// `Precompiled`: SentencePiece's character map.
  case precompiled(PrecompiledNormalizer)
  /// `Sequence`: each in turn.
  case sequence([TextNormalizer])

  /// The supported `"type"`s.
  static let supportedTypes = [
    "BertNormalizer", "NFC", "NFD", "NFKC", "NFKD", "Lowercase", "StripAccents", "Replace", "Prepend", "Strip",
    "Nmt", "ByteLevel", "Precompiled", "Sequence",
  ]

  /// Parses a normaliser object.
  static func parse(_ node: JSONNode) throws -> TextNormalizer {
    let type = try node.type()
    switch type {
    case "BertNormalizer":
      let lowercase = try node.bool("lowercase", default: true)
      return .bert(
        cleanText: try node.bool("clean_text", default: true),
        handleChineseChars: try node.bool("handle_chinese_chars", default: true),
        stripAccents: try node.member("strip_accents")?.bool() ?? lowercase, lowercase: lowercase)
    case "NFC": return .unicode(compatible: false, compose: true)
    case "NFD": return .unicode(compatible: false, compose: false)
    case "NFKC": return .unicode(compatible: true, compose: true)
    case "NFKD": return .unicode(compatible: true, compose: false)
    case "Lowercase": return .lowercase
    case "StripAccents": return .stripAccents
    case "Nmt": return .nmt
    case "ByteLevel": return .byteLevel
    case "Replace":
      let pattern = try TextPattern.parse(try node.required("pattern"))
      return .replace(pattern: pattern, content: Array(try node.required("content").string().unicodeScalars))
    case "Prepend":
      return .prepend(Array(try node.required("prepend").string().unicodeScalars))
    case "Strip":
      return .strip(
        left: try node.bool("strip_left", default: true), right: try node.bool("strip_right", default: true))
    case "Precompiled":
      return .precompiled(try PrecompiledNormalizer(node))
    case "Sequence":
      return .sequence(try node.required("normalizers").array().map(parse))
    default:
      throw node.unsupported("normalizer", type, supported: supportedTypes)
    }
  }

  /// Short name for summaries.
  var name: String {
    switch self {
    case .bert: "BertNormalizer"
    case .unicode(let compatible, let compose): "NF" + (compatible ? "K" : "") + (compose ? "C" : "D")
    case .lowercase: "Lowercase"
    case .stripAccents: "StripAccents"
    case .replace: "Replace"
    case .prepend: "Prepend"
    case .strip: "Strip"
    case .nmt: "Nmt"
    case .byteLevel: "ByteLevel"
    case .precompiled: "Precompiled"
    case .sequence(let steps): "Sequence[" + steps.map(\.name).joined(separator: ", ") + "]"
    }
  }

  /// Normalises every text piece of `input` (added tokens are copied) into a new text.
  func apply(_ input: AlignedText) -> AlignedText {
    if case .sequence(let steps) = self {
      var text = input
      for step in steps { text = step.apply(text) }
      return text
    }
    var out = AlignedText()
    out.scalars.reserveCapacity(input.count + input.count / 4)
    out.starts.reserveCapacity(input.count + input.count / 4)
    out.ends.reserveCapacity(input.count + input.count / 4)
    var scratch: [Unicode.Scalar] = []
    var items: [UnicodeForms.Item] = []
    var composed: [UnicodeForms.Item] = []
    for piece in input.pieces {
      if piece.token != nil {
        input.copyPiece(piece, into: &out)
        continue
      }
      apply(to: piece, of: input, into: &out, scratch: &scratch, items: &items, composed: &composed)
    }
    return out
  }

  /// Normalises one piece.
  private func apply(
    to piece: TextPiece, of input: AlignedText, into out: inout AlignedText, scratch: inout [Unicode.Scalar],
    items: inout [UnicodeForms.Item], composed: inout [UnicodeForms.Item]
  ) {
    let src = input.scalars
    switch self {
    case .bert(let cleanText, let chinese, let stripAccents, let lowercase):
      // clean_text and handle_chinese_chars in one pass (each maps a scalar to scalars that all
      // keep its range), then accent stripping and lower-casing, each a `NormalizedString` pass.
      var text = AlignedText()
      var writer = PieceWriter(piece: piece, out: text)
      var needsNFD = false
      var ascii = true
      for i in piece.range {
        let c = src[i]
        let v: UInt32 = c.value
        if v >= 0x80 { ascii = false }
        if v >= 0xC0 { needsNFD = true }
        if cleanText && (v == 0x09 || v == 0x0A || v == 0x0D) {
          writer.emit(" ", change: 0, from: input, into: &text)
        } else if cleanText && (v == 0 || v == 0xFFFD || RustUnicode.isOther(c)) {
          writer.skip(1)
        } else if cleanText && RustUnicode.isWhitespace(c) {
          writer.emit(" ", change: 0, from: input, into: &text)
        } else if chinese && RustUnicode.isChineseChar(c) {
          writer.emit(" ", change: 0, from: input, into: &text)
          writer.emit(c, change: 1, from: input, into: &text)
          writer.emit(" ", change: 1, from: input, into: &text)
        } else {
          writer.keep(from: input, into: &text)
        }
      }
      writer.finish(piece, into: &text)
      if stripAccents && needsNFD {
        text = TextNormalizer.unicode(compatible: false, compose: false).apply(text)
        text = text.mapText { $0.filtered(piece: $1, into: &$2) { !RustUnicode.isNonspacingMark($0) } }
      }
      if lowercase {
        if ascii {
          text.lowercaseASCII()
        } else {
          text = TextNormalizer.lowercase.apply(text)
        }
      }
      out.appendPieces(of: text)
    case .unicode(let compatible, let compose):
      items.removeAll(keepingCapacity: true)
      UnicodeForms.decompose(src[piece.range], compatible: compatible, into: &items)
      if compose {
        composed.removeAll(keepingCapacity: true)
        UnicodeForms.compose(items, into: &composed)
        swap(&items, &composed)
      }
      var writer = PieceWriter(piece: piece, out: out)
      for item in items { writer.emit(item.scalar, change: item.change, from: input, into: &out) }
      writer.finish(piece, into: &out)
    case .lowercase:
      var writer = PieceWriter(piece: piece, out: out)
      for i in piece.range {
        scratch.removeAll(keepingCapacity: true)
        _ = RustUnicode.appendLowercase(src[i], to: &scratch)
        for (k, c) in scratch.enumerated() { writer.emit(c, change: k == 0 ? 0 : 1, from: input, into: &out) }
      }
      writer.finish(piece, into: &out)
    case .stripAccents:
      input.filtered(piece: piece, into: &out) { !RustUnicode.isCombiningMark($0) }
    case .replace(let pattern, let content):
      input.replaced(piece: piece, matches: pattern.matches(in: input, piece.range), content: content, into: &out)
    case .prepend(let prefix):
      var writer = PieceWriter(piece: piece, out: out)
      for (k, c) in prefix.enumerated() { writer.emit(c, change: k == 0 ? 0 : 1, from: input, into: &out) }
      if !prefix.isEmpty { writer.emit(src[piece.range.lowerBound], change: 1, from: input, into: &out) }
      while writer.offset < piece.range.upperBound { writer.keep(from: input, into: &out) }
      writer.finish(piece, into: &out)
    case .strip(let left, let right):
      var lower = piece.range.lowerBound
      var upper = piece.range.upperBound
      if left { while lower < upper && RustUnicode.isWhitespace(src[lower]) { lower += 1 } }
      if right { while upper > lower && RustUnicode.isWhitespace(src[upper - 1]) { upper -= 1 } }
      var writer = PieceWriter(piece: piece, initialOffset: lower - piece.range.lowerBound, out: out)
      while writer.offset < upper { writer.keep(from: input, into: &out) }
      writer.finish(piece, into: &out)
    case .nmt:
      var writer = PieceWriter(piece: piece, out: out)
      for i in piece.range {
        let v = src[i].value
        switch v {
        case 0x01...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x8F, 0x9F:
          writer.skip(1)
        case 0x09, 0x0A, 0x0C, 0x0D, 0x1680, 0x200B...0x200F, 0x2028, 0x2029, 0x2581, 0xFEFF, 0xFFFD:
          writer.emit(" ", change: 0, from: input, into: &out)
        default:
          writer.keep(from: input, into: &out)
        }
      }
      writer.finish(piece, into: &out)
    case .byteLevel:
      input.byteMapped(piece: piece, into: &out)
    case .precompiled(let map):
      map.apply(to: piece, of: input, into: &out)
    case .sequence:
      preconditionFailure("sequences are applied whole")
    }
  }
}

extension AlignedText {
  /// Lower-cases ASCII letters in place (alignments unchanged).
  mutating func lowercaseASCII() {
    for k in scalars.indices {
      let v: UInt32 = scalars[k].value
      if v >= 0x41 && v <= 0x5A { scalars[k] = Unicode.Scalar(UInt8(v + 0x20)) }
    }
  }

  /// Copies `piece` of this text as it is (same shift and token) to the end of `out`.
  func copyPiece(_ piece: TextPiece, into out: inout AlignedText) {
    let start = out.count
    out.append(from: self, piece.range)
    out.pieces.append(TextPiece(range: start..<out.count, shift: piece.shift, token: piece.token))
  }

  /// Appends every piece of `other`.
  mutating func appendPieces(of other: AlignedText) {
    for piece in other.pieces { other.copyPiece(piece, into: &self) }
  }

  /// Runs `body` on every text piece (copying added tokens) into a new text.
  func mapText(_ body: (AlignedText, TextPiece, inout AlignedText) -> Void) -> AlignedText {
    var out = AlignedText()
    out.scalars.reserveCapacity(count)
    out.starts.reserveCapacity(count)
    out.ends.reserveCapacity(count)
    for piece in pieces {
      if piece.token != nil {
        copyPiece(piece, into: &out)
      } else {
        body(self, piece, &out)
      }
    }
    return out
  }

  /// `NormalizedString::filter`: the scalars `keep` accepts, each with its own range.
  func filtered(piece: TextPiece, into out: inout AlignedText, keep: (Unicode.Scalar) -> Bool) {
    var writer = PieceWriter(piece: piece, out: out)
    for i in piece.range {
      if keep(scalars[i]) {
        writer.keep(from: self, into: &out)
      } else {
        writer.skip(1)
      }
    }
    writer.finish(piece, into: &out)
  }

  /// BertNormalizer's `clean_text`: drops NUL, U+FFFD and controls (not \t \n \r), maps
  /// whitespace to a space.
  func cleaned(piece: TextPiece, into out: inout AlignedText) {
    var writer = PieceWriter(piece: piece, out: out)
    for i in piece.range {
      let c = scalars[i]
      let v = c.value
      if v == 0x09 || v == 0x0A || v == 0x0D {
        writer.emit(" ", change: 0, from: self, into: &out)
      } else if v == 0 || v == 0xFFFD || RustUnicode.isOther(c) {
        writer.skip(1)
      } else if RustUnicode.isWhitespace(c) {
        writer.emit(" ", change: 0, from: self, into: &out)
      } else {
        writer.keep(from: self, into: &out)
      }
    }
    writer.finish(piece, into: &out)
  }

  /// BertNormalizer's `handle_chinese_chars`: a space on each side of every CJK ideograph.
  func spacedChinese(piece: TextPiece, into out: inout AlignedText) {
    var writer = PieceWriter(piece: piece, out: out)
    for i in piece.range {
      let c = scalars[i]
      if RustUnicode.isChineseChar(c) {
        writer.emit(" ", change: 0, from: self, into: &out)
        writer.emit(c, change: 1, from: self, into: &out)
        writer.emit(" ", change: 1, from: self, into: &out)
      } else {
        writer.keep(from: self, into: &out)
      }
    }
    writer.finish(piece, into: &out)
  }

  /// `NormalizedString::replace`: each of `matches` (in order, not overlapping) becomes
  /// `content`, every scalar of which takes the range of the last scalar it replaces.
  func replaced(piece: TextPiece, matches: [Range<Int>], content: [Unicode.Scalar], into out: inout AlignedText) {
    var writer = PieceWriter(piece: piece, out: out)
    for m in matches {
      while writer.offset < m.lowerBound { writer.keep(from: self, into: &out) }
      writer.skip(m.count)
      for c in content { writer.emit(c, change: 1, from: self, into: &out) }
    }
    while writer.offset < piece.range.upperBound { writer.keep(from: self, into: &out) }
    writer.finish(piece, into: &out)
  }

  /// GPT-2's byte-to-character map: each UTF-8 byte of every scalar becomes one character,
  /// all aligned to the scalar.
  func byteMapped(piece: TextPiece, into out: inout AlignedText) {
    var writer = PieceWriter(piece: piece, out: out)
    for i in piece.range {
      let c = scalars[i]
      if c.value < 0x80 {
        writer.emit(ByteLevelAlphabet.characters[Int(c.value)], change: 0, from: self, into: &out)
        continue
      }
      var first = true
      for byte in String(Character(c)).utf8 {
        writer.emit(ByteLevelAlphabet.characters[Int(byte)], change: first ? 0 : 1, from: self, into: &out)
        first = false
      }
    }
    writer.finish(piece, into: &out)
  }
}

/// GPT-2's `bytes_to_unicode`: printable Latin-1 bytes stand for themselves, the others for
/// U+0100 onwards in byte order.
enum ByteLevelAlphabet {
  /// The character of each byte.
  static let characters: [Unicode.Scalar] = {
    var map = [Unicode.Scalar](repeating: " ", count: 256)
    var next: UInt32 = 256
    for b in 0..<256 {
      let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
      if printable {
        map[b] = Unicode.Scalar(UInt32(b))!
      } else {
        map[b] = Unicode.Scalar(next)!
        next += 1
      }
    }
    return map
  }()
}

/// A `"pattern"` of `Replace` or `Split`: `{"String": "…"}` (a literal) or `{"Regex": "…"}`
/// (see ``SimpleRegex`` for the supported syntax; the GPT-2 pattern has its own matcher).
enum TextPattern: Sendable {
  /// A literal string.
  case literal([Unicode.Scalar])
  /// A regular expression.
  case regex(SimpleRegex)
  /// The GPT-2 pre-tokenisation regex.
  case gpt2

  /// The GPT-2 pre-tokenisation regex, as ByteLevel uses it.
  static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

  /// Parses a pattern object.
  static func parse(_ node: JSONNode) throws -> TextPattern {
    if let s = try node.member("String") { return .literal(Array(try s.string().unicodeScalars)) }
    if let r = try node.member("Regex") {
      let source = try r.string()
      if source == gpt2Pattern { return .gpt2 }
      do {
        return .regex(try SimpleRegex(source))
      } catch let error as SimpleRegex.RegexError {
        throw r.error("regular expression \"\(printable(source))\" is not supported: \(error.description)")
      }
    }
    throw node.error("expected {\"String\": …} or {\"Regex\": …}")
  }

  /// The non-overlapping matches (leftmost first) in `scalars[range]`.
  func matches(in text: AlignedText, _ range: Range<Int>) -> [Range<Int>] {
    switch self {
    case .literal(let pattern):
      guard !pattern.isEmpty else { return [] }
      var out: [Range<Int>] = []
      var i = range.lowerBound
      let s = text.scalars
      while i + pattern.count <= range.upperBound {
        if s[i] == pattern[0] && s[i..<(i + pattern.count)].elementsEqual(pattern) {
          out.append(i..<(i + pattern.count))
          i += pattern.count
        } else {
          i += 1
        }
      }
      return out
    case .regex(let regex):
      return regex.matches(in: text.scalars, range)
    case .gpt2:
      var found: [PatternMatch] = []
      text.matchGPT2(piece: TextPiece(range: range, shift: 0, token: nil), into: &found)
      return found.filter(\.isMatch).map(\.range)
    }
  }
}
