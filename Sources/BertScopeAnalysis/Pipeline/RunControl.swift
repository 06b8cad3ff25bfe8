import BertScope
import Foundation

/// How a corpus run is split and kept: which shard of the corpus it takes, how often it saves
/// a checkpoint, and whether it continues an interrupted run (the CLI's `--shard`,
/// `--checkpoint-every` and `--resume`). A run with any of them keeps a state file
/// (`RunState`) beside its outputs; a plain run keeps none and writes what it always wrote.
public struct RunControl: Sendable, Equatable {
  /// The lines this run takes.
  public var shard: Shard
  /// Whether the run was given a shard (`--shard 0/1` included): it then records its state
  /// for `bertscope merge`.
  public var sharded: Bool
  /// Batches between checkpoints (nil: a checkpoint only when a stop is requested).
  public var checkpointEvery: Int?
  /// Continue from the state file when there is one.
  public var resume: Bool

  /// A run of `shard` (nil: the whole corpus, not sharded), checkpointing every
  /// `checkpointEvery` batches, resuming when `resume`.
  public init(shard: Shard? = nil, checkpointEvery: Int? = nil, resume: Bool = false) {
    self.shard = shard ?? .whole
    sharded = shard != nil
    self.checkpointEvery = checkpointEvery
    self.resume = resume
  }

  /// A plain run: the whole corpus, no state file.
  public static let plain = RunControl()

  /// Whether the run keeps a state file.
  public var keepsState: Bool { sharded || checkpointEvery != nil || resume }

  /// The recorder of `command`'s state file `url`, or nil for a plain run.
  public func recorder(url: URL, command: String, session: AnalysisSession) throws -> RunRecorder? {
    guard keepsState else { return nil }
    return try RunRecorder(
      url: url, command: command, shard: shard, session: session, resume: resume, checkpointEvery: checkpointEvery)
  }
}

extension AnalysisSession {
  /// Runs `analysis` over `source` as the part `part` of `recorder`'s run (checkpointed,
  /// resumable, its state and the input's identity recorded), or plainly without a recorder.
  ///
  /// - Parameter options: what the part's numbers depend on (recorded; shards must agree).
  public func run<A: CorpusAnalysis>(
    _ analysis: A, on source: CorpusSource, part: String, options: RunOptions, modelB: ModelIdentity? = nil,
    recorder: RunRecorder?, label: String? = nil
  ) throws -> (state: A.State, count: RunCount) where A.State: StoredState {
    guard let recorder else { return try run(analysis, on: source, label: label) }
    return try recorder.run(analysis, on: source, part: part, options: options, modelB: modelB, label: label)
  }
}
