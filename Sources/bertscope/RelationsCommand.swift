import ArgumentParser
import BertScope
import BertScopeAnalysis
import Foundation

struct RelationsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "relations",
    abstract: "Per head, the attention between annotated pairs of spans (the paper's FrameNet experiment).",
    discussion: """
      Kovaleva et al. 2019 §4.2. --input is JSON Lines: {"text": "...", "pairs": [[[start, end], \
      [start, end]], ...]} with character spans (Unicode scalars, end exclusive). For each pair \
      and head: the maximum attention between any token of one span and any token of the \
      other, in either direction; averaged over all pairs. Writes DIR/relations.csv \
      (layer,head,score) and DIR/relations.json. A span outside its text is an error; a pair \
      whose span covers no token (whitespace, truncated away) is skipped and counted.
      """)

  @OptionGroup var options: ModelOptions
  @OptionGroup var corpus: CorpusOptions

  func run() throws {
    let session = try options.session()
    let run = try corpus.run(RelationsAnalysis(), command: "relations", part: MergedRun.relationsPart, session: session)
    if run.state.skippedPairs > 0 { options.note("\(run.state.skippedPairs) pairs skipped: a span covered no token") }
    try write(
      RelationsResult(run.state, info: session.runInfo(run.count, options: run.options)), to: corpus.folder,
      options: options, recorder: run.recorder)
  }
}
