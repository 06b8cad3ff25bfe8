import ArgumentParser
import BertScope
import BertScopeAnalysis
import BertScopeReport
import Foundation

struct PlotCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plot",
    abstract: "Draw one head's attention map of a text as a PNG or SVG figure with token labels.",
    discussion: """
      The format follows the extension of --out: .png (written by BertScope, --scale pixels per \
      figure unit) or .svg. Rows are the attending tokens (query, "from"), columns the attended \
      ones (key, "to"); viridis colours from 0 to 1 with a colour bar; the title names the layer, \
      the head and the map's pattern type. Up to 360 tokens the map is 720 units wide; longer \
      inputs keep every token at 2 units per cell. Layers and heads are numbered from 1.
      """)

  @OptionGroup var options: ModelOptions
  @Option(help: "Text to encode.") var text: String
  @Option(help: "Second text of a pair (segment 1).") var pair: String?
  @Option(help: "Layer, from 1.") var layer: Int
  @Option(help: "Head, from 1.") var head: Int
  @Option(help: "Output file: map.png or map.svg.") var out: String
  @Option(help: "PNG pixels per figure unit (1–8).") var scale = 2

  func validate() throws {
    guard layer >= 1 else { throw ValidationError("--layer counts from 1 (got \(layer))") }
    guard head >= 1 else { throw ValidationError("--head counts from 1 (got \(head))") }
    guard (1...8).contains(scale) else { throw ValidationError("--scale must be 1 to 8") }
    do {
      _ = try FigureFormat(path: out)
    } catch let error as BertScopeError {
      throw ValidationError("--out \(error.description)")
    }
  }

  func run() throws {
    let session = try options.session()
    let c = session.config
    guard layer <= c.numLayers else {
      throw BertScopeError.invalidInput("--layer \(layer): \(session.model.name) has layers 1–\(c.numLayers)")
    }
    guard head <= c.numHeads else {
      throw BertScopeError.invalidInput("--head \(head): \(session.model.name) has heads 1–\(c.numHeads)")
    }
    let encoding = try session.encode(text, pair: pair, where: "--text")
    let output = try session.encoder.encode(
      [encoding], options: EncodeOptions(maps: .select(layers: [layer - 1], heads: [head - 1])))
    let l = encoding.count
    let map = try Matrix(rows: l, columns: l, values: Array(output.maps[0].map(0, 0)))
    let context = try MapContext(encoding, tokenizer: session.tokenizer)
    let pattern = PatternClassifier().classify(MapFeatures.compute(map.values, context: context))
    let figure = try AnalysisReport.mapFigure(
      tokens: encoding.tokens, map: map, layer: layer - 1, head: head - 1, pattern: pattern)
    let url = URL(fileURLWithPath: out)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try figure.write(to: url, scale: scale)
    let size = figure.size
    let format = try FigureFormat(path: out)
    let pixels =
      format == .png
      ? String(
        format: ", %d × %d px", Int((size.width * Double(scale)).rounded(.up)),
        Int((size.height * Double(scale)).rounded(.up)))
      : ""
    options.note("wrote \(url.path) (layer \(layer), head \(head), \(pattern.name), \(l) tokens\(pixels))")
  }
}
