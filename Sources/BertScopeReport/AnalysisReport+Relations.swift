import BertScope
import BertScopeAnalysis
import Foundation

/// The sections of `bertscope relations` (relation heads, Kovaleva et al. 2019 §4.2) and
/// `bertscope rollout` (Abnar & Zuidema 2020) results, present when their files are.
extension AnalysisReport {
  /// Layers × heads: the mean over span pairs of the largest attention between the two spans.
  public static func relationsFigure(_ r: RelationsResult) throws -> MatrixChart {
    let values = r.scores.values.flatMap { $0 }
    let top = values.filter(\.isFinite).max() ?? 0
    return try MatrixChart(
      values: try Matrix(r.scores.values.map { $0.map(Float.init) }),
      title: "Attention between annotated spans, per head", colourMap: .viridis, range: 0...(top > 0 ? top : 1),
      colourBarTitle: "mean largest attention between the spans", showValues: true, decimals: decimals(for: values))
  }

  static func relationsSection(_ r: RelationsResult) throws -> ReportSection {
    var ranked: [(Int, Int, Double)] = []
    for (l, row) in r.scores.values.enumerated() {
      for (h, v) in row.enumerated() where v.isFinite { ranked.append((l, h, v)) }
    }
    ranked.sort { $0.2 > $1.2 }
    var description = """
      For each annotated pair of spans and each head: the largest attention from any token of one span to any token of \
      the other, in either direction, averaged over the \(r.pairs) pairs scored (Kovaleva et al. 2019, §4.2, the \
      FrameNet experiment: heads that score high link the two parts of a relation).
      """
    if let input = r.info.options.input { description += " Corpus: \((input as NSString).lastPathComponent)." }
    if r.skippedPairs > 0 {
      description += " \(r.skippedPairs) pairs were skipped because a span covered no token."
    }
    description += " Every head's score is in relations.csv."
    return ReportSection(
      title: SectionTitle.relations, description: description,
      items: [
        .figure(
          ReportFigure(
            id: ID.relations,
            caption: "Per head, the mean over span pairs of the largest attention between the two spans (§4.2).",
            figure: try relationsFigure(r))),
        .table(
          ReportTable(
            caption: "Highest-scoring heads.", columns: ["layer", "head", "score"],
            rows: ranked.prefix(8).map { ["\($0.0 + 1)", "\($0.1 + 1)", formatNumber($0.2, decimals: 4)] },
            numericColumns: [0, 1, 2])),
      ])
  }

  /// The rollout after the last layer: how much of each token (row) comes from each input
  /// token (column), residual path included.
  public static func rolloutFigure(_ r: AnalysisResults.RolloutMaps) throws -> Heatmap {
    guard let last = r.layers.last else { throw BertScopeError.invalidInput("rollout: no layers") }
    // The default resolution: 16-unit cells up to 48 tokens, a 720-unit map beyond (inline in
    // the page, so a long text does not make it large).
    var map = try Heatmap(values: last, rowLabels: r.tokens, title: "Attention rollout after layer \(r.layers.count)")
    map.rowAxisTitle = "token after layer \(r.layers.count)"
    map.columnAxisTitle = "input token"
    map.colourBarTitle = "share attributed (rows sum to 1)"
    // Rollout rows spread over many tokens: a range to the largest value keeps them visible.
    let top = Double(last.finiteRange?.upperBound ?? 1)
    map.range = 0...(top > 0 ? top : 1)
    return map
  }

  /// The most tokens `rolloutFirstTokenFigure` draws (one column each).
  public static let rolloutFirstTokenMaxTokens = 64

  /// Layers × input tokens: the first token's ([CLS]'s) row of the rollout after each layer;
  /// nil beyond `rolloutFirstTokenMaxTokens` tokens.
  public static func rolloutFirstTokenFigure(_ r: AnalysisResults.RolloutMaps) throws -> MatrixChart? {
    let l = r.tokens.count
    guard l <= rolloutFirstTokenMaxTokens, !r.layers.isEmpty else { return nil }
    let rows = r.layers.map { m in (0..<l).map { m[0, $0] } }
    let top = Double(rows.flatMap { $0 }.filter(\.isFinite).max() ?? 1)
    var chart = try MatrixChart(
      values: try Matrix(rows), title: "Rollout of \(r.tokens[0]) by layer", colourMap: .viridis,
      range: 0...(top > 0 ? top : 1), colourBarTitle: "share of \(r.tokens[0]) attributed", showValues: l <= 24,
      decimals: 2, columnLabels: r.tokens.map { String($0.prefix(14)) })
    chart.columnTitle = "input token"
    return chart
  }

  static func rolloutSection(_ r: AnalysisResults.RolloutMaps) throws -> ReportSection {
    let l = r.tokens.count
    var description = """
      Attention rollout (Abnar & Zuidema 2020): each layer's maps averaged over its heads, the identity added for the \
      residual path and the rows renormalized, then multiplied through the layers, R_l = Ã_l ⋯ Ã_1. Row i of R_l says how \
      much of token i after layer l comes from each input token. \(r.layers.count) layers, \(l) tokens.
      """
    if let t = r.text { description += "\n\nText: \"\(t)\"" }
    var items: [ReportItem] = [
      .figure(
        ReportFigure(
          id: ID.rollout, caption: "Attention rollout after the last layer (rows: tokens, columns: input tokens).",
          figure: try rolloutFigure(r)))
    ]
    if let chart = try rolloutFirstTokenFigure(r) {
      items.append(
        .figure(
          ReportFigure(
            id: ID.rolloutFirstToken,
            caption:
              "The first token's (\(r.tokens[0])) rollout after each layer: what it gathers from each input token.",
            figure: chart)))
    } else {
      items.append(
        .text(
          "The first token's rollout by layer is drawn up to \(rolloutFirstTokenMaxTokens) tokens; this text has \(l) (all of it is in rollout.npy)."
        ))
    }
    if let last = r.layers.last {
      let ranked = (0..<l).map { ($0, Double(last[0, $0])) }.sorted { $0.1 > $1.1 }
      items.append(
        .table(
          ReportTable(
            caption: "Input tokens the first token draws most on after layer \(r.layers.count).",
            columns: ["position", "token", "share"],
            rows: ranked.prefix(8).map { ["\($0.0 + 1)", r.tokens[$0.0], formatNumber($0.1, decimals: 3)] },
            numericColumns: [0, 2])))
    }
    return ReportSection(title: SectionTitle.rollout, description: description, items: items)
  }
}
