import ArgumentParser
import BertScope
import BertScopeAnalysis
import Foundation

struct CompareCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "compare",
    abstract: "Per head, the cosine similarity of two checkpoints' attention maps on the same input.",
    discussion: """
      Kovaleva et al. 2019 §4.3 (how much fine-tuning changed each head): the flattened maps, \
      cropped to the real tokens, averaged over examples. Both checkpoints must share the \
      architecture and the vocabulary. Writes DIR/compare.csv (layer,head,cosine) and \
      DIR/compare.json.
      """)

  @OptionGroup var options: ModelOptions
  @OptionGroup var corpus: CorpusOptions
  @Option(help: "The second model folder.") var modelB: String

  func run() throws {
    let session = try options.session()
    let other = try options.session(modelB, like: session)
    let control = try corpus.control()
    let run = try corpus.run(
      ComparisonAnalysis(other: other), command: "compare", part: MergedRun.comparisonPart, session: session,
      modelB: control.keepsState ? try ModelIdentity(other.model) : nil
    ) { $0.modelB = other.model.directory.path }
    try write(
      CompareResult(run.state, info: session.runInfo(run.count, options: run.options)), to: corpus.folder,
      options: options, recorder: run.recorder)
  }
}
