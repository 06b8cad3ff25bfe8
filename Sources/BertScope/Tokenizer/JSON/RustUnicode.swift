import Foundation
import Synchronization

/// The character classes and mappings `tokenizers` uses (Rust's `char` methods, the
/// `unicode_categories` crate, the regex crates' `\w`/`\s`, `unicode-normalization-alignments`),
/// from Swift's own Unicode data. ASCII takes a fast path everywhere.
enum RustUnicode {
  /// Rust `char::is_whitespace` (White_Space); also the regexes' `\s`.
  @inline(__always)
  static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
    let v = c.value
    if v < 0x80 { return v == 0x20 || (v >= 0x09 && v <= 0x0D) }
    return c.properties.isWhitespace
  }

  /// `unicode_categories` 0.1.1's `is_other`: Cc, Cf, Co (not Cn or Cs), from its own tables.
  @inline(__always)
  static func isOther(_ c: Unicode.Scalar) -> Bool {
    let v = c.value
    if v < 0x80 { return v < 0x20 || v == 0x7F }
    return inRanges(RustUnicodeTables.other, v)
  }

  /// `unicode_categories` 0.1.1's `is_punctuation` (P*, its own tables) or ASCII punctuation.
  @inline(__always)
  static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
    let v = c.value
    if v < 0x80 {
      return (v >= 0x21 && v <= 0x2F) || (v >= 0x3A && v <= 0x40) || (v >= 0x5B && v <= 0x60)
        || (v >= 0x7B && v <= 0x7E)
    }
    return inRanges(RustUnicodeTables.punctuation, v)
  }

  /// Whether `v` is in a table of inclusive ranges (flat: first, last, …).
  @inline(__always)
  static func inRanges(_ table: [UInt32], _ v: UInt32) -> Bool {
    var lo = 0
    var hi = table.count / 2
    while lo < hi {
      let mid = (lo + hi) / 2
      if table[2 * mid + 1] < v {
        lo = mid + 1
      } else {
        hi = mid
      }
    }
    return lo < table.count / 2 && table[2 * lo] <= v
  }

  /// Rust `char::is_numeric`: Nd, Nl, No.
  @inline(__always)
  static func isNumeric(_ c: Unicode.Scalar) -> Bool {
    let v = c.value
    if v < 0x80 { return v >= 0x30 && v <= 0x39 }
    switch c.properties.generalCategory {
    case .decimalNumber, .letterNumber, .otherNumber: return true
    default: return false
    }
  }

  /// `\p{L}`.
  @inline(__always)
  static func isLetter(_ c: Unicode.Scalar) -> Bool {
    let v = c.value
    if v < 0x80 { return (v | 0x20) >= 0x61 && (v | 0x20) <= 0x7A }
    switch c.properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
    default: return false
    }
  }

  /// The regex crate's Unicode `\w`: Alphabetic, M, Nd, Pc, Join_Control.
  @inline(__always)
  static func isWord(_ c: Unicode.Scalar) -> Bool {
    let v = c.value
    if v < 0x80 {
      return (v | 0x20) >= 0x61 && (v | 0x20) <= 0x7A || (v >= 0x30 && v <= 0x39) || v == 0x5F
    }
    let p = c.properties
    if p.isAlphabetic || p.isJoinControl { return true }
    switch p.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
    default: return false
    }
  }

  /// Mn as `unicode_categories` 0.1.1 has it (`is_mark_nonspacing`, BertNormalizer's accent
  /// stripping).
  @inline(__always)
  static func isNonspacingMark(_ c: Unicode.Scalar) -> Bool {
    c.value >= 0x300 && inRanges(RustUnicodeTables.nonspacingMark, c.value)
  }

  /// Mn, Mc, Me as `unicode-normalization-alignments` has them (`is_combining_mark`, the
  /// StripAccents normaliser).
  @inline(__always)
  static func isCombiningMark(_ c: Unicode.Scalar) -> Bool {
    c.value >= 0x300 && inRanges(RustUnicodeTables.combiningMark, c.value)
  }

  /// BertNormalizer's CJK ranges.
  @inline(__always)
  static func isChineseChar(_ c: Unicode.Scalar) -> Bool {
    switch c.value {
    case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
      0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
      return true
    default: return false
    }
  }

  /// Appends Rust's `char::to_lowercase` (the full mapping) of `c`; returns how many scalars.
  @inline(__always)
  static func appendLowercase(_ c: Unicode.Scalar, to out: inout [Unicode.Scalar]) -> Int {
    let v = c.value
    if v < 0x80 {
      out.append(v >= 0x41 && v <= 0x5A ? Unicode.Scalar(v + 0x20)! : c)
      return 1
    }
    let p = c.properties
    guard p.changesWhenLowercased else {
      out.append(c)
      return 1
    }
    var n = 0
    for s in p.lowercaseMapping.unicodeScalars {
      out.append(s)
      n += 1
    }
    return n
  }

  /// Canonical combining class.
  @inline(__always)
  static func combiningClass(_ c: Unicode.Scalar) -> UInt8 {
    c.value < 0x300 ? 0 : c.properties.canonicalCombiningClass.rawValue
  }

  /// Appends the full decomposition of `c` (canonical, or compatibility when `compatible`),
  /// itself when it has none.
  static func appendDecomposition(of c: Unicode.Scalar, compatible: Bool, to out: inout [Unicode.Scalar]) {
    if !compatible || c.value < 0xA0 {
      _ = PythonUnicode.appendDecomposition(of: c, to: &out)
      return
    }
    if c.value >= 0xAC00 && c.value < 0xAC00 + 11172 {
      _ = PythonUnicode.appendDecomposition(of: c, to: &out)
      return
    }
    out.append(contentsOf: compatibilityCache.decomposition(of: c))
  }

  /// The primary composite of `a` followed by `b`, or nil.
  static func compose(_ a: Unicode.Scalar, _ b: Unicode.Scalar) -> Unicode.Scalar? {
    // No scalar below U+0300 is the second half of a canonical composition.
    if b.value < 0x300 { return nil }
    // Hangul LV and LVT, arithmetically.
    let l = a.value
    let v = b.value
    if l >= 0x1100 && l < 0x1100 + 19 && v >= 0x1161 && v < 0x1161 + 21 {
      return Unicode.Scalar(0xAC00 + ((l - 0x1100) * 21 + (v - 0x1161)) * 28)
    }
    if l >= 0xAC00 && l < 0xAC00 + 11172 && (l - 0xAC00) % 28 == 0 && v > 0x11A7 && v < 0x11A7 + 28 {
      return Unicode.Scalar(l + (v - 0x11A7))
    }
    return compositionCache.composite(a, b)
  }

  /// Compatibility decompositions computed so far.
  static let compatibilityCache = DecompositionCache()
  /// Compositions computed so far.
  static let compositionCache = CompositionCache()
}

/// Compatibility decompositions (NFKD of one scalar, from Foundation), computed once each.
final class DecompositionCache: Sendable {
  private let table = Mutex<[UInt32: [Unicode.Scalar]]>([:])

  /// The full compatibility decomposition of `c`.
  func decomposition(of c: Unicode.Scalar) -> [Unicode.Scalar] {
    if let hit = table.withLock({ $0[c.value] }) { return hit }
    let result = Array(String(Character(c)).decomposedStringWithCompatibilityMapping.unicodeScalars)
    table.withLock { $0[c.value] = result }
    return result
  }
}

/// Canonical compositions of scalar pairs (from Foundation's NFC), computed once each.
final class CompositionCache: Sendable {
  private let table = Mutex<[UInt64: UInt32]>([:])

  /// The primary composite of `a` + `b`, or nil.
  func composite(_ a: Unicode.Scalar, _ b: Unicode.Scalar) -> Unicode.Scalar? {
    let key = UInt64(a.value) << 32 | UInt64(b.value)
    if let hit = table.withLock({ $0[key] }) { return hit == 0 ? nil : Unicode.Scalar(hit) }
    var pair = String.UnicodeScalarView()
    pair.append(a)
    pair.append(b)
    let composed = String(pair).precomposedStringWithCanonicalMapping.unicodeScalars
    var value: UInt32 = 0
    if composed.count == 1, let only = composed.first, only != a {
      value = only.value
    }
    table.withLock { $0[key] = value }
    return value == 0 ? nil : Unicode.Scalar(value)
  }
}
