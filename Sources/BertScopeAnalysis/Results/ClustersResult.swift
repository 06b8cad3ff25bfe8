import BertScope
import Foundation

/// `bertscope clusters`: the Jensen–Shannon distance of every pair of heads over all layers and
/// their classical MDS to two dimensions (Clark et al. 2019, §6).
///
/// For heads a = (layer_a, head_a) < b = (layer_b, head_b), over all layers:
/// `d(a, b) = Σ_texts Σᵢ JS(Ã_a[i, :], Ã_b[i, :])`, i the query rows, `Ã = 0.999 · A + 0.001 / n`
/// (n = the text's length L), `JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m)`, `m = (p + q) / 2`, in nats
/// (`HeadDistances`). The MDS embeds the mean per token, `d / rows` (rows = Σ L over the texts),
/// which only scales the coordinates (the sums themselves when the rows are unknown: a CSV
/// read without its JSON).
///
/// | file | content |
/// |---|---|
/// | `head_distances.csv` | `layer_a,head_a,layer_b,head_b,js`: one row per unordered pair, js = d(a, b) summed over texts |
/// | `head_mds.csv` | `layer,head,x,y,pattern`: each head's MDS coordinates and its most frequent pattern type over the corpus (empty when unknown) |
/// | `clusters.json` | the run, texts, rows, the mean per token (over pairs and per pair), the two eigenvalues, the explained share and the stress |
///
/// Layers and heads are numbered from 1 in the files.
public struct ClustersResult: AnalysisResult, Equatable {
  public static let name = "clusters"
  public static let tableFiles = ["head_distances.csv", "head_mds.csv"]
  /// `head_distances.csv`.
  public static let distanceHeader = ["layer_a", "head_a", "layer_b", "head_b", "js"]
  /// `head_mds.csv`.
  public static let mdsHeader = ["layer", "head", "x", "y", "pattern"]

  public var info: RunInfo
  /// The model's shape; heads over all layers are numbered `k = layer · heads + head` (0-based).
  public var layers: Int
  public var heads: Int
  /// Texts and query rows (Σ L) the sums are over.
  public var texts: Int
  public var rows: Int
  /// `d(a, b)` summed over texts, in `HeadDistances.pairIndex` order.
  public var distances: [Double]
  /// `[k] = [x, y]`: each head's MDS coordinates (of the mean per token).
  public var coordinates: [[Double]]
  /// `[k]`: each head's most frequent pattern type over the corpus, nil when unknown.
  public var patterns: [AttentionPattern?]
  /// The two largest eigenvalues of the doubly centred squared distances.
  public var eigenvalues: [Double]
  /// Their share of the positive eigenvalues' sum.
  public var explainedShare: Double
  /// Kruskal's stress-1 of the embedding.
  public var stress: Double

  /// Heads over all layers.
  public var count: Int { layers * heads }

  /// `d(a, b) / rows`: the mean distance per token (0 when no rows).
  public func perToken(_ a: Int, _ b: Int) -> Double {
    guard a != b, rows > 0 else { return 0 }
    return distances[HeadDistances.pairIndex(min(a, b), max(a, b), count: count)] / Double(rows)
  }

  /// The mean over pairs of `d / rows`.
  public var meanPerToken: Double {
    guard rows > 0, !distances.isEmpty else { return 0 }
    return distances.reduce(0, +) / Double(distances.count) / Double(rows)
  }

  /// A result from distances and patterns, the MDS computed here.
  public init(
    info: RunInfo, layers: Int, heads: Int, texts: Int, rows: Int, distances: [Double], patterns: [AttentionPattern?]
  ) throws {
    guard layers >= 1, heads >= 1, distances.count == HeadDistances.pairCount(layers * heads),
      patterns.count == layers * heads
    else {
      throw BertScopeError.invalidInput(
        "clusters: \(distances.count) distances and \(patterns.count) patterns for \(layers) × \(heads) heads")
    }
    self.info = info
    self.layers = layers
    self.heads = heads
    self.texts = texts
    self.rows = rows
    self.distances = distances
    self.patterns = patterns
    let n = layers * heads
    // The mean per token; the sums themselves (the same picture, scaled) when the rows are unknown.
    let scale = rows > 0 ? 1 / Double(rows) : 1
    var matrix = [Double](repeating: 0, count: n * n)
    for a in 0..<n {
      for b in (a + 1)..<max(a + 1, n) {
        let v = distances[HeadDistances.pairIndex(a, b, count: n)] * scale
        matrix[a * n + b] = v
        matrix[b * n + a] = v
      }
    }
    let e = try ClassicalMDS.embed(matrix, count: n)
    coordinates = e.coordinates
    eigenvalues = e.eigenvalues
    explainedShare = e.explainedShare
    stress = e.stress
  }

  /// The result of a run's sums: patterns are each head's most frequent type (nil when no map was counted).
  public init(_ state: HeadDistanceState, info: RunInfo) throws {
    let p = state.statistics.patterns
    let patterns: [AttentionPattern?] = (0..<state.count).map { k in
      let counts = AttentionPattern.allCases.map { p.count(layer: k / state.heads, head: k % state.heads, $0) }
      guard let top = counts.max(), top > 0 else { return nil }
      return AttentionPattern(rawValue: counts.firstIndex(of: top)!)
    }
    try self.init(
      info: info, layers: state.layers, heads: state.heads, texts: state.texts, rows: state.rows,
      distances: state.sums, patterns: patterns)
  }

  /// Both tables; js with 6 decimals, coordinates with 6.
  public var tables: [CSVTable] {
    var d = CSVTable(Self.distanceHeader)
    let n = count
    for a in 0..<n {
      for b in (a + 1)..<max(a + 1, n) {
        d.append([
          CSVTable.cell(a / heads + 1), CSVTable.cell(a % heads + 1), CSVTable.cell(b / heads + 1),
          CSVTable.cell(b % heads + 1), CSVTable.cell(distances[HeadDistances.pairIndex(a, b, count: n)]),
        ])
      }
    }
    var m = CSVTable(Self.mdsHeader)
    for k in 0..<n {
      m.append([
        CSVTable.cell(k / heads + 1), CSVTable.cell(k % heads + 1), CSVTable.cell(coordinates[k][0]),
        CSVTable.cell(coordinates[k][1]), patterns[k]?.name ?? "",
      ])
    }
    return [d, m]
  }

  public func encode(to encoder: any Swift.Encoder) throws {
    var c = encoder.container(keyedBy: AnyKey.self)
    try info.encode(into: &c)
    try c.encode(texts, forKey: AnyKey("texts"))
    try c.encode(rows, forKey: AnyKey("rows"))
    try c.encode(count, forKey: AnyKey("headsTotal"))
    try c.encode(distances.count, forKey: AnyKey("pairs"))
    try c.encode(JSONNumber(meanPerToken), forKey: AnyKey("meanPerToken"))
    try c.encode(eigenvalues.map { JSONNumber($0) }, forKey: AnyKey("eigenvalues"))
    try c.encode(JSONNumber(explainedShare), forKey: AnyKey("explainedShare"))
    try c.encode(JSONNumber(stress), forKey: AnyKey("stress"))
    try c.encode(
      distances.map { JSONNumber(rows > 0 ? $0 / Double(rows) : 0) }, forKey: AnyKey("jsPerToken"))
  }

  /// The keys of clusters.json beyond the run and the tables.
  struct Extras: Decodable {
    var texts: Int?
    var rows: Int?
    var eigenvalues: [JSONNumber]?
    var explainedShare: JSONNumber?
    var stress: JSONNumber?

    enum CodingKeys: String, CodingKey { case texts, rows, eigenvalues, explainedShare, stress }
  }

  /// Reads `head_distances.csv` (required, every pair exactly once), `head_mds.csv` (else the
  /// MDS is computed from the distances and the patterns are unknown) and `clusters.json`.
  public static func read(from folder: URL) throws -> ClustersResult {
    let csv = try CSVFile(url: folder.appendingPathComponent(tableFiles[0]), header: distanceHeader)
    var cells: [(la: Int, ha: Int, lb: Int, hb: Int, v: Double, line: Int)] = []
    var layers = 1, heads = 1
    for row in csv.rows {
      let (la, ha, lb, hb) = (
        try csv.index(row, 0), try csv.index(row, 1), try csv.index(row, 2), try csv.index(row, 3)
      )
      let v = try csv.number(row, 4)
      guard v.isFinite, v >= 0 else {
        throw BertScopeError.invalidInput("\(csv.path):\(row.line): js must be a finite number ≥ 0")
      }
      layers = max(layers, la, lb)
      heads = max(heads, ha, hb)
      cells.append((la, ha, lb, hb, v, row.line))
    }
    let n = layers * heads
    guard n <= 1 << 12 else { throw BertScopeError.invalidInput("\(csv.path): more heads than any model has") }
    var distances = [Double](repeating: .nan, count: HeadDistances.pairCount(n))
    for c in cells {
      let a = (c.la - 1) * heads + c.ha - 1, b = (c.lb - 1) * heads + c.hb - 1
      guard a < b else {
        throw BertScopeError.invalidInput(
          "\(csv.path):\(c.line): (layer_a, head_a) must come before (layer_b, head_b)")
      }
      let k = HeadDistances.pairIndex(a, b, count: n)
      guard distances[k].isNaN else {
        throw BertScopeError.invalidInput("\(csv.path):\(c.line): the pair appears twice")
      }
      distances[k] = c.v
    }
    if let missing = distances.firstIndex(where: \.isNaN) {
      var k = missing, a = 0
      while k >= n - a - 1 {
        k -= n - a - 1
        a += 1
      }
      let b = a + 1 + k
      throw BertScopeError.invalidInput(
        "\(csv.path): no row for layer \(a / heads + 1) head \(a % heads + 1) with layer \(b / heads + 1) head \(b % heads + 1) (expected every pair of \(layers) layers × \(heads) heads)"
      )
    }
    let info = try Self.info(in: folder, layers: layers, heads: heads)
    let extras = try json(Extras.self, in: folder)
    var result = try ClustersResult(
      info: info, layers: layers, heads: heads, texts: extras?.texts ?? info.examples, rows: extras?.rows ?? 0,
      distances: distances, patterns: Array(repeating: nil, count: n))
    let mdsURL = folder.appendingPathComponent(tableFiles[1])
    if FileManager.default.fileExists(atPath: mdsURL.path) {
      let mds = try CSVFile(url: mdsURL, header: mdsHeader)
      var seen = Set<Int>()
      for row in mds.rows {
        let (l, h) = (try mds.index(row, 0), try mds.index(row, 1))
        guard l <= layers, h <= heads, seen.insert((l - 1) * heads + h - 1).inserted else {
          throw BertScopeError.invalidInput(
            "\(mds.path):\(row.line): layer \(l) head \(h) is repeated or not in \(tableFiles[0])")
        }
        let k = (l - 1) * heads + h - 1
        result.coordinates[k] = [try mds.number(row, 2), try mds.number(row, 3)]
        let name = row.cells[4]
        if !name.isEmpty {
          guard let p = AttentionPattern(name: name) else {
            throw BertScopeError.invalidInput("\(mds.path):\(row.line): \"\(printable(name))\" is no pattern type")
          }
          result.patterns[k] = p
        }
      }
      guard seen.count == n else {
        throw BertScopeError.invalidInput("\(mds.path): \(seen.count) heads, \(tableFiles[0]) has \(n)")
      }
    }
    if let e = extras?.eigenvalues, e.count == 2 { result.eigenvalues = e.map(\.orNaN) }
    if let x = extras?.explainedShare { result.explainedShare = x.orNaN }
    if let s = extras?.stress { result.stress = s.orNaN }
    return result
  }
}
