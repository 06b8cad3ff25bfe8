import ArgumentParser
import BertScope
import BertScopeAnalysis
import Foundation

struct PatternsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "patterns",
    abstract: "Classify every (example, layer, head) attention map as vertical, diagonal, vertical+diagonal, block or heterogeneous.",
    discussion: """
      Kovaleva et al. 2019 §4.1, with explicit rules on per-map features instead of their CNN \
      (see PatternClassifier). Writes DIR/patterns.csv (layer,head,vertical,diagonal,\
      vertical+diagonal,block,heterogeneous: fractions of examples), DIR/patterns_by_layer.csv \
      (the paper's Figure 2) and DIR/patterns.json. Blank lines are skipped.
      """)

  @OptionGroup var options: ModelOptions
  @OptionGroup var corpus: CorpusOptions

  func run() throws {
    let start = DispatchTime.now().uptimeNanoseconds
    let model = try options.loadModel()
    let encoder = try options.makeEncoder(model)
    let reader = try CorpusReader(path: corpus.input)
    let c = model.config
    let classifier = PatternClassifier()
    var counts = PatternCounts(layers: c.numLayers, heads: c.numHeads)
    let examples = try forEachBatch(reader, size: corpus.batchSize, progress: Progress("patterns", enabled: !options.quiet)) { lines in
      let encodings = try encodeLines(lines, options: options, tokenizer: model.tokenizer, path: reader.path)
      for block in try FeatureBlock.compute(encodings, encoder: encoder) { counts.add(block, classifier: classifier) }
      return encodings.reduce(0) { $0 + $1.count }
    }
    let report = PatternReport(counts: counts, classifier: classifier)
    try writeAnalysis(
      folder: corpus.folder, name: "patterns", tables: [("patterns.csv", report.csv), ("patterns_by_layer.csv", report.layerCSV)],
      json: report.json, model: model, encoder: encoder, examples: examples, options: corpus.json,
      seconds: secondsSince(start), note: options.note)
    let overall = zip(AttentionPattern.allCases, counts.overallFractions).map { "\($0.name) \(String(format: "%.1f", 100 * $1)) %" }
    options.note("all heads: " + overall.joined(separator: ", "))
  }
}
