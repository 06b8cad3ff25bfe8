import BertScope

/// One value per layer for several series, as lines with markers or as grouped bars
/// (Kovaleva et al. 2019, Figure 6: attention to [CLS], [SEP] and punctuation by layer).
public struct LineChart: Figure {
  /// One named line (or one bar per x label), in the legend.
  public struct Series: Sendable {
    /// The legend entry, also the SVG's `data-series`.
    public var name: String
    /// One per x label; a NaN or infinite value leaves a gap.
    public var values: [Double]
    /// The line or bar colour; nil takes the series' Okabe–Ito colour by position.
    public var colour: RGB?
    /// A series called `name` with one value per x label.
    public init(name: String, values: [Double], colour: RGB? = nil) {
      self.name = name
      self.values = values
      self.colour = colour
    }
  }

  /// How the series are drawn.
  public enum Style: Sendable {
    /// Lines through markers (a different marker shape per series).
    case lines
    /// Side-by-side bars per x label.
    case groupedBars
  }

  /// The category labels along the x axis, e.g. layers "1" … "6".
  public var xLabels: [String]
  /// The series, drawn and listed in the legend in order.
  public var series: [Series]
  /// The figure title; empty for none.
  public var title: String
  /// Lines with markers or grouped bars.
  public var style: Style
  /// The title of the x axis.
  public var xTitle = "layer"
  /// The title of the value axis.
  public var yTitle: String
  /// The value axis range; nil: from 0 (or a nice number below the smallest value, if
  /// negative) to a nice number at or above the largest (1 when no value is positive).
  public var yRange: ClosedRange<Double>?
  /// Height of the plot area in figure units.
  public var plotHeight = 220.0
  /// Horizontal space per x label.
  public var pitch = 44.0

  /// A chart of `series` over `xLabels`.
  /// - Parameters:
  ///   - xLabels: the x-axis labels; at least one.
  ///   - series: at least one, each with one value per x label.
  ///   - title: the figure title.
  ///   - yTitle: the value-axis title.
  ///   - style: lines or grouped bars.
  ///   - yRange: a fixed value axis, or nil to fit the data.
  /// - Throws: ``BertScopeError/invalidInput(_:)`` when a series' length differs from the labels'
  ///   or `yRange` is empty.
  public init(
    xLabels: [String], series: [Series], title: String = "", yTitle: String = "", style: Style = .lines,
    yRange: ClosedRange<Double>? = nil
  ) throws {
    guard !xLabels.isEmpty, !series.isEmpty, series.allSatisfy({ $0.values.count == xLabels.count }) else {
      throw BertScopeError.invalidInput("line chart: every series needs \(xLabels.count) values, one per x label")
    }
    if let yRange, !(yRange.upperBound > yRange.lowerBound) {
      throw BertScopeError.invalidInput("line chart: empty y range \(yRange)")
    }
    self.xLabels = xLabels
    self.series = series
    self.title = title
    self.yTitle = yTitle
    self.style = style
    self.yRange = yRange
  }

  /// The value axis range actually drawn.
  public var axisRange: ClosedRange<Double> {
    if let yRange { return yRange }
    let finite = series.flatMap(\.values).filter(\.isFinite)
    let lo = min(0, finite.min() ?? 0)
    let hi = max(0, finite.max() ?? 1)
    let top = hi > 0 ? niceCeiling(hi) : 1
    let bottom = lo < 0 ? -niceCeiling(-lo) : 0
    return bottom...top
  }

  func colour(_ i: Int) -> RGB { series[i].colour ?? Palette.categorical(i) }

  typealias Geometry = PlotGeometry

  var geometry: Geometry {
    let range = axisRange
    let ticks = niceTicks(range.lowerBound, range.upperBound, maxTicks: 5)
    let decimals = tickDecimals(ticks)
    let left = Layout.margin + valueAxisWidth(ticks: ticks, decimals: decimals)
    let plot = Rect(x: left, y: titleHeight(title), width: pitch * Double(xLabels.count), height: plotHeight)
    let legend = Legend(
      entries: series.indices.map {
        Legend.Entry(name: series[$0].name, colour: colour($0), marker: style == .lines ? Marker.forSeries($0) : nil)
      }, title: nil)
    let (legendOrigin, size) = legend.placed(beside: plot, gap: 24, title: title)
    return Geometry(
      plot: plot, ticks: ticks, decimals: decimals, legend: legend, legendOrigin: legendOrigin, size: size)
  }

  /// Width and height in figure units, axes and legend included.
  public var size: (width: Double, height: Double) { geometry.size }

  /// The plot area.
  public var plotRect: Rect { geometry.plot }

  /// Where value `v` lies vertically.
  public func y(of v: Double) -> Double {
    let g = geometry.plot
    let r = axisRange
    return g.maxY - (v - r.lowerBound) / (r.upperBound - r.lowerBound) * g.height
  }

  /// Draws the title, the value axis with grid lines, the x labels, the series, the zero line
  /// and the legend.
  public func draw(on s: any Surface) {
    let g = geometry
    let range = axisRange
    _ = drawTitle(title, on: s, width: g.size.width)
    drawValueAxis(
      on: s, plot: g.plot, range: range, ticks: g.ticks, decimals: g.decimals, title: yTitle, titleX: Layout.margin,
      grid: true)
    let zeroY = y(of: max(range.lowerBound, min(range.upperBound, 0)))
    for (i, label) in xLabels.enumerated() {
      let x = g.plot.x + (Double(i) + 0.5) * pitch
      s.fill(Rect(x: x - 0.5, y: g.plot.maxY, width: 1, height: Layout.tickLength), .ink)
      var style = Layout.tick
      style.anchor = .middle
      s.text(label, at: Point(x, g.plot.maxY + Layout.tickLength + Layout.tickGap), style: style)
    }
    switch style {
    case .lines:
      for k in series.indices {
        s.group([("class", "series"), ("data-series", series[k].name)]) {
          var run: [Point] = []
          var points: [(Point, Double)] = []
          for (i, v) in series[k].values.enumerated() {
            guard v.isFinite else {
              s.line(run, colour(k), width: 2)
              run = []
              continue
            }
            let p = Point(g.plot.x + (Double(i) + 0.5) * pitch, y(of: v))
            run.append(p)
            points.append((p, v))
          }
          s.line(run, colour(k), width: 2)
          for (p, _) in points { s.polygon(Marker.forSeries(k).points(at: p, radius: 4), fill: colour(k)) }
        }
      }
    case .groupedBars:
      let groupWidth = pitch * 0.8
      let w = groupWidth / Double(series.count)
      for k in series.indices {
        s.group([("class", "series"), ("data-series", series[k].name)]) {
          for (i, v) in series[k].values.enumerated() where v.isFinite {
            let x = g.plot.x + Double(i) * pitch + (pitch - groupWidth) / 2 + Double(k) * w
            let top = min(zeroY, y(of: v))
            s.fill(
              Rect(x: x, y: top, width: w, height: abs(y(of: v) - zeroY)), colour(k),
              attributes: [("class", "bar"), ("data-value", formatNumber(v, decimals: 6))])
          }
        }
      }
    }
    s.fill(
      Rect(x: g.plot.x - Layout.axisLine, y: zeroY, width: g.plot.width + Layout.axisLine, height: Layout.axisLine),
      .ink)
    var axis = Layout.axisTitle
    axis.anchor = .middle
    s.text(
      xTitle, at: Point(g.plot.midX, g.plot.maxY + Layout.tickLength + Layout.tickGap + Layout.tick.lineHeight + 8),
      style: axis)
    g.legend.draw(on: s, at: g.legendOrigin)
  }
}
