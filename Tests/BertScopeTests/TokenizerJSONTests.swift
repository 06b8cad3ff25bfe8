import Foundation
import Testing

@testable import BertScope

/// Builds small `tokenizer.json` documents for the tests.
enum TinyTokenizerJSON {
  /// A WordPiece model over `words` (after the specials).
  static func model(_ words: [String] = ["hello", "world", "##s", "a", "b", ",", "!"]) -> String {
    var entries: [String: Int] = [:]
    for (id, token) in (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words).enumerated() { entries[token] = id }
    let data = try! JSONSerialization.data(withJSONObject: entries, options: [.sortedKeys])
    let vocab = String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    return
      ###"{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": {\###(vocab)}}"###
  }

  static let template =
    #"{"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}], "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}], "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}}"#

  static let addedTokens =
    #"[{"id": 2, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}, {"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}, {"id": 4, "content": "[MASK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}]"#

  /// A whole document.
  static func document(
    normalizer: String =
      #"{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true}"#,
    preTokenizer: String = #"{"type": "BertPreTokenizer"}"#, postProcessor: String = template, model: String = model(),
    addedTokens: String = addedTokens
  ) -> String {
    ###"{"version": "1.0", "truncation": null, "padding": null, "added_tokens": \###(addedTokens), "normalizer": \###(normalizer), "pre_tokenizer": \###(preTokenizer), "post_processor": \###(postProcessor), "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true}, "model": \###(model)}"###
  }

  static func tokenizer(_ json: String, config: String? = nil, maxPositions: Int = 512) throws -> PipelineTokenizer {
    try PipelineTokenizer(
      json: Data(json.utf8), path: "tokenizer.json", config: config.map { Data($0.utf8) }, maxPositions: maxPositions)
  }

  /// The `badModelFile` problem `body` throws, or nil.
  static func problem(_ body: () throws -> Void) -> String? {
    do {
      try body()
      return nil
    } catch BertScopeError.badModelFile(_, let problem) {
      return problem
    } catch {
      return "other error: \(error)"
    }
  }
}

@Suite("TokenizerJSON pipeline")
struct TokenizerJSONTests {
  @Test("a BERT pipeline encodes with specials, segments and offsets")
  func bertPipeline() throws {
    let t = try TinyTokenizerJSON.tokenizer(TinyTokenizerJSON.document())
    let e = try t.encode("Hello, worlds!", pair: "a b")
    #expect(e.tokens == ["[CLS]", "hello", ",", "world", "##s", "!", "[SEP]", "a", "b", "[SEP]"])
    #expect(e.segments == [0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
    #expect(e.offsets == [nil, 0..<5, 5..<6, 7..<12, 12..<13, 13..<14, nil, 0..<1, 2..<3, nil])
    #expect(t.clsID == 2 && t.sepID == 3 && t.padID == 0 && t.unknownID == 1 && t.maskID == 4)
    #expect(t.description == "BertNormalizer → BertPreTokenizer → WordPiece → TemplateProcessing")
    #expect(t.vocabulary.count == 12)
    #expect(t.pieces("hello [MASK]").map(\.token) == ["hello", "[MASK]"])
  }

  @Test("truncation follows tokenizers' longest_first and counts the specials")
  func truncation() throws {
    let t = try TinyTokenizerJSON.tokenizer(TinyTokenizerJSON.document())
    let e = try t.encode("hello hello hello world", pair: "a b a", maxLength: 6)
    #expect(e.tokens == ["[CLS]", "hello", "hello", "[SEP]", "a", "[SEP]"])
    #expect(e.truncatedTokens == 4)
    #expect(throws: BertScopeError.self) { try t.encode("hello hello hello", maxLength: 4, truncate: false) }
    #expect(try t.encode("hello world", pair: "").tokens == ["[CLS]", "hello", "world", "[SEP]"])
    #expect(PipelineTokenizer.longestFirst(first: 10, second: 3, budget: 8) == (5, 3))
    #expect(PipelineTokenizer.longestFirst(first: 10, second: 10, budget: 7) == (3, 4))
  }

  @Test("tokenizer_config.json: model_max_length and special-token names, strings or objects")
  func config() throws {
    let config = #"{"model_max_length": 128, "cls_token": {"content": "[SEP]"}, "mask_token": "[CLS]"}"#
    let t = try TinyTokenizerJSON.tokenizer(TinyTokenizerJSON.document(), config: config, maxPositions: 64)
    #expect(t.maxLength == 64)
    #expect(t.clsID == 3)
    #expect(t.maskID == 2)
  }

  @Test("unsupported component types are named, with the supported ones and the JSON path")
  func unsupportedTypes() {
    let n = TinyTokenizerJSON.problem {
      _ = try TinyTokenizerJSON.tokenizer(
        TinyTokenizerJSON.document(
          normalizer: #"{"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Fancy"}]}"#))
    }
    #expect(n?.contains("normalizer.normalizers[1]") == true)
    #expect(n?.contains("\"Fancy\"") == true)
    #expect(n?.contains("BertNormalizer") == true)
    let p = TinyTokenizerJSON.problem {
      _ = try TinyTokenizerJSON.tokenizer(TinyTokenizerJSON.document(preTokenizer: #"{"type": "UnicodeScripts"}"#))
    }
    #expect(p?.contains("pre_tokenizer") == true && p?.contains("UnicodeScripts") == true)
    let q = TinyTokenizerJSON.problem {
      _ = try TinyTokenizerJSON.tokenizer(TinyTokenizerJSON.document(postProcessor: #"{"type": "Magic"}"#))
    }
    #expect(q?.contains("post_processor") == true && q?.contains("TemplateProcessing") == true)
    let r = TinyTokenizerJSON.problem {
      _ = try TinyTokenizerJSON.tokenizer(
        TinyTokenizerJSON.document(
          normalizer: #"{"type": "Replace", "pattern": {"Regex": "(?<name>x)\\1"}, "content": " "}"#))
    }
    #expect(r?.contains("normalizer.pattern.Regex") == true && r?.contains("not supported") == true)
  }

  @Test("malformed documents give clear errors")
  func malformed() {
    #expect(TinyTokenizerJSON.problem { _ = try TinyTokenizerJSON.tokenizer("{not json") } == "not valid JSON")
    #expect(TinyTokenizerJSON.problem { _ = try TinyTokenizerJSON.tokenizer("[1, 2]") } == "expected a JSON object")
    let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    #expect(TinyTokenizerJSON.problem { _ = try TinyTokenizerJSON.tokenizer(deep) }?.contains("nested") == true)
    let unknownSpecial = TinyTokenizerJSON.template.replacingOccurrences(
      of: #""id": "[SEP]", "type_id": 1"#, with: #""id": "[EOS]", "type_id": 1"#)
    let u = TinyTokenizerJSON.problem {
      _ = try TinyTokenizerJSON.tokenizer(TinyTokenizerJSON.document(postProcessor: unknownSpecial))
    }
    #expect(u?.contains("[EOS]") == true && u?.contains("post_processor.pair[4].SpecialToken") == true)
    let empty = #"{"type": "TemplateProcessing", "single": [], "pair": [], "special_tokens": {}}"#
    #expect(
      TinyTokenizerJSON.problem {
        _ = try TinyTokenizerJSON.tokenizer(TinyTokenizerJSON.document(postProcessor: empty))
      }?
      .contains("empty") == true)
    let badID = #"{"type": "BertProcessing", "sep": ["[SEP]", 99999], "cls": ["[CLS]", 2]}"#
    #expect(
      TinyTokenizerJSON.problem {
        _ = try TinyTokenizerJSON.tokenizer(TinyTokenizerJSON.document(postProcessor: badID))
      }?
      .contains("post_processor.sep[1]") == true)
    let wrongType = #"{"type": "BertNormalizer", "lowercase": "yes"}"#
    #expect(
      TinyTokenizerJSON.problem {
        _ = try TinyTokenizerJSON.tokenizer(TinyTokenizerJSON.document(normalizer: wrongType))
      }
        == "normalizer.lowercase: expected true or false")
  }

  @Test("added tokens: longest match first, lstrip/rstrip take spaces, single_word needs word boundaries")
  func addedTokens() throws {
    let added =
      #"[{"id": 12, "content": "<m>", "single_word": false, "lstrip": true, "rstrip": true, "normalized": false, "special": true}, {"id": 13, "content": "<m>x", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": false}, {"id": 14, "content": "ab", "single_word": true, "lstrip": false, "rstrip": false, "normalized": true, "special": false}]"#
    let t = try TinyTokenizerJSON.tokenizer(TinyTokenizerJSON.document(addedTokens: added))
    let e = try t.encode("hello <m> world <m>x ab cab", pair: nil)
    #expect(e.tokens == ["[CLS]", "hello", " <m> ", "world", "<m>x", "ab", "[UNK]", "[SEP]"])
    #expect(e.offsets[2] == 5..<10)
  }

  @Test("ByteLevel and Metaspace keep offsets on the source characters")
  func byteLevelAndMetaspace() throws {
    let chars = ByteLevelAlphabet.characters.map { String(Character($0)) }
    let words = Array(Set(chars + chars.map { "##" + $0 })).sorted()
    let t = try TinyTokenizerJSON.tokenizer(
      TinyTokenizerJSON.document(
        normalizer: "null",
        preTokenizer: #"{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}"#,
        postProcessor: #"{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}"#,
        model: TinyTokenizerJSON.model(words)))
    let e = try t.encode("é a", pair: nil)
    #expect(e.tokens == ["Ġ", "##Ã", "##©", "Ġ", "##a"])
    #expect(e.offsets == [0..<0, 0..<1, 0..<1, 2..<2, 2..<3])
    let m = try TinyTokenizerJSON.tokenizer(
      TinyTokenizerJSON.document(
        normalizer: #"{"type": "NFD"}"#,
        preTokenizer: #"{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}"#,
        postProcessor: "null", model: TinyTokenizerJSON.model(["▁", "##a", "##b", "##é", "##\u{301}", "##e"])))
    let f = try m.encode("ab é", pair: nil)
    #expect(f.tokens == ["▁", "##a", "##b", "▁", "##e", "##\u{301}"])
    #expect(f.offsets == [0..<1, 0..<1, 1..<2, 2..<3, 3..<4, 3..<4])
  }
}

@Suite("TokenizerJSON fuzz seeds")
struct TokenizerJSONSeedTests {
  @Test("every seed of fuzz-tokenizer-json loads or fails with a clear error, and encodes")
  func seeds() throws {
    let folder = PipelineFixtures.root.deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Fuzz/Corpus/fuzz-tokenizer-json")
    let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    #expect(names.count >= 10)
    var loaded = 0
    for name in names {
      let data = try Data(contentsOf: folder.appendingPathComponent(name)).dropFirst(2)
      do {
        let t = try PipelineTokenizer(json: Data(data), path: name, config: nil, maxPositions: 64)
        loaded += 1
        let e = try t.encode("Hello, world! café 日本 [MASK] <s>", pair: "a b", maxLength: 10)
        #expect(e.count <= 10, "\(name)")
      } catch let error as BertScopeError {
        #expect(!"\(error)".contains("\n"), "\(name)")
      }
    }
    #expect(loaded >= 10)
  }
}
