import BertScope
import Foundation
import Testing

@testable import BertScopeReport

/// Whether a command-line tool is on this machine (poppler-utils' pdffonts and pdftotext;
/// scripts/setup installs them).
private func tool(_ name: String) -> String? {
  for dir in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)")
  {
    return "\(dir)/\(name)"
  }
  return nil
}

/// Runs `path args…` and returns its standard output.
private func output(_ path: String, _ args: [String]) throws -> String {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: path)
  p.arguments = args
  let pipe = Pipe()
  p.standardOutput = pipe
  p.standardError = FileHandle.nullDevice
  try p.run()
  let data = pipe.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  return String(decoding: data, as: UTF8.self)
}

/// Some CJK text fontconfig can find a font for (scripts/setup installs fonts-droid-fallback).
private let cjkCovered = Graphics.isAvailable && TextMetrics.shared.extent(of: "東京", size: 10).missingGlyphs == 0

@Suite("renderer: Cairo and Pango, real font metrics, PDF")
struct ReportRendererTests {
  static let graphicsMissing: Comment = "Cairo/Pango not loadable here (scripts/setup installs libpangocairo-1.0-0)"

  /// The device pixels darker than `threshold` on every channel.
  static func ink(_ b: Bitmap, threshold: UInt8 = 160) -> [(Int, Int)] {
    var out: [(Int, Int)] = []
    for y in 0..<b.height {
      for x in 0..<b.width {
        let c = b[x, y]
        if c.r < threshold && c.g < threshold && c.b < threshold { out.append((x, y)) }
      }
    }
    return out
  }

  @Test("the libraries load and report their versions", .enabled(if: Graphics.isAvailable, graphicsMissing))
  func loads() throws {
    let v = try #require(Graphics.versions)
    #expect(v.hasPrefix("cairo 1.") && v.contains("pango 1."), "\(v)")
    #expect(!TextMetrics.shared.isEstimated)
  }

  @Test("widths come from a proportional font and scale linearly with the size")
  func metrics() {
    let m = TextMetrics.shared
    let narrow = m.extent(of: "iiii", size: 10).width
    let wide = m.extent(of: "MMMM", size: 10).width
    #expect(wide > 2 * narrow, "i \(narrow) vs M \(wide): not a proportional font")
    let small = m.extent(of: "attention", size: 10)
    let big = m.extent(of: "attention", size: 20)
    #expect(abs(big.width - 2 * small.width) < 0.01 * big.width)
    #expect(abs(big.height - 2 * small.height) < 0.01 * big.height)
    #expect(small.baseline > 0.8 * 10 && small.baseline < small.height)
    #expect(TextStyle(size: 2).fontSize == 13 && TextStyle().fontSize == 10)
    #expect(TextStyle().length(of: "") == 0)
  }

  @Test(
    "DejaVu Sans's advance widths: 'M' 0.863 em, 'i' 0.278 em, space 0.318 em",
    .enabled(if: Graphics.isAvailable, graphicsMissing))
  func dejaVuAdvances() {
    // The advance widths in DejaVuSans.ttf's hmtx table (units per em 2048): M 1767, i 569, space 651.
    let m = TextMetrics.shared
    #expect(abs(m.extent(of: "M", size: 100).width - 86.28) < 0.2)
    #expect(abs(m.extent(of: "i", size: 100).width - 27.78) < 0.2)
    #expect(abs(m.extent(of: " ", size: 100).width - 31.79) < 0.2)
  }

  @Test("rectangles cover exactly their pixels at any scale", .enabled(if: Graphics.isAvailable, graphicsMissing))
  func fills() throws {
    for scale in [1.0, 3, 3.125] {
      let s = try CairoSurface(width: 10, height: 10, target: .image(scale: scale))
      s.fill(Rect(x: 1, y: 2, width: 3, height: 4), .black)
      let b = try s.bitmap()
      let black = Self.ink(b, threshold: 1)
      let (x0, x1) = (Int((1 * scale).rounded()), Int((4 * scale).rounded()))
      let (y0, y1) = (Int((2 * scale).rounded()), Int((6 * scale).rounded()))
      #expect(black.count == (x1 - x0) * (y1 - y0), "scale \(scale)")
      #expect(black.allSatisfy { (x0..<x1).contains($0.0) && (y0..<y1).contains($0.1) }, "scale \(scale)")
      // Nothing else was touched: the rest is exactly white.
      let white = (0..<b.height).flatMap { y in (0..<b.width).map { b[$0, y] } }.filter { $0 == .white }.count
      #expect(white == b.width * b.height - black.count, "scale \(scale)")
    }
  }

  @Test(
    "text is anti-aliased and its ink lies in the measured box at its anchor",
    .enabled(if: Graphics.isAvailable, graphicsMissing))
  func textBox() throws {
    let style = TextStyle(size: 2, colour: .black)
    let e = style.extent(of: "Ag")
    let s = try CairoSurface(width: 60, height: 30, target: .image(scale: 4))
    s.text("Ag", at: Point(5, 5), style: style)
    let b = try s.bitmap()
    let ink = Self.ink(b)
    #expect(!ink.isEmpty)
    let xs = ink.map { Double($0.0) / 4 }, ys = ink.map { Double($0.1) / 4 }
    #expect(xs.min()! >= 5 - 0.5 && xs.max()! <= 5 + e.width + 0.5)
    #expect(ys.min()! >= 5 && ys.max()! <= 5 + e.height)
    // The descender of 'g' goes below the baseline, the 'A' reaches near the cap height.
    #expect(ys.max()! > 5 + e.baseline + 1)
    #expect(ys.min()! < 5 + e.baseline - 0.6 * style.fontSize)
    // Anti-aliased: grey levels between ink and paper.
    let greys = Set((0..<b.height).flatMap { y in (0..<b.width).map { b[$0, y].r } }.filter { $0 > 30 && $0 < 225 })
    #expect(greys.count > 20, "only \(greys.count) grey levels: not anti-aliased")
  }

  @Test("rotated text reads upwards from its anchor", .enabled(if: Graphics.isAvailable, graphicsMissing))
  func rotated() throws {
    let style = TextStyle(colour: .black, baseline: .bottom, rotated: true)
    let w = style.length(of: "attention")
    let s = try CairoSurface(width: 30, height: 80, target: .image(scale: 2))
    s.text("attention", at: Point(20, 70), style: style)
    let ink = Self.ink(try s.bitmap())
    let xs = ink.map { Double($0.0) / 2 }, ys = ink.map { Double($0.1) / 2 }
    // Upwards from y = 70 over the text's length; to the left of x = 20 (its bottom edge).
    #expect(ys.max()! <= 70.5 && ys.min()! >= 70 - w - 0.5 && ys.max()! - ys.min()! > 0.8 * w)
    #expect(xs.max()! <= 20.5 && xs.min()! >= 20 - style.lineHeight)
  }

  @Test(
    "Cyrillic and accented tokens have glyphs; a character no font has is counted",
    .enabled(if: Graphics.isAvailable, graphicsMissing))
  func coverage() {
    #expect(TextMetrics.shared.extent(of: "Москва café naïve", size: 10).missingGlyphs == 0)
    #expect(TextMetrics.shared.extent(of: "\u{10FFFD}", size: 10).missingGlyphs == 1)
  }

  @Test(
    "a map's PDF embeds proportional fonts and its text holds every token",
    .enabled(if: Graphics.isAvailable, graphicsMissing))
  func pdf() throws {
    let (pdffonts, pdftotext) = (try #require(tool("pdffonts")), try #require(tool("pdftotext")))
    let tokens = ["[CLS]", "café", "Москва", "naïve", "[SEP]"]
    let n = tokens.count
    let map = try Matrix(rows: n, columns: n, values: (0..<(n * n)).map { Float($0 % n == 0 ? 0.6 : 0.1) })
    let figure = try Heatmap(values: map, rowLabels: tokens, title: "Layer 1, head 1")
    let url = Fixtures.temporaryDirectory("bertscope-pdf").appendingPathComponent("map.pdf")
    defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try figure.write(to: url)
    let data = try Data(contentsOf: url)
    #expect(data.starts(with: Array("%PDF-".utf8)))
    let fonts = try output(pdffonts, [url.path]).split(separator: "\n").dropFirst(2)
    #expect(!fonts.isEmpty)
    for line in fonts {
      let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
      // name type… emb sub uni: every font embedded (as a subset).
      let emb = f[f.count - 5]
      #expect(emb == "yes", "not embedded: \(line)")
    }
    #expect(fonts.contains { $0.contains("DejaVuSans") && !$0.contains("Mono") }, "\(fonts)")
    let text = try output(pdftotext, [url.path, "-"])
    for t in tokens + ["Layer 1, head 1"] { #expect(text.contains(t), "pdftotext lacks \(t): \(text)") }
    // The page is the figure's size at 0.75 pt per unit.
    let info = try output(try #require(tool("pdfinfo")), [url.path])
    let line = try #require(info.split(separator: "\n").first { $0.hasPrefix("Page size:") })
    let numbers = line.split(separator: " ").compactMap { Double($0) }
    #expect(numbers.count == 2, "\(line)")
    if numbers.count == 2 {
      #expect(abs(numbers[0] - figure.size.width * 0.75) < 0.01 && abs(numbers[1] - figure.size.height * 0.75) < 0.01)
    }
  }

  @Test(
    "CJK tokens render where a font has them (fonts-droid-fallback)",
    .enabled(if: cjkCovered && tool("pdftotext") != nil, "no installed font covers 東京, or no pdftotext"))
  func cjk() throws {
    let figure = try Heatmap(values: Matrix(rows: 2, columns: 2, repeating: 0.5), rowLabels: ["東京", "大阪"], title: "t")
    let pdf = try figure.pdf()
    let url = Fixtures.temporaryDirectory("bertscope-cjk").appendingPathExtension("pdf")
    defer { try? FileManager.default.removeItem(at: url) }
    try pdf.write(to: url)
    let text = try output(try #require(tool("pdftotext")), [url.path, "-"])
    #expect(text.contains("東京") && text.contains("大阪"), "\(text)")
  }

  @Test("SVG text: a proportional font first, the measured width as textLength")
  func svgText() throws {
    #expect(SVGCanvas.fontFamily.hasPrefix("'DejaVu Sans',"))
    let canvas = SVGCanvas(width: 100, height: 40)
    let style = TextStyle(anchor: .middle)
    canvas.text("attention", at: Point(50, 10), style: style)
    let e = try #require(try parseXML(canvas.document()).first { $0.name == "text" })
    #expect(e.text == "attention")
    #expect(abs(Double(e.attributes["textLength"]!)! - style.extent(of: "attention").width) <= 0.05)
    #expect(e.attributes["lengthAdjust"] == nil && e.attributes["text-anchor"] == "middle")
    // The baseline sits the font's ascent below the anchor (baseline .top).
    #expect(abs(Double(e.attributes["y"]!)! - (10 + style.extent(of: "Ag").baseline)) <= 0.005)
  }

  @Test("the PNG records its resolution: 300 dpi at scale 3.125", .enabled(if: Graphics.isAvailable, graphicsMissing))
  func dpi() throws {
    let bytes = try Heatmap(values: Matrix(rows: 2, columns: 2, repeating: 0), rowLabels: ["a", "b"], title: "t")
      .png(scale: 300.0 / 96)
    let i = try #require(bytes.indices.dropLast(13).first { Array(bytes[$0..<($0 + 4)]) == Array("pHYs".utf8) })
    let ppm = [UInt8](bytes[(i + 4)..<(i + 8)]).readBigEndian(0)
    #expect(ppm == 11811)  // 300 / 0.0254, rounded
    #expect(bytes[i + 12] == 1)
  }

  @Test("without the libraries: PNG and PDF fail with one clear line, SVG still works", .enabled(if: CLI.available))
  func withoutLibraries() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-nographics")
    defer { try? FileManager.default.removeItem(at: dir) }
    let env = ["BERTSCOPE_NO_GRAPHICS": "1"]
    let base = ["plot", "--model", Fixtures.tiny.path, "--text", "a b c", "--layer", "1", "--head", "1", "--out"]
    for ext in ["png", "pdf"] {
      let r = try CLI.run(base + [dir.appendingPathComponent("m.\(ext)").path], env: env)
      #expect(r.status != 0)
      #expect(r.stderr.contains("libpangocairo-1.0-0") && r.stderr.contains("BERTSCOPE_NO_GRAPHICS"), "\(r.stderr)")
      #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("m.\(ext)").path))
    }
    let svg = try CLI.run(base + [dir.appendingPathComponent("m.svg").path], env: env)
    #expect(svg.status == 0, "\(svg.stderr)")
    let text = try String(contentsOf: dir.appendingPathComponent("m.svg"), encoding: .utf8)
    #expect(text.contains("textLength") && text.contains("DejaVu Sans"))
  }

  @Test(
    "without the libraries a report still has its page, SVG figures and maps, and says so", .enabled(if: CLI.available))
  func reportWithoutLibraries() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-nographics-report")
    defer { try? FileManager.default.removeItem(at: dir) }
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let corpus = dir.appendingPathComponent("corpus.txt")
    try "the cat sat on the mat .\na dog ran far .\n".write(to: corpus, atomically: true, encoding: .utf8)
    let out = dir.appendingPathComponent("report")
    let r = try CLI.run(
      ["report", "--model", Fixtures.tiny.path, "--input", corpus.path, "--out", out.path, "--no-ablation"],
      env: ["BERTSCOPE_NO_GRAPHICS": "1"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stderr.contains("figures written as SVG only") && r.stderr.contains("libpangocairo-1.0-0"))
    let figures = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("figures").path)
    #expect(!figures.isEmpty && figures.allSatisfy { $0.hasSuffix(".svg") }, "\(figures)")
    let maps = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("maps/model-view").path)
    #expect(maps.contains("L1-H1.png"))
    let html = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
    #expect(!html.contains(".pdf\">PDF</a>") && html.contains(".svg\">SVG</a>"))
  }

  @Test("bad figure sizes and scales are errors, not crashes", .enabled(if: Graphics.isAvailable, graphicsMissing))
  func badSizes() {
    #expect(throws: BertScopeError.self) { try CairoSurface(width: 0, height: 10, target: .image(scale: 1)) }
    #expect(throws: BertScopeError.self) { try CairoSurface(width: 10, height: .nan, target: .image(scale: 1)) }
    #expect(throws: BertScopeError.self) { try CairoSurface(width: 10, height: 10, target: .image(scale: 1e6)) }
    #expect(throws: BertScopeError.self) {
      try CairoSurface(width: 10, height: 10, target: .pdf(path: "/nonexistent-dir/x.pdf", title: nil)).finish()
    }
  }
}
