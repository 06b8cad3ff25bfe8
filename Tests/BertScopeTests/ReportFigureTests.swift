import Foundation
import Testing

@testable import BertScopeReport

@Suite("figures in SVG and PNG")
struct ReportFigureTests {
  static let awkward = ["[CLS]", "<b>", "a&b", "\"q\"", "café", "東京", "it's", "[SEP]"]

  static func uniformMap(_ l: Int) -> Matrix { Matrix(rows: l, columns: l, repeating: 1 / Float(l)) }

  static func allFigures() throws -> [(String, any Figure)] {
    let map = uniformMap(awkward.count)
    return [
      ("heatmap", try Heatmap(values: map, rowLabels: awkward, title: "map of <b> & \"q\"")),
      ("head grid", try HeadGrid(maps: [[map, map], [map, map]], assignments: [[0, 1], [nil, 4]], title: "grid")),
      (
        "stacked bars",
        try StackedBars(groups: ["1", "2"], series: ["x<y", "y&z"], values: [[0.25, 0.75], [0.5, 0.5]])
      ),
      (
        "line chart",
        try LineChart(
          xLabels: ["1", "2", "3"], series: [.init(name: "[CLS]", values: [0.1, .nan, 0.3])], yTitle: "attention")
      ),
      (
        "grouped bars",
        try LineChart(
          xLabels: ["1", "2"], series: [.init(name: "a", values: [-0.2, 0.4]), .init(name: "b", values: [0.1, 0.2])],
          style: .groupedBars)
      ),
      (
        "matrix",
        try MatrixChart(
          values: try Matrix([[0.01, -0.02, .nan], [0, 0.03, -0.01]]), colourMap: .coolWarm,
          colourBarTitle: "Δ accuracy")
      ),
    ]
  }

  @Test("every figure type makes well-formed SVG and a PNG of its size")
  func wellFormed() throws {
    for (name, figure) in try Self.allFigures() {
      let svg = figure.svg()
      let elements = try parseXML(svg)
      #expect(elements.first?.name == "svg", "\(name)")
      #expect(elements.count > 10, "\(name) drew almost nothing")
      let image = try PNG.decode(try figure.png(scale: 1))
      #expect(
        image.width == Int(figure.size.width.rounded(.up)) && image.height == Int(figure.size.height.rounded(.up)),
        "\(name)")
      // Not blank: a figure has many colours.
      #expect(
        Set((0..<image.height).flatMap { y in (0..<image.width).map { image[$0, y] } }).count > 3, "\(name) is blank")
    }
  }

  @Test("labels are escaped in SVG and read back unchanged")
  func escaping() throws {
    let figure = try Heatmap(
      values: Self.uniformMap(Self.awkward.count), rowLabels: Self.awkward, title: "a < b & \"c\"")
    let svg = figure.svg()
    #expect(svg.contains("&lt;b&gt;") && svg.contains("a&amp;b") && svg.contains("&quot;q&quot;"))
    #expect(!svg.contains("<b>"))
    let texts = try parseXML(svg).filter { $0.name == "text" }.map(\.text)
    for token in Self.awkward {
      #expect(texts.filter { $0 == token }.count == 2, "\(token) should label a row and a column")
    }
    #expect(texts.contains("a < b & \"c\""))
    #expect(escapeXML("x\u{1}y\u{FFFE}") == "xy")
  }

  @Test("stacked bar heights equal the proportions in SVG")
  func stackedBarsSVG() throws {
    let values = [[0.1, 0.2, 0.7], [0.0, 0.45, 0.55], [1.0 / 3, 1.0 / 3, 1.0 / 3]]
    let figure = try StackedBars(groups: ["1", "2", "3"], series: ["vertical", "diagonal", "other"], values: values)
    let plot = figure.plotRect
    let segments = try parseXML(figure.svg()).filter { $0.attributes["class"] == "segment" }
    #expect(segments.count == 8)  // the zero segment is not drawn
    for (g, row) in values.enumerated() {
      var bottom = plot.maxY
      for (k, v) in row.enumerated() where v > 0 {
        let seg = try #require(
          segments.first {
            $0.attributes["data-series"] == figure.series[k] && $0.classes.last == "bar"
              && abs(Double($0.attributes["x"]!)! - figure.segmentRect(group: g, series: k).x) < 1e-3
          })
        let height = Double(seg.attributes["height"]!)!
        let y = Double(seg.attributes["y"]!)!
        #expect(abs(height - v * plot.height) < 0.01, "group \(g) series \(k)")
        #expect(abs(y + height - bottom) < 0.01, "segments stack without gaps")
        bottom = y
      }
      #expect(abs(bottom - plot.y) < 0.01, "a full bar reaches the top of the axis")
    }
  }

  @Test("stacked bar heights equal the proportions in PNG pixels")
  func stackedBarsPNG() throws {
    let values = [[0.125, 0.375, 0.5], [0.3, 0.3, 0.4]]
    let colours = [RGB(0, 114, 178), RGB(230, 159, 0), RGB(0, 158, 115)]
    let figure = try StackedBars(groups: ["1", "2"], series: ["a", "b", "c"], values: values, colours: colours)
    let scale = 2.0
    let image = try PNG.decode(try figure.png(scale: scale))
    let plot = figure.plotRect
    for (g, row) in values.enumerated() {
      let x = Int(figure.segmentRect(group: g, series: 0).midX * Double(scale))
      let column = (0..<image.height).map { image[x, $0] }
      for (k, v) in row.enumerated() {
        let pixels = column.filter { $0 == colours[k] }.count
        #expect(abs(Double(pixels) - v * plot.height * Double(scale)) <= 1, "group \(g) series \(k): \(pixels) px")
      }
    }
  }

  @Test("grouped bars and line points sit at their values")
  func lineChart() throws {
    let bars = try LineChart(
      xLabels: ["1", "2"], series: [.init(name: "a", values: [0.2, 0.5])], style: .groupedBars, yRange: 0...1)
    let rects = try parseXML(bars.svg()).filter { $0.attributes["class"] == "bar" }
    #expect(
      rects.map { Double($0.attributes["height"]!)! } == [0.2 * bars.plotRect.height, 0.5 * bars.plotRect.height])
    let line = try LineChart(xLabels: ["1", "2", "3"], series: [.init(name: "s", values: [0, 0.5, 1])], yRange: 0...1)
    let points = try parseXML(line.svg()).first { $0.name == "polyline" && $0.classes.last == "series" }
    let ys = try #require(points).attributes["points"]!.split(separator: " ").map {
      Double($0.split(separator: ",")[1])!
    }
    #expect(ys == [line.plotRect.maxY, line.plotRect.midY, line.plotRect.y])
  }

  @Test("heatmap cells carry their value and exact colour; long maps become one image")
  func heatmapCells() throws {
    var m = Matrix(rows: 3, columns: 3, repeating: 0)
    m[0, 2] = 0.5
    let small = try parseXML(try Heatmap(values: m).svg()).filter { $0.attributes["data-value"] != nil }
    #expect(small.count == 9)
    let cell = try #require(small.first { $0.attributes["data-row"] == "0" && $0.attributes["data-col"] == "2" })
    #expect(cell.attributes["data-value"] == "0.5000" && cell.attributes["fill"] == "#21918c")

    let long = try Heatmap(
      values: Self.uniformMap(512), rowLabels: (0..<512).map { "tok\($0)" }, resolution: .thumbnail(maxPixels: 256))
    #expect(long.shownValues.rows == 256)
    let svg = long.svg()
    let elements = try parseXML(svg)
    #expect(elements.filter { $0.name == "image" }.count == 1)
    #expect(svg.utf8.count < 200_000)
    // 512 tokens in 256 units: a label every n-th token, n the first of 1, 2, 5, 10, 20, 50… whose
    // labels are at least one text line apart (DejaVu Sans at 10 units: 11.6 units, so n = 50).
    let lineHeight = TextStyle().lineHeight
    let stride = try #require([1, 2, 5, 10, 20, 50, 100].first { Double($0) * 0.5 >= lineHeight })
    let rowLabels = elements.filter { $0.name == "text" && $0.classes.last == "row-labels" }.map(\.text)
    #expect(rowLabels.count == (511 / stride) + 1 && rowLabels[1] == "tok\(stride)")
    #expect(long.mapRect.width == 256)
  }

  @Test("downsampling averages or keeps the maximum of each block")
  func downsampling() throws {
    let m = try Matrix([[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 4], [0, 0, 0, 0]])
    #expect(m.downsampled(maxSide: 2).values == [0.25, 0, 0, 1])
    #expect(m.downsampled(maxSide: 2, reduction: .max).values == [1, 0, 0, 4])
    #expect(m.downsampled(maxSide: 4) == m)
    #expect(m.downsampled(maxSide: 3).rows == 2)
  }

  @Test("matrix chart: symmetric range for diverging maps, numbers printed, NaN left blank")
  func matrixChart() throws {
    let chart = try MatrixChart(values: try Matrix([[0.01, -0.03], [.nan, 0.02]]), colourMap: .coolWarm)
    #expect(chart.range == -Double(Float(0.03))...Double(Float(0.03)))
    let texts = try parseXML(chart.svg()).filter { $0.name == "text" && $0.classes.last == "cell-values" }.map(\.text)
    #expect(texts == ["0.01", "-0.03", "0.02"])
    #expect(try MatrixChart(values: try Matrix([[0.5, 0.75]])).range == 0.5...0.75)
  }

  @Test("mismatched inputs are rejected with a message, not a crash")
  func invalidInputs() throws {
    #expect(throws: (any Error).self) { try Heatmap(values: Self.uniformMap(3), rowLabels: ["a"]) }
    #expect(throws: (any Error).self) { try StackedBars(groups: ["1"], series: ["a", "b"], values: [[0.5]]) }
    #expect(throws: (any Error).self) { try StackedBars(groups: ["1"], series: ["a"], values: [[-0.5]]) }
    #expect(throws: (any Error).self) { try LineChart(xLabels: ["1"], series: [.init(name: "a", values: [])]) }
    #expect(throws: (any Error).self) { try HeadGrid(maps: [[Self.uniformMap(2)], []]) }
    #expect(throws: (any Error).self) { try HeadGrid(maps: [[Self.uniformMap(2)]], assignments: [[9]]) }
    #expect(throws: (any Error).self) { try Matrix([[1, 2], [3]]) }
  }
}
