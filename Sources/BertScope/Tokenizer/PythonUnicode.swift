/// The character classes of Hugging Face's `BasicTokenizer` (`_is_control`, `_is_whitespace`,
/// `_is_punctuation`, `_is_chinese_char`) and the pieces of Python's `str.lower()` and
/// `unicodedata.normalize("NFD")` that it uses, answered the way Python 3.11 answers them.
///
/// Python 3.11's `unicodedata` is Unicode 14.0; Swift 6.3's `Unicode.Scalar.Properties` is
/// Unicode 17.0. For every scalar assigned by 14.0 the two agree on general category, lower-case
/// mapping, canonical decomposition and combining class, except the two scalars patched below
/// (checked for all 1,112,064 scalars by `TokenizerUnicodeTests` against
/// `Tests/Fixtures/tokenizer/unicode14.json`). A scalar assigned after 14.0 is category Cn to
/// Python, hence a "control" character that the tokenizer drops; so it is here.
enum PythonUnicode {
  /// The Unicode version of the reference (Python 3.11's `unicodedata.unidata_version`).
  static let version: Unicode.Version = (major: 14, minor: 0)

  /// `unicodedata.category` under Unicode 14.0.
  static func category(_ scalar: Unicode.Scalar) -> Unicode.GeneralCategory {
    let properties = scalar.properties
    guard let age = properties.age,
      age.major < version.major || (age.major == version.major && age.minor <= version.minor)
    else { return .unassigned }
    switch scalar.value {
    case 0x0295: return .lowercaseLetter  // ʕ: Ll in 14.0, Lo in Swift's 17.0
    case 0x1171E: return .nonspacingMark  // AHOM CONSONANT SIGN MEDIAL RA: Mn in 14.0, Mc in 17.0
    default: return properties.generalCategory
    }
  }

  /// HF `_is_control`: category C* (Cc, Cf, Cs, Co, Cn), except `\t \n \r`.
  static func isControl(_ category: Unicode.GeneralCategory) -> Bool {
    switch category {
    case .control, .format, .surrogate, .privateUse, .unassigned: return true
    default: return false
    }
  }

  /// HF `_is_control` for any scalar.
  static func isControl(_ scalar: Unicode.Scalar) -> Bool {
    let v = scalar.value
    if v < 0x80 { return asciiClass[Int(v)] == .control }
    return isControl(category(scalar))
  }

  /// HF `_is_whitespace`: space, `\t`, `\n`, `\r` or category Zs.
  static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
    let v = scalar.value
    if v < 0x80 { return asciiClass[Int(v)] == .whitespace }
    return category(scalar) == .spaceSeparator
  }

  /// HF `_is_punctuation` for a non-ASCII scalar: category P*.
  static func isPunctuation(_ category: Unicode.GeneralCategory) -> Bool {
    switch category {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
      .initialPunctuation, .finalPunctuation, .otherPunctuation:
      return true
    default: return false
    }
  }

  /// HF `_is_punctuation`: P* plus all non-letter, non-digit printable ASCII.
  @inline(__always)
  static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
    let v = scalar.value
    if v < 0x80 { return asciiClass[Int(v)] == .punctuation }
    return isPunctuation(category(scalar))
  }

  /// HF `_is_chinese_char`: the CJK Unified Ideographs blocks (not kana, not hangul).
  @inline(__always)
  static func isChineseChar(_ v: UInt32) -> Bool {
    (v >= 0x4E00 && v <= 0x9FFF) || (v >= 0x3400 && v <= 0x4DBF) || (v >= 0x20000 && v <= 0x2A6DF)
      || (v >= 0x2A700 && v <= 0x2B73F) || (v >= 0x2B740 && v <= 0x2B81F) || (v >= 0x2B820 && v <= 0x2CEAF)
      || (v >= 0xF900 && v <= 0xFAFF) || (v >= 0x2F800 && v <= 0x2FA1F)
  }

  /// `_PyUnicode_IsCased` (Unicode 14.0), used for the final-sigma rule of `str.lower()`.
  static func isCased(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x0295: return true
    case 0x1171E: return false
    default: return scalar.properties.isCased
    }
  }

  /// `_PyUnicode_IsCaseIgnorable` (Unicode 14.0).
  static func isCaseIgnorable(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value == 0x1171E || scalar.properties.isCaseIgnorable
  }

  /// What the cleaning pass of `BasicTokenizer` does with an ASCII scalar.
  enum ASCIIClass: UInt8 {
    case letterOrDigit, punctuation, whitespace, control
  }

  static let asciiClass: [ASCIIClass] = (0..<128).map { v -> ASCIIClass in
    switch v {
    case 9, 10, 13, 32: return .whitespace
    case 0..<32, 127: return .control
    case 33...47, 58...64, 91...96, 123...126: return .punctuation
    default: return .letterOrDigit
    }
  }

  // Hangul syllables decompose arithmetically (Unicode §3.12).
  static let hangulBase: UInt32 = 0xAC00
  static let hangulCount: UInt32 = 11172
  static let hangulL: UInt32 = 0x1100
  static let hangulV: UInt32 = 0x1161
  static let hangulT: UInt32 = 0x11A7
  static let hangulVCount: UInt32 = 21
  static let hangulTCount: UInt32 = 28

  /// Appends the full canonical decomposition of `scalar` (itself when it has none), unordered:
  /// the caller applies the canonical ordering of combining marks.
  @inline(__always)
  static func appendDecomposition(of scalar: Unicode.Scalar, to out: inout [Unicode.Scalar]) -> Int {
    let v = scalar.value
    if v < 0xC0 {
      out.append(scalar)
      return 1
    }
    let s = v &- hangulBase
    if s < hangulCount {
      let l = hangulL + s / (hangulVCount * hangulTCount)
      let vowel = hangulV + (s % (hangulVCount * hangulTCount)) / hangulTCount
      let t = s % hangulTCount
      out.append(Unicode.Scalar(l)!)
      out.append(Unicode.Scalar(vowel)!)
      if t == 0 { return 2 }
      out.append(Unicode.Scalar(hangulT + t)!)
      return 3
    }
    if let entry = CanonicalDecompositions.shared.index[v] {
      let table = CanonicalDecompositions.shared.scalars
      out.append(contentsOf: table[Int(entry.start)..<Int(entry.start) + Int(entry.count)])
      return Int(entry.count)
    }
    out.append(scalar)
    return 1
  }
}

/// Full canonical decompositions (`unicodedata.normalize("NFD", c)` for every scalar of
/// Unicode 14.0 that changes, Hangul syllables excepted), parsed once from
/// `CanonicalDecompositions.data`.
struct CanonicalDecompositions: Sendable {
  struct Entry: Sendable {
    var start: Int32
    var count: Int32
  }
  let index: [UInt32: Entry]
  let scalars: [Unicode.Scalar]

  static let shared = CanonicalDecompositions(table: canonicalDecompositionTable)

  /// `table`: one line per scalar, hexadecimal: the scalar, then its decomposition.
  init(table: String) {
    var index: [UInt32: Entry] = [:]
    var scalars: [Unicode.Scalar] = []
    for line in table.utf8.split(separator: UInt8(ascii: "\n")) {
      var fields: [UInt32] = []
      for field in line.split(separator: UInt8(ascii: " ")) {
        var value: UInt32 = 0
        for byte in field {
          let digit: UInt8 =
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: 0
            }
          value = value << 4 | UInt32(digit)
        }
        fields.append(value)
      }
      guard fields.count >= 2 else { continue }
      let parts = fields.dropFirst().compactMap(Unicode.Scalar.init)
      guard parts.count == fields.count - 1 else { continue }
      index[fields[0]] = Entry(start: Int32(scalars.count), count: Int32(parts.count))
      scalars.append(contentsOf: parts)
    }
    self.index = index
    self.scalars = scalars
  }
}
