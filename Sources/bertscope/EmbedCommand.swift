import ArgumentParser
import BertScope
import Foundation

struct EmbedCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "embed",
    abstract: "Sentence embeddings of a corpus: float32 [n, hidden], one row per input line.",
    discussion: """
      Pooling is the model's sentence-transformers recipe: the mean of the last hidden state over \
      the real tokens, L2-normalised (or the [CLS] state, normalised, with --pooling cls). \
      A TAB in a line makes it a pair. Memory stays flat however long the input is.
      """)

  @OptionGroup var options: ModelOptions
  @Option(help: "Corpus: one text per line (TAB separates a pair); - for stdin.") var input: String
  @Option(help: "Output .npy file.") var out: String
  @Option(help: "Sequences per forward pass.") var batchSize = 32
  @Option(help: "mean or cls.") var pooling: Pooling = .mean

  func validate() throws {
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
  }

  func run() throws {
    let model = try options.loadModel()
    let encoder = try options.makeEncoder(model)
    let reader = try CorpusReader(path: input)
    let writer = try NPY.RowWriter(url: URL(fileURLWithPath: out), columns: model.config.hiddenSize)
    let progress = Progress("embed", enabled: !options.quiet)
    var tokens = 0
    do {
      while true {
        let lines = try reader.nextBatch(batchSize)
        if lines.isEmpty { break }
        let encodings = try lines.map { try options.encode(model.tokenizer, $0.text, pair: $0.pair, where: "\(reader.path):\($0.number)") }
        let result = try encoder.encode(encodings, options: EncodeOptions(pooling: pooling))
        try writer.append(result.pooled[...])
        tokens += encodings.reduce(0) { $0 + $1.count }
        progress.update(writer.rows, tokens: tokens)
      }
    } catch {
      writer.abandon()
      throw error
    }
    try writer.finish()
    progress.finish(writer.rows, tokens: tokens)
    options.note("wrote \(out) [\(writer.rows), \(model.config.hiddenSize)]")
  }
}
