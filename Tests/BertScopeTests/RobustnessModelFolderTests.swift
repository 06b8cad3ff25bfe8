import Foundation
import Testing

@testable import BertScope

#if canImport(Glibc)
  import Glibc
#endif

/// Model folders beyond `ModelLoadingTests`: corrupt values, absurd sizes, huge headers,
/// links, folders, devices and pipes where files should be, empty files. Each gives the exact
/// error kind naming the file, quickly and without allocating what the file claims.
@Suite("Robustness: hostile model folders", .timeLimit(.minutes(2)))
struct RobustnessModelFolderTests {
  func failure(_ dir: URL) -> BertScopeError? { modelLoadFailure(dir) }

  func expectBadFile(_ dir: URL, file: String, mentions: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard case .badModelFile(let path, let problem)? = failure(dir) else {
      Issue.record(
        "expected badModelFile(\(file)), got \(String(describing: failure(dir)))", sourceLocation: sourceLocation)
      return
    }
    #expect(path.hasSuffix("/" + file), "path \(path)", sourceLocation: sourceLocation)
    #expect(problem.contains(mentions), "problem: \(problem)", sourceLocation: sourceLocation)
  }

  func folder(_ configure: (inout TinyModelFolder) -> Void = { _ in }) throws -> URL {
    var f = TinyModelFolder()
    configure(&f)
    return try f.write(to: Fixtures.temporaryDirectory())
  }

  func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
  }

  // MARK: - values

  @Test("NaN or ±Inf in any weight (F32, F16, BF16) is refused, naming the tensor and the first bad element")
  func nonFiniteWeights() throws {
    let nanF32 = Data([0x00, 0x00, 0xC0, 0x7F])
    let infF32 = Data([0x00, 0x00, 0x80, 0x7F])
    let cases: [(tensor: Int, dtype: String, element: Data, width: Int)] = [
      (0, "F32", nanF32, 4),  // word embeddings
      (9, "F32", infF32, 4),  // the value weight of layer 0
      (5, "F16", Data([0x00, 0x7C]), 2),  // +Inf in F16: the query weight
      (3, "BF16", Data([0xC0, 0x7F]), 2),  // NaN in BF16: the embedding LayerNorm weight
    ]
    for c in cases {
      var b = TinyModelFolder().tensors()
      var t = b.tensors[c.tensor]
      let count = t.shape.reduce(1, *)
      var data = Data(count: count * c.width)
      data.replaceSubrange((3 * c.width)..<(4 * c.width), with: c.element)
      t.dtype = c.dtype
      t.data = data
      b.tensors[c.tensor] = t
      let dir = try TinyModelFolder().write(to: Fixtures.temporaryDirectory(), weights: b.build())
      expectBadFile(
        dir, file: "model.safetensors",
        mentions: "tensor \(t.name) holds 1 non-finite value (NaN or ±Inf), the first at element 3")
    }
  }

  @Test("a config with absurd sizes fails fast on the tensors, without allocating what it claims")
  func absurdSizes() throws {
    let huge = 1 << 24
    var elapsed = try seconds {
      let dir = try folder {
        $0.configOverride = $0.config.replacingOccurrences(of: "\"hidden_size\": 8", with: "\"hidden_size\": \(huge)")
          .replacingOccurrences(of: "\"num_attention_heads\": 2", with: "\"num_attention_heads\": 1")
      }
      guard case .shapeMismatch(_, "embeddings.word_embeddings.weight", [120, huge], [120, 8])? = failure(dir) else {
        Issue.record("expected shapeMismatch, got \(String(describing: failure(dir)))")
        return
      }
    }
    #expect(elapsed < 5)
    elapsed = try seconds {
      let dir = try folder {
        $0.configOverride = $0.config.replacingOccurrences(of: "\"vocab_size\": 120", with: "\"vocab_size\": \(huge)")
      }
      expectBadFile(dir, file: "vocab.txt", mentions: "embedding matrix has \(huge) rows")
      let layers = try folder {
        $0.configOverride = $0.config.replacingOccurrences(
          of: "\"num_hidden_layers\": 1", with: "\"num_hidden_layers\": \(huge)")
      }
      expectBadFile(layers, file: "model.safetensors", mentions: "encoder.layer.1.attention.self.query.weight")
      let over = try folder {
        $0.configOverride = $0.config.replacingOccurrences(
          of: "\"max_position_embeddings\": 16", with: "\"max_position_embeddings\": \(huge + 1)")
      }
      expectBadFile(over, file: "config.json", mentions: "max_position_embeddings = \(huge + 1) is implausibly large")
      let beyond = try folder {
        $0.configOverride = $0.config.replacingOccurrences(
          of: "\"intermediate_size\": 16", with: "\"intermediate_size\": 1e300")
      }
      expectBadFile(beyond, file: "config.json", mentions: "\"intermediate_size\" must be an integer")
    }
    #expect(elapsed < 5)
  }

  @Test("a safetensors header with tens of thousands of entries loads (extras ignored) or fails in seconds")
  func thousandsOfEntries() throws {
    let extra = 20_000
    var b = TinyModelFolder().tensors()
    for i in 0..<extra { b.add("extra.\(i)", shape: [1]) }
    var elapsed = try seconds {
      let dir = try TinyModelFolder().write(to: Fixtures.temporaryDirectory(), weights: b.build())
      let model = try BertModel.load(from: dir)
      #expect(model.config.hiddenSize == 8)
      let file = try SafeTensorsFile(contentsOf: dir.appendingPathComponent("model.safetensors"))
      #expect(file.entries.count == b.tensors.count)
    }
    #expect(elapsed < 10)
    // The same count, every entry claiming the same bytes.
    let entries = (0..<extra).map { "\"t\($0)\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}" }
    elapsed = try seconds {
      let image = TinyModelFolder().tensors().build(header: "{" + entries.joined(separator: ", ") + "}")
      expectBadFile(
        try TinyModelFolder().write(to: Fixtures.temporaryDirectory(), weights: image), file: "model.safetensors",
        mentions: "overlap")
    }
    #expect(elapsed < 10)
  }

  @Test("JSON nested 100,000 deep is 'not valid JSON', not a stack overflow")
  func deepNesting() throws {
    let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    let deepObject = String(repeating: "{\"a\":", count: 100_000) + "1" + String(repeating: "}", count: 100_000)
    for text in [deep, deepObject] {
      let image = TinyModelFolder().tensors().build(header: text)
      expectBadFile(
        try TinyModelFolder().write(to: Fixtures.temporaryDirectory(), weights: image), file: "model.safetensors",
        mentions: "header is not valid JSON")
      expectBadFile(try folder { $0.configOverride = text }, file: "config.json", mentions: "not valid JSON")
      let dir = try folder()
      try Data(text.utf8).write(to: dir.appendingPathComponent("tokenizer_config.json"))
      expectBadFile(dir, file: "tokenizer_config.json", mentions: "not valid JSON")
    }
  }

  @Test("the header length limit (the format's 100 MB) is enforced before anything is read")
  func headerLimit() throws {
    var image = Data()
    withUnsafeBytes(of: UInt64(SafeTensorsFile.maxHeaderBytes + 1).littleEndian) { image.append(contentsOf: $0) }
    image.append(Data("{}".utf8))
    expectBadFile(
      try TinyModelFolder().write(to: Fixtures.temporaryDirectory(), weights: image), file: "model.safetensors",
      mentions: "exceeds the 100000000-byte limit")
  }

  // MARK: - what is at a file's path

  static let files = ["config.json", "vocab.txt", "model.safetensors", "tokenizer_config.json"]

  @Test("a symbolic link loop or a link to nothing is named as such, not 'not found'", arguments: files)
  func links(_ file: String) throws {
    let loop = try folder()
    let url = loop.appendingPathComponent(file)
    try? FileManager.default.removeItem(at: url)
    try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: file)
    expectBadFile(loop, file: file, mentions: "symbolic link loop")

    let dangling = try folder()
    let target = dangling.appendingPathComponent(file)
    try? FileManager.default.removeItem(at: target)
    try FileManager.default.createSymbolicLink(atPath: target.path, withDestinationPath: "/nonexistent/\(file)")
    expectBadFile(dangling, file: file, mentions: "symbolic link to a file that does not exist")
  }

  @Test("a folder where a file should be", arguments: files)
  func folderInstead(_ file: String) throws {
    let dir = try folder()
    let url = dir.appendingPathComponent(file)
    try? FileManager.default.removeItem(at: url)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
    expectBadFile(dir, file: file, mentions: "is a folder, expected a file")
  }

  @Test(
    "a device or a named pipe where a file should be is refused without reading (no hang, no endless read)",
    arguments: files)
  func devicesAndPipes(_ file: String) throws {
    for special in ["/dev/zero", "/dev/urandom", "fifo"] {
      let dir = try folder()
      let url = dir.appendingPathComponent(file)
      try? FileManager.default.removeItem(at: url)
      if special == "fifo" {
        #expect(mkfifo(url.path, 0o644) == 0)
      } else {
        try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: special)
      }
      expectBadFile(dir, file: file, mentions: "is not a regular file (a device, pipe or socket)")
    }
  }

  @Test(
    "zero-length files",
    arguments: [
      ("config.json", "not valid JSON"), ("vocab.txt", "the vocabulary is empty"),
      ("model.safetensors", "file is 0 bytes, too short for a safetensors header"),
      ("tokenizer_config.json", "not valid JSON"),
    ])
  func empty(_ file: String, _ mention: String) throws {
    let dir = try folder()
    try Data().write(to: dir.appendingPathComponent(file))
    expectBadFile(dir, file: file, mentions: mention)
  }

  @Test("a config or vocabulary far larger than any real one is refused by size, unread")
  func oversized() throws {
    for (file, limit) in [
      ("config.json", ModelFile.maxJSONBytes), ("tokenizer_config.json", ModelFile.maxJSONBytes),
      ("vocab.txt", ModelFile.maxVocabularyBytes),
    ] {
      let dir = try folder()
      let url = dir.appendingPathComponent(file)
      _ = FileManager.default.createFile(atPath: url.path, contents: nil)
      let handle = try FileHandle(forWritingTo: url)
      try handle.truncate(atOffset: UInt64(limit + 1))  // sparse: nothing is written
      try handle.close()
      expectBadFile(dir, file: file, mentions: "is \(limit + 1) bytes, more than the \(limit)-byte limit")
    }
  }

  @Test("the tokenizer alone (tokenize command) reports the same file problems")
  func tokenizerLoad() throws {
    let dir = try folder()
    let vocab = dir.appendingPathComponent("vocab.txt")
    try FileManager.default.removeItem(at: vocab)
    try FileManager.default.createSymbolicLink(atPath: vocab.path, withDestinationPath: "vocab.txt")
    #expect(throws: BertScopeError.badModelFile(path: vocab.path, problem: "is a symbolic link loop")) {
      try BertTokenizer.load(from: dir)
    }
  }
}
