import BertScope

/// A layers × heads matrix of values as coloured cells, optionally with the numbers printed
/// in them, and a colour bar: the change of a metric when each head is disabled (Kovaleva et
/// al. 2019, Figure 8; diverging map) or the cosine similarity of each head's maps before and
/// after fine-tuning (Figure 5; sequential map).
public struct MatrixChart: Figure {
  /// (rows, columns): (layers, heads) by default labelling.
  public var values: Matrix
  /// The figure title; empty for none.
  public var title: String
  /// One label per row (layers "1", "2", … by default).
  public var rowLabels: [String]
  /// One label per column (heads "1", "2", … by default); rotated when wider than a cell.
  public var columnLabels: [String]
  /// The title of the vertical (row) axis.
  public var rowTitle = "layer"
  /// The title of the horizontal (column) axis.
  public var columnTitle = "head"
  /// The colour map of the cells and the colour bar.
  public var colourMap: ColourMap
  /// Values mapped to the ends of the colour map.
  public var range: ClosedRange<Double>
  /// The title of the colour bar.
  public var colourBarTitle: String
  /// Print each value in its cell.
  public var showValues: Bool
  /// Decimals of the values printed in the cells.
  public var decimals: Int
  /// Cell side; nil fits the printed numbers (or 20 units without numbers).
  public var cellSize: Double?

  /// A matrix chart of `values`.
  /// - Parameters:
  ///   - values: the cells, (layers, heads) for the default labels.
  ///   - title: the figure title; empty for none.
  ///   - colourMap: `.coolWarm` for signed deltas, `.viridis` for similarities.
  ///   - range: default: ±max |value| for a diverging map, the data's range for a sequential
  ///     one (±0.5 around a constant).
  ///   - colourBarTitle: the title of the colour bar.
  ///   - showValues: print each value in its cell.
  ///   - decimals: decimals of the printed values.
  ///   - rowLabels: one per row; nil numbers the rows from 1.
  ///   - columnLabels: one per column; nil numbers the columns from 1.
  /// - Throws: ``BertScopeError/invalidInput(_:)`` for an empty matrix, a label count that does
  ///   not match, or an empty `range`.
  public init(
    values: Matrix, title: String = "", colourMap: ColourMap = .viridis, range: ClosedRange<Double>? = nil,
    colourBarTitle: String = "", showValues: Bool = true, decimals: Int = 2,
    rowLabels: [String]? = nil, columnLabels: [String]? = nil
  ) throws {
    guard values.rows > 0, values.columns > 0 else { throw BertScopeError.invalidInput("matrix chart: empty matrix") }
    let rowLabels = rowLabels ?? (1...values.rows).map(String.init)
    let columnLabels = columnLabels ?? (1...values.columns).map(String.init)
    guard rowLabels.count == values.rows, columnLabels.count == values.columns else {
      throw BertScopeError.invalidInput(
        "matrix chart: \(rowLabels.count) × \(columnLabels.count) labels for a \(values.rows) × \(values.columns) matrix"
      )
    }
    if let range, !(range.upperBound > range.lowerBound) {
      throw BertScopeError.invalidInput("matrix chart: empty colour range \(range)")
    }
    self.values = values
    self.title = title
    self.colourMap = colourMap
    let data = values.finiteRange.map { Double($0.lowerBound)...Double($0.upperBound) } ?? 0...1
    if let range {
      self.range = range
    } else if colourMap.isDiverging {
      let m = max(abs(data.lowerBound), abs(data.upperBound))
      self.range = m > 0 ? -m...m : -1...1
    } else {
      self.range = data.upperBound > data.lowerBound ? data : (data.lowerBound - 0.5)...(data.lowerBound + 0.5)
    }
    self.colourBarTitle = colourBarTitle
    self.showValues = showValues
    self.decimals = decimals
    self.rowLabels = rowLabels
    self.columnLabels = columnLabels
  }

  func label(_ v: Float) -> String { v.isNaN ? "" : formatNumber(Double(v), decimals: decimals) }

  var cell: Double {
    if let cellSize { return cellSize }
    guard showValues else { return 20 }
    let longest = values.values.map { Layout.tick.length(of: label($0)) }.max() ?? 0
    return max(22, longest + 8)
  }

  struct Geometry {
    var grid: Rect
    var rotatedColumns: Bool
    var columnLabelHeight: Double
    var bar: ColourBar
    var size: (width: Double, height: Double)
  }

  var geometry: Geometry {
    let cell = self.cell
    let rowLabelWidth = rowLabels.map { Layout.tick.length(of: $0) }.max() ?? 0
    let columnLabelLength = columnLabels.map { Layout.tick.length(of: $0) }.max() ?? 0
    let rotated = columnLabelLength > cell - 2
    let columnLabelHeight = rotated ? columnLabelLength : Layout.tick.lineHeight
    let left = Layout.margin + Layout.axisTitle.lineHeight + 8 + rowLabelWidth + Layout.tickGap + 2
    let grid = Rect(
      x: left, y: titleHeight(title), width: cell * Double(values.columns), height: cell * Double(values.rows))
    let bar = ColourBar(map: colourMap, range: range, title: colourBarTitle, height: max(grid.height, 100))
    let width = max(grid.maxX + bar.width + Layout.margin, titleWidth(title))
    let height =
      max(grid.maxY, grid.y + max(grid.height, 100)) + 4 + columnLabelHeight + 8 + Layout.axisTitle.lineHeight
      + Layout.margin
    return Geometry(
      grid: grid, rotatedColumns: rotated, columnLabelHeight: columnLabelHeight, bar: bar, size: (width, height))
  }

  /// Width and height in figure units, labels and colour bar included.
  public var size: (width: Double, height: Double) { geometry.size }

  /// Where the cells are drawn.
  public var gridRect: Rect { geometry.grid }

  /// Draws the title, the cells (values recorded in SVG), the printed values in a contrasting
  /// colour, the labels, the axis titles and the colour bar.
  public func draw(on s: any Surface) {
    let g = geometry
    _ = drawTitle(title, on: s, width: g.size.width)
    let (map, range, values) = (colourMap, range, values)
    s.group([("class", "matrix")]) {
      s.cells(
        g.grid, rows: values.rows, columns: values.columns,
        colour: { r, c in map.colour(for: Double(values[r, c]), in: range) },
        value: { r, c in formatNumber(Double(values[r, c]), decimals: 6) })
    }
    if showValues {
      s.group([("class", "cell-values")]) {
        for r in 0..<values.rows {
          for c in 0..<values.columns where !values[r, c].isNaN {
            let v = values[r, c]
            var style = Layout.tick
            style.anchor = .middle
            style.baseline = .middle
            style.colour = map.colour(for: Double(v), in: range).contrastingText
            s.text(
              label(v), at: Point(g.grid.x + (Double(c) + 0.5) * cell, g.grid.y + (Double(r) + 0.5) * cell),
              style: style)
          }
        }
      }
    }
    s.frame(Rect(x: g.grid.x - 1, y: g.grid.y - 1, width: g.grid.width + 2, height: g.grid.height + 2), .ink, width: 1)
    var style = Layout.tick
    style.anchor = .end
    style.baseline = .middle
    for (r, name) in rowLabels.enumerated() {
      s.text(name, at: Point(g.grid.x - Layout.tickGap - 2, g.grid.y + (Double(r) + 0.5) * cell), style: style)
    }
    style = Layout.tick
    if g.rotatedColumns {
      style.rotated = true
      style.anchor = .end
      style.baseline = .middle
    } else {
      style.anchor = .middle
    }
    let labelTop = g.grid.maxY + 4
    for (c, name) in columnLabels.enumerated() {
      s.text(name, at: Point(g.grid.x + (Double(c) + 0.5) * cell, labelTop), style: style)
    }
    var axis = Layout.axisTitle
    axis.anchor = .middle
    s.text(columnTitle, at: Point(g.grid.midX, labelTop + g.columnLabelHeight + 8), style: axis)
    axis.rotated = true
    s.text(rowTitle, at: Point(Layout.margin, g.grid.midY), style: axis)
    g.bar.draw(on: s, x: g.grid.maxX, top: g.grid.y, height: max(g.grid.height, 100))
  }
}
