import BertScope
import Foundation

/// Keeps the state file of a sharded or checkpointing run (`RunState`): starts it, or with
/// `resume` picks up the one an interrupted run left; runs each corpus pass as a part of it,
/// saving the part's state every few batches and on a stop request; marks the run complete.
/// A resumed run equals an uninterrupted one: it continues after the last checkpointed batch,
/// so its batches are the same.
public final class RunRecorder {
  /// The state file.
  public let url: URL
  public private(set) var state: RunState
  /// Batches between checkpoints (nil: only on a stop request).
  public let checkpointEvery: Int?
  let session: AnalysisSession

  /// A recorder for `command` on `shard`, writing `url`.
  ///
  /// - Parameter resume: continue from the state at `url` when it exists (a note says where);
  ///   it must come from the same command, shard and model. Without one the run starts afresh.
  public init(
    url: URL, command: String, shard: Shard, session: AnalysisSession, resume: Bool, checkpointEvery: Int?
  ) throws {
    self.url = url
    self.session = session
    self.checkpointEvery = checkpointEvery
    let model = try ModelIdentity(session.model)
    let fresh = RunState(command: command, shard: shard, model: model, backend: session.encoder.backendDescription)
    guard resume, FileManager.default.fileExists(atPath: url.path) else {
      if resume { session.note("--resume: no checkpoint at \(url.path) yet; starting from the beginning") }
      state = fresh
      return
    }
    let saved = try RunState.read(from: url)
    guard saved.command == command else {
      throw BertScopeError.invalidInput("--resume: \(url.path) holds a \(saved.command) run, not \(command)")
    }
    guard saved.shard == shard else {
      throw BertScopeError.invalidInput("--resume: \(url.path) is shard \(saved.shard), this run is shard \(shard)")
    }
    guard saved.model.sameWeights(as: model) else {
      throw BertScopeError.invalidInput(
        "--resume: \(url.path) was made with another model (\(saved.model.info.path), sha256 \(saved.model.sha256.prefix(12))…)"
      )
    }
    state = saved
    let done = saved.parts.filter(\.complete).map(\.name)
    let current = saved.parts.first { !$0.complete }
    var where_ = "resuming \(url.path)"
    if !done.isEmpty { where_ += ": \(done.joined(separator: ", ")) done" }
    if let current { where_ += (done.isEmpty ? ": " : "; ") + "\(current.name) after line \(current.position.lines)" }
    session.note(where_)
  }

  /// Writes the state file as it is now.
  public func save() throws { try state.write(to: url) }

  private func store(_ part: RunState.Part) throws {
    if let i = state.parts.firstIndex(where: { $0.name == part.name }) {
      state.parts[i] = part
    } else {
      state.parts.append(part)
    }
    try save()
  }

  /// Runs `analysis` over `source` as the part called `name`: from its checkpoint when the
  /// state holds one, not at all when it holds the part complete.
  ///
  /// - Parameter options: the part's defining options (recorded; a resumed part must match,
  ///   the batch size excepted).
  public func run<A: CorpusAnalysis>(
    _ analysis: A, on source: CorpusSource, part name: String, options: RunOptions, modelB: ModelIdentity? = nil,
    label: String? = nil
  ) throws -> (state: A.State, count: RunCount) where A.State: StoredState {
    var resuming: (state: A.State, position: CorpusPosition)?
    if let saved = state.part(name) {
      guard Self.sameDefinition(saved.options, options),
        saved.modelB.map({ modelB?.sameWeights(as: $0) ?? false }) ?? (modelB == nil)
      else {
        throw BertScopeError.invalidInput(
          "--resume: \(url.path): the \(name) part was run with other options or another second model")
      }
      guard let partState = A.State(saved.state) else {
        throw BertScopeError.invalidInput("--resume: \(url.path): the \(name) part holds a \(saved.state) state")
      }
      if saved.complete { return (partState, RunCount(saved.position)) }
      try saved.input?.checkPrefix(of: source.path)
      resuming = (partState, saved.position)
    }
    let hasher = StreamHasher()
    func part(_ s: A.State, _ position: CorpusPosition, complete: Bool) -> RunState.Part {
      // What was read so far: at the end, the whole input.
      let input = hasher.snapshot(path: source.path)
      return RunState.Part(
        name: name, options: options, input: input, modelB: modelB, position: position, complete: complete,
        state: s.part)
    }
    let result = try session.run(
      analysis, on: source, label: label, resuming: resuming,
      checkpoint: { s, position in try self.store(part(s, position, complete: false)) }, everyBatches: checkpointEvery,
      observeBytes: { hasher.update($0) })
    try store(part(result.state, result.count.position, complete: true))
    return result
  }

  /// Records a part that is not a `CorpusAnalysis` (`embed`'s and the attention dump's rows).
  public func record(_ part: RunState.Part) throws { try store(part) }

  /// The saved part `name`, if any (to resume it).
  public func saved(_ name: String) -> RunState.Part? { state.part(name) }

  /// Marks the run complete and writes the state: a shard ready for `bertscope merge`.
  public func finish() throws {
    state.complete = true
    state.backend = session.encoder.backendDescription
    try save()
  }

  /// Options that define the same numbers: equal but for the batch size.
  static func sameDefinition(_ a: RunOptions, _ b: RunOptions) -> Bool {
    var (x, y) = (a, b)
    (x.batchSize, y.batchSize) = (nil, nil)
    return x == y
  }
}
