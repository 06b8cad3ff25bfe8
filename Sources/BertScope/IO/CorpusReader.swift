import Foundation

/// One line of a corpus: a text, or two texts separated by a TAB, plus any further
/// TAB-separated fields (a score or a label, for the tasks that read them).
public struct CorpusLine: Sendable, Equatable {
  /// 1-based line number in the file.
  public let number: Int
  /// The line split on TAB, empty fields kept; never empty (an empty line is one empty field).
  public let fields: [String]
  /// The first text: the whole line when it has no TAB.
  public var text: String { fields[0] }
  /// The second text of a pair, when the line has a TAB.
  public var pair: String? { fields.count > 1 ? fields[1] : nil }
}

/// Reads a corpus line by line without holding the file in memory, so that a corpus of
/// millions of lines streams in constant memory. `\n` and `\r\n` line ends; a UTF-8 BOM
/// at the start is dropped; invalid UTF-8 is an error naming the line.
public final class CorpusReader: Sequence, IteratorProtocol {
  /// The file's path as given, or `<stdin>` for `-`, or the name given to ``init(handle:name:chunkSize:maxLineBytes:)``; used in errors.
  public let path: String
  private let handle: FileHandle
  /// Bytes read but not yet returned start at `position`; the first `scanned` of them hold no `\n`.
  private var buffer: [UInt8] = []
  private var position = 0
  private var scanned = 0
  private var atEnd = false
  private var lineNumber = 0
  private let chunkSize: Int
  private let maxLineBytes: Int
  private var bytesRead = 0
  /// Published for `RunProgress` (an interrupted run reports how far it got).
  private let published: RunProgress.Position
  /// Longest accepted line (bytes before its `\n`), so that a binary file without newlines
  /// cannot exhaust memory.
  public static let maxLineBytes = 16 << 20
  /// The error that stopped iteration through `next()`, if any: check it after a `for` loop,
  /// or call ``nextLine()``, which throws instead.
  public private(set) var error: BertScopeError?

  /// Lines returned so far (including one that failed to decode).
  public var linesRead: Int { lineNumber }

  /// Bytes of the input read so far (ahead of the lines returned, by up to one chunk).
  public var bytesConsumed: Int { bytesRead }

  /// Sees every chunk of the input as it is read, in order, exactly once: e.g. a hash of the
  /// whole input computed while it streams.
  public var observeBytes: ((UnsafeRawBufferPointer) -> Void)?

  /// Opens `path`; `-` reads standard input.
  public init(path: String) throws {
    self.path = path == "-" ? "<stdin>" : path
    chunkSize = 1 << 20
    maxLineBytes = Self.maxLineBytes
    if path == "-" {
      handle = FileHandle.standardInput
    } else {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw BertScopeError.io(path: path, problem: "no such file")
      }
      guard !isDirectory.boolValue else {
        throw BertScopeError.io(path: path, problem: "is a folder, expected a text file")
      }
      guard let h = FileHandle(forReadingAtPath: path) else {
        throw BertScopeError.io(path: path, problem: "cannot open for reading")
      }
      handle = h
    }
    published = RunProgress.Position(path: self.path, fileDescriptor: handle.fileDescriptor)
    RunProgress.track(published)
  }

  /// Reads from an open `handle` (a pipe, a socket, a memory file); `name` is used in errors.
  /// `chunkSize` and `maxLineBytes` exist for tests and fuzzers.
  public init(handle: FileHandle, name: String, chunkSize: Int = 1 << 20, maxLineBytes: Int = CorpusReader.maxLineBytes)
  {
    path = name
    self.handle = handle
    self.chunkSize = Swift.max(1, chunkSize)
    self.maxLineBytes = Swift.max(1, maxLineBytes)
    published = RunProgress.Position(path: name, fileDescriptor: handle.fileDescriptor)
    RunProgress.track(published)
  }

  /// The next line, or nil at the end of the input. Throws on invalid UTF-8 or an over-long line.
  public func nextLine() throws -> CorpusLine? {
    while true {
      let searchFrom = position + scanned
      let newline: Int? = buffer.withUnsafeBufferPointer { all in
        guard searchFrom < all.count, let base = all.baseAddress,
          let hit = memchr(base + searchFrom, 0x0A, all.count - searchFrom)
        else { return nil }
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
      }
      if let newline {
        try checkLength(newline - position)
        let line = buffer[position..<newline]
        position = newline + 1
        scanned = 0
        return try decode(line.last == 0x0D ? line.dropLast() : line)
      }
      scanned = buffer.count - position
      try checkLength(scanned)
      if atEnd {
        if scanned == 0 { return nil }
        let line = buffer[position...]
        position = buffer.count
        scanned = 0
        return try decode(line.last == 0x0D ? line.dropLast() : line)
      }
      // Drop the lines already returned before reading more: each byte moves at most once.
      if position > 0 {
        buffer.removeSubrange(0..<position)
        position = 0
      }
      let chunk: Data
      do {
        chunk = try handle.read(upToCount: chunkSize) ?? Data()
      } catch {
        throw BertScopeError.io(path: path, problem: "read failed: \(error.localizedDescription)")
      }
      if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
      if let observeBytes, !chunk.isEmpty { chunk.withUnsafeBytes { observeBytes($0) } }
      bytesRead += chunk.count
    }
  }

  private func checkLength(_ bytes: Int) throws {
    guard bytes <= maxLineBytes else {
      throw BertScopeError.invalidInput(
        "\(path):\(lineNumber + 1): line longer than \(maxLineBytes) bytes (is this a text file?)")
    }
  }

  private func decode(_ data: ArraySlice<UInt8>) throws -> CorpusLine {
    lineNumber += 1
    published.lines.store(lineNumber, ordering: .relaxed)
    published.bytes.store(bytesRead - (buffer.count - position), ordering: .relaxed)
    var bytes = data
    if lineNumber == 1, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw BertScopeError.invalidInput("\(path):\(lineNumber): not valid UTF-8")
    }
    let fields = text.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
    return CorpusLine(number: lineNumber, fields: fields)
  }

  /// Reads the rest of the input without decoding it, so that `observeBytes` sees all of it
  /// (a run that stops early still hashes the whole input).
  public func readToEnd() throws {
    while !atEnd {
      let chunk: Data
      do {
        chunk = try handle.read(upToCount: chunkSize) ?? Data()
      } catch {
        throw BertScopeError.io(path: path, problem: "read failed: \(error.localizedDescription)")
      }
      if chunk.isEmpty { atEnd = true }
      if let observeBytes, !chunk.isEmpty { chunk.withUnsafeBytes { observeBytes($0) } }
      bytesRead += chunk.count
    }
    buffer.removeAll()
    position = 0
    scanned = 0
  }

  /// Iterator form; stops at the first error and keeps it in `error`.
  public func next() -> CorpusLine? {
    guard error == nil else { return nil }
    do { return try nextLine() } catch let e as BertScopeError {
      error = e
      return nil
    } catch {
      self.error = .io(path: path, problem: "\(error)")
      return nil
    }
  }

  /// Reads `count` lines at most (fewer at the end).
  public func nextBatch(_ count: Int) throws -> [CorpusLine] {
    var lines: [CorpusLine] = []
    // Not `count`: a batch size of 100,000,000 must not reserve gigabytes up front.
    lines.reserveCapacity(Swift.min(count, 1024))
    while lines.count < count, let line = try nextLine() { lines.append(line) }
    return lines
  }
}

/// A one-line progress report on standard error: rewritten in place on a terminal,
/// a line every few seconds otherwise (logs, CI).
public final class Progress: @unchecked Sendable {
  private let label: String
  private let total: Int?
  private let start = Date()
  private var last = Date.distantPast
  private let interactive = isatty(2) == 1
  private let lock = NSLock()
  private let enabled: Bool
  private var printed = false
  private var lastDone = -1
  private var latestDone: Int?

  /// Starts a progress report and registers it with `RunProgress`.
  /// - Parameters:
  ///   - label: what is counted, printed first (`"lines"`, `"batches"`).
  ///   - total: expected item count, when known.
  ///   - enabled: false silences it (`--quiet`).
  public init(_ label: String, total: Int? = nil, enabled: Bool = true) {
    self.label = label
    self.total = total
    self.enabled = enabled
    RunProgress.track(self)
  }

  /// The label, the latest count reported and the total, once something was reported.
  func snapshot() -> (label: String, done: Int, total: Int?)? {
    lock.lock()
    defer { lock.unlock() }
    return latestDone.map { (label, $0, total) }
  }

  /// Reports `done` items (and optionally tokens) so far, with rates per second.
  ///
  /// Prints at most every 0.2 s on a terminal and every 5 s otherwise; `force` prints now
  /// unless the count has not changed since the last line.
  public func update(_ done: Int, tokens: Int? = nil, force: Bool = false) {
    lock.lock()
    defer { lock.unlock() }
    latestDone = done
    guard enabled else { return }
    let now = Date()
    let interval = interactive ? 0.2 : 5.0
    guard force || now.timeIntervalSince(last) >= interval else { return }
    guard done != lastDone || !force else { return }
    last = now
    lastDone = done
    let elapsed = now.timeIntervalSince(start)
    var line = "\(label): \(done)"
    if let total { line += "/\(total)" }
    if elapsed > 0 {
      line += String(format: " (%.0f/s", Double(done) / elapsed)
      if let tokens { line += String(format: ", %.0f tokens/s", Double(tokens) / elapsed) }
      line += String(format: ", %.1f s)", elapsed)
    }
    FileHandle.standardError.write(Data((interactive ? "\r\u{1B}[K" + line : line + "\n").utf8))
    printed = true
  }

  /// Prints the final count and ends the progress line.
  public func finish(_ done: Int, tokens: Int? = nil) {
    update(done, tokens: tokens, force: true)
    if enabled && interactive && printed { FileHandle.standardError.write(Data("\n".utf8)) }
  }
}

/// Writes a line to standard error.
public func printError(_ message: String) {
  FileHandle.standardError.write(Data((message + "\n").utf8))
}
