import Foundation

/// A vector surface: collects SVG elements, in figure units. Text is real SVG text (selectable,
/// searchable, any script the viewer's fonts have), in the figures' proportional font
/// (DejaVu Sans first in the font stack). Each text carries the width ``TextMetrics`` measured
/// from that font (`textLength`; the letter spacing adjusts), so the layout holds even where
/// the viewer substitutes another font.
public final class SVGCanvas: Surface {
  /// Width in figure units: the root element's `width` and the `viewBox` width.
  public let width: Double
  /// Height in figure units: the root element's `height` and the `viewBox` height.
  public let height: Double
  /// Grids with more cells than this are embedded as one PNG image (pixelated) instead of
  /// one `<rect>` per cell, which keeps a 512 × 512 map at kilobytes, not megabytes.
  public var maxCellRects: Int
  private var body: [String] = []

  /// The CSS font stack of all text: the font the layout was measured with, then proportional
  /// fonts of similar width.
  public static let fontFamily = "'DejaVu Sans', Verdana, 'Bitstream Vera Sans', Geneva, 'Noto Sans', sans-serif"

  /// An empty white canvas of `width` × `height` figure units.
  /// - Parameter maxCellRects: the largest grid drawn as one `<rect>` per cell.
  public init(width: Double, height: Double, maxCellRects: Int = 1024) {
    self.width = width
    self.height = height
    self.maxCellRects = maxCellRects
  }

  /// The `<svg>` element alone, for inlining in HTML. `attributes` go on the root element.
  public func element(attributes: [(String, String)] = []) -> String {
    // `attributes` may override width and height (to display the figure larger).
    let overridden = Set(attributes.map(\.0))
    var root: [(String, String)] = [("xmlns", "http://www.w3.org/2000/svg")]
    if !overridden.contains("width") { root.append(("width", num(width))) }
    if !overridden.contains("height") { root.append(("height", num(height))) }
    root += [("viewBox", "0 0 \(num(width)) \(num(height))"), ("font-family", Self.fontFamily)]
    root += attributes
    var s = "<svg" + attrs(root) + ">\n"
    s += "<rect x=\"0\" y=\"0\" width=\"\(num(width))\" height=\"\(num(height))\" fill=\"#ffffff\"/>\n"
    for e in body { s += e + "\n" }
    s += "</svg>\n"
    return s
  }

  /// A standalone SVG file.
  public func document(attributes: [(String, String)] = []) -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + element(attributes: attributes)
  }

  /// Appends a `<rect>` carrying `attributes`.
  public func fill(_ rect: Rect, _ colour: RGB, attributes: [(String, String)]) {
    body.append(
      "<rect"
        + attrs(
          [
            ("x", num(rect.x)), ("y", num(rect.y)), ("width", num(rect.width)), ("height", num(rect.height)),
            ("fill", colour.hex),
          ] + attributes) + "/>")
  }

  /// Appends a stroked `<rect>` inset by half the stroke, so the outline stays inside `rect`.
  public func frame(_ rect: Rect, _ colour: RGB, width: Double) {
    // The stroke is centred on the path: inset by half the width to stay inside `rect`.
    let h = width / 2
    body.append(
      "<rect"
        + attrs([
          ("x", num(rect.x + h)), ("y", num(rect.y + h)), ("width", num(rect.width - width)),
          ("height", num(rect.height - width)), ("fill", "none"), ("stroke", colour.hex), ("stroke-width", num(width)),
        ]) + "/>")
  }

  /// Appends a `<polyline>` with round joins and caps; fewer than 2 points draw nothing.
  public func line(_ points: [Point], _ colour: RGB, width: Double) {
    guard points.count >= 2 else { return }
    let p = points.map { "\(num($0.x)),\(num($0.y))" }.joined(separator: " ")
    body.append(
      "<polyline"
        + attrs([
          ("points", p), ("fill", "none"), ("stroke", colour.hex), ("stroke-width", num(width)),
          ("stroke-linejoin", "round"), ("stroke-linecap", "round"),
        ]) + "/>")
  }

  /// Appends a filled `<polygon>`.
  public func polygon(_ points: [Point], fill: RGB) {
    let p = points.map { "\(num($0.x)),\(num($0.y))" }.joined(separator: " ")
    body.append("<polygon" + attrs([("points", p), ("fill", fill.hex)]) + "/>")
  }

  /// Appends a `<circle>`.
  public func circle(_ centre: Point, radius: Double, fill: RGB, stroke: RGB?, strokeWidth: Double) {
    var a: [(String, String)] = [("cx", num(centre.x, decimals: 2)), ("cy", num(centre.y, decimals: 2))]
    a += [("r", num(radius, decimals: 2)), ("fill", fill.hex)]
    if let stroke { a += [("stroke", stroke.hex), ("stroke-width", num(strokeWidth))] }
    body.append("<circle" + attrs(a) + "/>")
  }

  /// Appends a `<text>` element at the measured position, `textLength` = the measured width.
  public func text(_ text: String, at point: Point, style: TextStyle) {
    guard !text.isEmpty else { return }
    let e = style.extent(of: text)
    let line = style.extent(of: "Ag")
    let (_, across) = style.anchorOffsets(width: e.width, ascent: line.baseline, height: line.height)
    let toBaseline = line.baseline - across
    let anchor: String
    switch style.anchor {
    case .start: anchor = "start"
    case .middle: anchor = "middle"
    case .end: anchor = "end"
    }
    var a: [(String, String)]
    // Text positions to 0.01 units and lengths to 0.1 units: finer than any screen or printer.
    if style.rotated {
      let (x, y) = (point.x + toBaseline, point.y)
      a = [("x", num(x, decimals: 2)), ("y", num(y, decimals: 2))]
      a.append(("transform", "rotate(-90 \(num(x, decimals: 2)) \(num(y, decimals: 2)))"))
    } else {
      a = [("x", num(point.x, decimals: 2)), ("y", num(point.y + toBaseline, decimals: 2))]
    }
    a += [("font-size", num(style.fontSize)), ("fill", style.colour.hex)]
    if style.anchor != .start { a.append(("text-anchor", anchor)) }
    if style.bold { a.append(("font-weight", "bold")) }
    // textLength with SVG's default lengthAdjust="spacing": a viewer without the font spreads or
    // tightens the letters to the measured width rather than distorting the glyphs.
    if e.width > 0 { a.append(("textLength", num(e.width, decimals: 1))) }
    // Runs of spaces, or spaces at either end, are kept only with xml:space.
    if text.hasPrefix(" ") || text.hasSuffix(" ") || text.contains("  ") || text.contains("\t") {
      a.append(("xml:space", "preserve"))
    }
    body.append("<text" + attrs(a) + ">" + escapeXML(text) + "</text>")
  }

  /// Appends a `<g>` of one `<rect>` per cell, with `data-row`, `data-col` and `data-value` when
  /// `value` is given; grids over ``maxCellRects`` cells become one pixelated image instead.
  public func cells(
    _ rect: Rect, rows: Int, columns: Int, colour: (Int, Int) -> RGB, value: ((Int, Int) -> String)?
  ) {
    guard rows > 0, columns > 0 else { return }
    if rows * columns <= maxCellRects {
      let (cw, ch) = (rect.width / Double(columns), rect.height / Double(rows))
      body.append("<g shape-rendering=\"crispEdges\">")
      for r in 0..<rows {
        for c in 0..<columns {
          var a: [(String, String)] = [
            ("x", num(rect.x + Double(c) * cw)), ("y", num(rect.y + Double(r) * ch)),
            ("width", num(cw)), ("height", num(ch)), ("fill", colour(r, c).hex),
          ]
          if let value { a += [("data-row", "\(r)"), ("data-col", "\(c)"), ("data-value", value(r, c))] }
          body.append("<rect" + attrs(a) + "/>")
        }
      }
      body.append("</g>")
    } else {
      var bitmap = Bitmap(width: columns, height: rows)
      for r in 0..<rows {
        for c in 0..<columns {
          let col = colour(r, c)
          let i = (r * columns + c) * 3
          bitmap.bytes[i] = col.r
          bitmap.bytes[i + 1] = col.g
          bitmap.bytes[i + 2] = col.b
        }
      }
      image(bitmap, in: rect)
    }
  }

  /// Appends an `<image>` holding `bitmap` as an embedded PNG, stretched and pixelated.
  public func image(_ bitmap: Bitmap, in rect: Rect) {
    let png = (try? PNG.encode(bitmap)) ?? []
    let uri = "data:image/png;base64," + Data(png).base64EncodedString()
    body.append(
      "<image"
        + attrs([
          ("x", num(rect.x)), ("y", num(rect.y)), ("width", num(rect.width)), ("height", num(rect.height)),
          ("preserveAspectRatio", "none"), ("style", "image-rendering:pixelated"), ("href", uri),
        ]) + "/>")
  }

  /// Opens a `<g>` with `attributes`.
  public func beginGroup(_ attributes: [(String, String)]) { body.append("<g" + attrs(attributes) + ">") }
  /// Closes the last `<g>` opened.
  public func endGroup() { body.append("</g>") }

  private func attrs(_ list: [(String, String)]) -> String {
    list.map { " \($0.0)=\"\(escapeXML($0.1))\"" }.joined()
  }
}

/// A coordinate with at most `decimals` (default 3) decimals and no trailing zeros ("12",
/// "12.5", "0.333").
func num(_ v: Double, decimals: Int = 3) -> String {
  guard v.isFinite else { return "0" }
  let f = pow(10, Double(decimals))
  let r = (v * f).rounded() / f
  if r == r.rounded() && abs(r) < 1e15 { return String(Int(r)) }
  var s = String(format: "%.\(decimals)f", r)
  while s.hasSuffix("0") { s.removeLast() }
  return s
}

/// Escapes text for XML/HTML character data and attribute values (both quote kinds), and
/// drops characters XML 1.0 does not allow (C0 controls other than tab, newline, return;
/// U+FFFE and U+FFFF).
public func escapeXML(_ s: String) -> String {
  var out = ""
  out.reserveCapacity(s.utf8.count)
  for u in s.unicodeScalars {
    switch u {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    case "'": out += "&#39;"
    case "\t", "\n", "\r": out.unicodeScalars.append(u)
    default:
      if u.value < 0x20 || u.value == 0xFFFE || u.value == 0xFFFF { continue }
      out.unicodeScalars.append(u)
    }
  }
  return out
}
