import BertScope
import BertScopeAnalysis
import Foundation

/// The linguistic sections of the report (`report --conllu`): attention to word classes
/// (Kovaleva et al. 2019, Figure 6), what [CLS] attends to by class (Figure 7), and the best
/// head per dependency relation against the fixed-offset baseline (Clark et al. 2019).
extension AnalysisReport {
  /// How many relations the syntactic-heads figure and table show (the most frequent).
  public static let syntacticRelations = 15

  /// The figure id of one feature's heatmap.
  public static func featureFigureID(_ f: LinguisticFeature) -> String { "linguistic-\(f.rawValue)" }
  /// The figure ids of the other two linguistic figures.
  public static let clsFeaturesID = "cls-features", syntacticHeadsID = "syntactic-heads"

  /// Figure 6 for one word class: layers × heads, the mean largest column mean to a word of it.
  public static func featureFigure(_ f: LinguisticResult.FeatureScores, cls: Bool = false) throws -> MatrixChart {
    let values = f.scores.flatMap { $0 }
    let top = values.filter(\.isFinite).max() ?? 0
    return try MatrixChart(
      values: try Matrix(f.scores.map { $0.map(Float.init) }),
      title: cls ? "[CLS] row to \(name(f.feature))" : "Attention to \(name(f.feature))", colourMap: .viridis,
      range: 0...(top > 0 ? top : 1), colourBarTitle: "mean attention weight", showValues: true,
      decimals: decimals(for: values))
  }

  /// Figure 7: per layer, the mean over heads of what the [CLS] row gives each class.
  public static func clsFeaturesFigure(_ r: LinguisticResult) throws -> LineChart? {
    guard let first = r.clsFeatures.first else { return nil }
    let layers = first.scores.count
    let colours = Palette.okabeIto + [RGB(120, 120, 120), RGB(0, 0, 0)]
    return try LineChart(
      xLabels: (1...layers).map(String.init),
      series: r.clsFeatures.enumerated().map { k, f in
        LineChart.Series(
          name: name(f.feature), values: f.scores.map { $0.reduce(0, +) / Double(max($0.count, 1)) },
          colour: colours[k % colours.count])
      },
      title: "What [CLS] attends to, by word class", yTitle: "[CLS] row weight (mean over heads)")
  }

  /// Clark et al.'s comparison: for the most frequent relations, the best head's accuracy in
  /// each direction and the best fixed offset's.
  public static func syntacticFigure(_ r: LinguisticResult) throws -> LineChart? {
    let relations = r.relations.prefix(syntacticRelations)
    guard !relations.isEmpty else { return nil }
    func dependency(_ rel: String, _ d: DependencyDirection) -> LinguisticResult.Dependency? {
      r.dependencies.first { $0.relation == rel && $0.direction == d }
    }
    let names = relations.map(\.relation)
    var chart = try LineChart(
      xLabels: names,
      series: [
        .init(
          name: "best head, dependent → head",
          values: names.map { dependency($0, .dependentToHead)?.best.accuracy ?? .nan }, colour: Palette.okabeIto[4]),
        .init(
          name: "best head, head → dependent",
          values: names.map { dependency($0, .headToDependent)?.best.accuracy ?? .nan }, colour: Palette.okabeIto[1]),
        .init(
          name: "best fixed offset",
          values: names.map { rel in
            DependencyDirection.allCases.compactMap { dependency(rel, $0)?.baselineAccuracy }.max() ?? .nan
          }, colour: RGB(150, 150, 150)),
      ],
      title: "Syntactic heads: best head per relation vs the positional baseline", yTitle: "accuracy",
      style: .groupedBars, yRange: 0...1)
    chart.xTitle = "dependency relation (most frequent first)"
    chart.pitch = 64
    return chart
  }

  static func name(_ f: LinguisticFeature) -> String {
    switch f {
    case .noun: return "nouns"
    case .verb: return "verbs"
    case .pronoun: return "pronouns"
    case .subject: return "subjects"
    case .object: return "objects"
    case .negation: return "negation words"
    case .cls: return "[CLS]"
    case .sep: return "[SEP]"
    }
  }

  static func bestHead(_ f: LinguisticResult.FeatureScores) -> (layer: Int, head: Int, score: Double) {
    var best = (layer: 0, head: 0, score: -Double.infinity)
    for (l, row) in f.scores.enumerated() {
      for (h, v) in row.enumerated() where v > best.score { best = (l, h, v) }
    }
    return best
  }

  /// The three linguistic sections.
  static func linguisticSections(_ r: LinguisticResult, comparison: LinguisticComparisonResult?) throws
    -> [ReportSection]
  {
    let c = r.counts
    var skipped = ""
    if c.skippedLong > 0 { skipped += " \(c.skippedLong) sentences longer than the model's maximum were skipped." }
    if c.skippedUnaligned > 0 {
      skipped += " \(c.skippedUnaligned) sentences with a word that gives no token were skipped."
    }
    let corpus = "\(c.sentences) sentences (\(c.words) words, \(c.arcs) dependency arcs)"
    var featureItems: [ReportItem] = []
    for f in r.features {
      let best = bestHead(f)
      featureItems.append(
        .figure(
          ReportFigure(
            id: featureFigureID(f.feature),
            caption:
              "Attention to \(name(f.feature)) per head: the mean over the \(f.sentences) sentences that have one of the largest column mean of such a word (Kovaleva et al. 2019, Figure 6). Highest: layer \(best.layer + 1), head \(best.head + 1) (\(formatNumber(best.score, decimals: 3))).",
            figure: try featureFigure(f))))
    }
    let absent = LinguisticFeature.allCases.filter { f in !r.features.contains { $0.feature == f } }
    var description = """
      Word classes from the CoNLL-U annotation (\(corpus)): nouns (UPOS NOUN, PROPN), verbs (VERB, AUX), pronouns \
      (PRON), subjects (nsubj, nsubj:pass, csubj, … and spaCy's nsubjpass, agent, expl), objects (obj, iobj and \
      spaCy's dobj, dative, attr, oprd), negation words (not, never, n't, …). Each word is tokenized on its own; a \
      word receives the sum of its pieces' columns and gives the mean of their rows, [CLS] and [SEP] being words of \
      their own. A head's score for a class is, per sentence, the largest column mean (attention from all words) of \
      a word of that class, averaged over the sentences that have one.\(skipped)
      """
    if !absent.isEmpty {
      description += " No sentence has \(absent.map(name).joined(separator: ", ")): no figure for it."
    }
    if let comparison {
      description +=
        "\n\nModel B (\(comparison.modelB.name)): the difference b − a per head is in features_compare.csv and cls_features_compare.csv."
    }
    featureItems.append(
      .table(
        ReportTable(
          caption: "Per class: the sentences that have it, the mean over all heads, and the highest head.",
          columns: ["class", "sentences", "mean over heads", "highest head", "its score"]
            + (comparison != nil ? ["mean, model B"] : []),
          rows: r.features.map { f in
            let all = f.scores.flatMap { $0 }
            let best = bestHead(f)
            var row = [
              name(f.feature), "\(f.sentences)",
              formatNumber(all.reduce(0, +) / Double(max(all.count, 1)), decimals: 4),
              "L\(best.layer + 1) H\(best.head + 1)", formatNumber(best.score, decimals: 4),
            ]
            if let comparison {
              let b = comparison.features.first { $0.feature == f.feature }?.b.flatMap { $0 } ?? []
              row.append(b.isEmpty ? "–" : formatNumber(b.reduce(0, +) / Double(b.count), decimals: 4))
            }
            return row
          }, numericColumns: [1, 2, 4, 5])))
    var sections = [ReportSection(title: SectionTitle.linguistic, description: description, items: featureItems)]

    var clsItems: [ReportItem] = []
    if let chart = try clsFeaturesFigure(r) {
      clsItems.append(
        .figure(
          ReportFigure(
            id: clsFeaturesID,
            caption:
              "Per layer, the mean over heads of the [CLS] row's largest weight on a word of each class (Kovaleva et al. 2019, Figure 7; per head in cls_features.csv).",
            figure: chart)))
      let last = (r.clsFeatures.first?.scores.count ?? 1) - 1
      clsItems.append(
        .table(
          ReportTable(
            caption: "Layer \(last + 1) (the last), mean over heads.", columns: ["class", "[CLS] row weight"],
            rows: r.clsFeatures.map { f in
              [
                name(f.feature),
                formatNumber(f.scores[last].reduce(0, +) / Double(max(f.scores[last].count, 1)), decimals: 4),
              ]
            }, numericColumns: [1])))
    }
    sections.append(
      ReportSection(
        title: SectionTitle.clsFeatures,
        description:
          "The same classes seen from the [CLS] token: its row's weight on the class's word, the largest in the sentence, averaged over sentences.",
        items: clsItems))

    var syntaxItems: [ReportItem] = []
    if let chart = try syntacticFigure(r) {
      syntaxItems.append(
        .figure(
          ReportFigure(
            id: syntacticHeadsID,
            caption:
              "For the \(min(syntacticRelations, r.relations.count)) most frequent relations: the accuracy of the best single head at predicting the other end of an arc as the word it attends to most, in each direction, against the best fixed offset (Clark et al. 2019, §4.2).",
            figure: chart)))
      var rows: [[String]] = []
      for (relation, count) in r.relations.prefix(syntacticRelations) {
        for d in r.dependencies where d.relation == relation {
          let b = d.best
          rows.append([
            relation, d.direction.rawValue, "\(count)", "L\(b.layer + 1) H\(b.head + 1)",
            formatNumber(b.accuracy, decimals: 3),
            d.baselineOffset > 0 ? "+\(d.baselineOffset)" : "\(d.baselineOffset)",
            formatNumber(d.baselineAccuracy, decimals: 3),
          ])
        }
      }
      syntaxItems.append(
        .table(
          ReportTable(
            caption:
              "Best head per relation and direction (every head in dependencies.csv, every relation in dependency_best.csv).",
            columns: ["relation", "direction", "arcs", "best head", "accuracy", "best offset", "its accuracy"],
            rows: rows,
            numericColumns: [2, 4, 5, 6])))
    }
    sections.append(
      ReportSection(
        title: SectionTitle.syntacticHeads,
        description: """
          Clark et al. (2019): each head predicts, for the word of a row, the other word it attends to most (the \
          special tokens and the word itself excluded). A head tracks a relation when that word is the dependent's head \
          (dependent → head) or, from the head's row, the dependent (head → dependent). The baseline always predicts \
          the word at a fixed offset (−5…5), the best offset per relation. Relations as the CoNLL-U DEPREL writes them; \
          the root is excluded.
          """, items: syntaxItems))
    return sections
  }
}
