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
    let start = DispatchTime.now().uptimeNanoseconds
    let model = try options.loadModel()
    let encoder = try options.makeEncoder(model)
    let reader = try CorpusReader(path: corpus.input)
    let path = reader.path
    var scores = RelationScores(layers: model.config.numLayers, heads: model.config.numHeads)
    let examples = try forEachBatch(reader, size: corpus.batchSize, progress: Progress("relations", enabled: !options.quiet)) { lines in
      // A JSON line may contain TABs inside strings: parse the raw line, not the fields.
      let parsed = try lines.map { try RelationExample.parse($0.fields.joined(separator: "\t"), line: $0.number, path: path) }
      let encodings = try parsed.map { try options.encode(model.tokenizer, $0.text, where: "\(path):\($0.line)") }
      let c = model.config
      for run in Analysis.mapBatches(encodings.map(\.count), mapsPerSequence: c.numLayers * c.numHeads) {
        let output = try encoder.encode(Array(encodings[run]), options: EncodeOptions(maps: .all))
        for (k, i) in run.enumerated() { try scores.add(parsed[i], encoding: encodings[i], maps: output.maps[k], path: path) }
      }
      return encodings.reduce(0) { $0 + $1.count }
    }
    if scores.skippedPairs > 0 { options.note("\(scores.skippedPairs) pairs skipped: a span covered no token") }
    try writeAnalysis(
      folder: corpus.folder, name: "relations", tables: [("relations.csv", scores.csv)], json: scores.json, model: model,
      encoder: encoder, examples: examples, options: corpus.json, seconds: secondsSince(start), note: options.note)
  }
}
