import BertScope
import BertScopeReport
import Foundation

/// Synthetic inputs for the report tests and the browser check's sample report
/// (`scripts/browser-check --sample` runs `ReportSampleTests`): made-up attention maps with
/// the five pattern types, and tables shaped like the analyses' results. Nothing
/// here comes from a model.
enum SampleData {
  /// A sentence pair as WordPiece tokens, with one non-ASCII token.
  static let tokens = [
    "[CLS]", "the", "cat", "sat", "on", "the", "mat", ".", "[SEP]", "then", "it", "slept", "in", "the",
    "café", "'", "s", "sun", ",", "happily", ".", "[SEP]",
  ]

  /// A row-stochastic (L, L) map of pattern `kind` (an index into `HeadGrid.patternTypes`).
  static func attentionMap(tokens: [String], kind: Int, seed: UInt64) -> Matrix {
    var rng = SplitMix64(seed: seed)
    let l = tokens.count
    let special = tokens.indices.filter { ["[CLS]", "[SEP]", ".", ","].contains(tokens[$0]) }
    let firstSep = tokens.firstIndex(of: "[SEP]") ?? l - 1
    let shift = rng.unit() < 0.5 ? -1 : 1
    var m = Matrix(rows: l, columns: l, repeating: 0)
    for i in 0..<l {
      var logits = (0..<l).map { _ in rng.normal() * (kind == 4 ? 1.3 : 0.4) }
      switch kind {
      case 0:  // vertical
        for j in special { logits[j] += tokens[j] == "[SEP]" ? 4 : 2.5 }
      case 1:  // diagonal
        logits[min(l - 1, max(0, i + shift))] += 5
      case 2:  // vertical + diagonal
        for j in special { logits[j] += 2.5 }
        logits[min(l - 1, max(0, i + shift))] += 3.5
      case 3:  // block: within each segment of the pair
        for j in 0..<l where (i <= firstSep) == (j <= firstSep) { logits[j] += 2.5 }
      default:
        break
      }
      let top = logits.max()!
      let e = logits.map { exp($0 - top) }
      let sum = e.reduce(0, +)
      for j in 0..<l { m[i, j] = Float(e[j] / sum) }
    }
    return m
  }

  /// Pattern type per head for `layers` × `heads`: vertical heads grow with depth, diagonal
  /// ones shrink (the trend Kovaleva et al. report), the rest heterogeneous or block.
  static func patternAssignments(layers: Int, heads: Int, seed: UInt64 = 7) -> [[Int?]] {
    var rng = SplitMix64(seed: seed)
    return (0..<layers).map { l in
      let depth = layers > 1 ? Double(l) / Double(layers - 1) : 0
      return (0..<heads).map { _ -> Int? in
        let u = rng.unit()
        let weights = [0.15 + 0.3 * depth, 0.3 - 0.2 * depth, 0.12, 0.08, 0.35 - 0.1 * depth]
        var acc = 0.0
        for (k, w) in weights.enumerated() {
          acc += w / weights.reduce(0, +)
          if u < acc { return k }
        }
        return 4
      }
    }
  }

  /// Column mean of `map` over all query rows (Kovaleva §4.4), max over the positions in `columns`.
  static func attentionTo(_ map: Matrix, columns: [Int]) -> Double {
    columns.map { j in (0..<map.rows).map { Double(map[$0, j]) }.reduce(0, +) / Double(map.rows) }.max() ?? 0
  }

  /// The demonstration report: every figure type and a model view, on synthetic data shaped
  /// like MiniLM-L6 (6 layers × 12 heads).
  static func content(layers: Int = 6, heads: Int = 12) throws -> ReportContent {
    let tokens = SampleData.tokens
    let assignments = patternAssignments(layers: layers, heads: heads)
    let maps = (0..<layers).map { l in
      (0..<heads).map { h in attentionMap(tokens: tokens, kind: assignments[l][h] ?? 4, seed: UInt64(1000 + 37 * l + h))
      }
    }
    let types = HeadGrid.patternTypes

    let proportions = assignments.map { row in
      types.indices.map { k in Double(row.filter { $0 == k }.count) / Double(row.count) }
    }
    let bars = try StackedBars(
      groups: (1...layers).map(String.init), series: types.map(\.name), values: proportions,
      colours: types.map(\.colour), title: "Self-attention pattern types by layer")

    let cls = [0]
    let sep = tokens.indices.filter { tokens[$0] == "[SEP]" }
    let punctuation = tokens.indices.filter { [".", ",", "'"].contains(tokens[$0]) }
    func perLayer(_ columns: [Int]) -> [Double] {
      maps.map { layer in layer.map { attentionTo($0, columns: columns) }.reduce(0, +) / Double(layer.count) }
    }
    let lines = try LineChart(
      xLabels: (1...layers).map(String.init),
      series: [
        .init(name: "[CLS]", values: perLayer(cls)), .init(name: "[SEP]", values: perLayer(sep)),
        .init(name: "punctuation", values: perLayer(punctuation)),
      ],
      title: "Attention to special tokens by layer", yTitle: "mean attention weight")

    var rng = SplitMix64(seed: 42)
    var deltas = Matrix(rows: layers, columns: heads, repeating: 0)
    for i in deltas.values.indices { deltas.values[i] = Float(rng.normal() * 0.008) }
    deltas[0, min(3, heads - 1)] = -0.042
    deltas[layers - 1, heads / 2] = 0.021
    let ablation = try MatrixChart(
      values: deltas, title: "Change in accuracy when one head is disabled", colourMap: .coolWarm,
      colourBarTitle: "\u{0394} accuracy (fraction)", decimals: 3)

    var cosine = Matrix(rows: layers, columns: heads, repeating: 0)
    for l in 0..<layers {
      for h in 0..<heads { cosine[l, h] = Float(min(1, 0.98 - 0.07 * Double(l) + rng.normal() * 0.03)) }
    }
    let similarity = try MatrixChart(
      values: cosine, title: "Cosine similarity of attention before and after fine-tuning",
      colourMap: .viridis, range: 0...1, colourBarTitle: "cosine similarity", showValues: true, decimals: 2)

    let grid = try HeadGrid(
      maps: maps, categories: types, assignments: assignments, title: "Heads of the example by pattern type")
    let heatmap = try Heatmap(
      values: maps[0][assignments[0].firstIndex(of: 0) ?? 0], rowLabels: tokens,
      title: "Layer 1, one vertical head")

    let counts = types.indices.map { k in assignments.flatMap { $0 }.filter { $0 == k }.count }
    let total = layers * heads
    let summary = ReportTable(
      caption: "Synthetic sample data: no model was run.",
      columns: ["pattern type", "heads", "share"],
      rows: types.indices.map {
        [types[$0].name, "\(counts[$0])", formatNumber(100 * Double(counts[$0]) / Double(total), decimals: 1) + " %"]
      },
      numericColumns: [1, 2])

    return ReportContent(
      title: "BertScope sample report",
      subtitle:
        "Synthetic attention maps shaped like MiniLM-L6 (\(layers) layers × \(heads) heads); a demonstration of the figures.",
      summary: summary,
      sections: [
        ReportSection(
          title: "Pattern types",
          description:
            "Each head's map is put in one of the five types of Kovaleva et al. (2019): vertical, diagonal, vertical+diagonal, block and heterogeneous.",
          items: [
            .figure(
              ReportFigure(id: "pattern-types", caption: "Share of heads of each pattern type per layer.", figure: bars)
            ),
            .figure(
              ReportFigure(
                id: "head-grid", caption: "Every head's map for the example, framed by its type.", figure: grid)),
          ]),
        ReportSection(
          title: "Example",
          description:
            "All maps of one sentence pair. Rows are the attending (query) tokens, columns the attended (key) tokens.",
          items: [
            .modelView(
              ModelView(
                id: "example-1", caption: "Attention maps of the example sentence pair.", tokens: tokens, maps: maps,
                assignments: assignments)),
            .headView(
              HeadView(
                id: "head-view", caption: "Head view of the example sentence pair.", tokens: tokens, maps: maps)),
            .figure(
              ReportFigure(
                id: "heatmap", caption: "One vertical head: most attention goes to [SEP] and punctuation.",
                figure: heatmap)),
          ]),
        ReportSection(
          title: "Attention to special tokens",
          description:
            "For each head, the attention to a token averaged over all query positions (the larger of the two [SEP]s), averaged over the heads of a layer.",
          items: [
            .figure(
              ReportFigure(
                id: "special-tokens", caption: "Mean attention to [CLS], [SEP] and punctuation by layer.", figure: lines
              ))
          ]),
        ReportSection(
          title: "Disabling heads",
          description:
            "Each head in turn is replaced by uniform attention over the real tokens; the figure shows the change of the task metric.",
          items: [
            .figure(
              ReportFigure(
                id: "ablation",
                caption: "Change in accuracy when a single head is disabled (blue: worse, red: better).",
                figure: ablation))
          ]),
        ReportSection(
          title: "Fine-tuning",
          description:
            "Per head, the cosine similarity of the flattened maps of the pre-trained and the fine-tuned model on the same input.",
          items: [
            .figure(
              ReportFigure(
                id: "fine-tuning", caption: "Cosine similarity of attention maps before and after fine-tuning.",
                figure: similarity))
          ]),
      ])
  }
}
