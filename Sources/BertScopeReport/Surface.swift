/// A point in figure units: 1 unit = 1 CSS pixel (1/96 inch): an SVG user unit, 0.75 pt in a
/// PDF, `scale` pixels of a PNG (scale 3.125 = 300 dpi).
public struct Point: Hashable, Sendable {
  /// Horizontal position, growing rightwards from the figure's left edge.
  public var x: Double
  /// Vertical position, growing downwards from the figure's top edge.
  public var y: Double
  /// The point (`x`, `y`) in figure units.
  public init(_ x: Double, _ y: Double) {
    self.x = x
    self.y = y
  }
}

/// An axis-aligned rectangle in figure units; y grows downwards.
public struct Rect: Hashable, Sendable {
  /// Left edge.
  public var x: Double
  /// Top edge.
  public var y: Double
  /// Extent rightwards from ``x``.
  public var width: Double
  /// Extent downwards from ``y``.
  public var height: Double
  /// The rectangle with top-left corner (`x`, `y`) and the given size, in figure units.
  public init(x: Double, y: Double, width: Double, height: Double) {
    self.x = x
    self.y = y
    self.width = width
    self.height = height
  }
  /// Right edge.
  public var maxX: Double { x + width }
  /// Bottom edge.
  public var maxY: Double { y + height }
  /// Horizontal centre.
  public var midX: Double { x + width / 2 }
  /// Vertical centre.
  public var midY: Double { y + height / 2 }
}

/// Where a text's anchor point lies along its reading direction.
public enum TextAnchor: Sendable { case start, middle, end }

/// Where a text's anchor point lies across its reading direction: the top of the line (the
/// font's ascent above the baseline), the middle of the capitals, the baseline, or the bottom
/// of the line (the font's descent below it).
public enum TextBaseline: Sendable { case top, middle, baseline, bottom }

/// How a text is drawn: in the figures' proportional font (DejaVu Sans, see ``Graphics``) at
/// ``fontSize`` (10 figure units for body text, 13 for titles); `rotated` turns the text 90° anticlockwise so that
/// it reads upwards (y-axis titles, column labels). Layout uses the font's real metrics
/// (``TextMetrics``), the same for PNG, SVG and PDF.
public struct TextStyle: Sendable {
  /// The text's level: 1 = body text (tick labels, legends; 10 units), 2 = titles (13 units),
  /// each level above 3 units more.
  public var size: Int
  /// Text colour.
  public var colour: RGB
  /// Which point of the text along its reading direction lies at the drawing point.
  public var anchor: TextAnchor
  /// Which point of the text across its reading direction lies at the drawing point.
  public var baseline: TextBaseline
  /// Turns the text 90° anticlockwise so that it reads upwards.
  public var rotated: Bool
  /// Draws the text in bold.
  public var bold: Bool
  /// A style; the default is size 1, ``RGB/ink``, anchored at its top-left corner, upright.
  public init(
    size: Int = 1, colour: RGB = .ink, anchor: TextAnchor = .start, baseline: TextBaseline = .top,
    rotated: Bool = false, bold: Bool = false
  ) {
    self.size = size
    self.colour = colour
    self.anchor = anchor
    self.baseline = baseline
    self.rotated = rotated
    self.bold = bold
  }

  /// The font size in figure units: 10 for ``size`` 1, 3 more per level above (as plotting
  /// libraries set titles a little larger than tick labels, not twice as large).
  public var fontSize: Double { 10 + 3 * Double(max(0, size - 1)) }

  /// The extent of `text` in this style's font.
  public func extent(of text: String) -> TextExtent {
    TextMetrics.shared.extent(of: text, size: fontSize, bold: bold)
  }

  /// Length of `text` along its reading direction, in figure units: the font's advance widths,
  /// rounded up to a whole unit (layouts built from it stay on whole units, which keeps SVG
  /// coordinates short).
  public func length(of text: String) -> Double { extent(of: text).width.rounded(.up) }

  /// Height of one line across the reading direction (the font's ascent + descent), rounded up
  /// to a whole unit.
  public var lineHeight: Double { extent(of: "Ag").height.rounded(.up) }

  /// Offsets (along, across) from the text's start/top corner to its anchor point, for a
  /// line `width` long whose baseline lies `ascent` below its top.
  func anchorOffsets(width: Double, ascent: Double, height: Double) -> (along: Double, across: Double) {
    let along: Double
    switch anchor {
    case .start: along = 0
    case .middle: along = width / 2
    case .end: along = width
    }
    let across: Double
    switch baseline {
    case .top: across = 0
    // Half of DejaVu Sans's cap height (0.729 em) above the baseline.
    case .middle: across = ascent - 0.3645 * fontSize
    case .baseline: across = ascent
    case .bottom: across = height
    }
    return (along, across)
  }

  /// ``anchorOffsets(width:ascent:height:)`` for `text` as ``TextMetrics`` measures it.
  func anchorOffsets(for text: String) -> (along: Double, across: Double) {
    let e = extent(of: text)
    let line = extent(of: "Ag")
    return anchorOffsets(width: e.width, ascent: line.baseline, height: line.height)
  }
}

/// What figures draw on: a `CairoSurface` (PNG pixels or a PDF page) or an `SVGCanvas`. All take
/// the same calls in figure units so that one drawing routine makes every file.
public protocol Surface: AnyObject {
  /// Fills `rect`. `attributes` are carried into SVG (e.g. `class`, `data-value`) and ignored
  /// by raster surfaces.
  func fill(_ rect: Rect, _ colour: RGB, attributes: [(String, String)])
  /// Draws the outline of `rect`, `width` units thick, inside the rectangle.
  func frame(_ rect: Rect, _ colour: RGB, width: Double)
  /// A polyline through `points`.
  func line(_ points: [Point], _ colour: RGB, width: Double)
  /// A filled polygon.
  func polygon(_ points: [Point], fill: RGB)
  /// A filled disc of `radius` around `centre`, outlined `strokeWidth` thick in `stroke` when given.
  func circle(_ centre: Point, radius: Double, fill: RGB, stroke: RGB?, strokeWidth: Double)
  /// One line of text.
  func text(_ text: String, at point: Point, style: TextStyle)
  /// A rows × columns grid of equal cells filling `rect` (heatmaps, colour bars): cell (r, c)
  /// gets `colour(r, c)`. `value(r, c)`, when given, is recorded per cell in SVG.
  func cells(
    _ rect: Rect, rows: Int, columns: Int, colour: (Int, Int) -> RGB, value: ((Int, Int) -> String)?)
  /// `bitmap` stretched over `rect`, nearest neighbour (pixelated), e.g. a small map thumbnail.
  func image(_ bitmap: Bitmap, in rect: Rect)
  /// Starts a group (an SVG `<g>` with `attributes`); raster surfaces ignore groups.
  func beginGroup(_ attributes: [(String, String)])
  /// Ends the group begun last.
  func endGroup()
}

extension Surface {
  /// Fills `rect` without SVG attributes.
  public func fill(_ rect: Rect, _ colour: RGB) { fill(rect, colour, attributes: []) }

  /// Draws `body` inside a group with `attributes` (an SVG `<g>`; nothing on raster surfaces).
  public func group(_ attributes: [(String, String)], _ body: () -> Void) {
    beginGroup(attributes)
    body()
    endGroup()
  }
}
