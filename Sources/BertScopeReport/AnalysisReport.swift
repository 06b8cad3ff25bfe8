import BertScope
import BertScopeAnalysis
import Foundation

/// Turns `AnalysisResults` (the analysis commands' CSV/JSON, read back) into the figures and
/// the HTML report of `bertscope report`. Each figure is built by its own function so that
/// tests can check it against the numbers it was drawn from.
///
/// Sections, each present when its analysis is: the model view of one example (Kovaleva et al.
/// 2019, Fig. 1), pattern types per layer (Fig. 2), attention to [CLS]/[SEP]/punctuation per
/// layer (Fig. 6) and the last layer's [CLS] row (§4.5), disabling heads and layers (Fig. 8),
/// the comparison of two checkpoints (Fig. 5), the linguistic sections, and the head
/// clustering (Clark et al. 2019, §6 and Figure 6).
public enum AnalysisReport {
  /// Figure and section ids of the report (also the names of `figures/<id>.svg|png`).
  public enum ID {
    /// The model view of the example (also `maps/model-view/L<l>-H<h>.png`).
    public static let modelView = "model-view"
    /// The head view of the example (bertviz's; `headView`).
    public static let headView = "head-view"
    /// The relation heads' scores (`relationsFigure`).
    public static let relations = "relations"
    /// The last layer's attention rollout of the example (`rolloutFigure`).
    public static let rollout = "rollout"
    /// The first token's rollout per layer (`rolloutFirstTokenFigure`).
    public static let rolloutFirstToken = "rollout-first-token"
    /// Pattern types per layer (`patternFigure`).
    public static let patternTypes = "pattern-types"
    /// Attention to [CLS], [SEP] and punctuation per layer (`specialFigure`).
    public static let specialTokens = "special-tokens"
    /// The last layer's [CLS] row per head (`clsRowFigure`).
    public static let clsRow = "cls-row"
    /// The change per disabled head (`ablationHeadFigure`).
    public static let ablationHeads = "ablation-heads"
    /// The change per disabled layer (`ablationLayerFigure`).
    public static let ablationLayers = "ablation-layers"
    /// The cosine per head of two checkpoints (`comparisonFigure`).
    public static let comparison = "comparison"
    /// Every head at its 2-D MDS position (`clustersFigure`).
    public static let headClusters = "head-clusters"
  }

  /// Section titles, in page order.
  public enum SectionTitle {
    /// The example's maps.
    public static let modelView = "Model view"
    /// `patterns.csv` and `patterns_by_layer.csv`.
    public static let patterns = "Pattern types"
    /// `special.csv` and `cls_row.csv`.
    public static let special = "Attention to [CLS], [SEP] and punctuation"
    /// `ablation.csv`.
    public static let ablation = "Disabling heads and layers"
    /// `compare.csv`.
    public static let comparison = "Checkpoint comparison"
    /// `relations.csv` (`report --relations`, `bertscope relations`).
    public static let relations = "Relation heads"
    /// `rollout.npy` (`report --rollout`, `bertscope rollout`).
    public static let rollout = "Attention rollout"
    /// `features.csv` (`report --conllu`).
    public static let linguistic = "Attention to linguistic features"
    /// `cls_features.csv`.
    public static let clsFeatures = "What [CLS] attends to, by feature"
    /// `dependencies.csv`, `dependency_best.csv`.
    public static let syntacticHeads = "Syntactic heads"
    /// `head_distances.csv`, `head_mds.csv` (`bertscope clusters`, `report`).
    public static let headClustering = "Head clustering"
    /// The list of the folder's files; always present.
    public static let files = "Files"
  }

  // MARK: - Figures

  /// Figure 2: per layer, the share of (head, example) maps of each pattern type, stacked.
  public static func patternFigure(_ p: PatternsResult) throws -> StackedBars {
    var bars = try StackedBars(
      groups: (1...p.perLayer.count).map(String.init), series: PatternShares.names, values: p.perLayer.map(\.values),
      colours: patternCategories.map(\.colour), title: "Self-attention pattern types by layer", yMax: 1)
    bars.yTitle = "share of maps (heads × examples)"
    return bars
  }

  /// Figure 6: per layer, the mean over heads of the attention to [CLS], [SEP] and punctuation.
  public static func specialFigure(_ s: SpecialResult) throws -> LineChart {
    let layers = s.perHead.count
    let series: [(String, SpecialColumn)] = [("[CLS]", .cls), ("[SEP]", .sep), ("punctuation", .punct)]
    return try LineChart(
      xLabels: (1...layers).map(String.init),
      series: series.map { name, column in
        LineChart.Series(name: name, values: (0..<layers).map { s.layerMean(column, layer: $0) })
      },
      title: "Attention to special tokens by layer", yTitle: "mean attention weight (share of a row)")
  }

  /// §4.5: the last layer's [CLS] row per head, split by the kind of token attended to.
  public static func clsRowFigure(_ s: SpecialResult) throws -> StackedBars? {
    guard let rows = s.clsRow(layer: s.clsRowLayer) else { return nil }
    var bars = try StackedBars(
      groups: (1...rows.count).map(String.init), series: ["[CLS]", "[SEP]", "punctuation", "other tokens"],
      values: rows,
      colours: [Palette.okabeIto[0], Palette.okabeIto[1], Palette.okabeIto[2], RGB(190, 190, 190)],  // as in Figure 6
      title: "What [CLS] attends to in layer \(s.clsRowLayer + 1)", yMax: 1)
    bars.xTitle = "head (layer \(s.clsRowLayer + 1))"
    bars.yTitle = "share of the [CLS] row"
    bars.legendTitle = "attended token"
    return bars
  }

  /// Decimals that show the largest magnitude with at least two significant digits (2…4).
  static func decimals(for values: [Double]) -> Int {
    let m = values.filter(\.isFinite).map(abs).max() ?? 0
    guard m > 0 else { return 2 }
    return min(4, max(2, Int((-log10(m)).rounded(.down)) + 2))
  }

  /// What the ablation metric is called on an axis, with its unit.
  static func metricLabel(_ a: AblationResult) -> (name: String, unit: String) {
    switch a.metric {
    case .spearman: return ("Spearman's ρ", "Δ Spearman's ρ (vs intact)")
    case .accuracy: return ("accuracy", "Δ accuracy (fraction, vs intact)")
    case .meanCosineDistance: return ("embedding distance", "Δ mean 1 − cos(ablated, intact)")
    }
  }

  /// Figure 8 (left): layers × heads, the change of the metric when that head alone is
  /// disabled. Diverging colours around 0 for signed changes, sequential when all are ≥ 0
  /// (the label-free embedding change).
  public static func ablationHeadFigure(_ a: AblationResult) throws -> MatrixChart {
    let headDelta = a.headDelta
    let values = headDelta.flatMap { $0 }
    let signed = values.contains { $0 < 0 }
    let top = values.filter(\.isFinite).map(abs).max() ?? 0
    let label = metricLabel(a)
    return try MatrixChart(
      values: try Matrix(headDelta.map { $0.map(Float.init) }),
      title: "Disabling one head: change of \(label.name)",
      colourMap: signed ? .coolWarm : .viridis, range: signed ? nil : 0...(top > 0 ? top : 1),
      colourBarTitle: label.unit, showValues: true, decimals: decimals(for: values))
  }

  /// Figure 8 (right): per layer, the change when the whole layer is disabled, as bars from 0.
  public static func ablationLayerFigure(_ a: AblationResult) throws -> LineChart? {
    let layerDelta = a.layerDelta
    guard layerDelta.contains(where: \.isFinite) else { return nil }
    let label = metricLabel(a)
    let meanOfHeads = a.headDelta.map { row in row.reduce(0, +) / Double(row.count) }
    var chart = try LineChart(
      xLabels: (1...layerDelta.count).map(String.init),
      series: [
        .init(name: "whole layer disabled", values: layerDelta, colour: Palette.okabeIto[5]),
        .init(name: "one head (mean over heads)", values: meanOfHeads, colour: Palette.okabeIto[4]),
      ],
      title: "Disabling a whole layer", yTitle: label.unit, style: .groupedBars)
    chart.pitch = 56
    // Signed changes: an axis symmetric about 0 (no change), so that up and down compare.
    let all = (layerDelta + meanOfHeads).filter(\.isFinite)
    if all.contains(where: { $0 < 0 }), let m = all.map(abs).max(), m > 0 {
      chart.yRange = -niceCeiling(m)...niceCeiling(m)
    }
    return chart
  }

  /// Figure 5: per head, the cosine similarity of the two checkpoints' maps.
  public static func comparisonFigure(_ c: CompareResult) throws -> MatrixChart {
    try MatrixChart(
      values: try Matrix(c.cosine.values.map { $0.map(Float.init) }),
      title: "Cosine similarity of attention maps, model A vs model B",
      colourMap: .viridis, range: 0...1, colourBarTitle: "cosine similarity (1 = same maps)", showValues: true,
      decimals: 2)
  }

  /// The five pattern types as `HeadGrid` categories, in `AttentionPattern` order.
  public static var patternCategories: [HeadGrid.Category] {
    AttentionPattern.allCases.map { p in HeadGrid.patternTypes.first { $0.name == p.name }! }
  }

  /// The pattern type of each of the example's maps, [layer][head], by the same rules as
  /// `bertscope patterns` (token kinds from the token strings: [CLS] or <s>, [SEP] or </s>,
  /// punctuation).
  public static func patterns(of e: AnalysisResults.Example, classifier: PatternClassifier = PatternClassifier()) throws
    -> [[AttentionPattern]]
  {
    let kinds = e.tokens.map(TokenKind.init(token:))
    let context = try MapContext(kinds: kinds, segments: e.segments)
    return e.maps.map { layer in
      layer.map { classifier.classify(MapFeatures.compute($0.values, context: context)) }
    }
  }

  /// The model view of the example: thumbnails framed by each map's pattern type.
  public static func modelView(_ e: AnalysisResults.Example, classifier: PatternClassifier = PatternClassifier()) throws
    -> ModelView
  {
    let types = try patterns(of: e, classifier: classifier)
    let l = e.tokens.count
    var caption = "Every head's attention map for one example"
    if let source = e.source { caption += " (\(source))" }
    caption += ", \(l) tokens, framed by its pattern type."
    if l > 112 {
      caption += " Thumbnails keep the largest weight of each block of cells; the full map keeps every token."
    }
    return ModelView(
      id: ID.modelView, caption: caption, tokens: e.tokens, maps: e.maps, categories: patternCategories,
      assignments: types.map { $0.map { $0.rawValue } })
  }

  /// The head view of the example: every layer and head, the first `HeadView.defaultMaxTokens`
  /// tokens.
  public static func headView(_ e: AnalysisResults.Example) -> HeadView {
    HeadView(
      id: ID.headView,
      caption:
        "Head view of the example: per layer, each token's attention (left: from, right: to), one colour per head.",
      tokens: e.tokens, maps: e.maps)
  }

  /// A single attention map with token labels (`bertscope plot`; the model view's full maps
  /// are its cells only, labelled by the page): every cell kept up to 360 tokens, 2 units per
  /// cell beyond.
  public static func mapFigure(tokens: [String], map: Matrix, layer: Int, head: Int, pattern: AttentionPattern? = nil)
    throws
    -> Heatmap
  {
    var title = "Layer \(layer + 1), head \(head + 1)"
    if let pattern { title += " (\(pattern.name))" }
    let resolution: Heatmap.Resolution? = tokens.count > 360 ? .full(cellSize: 2) : nil
    return try Heatmap(values: map, rowLabels: tokens, title: title, resolution: resolution)
  }

  // MARK: - The report

  /// The whole report. `title` defaults to one naming the model.
  public static func content(_ r: AnalysisResults, title: String? = nil) throws -> ReportContent {
    let info = r.info
    let modelName = info?.model.name ?? "BERT"
    var sections: [ReportSection] = []
    if let e = r.example { sections.append(try modelViewSection(e, results: r)) }
    if let p = r.patterns { sections.append(try patternSection(p)) }
    if let s = r.special { sections.append(try specialSection(s)) }
    if let a = r.ablation { sections.append(try ablationSection(a, run: r.run)) }
    if let c = r.comparison { sections.append(try comparisonSection(c)) }
    if let rel = r.relations { sections.append(try relationsSection(rel)) }
    if let ro = r.rollout { sections.append(try rolloutSection(ro)) }
    if let l = r.linguistic { sections += try linguisticSections(l, comparison: r.linguisticComparison) }
    if let c = r.clusters { sections.append(try clusteringSection(c, patterns: r.patterns)) }
    sections.append(filesSection(r))
    var subtitle: [String] = [modelName]
    if let input = r.run?.input ?? info?.options.input { subtitle.append((input as NSString).lastPathComponent) }
    if let n = r.run?.examples ?? info?.examples, n > 0 { subtitle.append("\(n) texts") }
    if let b = info?.backend { subtitle.append(b) }
    if let created = r.run?.created { subtitle.append(created) }
    return ReportContent(
      title: title ?? "BertScope report: \(modelName)", subtitle: subtitle.joined(separator: " · "),
      summary: summary(r),
      sections: sections)
  }

  static func seconds(_ s: Double) -> String {
    s < 10
      ? formatNumber(s, decimals: 2) + " s"
      : s < 120 ? formatNumber(s, decimals: 1) + " s" : formatNumber(s / 60, decimals: 1) + " min"
  }

  /// Model, corpus, backend, what ran, and how long each stage took.
  static func summary(_ r: AnalysisResults) -> ReportTable {
    var rows: [[String]] = []
    if let i = r.info {
      rows.append(["model", "\(i.model.name) (\(i.model.layers) layers × \(i.model.heads) heads)"])
      if !i.model.path.isEmpty { rows.append(["model folder", i.model.path]) }
      rows.append(["backend", i.backend])
    }
    if let c = r.comparison { rows.append(["model B (comparison)", c.modelB ?? "unknown"]) }
    if let input = r.run?.input ?? r.info?.options.input { rows.append(["corpus", input]) }
    if let n = r.run?.examples ?? r.patterns?.info.examples ?? r.special?.info.examples {
      rows.append(["texts analysed", "\(n) (patterns, special-token attention)"])
    }
    if let a = r.ablation {
      var what = "\(a.info.examples) texts"
      if let input = r.run?.ablationInput { what += " of \((input as NSString).lastPathComponent)" }
      if let limit = r.run?.ablationLimit { what += " (at most the first \(limit))" }
      rows.append([
        "ablation",
        "\(what); \(a.mode.rawValue) disabling; \(a.metric.rawValue) baseline \(formatNumber(a.baseline, decimals: 4))",
      ])
    } else {
      rows.append(["ablation", "not run"])
    }
    if r.comparison == nil { rows.append(["comparison", "not run (give --model-b)"]) }
    if let l = r.linguistic {
      var what = "\(l.counts.sentences) sentences, \(l.counts.words) words"
      if let input = l.info.options.input { what += " of \((input as NSString).lastPathComponent)" }
      rows.append(["linguistic (CoNLL-U)", what])
    }
    if let rel = r.relations {
      var what = "\(rel.pairs) span pairs"
      if let input = rel.info.options.input { what += " of \((input as NSString).lastPathComponent)" }
      if rel.skippedPairs > 0 { what += " (\(rel.skippedPairs) skipped)" }
      rows.append(["relations", what])
    }
    if let ro = r.rollout {
      rows.append(["attention rollout", "\(ro.layers.count) layers, \(ro.tokens.count) tokens"])
    }
    if let e = r.example { rows.append(["example", "\(e.source ?? "one text"), \(e.tokens.count) tokens"]) }
    if let stages = r.run?.stages, !stages.isEmpty {
      for s in stages { rows.append(["time: \(s.name)", seconds(s.seconds)]) }
      rows.append(["time: total", seconds(stages.reduce(0) { $0 + $1.seconds })])
    } else {
      let parts: [(String, RunInfo?)] = [
        ("patterns", r.patterns?.info), ("special", r.special?.info), ("ablate", r.ablation?.info),
        ("compare", r.comparison?.info), ("linguistic", r.linguistic?.info), ("clusters", r.clusters?.info),
      ]
      for (name, i) in parts { if let s = i?.seconds { rows.append(["time: \(name)", seconds(s)]) } }
    }
    return ReportTable(caption: "", columns: ["", ""], rows: rows)
  }

  static func modelViewSection(_ e: AnalysisResults.Example, results: AnalysisResults) throws -> ReportSection {
    var text =
      "Rows are the attending tokens (query, \"from\"), columns the attended ones (key, \"to\"); each row sums to 1. "
    text +=
      "The frame gives the pattern type of that map for this example (Kovaleva et al. 2019, Figure 1), by the rules of bertscope patterns. "
    text +=
      "Click a thumbnail for its full map with token labels; in the viewer the arrow keys move to the neighbouring heads and the pointer shows which tokens a cell joins."
    if let t = e.text {
      text += "\n\nExample: \"\(t)\""
      if let p = e.pair { text += " / \"\(p)\"" }
    }
    text +=
      "\n\nThe head view below (after bertviz, Vig 2019) shows one layer's heads at once: a line from each attending token (left) to each token it attends to (right), one colour per head, as opaque as the weight."
    return ReportSection(
      title: SectionTitle.modelView, description: text, items: [.modelView(try modelView(e)), .headView(headView(e))])
  }

  static func percent(_ x: Double) -> String { formatNumber(100 * x, decimals: 1) + " %" }

  /// Which way the classifier's heterogeneous share errs on the validation set: it calls more maps
  /// heterogeneous than people do when its recall is above its precision.
  static var heterogeneousBias: String {
    let v = PatternClassifier.validation
    return v.heterogeneousRecall > v.heterogeneousPrecision ? "high" : "low"
  }

  static func patternSection(_ p: PatternsResult) throws -> ReportSection {
    let names = PatternShares.names
    let overall = names.indices.map { k in p.perLayer.reduce(0) { $0 + $1.values[k] } / Double(p.perLayer.count) }
    let table = ReportTable(
      caption: "All \(p.info.model.layers * p.info.model.heads) heads × \(p.info.examples) texts.",
      columns: ["pattern type", "share of maps"],
      rows: names.indices.map { [names[$0], percent(overall[$0])] }, numericColumns: [1])
    let description = """
      Every (text, layer, head) map is put in one of the five types of Kovaleva et al. (2019, §4.1) — vertical \
      (attention to [CLS], [SEP] or punctuation), diagonal (previous, same or next token), both, block (within \
      each text of a pair) or heterogeneous — by a linear model on measurable features of the map, among them \
      the share of rows in which a column or the diagonal is dark (see PatternClassifier). The paper found \
      32–61 % of heads heterogeneous, depending on the task. Checked on \(PatternClassifier.validation.maps) maps \
      of all-MiniLM-L6-v2 labelled by eye from fresh texts, after the model was frozen, it agrees with the labels on \
      \(percent(PatternClassifier.validation.agreement)) (two people agree with each other on \
      \(percent(PatternClassifier.validation.labellerAgreement)), Cohen's κ \
      \(formatNumber(PatternClassifier.validation.kappa, decimals: 2))); it finds \
      \(percent(PatternClassifier.validation.heterogeneousRecall)) of the maps a person calls heterogeneous, and \
      \(percent(PatternClassifier.validation.heterogeneousPrecision)) of the maps it calls heterogeneous are, so \
      that share is more likely too \(heterogeneousBias) than too \(heterogeneousBias == "high" ? "low" : "high").

      Per-head shares are in patterns.csv, per-layer ones in patterns_by_layer.csv.
      """
    return ReportSection(
      title: SectionTitle.patterns, description: description,
      items: [
        .figure(
          ReportFigure(
            id: ID.patternTypes,
            caption: "Share of maps of each pattern type per layer (Kovaleva et al. 2019, Figure 2).",
            figure: try patternFigure(p))),
        .table(table),
      ])
  }

  static func specialSection(_ s: SpecialResult) throws -> ReportSection {
    func ranked(_ column: SpecialColumn) -> String {
      s.layersRanked(by: column).map { "\($0) (\(formatNumber(s.layerMean(column, layer: $0 - 1), decimals: 3)))" }
        .joined(separator: ", ")
    }
    let description = """
      For each head, the attention a token receives averaged over all query rows (its column mean); for [SEP] the \
      larger of a pair's two, for punctuation the largest mark; averaged over the \(s.info.examples) texts and then \
      over the heads of a layer (Kovaleva et al. 2019, §4.4 and Figure 6; Clark et al. 2019).

      Layers by attention to [CLS], highest first: \(ranked(.cls)). By attention to [SEP]: \(ranked(.sep)). \
      By attention to punctuation: \(ranked(.punct)).
      """
    var items: [ReportItem] = [
      .figure(
        ReportFigure(
          id: ID.specialTokens,
          caption: "Mean attention to [CLS], [SEP] and punctuation by layer (Kovaleva et al. 2019, Figure 6).",
          figure: try specialFigure(s)))
    ]
    if let bars = try clsRowFigure(s) {
      items.append(
        .figure(
          ReportFigure(
            id: ID.clsRow,
            caption:
              "The [CLS] token's attention in layer \(s.clsRowLayer + 1), per head, by the kind of token it attends to (§4.5).",
            figure: bars)))
    }
    let rows = (0..<s.perHead.count).map { l in
      ["\(l + 1)"] + SpecialColumn.allCases.map { formatNumber(s.layerMean($0, layer: l), decimals: 3) }
    }
    items.append(
      .table(
        ReportTable(
          caption: "Per layer, mean over heads (entropy in nats; per head in special.csv).",
          columns: ["layer"] + ["[CLS]", "[SEP]", "punct.", "self", "previous", "next", "entropy"], rows: rows,
          numericColumns: Set(0...7))))
    return ReportSection(title: SectionTitle.special, description: description, items: items)
  }

  static func ablationSection(_ a: AblationResult, run: ReportRecord?) throws -> ReportSection {
    let label = metricLabel(a)
    var subset = "\(a.info.examples) texts"
    if let input = run?.ablationInput { subset += " of \((input as NSString).lastPathComponent)" }
    if let limit = run?.ablationLimit, a.info.examples >= limit {
      subset += " — the first \(limit), since every text takes one forward pass per head and per layer"
    }
    let how =
      a.mode == .uniform
      ? "its attention is replaced by the uniform 1/L over the real tokens (Kovaleva et al. 2019, §4.6)"
      : "its output is zeroed (Hugging Face's head_mask)"
    var description = """
      Each head alone, then each whole layer alone, is disabled without retraining: \(how). Measured on \(subset). \
      The intact model's \(label.name) (the baseline) is \(formatNumber(a.baseline, decimals: 4)).
      """
    let baseline = "baseline \(formatNumber(a.baseline, decimals: 4))"
    if a.task == .embeddingChange {
      description +=
        " With no labels the metric is the embedding distance, how far the pooled sentence embeddings move: mean 1 − cos(ablated, intact), 0 for the intact model by definition."
    }
    var items: [ReportItem] = [
      .figure(
        ReportFigure(
          id: ID.ablationHeads,
          caption: "Change of \(label.name) when one head is disabled; \(baseline) (Kovaleva et al. 2019, Figure 8).",
          figure: try ablationHeadFigure(a)))
    ]
    if let layers = try ablationLayerFigure(a) {
      items.append(
        .figure(
          ReportFigure(
            id: ID.ablationLayers,
            caption:
              "Change of \(label.name) when a whole layer is disabled, next to the mean effect of one of its heads; \(baseline).",
            figure: layers)))
    }
    var ranked: [(String, Double, Double)] = []
    // Heads first, then whole layers (the order ties keep).
    for r in a.rows where r.delta.isFinite && r.target.head != nil {
      ranked.append(("layer \(r.target.layer + 1), head \(r.target.head! + 1)", r.metric, r.delta))
    }
    for r in a.rows where r.delta.isFinite && r.target.head == nil {
      ranked.append(("layer \(r.target.layer + 1), all heads", r.metric, r.delta))
    }
    ranked.sort { abs($0.2) > abs($1.2) }
    items.append(
      .table(
        ReportTable(
          caption: "Largest changes (all rows in ablation.csv).", columns: ["disabled", label.name, "change"],
          rows: ranked.prefix(8).map { [$0.0, formatNumber($0.1, decimals: 4), formatNumber($0.2, decimals: 4)] },
          numericColumns: [1, 2])))
    return ReportSection(title: SectionTitle.ablation, description: description, items: items)
  }

  static func comparisonSection(_ c: CompareResult) throws -> ReportSection {
    let all = c.cosine.values.flatMap { $0 }
    let mean = all.reduce(0, +) / Double(max(all.count, 1))
    let description = """
      Per head, the cosine similarity of the two checkpoints' flattened attention maps on the same text (cropped to its \
      real tokens), averaged over \(c.info.examples) texts (Kovaleva et al. 2019, §4.3: how much fine-tuning changed each head). \
      Model B: \(c.modelB ?? "unknown"). Mean over heads: \(formatNumber(mean, decimals: 3)).
      """
    return ReportSection(
      title: SectionTitle.comparison, description: description,
      items: [
        .figure(
          ReportFigure(
            id: ID.comparison,
            caption:
              "Cosine similarity of each head's maps between the two checkpoints (Kovaleva et al. 2019, Figure 5).",
            figure: try comparisonFigure(c)))
      ])
  }

  static func filesSection(_ r: AnalysisResults) -> ReportSection {
    var rows: [[String]] = []
    if r.patterns != nil {
      rows.append(["patterns.csv, patterns_by_layer.csv, patterns.json", "pattern-type shares per head and per layer"])
    }
    if r.special != nil {
      rows.append([
        "special.csv, cls_row.csv, special.json", "attention to [CLS], [SEP], punctuation, self, neighbours; entropy",
      ])
    }
    if r.ablation != nil {
      rows.append(["ablation.csv, ablation.json", "metric and change per disabled head and layer; baseline"])
    }
    if r.comparison != nil { rows.append(["compare.csv, compare.json", "cosine similarity per head"]) }
    if r.linguistic != nil {
      rows.append(["features.csv, cls_features.csv", "attention to each word class per head (column mean, [CLS] row)"])
      rows.append([
        "dependencies.csv, dependency_best.csv, linguistic.json",
        "per relation and direction: every head's accuracy; the best head and the best offset",
      ])
    }
    if r.linguisticComparison != nil {
      rows.append(["features_compare.csv, cls_features_compare.csv", "both checkpoints' class scores and b − a"])
    }
    if r.clusters != nil {
      rows.append([
        "head_distances.csv, head_mds.csv, clusters.json",
        "Jensen–Shannon distance of every pair of heads; their 2-D MDS coordinates and pattern types",
      ])
    }
    if r.example != nil {
      rows.append(["example/attention.npy, example/tokens.json", "the example's maps, float32 [layers, heads, L, L]"])
      rows.append([
        "maps/\(ID.modelView)/L<layer>-H<head>.png",
        "each full map of the example, its cells only (the page adds the token labels)",
      ])
    }
    if r.relations != nil {
      rows.append(["relations.csv, relations.json", "relation score per head; span pairs scored and skipped"])
    }
    if r.rollout != nil {
      rows.append(["rollout.npy, tokens.json", "attention rollout of the example, float32 [layers, L, L]"])
    }
    rows.append(["figures/<name>.svg, .png", "every figure of this page, for papers"])
    return ReportSection(
      title: SectionTitle.files,
      description:
        "Everything is in this folder; bertscope report --from DIR --out DIR2 redraws the page from these files without running the model.",
      items: [.table(ReportTable(columns: ["file", "content"], rows: rows))])
  }
}
