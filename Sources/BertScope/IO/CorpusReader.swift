import Foundation

/// One line of a corpus: a text, or two texts separated by a TAB, plus any further
/// TAB-separated fields (a score or a label, for the tasks that read them).
public struct CorpusLine: Sendable, Equatable {
  /// 1-based line number in the file.
  public let number: Int
  public let fields: [String]
  public var text: String { fields[0] }
  /// The second text of a pair, when the line has a TAB.
  public var pair: String? { fields.count > 1 ? fields[1] : nil }
}

/// Reads a corpus line by line without holding the file in memory, so that a corpus of
/// millions of lines streams in constant memory. `\n` and `\r\n` line ends; a UTF-8 BOM
/// at the start is dropped; invalid UTF-8 is an error naming the line.
public final class CorpusReader: Sequence, IteratorProtocol {
  public let path: String
  private let handle: FileHandle
  private var buffer = Data()
  private var atEnd = false
  private var lineNumber = 0
  private let chunkSize = 1 << 20
  /// Longest accepted line, so that a binary file without newlines cannot exhaust memory.
  public static let maxLineBytes = 16 << 20
  /// The error that stopped iteration, if any (check after the loop, or use `next()` via `nextLine()`).
  public private(set) var error: BertScopeError?

  /// Opens `path`; `-` reads standard input.
  public init(path: String) throws {
    self.path = path == "-" ? "<stdin>" : path
    if path == "-" {
      handle = FileHandle.standardInput
    } else {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw BertScopeError.io(path: path, problem: "no such file")
      }
      guard !isDirectory.boolValue else { throw BertScopeError.io(path: path, problem: "is a folder, expected a text file") }
      guard let h = FileHandle(forReadingAtPath: path) else {
        throw BertScopeError.io(path: path, problem: "cannot open for reading")
      }
      handle = h
    }
  }

  /// The next line, or nil at the end of the input. Throws on invalid UTF-8 or an over-long line.
  public func nextLine() throws -> CorpusLine? {
    while true {
      if let newline = buffer.firstIndex(of: 0x0A) {
        var lineData = buffer[buffer.startIndex..<newline]
        buffer.removeSubrange(buffer.startIndex...newline)
        if lineData.last == 0x0D { lineData = lineData.dropLast() }
        return try decode(lineData)
      }
      if atEnd {
        if buffer.isEmpty { return nil }
        let lineData = buffer
        buffer = Data()
        return try decode(lineData.last == 0x0D ? lineData.dropLast() : lineData)
      }
      if buffer.count > Self.maxLineBytes {
        throw BertScopeError.invalidInput("\(path):\(lineNumber + 1): line longer than \(Self.maxLineBytes) bytes (is this a text file?)")
      }
      let chunk: Data
      do {
        chunk = try handle.read(upToCount: chunkSize) ?? Data()
      } catch {
        throw BertScopeError.io(path: path, problem: "read failed: \(error.localizedDescription)")
      }
      if chunk.isEmpty { atEnd = true } else { buffer.append(chunk) }
    }
  }

  private func decode(_ data: Data) throws -> CorpusLine {
    lineNumber += 1
    var bytes = data
    if lineNumber == 1, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw BertScopeError.invalidInput("\(path):\(lineNumber): not valid UTF-8")
    }
    let fields = text.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
    return CorpusLine(number: lineNumber, fields: fields)
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
    lines.reserveCapacity(count)
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

  /// - Parameters:
  ///   - total: expected item count, when known.
  ///   - enabled: false silences it (`--quiet`).
  public init(_ label: String, total: Int? = nil, enabled: Bool = true) {
    self.label = label
    self.total = total
    self.enabled = enabled
  }

  /// Reports `done` items (and optionally tokens) so far; prints at most a few times a second.
  public func update(_ done: Int, tokens: Int? = nil, force: Bool = false) {
    guard enabled else { return }
    lock.lock()
    defer { lock.unlock() }
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

  /// Ends the progress line.
  public func finish(_ done: Int, tokens: Int? = nil) {
    update(done, tokens: tokens, force: true)
    if enabled && interactive && printed { FileHandle.standardError.write(Data("\n".utf8)) }
  }
}

/// Writes a line to standard error.
public func printError(_ message: String) {
  FileHandle.standardError.write(Data((message + "\n").utf8))
}
