import BertScope
import Foundation

extension Report {
  /// PNG pixels per figure unit of the figures in `figures/`: 300 dpi.
  public static let paperScale = 300.0 / 96

  /// Writes `content` as a self-contained report into `directory`: `index.html` (figures
  /// inlined as SVG, styles and script inline, no network) plus `figures/<id>.svg|png|pdf`
  /// (PNG at 300 dpi; PNG and PDF only where Cairo and Pango load, see ``Graphics``) and
  /// `maps/<model view id>/L<l>-H<h>.png` (layer and head from 1; the cells only, the viewer adds
  /// the token labels as HTML text). Every file is written to a temporary name in its
  /// folder and renamed into place; `index.html` comes last, so an open page never sees a
  /// half-written report.
  ///
  /// - Returns: the URL of `index.html`.
  @discardableResult
  public static func write(_ content: ReportContent, to directory: URL) throws -> URL {
    try validate(content)
    let fm = FileManager.default
    do {
      try fm.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
      throw BertScopeError.io(
        path: directory.path, problem: "cannot create the report folder: \(error.localizedDescription)")
    }
    var page = HTMLPage(content: content)
    for section in content.sections {
      for item in section.items {
        switch item {
        case .figure(let f) where f.exportFiles:
          let folder = directory.appendingPathComponent("figures")
          try createFolder(folder)
          try f.figure.writeSVG(to: folder.appendingPathComponent("\(f.id).svg"))
          if page.drawsRaster {
            try f.figure.writePNG(to: folder.appendingPathComponent("\(f.id).png"), scale: Report.paperScale)
            try f.figure.writePDF(to: folder.appendingPathComponent("\(f.id).pdf"))
          }
        case .modelView(let view):
          let folder = directory.appendingPathComponent("maps").appendingPathComponent(view.id)
          try createFolder(folder)
          page.mapRects[view.id] = try writeFullMaps(view, to: folder)
          page.thumbnails[view.id] = try thumbnails(view)
          if view.exportFiles {
            // The whole grid as one figure for papers: thumbnails framed by category, legend, colour bar.
            let figures = directory.appendingPathComponent("figures")
            try createFolder(figures)
            let grid = try HeadGrid(
              maps: view.maps, categories: view.categories, assignments: view.assignments, title: view.title)
            try grid.writeSVG(to: figures.appendingPathComponent("\(view.id).svg"))
            if page.drawsRaster {
              try grid.writePNG(to: figures.appendingPathComponent("\(view.id).png"), scale: Report.paperScale)
              try grid.writePDF(to: figures.appendingPathComponent("\(view.id).pdf"))
            }
          }
        default:
          break
        }
      }
    }
    let html = try page.render()
    let index = directory.appendingPathComponent("index.html")
    try AtomicFile.write(Data(html.utf8), to: index)
    return index
  }

  static func createFolder(_ url: URL) throws {
    try AtomicFile.createFolder(url)
  }

  static func validate(_ content: ReportContent) throws {
    var ids = Set<String>()
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
    for section in content.sections {
      for item in section.items {
        let id: String
        switch item {
        case .figure(let f): id = f.id
        case .modelView(let v):
          id = v.id
          let l = v.tokens.count
          guard !v.maps.isEmpty, let heads = v.maps.first?.count, heads > 0, v.maps.allSatisfy({ $0.count == heads }),
            v.maps.allSatisfy({ $0.allSatisfy { $0.rows == l && $0.columns == l } })
          else {
            throw BertScopeError.invalidInput(
              "model view \(v.id): maps must be layers × heads, each \(l) × \(l) like its \(l) tokens")
          }
          if let a = v.assignments {
            guard a.count == v.maps.count, zip(a, v.maps).allSatisfy({ $0.count == $1.count }),
              a.allSatisfy({ $0.allSatisfy { $0 == nil || v.categories.indices.contains($0!) } })
            else {
              throw BertScopeError.invalidInput("model view \(v.id): assignments do not match the maps or categories")
            }
          }
        case .headView(let v):
          id = v.id
          let l = v.tokens.count
          guard l > 0, !v.maps.isEmpty, let heads = v.maps.first?.count, heads > 0,
            v.maps.allSatisfy({ $0.count == heads }),
            v.maps.allSatisfy({ $0.allSatisfy { $0.rows == l && $0.columns == l } })
          else {
            throw BertScopeError.invalidInput(
              "head view \(v.id): maps must be layers × heads, each \(l) × \(l) like its \(l) tokens")
          }
        default: continue
        }
        guard !id.isEmpty, id.allSatisfy({ allowed.contains($0) }) else {
          throw BertScopeError.invalidInput("report: id \"\(id)\" must be letters, digits, '-' or '_'")
        }
        guard ids.insert(id).inserted else { throw BertScopeError.invalidInput("report: id \"\(id)\" is used twice") }
      }
    }
  }

  /// Thumbnails as PNG data URIs, [layer][head]: the map block-max reduced to at most twice the
  /// CSS size (enough for high-DPI screens).
  static func thumbnails(_ view: ModelView) throws -> [[String]] {
    let side = view.thumbnailSize * 2
    return try view.maps.map { layer in
      try layer.map { map in
        // One pixel per cell; the browser scales it up pixelated, which keeps the URI small.
        let shown = map.downsampled(maxSide: side, reduction: .max)
        let bitmap = shown.bitmap(colourMap: .viridis)
        return "data:image/png;base64," + Data(try PNG.encode(bitmap)).base64EncodedString()
      }
    }
  }

  /// The full-size map of every head, its cells only (the page labels them with HTML text),
  /// written in parallel (they are independent): every cell an integer number of pixels, 16
  /// up to 32 tokens, then `512 / L` (at least 1: a 512-token map is 512 pixels square, which
  /// the viewer scales up pixelated).
  ///
  /// - Returns: where the cells lie in each PNG, in its pixels (the whole image).
  static func writeFullMaps(_ view: ModelView, to folder: URL) throws -> Rect {
    let heads = view.maps[0].count
    let jobs = view.maps.count * heads
    let errors = ErrorBox()
    let l = view.tokens.count
    let cell = fullMapCellPixels(tokens: l)
    DispatchQueue.concurrentPerform(iterations: jobs) { job in
      let (li, h) = (job / heads, job % heads)
      do {
        let bitmap = scaled(view.maps[li][h].bitmap(colourMap: .viridis), by: cell)
        try PNG.write(bitmap, to: folder.appendingPathComponent("L\(li + 1)-H\(h + 1).png"))
      } catch {
        errors.record(error)
      }
    }
    if let error = errors.first { throw error }
    let side = Double(l * cell)
    return Rect(x: 0, y: 0, width: side, height: side)
  }

  /// Pixels per cell side of the full maps for `tokens` tokens.
  static func fullMapCellPixels(tokens l: Int) -> Int { max(1, min(16, 512 / max(l, 1))) }

  /// `bitmap` with every pixel repeated `k` × `k` times.
  static func scaled(_ bitmap: Bitmap, by k: Int) -> Bitmap {
    guard k > 1 else { return bitmap }
    var out = Bitmap(width: bitmap.width * k, height: bitmap.height * k, channels: bitmap.channels)
    let c = bitmap.channels
    let (w, ow) = (bitmap.width, bitmap.width * k)
    for y in 0..<out.height {
      let sy = y / k
      for x in 0..<ow {
        let (src, dst) = ((sy * w + x / k) * c, (y * ow + x) * c)
        for ch in 0..<c { out.bytes[dst + ch] = bitmap.bytes[src + ch] }
      }
    }
    return out
  }
}

/// Collects the first error thrown by parallel jobs.
final class ErrorBox: @unchecked Sendable {
  private let lock = NSLock()
  private var error: (any Error)?
  func record(_ e: any Error) {
    lock.lock()
    if error == nil { error = e }
    lock.unlock()
  }
  var first: (any Error)? {
    lock.lock()
    defer { lock.unlock() }
    return error
  }
}

/// Builds index.html: a template whose `{{…}}` slots and `<!--figure:id-->` placeholders are
/// filled, then checked to be all filled.
struct HTMLPage {
  let content: ReportContent
  /// Whether figures also go to PNG and PDF (Cairo and Pango are there); SVG always.
  var drawsRaster = Graphics.isAvailable
  var thumbnails: [String: [[String]]] = [:]
  /// Per model view: where the cells lie in its full-map PNGs, in pixels.
  var mapRects: [String: Rect] = [:]

  init(content: ReportContent) { self.content = content }

  /// The links to a figure's files in `figures/`.
  func downloads(_ id: String) -> String {
    var links = ["<a href=\"figures/\(id).svg\">SVG</a>"]
    if drawsRaster { links += ["<a href=\"figures/\(id).pdf\">PDF</a>", "<a href=\"figures/\(id).png\">PNG</a>"] }
    return " <span class=\"downloads\">" + links.joined(separator: " · ") + "</span>"
  }

  static let template = """
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="generator" content="BertScope">
    <title>{{title}}</title>
    <style>
    {{style}}
    </style>
    </head>
    <body data-report="loading">
    <header>
    <h1>{{title}}</h1>
    <p class="subtitle">{{subtitle}}</p>
    <nav>{{nav}}</nav>
    </header>
    <main>
    {{body}}
    </main>
    <dialog id="viewer" aria-label="attention map">
    <div class="viewer-bar"><span id="viewer-title"></span><span id="viewer-cell" aria-live="polite"></span><span class="viewer-hint">← ↑ → ↓ to move, Esc to close</span><button type="button" id="viewer-close" aria-label="close">×</button></div>
    <div id="viewer-map"><div id="viewer-cols" class="viewer-labels"></div><div id="viewer-rows" class="viewer-labels"></div><img id="viewer-image" alt=""></div>
    <p class="viewer-axes">rows: from (query token) · columns: to (key token) · colour: attention weight, 0 (dark) to 1 (yellow)</p>
    </dialog>
    <footer>Made by BertScope. Self-contained: open offline; figures are also in <code>figures/</code> as {{formats}}.</footer>
    <script>
    {{script}}
    </script>
    </body>
    </html>

    """

  func render() throws -> String {
    var figures: [String: String] = [:]
    var body = ""
    var nav: [String] = []
    var figureNumber = 0
    if let summary = content.summary {
      nav.append("<a href=\"#summary\">Summary</a>")
      body += "<section id=\"summary\">\n<h2>Summary</h2>\n\(table(summary))</section>\n"
    }
    for (n, section) in content.sections.enumerated() {
      let anchor = "section-\(n + 1)"
      nav.append("<a href=\"#\(anchor)\">\(escapeXML(section.title))</a>")
      body += "<section id=\"\(anchor)\">\n<h2>\(escapeXML(section.title))</h2>\n\(paragraphs(section.description))"
      for item in section.items {
        switch item {
        case .figure(let f):
          figureNumber += 1
          body += "<!--figure:\(f.id)-->\n"
          var links = ""
          if f.exportFiles {
            links =
              downloads(f.id)
          }
          // Shown 1.5 × larger than its figure units (the viewBox keeps it sharp); CSS caps
          // the width at the page's.
          let size = f.figure.size
          let svg = f.figure.svgElement(attributes: [
            ("role", "img"), ("aria-label", f.caption), ("width", num(size.width * 1.5)),
            ("height", num(size.height * 1.5)),
          ])
          figures[f.id] =
            "<figure class=\"figure\" id=\"figure-\(f.id)\" data-figure=\"\(f.id)\" data-kind=\"svg\">\n<div class=\"scroll\">\n\(svg)</div>\n<figcaption><b>Figure \(figureNumber).</b> \(escapeXML(f.caption))\(links)</figcaption>\n</figure>"
        case .table(let t):
          body += table(t)
        case .text(let text):
          body += paragraphs(text)
        case .modelView(let v):
          figureNumber += 1
          body += "<!--figure:\(v.id)-->\n"
          figures[v.id] = modelView(v, number: figureNumber)
        case .headView(let v):
          figureNumber += 1
          body += "<!--figure:\(v.id)-->\n"
          figures[v.id] = try v.html(number: figureNumber)
        }
      }
      body += "</section>\n"
    }
    for (id, markup) in figures { body = body.replacingOccurrences(of: "<!--figure:\(id)-->", with: markup) }
    if let left = body.range(of: "<!--figure:") {
      throw BertScopeError.invalidInput("report: unfilled figure placeholder at \(body[left.lowerBound...].prefix(40))")
    }
    return try HTMLPage.fill(
      HTMLPage.template,
      [
        "title": escapeXML(content.title), "subtitle": escapeXML(content.subtitle), "nav": nav.joined(separator: "\n"),
        "style": HTMLAssets.compact(HTMLAssets.style), "script": HTMLAssets.compact(HTMLAssets.script),
        "body": body,
        "formats": drawsRaster
          ? "SVG, PDF and PNG (300 dpi)" : "SVG (PNG and PDF need Cairo and Pango: \(Graphics.packages))",
      ])
  }

  /// Replaces each `{{name}}` in `template` with `slots[name]` in one pass, so that text put in
  /// one slot is never scanned for others; throws when a slot has no value.
  static func fill(_ template: String, _ slots: [String: String]) throws -> String {
    var out = ""
    var rest = template[...]
    while let open = rest.range(of: "{{") {
      out += rest[..<open.lowerBound]
      guard let close = rest[open.upperBound...].range(of: "}}") else { break }
      let name = String(rest[open.upperBound..<close.lowerBound])
      guard let value = slots[name] else {
        throw BertScopeError.invalidInput("report: template slot {{\(name)}} has no value")
      }
      out += value
      rest = rest[close.upperBound...]
    }
    return out + rest
  }

  func paragraphs(_ text: String) -> String {
    text.components(separatedBy: "\n\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
      .filter { !$0.isEmpty }.map { "<p>\(escapeXML($0))</p>\n" }.joined()
  }

  func table(_ t: ReportTable) -> String {
    var s = t.caption.isEmpty ? "" : "<p class=\"table-caption\">\(escapeXML(t.caption))</p>\n"
    s += "<div class=\"scroll\"><table class=\"data\">\n"
    s += "<thead><tr>"
    for (i, c) in t.columns.enumerated() {
      s += "<th\(t.numericColumns.contains(i) ? " class=\"num\"" : "")>\(escapeXML(c))</th>"
    }
    s += "</tr></thead>\n<tbody>\n"
    for row in t.rows {
      s += "<tr>"
      for (i, c) in row.enumerated() {
        s += "<td\(t.numericColumns.contains(i) ? " class=\"num\"" : "")>\(escapeXML(c))</td>"
      }
      s += "</tr>\n"
    }
    return s + "</tbody>\n</table></div>\n"
  }

  func modelView(_ v: ModelView, number: Int) -> String {
    let thumbs = thumbnails[v.id] ?? []
    let (layers, heads) = (v.maps.count, v.maps[0].count)
    let size = v.thumbnailSize
    var s =
      "<figure class=\"figure model-view\" id=\"figure-\(v.id)\" data-figure=\"\(v.id)\" data-kind=\"model-view\" data-layers=\"\(layers)\" data-heads=\"\(heads)\""
    // For the viewer's pointer read-out: the tokens, and the cells' place in the full-map PNGs.
    if let r = mapRects[v.id], let tokens = try? JSONSerialization.data(withJSONObject: v.tokens) {
      s +=
        " data-tokens=\"\(escapeXML(String(decoding: tokens, as: UTF8.self)))\" data-map=\"\(num(r.x)) \(num(r.y)) \(num(r.width)) \(num(r.height))\""
    }
    s += ">\n"
    s +=
      "<div class=\"scroll\"><div class=\"mv-grid\" style=\"grid-template-columns: auto repeat(\(heads), \(size + 8)px)\">\n"
    s += "<span class=\"mv-corner\">layer \\ head</span>"
    for h in 0..<heads { s += "<span class=\"mv-head\">\(h + 1)</span>" }
    s += "\n"
    for l in 0..<layers {
      s += "<span class=\"mv-layer\">\(l + 1)</span>"
      for h in 0..<heads {
        var title = "Layer \(l + 1), head \(h + 1)"
        var border = "#e5e5e5"
        if let a = v.assignments?[l][h] {
          title += " — \(v.categories[a].name)"
          border = v.categories[a].colour.hex
        }
        let src = l < thumbs.count && h < thumbs[l].count ? thumbs[l][h] : ""
        s +=
          "<button type=\"button\" class=\"thumb\" style=\"border-color:\(border)\" data-layer=\"\(l + 1)\" data-head=\"\(h + 1)\" data-full=\"maps/\(v.id)/L\(l + 1)-H\(h + 1).png\" title=\"\(escapeXML(title))\"><img src=\"\(src)\" width=\"\(size)\" height=\"\(size)\" alt=\"\(escapeXML(title))\"></button>"
      }
      s += "\n"
    }
    s += "</div></div>\n"
    if v.assignments != nil {
      s += "<div class=\"mv-legend\">"
      for c in v.categories {
        s += "<span><i style=\"border-color:\(c.colour.hex)\"></i>\(escapeXML(c.name))</span>"
      }
      s += "</div>\n"
    }
    let sentence = v.tokens.joined(separator: " ")
    var links = ""
    if v.exportFiles {
      links =
        downloads(v.id)
    }
    s +=
      "<figcaption><b>Figure \(number).</b> \(escapeXML(v.caption)) Click a map to open it with its token labels (rows: from, columns: to; the labels are page text, the map file its cells only).\(links) <span class=\"tokens\">\(escapeXML(sentence))</span></figcaption>\n</figure>"
    return s
  }
}
