import BertScope
import Foundation

/// What a corpus run reads: one text per line (a TAB separates a pair, further fields carry
/// scores or labels), `-` for standard input, in batches.
public struct CorpusSource: Sendable, Equatable {
  /// The file, or `-`.
  public var path: String
  /// Corpus lines per batch (an upper bound: long texts are split further to fit memory).
  public var batchSize: Int
  /// At most this many texts, from the start of the whole corpus (every shard counts them all).
  public var limit: Int?
  /// The part of the corpus this run takes.
  public var shard: Shard

  /// Reads `path` (`-` for stdin) `batchSize` lines at a time, at most `limit` texts, the
  /// lines of `shard`.
  public init(path: String, batchSize: Int = 32, limit: Int? = nil, shard: Shard = .whole) {
    self.path = path
    self.batchSize = batchSize
    self.limit = limit
    self.shard = shard
  }

  /// The options recorded in an analysis file for this source.
  public var options: RunOptions { RunOptions(input: path, batchSize: batchSize, limit: limit) }
}

/// How much a run processed and how long it took.
public struct RunCount: Sendable, Equatable {
  /// Texts (lines) processed.
  public var examples: Int
  /// Tokens encoded (for throughput).
  public var tokens: Int
  /// Seconds from opening the corpus to its end (over every resumption of the run).
  public var seconds: Double
  /// Where the run ended: lines read, texts seen, ….
  public var position: CorpusPosition

  public init(_ position: CorpusPosition) {
    examples = position.examples
    tokens = position.tokens
    seconds = position.seconds
    self.position = position
  }
}

/// The loop every corpus command shares: read → batches → the caller's step per batch, with
/// a progress line and flat memory (one batch held at a time); the lines of one shard;
/// checkpoints and resumption.
public enum CorpusRun {
  /// Streams `source` in batches of up to `batchSize` lines (at most `limit` texts in all, the
  /// lines of its shard), skipping blank lines when `skipBlank` (the analyses do; `embed` keeps
  /// a row per line). `body` gets each batch and the reader's display path and returns the
  /// tokens it encoded.
  ///
  /// - Parameters:
  ///   - start: where to resume (the lines a checkpoint consumed are read again, not processed).
  ///   - checkpoint: saves the run's state every few batches and when a stop is requested.
  ///   - observeBytes: sees the whole input as it is read (also past `limit`).
  /// - Throws: when the input has no texts at all (unless `allowEmpty`; a shard may get none),
  ///   `BertScopeError.interrupted` after a checkpoint saved on a stop request.
  public static func forEachBatch(
    _ source: CorpusSource, progress: BertScope.Progress, skipBlank: Bool = true, allowEmpty: Bool = false,
    from start: CorpusPosition = CorpusPosition(), checkpoint: Checkpointing? = nil,
    observeBytes: ((UnsafeRawBufferPointer) -> Void)? = nil,
    _ body: (_ lines: [CorpusLine], _ path: String) throws -> Int
  ) throws -> RunCount {
    guard source.batchSize >= 1 else { throw BertScopeError.invalidInput("the batch size must be at least 1") }
    let began = DispatchTime.now().uptimeNanoseconds
    let reader = try CorpusReader(path: source.path)
    reader.observeBytes = observeBytes
    var position = start
    while reader.linesRead < start.lines {
      guard try reader.nextLine() != nil else {
        throw BertScopeError.invalidInput(
          "\(reader.path): has \(reader.linesRead) lines, but the checkpoint resumes after line \(start.lines): the input changed"
        )
      }
    }
    if checkpoint != nil { StopRequest.arm() }
    defer { if checkpoint != nil { StopRequest.disarm() } }
    let limit = source.limit ?? .max
    var batches = 0
    func now() -> CorpusPosition {
      var p = position
      p.seconds = start.seconds + secondsSince(began)
      return p
    }
    while position.texts < limit {
      var lines: [CorpusLine] = []
      lines.reserveCapacity(Swift.min(source.batchSize, 1024))
      while lines.count < source.batchSize, position.texts < limit, let line = try reader.nextLine() {
        position.lines = line.number
        if skipBlank && line.fields.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
        position.texts += 1
        if source.shard.takes(line: line.number) { lines.append(line) }
      }
      // Nothing more for this shard: the end of the input, or of the limit.
      if lines.isEmpty { break }
      position.tokens += try body(lines, reader.path)
      position.examples += lines.count
      progress.update(position.examples, tokens: position.tokens)
      batches += 1
      if let checkpoint {
        let stop = StopRequest.pending
        if stop != nil || checkpoint.everyBatches.map({ batches % $0 == 0 }) == true { try checkpoint.save(now()) }
        if let stop {
          throw BertScopeError.interrupted(
            signal: stop,
            message:
              "interrupted (\(StopRequest.name(stop))): checkpoint saved after line \(position.lines) of \(reader.path) "
              + "(\(position.examples) texts done); \(checkpoint.resumeHint)")
        }
      }
    }
    progress.finish(position.examples, tokens: position.tokens)
    guard position.texts > 0 || allowEmpty else {
      throw BertScopeError.invalidInput("\(reader.path): no texts (the input is empty or blank)")
    }
    if observeBytes != nil { try reader.readToEnd() }
    return RunCount(now())
  }
}

/// Seconds since `start` (`DispatchTime.now().uptimeNanoseconds`).
public func secondsSince(_ start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
