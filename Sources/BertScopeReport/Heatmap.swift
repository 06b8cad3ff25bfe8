import BertScope
import Foundation

/// One attention map (L, L) with token labels on both axes: rows are queries (the token
/// attending, "from"), columns are keys (the token attended to, "to"), and a colour bar.
/// Long inputs either keep every cell (`.full`) or are shrunk to a thumbnail (`.thumbnail`);
/// token labels are thinned to every 2nd, 5th, 10th… token when they do not fit.
public struct Heatmap: Figure {
  /// How many figure units the map takes.
  public enum Resolution: Sendable {
    /// Every cell `cellSize` units square (1 unit = 1 pixel at PNG scale 1).
    case full(cellSize: Double)
    /// `maxPixels` units square; maps with more rows or columns than that are block-reduced
    /// first (see `reduction`).
    case thumbnail(maxPixels: Int)
  }

  /// (L, L) attention weights, rows = queries.
  public var values: Matrix
  /// Query tokens, one per row (empty: positions 0, 1, … are shown).
  public var rowLabels: [String]
  /// Key tokens, one per column (empty: positions).
  public var columnLabels: [String]
  /// The figure title; empty for none.
  public var title: String
  /// The title of the vertical (query) axis.
  public var rowAxisTitle = "from (query token)"
  /// The title of the horizontal (key) axis.
  public var columnAxisTitle = "to (key token)"
  /// The title of the colour bar.
  public var colourBarTitle = "attention weight"
  /// The colour map of the cells and the colour bar.
  public var colourMap: ColourMap = .viridis
  /// Values mapped to the two ends of the colour map.
  public var range: ClosedRange<Double> = 0...1
  /// How large the map is drawn.
  public var resolution: Resolution
  /// How cells merge in thumbnail mode.
  public var reduction: Matrix.Reduction = .mean
  /// Longer token labels are cut with "…".
  public var maxLabelCharacters = 14

  /// A heatmap of `values` with token labels.
  /// - Parameters:
  ///   - values: (L, L) or (rows, columns) weights.
  ///   - rowLabels: one per row, or empty.
  ///   - columnLabels: one per column, empty, or nil to reuse `rowLabels` when `values` is
  ///     square (no labels otherwise).
  ///   - title: the figure title; empty for none.
  ///   - resolution: default: 16-unit cells up to 48 rows and columns, else a 720-unit map.
  /// - Throws: ``BertScopeError/invalidInput(_:)`` for an empty matrix or a label count that
  ///   does not match.
  public init(
    values: Matrix, rowLabels: [String] = [], columnLabels: [String]? = nil, title: String = "",
    resolution: Resolution? = nil
  ) throws {
    let columnLabels = columnLabels ?? (values.rows == values.columns ? rowLabels : [])
    guard rowLabels.isEmpty || rowLabels.count == values.rows else {
      throw BertScopeError.invalidInput("heatmap: \(rowLabels.count) row labels for \(values.rows) rows")
    }
    guard columnLabels.isEmpty || columnLabels.count == values.columns else {
      throw BertScopeError.invalidInput("heatmap: \(columnLabels.count) column labels for \(values.columns) columns")
    }
    guard values.rows > 0, values.columns > 0 else { throw BertScopeError.invalidInput("heatmap: empty matrix") }
    self.values = values
    self.rowLabels = rowLabels
    self.columnLabels = columnLabels
    self.title = title
    let side = max(values.rows, values.columns)
    self.resolution = resolution ?? (side <= 48 ? .full(cellSize: 16) : .thumbnail(maxPixels: 720))
  }

  /// The matrix as drawn (block-reduced in thumbnail mode).
  public var shownValues: Matrix {
    if case .thumbnail(let n) = resolution { return values.downsampled(maxSide: n, reduction: reduction) }
    return values
  }

  struct Geometry {
    var shown: Matrix
    var map: Rect
    var rowLabels: [(Int, String)]
    var columnLabels: [(Int, String)]
    var rowLabelWidth: Double
    var columnLabelHeight: Double
    var colourBar: ColourBar
    var size: (width: Double, height: Double)
  }

  /// Labels to print: every `stride`-th, with stride 1, 2, 5, 10, 20, 50… so that labels are at
  /// least one text line apart.
  static func thinned(_ labels: [String], count: Int, pitch: Double, maxCharacters: Int) -> [(Int, String)] {
    let all = labels.isEmpty ? (0..<count).map(String.init) : labels
    let needed = Layout.tick.lineHeight / max(pitch, 1e-9)
    var stride = 1
    let ladder = [1, 2, 5]
    var k = 0
    while Double(stride) < needed - 1e-9 {
      k += 1
      stride = ladder[k % 3] * Int(pow(10, Double(k / 3)))
    }
    return Swift.stride(from: 0, to: count, by: stride).map { ($0, truncate(all[$0], to: maxCharacters)) }
  }

  var geometry: Geometry {
    let shown = shownValues
    let cell: Double
    switch resolution {
    case .full(let c): cell = c
    // The map fills `n` units; a cell may be a fraction of a unit (1.5 units = 3 pixels at scale 2).
    case .thumbnail(let n): cell = Double(n) / Double(max(shown.rows, shown.columns))
    }
    let (mapW, mapH) = (cell * Double(shown.columns), cell * Double(shown.rows))
    let rows = Heatmap.thinned(
      rowLabels, count: values.rows, pitch: mapH / Double(values.rows), maxCharacters: maxLabelCharacters)
    let columns = Heatmap.thinned(
      columnLabels, count: values.columns, pitch: mapW / Double(values.columns), maxCharacters: maxLabelCharacters)
    let rowLabelWidth = rows.map { Layout.tick.length(of: $0.1) }.max() ?? 0
    let columnLabelHeight = columns.map { Layout.tick.length(of: $0.1) }.max() ?? 0
    let bar = ColourBar(map: colourMap, range: range, title: colourBarTitle, height: mapH)
    let left = Layout.margin + Layout.axisTitle.lineHeight + 8 + rowLabelWidth + Layout.tickLength + Layout.tickGap
    let top = titleHeight(title)
    let map = Rect(x: left, y: top, width: mapW, height: mapH)
    let width = max(map.maxX + bar.width + Layout.margin, titleWidth(title))
    let height =
      map.maxY + Layout.tickLength + Layout.tickGap + columnLabelHeight + 8 + Layout.axisTitle.lineHeight
      + Layout.margin
    return Geometry(
      shown: shown, map: map, rowLabels: rows, columnLabels: columns, rowLabelWidth: rowLabelWidth,
      columnLabelHeight: columnLabelHeight, colourBar: bar, size: (width, height))
  }

  /// Width and height in figure units, labels, axis titles and colour bar included.
  public var size: (width: Double, height: Double) { geometry.size }

  /// Where the map's cells are drawn, in figure units.
  public var mapRect: Rect { geometry.map }

  /// Draws the title, the cells (with their values in SVG when at most 1024 are shown), the
  /// thinned token labels, the axis titles and the colour bar.
  public func draw(on s: any Surface) {
    let g = geometry
    _ = drawTitle(title, on: s, width: g.size.width)
    let shown = g.shown
    let (map, range) = (colourMap, range)
    let small = shown.rows * shown.columns <= 1024
    s.group([("class", "heatmap"), ("data-rows", "\(values.rows)"), ("data-columns", "\(values.columns)")]) {
      s.cells(
        g.map, rows: shown.rows, columns: shown.columns,
        colour: { r, c in map.colour(for: Double(shown[r, c]), in: range) },
        value: small ? { r, c in formatNumber(Double(shown[r, c]), decimals: 4) } : nil)
    }
    s.frame(Rect(x: g.map.x - 1, y: g.map.y - 1, width: g.map.width + 2, height: g.map.height + 2), .ink, width: 1)

    let rowPitch = g.map.height / Double(values.rows)
    let columnPitch = g.map.width / Double(values.columns)
    s.group([("class", "row-labels")]) {
      var style = Layout.tick
      style.anchor = .end
      style.baseline = .middle
      for (i, label) in g.rowLabels {
        let y = g.map.y + (Double(i) + 0.5) * rowPitch
        s.fill(Rect(x: g.map.x - 1 - Layout.tickLength, y: y - 0.5, width: Layout.tickLength, height: 1), .ink)
        s.text(label, at: Point(g.map.x - 1 - Layout.tickLength - Layout.tickGap, y), style: style)
      }
    }
    s.group([("class", "column-labels")]) {
      var style = Layout.tick
      style.anchor = .end
      style.baseline = .middle
      style.rotated = true
      for (j, label) in g.columnLabels {
        let x = g.map.x + (Double(j) + 0.5) * columnPitch
        s.fill(Rect(x: x - 0.5, y: g.map.maxY + 1, width: 1, height: Layout.tickLength), .ink)
        s.text(label, at: Point(x, g.map.maxY + 1 + Layout.tickLength + Layout.tickGap), style: style)
      }
    }
    var axis = Layout.axisTitle
    axis.anchor = .middle
    let bottom = g.map.maxY + Layout.tickLength + Layout.tickGap + g.columnLabelHeight + 8
    s.text(columnAxisTitle, at: Point(g.map.midX, bottom), style: axis)
    axis.rotated = true
    s.text(rowAxisTitle, at: Point(Layout.margin, g.map.midY), style: axis)
    g.colourBar.draw(on: s, x: g.map.maxX, top: g.map.y, height: g.map.height)
  }
}
