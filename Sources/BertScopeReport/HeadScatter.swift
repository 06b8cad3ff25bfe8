import BertScope
import Foundation

/// One point per attention head in a plane (the 2-D MDS of the heads' distances, Clark et al.
/// 2019 §6), filled with its category's colour (the pattern types) and labelled with its layer
/// number. Both axes have the same scale, so that distances on the page compare.
///
/// In SVG every point is a group `class="head-point"` with `data-layer` and `data-head`
/// (numbered from 1) holding its marker and label.
public struct HeadScatter: Figure {
  /// One head.
  public struct Point2: Sendable, Equatable {
    /// Layer and head, 0-based.
    public var layer: Int
    public var head: Int
    public var x: Double
    public var y: Double
    /// Index into ``HeadScatter/categories``; nil: unknown (drawn grey, listed as "unknown").
    public var category: Int?

    public init(layer: Int, head: Int, x: Double, y: Double, category: Int?) {
      self.layer = layer
      self.head = head
      self.x = x
      self.y = y
      self.category = category
    }
  }

  public var points: [Point2]
  public var categories: [HeadGrid.Category]
  public var title: String
  public var xTitle = "MDS dimension 1"
  public var yTitle = "MDS dimension 2"
  /// The plot's side in figure units.
  public var side = 420.0
  /// The markers' radius.
  public var radius = 5.0
  /// The legend's title.
  public var legendTitle = "most frequent pattern type"

  static let unknown = HeadGrid.Category(name: "unknown", colour: RGB(210, 210, 210))

  /// A scatter of `points`; throws when a coordinate is not finite or a category out of range.
  public init(points: [Point2], categories: [HeadGrid.Category], title: String = "") throws {
    guard points.allSatisfy({ $0.x.isFinite && $0.y.isFinite }) else {
      throw BertScopeError.invalidInput("head scatter: a coordinate is not finite")
    }
    guard points.allSatisfy({ $0.category.map { categories.indices.contains($0) } ?? true }) else {
      throw BertScopeError.invalidInput("head scatter: a point's category is not one of \(categories.count)")
    }
    self.points = points
    self.categories = categories
    self.title = title
  }

  /// The common range of both axes: the points' larger span, centred on each axis's midpoint,
  /// with a margin, rounded out to nice ticks.
  var ranges: (x: ClosedRange<Double>, y: ClosedRange<Double>) {
    let xs = points.map(\.x), ys = points.map(\.y)
    let (x0, x1) = (xs.min() ?? -1, xs.max() ?? 1), (y0, y1) = (ys.min() ?? -1, ys.max() ?? 1)
    var half = max(x1 - x0, y1 - y0) / 2 * 1.08
    if !(half > 0) { half = 1 }
    let (cx, cy) = ((x0 + x1) / 2, (y0 + y1) / 2)
    return ((cx - half)...(cx + half), (cy - half)...(cy + half))
  }

  var legend: Legend {
    var used = Set(points.compactMap(\.category))
    if used.isEmpty { used = Set(categories.indices) }
    var entries = categories.indices.filter { used.contains($0) }.map {
      Legend.Entry(name: categories[$0].name, colour: categories[$0].colour)
    }
    if points.contains(where: { $0.category == nil }) {
      entries.append(Legend.Entry(name: Self.unknown.name, colour: Self.unknown.colour))
    }
    return Legend(entries: entries, title: legendTitle)
  }

  var yTicks: [Double] { niceTicks(ranges.y.lowerBound, ranges.y.upperBound, maxTicks: 5) }
  var xTicks: [Double] { niceTicks(ranges.x.lowerBound, ranges.x.upperBound, maxTicks: 5) }

  var plot: Rect {
    let left = Layout.margin + valueAxisWidth(ticks: yTicks, decimals: tickDecimals(yTicks))
    return Rect(x: left, y: titleHeight(title), width: side, height: side)
  }

  public var size: (width: Double, height: Double) { legend.placed(beside: plot, gap: 20, title: title).size }

  /// Where head `point` is drawn.
  public func position(_ p: Point2) -> Point {
    let r = ranges, box = plot
    let u = (p.x - r.x.lowerBound) / (r.x.upperBound - r.x.lowerBound)
    let v = (p.y - r.y.lowerBound) / (r.y.upperBound - r.y.lowerBound)
    return Point(box.x + u * box.width, box.maxY - v * box.height)
  }

  public func draw(on s: any Surface) {
    let box = plot, r = ranges
    _ = drawTitle(title, on: s, width: size.width)
    let yt = yTicks.filter { r.y.contains($0) }, xt = xTicks.filter { r.x.contains($0) }
    drawValueAxis(
      on: s, plot: box, range: r.y, ticks: yt, decimals: tickDecimals(yTicks), title: yTitle, titleX: Layout.margin,
      grid: true)
    s.group([("class", "x-axis")]) {
      let decimals = tickDecimals(xTicks)
      for t in xt {
        let x = box.x + (t - r.x.lowerBound) / (r.x.upperBound - r.x.lowerBound) * box.width
        s.fill(Rect(x: x - 0.5, y: box.y, width: 1, height: box.height), .grid)
        s.fill(Rect(x: x - 0.5, y: box.maxY, width: 1, height: Layout.tickLength), .ink)
        var style = Layout.tick
        style.anchor = .middle
        s.text(
          formatNumber(t, decimals: decimals), at: Point(x, box.maxY + Layout.tickLength + Layout.tickGap), style: style
        )
      }
      s.fill(
        Rect(x: box.x - Layout.axisLine, y: box.maxY, width: box.width + Layout.axisLine, height: Layout.axisLine), .ink
      )
      var axis = Layout.axisTitle
      axis.anchor = .middle
      s.text(
        xTitle, at: Point(box.midX, box.maxY + Layout.tickLength + Layout.tickGap + Layout.tick.lineHeight + 8),
        style: axis)
    }
    var label = TextStyle(size: 1, colour: .mutedInk, anchor: .start, baseline: .middle)
    label.bold = false
    for p in points {
      let c = position(p)
      let colour = p.category.map { categories[$0].colour } ?? Self.unknown.colour
      s.group([("class", "head-point"), ("data-layer", "\(p.layer + 1)"), ("data-head", "\(p.head + 1)")]) {
        s.circle(c, radius: radius + 0.5, fill: colour, stroke: .ink, strokeWidth: 1)
        s.text("\(p.layer + 1)", at: Point(c.x + radius + 2, c.y), style: label)
      }
    }
    s.frame(box, .ink, width: Layout.axisLine)
    let placed = legend.placed(beside: box, gap: 20, title: title)
    legend.draw(on: s, at: placed.origin)
  }
}
