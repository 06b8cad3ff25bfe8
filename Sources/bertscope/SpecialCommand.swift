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
    let result = try corpus.writeMapStatistics(options, label: "special") { SpecialResult($0, info: $1) }
    func summary(_ column: SpecialColumn) -> String {
      result.layersRanked(by: column).map {
        "L\($0) \(String(format: "%.3f", result.layerMean(column, layer: $0 - 1)))"
      }
      .joined(separator: ", ")
    }
    options.note("layers by attention to [CLS]: \(summary(.cls))")
    options.note("layers by attention to [SEP]: \(summary(.sep))")
  }
}
