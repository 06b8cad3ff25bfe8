import Foundation
import Testing

@testable import BertScope

/// Paths to the committed fixtures (`Tests/Fixtures`, see its README) and the installed model.
enum Fixtures {
  static let root = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures", isDirectory: true)

  static func model(_ name: String) -> URL { root.appendingPathComponent(name, isDirectory: true) }
  static var tiny: URL { model("tiny-bert") }

  /// The real default model, when `scripts/setup` installed it (the test command does).
  static var miniLM: URL? {
    let dir = ModelLocator.resolve(nil)
    return FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path) ? dir : nil
  }
  static var hasMiniLM: Bool { miniLM != nil }

  static func golden(_ model: String, _ name: String) -> URL {
    root.appendingPathComponent("goldens/\(model)/\(name)", isDirectory: true)
  }

  /// A scratch folder removed at process exit is not guaranteed; tests use unique names.
  static func temporaryDirectory(_ tag: String = "bertscope-test") -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "\(tag)-\(UUID().uuidString)", isDirectory: true)
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }
}

/// Loaded models are cached per process: loading MiniLM takes ~0.1 s but tests run in parallel.
actor ModelCache {
  static let shared = ModelCache()
  private var models: [URL: BertModel] = [:]
  func model(_ url: URL) throws -> BertModel {
    if let m = models[url] { return m }
    let m = try BertModel.load(from: url)
    models[url] = m
    return m
  }
}

/// One golden case of `Tests/Fixtures/goldens`.
struct GoldenCase {
  let folder: URL
  let lengths: [Int]
  let ids: [[Int32]]
  let segments: [[Int32]]
  let texts: [[String]]
  let tokens: [[String]]

  init(_ folder: URL) throws {
    self.folder = folder
    let lengths = try NPY.read(folder.appendingPathComponent("lengths.npy")).values.map { Int($0) }
    let ids = try NPY.read(folder.appendingPathComponent("ids.npy"))
    let segments = try NPY.read(folder.appendingPathComponent("segments.npy"))
    let width = ids.shape[1]
    self.lengths = lengths
    self.ids = lengths.enumerated().map { b, l in (0..<l).map { Int32(ids.values[b * width + $0]) } }
    self.segments = lengths.enumerated().map { b, l in (0..<l).map { Int32(segments.values[b * width + $0]) } }
    let json =
      try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("case.json")))
      as? [String: Any]
    texts = (json?["texts"] as? [[String]]) ?? []
    tokens = (json?["tokens"] as? [[String]]) ?? []
  }

  var encodings: [Encoding] {
    zip(ids, segments).map { ids, segments in
      Encoding(tokens: [], ids: ids, segments: segments, offsets: Array(repeating: nil, count: ids.count))
    }
  }

  func array(_ name: String) throws -> NPY.Array { try NPY.read(folder.appendingPathComponent(name)) }
  func has(_ name: String) -> Bool { FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path) }
}

/// Largest |a − b|; records an issue when the counts differ.
func maxAbsDiff<A: Collection, B: Collection>(
  _ a: A, _ b: B, sourceLocation: SourceLocation = #_sourceLocation
) -> Float where A.Element == Float, B.Element == Float {
  #expect(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)", sourceLocation: sourceLocation)
  var worst: Float = 0
  for (x, y) in zip(a, b) {
    let d = abs(x - y)
    if d > worst || d.isNaN { worst = d.isNaN ? .infinity : d }
  }
  return worst
}

/// Expects every |a − b| ≤ atol + rtol·|b|, naming the first offending index.
func expectClose<A: Collection, B: Collection>(
  _ a: A, _ b: B, atol: Float, rtol: Float = 0, _ what: String = "",
  sourceLocation: SourceLocation = #_sourceLocation
) where A.Element == Float, B.Element == Float {
  #expect(a.count == b.count, "\(what): sizes differ: \(a.count) vs \(b.count)", sourceLocation: sourceLocation)
  var worst: Float = 0
  var worstIndex = -1
  for (i, (x, y)) in zip(a, b).enumerated() {
    let excess = abs(x - y) - (atol + rtol * abs(y))
    if excess > worst || x.isNaN != y.isNaN {
      worst = excess.isNaN ? .infinity : excess
      worstIndex = i
    }
  }
  if worstIndex >= 0 {
    let x = Array(a)[worstIndex], y = Array(b)[worstIndex]
    Issue.record(
      "\(what): index \(worstIndex): \(x) vs \(y) (|diff| \(abs(x - y)) > atol \(atol) + rtol \(rtol))",
      sourceLocation: sourceLocation)
  }
}

func cosine<A: Collection, B: Collection>(_ a: A, _ b: B) -> Double where A.Element == Float, B.Element == Float {
  var dot = 0.0, na = 0.0, nb = 0.0
  for (x, y) in zip(a, b) {
    dot += Double(x) * Double(y)
    na += Double(x) * Double(x)
    nb += Double(y) * Double(y)
  }
  return dot / max((na * nb).squareRoot(), 1e-30)
}
