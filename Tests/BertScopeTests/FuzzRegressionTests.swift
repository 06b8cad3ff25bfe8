import BertScopeAnalysis
import Foundation
import Testing

@testable import BertScope

/// Inputs the fuzzers (Fuzz/, `scripts/fuzz`) found, kept under `Tests/Fixtures/fuzz-regressions/<target>/`,
/// and the bugs behind them, each pinned by a test. Every committed input is also replayed by
/// `scripts/fuzz --regress` through its fuzz target with all of that target's invariants.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
  static let directory = Fixtures.root.appendingPathComponent("fuzz-regressions", isDirectory: true)

  /// Inputs committed per target (`ls Tests/Fixtures/fuzz-regressions/<target> | wc -l`): a
  /// replay that runs fewer has lost some. Raise a count when committing a new input.
  static let committed: [String: Int] = ["analysis-lines": 1, "npy": 1, "run-state": 2, "tokenizer-json": 1]

  /// The committed inputs of `target`, sorted. A folder that is missing or unreadable throws
  /// (the test fails); one with fewer files than `committed` says is a failure too.
  static func inputs(_ target: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [URL] {
    let folder = directory.appendingPathComponent(target, isDirectory: true)
    let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }
    let expected = try #require(committed[target], "no committed count for \(target)", sourceLocation: sourceLocation)
    #expect(
      names.count >= expected, "\(folder.path) holds \(names.count) inputs, \(expected) were committed",
      sourceLocation: sourceLocation)
    return names.sorted().map { folder.appendingPathComponent($0) }
  }

  /// No control character (a newline, an escape sequence) in a message: the CLI prints it as one line.
  func expectPrintable(_ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let raw = message.unicodeScalars.first { $0.properties.generalCategory == .control }
    #expect(
      raw == nil, "message holds \(raw?.escaped(asASCII: true) ?? ""): \(message.debugDescription)",
      sourceLocation: sourceLocation)
  }

  // MARK: - tokenizer.json (fuzz-tokenizer-json)

  @Test("every committed tokenizer-json regression input loads or fails with a printable BertScopeError")
  func tokenizerJSONInputs() throws {
    for url in try Self.inputs("tokenizer-json") {
      // The fuzz target's layout: a length byte, a flags byte, then the tokenizer.json bytes.
      let json = try Data(contentsOf: url).dropFirst(2)
      do {
        _ = try PipelineTokenizer(json: Data(json), path: "tokenizer.json", config: nil, maxPositions: 64)
      } catch let error as BertScopeError {
        expectPrintable(error.description)
      }
    }
  }

  @Test("a model type with a control character is quoted escaped")
  func tokenizerJSONModelType() throws {
    let json = Data(#"{"model": {"type": "W\u007Frd\nPiece", "vocab": {}}}"#.utf8)
    do {
      _ = try PipelineTokenizer(json: json, path: "tokenizer.json", config: nil, maxPositions: 64)
      Issue.record("an unknown model type loaded")
    } catch let error as BertScopeError {
      expectPrintable(error.description)
      #expect(error.description.contains(#"W\u{7F}rd\nPiece"#), "\(error.description)")
    }
  }

  // MARK: - Labelled lines of the analyses (fuzz-analysis-lines)

  @Test("labelled-line errors (similarity score, class label, label names) escape what they quote")
  func labelledLinesEscape() throws {
    let url = Fixtures.temporaryDirectory().appendingPathComponent("in.tsv")
    try Data("a\tb\t\u{1B}[31m4\u{01}\nx\t7\u{1B}[0m\n".utf8).write(to: url)
    let reader = try CorpusReader(path: url.path)
    let first = try #require(try reader.nextLine()), second = try #require(try reader.nextLine())
    do {
      _ = try AblationInput.similarity(first, path: "in.tsv")
      Issue.record("a score with an escape sequence parsed")
    } catch let error as BertScopeError {
      expectPrintable(error.description)
      #expect(error.description.contains("in.tsv:1: score \"\\u{1B}[31m4\\u{01}\""), "\(error)")
    }
    do {
      _ = try AblationInput.classification(second, classes: 2, names: ["ok", "bad\u{07}"], path: "in.tsv")
      Issue.record("a label with an escape sequence parsed")
    } catch let error as BertScopeError {
      expectPrintable(error.description)
      #expect(error.description.contains("in.tsv:2: label \"7\\u{1B}[0m\""), "\(error)")
    }
  }

  @Test("every committed analysis-lines regression input parses or fails with a printable error naming its line")
  func analysisLineInputs() throws {
    var replayed = 0
    for url in try Self.inputs("analysis-lines") {
      let reader = try CorpusReader(path: url.path)
      var lines = 0
      while true {
        // The reader may refuse a line too (a line too long, bytes that are not text): that too
        // must be a printable BertScopeError, and it ends this input.
        let next: CorpusLine?
        do { next = try reader.nextLine() } catch let error as BertScopeError {
          expectPrintable(error.description)
          break
        }
        guard let line = next else { break }
        lines += 1
        for parse in [
          { _ = try AblationInput.similarity(line, path: "f") },
          { _ = try AblationInput.classification(line, classes: 3, names: nil, path: "f") },
          { _ = try RelationExample.parse(line.fields.joined(separator: "\t"), line: line.number, path: "f") },
        ] as [() throws -> Void] {
          do { try parse() } catch let error as BertScopeError {
            expectPrintable(error.description)
            #expect(error.description.contains("f:\(line.number): "), "\(error)")
          }
        }
      }
      #expect(lines > 0, "\(url.lastPathComponent): no line read")
      replayed += 1
    }
    #expect(replayed >= Self.committed["analysis-lines"]!, "replayed \(replayed) inputs")
  }

  // MARK: - NPY

  @Test("every committed NPY regression input decodes or fails with a printable BertScopeError")
  func npyInputs() throws {
    var replayed = 0
    for url in try Self.inputs("npy") {
      let data = try Data(contentsOf: url)
      #expect(!data.isEmpty, "\(url.lastPathComponent) is empty")
      do {
        let array = try NPY.decode(data, path: url.lastPathComponent)
        #expect(array.shape.reduce(1, *) == array.count)
      } catch let error as BertScopeError {
        expectPrintable(error.description)
      }
      replayed += 1
    }
    #expect(replayed >= Self.committed["npy"]!, "replayed \(replayed) inputs")
  }

  @Test("an NPY header with a newline inside the shape tuple reads as numpy reads it")
  func npyNewlineInShape() throws {
    // Found by fuzz-npy: `'shape': (0,\n 5)` was refused with a message that quoted the
    // newline and so broke the one-line error. numpy parses the header with
    // ast.literal_eval, which accepts the newline: so does NPY now. (The found input also
    // carries one byte of data too many, which is an error, printed on one line.)
    let url = Self.directory.appendingPathComponent("npy/newline-in-shape.npy")
    let found = try Data(contentsOf: url)
    #expect(
      throws: BertScopeError.invalidInput(
        "array.npy: not a readable .npy file: expected 0 data bytes for shape [0, 5], found 1")
    ) {
      try NPY.decode(found)
    }
    let array = try NPY.decode(found.dropLast())
    #expect(array.shape == [0, 5] && array.dtype == .float64 && array.count == 0)
  }

  @Test("NPY errors escape what they quote from the header")
  func npyEscapes() {
    var header = "{'descr': '<f4\u{1B}[31m', 'fortran_order': False, 'shape': (1,), }"
    header += String(repeating: " ", count: 64 - (10 + header.utf8.count + 1) % 64) + "\n"
    var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count), 0])
    data.append(Data(header.utf8))
    data.append(Data(count: 4))
    do {
      _ = try NPY.decode(data)
      Issue.record("decoded a dtype with an escape sequence")
    } catch let error as BertScopeError {
      expectPrintable(error.description)
      #expect(error.description.contains("\\u{1B}[31m"))
    } catch {
      Issue.record("not a BertScopeError: \(error)")
    }
  }

  // MARK: - vocab.txt

  @Test("vocab.txt with CRLF line ends reads one token a line")
  func vocabularyCRLF() throws {
    // Lines were split on the Character "\n", but "\r\n" is one Character (a grapheme
    // cluster) that is not "\n": a CRLF vocab.txt became a single token.
    let vocabulary = try Vocabulary(data: Data("[PAD]\r\n[UNK]\r\nhello\r\n##s\r\n".utf8))
    #expect(vocabulary.tokens == ["[PAD]", "[UNK]", "hello", "##s"])
    #expect(vocabulary.id("hello") == 2)

    var folder = TinyModelFolder()
    folder.vocabOverride = TinyModelFolder().vocab.replacingOccurrences(of: "\n", with: "\r\n")
    let model = try BertModel.load(from: try folder.write(to: Fixtures.temporaryDirectory()))
    #expect(model.vocabulary.count == 120 && model.vocabulary.tokens[2] == "[CLS]")
  }

  @Test("canonically equivalent tokens are distinct vocabulary entries, as in Python")
  func vocabularyCanonicalEquivalence() throws {
    // String equality is canonical equivalence: "é" (U+00E9) and "e" + U+0301 were one
    // dictionary key, so such a vocabulary was rejected as having a duplicate.
    let vocabulary = try Vocabulary(tokens: ["[PAD]", "\u{E9}", "e\u{301}", "\u{212B}", "\u{C5}"])
    #expect(vocabulary.id("\u{E9}") == 1)
    #expect(vocabulary.id("e\u{301}") == 2)
    #expect(vocabulary.id("\u{212B}") == 3 && vocabulary.id("\u{C5}") == 4)
    #expect(vocabulary.contains("e\u{301}") && !vocabulary.contains("A\u{30A}"))
    #expect(throws: BertScopeError.self) { try Vocabulary(tokens: ["a", "b", "a"]) }
  }

  @Test("a duplicated token with control characters is named escaped")
  func vocabularyEscapes() {
    do {
      _ = try Vocabulary(data: Data("[PAD]\n\u{1B}[2Jx\n\u{1B}[2Jx\n".utf8), path: "vocab.txt")
      Issue.record("accepted a duplicate")
    } catch let error as BertScopeError {
      expectPrintable(error.description)
      #expect(error.description.contains("\\u{1B}[2Jx\" appears twice (lines 2 and 3)"))
    } catch {
      Issue.record("not a BertScopeError: \(error)")
    }
  }

  // MARK: - safetensors, config.json, tokenizer_config.json

  @Test("safetensors errors escape tensor names and dtypes from the header")
  func safeTensorsEscapes() throws {
    let headers = [
      "{\"a\\nb\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 8]}}",
      "{\"x\": {\"dtype\": \"\\u001b]0;owned\\u0007\", \"shape\": [1], \"data_offsets\": [0, 4]}}",
      "{\"\\u202egnp.exe\": {\"dtype\": \"F32\", \"shape\": [\"\\n\"], \"data_offsets\": [0, 4]}}",
      "{\"a\\rb\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, \"c\\rd\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}",
    ]
    for header in headers {
      var image = Data()
      withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { image.append(contentsOf: $0) }
      image.append(Data(header.utf8))
      image.append(Data(count: 4))
      do {
        _ = try image.withUnsafeBytes { try SafeTensorsFile(bytes: $0, path: "m.safetensors") }
        Issue.record("accepted \(header)")
      } catch let error as BertScopeError {
        expectPrintable(error.description)
      }
    }
  }

  @Test("config.json errors escape the values they quote")
  func configEscapes() {
    let base =
      #"{"vocab_size": 8, "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8"#
    for extra in [
      #", "hidden_act": "gelu\n\u001b[1m"}"#, #", "position_embedding_type": "\r\n"}"#,
      #", "type_vocab_size": "1\n2"}"#,
    ] {
      do {
        _ = try BertConfig(json: Data((base + extra).utf8))
        Issue.record("accepted \(extra)")
      } catch let error as BertScopeError {
        expectPrintable(error.description)
      } catch {
        Issue.record("not a BertScopeError: \(error)")
      }
    }
  }

  @Test("a special token from tokenizer_config.json missing from the vocabulary is named escaped")
  func tokenizerConfigEscapes() throws {
    let options = try TokenizerOptions(json: Data(#"{"cls_token": "[C\nLS]"}"#.utf8), maxPositions: 16)
    let vocabulary = try Vocabulary(tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]"])
    do {
      _ = try BertTokenizer(vocabulary: vocabulary, options: options)
      Issue.record("built a tokenizer without its [CLS]")
    } catch let error as BertScopeError {
      expectPrintable(error.description)
      #expect(error.description.contains(#"[C\nLS]"#))
    }
  }

  // MARK: - corpus reader

  @Test("the corpus reader's line limit is exact, whatever the read chunk")
  func corpusLineLimit() throws {
    for chunk in [1, 3, 7, 64, 1 << 20] {
      for (text, limit, failsAt) in [
        ("abcd\nabcde\nx", 4, 2), ("abcd\r\nx", 4, 1), ("ab\nabcdef", 4, 2), ("abcd\nx\n", 4, nil),
        ("\u{FEFF}ab\n", 4, 1), ("a\tb\tc\n", 5, nil),
      ] as [(String, Int, Int?)] {
        let reader = CorpusReader(
          handle: try pipe(Data(text.utf8)), name: "c.txt", chunkSize: chunk, maxLineBytes: limit)
        var read = 0
        do {
          while try reader.nextLine() != nil { read += 1 }
          #expect(failsAt == nil, "\(text.debugDescription), chunk \(chunk): no error")
        } catch BertScopeError.invalidInput(let message) {
          #expect(failsAt == read + 1, "\(text.debugDescription), chunk \(chunk): \(message)")
          #expect(message == "c.txt:\(read + 1): line longer than \(limit) bytes (is this a text file?)")
        }
      }
    }
  }

  @Test("lines cross read chunks intact: CRLF split across chunks, BOM, TABs, no final newline")
  func corpusChunkBoundaries() throws {
    let text = "\u{FEFF}first\r\nsecond\tpair\r\n\r\nthird\tb\tscore\n\nlast\r"
    for chunk in 1...9 {
      let reader = CorpusReader(handle: try pipe(Data(text.utf8)), name: "c.txt", chunkSize: chunk)
      var lines: [CorpusLine] = []
      while let line = try reader.nextLine() { lines.append(line) }
      #expect(lines.map(\.text) == ["first", "second", "", "third", "", "last"], "chunk \(chunk)")
      #expect(lines[1].pair == "pair" && lines[3].fields == ["third", "b", "score"])
      #expect(lines.map(\.number) == Array(1...6))
    }
  }

  // MARK: - State files of sharded runs (fuzz-run-state)

  @Test("crafted shard states: counts that overflow are an error, a shard count of 2^62 does not hang")
  func runStates() throws {
    var messages: [String] = []
    for input in try Self.inputs("run-state") {
      let parts = try Data(contentsOf: input).split(separator: Array("\n--\n".utf8))
      let dir = Fixtures.temporaryDirectory("bertscope-fuzz-state")
      defer { try? FileManager.default.removeItem(at: dir) }
      var folders: [URL] = []
      for (k, part) in parts.enumerated() {
        let folder = dir.appendingPathComponent("s\(k)", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(part).write(to: folder.appendingPathComponent("state.json"))
        folders.append(folder)
      }
      do {
        _ = try MergedRun(outputs: folders)
        Issue.record("\(input.lastPathComponent): merged")
      } catch BertScopeError.invalidInput(let message) {
        expectPrintable(message)
        messages.append(message)
      }
    }
    #expect(messages.contains { $0.contains("shard 1/4611686018427387904 is missing (and 4611686018427387902 more)") })
    #expect(messages.contains { $0.contains("too large") }, "\(messages)")
  }

  /// A pipe holding `data`, closed for writing (up to the pipe's 64 KiB buffer).
  func pipe(_ data: Data) throws -> FileHandle {
    let pipe = Pipe()
    pipe.fileHandleForWriting.write(data)
    try pipe.fileHandleForWriting.close()
    return pipe.fileHandleForReading
  }
}
