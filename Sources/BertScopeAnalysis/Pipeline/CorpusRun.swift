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

/// What a corpus run reads one unit at a time from its input: a line (``LineUnits``) or a
/// CoNLL-U sentence (`CoNLLUSentences`). Units are read from a ``CorpusReader``, so that
/// resumption (which skips the lines a checkpoint consumed) and input hashing work on lines,
/// whatever the unit.
public protocol CorpusUnits<Unit>: AnyObject {
  associatedtype Unit
  /// The line reader the units come from.
  var reader: CorpusReader { get }
  /// What the units are called in messages: `texts`, `sentences`.
  var unitName: String { get }
  /// The next unit, nil at the end of the input.
  func nextUnit() throws -> CorpusUnit<Unit>?
}

/// One unit of a corpus and where it lies in the input.
public struct CorpusUnit<Unit> {
  /// The unit (nil for a blank line, which advances the position but is no text).
  public var value: Unit?
  /// The last line the unit took: a run resumed after it starts at the next line.
  public var lastLine: Int
  /// The number `Shard.takes(line:)` decides on: a line's number, or nil for the unit's
  /// ordinal among the input's texts (from 1), which a sentence uses.
  public var shardKey: Int?

  public init(_ value: Unit?, lastLine: Int, shardKey: Int?) {
    self.value = value
    self.lastLine = lastLine
    self.shardKey = shardKey
  }
}

/// A corpus of lines: one text per line (a TAB separates a pair); blank lines are no texts
/// when `skipBlank`.
public final class LineUnits: CorpusUnits {
  public let reader: CorpusReader
  public let skipBlank: Bool
  public var unitName: String { "texts" }

  public init(_ reader: CorpusReader, skipBlank: Bool = true) {
    self.reader = reader
    self.skipBlank = skipBlank
  }

  public func nextUnit() throws -> CorpusUnit<CorpusLine>? {
    guard let line = try reader.nextLine() else { return nil }
    let blank = skipBlank && line.fields.allSatisfy { $0.trimmingCharacters(in: .whitespaces).isEmpty }
    return CorpusUnit(blank ? nil : line, lastLine: line.number, shardKey: line.number)
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
    try forEachBatch(
      source, units: { LineUnits($0, skipBlank: skipBlank) }, progress: progress, allowEmpty: allowEmpty, from: start,
      checkpoint: checkpoint, observeBytes: observeBytes, body)
  }

  /// ``forEachBatch(_:progress:skipBlank:allowEmpty:from:checkpoint:observeBytes:_:)`` over the
  /// units `units` reads from the input (lines, CoNLL-U sentences): `batchSize` and `limit`
  /// count units, and a shard takes the units whose ordinal (or line, for lines) it owns.
  public static func forEachBatch<Units: CorpusUnits>(
    _ source: CorpusSource, units makeUnits: (CorpusReader) throws -> Units, progress: BertScope.Progress,
    allowEmpty: Bool = false, from start: CorpusPosition = CorpusPosition(), checkpoint: Checkpointing? = nil,
    observeBytes: ((UnsafeRawBufferPointer) -> Void)? = nil,
    _ body: (_ units: [Units.Unit], _ path: String) throws -> Int
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
    let units = try makeUnits(reader)
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
      var batch: [Units.Unit] = []
      batch.reserveCapacity(Swift.min(source.batchSize, 1024))
      while batch.count < source.batchSize, position.texts < limit, let unit = try units.nextUnit() {
        position.lines = unit.lastLine
        guard let value = unit.value else { continue }
        position.texts += 1
        if source.shard.takes(line: unit.shardKey ?? position.texts) { batch.append(value) }
      }
      // Nothing more for this shard: the end of the input, or of the limit.
      if batch.isEmpty { break }
      position.tokens += try body(batch, reader.path)
      position.examples += batch.count
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
              + "(\(position.examples) \(units.unitName) done); \(checkpoint.resumeHint)")
        }
      }
    }
    progress.finish(position.examples, tokens: position.tokens)
    guard position.texts > 0 || allowEmpty else {
      throw BertScopeError.invalidInput("\(reader.path): no \(units.unitName) (the input is empty or blank)")
    }
    if observeBytes != nil { try reader.readToEnd() }
    return RunCount(now())
  }
}

/// Seconds since `start` (`DispatchTime.now().uptimeNanoseconds`).
public func secondsSince(_ start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
