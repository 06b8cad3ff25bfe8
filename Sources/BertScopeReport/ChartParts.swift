import Foundation

/// Spacing and text sizes shared by all figures, in figure units.
enum Layout {
  static let margin = 16.0
  static let title = TextStyle(size: 2, colour: .ink, bold: false)
  static let titleGap = 14.0
  static let tick = TextStyle(size: 1, colour: .ink)
  static let axisTitle = TextStyle(size: 1, colour: .mutedInk)
  static let tickLength = 4.0
  static let tickGap = 3.0
  static let axisLine = 1.0
  static let colourBarWidth = 14.0
}

/// A step of 1, 2, 2.5 or 5 × 10^k giving at most `maxTicks` intervals over `span`.
func niceStep(span: Double, maxTicks: Int) -> Double {
  guard span > 0, span.isFinite else { return 1 }
  let raw = span / Double(max(1, maxTicks))
  let p = pow(10, (log10(raw)).rounded(.down))
  for m in [1.0, 2, 2.5, 5, 10] where m * p >= raw * (1 - 1e-9) { return m * p }
  return 10 * p
}

/// Tick values at multiples of a nice step within lo...hi (ends included when they fall on it).
func niceTicks(_ lo: Double, _ hi: Double, maxTicks: Int = 6) -> [Double] {
  guard hi > lo else { return [lo] }
  let step = niceStep(span: hi - lo, maxTicks: maxTicks)
  var ticks: [Double] = []
  var k = (lo / step - 1e-9).rounded(.up)
  while k * step <= hi + step * 1e-9 {
    ticks.append(abs(k * step) < step * 1e-9 ? 0 : k * step)
    k += 1
  }
  return ticks
}

/// The smallest nice number >= v (for an automatic axis maximum).
func niceCeiling(_ v: Double) -> Double {
  guard v > 0, v.isFinite else { return 1 }
  let p = pow(10, (log10(v)).rounded(.down))
  for m in [1.0, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10] where m * p >= v * (1 - 1e-12) { return m * p }
  return 10 * p
}

/// Decimals needed to tell ticks `step` apart.
func decimals(forStep step: Double) -> Int {
  guard step > 0, step.isFinite else { return 0 }
  var d = 0
  while d < 6 && abs((step * pow(10, Double(d))).rounded() - step * pow(10, Double(d))) > 1e-6 { d += 1 }
  return d
}

/// `v` with `decimals` decimals, never "-0"; NaN is "n/a", infinities "inf" and "-inf".
public func formatNumber(_ v: Double, decimals: Int) -> String {
  guard v.isFinite else { return v.isNaN ? "n/a" : (v > 0 ? "inf" : "-inf") }
  let s = String(format: "%.\(max(0, decimals))f", v)
  if s.hasPrefix("-") && s.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { return String(s.dropFirst()) }
  return s
}

/// Shortens `label` to at most `maxCharacters`, ending it with "…".
func truncate(_ label: String, to maxCharacters: Int) -> String {
  guard label.count > maxCharacters, maxCharacters >= 2 else { return label }
  return String(label.prefix(maxCharacters - 1)) + "\u{2026}"
}

/// Marker shapes for line charts: shape as well as colour tells series apart.
public enum Marker: Sendable, CaseIterable {
  case circle, square, triangle, diamond

  func points(at c: Point, radius r: Double) -> [Point] {
    switch self {
    case .circle:
      return (0..<16).map { i in
        let a = Double(i) / 16 * 2 * Double.pi
        return Point(c.x + r * cos(a), c.y + r * sin(a))
      }
    case .square:
      let s = r * 0.85
      return [Point(c.x - s, c.y - s), Point(c.x + s, c.y - s), Point(c.x + s, c.y + s), Point(c.x - s, c.y + s)]
    case .triangle:
      return [Point(c.x, c.y - r * 1.1), Point(c.x + r, c.y + r * 0.75), Point(c.x - r, c.y + r * 0.75)]
    case .diamond:
      return [Point(c.x, c.y - r * 1.15), Point(c.x + r, c.y), Point(c.x, c.y + r * 1.15), Point(c.x - r, c.y)]
    }
  }

  /// The marker of the 0-based series `i`, cycling through the four shapes.
  public static func forSeries(_ i: Int) -> Marker { allCases[i % allCases.count] }
}

/// A vertical colour bar with ticks on its right and a rotated title beyond them.
struct ColourBar {
  var map: ColourMap
  var range: ClosedRange<Double>
  var title: String
  var ticks: [Double]
  var decimals: Int

  /// `height`: the bar's length, which sets how many ticks fit (one per ~28 units, at most 5).
  init(map: ColourMap, range: ClosedRange<Double>, title: String, height: Double) {
    self.map = map
    self.range = range
    self.title = title
    ticks = niceTicks(range.lowerBound, range.upperBound, maxTicks: Swift.max(1, Swift.min(5, Int(height / 28))))
    decimals = ticks.count > 1 ? tickDecimals(ticks) : 2
  }

  /// Width taken right of the plot, including the gap before the bar.
  var width: Double {
    let labels = ticks.map { formatNumber($0, decimals: decimals) }
    let longest = labels.map { Layout.tick.length(of: $0) }.max() ?? 0
    return 18 + Layout.colourBarWidth + Layout.tickLength + Layout.tickGap + longest + 10 + Layout.axisTitle.lineHeight
  }

  /// Draws the bar along `height` units from `top`, `x` being the right edge of the plot.
  func draw(on s: any Surface, x: Double, top: Double, height: Double) {
    let bar = Rect(x: x + 18, y: top, width: Layout.colourBarWidth, height: height)
    let n = map.count
    s.group([("class", "colour-bar")]) {
      // Row 0 at the top shows the highest value.
      s.cells(
        bar, rows: n, columns: 1, colour: { r, _ in map.colour(at: (Double(n - 1 - r) + 0.5) / Double(n)) }, value: nil)
      s.frame(bar, .ink, width: Layout.axisLine)
      let span = range.upperBound - range.lowerBound
      var longest = 0.0
      for t in ticks {
        let y = bar.maxY - (span > 0 ? (t - range.lowerBound) / span : 0.5) * height
        s.fill(Rect(x: bar.maxX, y: y - 0.5, width: Layout.tickLength, height: 1), .ink)
        let label = formatNumber(t, decimals: decimals)
        longest = Swift.max(longest, Layout.tick.length(of: label))
        var style = Layout.tick
        style.baseline = .middle
        s.text(label, at: Point(bar.maxX + Layout.tickLength + Layout.tickGap, y), style: style)
      }
      var style = Layout.axisTitle
      style.rotated = true
      style.anchor = .middle
      s.text(
        title, at: Point(bar.maxX + Layout.tickLength + Layout.tickGap + longest + 10, top + height / 2), style: style)
    }
  }
}

/// Decimals that print every tick in `ticks` exactly.
func tickDecimals(_ ticks: [Double]) -> Int { ticks.map { decimals(forStep: abs($0)) }.max() ?? 0 }

/// A legend: a swatch (or marker) and a name per entry, in one column or one row.
struct Legend {
  struct Entry {
    var name: String
    var colour: RGB
    var marker: Marker?
    /// Swatches drawn as a frame (for framed thumbnails) rather than a filled square.
    var framed = false
  }
  var entries: [Entry]
  var title: String?
  var horizontal = false

  static let swatch = 12.0
  static let rowHeight = 18.0
  static let gap = 20.0

  func entryWidth(_ e: Entry) -> Double { Legend.swatch + 6 + Layout.tick.length(of: e.name) }

  var size: (width: Double, height: Double) {
    let titleHeight = title == nil ? 0 : Legend.rowHeight
    let titleWidth = title.map { Layout.axisTitle.length(of: $0) } ?? 0
    if horizontal {
      let w = entries.map(entryWidth).reduce(0, +) + Legend.gap * Double(Swift.max(0, entries.count - 1))
      return (Swift.max(w, titleWidth), titleHeight + Legend.rowHeight)
    }
    let w = entries.map(entryWidth).max() ?? 0
    return (Swift.max(w, titleWidth), titleHeight + Legend.rowHeight * Double(entries.count))
  }

  func draw(on s: any Surface, at origin: Point) {
    s.group([("class", "legend")]) {
      var y = origin.y
      if let title {
        s.text(
          title, at: Point(origin.x, y + Legend.rowHeight / 2),
          style: {
            var t = Layout.axisTitle; t.baseline = .middle; return t
          }())
        y += Legend.rowHeight
      }
      var x = origin.x
      for e in entries {
        let box = Rect(x: x, y: y + (Legend.rowHeight - Legend.swatch) / 2, width: Legend.swatch, height: Legend.swatch)
        if let marker = e.marker {
          s.line([Point(box.x - 3, box.midY), Point(box.maxX + 3, box.midY)], e.colour, width: 2)
          s.polygon(marker.points(at: Point(box.midX, box.midY), radius: 4), fill: e.colour)
        } else if e.framed {
          s.fill(box, RGB(245, 245, 245))
          s.frame(box, e.colour, width: 3)
        } else {
          s.fill(box, e.colour, attributes: [("class", "swatch")])
        }
        var style = Layout.tick
        style.baseline = .middle
        s.text(e.name, at: Point(box.maxX + 6, y + Legend.rowHeight / 2), style: style)
        if horizontal {
          x += entryWidth(e) + Legend.gap
        } else {
          y += Legend.rowHeight
        }
      }
    }
  }
}

/// The layout of a chart with a value axis and a legend beside it (`LineChart`, `StackedBars`):
/// the plot area, the axis ticks and their decimals, the legend and where it goes, the size.
struct PlotGeometry {
  var plot: Rect
  var ticks: [Double]
  var decimals: Int
  var legend: Legend
  var legendOrigin: Point
  var size: (width: Double, height: Double)
}

extension Legend {
  /// Where the legend goes beside `plot` (`gap` to its right, top-aligned), and the size of a
  /// figure holding the plot with its x tick labels and axis title, the legend, and `title`.
  func placed(beside plot: Rect, gap: Double, title: String) -> (origin: Point, size: (width: Double, height: Double)) {
    let origin = Point(plot.maxX + gap, plot.y)
    let width = max(origin.x + size.width + Layout.margin, titleWidth(title))
    let axis = plot.maxY + Layout.tickLength + Layout.tickGap + Layout.tick.lineHeight + 8 + Layout.axisTitle.lineHeight
    return (origin, (width, max(axis, origin.y + size.height) + Layout.margin))
  }
}

/// Draws the figure title centred over `width`, returning the y below it.
func drawTitle(_ title: String, on s: any Surface, width: Double) -> Double {
  guard !title.isEmpty else { return Layout.margin }
  var style = Layout.title
  style.anchor = .middle
  s.group([("class", "title")]) { s.text(title, at: Point(width / 2, Layout.margin), style: style) }
  return Layout.margin + Layout.title.lineHeight + Layout.titleGap
}

func titleHeight(_ title: String) -> Double {
  title.isEmpty ? Layout.margin : Layout.margin + Layout.title.lineHeight + Layout.titleGap
}

func titleWidth(_ title: String) -> Double { Layout.title.length(of: title) + 2 * Layout.margin }

/// A value axis on the left of `plot` (vertical, values grow upwards) with grid lines.
func drawValueAxis(
  on s: any Surface, plot: Rect, range: ClosedRange<Double>, ticks: [Double], decimals: Int, title: String,
  titleX: Double, grid: Bool
) {
  let span = range.upperBound - range.lowerBound
  s.group([("class", "y-axis")]) {
    for t in ticks {
      let y = plot.maxY - (t - range.lowerBound) / span * plot.height
      if grid && t != range.lowerBound { s.fill(Rect(x: plot.x, y: y - 0.5, width: plot.width, height: 1), .grid) }
      s.fill(Rect(x: plot.x - Layout.tickLength, y: y - 0.5, width: Layout.tickLength, height: 1), .ink)
      var style = Layout.tick
      style.anchor = .end
      style.baseline = .middle
      s.text(
        formatNumber(t, decimals: decimals), at: Point(plot.x - Layout.tickLength - Layout.tickGap, y), style: style)
    }
    s.fill(Rect(x: plot.x - Layout.axisLine, y: plot.y, width: Layout.axisLine, height: plot.height), .ink)
    var style = Layout.axisTitle
    style.rotated = true
    style.anchor = .middle
    s.text(title, at: Point(titleX, plot.midY), style: style)
  }
}

/// Width needed left of a plot for the value axis: tick labels, gap, rotated title.
func valueAxisWidth(ticks: [Double], decimals: Int) -> Double {
  let longest = ticks.map { Layout.tick.length(of: formatNumber($0, decimals: decimals)) }.max() ?? 0
  return Layout.tickLength + Layout.tickGap + longest + 10 + Layout.axisTitle.lineHeight
}
