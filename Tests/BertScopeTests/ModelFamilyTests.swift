import Foundation
import Testing

@testable import BertScope
@testable import BertScopeAnalysis

/// Every supported `model_type` against Hugging Face `transformers` 5 (eager attention,
/// float32), on every backend: tiny random checkpoints saved by `save_pretrained`, each with
/// its own `tokenizer.json` (`scripts/goldens/make_family_goldens.py`). The folders are
/// loaded as a user's would be, so each case also checks that the folder's tokenizer gives
/// the ids transformers fed the model.
@Suite("Model families match Hugging Face")
struct ModelFamilyTests {
  /// (fixture folder = golden folder, family).
  static let bases: [(folder: String, family: ModelFamily)] = [
    ("tiny-roberta", .roberta), ("tiny-xlm-roberta", .xlmRoberta), ("tiny-distilbert", .distilbert),
    ("tiny-electra", .electra), ("tiny-bert-json", .bert),
  ]
  static let baseCases = bases.flatMap { b in
    ["single", "pair", "max64", "batch", "pad-in-text"].map { (b.folder, $0) }
  }
  static let heads = ["tiny-roberta-cls", "tiny-distilbert-cls", "tiny-electra-cls"]

  /// The golden texts of `golden` tokenized by `model`'s own tokenizer must be the ids
  /// transformers used, and the vocabulary must name them as transformers does.
  static func checkTokenizer(_ model: BertModel, _ golden: GoldenCase) throws {
    for (b, text) in golden.texts.enumerated() {
      let e = try model.tokenizer.encode(text[0], pair: text.count > 1 ? text[1] : nil)
      #expect(e.ids == golden.ids[b], "\(golden.folder.path) #\(b): ids")
      // case.json's tokens are transformers' convert_ids_to_tokens (an unknown piece is
      // `<unk>` there, while the encoding's token is the text it stands for).
      if b < golden.tokens.count {
        #expect(e.ids.map { model.vocabulary.token($0) } == golden.tokens[b], "\(golden.folder.path) #\(b): tokens")
      }
    }
  }

  @Test(
    "tiny checkpoints of every family: single, pair, maximum length, mixed batch, a pad token in the text",
    arguments: baseCases)
  func families(_ item: (folder: String, caseName: String)) async throws {
    let model = try await ModelCache.shared.model(Fixtures.model(item.folder))
    #expect(model.tokenizer.isPipeline, "\(item.folder) has tokenizer.json and no vocab.txt")
    let golden = try GoldenCase(Fixtures.golden(item.folder, item.caseName))
    try Self.checkTokenizer(model, golden)
    for backend in TestBackends.available {
      try EncoderGoldenTests.check(model: model, golden: golden, backend: backend)
    }
  }

  @Test("each family's sequence-classification head gives transformers' logits", arguments: heads)
  func classificationHeads(_ folder: String) async throws {
    let model = try await ModelCache.shared.model(Fixtures.model(folder))
    #expect(model.config.labels == ["neg", "pos"])
    for backend in TestBackends.available {
      let encoder = try Encoder(model: model, backend: backend)
      #expect(encoder.hasClassifier)
      for name in ["single", "pair", "batch"] {
        let golden = try GoldenCase(Fixtures.golden(folder, name))
        try Self.checkTokenizer(model, golden)
        let out = try encoder.encode(golden.encodings)
        for b in 0..<golden.lengths.count {
          expectClose(
            out.hiddenState(b), try golden.array("hidden_b\(b).npy").values, atol: 1e-4, "\(folder) \(name) #\(b)")
        }
        expectClose(
          try encoder.logits(out), try golden.array("logits.npy").values, atol: 1e-4,
          "logits \(folder) \(name) \(backend)")
      }
    }
  }

  /// The default model as transformers 5 saves it: `config.json`, `model.safetensors` and the
  /// `tokenizer.json` + `tokenizer_config.json` of `Tests/Fixtures/tokenizers/wordpiece` (the
  /// installed model re-saved by `save_pretrained`), no `vocab.txt`.
  @Test(
    "all-MiniLM-L6-v2 re-saved without vocab.txt: its tokenizer.json gives the goldens' ids, and the encoder their outputs",
    .enabled(if: Fixtures.hasMiniLM, "the default model is not installed (scripts/setup installs it)"))
  func miniLMWithoutVocab() async throws {
    let installed = try #require(Fixtures.miniLM)
    let dir = Fixtures.temporaryDirectory("bertscope-resaved")
    defer { try? FileManager.default.removeItem(at: dir) }
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for file in ["config.json", "model.safetensors"] {
      try FileManager.default.createSymbolicLink(
        at: dir.appendingPathComponent(file), withDestinationURL: installed.appendingPathComponent(file))
    }
    let saved = Fixtures.root.appendingPathComponent("tokenizers/wordpiece")
    for file in ["tokenizer.json", "tokenizer_config.json"] {
      try GzipFixture.read(saved.appendingPathComponent(file)).write(to: dir.appendingPathComponent(file))
    }
    let model = try BertModel.load(from: dir)
    #expect(model.tokenizer.isPipeline && model.tokenizer.maxLength == 512)
    for name in ["single", "pair", "batch", "long512"] {
      let golden = try GoldenCase(Fixtures.golden("minilm", name))
      try Self.checkTokenizer(model, golden)
      for backend in TestBackends.available {
        try EncoderGoldenTests.check(model: model, golden: golden, backend: backend)
      }
    }
  }

  /// CamemBERT is RoBERTa's architecture under its own `model_type`: the XLM-RoBERTa
  /// checkpoint relabelled must load as `camembert` and give the same goldens.
  @Test("model_type camembert loads as the RoBERTa architecture")
  func camembert() throws {
    let source = Fixtures.model("tiny-xlm-roberta")
    let dir = Fixtures.temporaryDirectory("bertscope-camembert")
    defer { try? FileManager.default.removeItem(at: dir) }
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    for file in ["model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
      try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: dir.appendingPathComponent(file))
    }
    let config = try String(contentsOf: source.appendingPathComponent("config.json"), encoding: .utf8)
    let relabelled = config.replacingOccurrences(of: "\"xlm-roberta\"", with: "\"camembert\"")
    #expect(relabelled != config)
    try relabelled.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
    let model = try BertModel.load(from: dir)
    #expect(model.config.family == .camembert && model.config.positionOffset == 2)
    let golden = try GoldenCase(Fixtures.golden("tiny-xlm-roberta", "pair"))
    try Self.checkTokenizer(model, golden)
    try EncoderGoldenTests.check(model: model, golden: golden, backend: .cpu)
  }

  @Test("what each family reads: positions after padding, token types, embedding width")
  func architecture() async throws {
    let roberta = try await ModelCache.shared.model(Fixtures.model("tiny-roberta"))
    #expect(roberta.config.family == .roberta)
    #expect(roberta.config.positionOffset == 2 && roberta.config.maxPositions == 64)
    #expect(!roberta.config.usesTokenTypes && roberta.tokenizer.maxLength == 64)
    #expect(roberta.vocabulary.token(roberta.tokenizer.clsID) == "<s>")
    #expect(roberta.vocabulary.token(roberta.tokenizer.sepID) == "</s>")
    let distil = try await ModelCache.shared.model(Fixtures.model("tiny-distilbert"))
    #expect(distil.config.family == .distilbert && distil.config.numLayers == 2 && distil.config.hiddenSize == 32)
    #expect(distil.weights.tokenTypeEmbeddings.allSatisfy { $0 == 0 })
    let electra = try await ModelCache.shared.model(Fixtures.model("tiny-electra"))
    #expect(electra.config.embeddingSize == 16 && electra.config.hiddenSize == 32)
    #expect(electra.weights.embeddingProjection?.weight.count == 32 * 16)
  }

  @Test("special tokens by role: the analyses' token kinds for <s> … </s></s> … </s>")
  func specialTokenRoles() async throws {
    let model = try await ModelCache.shared.model(Fixtures.model("tiny-roberta"))
    let e = try model.tokenizer.encode("Where is the cat?", pair: "It was in the house.")
    let kinds = TokenKind.kinds(of: e, tokenizer: model.tokenizer)
    #expect(kinds.first == .cls && kinds.last == .sep)
    #expect(kinds.filter { $0 == .sep }.count == 3, "RoBERTa separates a pair with </s></s>")
    #expect(kinds[e.tokens.firstIndex(of: "?")!] == .punctuation)
    #expect(
      TokenKind(token: "<s>") == .cls && TokenKind(token: "</s>") == .sep && TokenKind(token: "Ġ,") == .punctuation)
  }

  @Test("an unsupported model_type fails with one line naming it and the supported ones")
  func unsupportedTypes() throws {
    for type in ["deberta-v2", "mpnet", "albert", "some-new-thing"] {
      let json = """
        {"model_type": "\(type)", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1,
         "num_attention_heads": 2, "intermediate_size": 16}
        """
      #expect {
        try BertConfig(json: Data(json.utf8))
      } throws: { error in
        let text = "\(error)"
        return text.contains("model_type \"\(type)\" is not supported")
          && text.contains("bert, roberta, xlm-roberta, camembert, distilbert, electra") && !text.contains("\n")
      }
    }
  }

  @Test("config.json of each family: DistilBERT's names, ELECTRA's default embedding size, RoBERTa's pad")
  func configs() throws {
    let distil = try BertConfig(
      json: Data(
        #"{"model_type": "distilbert", "vocab_size": 10, "dim": 8, "n_layers": 3, "n_heads": 2, "hidden_dim": 16, "activation": "gelu", "max_position_embeddings": 20}"#
          .utf8))
    #expect(
      distil.hiddenSize == 8 && distil.numLayers == 3 && distil.intermediateSize == 16 && distil.typeVocabSize == 1)
    let electra = try BertConfig(
      json: Data(
        #"{"model_type": "electra", "vocab_size": 10, "hidden_size": 256, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 16}"#
          .utf8))
    #expect(electra.embeddingSize == 128, "ElectraConfig's default embedding_size")
    let roberta = try BertConfig(
      json: Data(
        #"{"model_type": "xlm-roberta", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 514, "pad_token_id": 1, "type_vocab_size": 1}"#
          .utf8))
    #expect(roberta.positionOffset == 2 && roberta.maxPositions == 512 && roberta.positionRows == 514)
    #expect(throws: BertScopeError.self) {
      try BertConfig(
        json: Data(
          #"{"model_type": "roberta", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 2, "pad_token_id": 1}"#
            .utf8))
    }
  }
}

@Suite("tokenizer.json vocabularies")
struct TokenizerJSONVocabularyTests {
  @Test("canonically equivalent tokens keep their own ids (Swift's String equality would merge them)")
  func equivalentKeys() throws {
    let json = """
      {"version": "1.0", "added_tokens": [], "normalizer": null,
       "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": null, "decoder": null,
       "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                 "max_input_chars_per_word": 100, "vocab": {"[UNK]": 0, "\\u00e9": 1, "e\\u0301": 2}}}
      """
    let tokenizer = try PipelineTokenizer(json: Data(json.utf8), path: "tokenizer.json", config: nil, maxPositions: 16)
    #expect(tokenizer.vocabulary.count == 3)
    #expect(try tokenizer.encode("\u{e9} e\u{301}").ids == [1, 2])
  }
}
