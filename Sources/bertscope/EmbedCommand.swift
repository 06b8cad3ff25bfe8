import ArgumentParser
import BertScope
import BertScopeAnalysis
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
    let session = try options.session()
    let count = try session.embed(
      CorpusSource(path: input, batchSize: batchSize), pooling: pooling, to: URL(fileURLWithPath: out))
    options.note("wrote \(out) [\(count.examples), \(session.config.hiddenSize)]")
  }
}
