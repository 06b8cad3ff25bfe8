import Foundation

/// `bertscope special`: per head, the mean attention to [CLS], [SEP], punctuation, the token
/// itself, the previous and the next token, and the mean row entropy (Kovaleva §4.4, Clark
/// et al. 2019), and the [CLS] row by key kind (§4.5) — means of `MapFeatures` over examples.
public struct SpecialReport: Sendable {
  /// Sums of `MapFeatures` vectors per head.
  public let features: HeadAccumulator

  public init(features: HeadAccumulator) {
    precondition(features.width == MapFeatures.count)
    self.features = features
  }

  public static let columns: [MapFeatures.Index] = [.cls, .sep, .punct, .selfAttention, .prev, .next, .entropy]
  public static let clsRowColumns: [(String, MapFeatures.Index)] = [
    ("cls", .clsRowCLS), ("sep", .clsRowSEP), ("punct", .clsRowPunct), ("other", .clsRowOther),
  ]

  public func mean(_ feature: MapFeatures.Index, layer: Int, head: Int) -> Double {
    features.mean(layer: layer, head: head, feature.rawValue)
  }

  /// Mean over the heads of `layer`.
  public func layerMean(_ feature: MapFeatures.Index, layer: Int) -> Double {
    (0..<features.heads).reduce(0.0) { $0 + mean(feature, layer: layer, head: $1) } / Double(max(features.heads, 1))
  }

  /// `special.csv`: `layer,head,cls,sep,punct,self,prev,next,entropy`.
  public var csv: CSVTable {
    var t = CSVTable(["layer", "head"] + Self.columns.map(\.name))
    for l in 0..<features.layers {
      for h in 0..<features.heads {
        t.append([CSVTable.cell(l + 1), CSVTable.cell(h + 1)] + Self.columns.map { CSVTable.cell(mean($0, layer: l, head: h)) })
      }
    }
    return t
  }

  /// `cls_row.csv`: the last layer's [CLS] row per head, summed by key kind:
  /// `layer,head,cls,sep,punct,other` (each row sums to 1).
  public var clsRowCSV: CSVTable {
    var t = CSVTable(["layer", "head"] + Self.clsRowColumns.map(\.0))
    let l = features.layers - 1
    for h in 0..<features.heads {
      t.append([CSVTable.cell(l + 1), CSVTable.cell(h + 1)] + Self.clsRowColumns.map { CSVTable.cell(mean($0.1, layer: l, head: h)) })
    }
    return t
  }

  /// Layers (numbered from 1) ranked by their heads' mean attention to `feature`, highest first.
  public func layersRanked(by feature: MapFeatures.Index) -> [Int] {
    (0..<features.layers).sorted { layerMean(feature, layer: $0) > layerMean(feature, layer: $1) }.map { $0 + 1 }
  }

  public var json: [String: Any] {
    var heads: [[String: Any]] = []
    for l in 0..<features.layers {
      for h in 0..<features.heads {
        var entry: [String: Any] = ["layer": l + 1, "head": h + 1]
        for c in Self.columns { entry[c.name] = jsonNumber(mean(c, layer: l, head: h)) }
        entry["clsRow"] = Dictionary(
          uniqueKeysWithValues: Self.clsRowColumns.map { ($0.0, jsonNumber(mean($0.1, layer: l, head: h))) })
        heads.append(entry)
      }
    }
    let layers: [[String: Any]] = (0..<features.layers).map { l in
      var entry: [String: Any] = ["layer": l + 1]
      for c in Self.columns { entry[c.name] = jsonNumber(layerMean(c, layer: l)) }
      entry["clsRow"] = Dictionary(
        uniqueKeysWithValues: Self.clsRowColumns.map { ($0.0, jsonNumber(layerMean($0.1, layer: l))) })
      return entry
    }
    return [
      "examples": features.count(layer: 0, head: 0), "heads": heads, "layers": layers,
      "layersByCLS": layersRanked(by: .cls), "layersBySEP": layersRanked(by: .sep),
      "layersByPunct": layersRanked(by: .punct),
      "lastLayerCLSRow": Dictionary(
        uniqueKeysWithValues: Self.clsRowColumns.map { ($0.0, jsonNumber(layerMean($0.1, layer: features.layers - 1))) }),
    ]
  }
}
