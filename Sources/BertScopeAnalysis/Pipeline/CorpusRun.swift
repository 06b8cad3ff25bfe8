import BertScope
import Foundation

/// What a corpus run reads: one text per line (a TAB separates a pair, further fields carry
/// scores or labels), `-` for standard input, in batches.
public struct CorpusSource: Sendable, Equatable {
  /// The file, or `-`.
  public var path: String
  /// Corpus lines per batch (`--batch-size`); a batch whose attention maps would not fit the
  /// memory budget is encoded in smaller runs.
  public var batchSize: Int
  /// At most this many texts, from the start.
  public var limit: Int?

  /// Reads `path` (`-` for stdin) `batchSize` lines at a time, at most `limit` texts.
  public init(path: String, batchSize: Int = 32, limit: Int? = nil) {
    self.path = path
    self.batchSize = batchSize
    self.limit = limit
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
  /// Seconds from opening the corpus to its end.
  public var seconds: Double
}

/// The loop every corpus command shares: read → batches → the caller's step per batch, with
/// a progress line and flat memory (one batch held at a time).
public enum CorpusRun {
  /// Streams `source` in batches of up to `batchSize` lines (at most `limit` in all), skipping
  /// blank lines when `skipBlank` (the analyses do; `embed` keeps a row per line). `body` gets
  /// each batch and the reader's display path and returns the tokens it encoded. Throws when
  /// the input has no texts, unless `allowEmpty`.
  public static func forEachBatch(
    _ source: CorpusSource, progress: BertScope.Progress, skipBlank: Bool = true, allowEmpty: Bool = false,
    _ body: (_ lines: [CorpusLine], _ path: String) throws -> Int
  ) throws -> RunCount {
    guard source.batchSize >= 1 else { throw BertScopeError.invalidInput("the batch size must be at least 1") }
    let start = DispatchTime.now().uptimeNanoseconds
    let reader = try CorpusReader(path: source.path)
    let limit = source.limit ?? .max
    var examples = 0, tokens = 0
    while examples < limit {
      var lines: [CorpusLine] = []
      lines.reserveCapacity(Swift.min(source.batchSize, 1024))
      while lines.count < Swift.min(source.batchSize, limit - examples), let line = try reader.nextLine() {
        if skipBlank && line.fields.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
        lines.append(line)
      }
      if lines.isEmpty { break }
      tokens += try body(lines, reader.path)
      examples += lines.count
      progress.update(examples, tokens: tokens)
    }
    progress.finish(examples, tokens: tokens)
    guard examples > 0 || allowEmpty else {
      throw BertScopeError.invalidInput("\(reader.path): no texts (the input is empty or blank)")
    }
    return RunCount(examples: examples, tokens: tokens, seconds: secondsSince(start))
  }
}

/// Seconds since `start` (`DispatchTime.now().uptimeNanoseconds`).
public func secondsSince(_ start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
