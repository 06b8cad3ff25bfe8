import BertScope
import Foundation

/// Which part of a corpus a run takes: the lines whose 0-based index ≡ `index` (mod `count`),
/// so that `count` runs (a Slurm job array) share a corpus evenly without counting its lines
/// first, and their states merge into the statistic of the whole.
public struct Shard: Codable, Sendable, Equatable, Hashable, CustomStringConvertible {
  /// From 0.
  public let index: Int
  /// How many shards the corpus is split into.
  public let count: Int

  /// The whole corpus.
  public static let whole = Shard(uncheckedIndex: 0, count: 1)

  private init(uncheckedIndex index: Int, count: Int) {
    self.index = index
    self.count = count
  }

  /// Shard `index` of `count`; throws unless `count ≥ 1` and `0 ≤ index < count`.
  public init(index: Int, count: Int) throws {
    guard count >= 1 else {
      throw BertScopeError.invalidInput("--shard \(index)/\(count): the count must be at least 1")
    }
    guard (0..<count).contains(index) else {
      throw BertScopeError.invalidInput(
        "--shard \(index)/\(count): the index counts from 0 and must be below the count (0–\(count - 1))")
    }
    self.init(uncheckedIndex: index, count: count)
  }

  /// `I/N`, or `auto`: this task of a Slurm job array (`SLURM_ARRAY_TASK_ID` of
  /// `SLURM_ARRAY_TASK_COUNT`; the array must start at 0).
  public init(parsing text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
    if text == "auto" {
      guard let id = environment["SLURM_ARRAY_TASK_ID"] else {
        throw BertScopeError.invalidInput(
          "--shard auto: not in a Slurm job array (SLURM_ARRAY_TASK_ID is not set); give --shard I/N, or submit an array: sbatch --array=0-<N-1>"
        )
      }
      guard let task = Int(id), let total = environment["SLURM_ARRAY_TASK_COUNT"].flatMap(Int.init) else {
        throw BertScopeError.invalidInput(
          "--shard auto: SLURM_ARRAY_TASK_ID=\(printable(id)), SLURM_ARRAY_TASK_COUNT=\(printable(environment["SLURM_ARRAY_TASK_COUNT"] ?? "unset")): expected numbers"
        )
      }
      if let first = environment["SLURM_ARRAY_TASK_MIN"], first != "0" {
        throw BertScopeError.invalidInput(
          "--shard auto: the job array starts at \(printable(first)); shards count from 0 (submit with --array=0-\(total - 1))"
        )
      }
      if let last = environment["SLURM_ARRAY_TASK_MAX"].flatMap(Int.init), last != total - 1 {
        throw BertScopeError.invalidInput(
          "--shard auto: the job array runs to \(last) but has \(total) tasks; give --array=0-\(total - 1) (no step, no gaps)"
        )
      }
      try self.init(index: task, count: total)
      return
    }
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
      throw BertScopeError.invalidInput(
        "--shard \(printable(text)): expected I/N (e.g. 0/4, shards counted from 0) or auto")
    }
    try self.init(index: i, count: n)
  }

  /// Whether line `number` (from 1) belongs to this shard.
  public func takes(line number: Int) -> Bool { (number - 1) % count == index }

  /// `I/N`.
  public var description: String { "\(index)/\(count)" }
}

/// How far a corpus run got: where it resumes after a checkpoint, and what it counted.
public struct CorpusPosition: Codable, Sendable, Equatable {
  /// Lines of the input consumed (every shard reads every line): the run resumes at line
  /// `lines + 1`.
  public var lines = 0
  /// Texts (non-blank lines, or every line where blank ones count) seen in the whole input,
  /// every shard's: what `CorpusSource.limit` counts.
  public var texts = 0
  /// This shard's texts processed.
  public var examples = 0
  /// Tokens encoded.
  public var tokens = 0
  /// Seconds spent, over every resumption.
  public var seconds = 0.0

  /// The start of a corpus.
  public init() {}

  enum CodingKeys: String, CodingKey { case lines, texts, examples, tokens, seconds }

  /// Decodes a position and refuses one no run can have reached (negative counts).
  public init(from decoder: any Swift.Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    lines = try c.decode(Int.self, forKey: .lines)
    texts = try c.decode(Int.self, forKey: .texts)
    examples = try c.decode(Int.self, forKey: .examples)
    tokens = try c.decode(Int.self, forKey: .tokens)
    seconds = try c.decode(Double.self, forKey: .seconds)
    guard lines >= 0, texts >= 0, examples >= 0, tokens >= 0, seconds.isFinite, seconds >= 0 else {
      throw InvalidValue("a position with negative counts")
    }
  }
}

/// Checkpoints of a corpus run: `save` is called with the position after every
/// `everyBatches` batches (nil: never) and, when a stop is requested (`StopRequest`), after
/// the batch in progress — then the run throws `BertScopeError.interrupted`.
public struct Checkpointing {
  public var everyBatches: Int?
  /// Saves the run's state as of `position` (atomically).
  public var save: (CorpusPosition) throws -> Void
  /// What the interruption message adds after "checkpoint saved at line N": how to go on.
  public var resumeHint: String

  public init(
    everyBatches: Int?, resumeHint: String = "rerun the same command with --resume",
    save: @escaping (CorpusPosition) throws -> Void
  ) {
    self.everyBatches = everyBatches
    self.save = save
    self.resumeHint = resumeHint
  }
}
