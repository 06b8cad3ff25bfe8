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
    let start = DispatchTime.now().uptimeNanoseconds
    let modelA = try options.loadModel()
    let modelB = try BertModel.load(from: URL(fileURLWithPath: self.modelB, isDirectory: true))
    try MapComparison.checkComparable(modelA, modelB)
    let encoderA = try options.makeEncoder(modelA)
    let encoderB = try options.makeEncoder(modelB)
    let reader = try CorpusReader(path: corpus.input)
    var comparison = MapComparison(layers: modelA.config.numLayers, heads: modelA.config.numHeads)
    let examples = try forEachBatch(reader, size: corpus.batchSize, progress: Progress("compare", enabled: !options.quiet)) { lines in
      let encodings = try encodeLines(lines, options: options, tokenizer: modelA.tokenizer, path: reader.path)
      // Both models' maps are held at once: half the budget each.
      let mapsPerSequence = 2 * modelA.config.numLayers * modelA.config.numHeads
      for run in Analysis.mapBatches(encodings.map(\.count), mapsPerSequence: mapsPerSequence) {
        let part = Array(encodings[run])
        let a = try encoderA.encode(part, options: EncodeOptions(maps: .all))
        let b = try encoderB.encode(part, options: EncodeOptions(maps: .all))
        try comparison.add(a, b)
      }
      return encodings.reduce(0) { $0 + $1.count }
    }
    var opts = corpus.json
    opts["modelB"] = modelB.directory.path
    try writeAnalysis(
      folder: corpus.folder, name: "compare", tables: [("compare.csv", comparison.csv)], json: comparison.json, model: modelA,
      encoder: encoderA, examples: examples, options: opts, seconds: secondsSince(start), note: options.note)
  }
}
