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
  @OptionGroup var sharding: ShardOptions

  func validate() throws {
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
  }

  func run() throws {
    let control = try sharding.control(input: input)
    let session = try options.session()
    let url = URL(fileURLWithPath: out)
    let recorder = try control.recorder(
      url: RunState.url(for: url, isFolder: false), command: "embed", session: session)
    let count = try session.embed(
      CorpusSource(path: input, batchSize: batchSize, shard: control.shard), pooling: pooling, to: url,
      recorder: recorder)
    options.note(
      "wrote \(out) [\(count.examples), \(session.config.hiddenSize)]\(recorder.map { ", " + $0.url.path } ?? "")")
    if control.sharded {
      options.note("shard \(control.shard): combine the shards with `bertscope merge --out X.npy SHARD.npy…`")
    }
  }
}
