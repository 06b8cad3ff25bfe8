import ArgumentParser
import BertScope
import BertScopeAnalysis
import Foundation

struct SpecialCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "special",
    abstract: "Per head: mean attention to [CLS], [SEP], punctuation, self, previous and next token, and row entropy.",
    discussion: """
      Kovaleva et al. 2019 §4.4–4.5 and Clark et al. 2019. The attention to a token is its \
      column mean (averaged over query rows), the max over positions of that kind (the two \
      [SEP]s of a pair, every punctuation mark), averaged over examples; entropy in nats. \
      Writes DIR/special.csv (layer,head,cls,sep,punct,self,prev,next,entropy), DIR/cls_row.csv \
      (the last layer's [CLS] row summed by key kind) and DIR/special.json (also per-layer means \
      and the layers ranked by attention to [CLS] and [SEP]).
      """)

  @OptionGroup var options: ModelOptions
  @OptionGroup var corpus: CorpusOptions

  func run() throws {
    let start = DispatchTime.now().uptimeNanoseconds
    let model = try options.loadModel()
    let encoder = try options.makeEncoder(model)
    let reader = try CorpusReader(path: corpus.input)
    let c = model.config
    var features = HeadAccumulator(layers: c.numLayers, heads: c.numHeads, width: MapFeatures.count)
    let examples = try forEachBatch(reader, size: corpus.batchSize, progress: Progress("special", enabled: !options.quiet)) { lines in
      let encodings = try encodeLines(lines, options: options, tokenizer: model.tokenizer, path: reader.path)
      for block in try FeatureBlock.compute(encodings, encoder: encoder) { features.add(block) }
      return encodings.reduce(0) { $0 + $1.count }
    }
    let report = SpecialReport(features: features)
    try writeAnalysis(
      folder: corpus.folder, name: "special", tables: [("special.csv", report.csv), ("cls_row.csv", report.clsRowCSV)],
      json: report.json, model: model, encoder: encoder, examples: examples, options: corpus.json,
      seconds: secondsSince(start), note: options.note)
    func summary(_ f: MapFeatures.Index) -> String {
      report.layersRanked(by: f).map { "L\($0) \(String(format: "%.3f", report.layerMean(f, layer: $0 - 1)))" }.joined(separator: ", ")
    }
    options.note("layers by attention to [CLS]: \(summary(.cls))")
    options.note("layers by attention to [SEP]: \(summary(.sep))")
  }
}
