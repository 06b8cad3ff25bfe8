import ArgumentParser
import BertScope
import BertScopeAnalysis
import Foundation

/// The corpus, output folder and batch size shared by the analysis commands.
struct CorpusOptions: ParsableArguments {
  @Option(help: "Corpus: one text per line (TAB separates a pair); - for stdin.") var input: String
  @Option(help: "Output folder.") var out: String
  @Option(help: "Sequences per forward pass.") var batchSize = 32

  func validate() throws {
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
  }

  var folder: URL { URL(fileURLWithPath: out, isDirectory: true) }

  var json: [String: Any] { ["input": input, "batchSize": batchSize] }
}

/// Streams `reader` in batches of `size` non-blank lines (at most `limit` in all); `body` gets
/// each batch and returns the tokens it processed (for the progress line). Memory holds one
/// batch at a time.
func forEachBatch(
  _ reader: CorpusReader, size: Int, limit: Int = .max, progress: BertScope.Progress,
  body: ([CorpusLine]) throws -> Int
) throws -> Int {
  var examples = 0, tokens = 0
  while examples < limit {
    var lines: [CorpusLine] = []
    while lines.count < min(size, limit - examples), let line = try reader.nextLine() {
      if line.fields.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
      lines.append(line)
    }
    if lines.isEmpty { break }
    tokens += try body(lines)
    examples += lines.count
    progress.update(examples, tokens: tokens)
  }
  progress.finish(examples, tokens: tokens)
  guard examples > 0 else { throw BertScopeError.invalidInput("\(reader.path): no texts (the input is empty or blank)") }
  return examples
}

/// The ablation items of corpus lines for `task`: pairs with a score, a text (or pair) with a
/// label, or plain texts; errors name the line.
func ablationItems(
  _ lines: [CorpusLine], task: AblationTask, model: BertModel, options: ModelOptions, path: String
) throws -> [AblationItem] {
  let classes = model.weights.classifier.map { $0.bias.count } ?? 0
  return try lines.map { line in
    let at = "\(path):\(line.number)"
    switch task {
    case .similarity:
      let (a, b, score) = try AblationInput.similarity(line, path: path)
      return AblationItem(
        first: try options.encode(model.tokenizer, a, where: at), second: try options.encode(model.tokenizer, b, where: at),
        score: score)
    case .classify:
      let (text, pair, label) = try AblationInput.classification(line, classes: classes, names: model.config.labels, path: path)
      return AblationItem(first: try options.encode(model.tokenizer, text, pair: pair, where: at), label: label)
    case .embeddingChange:
      return AblationItem(first: try options.encode(model.tokenizer, line.text, pair: line.pair, where: at))
    }
  }
}

/// Tokenizes the text (and pair) of each line, naming the line on errors.
func encodeLines(_ lines: [CorpusLine], options: ModelOptions, tokenizer: BertTokenizer, path: String) throws -> [Encoding] {
  try lines.map { try options.encode(tokenizer, $0.text, pair: $0.pair, where: "\(path):\($0.number)") }
}

/// Writes `tables` (file name → CSV) and `name.json` — the analysis' own numbers plus the
/// model, backend, number of examples and options — atomically into `folder`.
func writeAnalysis(
  folder: URL, name: String, tables: [(String, CSVTable)], json: [String: Any], model: BertModel, encoder: Encoder,
  examples: Int, options: [String: Any], seconds: Double, note: (String) -> Void
) throws {
  for (file, table) in tables { try AtomicFile.write(table.text, to: folder.appendingPathComponent(file)) }
  var object = json
  object["model"] = ["path": model.directory.path, "name": model.name, "layers": model.config.numLayers, "heads": model.config.numHeads]
  object["backend"] = encoder.backendDescription
  object["examples"] = examples
  object["options"] = options
  object["seconds"] = jsonNumber(seconds)
  try AtomicFile.write(try jsonText(object, pretty: true) + "\n", to: folder.appendingPathComponent("\(name).json"))
  note("wrote \((tables.map(\.0) + ["\(name).json"]).map { folder.appendingPathComponent($0).path }.joined(separator: ", "))")
}

/// Seconds since `start` (a `DispatchTime` in nanoseconds).
func secondsSince(_ start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

extension AblationMode: ExpressibleByArgument {}
extension AblationTask: ExpressibleByArgument {}
