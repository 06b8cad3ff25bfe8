import Foundation

/// The `model.vocab` object of a `tokenizer.json`, read straight from its bytes with every key's
/// scalars exactly as written.
///
/// `JSONSerialization` cannot be trusted with vocabulary keys: it builds dictionaries keyed by
/// Swift `String`, which merges canonically equivalent keys (`"é"` and `"e\u{301}"` become one
/// entry), and it drops a raw U+FEFF at the start of any string. `tokenizers` (serde) keeps
/// them apart. Pass the result to ``SubwordModels/make(json:path:exactVocabulary:)``.
enum ExactVocabulary {
  /// The entries of `model.vocab` in file order when it is an object of token → integer id
  /// (WordPiece, BPE); nil when there is none, it is not an object (Unigram's list), or the
  /// bytes are not valid JSON there (the caller's own parse reports that). Of repeated
  /// identical keys, the last counts, as in serde.
  static func entries(tokenizerJSON data: Data) -> [(token: String, id: Int)]? {
    data.withUnsafeBytes { raw -> [(token: String, id: Int)]? in
      var scanner = Scanner(bytes: raw.bindMemory(to: UInt8.self))
      return scanner.modelVocabulary()
    }
  }

  private struct Failure: Error {}

  private struct Scanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var i = 0

    init(bytes: UnsafeBufferPointer<UInt8>) {
      self.bytes = bytes
      // A UTF-8 byte-order mark before the document.
      if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
    }

    mutating func modelVocabulary() -> [(token: String, id: Int)]? {
      do {
        var found: [(token: String, id: Int)]? = nil
        try object { key, scanner in
          guard key == "model", scanner.peek() == UInt8(ascii: "{") else { return false }
          try scanner.object { key, scanner in
            guard key == "vocab", scanner.peek() == UInt8(ascii: "{") else { return false }
            found = try scanner.vocabulary()
            return true
          }
          return true
        }
        return found
      } catch {
        return nil
      }
    }

    mutating func skipSpace() {
      while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    mutating func peek() -> UInt8? {
      skipSpace()
      return i < bytes.count ? bytes[i] : nil
    }

    mutating func expect(_ c: UInt8) throws {
      guard peek() == c else { throw Failure() }
      i += 1
    }

    /// Walks an object; `member` reads the value after each key (returning true) or leaves it
    /// to be skipped (false).
    mutating func object(_ member: (String, inout Scanner) throws -> Bool) throws {
      try expect(UInt8(ascii: "{"))
      if peek() == UInt8(ascii: "}") {
        i += 1
        return
      }
      while true {
        let key = try string()
        try expect(UInt8(ascii: ":"))
        if try !member(key, &self) { try skipValue() }
        guard let c = peek() else { throw Failure() }
        i += 1
        if c == UInt8(ascii: "}") { return }
        guard c == UInt8(ascii: ",") else { throw Failure() }
      }
    }

    mutating func vocabulary() throws -> [(token: String, id: Int)] {
      var entries: [(token: String, id: Int)] = []
      var index: [[Unicode.Scalar]: Int] = [:]
      try object { key, scanner in
        guard let id = try scanner.integer() else { throw Failure() }
        let scalars = Array(key.unicodeScalars)
        if let at = index[scalars] {
          entries[at].id = id
        } else {
          index[scalars] = entries.count
          entries.append((key, id))
        }
        return true
      }
      return entries
    }

    /// An integral number (`3`, `3.0`), or nil for another value (consumed).
    mutating func integer() throws -> Int? {
      skipSpace()
      let start = i
      while i < bytes.count, let c = Optional(bytes[i]),
        c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || c == UInt8(ascii: ".") || c == UInt8(ascii: "e")
          || c == UInt8(ascii: "E") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
      {
        i += 1
      }
      if i == start {
        try skipValue()
        return nil
      }
      let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
      guard let d = Double(text), d.isFinite, d.rounded() == d, abs(d) < 9.0e15 else { return nil }
      return Int(d)
    }

    mutating func string() throws -> String {
      try expect(UInt8(ascii: "\""))
      var scalars = String.UnicodeScalarView()
      var runStart = i
      func flush(_ end: Int) {
        if end > runStart {
          scalars.append(
            contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[runStart..<end]), as: UTF8.self)
              .unicodeScalars)
        }
      }
      while true {
        guard i < bytes.count else { throw Failure() }
        let c = bytes[i]
        if c == UInt8(ascii: "\"") {
          flush(i)
          i += 1
          return String(scalars)
        }
        if c == UInt8(ascii: "\\") {
          flush(i)
          i += 1
          guard i < bytes.count else { throw Failure() }
          let e = bytes[i]
          i += 1
          switch e {
          case UInt8(ascii: "\""): scalars.append("\"")
          case UInt8(ascii: "\\"): scalars.append("\\")
          case UInt8(ascii: "/"): scalars.append("/")
          case UInt8(ascii: "b"): scalars.append("\u{8}")
          case UInt8(ascii: "f"): scalars.append("\u{C}")
          case UInt8(ascii: "n"): scalars.append("\n")
          case UInt8(ascii: "r"): scalars.append("\r")
          case UInt8(ascii: "t"): scalars.append("\t")
          case UInt8(ascii: "u"):
            var unit = try hex4()
            if unit >= 0xD800 && unit < 0xDC00, i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"),
              bytes[i + 1] == UInt8(ascii: "u")
            {
              let save = i
              i += 2
              let low = try hex4()
              if low >= 0xDC00 && low < 0xE000 {
                unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
              } else {
                i = save
              }
            }
            // A lone surrogate: serde refuses it; so do we.
            guard let scalar = Unicode.Scalar(unit) else { throw Failure() }
            scalars.append(scalar)
          default: throw Failure()
          }
          runStart = i
          continue
        }
        i += 1
      }
    }

    mutating func hex4() throws -> UInt32 {
      guard i + 4 <= bytes.count else { throw Failure() }
      var v: UInt32 = 0
      for _ in 0..<4 {
        let c = bytes[i]
        i += 1
        let d: UInt8
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
        default: throw Failure()
        }
        v = v << 4 | UInt32(d)
      }
      return v
    }

    /// Skips one value of any kind (iteratively: nesting depth does not grow the stack).
    mutating func skipValue() throws {
      var depth = 0
      repeat {
        guard let c = peek() else { throw Failure() }
        switch c {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
          depth += 1
          i += 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
          guard depth > 0 else { throw Failure() }
          depth -= 1
          i += 1
        case UInt8(ascii: "\""):
          _ = try string()
        case UInt8(ascii: ","), UInt8(ascii: ":"):
          guard depth > 0 else { throw Failure() }
          i += 1
        default:
          let start = i
          while i < bytes.count,
            !(bytes[i] == UInt8(ascii: ",") || bytes[i] == UInt8(ascii: "}") || bytes[i] == UInt8(ascii: "]")
              || bytes[i] == UInt8(ascii: ":") || bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D
              || bytes[i] == 0x09)
          {
            i += 1
          }
          guard i > start else { throw Failure() }
        }
      } while depth > 0
    }
  }
}
