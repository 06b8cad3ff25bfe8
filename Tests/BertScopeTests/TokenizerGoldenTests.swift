import Foundation
import Testing

@testable import BertScope

/// One line of `Tests/Fixtures/tokenizer/cases.jsonl`.
struct TokenizerGoldenCase: Decodable {
  var name: String
  var text: String
  var pair: String?
  var maxLength: Int
  var tokens: [String]
  var ids: [Int32]
  var segments: [Int32]
  /// The fast tokenizer's offsets; null where it disagrees with the slow one (see the script).
  var offsets: [[Int]?]?
  var fastAgrees: Bool

  static func load() throws -> [TokenizerGoldenCase] {
    let data = try Data(contentsOf: TokenizerFixtures.url("cases.jsonl"))
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try data.split(separator: UInt8(ascii: "\n")).map { try decoder.decode(Self.self, from: Data($0)) }
  }
}

@Suite("Tokenizer goldens (Hugging Face BertTokenizer on all-MiniLM-L6-v2)")
struct TokenizerGoldenTests {
  @Test("every golden case matches tokens, ids, segments and offsets")
  func goldens() throws {
    let tokenizer = try TokenizerFixtures.miniLM()
    let cases = try TokenizerGoldenCase.load()
    #expect(cases.count >= 300)
    var failures = 0
    for golden in cases {
      let encoding: Encoding
      do {
        encoding = try tokenizer.encode(golden.text, pair: golden.pair, maxLength: golden.maxLength)
      } catch {
        Issue.record("case \"\(golden.name)\": threw \(error)")
        failures += 1
        continue
      }
      let problem =
        Self.firstDifference("tokens", encoding.tokens, golden.tokens)
        ?? Self.firstDifference("ids", encoding.ids, golden.ids)
        ?? Self.firstDifference("segments", encoding.segments, golden.segments)
        ?? golden.offsets.flatMap { expected in
          Self.firstDifference(
            "offsets", encoding.offsets.map { $0.map { [$0.lowerBound, $0.upperBound] } }, expected)
        }
      if let problem {
        failures += 1
        let scalars = golden.text.unicodeScalars.prefix(40).map(\.hex).joined(separator: " ")
        Issue.record("case \"\(golden.name)\" (text scalars \(scalars)…): \(problem)")
      }
    }
    #expect(failures == 0, "\(failures) of \(cases.count) golden cases differ")
  }

  @Test("truncatedTokens counts what truncation removed")
  func truncatedCount() throws {
    let tokenizer = try TokenizerFixtures.miniLM()
    let cases = try TokenizerGoldenCase.load().filter { $0.name.hasPrefix("truncate") }
    #expect(!cases.isEmpty, "cases.jsonl holds no truncate case")
    var removed = 0
    for golden in cases {
      let full = try tokenizer.encode(golden.text, pair: golden.pair, maxLength: Int.max)
      let cut = try tokenizer.encode(golden.text, pair: golden.pair, maxLength: golden.maxLength)
      #expect(cut.count == golden.maxLength)
      #expect(cut.truncatedTokens == full.count - cut.count, "\(golden.name)")
      removed += cut.truncatedTokens
    }
    // Otherwise the count would only have been checked to be 0.
    #expect(removed > 0, "no truncate case removed a token")
  }

  static func firstDifference<T: Equatable>(_ what: String, _ got: [T], _ expected: [T]) -> String? {
    for (index, (a, b)) in zip(got, expected).enumerated() where a != b {
      return "\(what)[\(index)]: got \(a), expected \(b) (lengths \(got.count), \(expected.count))"
    }
    if got.count != expected.count {
      let extra = got.count > expected.count ? "got extra \(got[expected.count])" : "missing \(expected[got.count])"
      return "\(what): got \(got.count) items, expected \(expected.count) (\(extra))"
    }
    return nil
  }
}
