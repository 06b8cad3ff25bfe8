import ArgumentParser
import BertScope
import Foundation

struct AttentionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "attention",
    abstract: "Run the model on one text (or pair) and write its attention maps and last hidden state.",
    discussion: """
      Writes DIR/attention.npy (float32 [layers, heads, L, L]: rows are queries, columns keys, \
      each row sums to 1), DIR/hidden.npy (float32 [L, hidden], last layer) and DIR/tokens.json \
      (tokens, ids, segments, and the layers/heads held, numbered from 1). Load them with numpy.load.
      """)

  @OptionGroup var options: ModelOptions
  @Option(help: "Text to encode.") var text: String
  @Option(help: "Second text of a pair (segment 1).") var pair: String?
  @Option(help: "Output folder.") var out: String
  @Option(help: "Layers to keep, numbered from 1, e.g. 1,3 or 2-4 (default: all).") var layers: String?
  @Option(help: "Heads to keep, numbered from 1, e.g. 2,5 (default: all).") var heads: String?

  func run() throws {
    let model = try options.loadModel()
    let layerList = try layers.map { try parseIndexList($0, name: "layers") }
    let headList = try heads.map { try parseIndexList($0, name: "heads") }
    let encoding = try options.encode(model.tokenizer, text, pair: pair, where: "--text")
    let encoder = try options.makeEncoder(model)
    let result = try encoder.encode([encoding], options: EncodeOptions(maps: .select(layers: layerList, heads: headList)))
    let maps = result.maps[0]
    let folder = URL(fileURLWithPath: out, isDirectory: true)
    let l = encoding.count
    try NPY.write(maps.values(), shape: [maps.layers.count, maps.heads.count, l, l], to: folder.appendingPathComponent("attention.npy"))
    try NPY.write(result.hiddenState(0), shape: [l, model.config.hiddenSize], to: folder.appendingPathComponent("hidden.npy"))
    var info = encodingJSON(encoding)
    info["layers"] = maps.layers.map { $0 + 1 }
    info["heads"] = maps.heads.map { $0 + 1 }
    info["text"] = text
    if let pair { info["pair"] = pair }
    info["model"] = model.directory.path
    info["backend"] = encoder.backendDescription
    try AtomicFile.write(try jsonText(info, pretty: true) + "\n", to: folder.appendingPathComponent("tokens.json"))
    options.note("wrote \(folder.path)/attention.npy [\(maps.layers.count), \(maps.heads.count), \(l), \(l)], hidden.npy, tokens.json")
  }
}
