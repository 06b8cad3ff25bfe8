import Foundation
import Testing

@testable import BertScope

/// Model folders that are missing, truncated, lying or inconsistent: each gives one clear
/// error naming the file and the problem, never a crash.
@Suite("Model loading and bad model folders")
struct ModelLoadingTests {
  func failure(_ dir: URL) -> BertScopeError? { modelLoadFailure(dir) }

  func expectBadFile(_ dir: URL, file: String, mentions: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let error = failure(dir) else {
      Issue.record("loaded without error", sourceLocation: sourceLocation)
      return
    }
    guard case .badModelFile(let path, let problem) = error else {
      Issue.record("expected badModelFile, got \(error)", sourceLocation: sourceLocation)
      return
    }
    #expect(path.hasSuffix(file), "path \(path)", sourceLocation: sourceLocation)
    #expect(problem.contains(mentions), "problem: \(problem)", sourceLocation: sourceLocation)
  }

  @Test("a well-formed tiny folder loads and runs")
  func wellFormed() throws {
    let dir = try TinyModelFolder().write(to: Fixtures.temporaryDirectory())
    let model = try BertModel.load(from: dir)
    #expect(model.config.hiddenSize == 8)
    let out = try Encoder(model: model).encode(texts: ["w1 w2 w3"], options: EncodeOptions(maps: .all))
    #expect(out.maps[0].length == 5)
  }

  @Test("a missing folder or file names the file and the folder; scripts/setup only for the default model")
  func missing() throws {
    let nowhere = Fixtures.temporaryDirectory().appendingPathComponent("absent")
    guard case .modelNotFound(let path, let hint)? = failure(nowhere) else {
      Issue.record("expected modelNotFound"); return
    }
    #expect(path.hasSuffix("absent") && hint.contains("no such folder") && !hint.contains("scripts/setup"))
    #expect(ModelLocator.installHint(for: ModelLocator.defaultDirectory).contains("scripts/setup"))
    #expect(ModelLocator.installHint(for: nowhere).isEmpty)
    // Without vocab.txt (and no tokenizer.json) the error names both tokenizer files.
    for (file, named) in [
      ("config.json", "config.json"), ("vocab.txt", "tokenizer.json"), ("model.safetensors", "model.safetensors"),
    ] {
      let dir = try TinyModelFolder().write(to: Fixtures.temporaryDirectory())
      try FileManager.default.removeItem(at: dir.appendingPathComponent(file))
      guard case .modelNotFound(let path, let hint)? = failure(dir) else {
        Issue.record("expected modelNotFound for \(file)"); continue
      }
      #expect(path.hasSuffix(named))
      #expect(hint.contains(dir.path) && hint.contains(file) && !hint.contains("scripts/setup"))
    }
  }

  @Test("truncated weights")
  func truncated() throws {
    let full = TinyModelFolder().tensors().build()
    for cut in [0, 5, 8, 40, full.count / 2, full.count - 1] {
      let dir = try TinyModelFolder().write(to: Fixtures.temporaryDirectory(), weights: full.prefix(cut))
      #expect(failure(dir) != nil, "cut at \(cut)")
      if case .badModelFile(let path, _)? = failure(dir) {
        #expect(path.hasSuffix("model.safetensors"))
      } else {
        Issue.record("cut at \(cut): expected badModelFile, got \(String(describing: failure(dir)))")
      }
    }
  }

  @Test("a header length larger than the file")
  func headerTooLong() throws {
    let image = TinyModelFolder().tensors().build(headerLength: 1 << 40)
    let dir = try TinyModelFolder().write(to: Fixtures.temporaryDirectory(), weights: image)
    expectBadFile(dir, file: "model.safetensors", mentions: "header length")
    let image2 = TinyModelFolder().tensors().build(headerLength: 10_000)
    expectBadFile(
      try TinyModelFolder().write(to: Fixtures.temporaryDirectory(), weights: image2), file: "model.safetensors",
      mentions: "larger than the file")
  }

  @Test("a header that is not JSON, or not an object")
  func headerNotJSON() throws {
    for header in ["{not json", "[1, 2]", "{\"a\": 3}"] {
      let image = TinyModelFolder().tensors().build(header: header)
      let dir = try TinyModelFolder().write(to: Fixtures.temporaryDirectory(), weights: image)
      #expect(failure(dir) != nil)
      if case .badModelFile? = failure(dir) {} else { Issue.record("\(header): \(String(describing: failure(dir)))") }
    }
  }

  @Test("offsets out of range, overlapping, or not matching the shape")
  func lyingOffsets() throws {
    let folder = TinyModelFolder()
    let b = folder.tensors()
    let total = b.tensors.reduce(0) { $0 + $1.data.count }
    let first = b.tensors[0]
    func header(replacingFirstWith entry: String) -> String {
      var entries: [String] = []
      var offset = 0
      for (i, t) in b.tensors.enumerated() {
        if i == 0 {
          entries.append(entry)
        } else {
          entries.append(
            "\"\(t.name)\": {\"dtype\": \"F32\", \"shape\": \(t.shape), \"data_offsets\": [\(offset), \(offset + t.data.count)]}"
          )
        }
        offset += t.data.count
      }
      return "{" + entries.joined(separator: ", ") + "}"
    }
    let n = first.data.count
    let cases: [(String, String)] = [
      (
        "\"\(first.name)\": {\"dtype\": \"F32\", \"shape\": \(first.shape), \"data_offsets\": [\(total), \(total + n)]}",
        "run past the end"
      ),
      (
        "\"\(first.name)\": {\"dtype\": \"F32\", \"shape\": \(first.shape), \"data_offsets\": [4, \(n + 4)]}", "overlap"
      ),
      (
        "\"\(first.name)\": {\"dtype\": \"F32\", \"shape\": \(first.shape), \"data_offsets\": [0, \(n - 4)]}",
        "expected"
      ),
      (
        "\"\(first.name)\": {\"dtype\": \"F32\", \"shape\": \(first.shape), \"data_offsets\": [\(n), 0]}", "not a range"
      ),
      (
        "\"\(first.name)\": {\"dtype\": \"F32\", \"shape\": [-1, 8], \"data_offsets\": [0, \(n)]}",
        "not a list of sizes"
      ),
      (
        "\"\(first.name)\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, \(n)]}",
        "too large"
      ),
      (
        "\"\(first.name)\": {\"dtype\": \"Q4_K\", \"shape\": \(first.shape), \"data_offsets\": [0, \(n)]}",
        "unknown dtype"
      ),
      ("\"\(first.name)\": {\"shape\": \(first.shape), \"data_offsets\": [0, \(n)]}", "missing dtype"),
    ]
    for (entry, mention) in cases {
      let image = b.build(header: header(replacingFirstWith: entry))
      expectBadFile(
        try folder.write(to: Fixtures.temporaryDirectory(), weights: image), file: "model.safetensors",
        mentions: mention)
    }
  }

  @Test("a tensor whose shape disagrees with config.json")
  func shapeDisagrees() throws {
    var b = TinyModelFolder().tensors()
    b.tensors[0] = SafeTensorsBuilder.Tensor(
      name: "embeddings.word_embeddings.weight", shape: [120, 9], data: Data(count: 120 * 9 * 4))
    let dir = try TinyModelFolder().write(to: Fixtures.temporaryDirectory(), weights: b.build())
    guard case .shapeMismatch(_, let tensor, let expected, let found)? = failure(dir) else {
      Issue.record("expected shapeMismatch, got \(String(describing: failure(dir)))")
      return
    }
    #expect(tensor == "embeddings.word_embeddings.weight" && expected == [120, 8] && found == [120, 9])
  }

  @Test("a missing tensor, a float tensor stored as an integer type")
  func missingTensor() throws {
    var b = TinyModelFolder().tensors()
    b.tensors.removeAll { $0.name == "encoder.layer.0.output.dense.bias" }
    expectBadFile(
      try TinyModelFolder().write(to: Fixtures.temporaryDirectory(), weights: b.build()), file: "model.safetensors",
      mentions: "encoder.layer.0.output.dense.bias")
    var c = TinyModelFolder().tensors()
    c.tensors[3].dtype = "I32"
    expectBadFile(
      try TinyModelFolder().write(to: Fixtures.temporaryDirectory(), weights: c.build()), file: "model.safetensors",
      mentions: "expected a float type")
  }

  @Test("config.json: zero or negative sizes, heads not dividing the hidden size, unknown activation, not JSON")
  func badConfig() throws {
    let base = TinyModelFolder()
    let configs: [(String, String)] = [
      (
        base.config.replacingOccurrences(of: "\"num_hidden_layers\": 1", with: "\"num_hidden_layers\": 0"),
        "num_hidden_layers must be positive"
      ),
      (
        base.config.replacingOccurrences(of: "\"hidden_size\": 8", with: "\"hidden_size\": -8"),
        "hidden_size must be positive"
      ),
      (
        base.config.replacingOccurrences(of: "\"num_attention_heads\": 2", with: "\"num_attention_heads\": 3"),
        "not divisible"
      ),
      (base.config.replacingOccurrences(of: "\"gelu\"", with: "\"swish9\""), "hidden_act"),
      (
        base.config.replacingOccurrences(of: "\"hidden_size\": 8", with: "\"hidden_size\": \"eight\""),
        "must be an integer"
      ),
      (base.config.replacingOccurrences(of: "\"hidden_size\": 8,", with: ""), "missing \"hidden_size\""),
      ("{{{", "not valid JSON"),
    ]
    for (config, mention) in configs {
      var folder = base
      folder.configOverride = config
      expectBadFile(try folder.write(to: Fixtures.temporaryDirectory()), file: "config.json", mentions: mention)
    }
  }

  @Test("vocabulary: empty, duplicated, smaller or larger than the embedding matrix, missing specials, not UTF-8")
  func badVocabulary() throws {
    var empty = TinyModelFolder()
    empty.vocabOverride = ""
    expectBadFile(try empty.write(to: Fixtures.temporaryDirectory()), file: "vocab.txt", mentions: "empty")
    var duplicated = TinyModelFolder()
    duplicated.vocabOverride = TinyModelFolder().vocab.replacingOccurrences(of: "w3\n", with: "w2\n")
    expectBadFile(try duplicated.write(to: Fixtures.temporaryDirectory()), file: "vocab.txt", mentions: "appears twice")
    var smaller = TinyModelFolder()
    smaller.vocabOverride = TinyModelFolder().vocab.split(separator: "\n").dropLast(3).joined(separator: "\n") + "\n"
    expectBadFile(
      try smaller.write(to: Fixtures.temporaryDirectory()), file: "vocab.txt", mentions: "embedding matrix has 120 rows"
    )
    var larger = TinyModelFolder()
    larger.vocabOverride = TinyModelFolder().vocab + "extra1\nextra2\n"
    expectBadFile(
      try larger.write(to: Fixtures.temporaryDirectory()), file: "vocab.txt", mentions: "embedding matrix has 120 rows")
    var noSpecials = TinyModelFolder()
    noSpecials.vocabOverride = TinyModelFolder().vocab.replacingOccurrences(of: "[CLS]", with: "[XLS]")
    expectBadFile(try noSpecials.write(to: Fixtures.temporaryDirectory()), file: "vocab.txt", mentions: "[CLS]")
    let dir = try TinyModelFolder().write(to: Fixtures.temporaryDirectory())
    try Data([0x5B, 0x50, 0x41, 0x44, 0x5D, 0x0A, 0xFF, 0xFE, 0x0A]).write(to: dir.appendingPathComponent("vocab.txt"))
    expectBadFile(dir, file: "vocab.txt", mentions: "UTF-8")
  }

  @Test("F16 and BF16 conversion is exact, including subnormals, infinities and NaN")
  func halfConversion() {
    #expect(halfToFloat(0x3C00) == 1)
    #expect(halfToFloat(0xC000) == -2)
    #expect(halfToFloat(0x0001) == 0x1p-24)
    #expect(halfToFloat(0x7BFF) == 65504)
    #expect(halfToFloat(0x7C00) == .infinity)
    #expect(halfToFloat(0x7E00).isNaN)
    #expect(halfToFloat(0x8000).sign == .minus)
  }

  @Test("ModelLocator: --model, then $BERTSCOPE_MODEL, then the default folder")
  func locator() {
    #expect(ModelLocator.resolve("/some/dir").path == "/some/dir")
    #expect(ModelLocator.defaultDirectory.path.hasSuffix("bertscope/models/all-MiniLM-L6-v2"))
  }
}
