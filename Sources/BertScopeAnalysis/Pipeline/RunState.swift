import BertScope
import Crypto
import Foundation

/// The content of an input: its size and SHA-256, computed while it streams. Shards of one
/// corpus must agree on it before they are merged (their paths may differ between machines).
public struct InputIdentity: Codable, Sendable, Equatable {
  /// The input as given on the command line.
  public var path: String
  public var bytes: Int
  /// Lower-case hex.
  public var sha256: String

  public init(path: String, bytes: Int, sha256: String) {
    self.path = path
    self.bytes = bytes
    self.sha256 = sha256
  }

  /// Whether `other` is the same content.
  public func sameContent(as other: InputIdentity) -> Bool { bytes == other.bytes && sha256 == other.sha256 }

  /// Checks that the first `bytes` bytes of `path` still hash to `sha256`: a checkpoint
  /// records the input read so far, and a resumption must continue the same input.
  public func checkPrefix(of path: String) throws {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw BertScopeError.io(path: path, problem: "cannot open for reading")
    }
    defer { try? handle.close() }
    let hasher = StreamHasher()
    while hasher.bytes < bytes {
      let chunk: Data
      do { chunk = try handle.read(upToCount: Swift.min(1 << 22, bytes - hasher.bytes)) ?? Data() } catch {
        throw BertScopeError.io(path: path, problem: "read failed: \(error.localizedDescription)")
      }
      if chunk.isEmpty { break }
      chunk.withUnsafeBytes { hasher.update($0) }
    }
    guard hasher.bytes == bytes, hasher.finish() == sha256 else {
      throw BertScopeError.invalidInput(
        "--resume: \(path) is not the input the checkpoint was made from (its first \(bytes) bytes changed); rerun without --resume"
      )
    }
  }
}

/// SHA-256 of a stream, fed chunk by chunk (`CorpusReader.observeBytes`).
public final class StreamHasher: @unchecked Sendable {
  private var hasher = SHA256()
  public private(set) var bytes = 0

  public init() {}

  public func update(_ chunk: UnsafeRawBufferPointer) {
    hasher.update(bufferPointer: chunk)
    bytes += chunk.count
  }

  /// The digest in lower-case hex (the hasher cannot be used afterwards).
  public func finish() -> String { hasher.finalize().map { String(format: "%02x", $0) }.joined() }

  /// The bytes seen so far and their digest (of the whole input once it was read to the end);
  /// the hasher goes on.
  public func snapshot(path: String) -> InputIdentity {
    let copy = hasher
    return InputIdentity(path: path, bytes: bytes, sha256: copy.finalize().map { String(format: "%02x", $0) }.joined())
  }
}

/// A model as a merge checks it: what analysis files record (`ModelInfo`) and the SHA-256 of its
/// `model.safetensors`, so that shards computed on different machines (different paths)
/// with the same weights merge, and different checkpoints of one architecture do not.
public struct ModelIdentity: Codable, Sendable, Equatable {
  public var info: ModelInfo
  public var bytes: Int
  public var sha256: String

  public init(info: ModelInfo, bytes: Int, sha256: String) {
    self.info = info
    self.bytes = bytes
    self.sha256 = sha256
  }

  /// Hashes `model.safetensors` of `model` (~0.2 s for all-MiniLM-L6-v2, ~1 s for BERT-base).
  public init(_ model: BertModel) throws {
    let url = model.directory.appendingPathComponent("model.safetensors")
    guard let handle = FileHandle(forReadingAtPath: url.path) else {
      throw BertScopeError.io(path: url.path, problem: "cannot open for reading")
    }
    defer { try? handle.close() }
    let hasher = StreamHasher()
    while true {
      let chunk: Data
      do { chunk = try handle.read(upToCount: 1 << 22) ?? Data() } catch {
        throw BertScopeError.io(path: url.path, problem: "read failed: \(error.localizedDescription)")
      }
      if chunk.isEmpty { break }
      chunk.withUnsafeBytes { hasher.update($0) }
    }
    self.init(info: ModelInfo(model), bytes: hasher.bytes, sha256: hasher.finish())
  }

  /// Whether `other` has the same weights and shape.
  public func sameWeights(as other: ModelIdentity) -> Bool {
    bytes == other.bytes && sha256 == other.sha256 && info.layers == other.info.layers && info.heads == other.info.heads
  }
}

/// Rows written so far by a run whose output is a stream of rows (`embed`, `attention --input`).
public struct RowsState: AnalysisState {
  /// Rows (texts) written.
  public var rows = 0
  /// Elements written (the 1-D attention dump's length).
  public var elements = 0
  /// Bytes written to the run's other files, by name (the dump's index.csv and tokens.jsonl),
  /// for a resumed run to go back to; nil in a merged state.
  public var files: [String: Int]?

  public init() {}

  enum CodingKeys: String, CodingKey { case rows, elements, files }

  public init(from decoder: any Swift.Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    rows = try c.decode(Int.self, forKey: .rows)
    elements = try c.decode(Int.self, forKey: .elements)
    files = try c.decodeIfPresent([String: Int].self, forKey: .files)
    guard rows >= 0, elements >= 0, files?.values.allSatisfy({ $0 >= 0 }) ?? true else {
      throw InvalidValue("negative row counts")
    }
  }

  public mutating func merge(_ other: RowsState) throws {
    let (r, o1) = rows.addingReportingOverflow(other.rows)
    let (e, o2) = elements.addingReportingOverflow(other.elements)
    guard !o1, !o2 else { throw BertScopeError.invalidInput("cannot merge row counts this large") }
    (rows, elements, files) = (r, e, nil)
  }
}

/// The state of one part of a run, whichever analysis it is.
public enum PartState: Codable, Sendable, Equatable {
  case statistics(MapStatistics)
  case ablation(AblationState)
  case comparison(MapComparison)
  case relations(RelationScores)
  case rows(RowsState)
  case linguistic(LinguisticState)
  case clusters(HeadDistanceState)

  enum CodingKeys: String, CodingKey { case kind, value }
  enum Kind: String, Codable { case statistics, ablation, comparison, relations, rows, linguistic, clusters }

  var kind: Kind {
    switch self {
    case .statistics: return .statistics
    case .ablation: return .ablation
    case .comparison: return .comparison
    case .relations: return .relations
    case .rows: return .rows
    case .linguistic: return .linguistic
    case .clusters: return .clusters
    }
  }

  public init(from decoder: any Swift.Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    switch try c.decode(Kind.self, forKey: .kind) {
    case .statistics: self = .statistics(try c.decode(MapStatistics.self, forKey: .value))
    case .ablation: self = .ablation(try c.decode(AblationState.self, forKey: .value))
    case .comparison: self = .comparison(try c.decode(MapComparison.self, forKey: .value))
    case .relations: self = .relations(try c.decode(RelationScores.self, forKey: .value))
    case .rows: self = .rows(try c.decode(RowsState.self, forKey: .value))
    case .linguistic: self = .linguistic(try c.decode(LinguisticState.self, forKey: .value))
    case .clusters: self = .clusters(try c.decode(HeadDistanceState.self, forKey: .value))
    }
  }

  public func encode(to encoder: any Swift.Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(kind, forKey: .kind)
    switch self {
    case .statistics(let s): try c.encode(s, forKey: .value)
    case .ablation(let s): try c.encode(s, forKey: .value)
    case .comparison(let s): try c.encode(s, forKey: .value)
    case .relations(let s): try c.encode(s, forKey: .value)
    case .rows(let s): try c.encode(s, forKey: .value)
    case .linguistic(let s): try c.encode(s, forKey: .value)
    case .clusters(let s): try c.encode(s, forKey: .value)
    }
  }

  /// This part merged with `other`'s (the same kind).
  func merged(with other: PartState) throws -> PartState {
    switch (self, other) {
    case (.statistics(let a), .statistics(let b)): return .statistics(try a.merged(with: b))
    case (.ablation(let a), .ablation(let b)): return .ablation(try a.merged(with: b))
    case (.comparison(let a), .comparison(let b)): return .comparison(try a.merged(with: b))
    case (.relations(let a), .relations(let b)): return .relations(try a.merged(with: b))
    case (.rows(let a), .rows(let b)): return .rows(try a.merged(with: b))
    case (.linguistic(let a), .linguistic(let b)): return .linguistic(try a.merged(with: b))
    case (.clusters(let a), .clusters(let b)): return .clusters(try a.merged(with: b))
    default:
      throw BertScopeError.invalidInput("cannot merge a \(kind.rawValue) state with a \(other.kind.rawValue) state")
    }
  }
}

/// The states `PartState` can hold, with their conversions.
public protocol StoredState: AnalysisState {
  var part: PartState { get }
  init?(_ part: PartState)
}

extension MapStatistics: StoredState {
  public var part: PartState { .statistics(self) }
  public init?(_ part: PartState) {
    guard case .statistics(let s) = part else { return nil }
    self = s
  }
}

extension AblationState: StoredState {
  public var part: PartState { .ablation(self) }
  public init?(_ part: PartState) {
    guard case .ablation(let s) = part else { return nil }
    self = s
  }
}

extension MapComparison: StoredState {
  public var part: PartState { .comparison(self) }
  public init?(_ part: PartState) {
    guard case .comparison(let s) = part else { return nil }
    self = s
  }
}

extension RelationScores: StoredState {
  public var part: PartState { .relations(self) }
  public init?(_ part: PartState) {
    guard case .relations(let s) = part else { return nil }
    self = s
  }
}

extension RowsState: StoredState {
  public var part: PartState { .rows(self) }
  public init?(_ part: PartState) {
    guard case .rows(let s) = part else { return nil }
    self = s
  }
}

extension LinguisticState: StoredState {
  public var part: PartState { .linguistic(self) }
  public init?(_ part: PartState) {
    guard case .linguistic(let s) = part else { return nil }
    self = s
  }
}

/// `state.json` (or `X.npy.state.json` beside an `embed` output): what a sharded or
/// checkpointing run did, so that `bertscope merge` can combine shards exactly and `--resume`
/// can continue an interrupted run. Sums and counts, never means.
public struct RunState: Codable, Sendable, Equatable {
  /// One corpus pass of the run (`report` has up to three: its statistics, its ablation and
  /// its comparison; the other commands one).
  public struct Part: Codable, Sendable, Equatable {
    /// E.g. `statistics`, `ablation`, `comparison`, `relations`, `rows`.
    public var name: String
    /// The options that define the numbers (batch size excepted) and the corpus as given.
    public var options: RunOptions
    /// The input's content: all of it once the part is complete, before that what the last
    /// checkpoint had read (a resumption checks that it did not change).
    public var input: InputIdentity?
    /// The second model (`compare`).
    public var modelB: ModelIdentity?
    public var position: CorpusPosition
    public var complete: Bool
    public var state: PartState
  }

  public static let currentFormat = "bertscope-state 1"

  public var format = RunState.currentFormat
  /// The command that wrote it: `patterns`, `special`, `ablate`, `compare`, `relations`,
  /// `embed`, `attention`, `report`.
  public var command: String
  public var shard: Shard
  public var model: ModelIdentity
  /// The backend that computed the numbers.
  public var backend: String
  public var parts: [Part]
  /// Every part done and the outputs written.
  public var complete: Bool

  public init(
    command: String, shard: Shard, model: ModelIdentity, backend: String, parts: [Part] = [], complete: Bool = false
  ) {
    self.command = command
    self.shard = shard
    self.model = model
    self.backend = backend
    self.parts = parts
    self.complete = complete
  }

  /// The part called `name`.
  public func part(_ name: String) -> Part? { parts.first { $0.name == name } }

  /// The state file of an output: `DIR/state.json` for a folder, `X.npy.state.json` for a file.
  public static func url(for output: URL, isFolder: Bool) -> URL {
    isFolder ? output.appendingPathComponent("state.json") : URL(fileURLWithPath: output.path + ".state.json")
  }

  /// Reads and checks a state file.
  public static func read(from url: URL) throws -> RunState {
    let state = try AnalysisJSON.read(RunState.self, from: url)
    guard state.format == currentFormat else {
      throw BertScopeError.invalidInput(
        "\(url.path): format \"\(printable(state.format))\", expected \"\(currentFormat)\"")
    }
    return state
  }

  /// Writes the state file atomically.
  public func write(to url: URL) throws { try AnalysisJSON.write(self, to: url) }

  enum CodingKeys: String, CodingKey { case format, command, shard, model, backend, parts, complete }

  public init(from decoder: any Swift.Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    format = try c.decode(String.self, forKey: .format)
    command = try c.decode(String.self, forKey: .command)
    // Validated like a command line: an index outside the count is refused.
    let raw = try c.decode(RawShard.self, forKey: .shard)
    do { shard = try Shard(index: raw.index, count: raw.count) } catch {
      throw InvalidValue("shard \(raw.index)/\(raw.count) is not a shard")
    }
    model = try c.decode(ModelIdentity.self, forKey: .model)
    backend = try c.decode(String.self, forKey: .backend)
    parts = try c.decode([Part].self, forKey: .parts)
    complete = try c.decode(Bool.self, forKey: .complete)
  }

  struct RawShard: Decodable {
    var index: Int
    var count: Int
  }
}

extension HeadDistanceState: StoredState {
  public var part: PartState { .clusters(self) }
  public init?(_ part: PartState) {
    guard case .clusters(let s) = part else { return nil }
    self = s
  }
}
