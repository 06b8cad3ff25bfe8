import BertScope
import Foundation

/// The shards of one run, checked and combined: what `bertscope merge` writes the unsharded
/// run's files from.
public struct MergedRun: Sendable {
  /// The command the shards ran.
  public var command: String
  public var model: ModelIdentity
  /// The shards' backends (one entry when they agree).
  public var backends: [String]
  /// Every part with the shards' states merged and their counts added.
  public var parts: [RunState.Part]
  /// The shards, by index, with the name each was given as.
  public var shards: [(name: String, state: RunState)]

  /// The merged part called `name`.
  public func part(_ name: String) -> RunState.Part? { parts.first { $0.name == name } }

  /// The backend as the merged analysis files record it.
  public var backend: String { backends.joined(separator: "; ") }

  /// Checks that `shards` (each a state file's content, named as the user gave it) are the
  /// N shards of one complete run — same command, model, options and input, every index
  /// 0..<N exactly once — and merges them in index order, whatever order they came in.
  public init(_ shards: [(name: String, state: RunState)]) throws {
    guard let first = shards.first else { throw BertScopeError.invalidInput("merge: no shards given") }
    let n = first.state.shard.count
    var byIndex: [Int: (name: String, state: RunState)] = [:]
    for s in shards {
      let st = s.state
      guard st.command == first.state.command else {
        throw BertScopeError.invalidInput(
          "merge: \(s.name) is a \(st.command) run, \(first.name) a \(first.state.command) run")
      }
      guard st.shard.count == n else {
        throw BertScopeError.invalidInput(
          "merge: \(s.name) is shard \(st.shard) but \(first.name) is shard \(first.state.shard)")
      }
      if let other = byIndex[st.shard.index] {
        throw BertScopeError.invalidInput("merge: shard \(st.shard) is given twice: \(other.name) and \(s.name)")
      }
      guard st.complete else {
        let stop =
          st.parts.first { !$0.complete }.map { " (its \($0.name) stopped after line \($0.position.lines))" } ?? ""
        throw BertScopeError.invalidInput(
          "merge: \(s.name): shard \(st.shard) is not complete\(stop); rerun it with --resume first")
      }
      guard st.model.sameWeights(as: first.state.model) else {
        throw BertScopeError.invalidInput(
          "merge: \(s.name) was made with another model (\(st.model.info.path), sha256 \(st.model.sha256.prefix(12))…) than \(first.name) (\(first.state.model.info.path), sha256 \(first.state.model.sha256.prefix(12))…)"
        )
      }
      byIndex[st.shard.index] = s
    }
    if let missing = (0..<n).first(where: { byIndex[$0] == nil }) {
      let more = n - byIndex.count
      throw BertScopeError.invalidInput(
        "merge: shard \(missing)/\(n) is missing\(more > 1 ? " (and \(more - 1) more)" : ""): give all \(n) shards of the run"
      )
    }
    let ordered = (0..<n).map { byIndex[$0]! }
    let reference = ordered[0]
    var parts: [RunState.Part] = []
    for part in reference.state.parts {
      var merged = part
      merged.position = CorpusPosition()
      merged.position.lines = part.position.lines
      merged.position.texts = part.position.texts
      var combined: PartState?
      for s in ordered {
        guard let p = s.state.part(part.name) else {
          throw BertScopeError.invalidInput("merge: \(s.name) has no \(part.name) part, \(reference.name) has")
        }
        guard Self.sameNumbers(p.options, part.options) else {
          throw BertScopeError.invalidInput(
            "merge: \(s.name) ran \(part.name) with other options than \(reference.name) (\(Self.describe(p.options)) vs \(Self.describe(part.options)))"
          )
        }
        guard let a = p.input, let b = part.input, a.sameContent(as: b) else {
          let shown = p.input.map { "\($0.path), \($0.bytes) bytes, sha256 \($0.sha256.prefix(12))…" } ?? "unknown"
          let theirs = part.input.map { "\($0.path), \($0.bytes) bytes, sha256 \($0.sha256.prefix(12))…" } ?? "unknown"
          throw BertScopeError.invalidInput(
            "merge: \(s.name) is a shard of another input (\(shown)) than \(reference.name) (\(theirs))")
        }
        guard (p.modelB == nil) == (part.modelB == nil), p.modelB.map({ $0.sameWeights(as: part.modelB!) }) ?? true
        else {
          throw BertScopeError.invalidInput(
            "merge: \(s.name) compared with another second model than \(reference.name)")
        }
        merged.position.examples = try Self.checkedSum(merged.position.examples, p.position.examples, s.name)
        merged.position.tokens = try Self.checkedSum(merged.position.tokens, p.position.tokens, s.name)
        merged.position.seconds += p.position.seconds
        combined = try combined.map { try $0.merged(with: p.state) } ?? p.state
      }
      merged.state = combined!
      parts.append(merged)
    }
    for s in ordered where s.state.parts.count != reference.state.parts.count {
      throw BertScopeError.invalidInput(
        "merge: \(s.name) has \(s.state.parts.count) parts, \(reference.name) \(reference.state.parts.count)")
    }
    command = reference.state.command
    model = reference.state.model
    var seen: [String] = []
    for s in ordered where !seen.contains(s.state.backend) { seen.append(s.state.backend) }
    backends = seen
    self.parts = parts
    self.shards = ordered
  }

  /// `a + b`, or an error naming the shard whose counts cannot be right.
  static func checkedSum(_ a: Int, _ b: Int, _ name: String) throws -> Int {
    let (sum, overflow) = a.addingReportingOverflow(b)
    guard !overflow else { throw BertScopeError.invalidInput("merge: \(name): its counts are too large to be real") }
    return sum
  }

  /// Options that give the same numbers: equal but for the batch size and the paths of the
  /// corpus and the second model (their contents are compared instead).
  static func sameNumbers(_ a: RunOptions, _ b: RunOptions) -> Bool {
    var (x, y) = (a, b)
    (x.batchSize, y.batchSize, x.input, y.input, x.modelB, y.modelB) = (nil, nil, nil, nil, nil, nil)
    return x == y
  }

  static func describe(_ o: RunOptions) -> String {
    var parts: [String] = []
    if let l = o.limit { parts.append("limit \(l)") }
    if let m = o.mode { parts.append("mode \(m.rawValue)") }
    if let t = o.task { parts.append("task \(t.rawValue)") }
    if let p = o.pooling { parts.append("pooling \(p.rawValue)") }
    if let b = o.modelB { parts.append("model-b \(b)") }
    return parts.isEmpty ? "defaults" : parts.joined(separator: ", ")
  }
}

extension MergedRun {
  /// Reads the state of each sharded run's output — a folder (`DIR/state.json`) or an `.npy`
  /// file (`X.npy.state.json`) — and merges them.
  public init(outputs: [URL]) throws {
    var shards: [(name: String, state: RunState)] = []
    for output in outputs {
      var isFolder: ObjCBool = false
      let exists = FileManager.default.fileExists(atPath: output.path, isDirectory: &isFolder)
      guard exists || output.pathExtension == "npy" else {
        throw BertScopeError.io(path: output.path, problem: "merge: no such shard (give each sharded run's --out)")
      }
      let url = RunState.url(for: output, isFolder: isFolder.boolValue)
      guard FileManager.default.fileExists(atPath: url.path) else {
        throw BertScopeError.invalidInput(
          "merge: \(output.path) has no state file (\(url.lastPathComponent)): it was not written by a sharded run (--shard)"
        )
      }
      shards.append((output.path, try RunState.read(from: url)))
    }
    try self.init(shards)
  }

  /// What the unsharded run's analysis files would record about `part`: the model, the
  /// backend, every shard's texts, shard 0's options, and the shards' seconds added up.
  public func info(_ part: RunState.Part) -> RunInfo {
    RunInfo(
      model: model.info, backend: backend, examples: part.position.examples, options: part.options,
      seconds: part.position.seconds)
  }

  /// The analysis results of the merged run, as the unsharded command writes them:
  /// `patterns`, `special`, `ablate`, `compare`, `relations`, `linguistic`, `clusters`, and a
  /// report's analyses.
  public func results() throws -> [any AnalysisResult] {
    func statistics(_ name: String) throws -> (MapStatistics, RunState.Part)? {
      guard let p = part(name) else { return nil }
      guard let s = MapStatistics(p.state) else {
        throw BertScopeError.invalidInput("merge: the \(name) part holds no map statistics")
      }
      return (s, p)
    }
    func state<S: StoredState>(_ type: S.Type, _ name: String) throws -> (S, RunState.Part)? {
      guard let p = part(name) else { return nil }
      guard let s = S(p.state) else {
        throw BertScopeError.invalidInput("merge: the \(name) part holds a state of another kind")
      }
      return (s, p)
    }
    var out: [any AnalysisResult] = []
    switch command {
    case "patterns":
      if let (s, p) = try state(MapStatistics.self, Self.statisticsPart) {
        out.append(PatternsResult(s, info: info(p)))
      }
    case "special":
      if let (s, p) = try state(MapStatistics.self, Self.statisticsPart) { out.append(SpecialResult(s, info: info(p))) }
    case "ablate":
      if let (s, p) = try state(AblationState.self, Self.ablationPart) { out.append(AblationResult(s, info: info(p))) }
    case "compare":
      if let (s, p) = try state(MapComparison.self, Self.comparisonPart) { out.append(CompareResult(s, info: info(p))) }
    case "relations":
      if let (s, p) = try state(RelationScores.self, Self.relationsPart) {
        out.append(RelationsResult(s, info: info(p)))
      }
    case "linguistic":
      if let (s, p) = try state(LinguisticState.self, Self.linguisticPart) {
        let a = LinguisticResult(s, info: info(p))
        out.append(a)
        if let (sb, pb) = try state(LinguisticState.self, Self.linguisticPartB), let modelB = pb.modelB {
          var infoB = info(pb)
          infoB.model = modelB.info
          out.append(LinguisticComparisonResult(a, LinguisticResult(sb, info: infoB)))
        }
      }
    case "clusters":
      if let (s, p) = try state(HeadDistanceState.self, Self.clustersPart) {
        out.append(try ClustersResult(s, info: info(p)))
      }
    case "report":
      if let (s, p) = try state(MapStatistics.self, Self.statisticsPart) {
        out.append(PatternsResult(s, info: info(p)))
        out.append(SpecialResult(s, info: info(p)))
      }
      // A report's one pass over the corpus: the clusters with the patterns and special-token statistics.
      if let (s, p) = try state(HeadDistanceState.self, Self.clustersPart) {
        out.append(PatternsResult(s.statistics, info: info(p)))
        out.append(SpecialResult(s.statistics, info: info(p)))
        out.append(try ClustersResult(s, info: info(p)))
      }
      if let (s, p) = try state(AblationState.self, Self.ablationPart) { out.append(AblationResult(s, info: info(p))) }
      if let (s, p) = try state(MapComparison.self, Self.comparisonPart) { out.append(CompareResult(s, info: info(p))) }
      if let (s, p) = try state(LinguisticState.self, Self.linguisticPart) {
        out.append(LinguisticResult(s, info: info(p)))
      }
    default:
      throw BertScopeError.invalidInput(
        "merge: the shards ran `\(printable(command))`, which has no analysis files to merge")
    }
    guard !out.isEmpty else { throw BertScopeError.invalidInput("merge: the shards of `\(command)` hold no results") }
    return out
  }

  /// The part names the commands record.
  public static let statisticsPart = "statistics", ablationPart = "ablation", comparisonPart = "comparison",
    relationsPart = "relations", linguisticPart = "linguistic", linguisticPartB = "linguistic-b",
    clustersPart = "clusters"

  /// Writes the rows of the shards' `.npy` files (`embed`) into `url` in input order: row `r`
  /// of the whole run is row `r / N` of shard `r mod N`. Streams: memory stays flat.
  ///
  /// - Returns: the rows written.
  @discardableResult
  public func writeRows(to url: URL) throws -> Int {
    guard command == "embed", let total = part(AnalysisSession.rowsPart) else {
      throw BertScopeError.invalidInput("merge: the shards ran `\(command)`, not embed")
    }
    let n = shards.count
    var readers: [NPYRowReader] = []
    for (index, shard) in shards.enumerated() {
      guard let rows = shard.state.part(AnalysisSession.rowsPart).flatMap({ RowsState($0.state) }) else {
        throw BertScopeError.invalidInput("merge: \(shard.name): its state holds no rows")
      }
      let reader = try NPYRowReader(url: URL(fileURLWithPath: shard.name))
      guard reader.rows == rows.rows else {
        throw BertScopeError.invalidInput(
          "merge: \(shard.name) has \(reader.rows) rows but its state records \(rows.rows): the file was changed")
      }
      let all = total.position.examples
      let expected = all / n + (index < all % n ? 1 : 0)
      guard rows.rows == expected else {
        throw BertScopeError.invalidInput(
          "merge: \(shard.name) holds \(rows.rows) rows; shard \(index)/\(n) of \(all) lines should hold \(expected)")
      }
      readers.append(reader)
    }
    guard let columns = readers.first?.columns, readers.allSatisfy({ $0.columns == columns }) else {
      throw BertScopeError.invalidInput("merge: the shards' .npy files have different widths")
    }
    let writer = try NPY.RowWriter(url: url, columns: columns)
    do {
      var row = [Float](repeating: 0, count: columns)
      for r in 0..<total.position.examples {
        try readers[r % n].next(into: &row)
        try writer.append(row[...])
      }
      try writer.finish()
    } catch {
      writer.abandon()
      throw error
    }
    return total.position.examples
  }
}

/// Reads a float32 `[rows, columns]` `.npy` file row by row, in chunks.
final class NPYRowReader {
  let url: URL
  let rows: Int
  let columns: Int
  private let handle: FileHandle
  private var buffer: [Float] = []
  private var next = 0
  private var left: Int

  init(url: URL) throws {
    self.url = url
    let header = try NPY.header(of: url)
    guard header.dtype == .float32, header.shape.count == 2 else {
      throw BertScopeError.invalidInput(
        "\(url.path): expected a float32 [rows, columns] array, found \(header.dtype.rawValue) \(header.shape)")
    }
    (rows, columns) = (header.shape[0], header.shape[1])
    guard let h = FileHandle(forReadingAtPath: url.path) else {
      throw BertScopeError.io(path: url.path, problem: "cannot open for reading")
    }
    handle = h
    left = rows
    do { try handle.seek(toOffset: UInt64(header.dataStart)) } catch {
      throw BertScopeError.io(path: url.path, problem: "seek failed: \(error.localizedDescription)")
    }
  }

  deinit { try? handle.close() }

  /// Copies the next row into `row`.
  func next(into row: inout [Float]) throws {
    if next * columns >= buffer.count {
      guard left > 0 else { throw BertScopeError.invalidInput("\(url.path): ends after \(rows) rows") }
      let chunk = Swift.min(left, Swift.max(1, (1 << 20) / Swift.max(columns, 1)))
      let data: Data
      do { data = try handle.read(upToCount: chunk * columns * 4) ?? Data() } catch {
        throw BertScopeError.io(path: url.path, problem: "read failed: \(error.localizedDescription)")
      }
      guard data.count == chunk * columns * 4 else {
        throw BertScopeError.invalidInput("\(url.path): truncated (the header says \(rows) rows)")
      }
      buffer = [Float](repeating: 0, count: chunk * columns)
      _ = buffer.withUnsafeMutableBytes { data.copyBytes(to: $0) }
      left -= chunk
      next = 0
    }
    for c in 0..<columns { row[c] = buffer[next * columns + c] }
    next += 1
  }
}
