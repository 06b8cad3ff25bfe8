import Foundation
import Testing

@testable import BertScope

/// Python 3.11's character classes (Unicode 14.0), dumped by the goldens script.
private struct PythonClasses: Decodable {
  var unicode: String
  var control: [[UInt32]]
  var whitespace: [[UInt32]]
  var punctuation: [[UInt32]]
  var nonspacingMark: [[UInt32]]
  var sigmaCased: [[UInt32]]
  var sigmaIgnorable: [[UInt32]]
  var lower: [Lower]

  struct Lower: Decodable {
    var scalar: UInt32
    var mapping: [UInt32]
    init(from decoder: any Decoder) throws {
      var container = try decoder.unkeyedContainer()
      scalar = try container.decode(UInt32.self)
      mapping = try container.decode([UInt32].self)
    }
  }

  static func load() throws -> PythonClasses {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(Self.self, from: Data(contentsOf: TokenizerFixtures.url("unicode14.json")))
  }

  /// Membership by code point (a million-entry `Set` is slow to build in a debug build).
  static func set(_ ranges: [[UInt32]]) -> [Bool] {
    var member = [Bool](repeating: false, count: 0x110000)
    for range in ranges {
      for value in range[0]...range[1] { member[Int(value)] = true }
    }
    return member
  }
}

@Suite("Tokenizer character classes agree with Python 3.11 (Unicode 14.0)")
struct TokenizerUnicodeTests {
  /// Every scalar checked against every class in one pass: (name, Python's membership, ours).
  private func check(_ classes: [(String, [Bool], (Unicode.Scalar) -> Bool)]) {
    var wrong = [[String]](repeating: [], count: classes.count)
    for value in UInt32(0)...0x10FFFF {
      guard let scalar = Unicode.Scalar(value) else { continue }
      for (k, (_, expected, predicate)) in classes.enumerated() where predicate(scalar) != expected[Int(value)] {
        wrong[k].append(scalar.hex)
      }
    }
    for (k, (name, _, _)) in classes.enumerated() {
      #expect(wrong[k].isEmpty, "\(name) differs from Python for \(wrong[k].count) scalars: \(wrong[k].prefix(20))")
    }
  }

  @Test("control, whitespace and punctuation match HF's _is_control / _is_whitespace / _is_punctuation")
  func basicClasses() throws {
    let python = try PythonClasses.load()
    #expect(python.unicode == "14.0.0")
    check([
      ("control", PythonClasses.set(python.control), PythonUnicode.isControl),
      ("whitespace", PythonClasses.set(python.whitespace), PythonUnicode.isWhitespace),
      ("punctuation", PythonClasses.set(python.punctuation), PythonUnicode.isPunctuation),
      ("category Mn", PythonClasses.set(python.nonspacingMark), { PythonUnicode.category($0) == .nonspacingMark }),
    ])
  }

  @Test("the final-sigma classes match CPython's (case-ignorable first, then cased)")
  func sigmaClasses() throws {
    let python = try PythonClasses.load()
    let assigned = { (s: Unicode.Scalar) in PythonUnicode.category(s) != .unassigned }
    // CPython skips case-ignorable scalars (cased or not), then asks whether the next one is cased.
    check([
      (
        "case-ignorable", PythonClasses.set(python.sigmaIgnorable),
        { assigned($0) && PythonUnicode.isCaseIgnorable($0) }
      ),
      (
        "cased", PythonClasses.set(python.sigmaCased),
        { assigned($0) && PythonUnicode.isCased($0) && !PythonUnicode.isCaseIgnorable($0) }
      ),
    ])
  }

  @Test("lower-case mappings match str.lower() for every assigned scalar")
  func lowercase() throws {
    let python = try PythonClasses.load()
    var expected: [UInt32: [UInt32]] = [:]
    for entry in python.lower { expected[entry.scalar] = entry.mapping }
    var wrong: [String] = []
    for value in UInt32(0)...0x10FFFF {
      guard let scalar = Unicode.Scalar(value), PythonUnicode.category(scalar) != .unassigned else { continue }
      let mapped = scalar.properties.lowercaseMapping.unicodeScalars.map(\.value)
      if mapped != (expected[scalar.value] ?? [scalar.value]) { wrong.append(scalar.hex) }
    }
    #expect(wrong.isEmpty, "lowercaseMapping differs from Python for \(wrong.count) scalars: \(wrong.prefix(20))")
  }

  @Test("the NFD table matches Foundation's NFD for every scalar of Unicode 14.0")
  func decompositions() {
    var wrong: [String] = []
    var decomposed: [Unicode.Scalar] = []
    for value in UInt32(0xC0)...0x10FFFF {
      guard let scalar = Unicode.Scalar(value), PythonUnicode.category(scalar) != .unassigned else { continue }
      decomposed.removeAll(keepingCapacity: true)
      _ = PythonUnicode.appendDecomposition(of: scalar, to: &decomposed)
      let foundation = String(Character(scalar)).decomposedStringWithCanonicalMapping.unicodeScalars
      if !decomposed.elementsEqual(foundation) { wrong.append(scalar.hex) }
    }
    #expect(wrong.isEmpty, "NFD differs from Foundation for \(wrong.count) scalars: \(wrong.prefix(20))")
    #expect(CanonicalDecompositions.shared.index.count == 2061)
  }
}
