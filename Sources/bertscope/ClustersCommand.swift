import ArgumentParser
import BertScope
import BertScopeAnalysis
import Foundation

struct ClustersCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "clusters",
    abstract: "Distances between all heads (Jensen–Shannon, over all layers) and their 2-D MDS (Clark et al. 2019 §6).",
    discussion: """
      For every pair of heads a = (layer_a, head_a) < b = (layer_b, head_b) over all layers: \
      d(a, b) = Σ over texts Σ over query rows i of JS(Ã_a[i,:], Ã_b[i,:]), each map smoothed \
      Ã = 0.999·A + 0.001/n (n = the text's length), JS(p, q) = ½KL(p‖m) + ½KL(q‖m), \
      m = (p + q)/2, in nats. The sums are taken next to the maps on the backend. Writes \
      DIR/head_distances.csv (layer_a,head_a,layer_b,head_b,js: the summed distance), \
      DIR/head_mds.csv (layer,head,x,y,pattern: classical MDS of the mean distance per token, \
      and each head's most frequent pattern type over the same texts) and DIR/clusters.json \
      (texts, rows, the mean per token, the eigenvalues, the explained share and the stress). \
      Blank lines are skipped; a sharded run merges with `bertscope merge`.
      """)

  @OptionGroup var options: ModelOptions
  @OptionGroup var corpus: CorpusOptions

  func run() throws {
    let session = try options.session()
    let run = try corpus.run(
      HeadClusteringAnalysis(), command: "clusters", part: MergedRun.clustersPart, session: session)
    let result = try ClustersResult(run.state, info: session.runInfo(run.count, options: run.options))
    try write(result, to: corpus.folder, options: options, recorder: run.recorder)
    options.note(
      "\(result.texts) texts, \(result.rows) tokens, \(result.distances.count) pairs of \(result.count) heads: mean JS "
        + "\(String(format: "%.4f", result.meanPerToken)) nats per token; MDS explains "
        + "\(String(format: "%.1f", 100 * result.explainedShare)) % (stress \(String(format: "%.3f", result.stress)))")
  }
}
