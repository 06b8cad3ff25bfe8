import CZlib
import Foundation
import Testing

@testable import BertScope

/// `Tests/Fixtures/tokenizer-models`: goldens of `scripts/goldens/make_tokenizer_model_goldens.py`
/// (tokenizers 0.23.3 `Model.tokenize`, offsets as scalar indices; sentencepiece nmt_nfkc charsmap).
enum TokenizerModelFixtures {
  static let directory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/tokenizer-models")

  static func load(_ name: String) throws -> [String: Any] {
    let data = try Data(contentsOf: directory.appendingPathComponent(name + ".json"))
    return try JSONSerialization.jsonObject(with: data) as! [String: Any]
  }

  /// The variants of a model family: name, the model object, the cases.
  static func variants(_ family: String) throws -> [(name: String, model: [String: Any], cases: [[String: Any]])] {
    let doc = try load(family)
    let base = doc["model"] as! [String: Any]
    return (doc["variants"] as! [[String: Any]]).map { variant in
      var model = base
      for (key, value) in variant["changes"] as! [String: Any] {
        if key == "add_vocab" {
          var vocab = base["vocab"] as! [String: Any]
          for (token, id) in value as! [String: Any] { vocab[token] = id }
          model["vocab"] = vocab
        } else {
          model[key] = value
        }
      }
      return ("\(family)/\(variant["name"] as! String)", model, variant["cases"] as! [[String: Any]])
    }
  }

  static func describe(_ word: String) -> String {
    word.unicodeScalars.count > 30 ? "\(word.unicodeScalars.count) scalars" : word.debugDescription
  }
}

@Suite("TokenizerModel goldens (tokenizers 0.23.3)")
struct TokenizerModelGoldenTests {
  static let families = ["wordpiece", "bpe-bytelevel", "bpe-char", "unigram", "unigram-bytefallback"]

  @Test("every golden word tokenizes to the same ids and scalar ranges", arguments: families)
  func goldens(family: String) throws {
    for (name, json, cases) in try TokenizerModelFixtures.variants(family) {
      let model = try SubwordModels.make(json: json, path: name)
      var mismatches: [String] = []
      for c in cases {
        let word = c["word"] as! String
        let expected = (c["tokens"] as! [Any]).map { JSONValue.integer($0)! }
        var out: [SubwordToken] = []
        model.tokenize(ArraySlice(Array(word.unicodeScalars)), into: &out)
        let got = out.flatMap { [Int($0.id), $0.range.lowerBound, $0.range.upperBound] }
        if got != expected {
          mismatches.append("\(TokenizerModelFixtures.describe(word)): got \(got), want \(expected)")
        }
      }
      #expect(cases.count >= 150, "\(name)")
      #expect(
        mismatches.isEmpty,
        "\(name): \(mismatches.count) of \(cases.count) words differ:\n\(mismatches.prefix(8).joined(separator: "\n"))")
    }
  }

  @Test("id(of:) and token(of:) agree over the whole vocabulary", arguments: families)
  func vocabularyRoundTrip(family: String) throws {
    for (name, json, _) in try TokenizerModelFixtures.variants(family) {
      let model = try SubwordModels.make(json: json, path: name)
      #expect(model.vocabularySize > 100)
      for id in 0..<Int32(model.vocabularySize) {
        guard let token = model.token(of: id) else { continue }
        #expect(model.id(of: token) == id, "\(name): \(token.debugDescription)")
      }
      #expect(model.token(of: -1) == nil)
      #expect(model.token(of: Int32(model.vocabularySize)) == nil)
    }
  }

  @Test("a word that slices a larger array keeps its ranges relative to the word")
  func sliceRanges() throws {
    for family in Self.families {
      for (name, json, cases) in try TokenizerModelFixtures.variants(family) {
        let model = try SubwordModels.make(json: json, path: name)
        for c in cases.prefix(40) {
          let scalars = Array((c["word"] as! String).unicodeScalars)
          let padded = [" ", "x"] + scalars + ["y"]
          var direct: [SubwordToken] = []
          var sliced: [SubwordToken] = []
          model.tokenize(ArraySlice(scalars), into: &direct)
          model.tokenize(padded[2..<(2 + scalars.count)], into: &sliced)
          #expect(direct == sliced, "\(name)")
        }
      }
    }
  }
}

@Suite("TokenizerModel Precompiled charsmap (tokenizers 0.23.3)")
struct TokenizerModelPrecompiledTests {
  static func charsMap() throws -> (PrecompiledCharsMap, [[String: Any]]) {
    let doc = try TokenizerModelFixtures.load("precompiled-nmt-nfkc")
    let compressed = [UInt8](Data(base64Encoded: doc["precompiled_charsmap_zlib"] as! String)!)
    var size = uLong(JSONValue.integer(doc["charsmap_bytes"]!)!)
    var raw = [UInt8](repeating: 0, count: Int(size))
    let status = uncompress(&raw, &size, compressed, uLong(compressed.count))
    #expect(status == Z_OK)
    return (try PrecompiledCharsMap(bytes: raw, path: "nmt_nfkc"), doc["cases"] as! [[String: Any]])
  }

  @Test("normalize_str and the alignment of every output scalar match tokenizers")
  func goldens() throws {
    let (map, cases) = try Self.charsMap()
    #expect(cases.count >= 300)
    var mismatches: [String] = []
    for c in cases {
      let input = Array((c["input"] as! String).unicodeScalars)
      let output = Array((c["output"] as! String).unicodeScalars)
      let offsets = (c["offsets"] as! [[Any]]).map {
        Range(uncheckedBounds: (JSONValue.integer($0[0])!, JSONValue.integer($0[1])!))
      }
      let got = map.transform(input)
      let gotOffsets = got.map { $0.source < 0 ? 0..<0 : $0.source..<($0.source + 1) }
      if got.map(\.scalar) != output || gotOffsets != offsets {
        mismatches.append(
          "\(input.map(\.hex)): got \(got.map(\.scalar.hex)) \(gotOffsets), want \(output.map(\.hex)) \(offsets)")
      }
      #expect(map.normalize(input) == got.map(\.scalar))
    }
    #expect(
      mismatches.isEmpty,
      "\(mismatches.count) of \(cases.count) strings differ:\n\(mismatches.prefix(8).joined(separator: "\n"))")
  }

  @Test("the base64 form reads the same map; malformed maps are refused, odd tries never trap")
  func malformed() throws {
    let (map, _) = try Self.charsMap()
    #expect(map.trieUnitCount > 1000)
    #expect(throws: BertScopeError.self) { try PrecompiledCharsMap(base64: "not base64!", path: "p") }
    #expect(throws: BertScopeError.self) { try PrecompiledCharsMap(bytes: [1, 0], path: "p") }
    #expect(throws: BertScopeError.self) { try PrecompiledCharsMap(bytes: [16, 0, 0, 0, 1, 2, 3, 4], path: "p") }
    #expect(throws: BertScopeError.self) { try PrecompiledCharsMap(bytes: [0, 0, 0, 0, 0xFF], path: "p") }
    let empty = try PrecompiledCharsMap(bytes: [0, 0, 0, 0], path: "p")
    #expect(empty.normalize(Array("abc".unicodeScalars)) == Array("abc".unicodeScalars))
    let b64 = try PrecompiledCharsMap(base64: Data([0, 0, 0, 0, 0x61]).base64EncodedString(), path: "p")
    #expect(b64.trieUnitCount == 0)
    // Random units: lookups must stay in bounds whatever the trie says.
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<50 {
      let units = (0..<64).map { _ in UInt32.random(in: 0...UInt32.max, using: &rng) }
      var bytes: [UInt8] = [0, 1, 0, 0]
      for u in units { bytes += [UInt8(u & 0xFF), UInt8(u >> 8 & 0xFF), UInt8(u >> 16 & 0xFF), UInt8(u >> 24)] }
      bytes += Array("ab\u{0}cd\u{0}".utf8)
      let m = try PrecompiledCharsMap(bytes: bytes, path: "p")
      _ = m.transform(Array("Ａé\u{301}ﬁ😀\u{0}x".unicodeScalars))
    }
  }
}

@Suite("TokenizerModel malformed model objects")
struct TokenizerModelMalformedTests {
  static func problem(_ json: [String: Any]) -> String? {
    do {
      _ = try SubwordModels.make(json: json, path: "t.json")
      return nil
    } catch let error as BertScopeError {
      guard case .badModelFile(let path, let problem) = error, path == "t.json" else { return "wrong error \(error)" }
      return problem
    } catch {
      return "wrong error \(error)"
    }
  }

  @Test("each malformed model gives a badModelFile error that says what is wrong")
  func errors() {
    let bpeVocab: [String: Any] = ["<unk>": 0, "a": 1, "b": 2, "ab": 3]
    let cases: [([String: Any], String)] = [
      (["type": "WordLevel", "vocab": [:] as [String: Any]], "not supported (supported: BPE, Unigram, WordPiece)"),
      (["type": 3], "\"type\" is not a string"),
      (["unk_token": "x"], "no \"type\""),
      (["type": "BPE", "merges": [Any]()], "no \"vocab\""),
      (["type": "BPE", "vocab": bpeVocab], "no \"merges\""),
      (["type": "BPE", "vocab": [String: Any](), "merges": [Any]()], "\"vocab\" is empty"),
      (["type": "BPE", "vocab": [1, 2], "merges": [Any]()], "not an object"),
      (["type": "BPE", "vocab": ["a": "x"], "merges": [Any]()], "is not an integer"),
      (["type": "BPE", "vocab": ["a": 1.5], "merges": [Any]()], "is not an integer"),
      (["type": "BPE", "vocab": ["a": true], "merges": [Any]()], "is not an integer"),
      (["type": "BPE", "vocab": ["a": -1], "merges": [Any]()], "out of range"),
      (["type": "BPE", "vocab": ["a": 4_000_000_000], "merges": [Any]()], "out of range"),
      (["type": "BPE", "vocab": ["a": 0, "b": 0], "merges": [Any]()], "share the id 0"),
      (["type": "BPE", "vocab": bpeVocab, "merges": ["a c"]], "\"c\", which is not in the vocabulary"),
      (["type": "BPE", "vocab": bpeVocab, "merges": [["a", "c"]]], "\"c\", which is not in the vocabulary"),
      (["type": "BPE", "vocab": bpeVocab, "merges": ["b a"]], "gives \"ba\", which is not in the vocabulary"),
      (["type": "BPE", "vocab": bpeVocab, "merges": ["a b c"]], "not two tokens"),
      (["type": "BPE", "vocab": bpeVocab, "merges": ["ab"]], "not two tokens"),
      (["type": "BPE", "vocab": bpeVocab, "merges": [["a", "b", "c"]]], "neither"),
      (["type": "BPE", "vocab": bpeVocab, "merges": ["a b", ["a", "b"]]], "neither"),
      (["type": "BPE", "vocab": bpeVocab, "merges": "a b"], "not an array"),
      (["type": "BPE", "vocab": bpeVocab, "merges": [Any](), "fuse_unk": "yes"], "\"fuse_unk\" is not a boolean"),
      (["type": "BPE", "vocab": bpeVocab, "merges": [Any](), "unk_token": 5], "\"unk_token\" is not a string"),
      (["type": "BPE", "vocab": bpeVocab, "merges": [Any](), "dropout": 2.0], "dropout"),
      (
        ["type": "BPE", "vocab": bpeVocab, "merges": ["a b"], "continuing_subword_prefix": "###"],
        "shorter than continuing_subword_prefix"
      ),
      (["type": "WordPiece"], "no \"vocab\""),
      (["type": "WordPiece", "vocab": ["a": 0], "max_input_chars_per_word": -3], "max_input_chars_per_word"),
      (["type": "Unigram", "vocab": [Any]()], "\"vocab\" is empty"),
      (["type": "Unigram", "vocab": ["a": 0]], "not a list"),
      (["type": "Unigram", "vocab": [["a"]]], "vocab entry 0 is not [piece, score]"),
      (["type": "Unigram", "vocab": [["a", "x"]]], "vocab entry 0 is not [piece, score]"),
      (["type": "Unigram", "vocab": [["a", -1.0], ["b", Double.nan]]], "is nan"),
      (["type": "Unigram", "vocab": [["a", -Double.infinity]]], "is -inf"),
      (["type": "Unigram", "vocab": [["a", -1.0]], "unk_id": 1], "\"unk_id\" is not an id"),
      (["type": "Unigram", "vocab": [["a", -1.0]], "unk_id": -1], "\"unk_id\" is not an id"),
      (["type": "Unigram", "vocab": [["a", -1.0]], "unk_id": "0"], "\"unk_id\" is not an id"),
    ]
    for (json, expected) in cases {
      let problem = Self.problem(json)
      #expect(problem?.contains(expected) == true, "\(json): \(problem ?? "accepted")")
    }
  }

  @Test("the last of two merges of the same pair counts; old files without type are read")
  func rules() throws {
    // "a b" first ranks 0, then again 2: the later rank counts, so "b c" (1) merges first.
    let model = try SubwordModels.make(
      json: ["vocab": ["a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4], "merges": ["a b", "b c", "a b"]], path: "t")
    var out: [SubwordToken] = []
    model.tokenize(ArraySlice(Array("abc".unicodeScalars)), into: &out)
    #expect(out == [SubwordToken(id: 0, range: 0..<1), SubwordToken(id: 4, range: 1..<3)])
    let wp = try SubwordModels.make(json: ["vocab": ["a": 0, "[UNK]": 1], "max_input_chars_per_word": 100], path: "t")
    #expect(wp is WordPieceJSONModel)
    let uni = try SubwordModels.make(json: ["vocab": [["a", -1.0]]], path: "t")
    #expect(uni is UnigramModel)
  }

  @Test("hand-built cases: ignore_merges, fuse_unk, byte fallback, no unk, exact scalars")
  func handBuilt() throws {
    func run(_ json: [String: Any], _ word: String) throws -> [[Int]] {
      let model = try SubwordModels.make(json: json, path: "t")
      var out: [SubwordToken] = []
      model.tokenize(ArraySlice(Array(word.unicodeScalars)), into: &out)
      return out.map { [Int($0.id), $0.range.lowerBound, $0.range.upperBound] }
    }
    let vocab: [String: Any] = ["<unk>": 0, "a": 1, "b": 2, "ab": 3, "abab": 4, "<0x61>": 5, "<0xC3>": 6, "<0xA9>": 7]
    let bpe: [String: Any] = ["type": "BPE", "vocab": vocab, "merges": ["a b"], "unk_token": "<unk>"]
    #expect(try run(bpe, "abab") == [[3, 0, 2], [3, 2, 4]])
    #expect(try run(bpe.merging(["ignore_merges": true]) { $1 }, "abab") == [[4, 0, 4]])
    #expect(try run(bpe, "xyab") == [[0, 0, 1], [0, 1, 2], [3, 2, 4]])
    #expect(try run(bpe.merging(["fuse_unk": true]) { $1 }, "xyab") == [[0, 0, 2], [3, 2, 4]])
    #expect(try run(bpe.merging(["byte_fallback": true]) { $1 }, "é") == [[6, 0, 1], [7, 0, 1]])
    // A dropped scalar takes no bytes: tokenizers' offsets (and so these ranges) shift left.
    #expect(try run(bpe.merging(["unk_token": NSNull()]) { $1 }, "xab") == [[3, 0, 2]])
    // e + combining acute is not "é" to the vocabulary.
    #expect(try run(["type": "WordPiece", "vocab": ["é": 0, "[UNK]": 1]], "e\u{301}") == [[1, 0, 2]])
    #expect(try run(["type": "WordPiece", "vocab": ["é": 0, "[UNK]": 1]], "é") == [[0, 0, 1]])
    #expect(try run(["type": "WordPiece", "vocab": ["é": 0]], "x") == [])
    let uni: [String: Any] = [
      "type": "Unigram", "vocab": [["<unk>", 0.0], ["a", -1.0], ["b", -1.0], ["ab", -1.5]], "unk_id": 0,
    ]
    #expect(try run(uni, "abxyb") == [[3, 0, 2], [0, 2, 4], [2, 4, 5]])
    #expect(try run(uni.merging(["unk_id": NSNull()]) { $1 }, "abxyb") == [[3, 0, 2], [2, 4, 5]])
    #expect(try run(uni, "") == [])
  }

  @Test("tokenizers' corner cases (checked with tokenizers 0.23.3 by hand)")
  func cornerCases() throws {
    func run(_ json: [String: Any], _ word: String) throws -> [[Int]] {
      let model = try SubwordModels.make(json: json, path: "t")
      var out: [SubwordToken] = []
      model.tokenize(ArraySlice(Array(word.unicodeScalars)), into: &out)
      return out.map { [Int($0.id), $0.range.lowerBound, $0.range.upperBound] }
    }
    // Unigram: a duplicate piece means its last id; the unknown piece written literally fuses
    // with the unknown scalars around it; byte-fallback tokens cover the whole fused string.
    let uni: [String: Any] = [
      "type": "Unigram", "unk_id": 0, "byte_fallback": true,
      "vocab": [
        ["<unk>", 0.0], ["a", -1.0], ["b", -1.0], ["a", -0.5], ["<0xC3>", -5.0], ["<0xA9>", -5.0], ["<0x78>", -5.0],
      ],
    ]
    #expect(try run(uni, "a<unk>éx") == [[3, 0, 1], [0, 1, 8]])
    #expect(try run(uni, "éé") == [[4, 0, 2], [5, 0, 2], [4, 0, 2], [5, 0, 2]])
    #expect(try run(uni, "éa") == [[4, 0, 1], [5, 0, 1], [3, 1, 2]])
    #expect(try run(uni, "é😀") == [[0, 0, 2]])
    #expect(try run(uni, "aa") == [[3, 0, 1], [3, 1, 2]])
    // BPE: merges may involve the unknown token.
    let bpe: [String: Any] = [
      "type": "BPE", "unk_token": "<unk>", "vocab": ["<unk>": 0, "a": 1, "b": 2, "<unk>a": 3],
      "merges": [["<unk>", "a"]],
    ]
    #expect(try run(bpe, "xab") == [[3, 0, 2], [2, 2, 3]])
    #expect(try run(bpe, "xxab") == [[0, 0, 1], [3, 1, 3], [2, 3, 4]])
    // WordPiece with an empty continuing_subword_prefix.
    let wp: [String: Any] = [
      "type": "WordPiece", "continuing_subword_prefix": "", "vocab": ["a": 0, "b": 1, "ab": 2, "[UNK]": 3],
    ]
    #expect(try run(wp, "abba") == [[2, 0, 2], [1, 2, 3], [0, 3, 4]])
  }
}

@Suite("TokenizerModel exact vocabulary keys")
struct TokenizerModelExactVocabularyTests {
  @Test("ExactVocabulary keeps canonically equivalent keys and a leading U+FEFF apart")
  func exactKeys() throws {
    let text = """
      \u{FEFF}{"version": "1.0", "added_tokens": [{"id": 0, "content": "[UNK]", "x": [1, [2, {"a": "}"}]]}],
       "normalizer": null, "model": {"type": "WordPiece", "unk_token": "[UNK]", "n": -1.5e3,
       "vocab": {"[UNK]": 0, "\u{E9}": 1, "e\u{301}": 2, "\u{FEFF}x": 3, "x": 4, "a\\"b\\\\": 5,
         "\\ud83d\\ude00": 6, "\\u00e9\\u0301": 7, "x": 8}, "max_input_chars_per_word": 100}}
      """
    let data = Data(text.utf8)
    let entries = try #require(ExactVocabulary.entries(tokenizerJSON: data))
    let scalars = entries.map { $0.token.unicodeScalars.map(\.value) }
    #expect(
      scalars == [
        [0x5B, 0x55, 0x4E, 0x4B, 0x5D], [0xE9], [0x65, 0x301], [0xFEFF, 0x78], [0x78], [0x61, 0x22, 0x62, 0x5C],
        [0x1F600], [0xE9, 0x301],
      ])
    #expect(entries.map(\.id) == [0, 1, 2, 3, 8, 5, 6, 7])
    // JSONSerialization itself merges "é" with "e\u{301}" and strips the U+FEFF.
    let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    let model = object["model"] as! [String: Any]
    #expect((model["vocab"] as! [String: Any]).count < entries.count)
    let wp = try SubwordModels.make(json: model, path: "t", exactVocabulary: entries)
    #expect(wp.id(of: "e\u{301}") == 2)
    #expect(wp.id(of: "\u{E9}") == 1)
    #expect(wp.id(of: "\u{FEFF}x") == 3)
    #expect(wp.id(of: "x") == 8)
    var out: [SubwordToken] = []
    wp.tokenize(ArraySlice(Array("e\u{301}".unicodeScalars)), into: &out)
    #expect(out == [SubwordToken(id: 2, range: 0..<2)])
  }

  @Test("ExactVocabulary agrees with JSONSerialization on the fixtures; nil where it does not apply")
  func fixturesAndNil() throws {
    for family in ["wordpiece", "bpe-bytelevel", "bpe-char"] {
      let data = try Data(contentsOf: TokenizerModelFixtures.directory.appendingPathComponent(family + ".json"))
      let entries = try #require(ExactVocabulary.entries(tokenizerJSON: data))
      let vocab =
        try TokenizerModelFixtures.load(family)["model"].flatMap { ($0 as! [String: Any])["vocab"] } as! [String: Any]
      #expect(entries.count == vocab.count)
      for (token, id) in entries { #expect(JSONValue.integer(vocab[token]!) == id) }
    }
    let unigram = try Data(contentsOf: TokenizerModelFixtures.directory.appendingPathComponent("unigram.json"))
    #expect(ExactVocabulary.entries(tokenizerJSON: unigram) == nil)
    for bad in [
      "", "{", "{\"model\": {\"vocab\": {\"a\": 1,", "{\"model\": {\"vocab\": {\"a\": \"x\"}}}", "[1]",
      "{\"model\": {\"vocab\": {\"\\ud800\": 1}}}", "{\"model\": {\"vocab\": {\"\\u12\": 1}}}",
    ] {
      #expect(ExactVocabulary.entries(tokenizerJSON: Data(bad.utf8)) == nil, "\(bad)")
    }
    #expect(ExactVocabulary.entries(tokenizerJSON: Data("{\"model\": {\"type\": \"BPE\"}}".utf8)) == nil)
    let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    #expect(
      ExactVocabulary.entries(tokenizerJSON: Data("{\"a\": \(deep), \"model\": {\"vocab\": {\"q\": 1}}}".utf8))?.count
        == 1)
  }
}
