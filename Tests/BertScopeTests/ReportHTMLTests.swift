import Foundation
import Testing

@testable import BertScopeReport

@Suite("HTML report")
struct ReportHTMLTests {
  static func content() throws -> ReportContent {
    let tokens = ["[CLS]", "hi", "<there>", "[SEP]"]
    let maps = (0..<2).map { l in
      (0..<2).map { h in SampleData.attentionMap(tokens: tokens, kind: l + h, seed: UInt64(l * 2 + h)) }
    }
    let bars = try StackedBars(groups: ["1", "2"], series: ["a", "b"], values: [[0.5, 0.5], [0.2, 0.8]])
    return ReportContent(
      title: "Report <script>alert(1)</script> {{body}}", subtitle: "model & corpus",
      summary: ReportTable(columns: ["metric", "value"], rows: [["heads", "4"]], numericColumns: [1]),
      sections: [
        ReportSection(
          title: "One", description: "First paragraph.\n\nSecond {{body}} <!--figure:bars-->",
          items: [
            .figure(ReportFigure(id: "bars", caption: "Bars & more.", figure: bars)),
            .table(ReportTable(caption: "t", columns: ["x"], rows: [["<td>"]])),
          ]),
        ReportSection(
          title: "Two",
          items: [
            .modelView(
              ModelView(
                id: "ex", caption: "Example.", tokens: tokens, maps: maps, assignments: [[0, 1], [nil, 4]],
                thumbnailSize: 40)),
            .figure(
              ReportFigure(
                id: "map", caption: "One map.", figure: try Heatmap(values: maps[0][0], rowLabels: tokens),
                exportFiles: false)),
          ]),
      ])
  }

  @Test("writes a self-contained index.html with every figure filled in")
  func writesReport() throws {
    let dir = temporaryFolder("html")
    defer { try? FileManager.default.removeItem(at: dir) }
    let index = try Report.write(try Self.content(), to: dir)
    #expect(index.lastPathComponent == "index.html")
    let html = try String(contentsOf: index, encoding: .utf8)

    // Nothing external: the only http URL is the SVG namespace name, which is not fetched.
    let urls = html.components(separatedBy: "http").dropFirst().map { "http" + $0.prefix(30) }
    #expect(urls.allSatisfy { $0.hasPrefix("http://www.w3.org/2000/svg") }, "\(urls)")
    #expect(!html.contains("<link") && !html.contains("@import") && !html.contains("src=\"//"))

    // Each figure and model view once, with content; no placeholder left.
    #expect(html.components(separatedBy: " data-figure=\"").count - 1 == 3)
    #expect(!html.contains("<!--figure:"))
    #expect(
      html.components(separatedBy: "{{").count == 4, "only the user's own {{body}} texts are left (title ×2, section)")
    #expect(
      html.contains(
        "<figure class=\"figure\" id=\"figure-bars\" data-figure=\"bars\" data-kind=\"svg\">\n<div class=\"scroll\">\n<svg"
      ))
    #expect(html.contains("<b>Figure 1.</b> Bars &amp; more.") && html.contains("<b>Figure 3.</b> One map."))
    // User text is escaped, never interpreted.
    #expect(
      html.contains("<h1>Report &lt;script&gt;alert(1)&lt;/script&gt; {{body}}</h1>")
        && html.contains("<td>&lt;td&gt;</td>"))
    #expect(html.contains("Second {{body}} &lt;!--figure:bars--&gt;"))

    // Exported figures, full-size maps for the clicked thumbnails, no temporary files.
    let fm = FileManager.default
    #expect(fm.fileExists(atPath: dir.appendingPathComponent("figures/bars.svg").path))
    #expect(try PNG.decode(Array(try Data(contentsOf: dir.appendingPathComponent("figures/bars.png")))).width > 100)
    #expect(!fm.fileExists(atPath: dir.appendingPathComponent("figures/map.svg").path))
    for l in 1...2 {
      for h in 1...2 {
        let png = try Data(contentsOf: dir.appendingPathComponent("maps/ex/L\(l)-H\(h).png"))
        #expect(try PNG.decode(Array(png)).width == 64)  // 4 cells of 16 pixels: the labels are page text
        #expect(html.contains("data-full=\"maps/ex/L\(l)-H\(h).png\""))
      }
    }
    let leftovers = try fm.subpathsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".tmp") }
    #expect(leftovers.isEmpty)
  }

  @Test("model-view thumbnails are small inline PNGs framed by category")
  func thumbnails() throws {
    let content = try Self.content()
    guard case .modelView(let view) = content.sections[1].items[0] else { Issue.record("no model view"); return }
    let uris = try Report.thumbnails(view)
    #expect(uris.count == 2 && uris[0].count == 2)
    let prefix = "data:image/png;base64,"
    let png = try #require(Data(base64Encoded: String(uris[1][1].dropFirst(prefix.count))))
    let image = try PNG.decode(Array(png))
    #expect(image.width == 4 && image.height == 4)  // 4 tokens: one pixel per cell, scaled by the browser
    #expect(image[0, 0] == ColourMap.viridis.colour(at: Double(view.maps[1][1][0, 0])))
    let html = try HTMLPage(content: content).renderWith(thumbnails: ["ex": uris])
    #expect(
      html.contains("style=\"border-color:\(HeadGrid.patternTypes[1].colour.hex)\" data-layer=\"1\" data-head=\"2\""))
  }

  @Test("writing again replaces the report atomically")
  func rewrite() throws {
    let dir = temporaryFolder("rewrite")
    defer { try? FileManager.default.removeItem(at: dir) }
    var content = try Self.content()
    try Report.write(content, to: dir)
    content.title = "Second"
    let index = try Report.write(content, to: dir)
    #expect(try String(contentsOf: index, encoding: .utf8).contains("<h1>Second</h1>"))
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["figures", "index.html", "maps"])
  }

  @Test("duplicate or unsafe ids and mismatched model views are rejected")
  func validation() throws {
    let bars = try StackedBars(groups: ["1"], series: ["a"], values: [[1]])
    let dir = temporaryFolder("invalid")
    defer { try? FileManager.default.removeItem(at: dir) }
    let twice = ReportContent(
      title: "t",
      sections: [
        ReportSection(
          title: "s",
          items: [
            .figure(.init(id: "a", caption: "", figure: bars)), .figure(.init(id: "a", caption: "", figure: bars)),
          ])
      ])
    #expect(throws: (any Error).self) { try Report.write(twice, to: dir) }
    let unsafe = ReportContent(
      title: "t", sections: [ReportSection(title: "s", items: [.figure(.init(id: "../x", caption: "", figure: bars))])])
    #expect(throws: (any Error).self) { try Report.write(unsafe, to: dir) }
    let view = ModelView(id: "v", tokens: ["a", "b"], maps: [[Matrix(rows: 3, columns: 3, repeating: 0)]])
    let mismatched = ReportContent(title: "t", sections: [ReportSection(title: "s", items: [.modelView(view)])])
    #expect(throws: (any Error).self) { try Report.write(mismatched, to: dir) }
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("index.html").path))
  }
}

@Suite("HTML report: head view and viewer labels")
struct ReportHeadViewTests {
  static func view(tokens: [String], layers: Int = 2, heads: Int = 3) -> (HeadView, [[Matrix]]) {
    let maps = (0..<layers).map { l in
      (0..<heads).map { h in SampleData.attentionMap(tokens: tokens, kind: (l + h) % 5, seed: UInt64(10 * l + h)) }
    }
    return (HeadView(id: "hv", caption: "Head view.", tokens: tokens, maps: maps), maps)
  }

  @Test("the page carries the head view's quantized weights, its tokens and its script")
  func headViewData() throws {
    let tokens = SampleData.tokens
    let (view, maps) = Self.view(tokens: tokens)
    let content = ReportContent(
      title: "t", sections: [ReportSection(title: "s", items: [.headView(view)])])
    let dir = temporaryFolder("head-view")
    defer { try? FileManager.default.removeItem(at: dir) }
    let html = try String(contentsOf: try Report.write(content, to: dir), encoding: .utf8)
    #expect(figureAttribute(html, id: "hv", "data-kind") == "head-view")
    #expect(
      figureAttribute(html, id: "hv", "data-layers") == "2" && figureAttribute(html, id: "hv", "data-heads") == "3")
    let n = tokens.count
    #expect(figureAttribute(html, id: "hv", "data-n") == "\(n)")
    let tokenJSON = unescapeXML(try #require(figureAttribute(html, id: "hv", "data-tokens")))
    #expect(try JSONSerialization.jsonObject(with: Data(tokenJSON.utf8)) as? [String] == tokens)
    let encoded = try #require(figureAttribute(html, id: "hv", "data-weights"))
    let bytes = try #require(HeadView.decodedWeights(encoded, count: 2 * 3 * n * n))
    for (l, h, i, j) in [(0, 0, 0, 0), (1, 2, 5, 7), (1, 1, n - 1, 0)] {
      let w = maps[l][h][i, j]
      let want: UInt8 = w < HeadView.minimumWeight ? 0 : UInt8((Double(w) * Double(HeadView.levels)).rounded())
      let got: UInt8 = bytes[((l * 3 + h) * n + i) * n + j]
      #expect(got == want, "layer \(l) head \(h) cell (\(i), \(j))")
    }
    // The script that draws it, offline: a canvas, the browser's own inflate, head toggles.
    for part in ["function headView(", "DecompressionStream(\"deflate\")", "dblclick", "mouseenter", "hv-layer"] {
      #expect(html.contains(part), "\(part)")
    }
    #expect(!html.contains("Only the first"))
  }

  @Test("a long example's head view is capped and stays small")
  func headViewBound() throws {
    let tokens = ["[CLS]"] + (1..<511).map { "w\($0)" } + ["[SEP]"]
    let (view, _) = Self.view(tokens: tokens, layers: 6, heads: 12)
    #expect(view.shownTokens == 128)
    let markup = try view.html(number: 1)
    let bytes = markup.utf8.count
    #expect(bytes < 160_000, "head view of a 512-token example, 6 × 12 heads: \(bytes) bytes")
    #expect(markup.contains("Only the first 128 of the 512 tokens are shown"))
  }

  @Test("full maps are the cells only; the viewer labels them with HTML text")
  func viewerLabels() throws {
    let tokens = ["[CLS]", "café", "naïve", "москва", "東京", "[SEP]"]
    let maps = [[SampleData.attentionMap(tokens: tokens, kind: 1, seed: 3)]]
    let content = ReportContent(
      title: "t",
      sections: [ReportSection(title: "s", items: [.modelView(ModelView(id: "mv", tokens: tokens, maps: maps))])])
    let dir = temporaryFolder("viewer-labels")
    defer { try? FileManager.default.removeItem(at: dir) }
    let html = try String(contentsOf: try Report.write(content, to: dir), encoding: .utf8)
    // The PNG is the 6 × 6 cells, 16 pixels each, and nothing else (no label margins, no text).
    let image = try PNG.decode(Array(try Data(contentsOf: dir.appendingPathComponent("maps/mv/L1-H1.png"))))
    #expect(image.width == 96 && image.height == 96)
    for (i, j) in [(0, 0), (5, 0), (2, 3), (5, 5)] {
      #expect(image[j * 16 + 8, i * 16 + 8] == ColourMap.viridis.colour(for: Double(maps[0][0][i, j]), in: 0...1))
    }
    #expect(figureAttribute(html, id: "mv", "data-map") == "0 0 96 96")
    // The tokens travel as text (JSON in an attribute), and the viewer has its label boxes.
    let tokenJSON = unescapeXML(try #require(figureAttribute(html, id: "mv", "data-tokens")))
    #expect(try JSONSerialization.jsonObject(with: Data(tokenJSON.utf8)) as? [String] == tokens)
    #expect(html.contains("<div id=\"viewer-rows\" class=\"viewer-labels\"></div>"))
    #expect(html.contains("<div id=\"viewer-cols\" class=\"viewer-labels\"></div>"))
    #expect(html.contains("r.textContent = tokens[i]") && html.contains("k.textContent = tokens[i]"))
    #expect(Report.fullMapCellPixels(tokens: 512) == 1 && Report.fullMapCellPixels(tokens: 100) == 5)
  }
}

extension HTMLPage {
  func renderWith(thumbnails: [String: [[String]]]) throws -> String {
    var page = self
    page.thumbnails = thumbnails
    return try page.render()
  }
}
