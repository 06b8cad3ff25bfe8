import Foundation

/// `bertscope patterns`: the pattern type of every (example, layer, head) map.
public struct PatternReport: Sendable {
  public let counts: PatternCounts
  public let classifier: PatternClassifier

  public init(counts: PatternCounts, classifier: PatternClassifier = PatternClassifier()) {
    self.counts = counts
    self.classifier = classifier
  }

  /// `patterns.csv`: one row per head, fractions of examples (each row sums to 1).
  public var csv: CSVTable {
    var t = CSVTable(["layer", "head"] + AttentionPattern.allCases.map(\.name))
    for l in 0..<counts.layers {
      for h in 0..<counts.heads {
        t.append([CSVTable.cell(l + 1), CSVTable.cell(h + 1)] + counts.fractions(layer: l, head: h).map(CSVTable.cell))
      }
    }
    return t
  }

  /// `patterns_by_layer.csv`: per layer, the fraction of (head, example) maps of each type
  /// (Kovaleva et al. Figure 2).
  public var layerCSV: CSVTable {
    var t = CSVTable(["layer"] + AttentionPattern.allCases.map(\.name))
    for l in 0..<counts.layers { t.append([CSVTable.cell(l + 1)] + counts.layerFractions(l).map(CSVTable.cell)) }
    return t
  }

  public var json: [String: Any] {
    func named(_ row: [Double]) -> [String: Any] {
      Dictionary(uniqueKeysWithValues: zip(AttentionPattern.allCases.map(\.name), row.map(jsonNumber)))
    }
    var heads: [[String: Any]] = []
    for l in 0..<counts.layers {
      for h in 0..<counts.heads {
        var entry = named(counts.fractions(layer: l, head: h))
        entry["layer"] = l + 1
        entry["head"] = h + 1
        heads.append(entry)
      }
    }
    let layers: [[String: Any]] = (0..<counts.layers).map { l in
      var entry = named(counts.layerFractions(l))
      entry["layer"] = l + 1
      return entry
    }
    return [
      "examples": counts.examples, "heads": heads, "layers": layers, "overall": named(counts.overallFractions),
      "thresholds": classifier.json,
    ]
  }
}
