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
    let model = try options.loadModel()
    let encoding = try options.encode(model.tokenizer, text, pair: pair, where: "--text")
    let encoder = try options.makeEncoder(model)
    let output = try encoder.encode([encoding], options: EncodeOptions(maps: .all))
    let rollout = try Rollout.compute(output.maps[0])
    let folder = URL(fileURLWithPath: out, isDirectory: true)
    let l = encoding.count
    try NPY.write(rollout, shape: [model.config.numLayers, l, l], to: folder.appendingPathComponent("rollout.npy"))
    var info = encodingJSON(encoding)
    info["text"] = text
    if let pair { info["pair"] = pair }
    info["model"] = model.directory.path
    try AtomicFile.write(try jsonText(info, pretty: true) + "\n", to: folder.appendingPathComponent("tokens.json"))
    options.note("wrote \(folder.path)/rollout.npy [\(model.config.numLayers), \(l), \(l)], tokens.json")
  }
}
