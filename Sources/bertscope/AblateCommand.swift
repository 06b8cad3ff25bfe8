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
      pass per head and per layer. Writes DIR/ablation.csv (layer,head,metric,delta; head is \
      "all" for a whole layer) and DIR/ablation.json (with the baseline).
      """)

  @OptionGroup var options: ModelOptions
  @OptionGroup var corpus: CorpusOptions
  @Option(help: "uniform or zero.") var mode: AblationMode = .uniform
  @Option(help: "similarity or classify (default: the change of the embeddings, no labels needed).") var task: AblationTask?
  @Option(help: "Sentence embedding: mean or cls.") var pooling: Pooling = .mean

  func run() throws {
    let start = DispatchTime.now().uptimeNanoseconds
    let model = try options.loadModel()
    let encoder = try options.makeEncoder(model)
    let task = self.task ?? .embeddingChange
    let run = try AblationRun(encoder: encoder, task: task, mode: mode, pooling: pooling)
    let reader = try CorpusReader(path: corpus.input)
    let path = reader.path
    options.note("\(run.targets.count) targets (every head and every layer) + the intact model per batch")
    let examples = try forEachBatch(reader, size: corpus.batchSize, progress: Progress("ablate", enabled: !options.quiet)) { lines in
      let items = try ablationItems(lines, task: task, model: model, options: options, path: path)
      try run.add(items)
      return items.reduce(0) { $0 + $1.first.count + ($1.second?.count ?? 0) }
    }
    let report = run.report
    var opts = corpus.json
    opts["mode"] = mode.rawValue
    opts["task"] = task.rawValue
    opts["pooling"] = pooling.rawValue
    try writeAnalysis(
      folder: corpus.folder, name: "ablation", tables: [("ablation.csv", report.csv)], json: report.json, model: model,
      encoder: encoder, examples: examples, options: opts, seconds: secondsSince(start), note: options.note)
    let worst = report.rows.filter { $0.target.head != nil }.min { abs($0.delta) > abs($1.delta) }
    if let worst {
      options.note(
        String(
          format: "baseline %@ %.4f; largest single-head change: layer %d head %d (%+.4f)", task.metricName, report.baseline,
          worst.target.layer + 1, worst.target.head! + 1, worst.delta))
    }
  }
}
