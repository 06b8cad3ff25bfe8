import ArgumentParser
import BertScope
import BertScopeAnalysis
import BertScopeReport
import Foundation

struct PlotCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plot",
    abstract: "Draw one head's attention map of a text as a PNG, SVG or PDF figure with token labels.",
    discussion: """
      The format follows the extension of --out: .png (--scale pixels per figure unit, or --dpi; \
      a figure unit is 1/96 inch), .svg, or .pdf (vector, fonts embedded). Text is set in DejaVu \
      Sans with fontconfig's fallbacks, so tokens in any script an installed font covers render; \
      PNG and PDF need Cairo and Pango at run time (Debian: libpangocairo-1.0-0). Rows are the attending tokens (query, "from"), columns the attended \
      ones (key, "to"); viridis colours from 0 to 1 with a colour bar; the title names the layer, \
      the head and the map's pattern type. Up to 360 tokens the map is 720 units wide; longer \
      inputs keep every token at 2 units per cell. Layers and heads are numbered from 1.
      """)

  @OptionGroup var options: ModelOptions
  @Option(help: "Text to encode.") var text: String
  @Option(help: "Second text of a pair (segment 1).") var pair: String?
  @Option(help: "Layer, from 1.") var layer: Int
  @Option(help: "Head, from 1.") var head: Int
  @Option(help: "Output file: map.png, map.svg or map.pdf.") var out: String
  @Option(help: "PNG pixels per figure unit (0.5–16; 1 unit = 1/96 inch).") var scale = 2.0
  @Option(help: "PNG resolution in dots per inch (e.g. 300); overrides --scale.") var dpi: Double?

  var pixelScale: Double { dpi.map { $0 / 96 } ?? scale }

  func validate() throws {
    guard layer >= 1 else { throw ValidationError("--layer counts from 1 (got \(layer))") }
    guard head >= 1 else { throw ValidationError("--head counts from 1 (got \(head))") }
    guard (0.5...16).contains(scale) else { throw ValidationError("--scale must be 0.5 to 16") }
    if let dpi { guard (48...1536).contains(dpi) else { throw ValidationError("--dpi must be 48 to 1536") } }
    let format: FigureFormat
    do {
      format = try FigureFormat(path: out)
    } catch let error as BertScopeError {
      throw ValidationError("--out \(error.description)")
    }
    if format != .svg && !Graphics.isAvailable {
      // Before the model is loaded: say so at once rather than after the forward pass.
      do {
        _ = try CairoSurface(width: 1, height: 1, target: .image(scale: 1))
      } catch let error as BertScopeError {
        throw ValidationError(error.description)
      }
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
    try figure.write(to: url, scale: pixelScale)
    let size = figure.size
    let format = try FigureFormat(path: out)
    let pixels =
      format == .png
      ? String(
        format: ", %d × %d px at %.0f dpi", Int((size.width * pixelScale).rounded(.up)),
        Int((size.height * pixelScale).rounded(.up)), 96 * pixelScale)
      : ""
    options.note("wrote \(url.path) (layer \(layer), head \(head), \(pattern.name), \(l) tokens\(pixels))")
  }
}
