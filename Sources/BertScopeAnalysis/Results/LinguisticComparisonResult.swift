import BertScope
import Foundation

/// `bertscope linguistic --model-b`: the feature scores of two checkpoints of one architecture
/// side by side (the paper compares fine-tuned with pre-trained BERT).
///
/// `features_compare.csv` and `cls_features_compare.csv`, header
/// `layer,head,feature,score_a,score_b,difference` (difference = b − a), for the features that
/// occur; `linguistic_compare.json` holds the same and both models.
public struct LinguisticComparisonResult: AnalysisResult, Equatable {
  public static let name = "linguistic_compare"
  public static let tableFiles = ["features_compare.csv", "cls_features_compare.csv"]
  public static let header = ["layer", "head", "feature", "score_a", "score_b", "difference"]

  /// One feature of both models, [layer][head].
  public struct Pair: Sendable, Equatable {
    public var feature: LinguisticFeature
    public var a: [[Double]]
    public var b: [[Double]]
  }

  /// The first model's run.
  public var info: RunInfo
  /// The second model.
  public var modelB: ModelInfo
  public var features: [Pair]
  public var clsFeatures: [Pair]

  public init(info: RunInfo, modelB: ModelInfo, features: [Pair], clsFeatures: [Pair]) {
    self.info = info
    self.modelB = modelB
    self.features = features
    self.clsFeatures = clsFeatures
  }

  /// Pairs the features of `a` and `b` (the models must have the same shape).
  public init(_ a: LinguisticResult, _ b: LinguisticResult) {
    func pairs(_ x: [LinguisticResult.FeatureScores], _ y: [LinguisticResult.FeatureScores]) -> [Pair] {
      x.compactMap { fa in
        y.first { $0.feature == fa.feature }.map { Pair(feature: fa.feature, a: fa.scores, b: $0.scores) }
      }
    }
    self.init(
      info: a.info, modelB: b.info.model, features: pairs(a.features, b.features),
      clsFeatures: pairs(a.clsFeatures, b.clsFeatures))
  }

  public var tables: [CSVTable] {
    func table(_ list: [Pair]) -> CSVTable {
      var t = CSVTable(Self.header)
      let layers = list.first?.a.count ?? 0
      let heads = list.first?.a.first?.count ?? 0
      for l in 0..<layers {
        for h in 0..<heads {
          for p in list {
            let (x, y) = (p.a[l][h], p.b[l][h])
            t.append([
              CSVTable.cell(l + 1), CSVTable.cell(h + 1), p.feature.rawValue, CSVTable.cell(x), CSVTable.cell(y),
              CSVTable.cell(y - x),
            ])
          }
        }
      }
      return t
    }
    return [table(features), table(clsFeatures)]
  }

  /// Reads both tables and `linguistic_compare.json` (the runs) from `folder`.
  public static func read(from folder: URL) throws -> LinguisticComparisonResult {
    func pairs(_ url: URL) throws -> [Pair] {
      let csv = try CSVFile(url: url, header: header)
      var cells: [LinguisticFeature: [Int: [Int: (Double, Double)]]] = [:]
      for row in csv.rows {
        let (l, h) = (try csv.index(row, 0), try csv.index(row, 1))
        guard let f = LinguisticFeature(rawValue: row.cells[2]) else {
          throw BertScopeError.invalidInput(
            "\(url.path):\(row.line): feature \"\(printable(row.cells[2]))\" is not a feature")
        }
        guard cells[f]?[l]?[h] == nil else {
          throw BertScopeError.invalidInput(
            "\(url.path):\(row.line): \(f.rawValue) of layer \(l) head \(h) appears twice")
        }
        cells[f, default: [:]][l, default: [:]][h] = (try csv.number(row, 3), try csv.number(row, 4))
      }
      return try LinguisticFeature.allCases.compactMap { f in
        guard let c = cells[f] else { return nil }
        let grid = try CSVFile.grid(c, path: url.path)
        return Pair(feature: f, a: grid.map { $0.map(\.0) }, b: grid.map { $0.map(\.1) })
      }
    }
    let features = try pairs(folder.appendingPathComponent(tableFiles[0]))
    let cls = try pairs(folder.appendingPathComponent(tableFiles[1]))
    let layers = features.first?.a.count ?? 0
    let heads = features.first?.a.first?.count ?? 0
    let info = try Self.info(in: folder, layers: layers, heads: heads)
    struct Extras: Decodable { var modelB: ModelInfo }
    let modelB = try json(Extras.self, in: folder)?.modelB ?? RunInfo.unknown(layers: layers, heads: heads).model
    return LinguisticComparisonResult(info: info, modelB: modelB, features: features, clsFeatures: cls)
  }

  public func encode(to encoder: any Swift.Encoder) throws {
    var c = encoder.container(keyedBy: AnyKey.self)
    try info.encode(into: &c)
    try c.encode(modelB, forKey: AnyKey("modelB"))
    struct Entry: Encodable {
      var feature: String
      var a: [[JSONNumber]]
      var b: [[JSONNumber]]
    }
    func list(_ p: [Pair]) -> [Entry] {
      p.map {
        Entry(
          feature: $0.feature.rawValue, a: $0.a.map { $0.map(JSONNumber.init) }, b: $0.b.map { $0.map(JSONNumber.init) }
        )
      }
    }
    try c.encode(list(features), forKey: AnyKey("features"))
    try c.encode(list(clsFeatures), forKey: AnyKey("clsFeatures"))
  }
}
