import Foundation
import Testing

@testable import BertScope

/// One line of a `cases.jsonl` of `Tests/Fixtures/tokenizers/<name>/` (the goldens helper's
/// fixtures) or `Tests/Fixtures/tokenizers-pipeline/<name>/` (`make_pipeline_goldens.py`).
struct PipelineGoldenCase {
  var name: String
  var text: String
  var pair: String?
  var maxLength: Int?
  var ids: [Int32]?
  var tokens: [String]?
  var typeIDs: [Int32]?
  var offsets: [[Int]]?
  var error: String?

  /// Reads one JSON line, accepting `type_ids` or `segments`, and absent fields.
  init(line: Data) throws {
    guard let d = try JSONSerialization.jsonObject(with: JSONNode.escapingByteOrderMarks(line)) as? [String: Any] else {
      throw BertScopeError.invalidInput("a case is not a JSON object")
    }
    name = d["name"] as? String ?? "?"
    text = d["text"] as? String ?? ""
    pair = d["pair"] as? String
    maxLength = (d["max_length"] as? NSNumber)?.intValue
    ids = (d["ids"] as? [NSNumber])?.map { Int32(truncating: $0) }
    tokens = d["tokens"] as? [String]
    typeIDs = ((d["type_ids"] ?? d["segments"]) as? [NSNumber])?.map { Int32(truncating: $0) }
    offsets = (d["offsets"] as? [[NSNumber]])?.map { $0.map(\.intValue) }
    if let e = d["error"], !(e is NSNull) { error = "\(e)" }
  }
}

/// The fixture folders holding `tokenizer.json` and `cases.jsonl` (either may be gzipped: `.gz`).
enum PipelineFixtures {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

  /// Every `<group>/<name>` folder with a `cases.jsonl`.
  static func folders() -> [URL] {
    var out: [URL] = []
    for group in ["tokenizers", "tokenizers-pipeline"] {
      let dir = root.appendingPathComponent(group)
      guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { continue }
      for name in names.sorted() {
        let folder = dir.appendingPathComponent(name)
        if GzipFixture.exists(folder.appendingPathComponent("cases.jsonl")) {
          out.append(folder)
        }
      }
    }
    return out
  }

  /// The pipeline of `folder`.
  static func tokenizer(_ folder: URL) throws -> PipelineTokenizer {
    let json = try GzipFixture.read(folder.appendingPathComponent("tokenizer.json"))
    let config = try? Data(contentsOf: folder.appendingPathComponent("tokenizer_config.json"))
    return try PipelineTokenizer(json: json, path: folder.path + "/tokenizer.json", config: config, maxPositions: 512)
  }

  /// The cases of `folder`.
  static func cases(_ folder: URL) throws -> [PipelineGoldenCase] {
    let data = try GzipFixture.read(folder.appendingPathComponent("cases.jsonl"))
    return try data.split(separator: UInt8(ascii: "\n")).map { try PipelineGoldenCase(line: Data($0)) }
  }
}

@Suite("TokenizerJSON goldens (tokenizers 0.23 through transformers 5)")
struct TokenizerJSONGoldenTests {
  static let folders = PipelineFixtures.folders()

  @Test("there are golden fixtures")
  func fixturesExist() {
    #expect(!Self.folders.isEmpty)
  }

  @Test("every golden case matches ids, tokens, type ids and offsets", arguments: folders)
  func goldens(folder: URL) throws {
    let tokenizer = try PipelineFixtures.tokenizer(folder)
    let cases = try PipelineFixtures.cases(folder)
    var matched = 0
    for golden in cases {
      let label =
        "\(folder.lastPathComponent) \"\(golden.name)\" text=\(printable(golden.text).prefix(60)) pair=\(golden.pair.map { printable($0) } ?? "nil") max=\(golden.maxLength.map(String.init) ?? "nil")"
      if golden.error != nil {
        #expect(throws: (any Error).self, "\(label): expected an error") {
          _ = try tokenizer.encode(golden.text, pair: golden.pair, maxLength: golden.maxLength, truncate: true)
        }
        matched += 1
        continue
      }
      let encoding: Encoding
      do {
        encoding = try tokenizer.encode(golden.text, pair: golden.pair, maxLength: golden.maxLength, truncate: true)
      } catch {
        Issue.record("\(label): threw \(error)")
        continue
      }
      var problems: [String] = []
      if let ids = golden.ids, ids != encoding.ids { problems.append("ids \(encoding.ids) != \(ids)") }
      if let tokens = golden.tokens, tokens != encoding.tokens {
        problems.append("tokens \(encoding.tokens.map { printable($0) }) != \(tokens.map { printable($0) })")
      }
      if let types = golden.typeIDs, types != encoding.segments {
        problems.append("type ids \(encoding.segments) != \(types)")
      }
      if let offsets = golden.offsets {
        let ours = encoding.offsets.map { r in r.map { [$0.lowerBound, $0.upperBound] } ?? [0, 0] }
        if ours != offsets { problems.append("offsets \(ours) != \(offsets)") }
      }
      if problems.isEmpty {
        matched += 1
      } else {
        Issue.record("\(label): \(problems.joined(separator: "; "))")
      }
    }
    print("TokenizerJSON goldens \(folder.lastPathComponent): \(matched) of \(cases.count) cases match")
    #expect(matched == cases.count)
  }
}
