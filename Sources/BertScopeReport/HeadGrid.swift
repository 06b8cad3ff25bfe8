import BertScope

/// A layers × heads grid of small attention-map thumbnails, each framed in the colour of its
/// category (Kovaleva et al. 2019, Figure 1's pattern types), with a legend and a colour bar.
public struct HeadGrid: Figure {
  /// A category a head can be put in, with the frame colour that shows it.
  public struct Category: Sendable, Hashable {
    /// The name in the legend and in the SVG's `data-category`.
    public var name: String
    /// The frame colour of the heads put in this category.
    public var colour: RGB
    /// A category called `name`, framed in `colour`.
    public init(name: String, colour: RGB) {
      self.name = name
      self.colour = colour
    }
  }

  /// The five self-attention pattern types of Kovaleva et al. 2019 (§4.1), in Okabe–Ito colours.
  public static let patternTypes: [Category] = [
    Category(name: "vertical", colour: Palette.okabeIto[0]),
    Category(name: "diagonal", colour: Palette.okabeIto[1]),
    Category(name: "vertical+diagonal", colour: Palette.okabeIto[2]),
    Category(name: "block", colour: Palette.okabeIto[3]),
    Category(name: "heterogeneous", colour: RGB(150, 150, 150)),
  ]

  /// maps[layer][head], each (L, L); all layers have the same number of heads.
  public var maps: [[Matrix]]
  /// The categories ``assignments`` index into; the legend lists those used (all when none is).
  public var categories: [Category]
  /// assignments[layer][head]: an index into `categories`, or nil (unframed).
  public var assignments: [[Int?]]
  /// The figure title; empty for none.
  public var title: String
  /// Side of each thumbnail, figure units.
  public var thumbnailSize = 48.0
  /// The colour map of the thumbnails and the colour bar.
  public var colourMap: ColourMap = .viridis
  /// The values mapped to the colour map's ends; values outside are clamped.
  public var range: ClosedRange<Double> = 0...1
  /// Block maximum keeps one-token-wide stripes visible in small thumbnails.
  public var reduction: Matrix.Reduction = .max
  /// The title of the vertical (layer) axis.
  public var layerTitle = "layer"
  /// The title of the horizontal (head) axis.
  public var headTitle = "head"
  /// The title of the colour bar.
  public var colourBarTitle = "attention weight"

  /// A grid of `maps[layer][head]`, framed by `assignments` into `categories`.
  /// - Parameters:
  ///   - maps: `[layers][heads]` maps, 0-based, every layer with the same non-zero number of heads.
  ///   - categories: the frame categories (the pattern types by default).
  ///   - assignments: `[layers][heads]` indices into `categories`, nil entries unframed; nil for none.
  ///   - title: the figure title.
  /// - Throws: ``BertScopeError/invalidInput(_:)`` when the shapes disagree or an index is out of range.
  public init(
    maps: [[Matrix]], categories: [Category] = HeadGrid.patternTypes, assignments: [[Int?]]? = nil,
    title: String = ""
  ) throws {
    guard let heads = maps.first?.count, heads > 0, maps.allSatisfy({ $0.count == heads }) else {
      throw BertScopeError.invalidInput("head grid: needs the same non-zero number of heads in every layer")
    }
    let assignments = assignments ?? maps.map { $0.map { _ in nil } }
    guard assignments.count == maps.count, zip(assignments, maps).allSatisfy({ $0.count == $1.count }) else {
      throw BertScopeError.invalidInput("head grid: assignments are not \(maps.count) × \(heads)")
    }
    for row in assignments {
      for a in row {
        if let a, !categories.indices.contains(a) {
          throw BertScopeError.invalidInput("head grid: category \(a) out of 0..<\(categories.count)")
        }
      }
    }
    self.maps = maps
    self.categories = categories
    self.assignments = assignments
    self.title = title
  }

  static let frameWidth = 3.0
  static let gap = 5.0

  var pitch: Double { thumbnailSize + 2 * HeadGrid.frameWidth + HeadGrid.gap }
  var layers: Int { maps.count }
  var heads: Int { maps[0].count }

  var legend: Legend {
    let used = Set(assignments.flatMap { $0.compactMap { $0 } })
    let entries = categories.enumerated().filter { used.isEmpty || used.contains($0.offset) }
      .map { Legend.Entry(name: $0.element.name, colour: $0.element.colour, framed: true) }
    return Legend(entries: entries, title: "pattern type", horizontal: false)
  }

  struct Geometry {
    var grid: Rect
    var legendOrigin: Point
    var bar: ColourBar
    var barTop: Double
    var barHeight: Double
    var size: (width: Double, height: Double)
  }

  var geometry: Geometry {
    let rowLabelWidth = Layout.tick.length(of: "\(layers)")
    let left = Layout.margin + Layout.axisTitle.lineHeight + 8 + rowLabelWidth + Layout.tickGap + 2
    let top = titleHeight(title) + Layout.axisTitle.lineHeight + 6 + Layout.tick.lineHeight + 4
    let grid = Rect(
      x: left, y: top, width: pitch * Double(heads) - HeadGrid.gap, height: pitch * Double(layers) - HeadGrid.gap)
    let legend = self.legend
    let legendOrigin = Point(grid.maxX + 24, grid.y)
    let barTop = legendOrigin.y + legend.size.height + 16
    let barHeight = max(80, min(200, grid.maxY - barTop))
    let bar = ColourBar(map: colourMap, range: range, title: colourBarTitle, height: barHeight)
    let right = max(legendOrigin.x + legend.size.width, legendOrigin.x - 18 + bar.width)
    let width = max(right + Layout.margin, titleWidth(title))
    let height = max(grid.maxY, barTop + barHeight) + Layout.margin
    return Geometry(
      grid: grid, legendOrigin: legendOrigin, bar: bar, barTop: barTop, barHeight: barHeight, size: (width, height))
  }

  /// Width and height in figure units, from the grid, the legend and the colour bar.
  public var size: (width: Double, height: Double) { geometry.size }

  /// The thumbnail area of head (layer, head), 0-based, in figure units (inside its frame).
  public func thumbnailRect(layer: Int, head: Int) -> Rect {
    let g = geometry.grid
    return Rect(
      x: g.x + Double(head) * pitch + HeadGrid.frameWidth, y: g.y + Double(layer) * pitch + HeadGrid.frameWidth,
      width: thumbnailSize, height: thumbnailSize)
  }

  /// Draws the title, axis titles and 1-based labels, the framed thumbnails, the legend and the colour bar.
  public func draw(on s: any Surface) {
    let g = geometry
    _ = drawTitle(title, on: s, width: g.size.width)
    var axis = Layout.axisTitle
    axis.anchor = .middle
    s.text(headTitle, at: Point(g.grid.midX, titleHeight(title)), style: axis)
    axis.rotated = true
    s.text(layerTitle, at: Point(Layout.margin, g.grid.midY), style: axis)
    var label = Layout.tick
    label.anchor = .middle
    for h in 0..<heads {
      s.text(
        "\(h + 1)",
        at: Point(g.grid.x + Double(h) * pitch + (pitch - HeadGrid.gap) / 2, g.grid.y - 4 - Layout.tick.lineHeight),
        style: label)
    }
    label.anchor = .end
    label.baseline = .middle
    for l in 0..<layers {
      s.text(
        "\(l + 1)", at: Point(g.grid.x - Layout.tickGap - 2, g.grid.y + Double(l) * pitch + (pitch - HeadGrid.gap) / 2),
        style: label)
    }
    let (map, range) = (colourMap, range)
    let maxCells = Int(thumbnailSize) * 2
    for l in 0..<layers {
      for h in 0..<heads {
        let inner = thumbnailRect(layer: l, head: h)
        let outer = Rect(
          x: inner.x - HeadGrid.frameWidth, y: inner.y - HeadGrid.frameWidth,
          width: inner.width + 2 * HeadGrid.frameWidth, height: inner.height + 2 * HeadGrid.frameWidth)
        let category = assignments[l][h]
        var attributes = [("class", "head"), ("data-layer", "\(l + 1)"), ("data-head", "\(h + 1)")]
        if let category { attributes.append(("data-category", categories[category].name)) }
        s.group(attributes) {
          s.fill(outer, category.map { categories[$0].colour } ?? RGB(235, 235, 235))
          let shown = maps[l][h].downsampled(maxSide: maxCells, reduction: reduction)
          s.image(shown.bitmap(colourMap: map, range: range), in: inner)
        }
      }
    }
    legend.draw(on: s, at: g.legendOrigin)
    g.bar.draw(on: s, x: g.legendOrigin.x - 18, top: g.barTop, height: g.barHeight)
  }
}
