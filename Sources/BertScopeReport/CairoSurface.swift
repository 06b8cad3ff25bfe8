import BertScope
import CGraphics
import Foundation

/// A surface drawn by Cairo, with text laid out by Pango: an RGB image (`scale` pixels per
/// figure unit; anti-aliased text and lines) or a vector PDF page (fonts embedded as subsets,
/// text extractable).
///
/// Filled rectangles and grid cells are drawn without anti-aliasing, their edges snapped to
/// device pixels, so that a heatmap cell's pixels carry exactly its colour and cells tile
/// without seams; everything else is anti-aliased.
public final class CairoSurface: Surface {
  /// Where the drawing goes.
  public enum Target: Sendable {
    /// An RGB image of `ceil(width · scale)` × `ceil(height · scale)` pixels.
    case image(scale: Double)
    /// A one-page PDF file at `path`, 0.75 pt per figure unit (1 unit = 1/96 inch).
    case pdf(path: String, title: String?)
  }

  /// Points per figure unit in a PDF: figure units are CSS pixels (1/96 inch), points 1/72 inch.
  public static let pointsPerUnit = 0.75

  private let g: bs_graphics
  private let surface: UnsafeMutableRawPointer
  private let cr: UnsafeMutableRawPointer
  private let target: Target
  private let pixelWidth: Int
  private let pixelHeight: Int
  /// Device units per figure unit (the image scale, or 0.75 for PDF).
  private let deviceScale: Double
  private var finished = false

  /// A white surface of `width` × `height` figure units.
  /// - Throws: ``BertScopeError/backendUnavailable(_:)`` without Cairo/Pango;
  ///   ``BertScopeError/invalidInput(_:)`` for a bad size or scale; ``BertScopeError/io(path:problem:)``
  ///   when the PDF cannot be created.
  public init(width: Double, height: Double, target: Target) throws {
    let g = try Graphics.library(for: "drawing PNG and PDF figures")
    self.g = g
    self.target = target
    guard width.isFinite, height.isFinite, width > 0, height > 0 else {
      throw BertScopeError.invalidInput("figure: size \(width) × \(height) units")
    }
    switch target {
    case .image(let scale):
      guard scale.isFinite, scale > 0, width * scale <= 32_767, height * scale <= 32_767 else {
        throw BertScopeError.invalidInput(
          "figure: \(num(width)) × \(num(height)) units at scale \(scale) is not a PNG Cairo can draw (at most 32767 pixels a side)"
        )
      }
      deviceScale = scale
      pixelWidth = max(1, Int((width * scale).rounded(.up)))
      pixelHeight = max(1, Int((height * scale).rounded(.up)))
      surface = g.cairo_image_surface_create(BS_CAIRO_FORMAT_RGB24, Int32(pixelWidth), Int32(pixelHeight))
    case .pdf(let path, let title):
      deviceScale = Self.pointsPerUnit
      pixelWidth = 0
      pixelHeight = 0
      surface = g.cairo_pdf_surface_create(path, width * Self.pointsPerUnit, height * Self.pointsPerUnit)
      if g.cairo_surface_status(surface) == 0 {
        g.cairo_pdf_surface_set_metadata(surface, BS_CAIRO_PDF_METADATA_CREATOR, "BertScope")
        if let title { g.cairo_pdf_surface_set_metadata(surface, BS_CAIRO_PDF_METADATA_TITLE, title) }
      }
    }
    let status = g.cairo_surface_status(surface)
    guard status == 0 else {
      let why = String(cString: g.cairo_status_to_string(status))
      g.cairo_surface_destroy(surface)
      if case .pdf(let path, _) = target {
        throw BertScopeError.io(path: path, problem: "cannot create the PDF: \(why)")
      }
      throw BertScopeError.invalidInput("figure: cannot create a \(pixelWidth)×\(pixelHeight) image: \(why)")
    }
    cr = g.cairo_create(surface)
    g.cairo_scale(cr, deviceScale, deviceScale)
    g.cairo_set_source_rgb(cr, 1, 1, 1)
    g.cairo_paint(cr)
  }

  deinit {
    if !finished { g.cairo_surface_finish(surface) }
    g.cairo_destroy(cr)
    g.cairo_surface_destroy(surface)
  }

  private func source(_ c: RGB) {
    g.cairo_set_source_rgb(cr, Double(c.r) / 255, Double(c.g) / 255, Double(c.b) / 255)
  }

  /// `v` in figure units, moved to the nearest device-pixel edge (PNG only; PDF is exact).
  private func snap(_ v: Double) -> Double {
    guard case .image = target else { return v }
    return (v * deviceScale).rounded() / deviceScale
  }

  private func crisp(_ body: () -> Void) {
    g.cairo_save(cr)
    g.cairo_set_antialias(cr, BS_CAIRO_ANTIALIAS_NONE)
    body()
    g.cairo_restore(cr)
  }

  /// Fills `rect` (edges snapped to device pixels, not anti-aliased); `attributes` are ignored.
  public func fill(_ rect: Rect, _ colour: RGB, attributes: [(String, String)]) {
    crisp {
      let (x0, y0, x1, y1) = (snap(rect.x), snap(rect.y), snap(rect.maxX), snap(rect.maxY))
      guard x1 > x0, y1 > y0 else { return }
      source(colour)
      g.cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0)
      g.cairo_fill(cr)
    }
  }

  /// Draws the outline of `rect` inside it, at least one device pixel thick.
  public func frame(_ rect: Rect, _ colour: RGB, width: Double) {
    let t = max(width, 1 / deviceScale)
    let (x0, y0, x1, y1) = (snap(rect.x), snap(rect.y), snap(rect.maxX), snap(rect.maxY))
    let ts = max(snap(t), 1 / deviceScale)
    crisp {
      source(colour)
      g.cairo_set_fill_rule(cr, BS_CAIRO_FILL_RULE_EVEN_ODD)
      g.cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0)
      if x1 - x0 > 2 * ts, y1 - y0 > 2 * ts {
        g.cairo_rectangle(cr, x0 + ts, y0 + ts, x1 - x0 - 2 * ts, y1 - y0 - 2 * ts)
      }
      g.cairo_fill(cr)
    }
  }

  /// A polyline with round joins and caps, anti-aliased.
  public func line(_ points: [Point], _ colour: RGB, width: Double) {
    guard points.count >= 2 else { return }
    g.cairo_new_path(cr)
    g.cairo_move_to(cr, points[0].x, points[0].y)
    for p in points.dropFirst() { g.cairo_line_to(cr, p.x, p.y) }
    source(colour)
    g.cairo_set_line_width(cr, max(width, 0.5 / deviceScale))
    g.cairo_set_line_join(cr, BS_CAIRO_LINE_JOIN_ROUND)
    g.cairo_set_line_cap(cr, BS_CAIRO_LINE_CAP_ROUND)
    g.cairo_stroke(cr)
  }

  /// A filled polygon (even-odd rule), anti-aliased; fewer than 3 points draw nothing.
  public func polygon(_ points: [Point], fill: RGB) {
    guard points.count >= 3 else { return }
    g.cairo_save(cr)
    g.cairo_new_path(cr)
    g.cairo_move_to(cr, points[0].x, points[0].y)
    for p in points.dropFirst() { g.cairo_line_to(cr, p.x, p.y) }
    g.cairo_close_path(cr)
    source(fill)
    g.cairo_set_fill_rule(cr, BS_CAIRO_FILL_RULE_EVEN_ODD)
    g.cairo_fill(cr)
    g.cairo_restore(cr)
  }

  /// A filled, optionally outlined disc, anti-aliased.
  public func circle(_ centre: Point, radius: Double, fill: RGB, stroke: RGB?, strokeWidth: Double) {
    guard radius > 0, radius.isFinite else { return }
    g.cairo_new_path(cr)
    g.cairo_arc(cr, centre.x, centre.y, radius, 0, 2 * Double.pi)
    source(fill)
    if let stroke {
      g.cairo_fill_preserve(cr)
      source(stroke)
      g.cairo_set_line_width(cr, max(strokeWidth, 0.5 / deviceScale))
      g.cairo_stroke(cr)
    } else {
      g.cairo_fill(cr)
    }
  }

  /// One line of text, shaped by Pango in the figures' font (fallback fonts per character).
  public func text(_ text: String, at point: Point, style: TextStyle) {
    guard !text.isEmpty else { return }
    let layout = g.pango_cairo_create_layout(cr)
    defer { g.g_object_unref(layout) }
    Graphics.linearise(g, context: g.pango_layout_get_context(layout))
    g.pango_layout_context_changed(layout)
    let desc = Graphics.font(g, size: style.fontSize, bold: style.bold)
    g.pango_layout_set_font_description(layout, desc)
    g.pango_font_description_free(desc)
    let e = TextMetrics.measure(g, layout: layout, text: text)
    // Vertical placement from the font's own line ("Ag"), so that a fallback font with a taller
    // line keeps the baseline where the layout expects it.
    let line = style.extent(of: "Ag")
    let (along, across) = style.anchorOffsets(width: e.width, ascent: line.baseline, height: line.height)
    let shift = line.baseline - e.baseline
    g.cairo_save(cr)
    g.cairo_translate(cr, point.x, point.y)
    if style.rotated { g.cairo_rotate(cr, -Double.pi / 2) }
    source(style.colour)
    g.cairo_move_to(cr, -along, -across + shift)
    g.pango_cairo_show_layout(cr, layout)
    g.cairo_restore(cr)
  }

  /// Fills the grid, cell edges snapped to device pixels; grids over 4,096 cells go in as one
  /// image, nearest neighbour (a 512-token map is 262,144 cells: one image, not that many
  /// rectangles, in a PDF and in a PNG). `value` is ignored.
  public func cells(
    _ rect: Rect, rows: Int, columns: Int, colour: (Int, Int) -> RGB, value: ((Int, Int) -> String)?
  ) {
    guard rows > 0, columns > 0 else { return }
    if rows * columns > 4096 {
      var bitmap = Bitmap(width: columns, height: rows)
      for r in 0..<rows {
        for c in 0..<columns {
          let col = colour(r, c)
          let i = (r * columns + c) * 3
          (bitmap.bytes[i], bitmap.bytes[i + 1], bitmap.bytes[i + 2]) = (col.r, col.g, col.b)
        }
      }
      image(bitmap, in: rect)
      return
    }
    let (cw, ch) = (rect.width / Double(columns), rect.height / Double(rows))
    let xEdges = (0...columns).map { snap(rect.x + Double($0) * cw) }
    let yEdges = (0...rows).map { snap(rect.y + Double($0) * ch) }
    crisp {
      for r in 0..<rows where yEdges[r] < yEdges[r + 1] {
        for c in 0..<columns where xEdges[c] < xEdges[c + 1] {
          source(colour(r, c))
          g.cairo_rectangle(cr, xEdges[c], yEdges[r], xEdges[c + 1] - xEdges[c], yEdges[r + 1] - yEdges[r])
          g.cairo_fill(cr)
        }
      }
    }
  }

  /// `bitmap` stretched over `rect`, nearest neighbour (pixelated); alpha is ignored.
  public func image(_ bitmap: Bitmap, in rect: Rect) {
    guard bitmap.width > 0, bitmap.height > 0, rect.width > 0, rect.height > 0 else { return }
    let image = g.cairo_image_surface_create(BS_CAIRO_FORMAT_RGB24, Int32(bitmap.width), Int32(bitmap.height))
    defer { g.cairo_surface_destroy(image) }
    guard g.cairo_surface_status(image) == 0, let data = g.cairo_image_surface_get_data(image) else { return }
    g.cairo_surface_flush(image)
    let realStride = Int(g.cairo_image_surface_get_stride(image))
    for y in 0..<bitmap.height {
      let row = UnsafeMutableRawPointer(data + y * realStride).assumingMemoryBound(to: UInt32.self)
      for x in 0..<bitmap.width {
        let c = bitmap[x, y]
        row[x] = 0xFF00_0000 | UInt32(c.r) << 16 | UInt32(c.g) << 8 | UInt32(c.b)
      }
    }
    g.cairo_surface_mark_dirty(image)
    let (x0, y0, x1, y1) = (snap(rect.x), snap(rect.y), snap(rect.maxX), snap(rect.maxY))
    crisp {
      g.cairo_translate(cr, x0, y0)
      g.cairo_scale(cr, (x1 - x0) / Double(bitmap.width), (y1 - y0) / Double(bitmap.height))
      g.cairo_set_source_surface(cr, image, 0, 0)
      g.cairo_pattern_set_filter(g.cairo_get_source(cr), BS_CAIRO_FILTER_NEAREST)
      g.cairo_rectangle(cr, 0, 0, Double(bitmap.width), Double(bitmap.height))
      g.cairo_fill(cr)
    }
  }

  /// Does nothing: Cairo surfaces have no groups.
  public func beginGroup(_ attributes: [(String, String)]) {}
  /// Does nothing: Cairo surfaces have no groups.
  public func endGroup() {}

  /// The pixels drawn (image targets).
  /// - Throws: ``BertScopeError/invalidInput(_:)`` for a PDF target or a Cairo error.
  public func bitmap() throws -> Bitmap {
    guard case .image = target else { throw BertScopeError.invalidInput("figure: a PDF surface has no pixels") }
    try check()
    g.cairo_surface_flush(surface)
    guard let data = g.cairo_image_surface_get_data(surface) else {
      throw BertScopeError.invalidInput("figure: Cairo gave no pixels")
    }
    let stride = Int(g.cairo_image_surface_get_stride(surface))
    var out = Bitmap(width: pixelWidth, height: pixelHeight)
    out.bytes.withUnsafeMutableBufferPointer { dst in
      for y in 0..<pixelHeight {
        let row = UnsafeMutableRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
        for x in 0..<pixelWidth {
          let v = row[x]
          let i = (y * pixelWidth + x) * 3
          dst[i] = UInt8((v >> 16) & 0xFF)
          dst[i + 1] = UInt8((v >> 8) & 0xFF)
          dst[i + 2] = UInt8(v & 0xFF)
        }
      }
    }
    return out
  }

  /// Finishes the PDF (writes and closes the file); throws on a Cairo error (e.g. disk full).
  public func finish() throws {
    try check()
    g.cairo_surface_finish(surface)
    finished = true
    let status = g.cairo_surface_status(surface)
    guard status == 0 else {
      let why = String(cString: g.cairo_status_to_string(status))
      if case .pdf(let path, _) = target {
        throw BertScopeError.io(path: path, problem: "writing the PDF failed: \(why)")
      }
      throw BertScopeError.invalidInput("figure: Cairo failed: \(why)")
    }
  }

  private func check() throws {
    let status = g.cairo_status(cr)
    guard status == 0 else {
      throw BertScopeError.invalidInput(
        "figure: drawing failed in Cairo: \(String(cString: g.cairo_status_to_string(status)))")
    }
  }
}
