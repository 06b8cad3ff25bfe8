import BertScope
import BertScopeAnalysis
import Foundation

/// The head-clustering section of the report (Clark et al. 2019, §6): every head as a point of
/// the 2-D classical MDS of the Jensen–Shannon distances between all heads, coloured by its
/// most frequent pattern type.
extension AnalysisReport {
  /// The figure id of the scatter (`ID.headClusters`).
  public static let headClustersID = ID.headClusters
  /// The section's title (`SectionTitle.headClustering`).
  public static let headClusteringTitle = SectionTitle.headClustering

  /// The heads' pattern types: the clusters' own (same corpus), else each head's largest share
  /// in `patterns`, else nil.
  static func headPatterns(_ c: ClustersResult, patterns: PatternsResult?) -> [AttentionPattern?] {
    (0..<c.count).map { k in
      if let p = c.patterns[k] { return p }
      guard let p = patterns, p.perHead.count == c.layers, p.perHead[0].count == c.heads else { return nil }
      let shares = p.perHead[k / c.heads][k % c.heads].values
      guard let top = shares.max(), top > 0 else { return nil }
      return AttentionPattern(rawValue: shares.firstIndex(of: top)!)
    }
  }

  /// The scatter: one point per head at its MDS coordinates, filled with its pattern type's colour.
  public static func clustersFigure(_ c: ClustersResult, patterns: PatternsResult? = nil) throws -> HeadScatter {
    let types = headPatterns(c, patterns: patterns)
    let points = (0..<c.count).map { k in
      HeadScatter.Point2(
        layer: k / c.heads, head: k % c.heads, x: c.coordinates[k][0], y: c.coordinates[k][1],
        category: types[k]?.rawValue)
    }
    return try HeadScatter(
      points: points, categories: patternCategories, title: "Heads by the similarity of their attention")
  }

  /// The closest and the farthest pairs, by the mean distance per token.
  static func extremePairs(_ c: ClustersResult, count: Int) -> (closest: [(Int, Int)], farthest: [(Int, Int)]) {
    let n = c.count
    var pairs: [(Int, Int, Double)] = []
    for a in 0..<n {
      for b in (a + 1)..<max(a + 1, n) { pairs.append((a, b, c.perToken(a, b))) }
    }
    let sorted = pairs.sorted { $0.2 < $1.2 || ($0.2 == $1.2 && ($0.0, $0.1) < ($1.0, $1.1)) }
    return (sorted.prefix(count).map { ($0.0, $0.1) }, sorted.suffix(count).reversed().map { ($0.0, $0.1) })
  }

  static func headName(_ k: Int, _ c: ClustersResult) -> String { "L\(k / c.heads + 1) H\(k % c.heads + 1)" }

  /// The section: the definition, the scatter, and the closest and farthest pairs.
  static func clusteringSection(_ c: ClustersResult, patterns: PatternsResult?) throws -> ReportSection {
    let description = """
      For every pair of heads over all layers, a = (layer_a, head_a) < b = (layer_b, head_b), the distance \
      d(a, b) = Σ over texts Σ over query rows i of JS(Ã_a[i,:], Ã_b[i,:]), where each map is smoothed \
      Ã = 0.999·A + 0.001/n (n = the text's length) and JS(p, q) = ½KL(p‖m) + ½KL(q‖m), m = (p + q)/2, in nats \
      (Clark et al. 2019, §6). Over \(c.texts) texts (\(c.rows) tokens) the mean distance is \
      \(formatNumber(c.meanPerToken, decimals: 4)) nats per token (ln 2 ≈ 0.693 is the largest possible). The \
      heads are placed by classical (Torgerson) MDS of the mean distance per token: two dimensions explain \
      \(percent(c.explainedShare)) of the centred squared distances (stress \(formatNumber(c.stress, decimals: 3))). \
      Heads close together attend alike; each point is coloured by the head's most frequent pattern type over the \
      same texts and labelled with its layer.

      Every pair is in head_distances.csv (js: the sum over texts), the coordinates in head_mds.csv.
      """
    let (closest, farthest) = extremePairs(c, count: 5)
    func rows(_ pairs: [(Int, Int)], _ what: String) -> [[String]] {
      pairs.map { [what, headName($0.0, c), headName($0.1, c), formatNumber(c.perToken($0.0, $0.1), decimals: 4)] }
    }
    return ReportSection(
      title: headClusteringTitle, description: description,
      items: [
        .figure(
          ReportFigure(
            id: headClustersID,
            caption:
              "Every head at its 2-D MDS position of the Jensen–Shannon distances between all heads (Clark et al. 2019, Figure 6), coloured by its most frequent pattern type; the small number is the layer.",
            figure: try clustersFigure(c, patterns: patterns))),
        .table(
          ReportTable(
            caption: "The closest and the farthest pairs of heads (mean JS per token, nats).",
            columns: ["", "head a", "head b", "JS per token"],
            rows: rows(closest, "closest") + rows(farthest, "farthest"), numericColumns: [3])),
      ])
  }
}
