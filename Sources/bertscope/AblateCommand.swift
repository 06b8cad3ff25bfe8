import ArgumentParser
import BertScope
import BertScopeAnalysis
import Foundation

struct AblateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ablate",
    abstract: "Disable each head alone and each layer alone (no retraining) and measure the effect.",
    discussion: """
      Kovaleva et al. 2019 §4.6. --mode uniform (the paper's) replaces the head's attention \
      with 1/L over the real tokens; --mode zero zeroes its output (Hugging Face head_mask). \
      --task similarity reads text_a<TAB>text_b<TAB>score and reports Spearman's rho between \
      the embeddings' cosine and the score; --task classify reads text<TAB>label (or \
      text_a<TAB>text_b<TAB>label) for a checkpoint with a classification head and reports \
      accuracy (a label is a class index or an id2label name); without --task, any corpus, \
      and the metric is the mean 1 - cosine between the ablated and the intact pooled \
      embeddings. The weights are loaded once; each batch runs the intact model and then one \
      pass per head and per layer, each starting at the disabled layer from the intact pass's \
      hidden states (the layers below it cannot change): for 6 layers 40 % less work. Writes DIR/ablation.csv (layer,head,metric,delta; head is \
      "all" for a whole layer) and DIR/ablation.json (with the baseline).
      """)

  @OptionGroup var options: ModelOptions
  @OptionGroup var corpus: CorpusOptions
  @Option(help: "uniform or zero.") var mode: AblationMode = .uniform
  @Option(help: "similarity or classify (default: the change of the embeddings, no labels needed).") var task:
    AblationTask?
  @Option(help: "Sentence embedding: mean or cls.") var pooling: Pooling = .mean

  func run() throws {
    let session = try options.session()
    let analysis = AblationAnalysis(task: task ?? .embeddingChange, mode: mode, pooling: pooling)
    let c = session.config
    options.note("\(c.numLayers * (c.numHeads + 1)) targets (every head and every layer) + the intact model per batch")
    let run = try corpus.run(analysis, command: "ablate", part: MergedRun.ablationPart, session: session) {
      ($0.mode, $0.task, $0.pooling) = (mode, analysis.task, pooling)
    }
    let result = AblationResult(run.state, info: session.runInfo(run.count, options: run.options))
    try write(result, to: corpus.folder, options: options, recorder: run.recorder)
    if let worst = result.rows.filter({ $0.target.head != nil }).min(by: { abs($0.delta) > abs($1.delta) }) {
      options.note(
        String(
          format: "baseline %@ %.4f; largest single-head change: layer %d head %d (%+.4f)", result.metric.rawValue,
          result.baseline,
          worst.target.layer + 1, worst.target.head! + 1, worst.delta))
    }
  }
}
