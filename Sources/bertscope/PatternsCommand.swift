import ArgumentParser
import BertScope
import BertScopeAnalysis
import Foundation

struct PatternsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "patterns",
    abstract:
      "Classify every (example, layer, head) attention map as vertical, diagonal, vertical+diagonal, block or heterogeneous.",
    discussion: """
      Kovaleva et al. 2019 §4.1, with a linear model on per-map features instead of their CNN \
      (see PatternClassifier). Writes DIR/patterns.csv (layer,head,vertical,diagonal,\
      vertical+diagonal,block,heterogeneous: fractions of examples), DIR/patterns_by_layer.csv \
      (the paper's Figure 2) and DIR/patterns.json. Blank lines are skipped. --per-map also \
      writes DIR/maps.csv (line,layer,head,type,confidence): every map's type and the \
      classifier's margin for it (its probability minus the runner-up's: 0 on a decision \
      boundary, near 1 for a clear map).
      """)

  @OptionGroup var options: ModelOptions
  @OptionGroup var corpus: CorpusOptions
  @Flag(help: "Also write DIR/maps.csv: one row per (text, layer, head) map with its type and confidence.")
  var perMap = false

  func run() throws {
    let result: PatternsResult
    if perMap {
      if try corpus.control().keepsState {
        throw BertScopeError.invalidInput(
          "--per-map writes a row per map as the run goes: run it without --shard, --checkpoint-every or --resume")
      }
      let session = try options.session()
      let rows = try PerMapRows(folder: corpus.folder)
      do {
        let source = corpus.source(.plain)
        let (state, count) = try session.run(MapStatisticsAnalysis(label: "patterns", perMap: rows), on: source)
        result = PatternsResult(state, info: session.runInfo(count, options: source.options))
        try write(result, to: corpus.folder, options: options)
        options.note("wrote \(try rows.finish().path) (\(rows.rows) maps)")
      } catch {
        rows.abandon()
        throw error
      }
    } else {
      result = try corpus.writeMapStatistics(options, label: "patterns") { PatternsResult($0, info: $1) }
    }
    let overall = zip(AttentionPattern.allCases, result.overall.values).map {
      "\($0.name) \(String(format: "%.1f", 100 * $1)) %"
    }
    options.note("all heads: " + overall.joined(separator: ", "))
  }
}
