import BertScope

/// Per-group stacked bars of parts of a whole (Kovaleva et al. 2019, Figure 2: the share of
/// each pattern type among a layer's heads). Segment heights are exact: in SVG each segment's
/// `height` is value × plot height / `yMax`; in PNG its pixel count is that times the scale,
/// within one pixel.
public struct StackedBars: Figure {
  /// x-axis labels, one per bar (layers: "1", "2", …).
  public var groups: [String]
  /// Names of the stacked parts, bottom first.
  public var series: [String]
  /// One colour per part, in ``series`` order (Okabe–Ito by default).
  public var colours: [RGB]
  /// values[group][series] ≥ 0.
  public var values: [[Double]]
  /// The figure title; empty for none.
  public var title: String
  /// The title of the x axis.
  public var xTitle = "layer"
  /// The title of the value axis.
  public var yTitle = "proportion of heads"
  /// Top of the value axis: 1 for proportions; nil gives 1 when no bar is taller than 1, else
  /// a nice number at or above the tallest bar.
  public var yMax: Double?
  /// Height of the plot area in figure units.
  public var plotHeight = 240.0
  /// Width of each bar in figure units.
  public var barWidth = 28.0
  /// Space between bars (and before the first) in figure units.
  public var barGap = 12.0
  /// The legend's title; nil for none.
  public var legendTitle: String? = "pattern type"

  /// Stacked bars of `values[group][series]`.
  /// - Parameters:
  ///   - groups: one x label per bar.
  ///   - series: the parts' names, bottom first.
  ///   - values: `[groups][series]`, finite and non-negative.
  ///   - colours: one per series; nil takes the Okabe–Ito colours in order.
  ///   - title: the figure title.
  ///   - yMax: the top of the value axis; nil fits the data.
  /// - Throws: ``BertScopeError/invalidInput(_:)`` when the shapes disagree or a value is negative
  ///   or not finite.
  public init(
    groups: [String], series: [String], values: [[Double]], colours: [RGB]? = nil, title: String = "",
    yMax: Double? = nil
  ) throws {
    guard values.count == groups.count, values.allSatisfy({ $0.count == series.count }) else {
      throw BertScopeError.invalidInput("stacked bars: values are not \(groups.count) groups × \(series.count) series")
    }
    guard values.allSatisfy({ $0.allSatisfy { $0 >= 0 && $0.isFinite } }) else {
      throw BertScopeError.invalidInput("stacked bars: values must be finite and non-negative")
    }
    let colours = colours ?? series.indices.map(Palette.categorical)
    guard colours.count == series.count else {
      throw BertScopeError.invalidInput("stacked bars: \(colours.count) colours for \(series.count) series")
    }
    self.groups = groups
    self.series = series
    self.values = values
    self.colours = colours
    self.title = title
    self.yMax = yMax
  }

  /// The value at the top of the axis.
  public var axisMaximum: Double {
    if let yMax { return yMax }
    let tallest = values.map { $0.reduce(0, +) }.max() ?? 1
    return tallest <= 1 + 1e-9 ? 1 : niceCeiling(tallest)
  }

  typealias Geometry = PlotGeometry

  var geometry: Geometry {
    let ticks = niceTicks(0, axisMaximum, maxTicks: 5)
    let decimals = tickDecimals(ticks)
    let left = Layout.margin + valueAxisWidth(ticks: ticks, decimals: decimals)
    let top = titleHeight(title)
    let plotWidth = Double(groups.count) * (barWidth + barGap) + barGap
    let plot = Rect(x: left, y: top, width: plotWidth, height: plotHeight)
    // Top entry of the legend = top segment of the bars.
    let legend = Legend(
      entries: zip(series, colours).reversed().map { Legend.Entry(name: $0.0, colour: $0.1) }, title: legendTitle)
    let (legendOrigin, size) = legend.placed(beside: plot, gap: 20, title: title)
    return Geometry(
      plot: plot, ticks: ticks, decimals: decimals, legend: legend, legendOrigin: legendOrigin, size: size)
  }

  /// Width and height in figure units, axes and legend included.
  public var size: (width: Double, height: Double) { geometry.size }

  /// The plot area; bars stand on its bottom edge.
  public var plotRect: Rect { geometry.plot }

  /// The rectangle of segment (group, series), 0-based, in figure units.
  public func segmentRect(group: Int, series k: Int) -> Rect {
    let g = geometry
    let unit = g.plot.height / axisMaximum
    let below = values[group][..<k].reduce(0, +)
    let x = g.plot.x + barGap + Double(group) * (barWidth + barGap)
    let h = values[group][k] * unit
    return Rect(x: x, y: g.plot.maxY - below * unit - h, width: barWidth, height: h)
  }

  /// Draws the title, the value axis with grid lines, the bars with their labels and the legend
  /// (top entry = top segment).
  public func draw(on s: any Surface) {
    let g = geometry
    _ = drawTitle(title, on: s, width: g.size.width)
    drawValueAxis(
      on: s, plot: g.plot, range: 0...axisMaximum, ticks: g.ticks, decimals: g.decimals, title: yTitle,
      titleX: Layout.margin, grid: true)
    for (i, name) in groups.enumerated() {
      s.group([("class", "bar"), ("data-group", name)]) {
        for k in series.indices where values[i][k] > 0 {
          s.fill(
            segmentRect(group: i, series: k), colours[k],
            attributes: [
              ("class", "segment"), ("data-series", series[k]), ("data-value", formatNumber(values[i][k], decimals: 6)),
            ])
        }
      }
      var style = Layout.tick
      style.anchor = .middle
      let x = g.plot.x + barGap + Double(i) * (barWidth + barGap) + barWidth / 2
      s.text(name, at: Point(x, g.plot.maxY + Layout.tickLength + Layout.tickGap), style: style)
    }
    s.fill(
      Rect(
        x: g.plot.x - Layout.axisLine, y: g.plot.maxY, width: g.plot.width + Layout.axisLine, height: Layout.axisLine),
      .ink)
    var axis = Layout.axisTitle
    axis.anchor = .middle
    s.text(
      xTitle, at: Point(g.plot.midX, g.plot.maxY + Layout.tickLength + Layout.tickGap + Layout.tick.lineHeight + 8),
      style: axis)
    g.legend.draw(on: s, at: g.legendOrigin)
  }
}
