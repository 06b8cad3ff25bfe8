import BertScopeAnalysis
import Foundation
import Testing

@testable import BertScope
@testable import BertScopeReport

/// The report's "Head clustering" section: the scatter of the heads' MDS coordinates.
@Suite("Report: head clustering")
struct ReportClusteringTests {
  /// A result for 3 layers × 4 heads with made-up distances and patterns (one unknown).
  static func result() throws -> ClustersResult {
    let n = 12
    var distances: [Double] = []
    for a in 0..<n {
      for b in (a + 1)..<n { distances.append(Double(abs(a - b)) + 0.3 * Double((a * 7 + b * 3) % 5)) }
    }
    let patterns: [AttentionPattern?] = (0..<n).map { $0 == 5 ? nil : AttentionPattern(rawValue: $0 % 5) }
    return try ClustersResult(
      info: .unknown(layers: 3, heads: 4), layers: 3, heads: 4, texts: 4, rows: 40, distances: distances,
      patterns: patterns)
  }

  @Test("one head-point group per head with 1-based data-layer and data-head, filled with its pattern's colour")
  func figure() throws {
    let c = try Self.result()
    let svg = try AnalysisReport.clustersFigure(c).svg()
    let elements = try parseXML(svg)
    let points = elements.filter { $0.name == "g" && $0.attributes["class"] == "head-point" }
    #expect(points.count == 12)
    var seen = Set<String>()
    for p in points {
      let (l, h) = (Int(p.attributes["data-layer"] ?? "") ?? 0, Int(p.attributes["data-head"] ?? "") ?? 0)
      #expect((1...3).contains(l) && (1...4).contains(h))
      seen.insert("\(l)-\(h)")
    }
    #expect(seen.count == 12)
    // Every pattern colour used appears in the drawing.
    for p in Set(c.patterns.compactMap { $0 }) {
      let colour = AnalysisReport.patternCategories[p.rawValue].colour
      #expect(svg.contains(colour.hex), "\(p.name)")
    }
    let png = try AnalysisReport.clustersFigure(c).png(scale: 1)
    #expect(!png.isEmpty)
  }

  @Test("points keep the MDS geometry: on-page distances are proportional to the coordinates' distances")
  func geometry() throws {
    let c = try Self.result()
    let f = try AnalysisReport.clustersFigure(c)
    let p = f.points
    let a = f.position(p[0]), b = f.position(p[7]), d = f.position(p[11])
    func dist(_ u: BertScopeReport.Point, _ v: BertScopeReport.Point) -> Double {
      ((u.x - v.x) * (u.x - v.x) + (u.y - v.y) * (u.y - v.y)).squareRoot()
    }
    func mds(_ i: Int, _ j: Int) -> Double {
      let (x, y) = (c.coordinates[i][0] - c.coordinates[j][0], c.coordinates[i][1] - c.coordinates[j][1])
      return (x * x + y * y).squareRoot()
    }
    let r1: Double = dist(a, b) / mds(0, 7)
    let r2: Double = dist(a, d) / mds(0, 11)
    #expect(abs(r1 - r2) < 1e-9 * r1)
  }

  @Test("the page has the section and the figure [data-figure=head-clusters] with a .head-point per head")
  func page() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-report-clusters")
    defer { try? FileManager.default.removeItem(at: dir) }
    try Self.result().write(to: dir)
    let results = try AnalysisResults.load(from: dir)
    #expect(results.clusters != nil)
    let content = try AnalysisReport.content(results)
    #expect(content.sections.contains { $0.title == AnalysisReport.headClusteringTitle })
    let index = try Report.write(content, to: dir)
    let html = try String(contentsOf: index, encoding: .utf8)
    let start = try #require(html.range(of: "data-figure=\"head-clusters\""))
    let end = try #require(html.range(of: "</figure>", range: start.upperBound..<html.endIndex))
    let figure = html[start.lowerBound..<end.lowerBound]
    #expect(figure.components(separatedBy: "class=\"head-point\"").count - 1 == 12)
  }

  @Test("patterns missing from head_mds.csv are taken from patterns.csv when the folder has it")
  func patternsFromPatternsResult() throws {
    var c = try Self.result()
    c.patterns = Array(repeating: nil, count: 12)
    let shares = (0..<3).map { _ in (0..<4).map { _ in PatternShares([0.1, 0.6, 0.1, 0.1, 0.1]) } }
    let p = PatternsResult(
      info: .unknown(layers: 3, heads: 4), perHead: shares, perLayer: shares.map { $0[0] },
      overall: PatternShares([0.1, 0.6, 0.1, 0.1, 0.1]), thresholds: PatternClassifier())
    let types = AnalysisReport.headPatterns(c, patterns: p)
    #expect(types.allSatisfy { $0 == .diagonal })
  }
}
