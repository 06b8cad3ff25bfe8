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
      Kovaleva et al. 2019 §4.1, with explicit rules on per-map features instead of their CNN \
      (see PatternClassifier). Writes DIR/patterns.csv (layer,head,vertical,diagonal,\
      vertical+diagonal,block,heterogeneous: fractions of examples), DIR/patterns_by_layer.csv \
      (the paper's Figure 2) and DIR/patterns.json. Blank lines are skipped.
      """)

  @OptionGroup var options: ModelOptions
  @OptionGroup var corpus: CorpusOptions

  func run() throws {
    let result = try corpus.writeMapStatistics(options, label: "patterns") { PatternsResult($0, info: $1) }
    let overall = zip(AttentionPattern.allCases, result.overall.values).map {
      "\($0.name) \(String(format: "%.1f", 100 * $1)) %"
    }
    options.note("all heads: " + overall.joined(separator: ", "))
  }
}
