import ArgumentParser
import BertScope
import BertScopeAnalysis
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
    let layerList = try layers.map { try parseIndexList($0, name: "layers") }
    let headList = try heads.map { try parseIndexList($0, name: "heads") }
    let session = try options.session()
    let encoding = try session.encode(text, pair: pair, where: "--text")
    let output = try session.encoder.encode(
      [encoding], options: EncodeOptions(maps: .select(layers: layerList, heads: headList)))
    let maps = output.maps[0]
    let tokens = TokensFile(
      encoding, maps: maps, text: text, pair: pair, model: session.model.directory.path,
      backend: session.encoder.backendDescription)
    let folder = URL(fileURLWithPath: out, isDirectory: true)
    try AttentionExport.write(output, encoding: encoding, tokens: tokens, hidden: true, to: folder)
    let l = encoding.count
    options.note(
      "wrote \(folder.path)/attention.npy [\(maps.layers.count), \(maps.heads.count), \(l), \(l)], hidden.npy, tokens.json"
    )
  }
}
