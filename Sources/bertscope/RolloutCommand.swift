import ArgumentParser
import BertScope
import BertScopeAnalysis
import Foundation

struct RolloutCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rollout",
    abstract: "Attention rollout (Abnar & Zuidema 2020) of one text, per layer.",
    discussion: """
      Ã_l = rownorm(mean over heads of A_l + I), R_l = Ã_l ⋯ Ã_1. Writes DIR/rollout.npy \
      (float32 [layers, L, L]; rows are tokens of layer l, columns input tokens; rows sum to 1) \
      and DIR/tokens.json (tokens, ids, segments).
      """)

  @OptionGroup var options: ModelOptions
  @Option(help: "Text to encode.") var text: String
  @Option(help: "Second text of a pair (segment 1).") var pair: String?
  @Option(help: "Output folder.") var out: String

  func run() throws {
    let session = try options.session()
    let encoding = try session.encode(text, pair: pair, where: "--text")
    let output = try session.encoder.encode([encoding], options: EncodeOptions(maps: .all))
    let rollout = try Rollout.compute(output.maps[0])
    let folder = URL(fileURLWithPath: out, isDirectory: true)
    let (layers, l) = (session.config.numLayers, encoding.count)
    try NPY.write(rollout, shape: [layers, l, l], to: folder.appendingPathComponent("rollout.npy"))
    let tokens = TokensFile(
      encoding, maps: nil, text: text, pair: pair, model: session.model.directory.path, backend: nil)
    try AnalysisJSON.write(tokens, to: folder.appendingPathComponent("tokens.json"))
    options.note("wrote \(folder.path)/rollout.npy [\(layers), \(l), \(l)], tokens.json")
  }
}
