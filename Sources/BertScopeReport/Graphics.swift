import BertScope
import CGraphics
import Foundation

/// Cairo and Pango, loaded at run time (see `bs_graphics.h`): what draws PNG and PDF figures
/// and measures text for every format.
///
/// The `bertscope` binary links neither: a machine without them (a GPU box with only its
/// OpenCL driver) runs every analysis and writes SVG figures and the HTML report; PNG and PDF
/// figures then fail with ``BertScopeError/backendUnavailable(_:)`` naming the packages.
public enum Graphics {
  /// The Debian/Ubuntu packages that provide what `bs_graphics_load` opens, and the font.
  public static let packages = "libpangocairo-1.0-0 (pulls in libcairo2 and libpango-1.0-0) and fonts-dejavu-core"

  /// The font family every figure asks for. Fontconfig falls back per character to any
  /// installed font that has the glyph (e.g. Noto CJK), so tokens in other scripts render.
  public static let fontFamily = "DejaVu Sans"

  nonisolated(unsafe) private static let loaded: (table: UnsafePointer<bs_graphics>?, error: String) = {
    var message = [CChar](repeating: 0, count: 512)
    let table = bs_graphics_load(&message, message.count)
    let error = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    return (table, error)
  }()

  /// Whether Cairo and Pango could be loaded.
  public static var isAvailable: Bool { loaded.table != nil }

  /// "cairo 1.16.0, pango 1.50.12", or nil when they are not available.
  public static var versions: String? {
    guard let g = loaded.table?.pointee else { return nil }
    return "cairo \(String(cString: g.cairo_version_string())), pango \(String(cString: g.pango_version_string()))"
  }

  /// The entry points; throws when the libraries are missing, saying what to install.
  static func library(for purpose: String) throws -> bs_graphics {
    guard let table = loaded.table else {
      throw BertScopeError.backendUnavailable(
        "\(purpose) needs Cairo and Pango, which could not be loaded (\(loaded.error)); install \(packages), or draw this folder elsewhere with `bertscope report --from`"
      )
    }
    return table.pointee
  }

  /// A Pango font description of the figures' font at `size` units, bold or not; free it
  /// with `pango_font_description_free`.
  static func font(_ g: bs_graphics, size: Double, bold: Bool) -> UnsafeMutableRawPointer {
    let desc = g.pango_font_description_new()
    g.pango_font_description_set_family(desc, fontFamily)
    g.pango_font_description_set_absolute_size(desc, size * Double(BS_PANGO_SCALE))
    g.pango_font_description_set_weight(desc, bold ? BS_PANGO_WEIGHT_BOLD : BS_PANGO_WEIGHT_NORMAL)
    return desc
  }

  /// Font options that make text metrics independent of the output's resolution: no hinting
  /// of metrics or outlines, and (on the Pango context) unrounded glyph positions. A layout
  /// measured once then has the same width in a PNG at any scale, in a PDF and in an SVG.
  static func linearise(_ g: bs_graphics, context: UnsafeMutableRawPointer) {
    let options = g.cairo_font_options_create()
    g.cairo_font_options_set_hint_metrics(options, BS_CAIRO_HINT_METRICS_OFF)
    g.cairo_font_options_set_hint_style(options, BS_CAIRO_HINT_STYLE_NONE)
    g.pango_cairo_context_set_font_options(context, options)
    g.cairo_font_options_destroy(options)
    g.pango_context_set_round_glyph_positions(context, 0)
  }
}

/// The size of one line of text as the figures' font lays it out, in figure units.
public struct TextExtent: Sendable, Equatable {
  /// Advance width along the reading direction.
  public var width: Double
  /// Height of the line (ascent + descent of the font).
  public var height: Double
  /// Distance from the top of the line to its baseline.
  public var baseline: Double
  /// Characters no installed font has a glyph for (drawn as boxes); 0 when all are covered.
  public var missingGlyphs: Int
}

/// Measures text in the figures' font (Pango, DejaVu Sans with fontconfig's fallbacks),
/// caching each (text, size, weight). Without Pango it estimates from DejaVu Sans's own
/// metrics: 0.6 em per character (1 em for East Asian wide ones), ascent 0.928 em and
/// descent 0.236 em, and says so in ``isEstimated``.
public final class TextMetrics: @unchecked Sendable {
  /// The process-wide instance figures use.
  public static let shared = TextMetrics()

  private let lock = NSLock()
  private var cache: [Key: TextExtent] = [:]
  private var layout: UnsafeMutableRawPointer?
  private let graphics: bs_graphics?

  private struct Key: Hashable {
    let text: String
    let size: Double
    let bold: Bool
  }

  init() {
    graphics = try? Graphics.library(for: "measuring text")
    if let g = graphics {
      let context = g.pango_font_map_create_context(g.pango_cairo_font_map_new())
      Graphics.linearise(g, context: context)
      layout = g.pango_layout_new(context)
    }
  }

  /// True when widths are estimated because Pango is not available.
  public var isEstimated: Bool { layout == nil }

  /// The extent of `text` in the figures' font at `size` units.
  public func extent(of text: String, size: Double, bold: Bool = false) -> TextExtent {
    let key = Key(text: text, size: size, bold: bold)
    lock.lock()
    defer { lock.unlock() }
    if let hit = cache[key] { return hit }
    let e: TextExtent
    if let g = graphics, let layout {
      let desc = Graphics.font(g, size: size, bold: bold)
      g.pango_layout_set_font_description(layout, desc)
      g.pango_font_description_free(desc)
      e = Self.measure(g, layout: layout, text: text)
    } else {
      e = Self.estimate(text, size: size)
    }
    if cache.count > 100_000 { cache.removeAll() }
    cache[key] = e
    return e
  }

  /// The extent of `layout` after setting its text to `text`.
  static func measure(_ g: bs_graphics, layout: UnsafeMutableRawPointer, text: String) -> TextExtent {
    g.pango_layout_set_text(layout, text, -1)
    var ink = bs_pango_rectangle()
    var logical = bs_pango_rectangle()
    g.pango_layout_get_extents(layout, &ink, &logical)
    let unit = Double(BS_PANGO_SCALE)
    return TextExtent(
      width: Double(logical.width) / unit, height: Double(logical.height) / unit,
      baseline: Double(g.pango_layout_get_baseline(layout)) / unit,
      missingGlyphs: Int(g.pango_layout_get_unknown_glyphs_count(layout)))
  }

  static func estimate(_ text: String, size: Double) -> TextExtent {
    var ems = 0.0
    for u in text.unicodeScalars {
      let v = u.value
      let wide =
        (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
        || (0xF900...0xFAFF).contains(v) || (0xFF00...0xFF60).contains(v) || (0x20000...0x3FFFD).contains(v)
      ems += wide ? 1 : 0.6
    }
    return TextExtent(width: ems * size, height: 1.164 * size, baseline: 0.928 * size, missingGlyphs: 0)
  }
}
