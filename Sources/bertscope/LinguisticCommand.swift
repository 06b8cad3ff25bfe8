import ArgumentParser
import BertScope
import BertScopeAnalysis
import Foundation

struct LinguisticCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "linguistic",
    abstract: "Attention to nouns, verbs, subjects, objects, negation … and syntactic heads, from a CoNLL-U corpus.",
    discussion: """
      Kovaleva et al. 2019 §4.4–4.5 and Clark et al. 2019 §4.2. --input is CoNLL-U (spaCy, \
      Stanza, UDPipe; scripts/conllu/tag makes it from plain text). Each word is tokenized on \
      its own; word-level maps take the mean of a word's pieces' rows and the sum of their \
      columns, [CLS] and [SEP] being words of their own. Writes DIR/features.csv and \
      DIR/cls_features.csv (layer,head,feature,score), DIR/dependencies.csv \
      (relation,direction,count,layer,head,accuracy), DIR/dependency_best.csv \
      (relation,direction,count,best_layer,best_head,accuracy,baseline_offset,baseline_accuracy) \
      and DIR/linguistic.json; with --model-b also DIR/features_compare.csv and \
      DIR/cls_features_compare.csv (layer,head,feature,score_a,score_b,difference). Sentences \
      longer than the model's maximum are skipped and counted.
      """)

  @OptionGroup var options: ModelOptions
  @OptionGroup var corpus: CorpusOptions
  @Option(help: "A second checkpoint of the same shape: its feature scores beside the first's.") var modelB: String?

  func run() throws {
    let session = try options.session()
    let other = try modelB.map { try options.session($0, like: session) }
    if let other, other.config.numLayers != session.config.numLayers || other.config.numHeads != session.config.numHeads
    {
      throw BertScopeError.invalidInput(
        "--model-b has \(other.config.numLayers) layers × \(other.config.numHeads) heads, --model \(session.config.numLayers) × \(session.config.numHeads): the scores cannot be compared head by head"
      )
    }
    let run = try corpus.run(
      LinguisticAnalysis(), command: "linguistic", part: MergedRun.linguisticPart, session: session)
    let result = LinguisticResult(run.state, info: session.runInfo(run.count, options: run.options))
    let c = result.counts
    options.note(
      "\(c.sentences) sentences, \(c.words) words, \(c.arcs) dependency arcs"
        + (c.skippedLong > 0 ? "; \(c.skippedLong) skipped as longer than the model's maximum" : "")
        + (c.skippedUnaligned > 0 ? "; \(c.skippedUnaligned) skipped: a word gave no token" : ""))
    var files = try result.write(to: corpus.folder)
    if let other {
      let control = try corpus.control()
      let runB: (state: LinguisticState, count: RunCount)
      let source = corpus.source(control)
      var optionsB = source.options
      optionsB.modelB = other.model.directory.path
      runB = try session.run(
        LinguisticAnalysis(label: "linguistic (model b)", on: other), on: source, part: MergedRun.linguisticPartB,
        options: optionsB, modelB: run.recorder == nil ? nil : try ModelIdentity(other.model), recorder: run.recorder)
      let b = LinguisticResult(runB.state, info: other.runInfo(runB.count, options: optionsB))
      files += try LinguisticComparisonResult(result, b).write(to: corpus.folder)
    }
    try run.recorder?.finish()
    options.note("wrote \(files.map(\.path).joined(separator: ", "))\(run.recorder.map { ", " + $0.url.path } ?? "")")
    if let recorder = run.recorder, recorder.state.shard != .whole {
      options.note("shard \(recorder.state.shard): combine the shards with `bertscope merge --out DIR SHARD…`")
    }
    for name in ["det", "nsubj", "dobj", "obj"] {
      guard let d = result.dependencies.first(where: { $0.relation == name && $0.direction == .dependentToHead })
      else { continue }
      let b = d.best
      options.note(
        "\(name) (\(d.count) arcs): best head L\(b.layer + 1) H\(b.head + 1) \(String(format: "%.3f", b.accuracy)), baseline offset \(d.baselineOffset) \(String(format: "%.3f", d.baselineAccuracy))"
      )
    }
  }
}
