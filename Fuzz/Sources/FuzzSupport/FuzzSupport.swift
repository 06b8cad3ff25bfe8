import BertScope
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What every fuzz target checks besides "no crash": errors are `BertScopeError`s with a
/// one-line message, and results satisfy the invariants their types promise. A broken
/// invariant aborts, so libFuzzer keeps the input as a crash artifact.
public enum Fuzz {
  /// Reports `message` and aborts the process.
  public static func fail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    FileHandle.standardError.write(Data("fuzz: invariant broken at \(file):\(line): \(message)\n".utf8))
    abort()
  }

  /// Fails with `message` unless `condition` holds.
  @inline(__always)
  public static func check(
    _ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line
  ) {
    if !condition { fail(message(), file: file, line: line) }
  }

  /// Runs `body`; a thrown error must be a `BertScopeError` whose message is one non-empty line
  /// without control characters.
  /// Returns the value, or nil when `body` threw.
  @discardableResult
  public static func expectTypedError<T>(
    file: StaticString = #fileID, line: UInt = #line, _ body: () throws -> T
  ) -> T? {
    do {
      return try body()
    } catch let error as BertScopeError {
      let text = error.description
      check(!text.isEmpty, "empty error message for \(error)", file: file, line: line)
      if case .kernelBuildFailed = error {
      } else {
        // One line, and nothing that drives a terminal: text from the input must be escaped.
        let raw = text.unicodeScalars.first {
          switch $0.properties.generalCategory {
          case .control, .lineSeparator, .paragraphSeparator: return true
          default: return false
          }
        }
        check(
          raw == nil, "error message holds \(raw.map { $0.escaped(asASCII: true) } ?? ""): \(text.debugDescription)",
          file: file, line: line)
      }
      return nil
    } catch {
      fail("not a BertScopeError: \(type(of: error)): \(error)", file: file, line: line)
    }
  }

  /// The BertScope checkout this fuzzer was built from (`$BERTSCOPE_ROOT` overrides).
  public static var repositoryRoot: URL {
    if let root = ProcessInfo.processInfo.environment["BERTSCOPE_ROOT"], !root.isEmpty {
      return URL(fileURLWithPath: root, isDirectory: true)
    }
    // …/Fuzz/Sources/FuzzSupport/FuzzSupport.swift → …
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url
  }

  /// A committed test fixture, e.g. `Tests/Fixtures/tokenizer/vocab.txt`.
  public static func fixture(_ relative: String) -> URL {
    repositoryRoot.appendingPathComponent(relative)
  }

  /// Loads a fixture at start-up; a missing fixture is a setup error, not a finding.
  public static func load<T>(_ what: String, _ body: () throws -> T) -> T {
    do { return try body() } catch {
      FileHandle.standardError.write(Data("fuzz: cannot load \(what): \(error) (set BERTSCOPE_ROOT?)\n".utf8))
      exit(2)
    }
  }

  /// The fuzz input as `Data` (copied: libFuzzer's buffer is only valid during the call).
  public static func data(_ start: UnsafeRawPointer?, _ count: Int) -> Data {
    guard let start, count > 0 else { return Data() }
    return Data(bytes: start, count: count)
  }

  /// The number of Unicode scalars (Python `str` length) of `text`.
  public static func scalarCount(_ text: String) -> Int { text.unicodeScalars.count }

  /// Checks what `BertTokenizer.encode` promises about `e`, the encoding of `text` (and `pair`)
  /// with at most `limit` tokens: parallel arrays, ids in the vocabulary, tokens matching ids,
  /// `[CLS] A [SEP] (B [SEP])`, segments 0 then 1, offsets inside their text with
  /// non-decreasing starts, and the truncation count consistent with `pieces` (the untruncated
  /// word pieces of each text, when given).
  public static func checkEncoding(
    _ e: Encoding, tokenizer: BertTokenizer, text: String, pair: String?, limit: Int,
    pieces: (first: Int, second: Int)? = nil
  ) {
    let n = e.count
    let vocabulary = tokenizer.vocabulary
    check(e.tokens.count == n && e.segments.count == n && e.offsets.count == n, "array lengths differ")
    let specials = pair == nil ? 2 : 3
    check(n >= specials, "\(n) tokens, fewer than the \(specials) specials")
    check(n <= limit, "\(n) tokens, over the limit \(limit)")
    for (i, id) in e.ids.enumerated() {
      check(id >= 0 && Int(id) < vocabulary.count, "id \(id) at \(i) outside 0..<\(vocabulary.count)")
      check(e.tokens[i].utf8.elementsEqual(vocabulary.tokens[Int(id)].utf8), "token \(i) does not match its id")
    }
    check(e.ids[0] == tokenizer.clsID && e.offsets[0] == nil, "does not start with [CLS]")
    check(e.ids[n - 1] == tokenizer.sepID && e.offsets[n - 1] == nil, "does not end with [SEP]")
    let firstEnd = e.segments.firstIndex(of: 1) ?? n
    check(pair != nil || firstEnd == n, "segment 1 without a pair")
    check(e.segments[..<firstEnd].allSatisfy { $0 == 0 }, "segments of the first text are not all 0")
    check(e.segments[firstEnd...].allSatisfy { $0 == 1 }, "segments after the first 1 are not all 1")
    check(e.ids[firstEnd - 1] == tokenizer.sepID && e.offsets[firstEnd - 1] == nil, "first text not closed by [SEP]")
    let lengths = [scalarCount(text), pair.map(scalarCount) ?? 0]
    var previousStart = [-1, -1]
    for i in 1..<(n - 1) where i != firstEnd - 1 {
      let side = Int(e.segments[i])
      guard let range = e.offsets[i] else { fail("token \(i) (\(e.tokens[i])) from the text has no offsets") }
      check(
        range.lowerBound >= 0 && range.upperBound <= lengths[side],
        "offsets \(range) outside the text (\(lengths[side]) scalars)")
      check(!range.isEmpty, "empty offsets \(range) at \(i)")
      check(
        range.lowerBound >= previousStart[side],
        "offsets go backwards at \(i): \(range) after start \(previousStart[side])")
      previousStart[side] = range.lowerBound
    }
    if let pieces {
      let kept = n - specials
      check(
        e.truncatedTokens == pieces.first + pieces.second - kept,
        "truncatedTokens \(e.truncatedTokens) but \(pieces) pieces and \(kept) kept")
      check(e.truncatedTokens == 0 || n == limit, "truncated to \(n), not to the limit \(limit)")
    }
  }

  /// Checks `wordPieces(text)`: ids in range, tokens matching ids, offsets inside the text.
  public static func checkPieces(_ pieces: [WordPiece], tokenizer: BertTokenizer, text: String) {
    let length = scalarCount(text)
    var previous = -1
    for p in pieces {
      check(p.id >= 0 && Int(p.id) < tokenizer.vocabulary.count, "piece id \(p.id) out of range")
      check(
        p.token.utf8.elementsEqual(tokenizer.vocabulary.tokens[Int(p.id)].utf8), "piece token does not match its id")
      check(
        p.offsets.lowerBound >= 0 && p.offsets.upperBound <= length && !p.offsets.isEmpty,
        "piece offsets \(p.offsets) outside 0..<\(length)")
      check(p.offsets.lowerBound >= previous, "piece offsets go backwards: \(p.offsets) after \(previous)")
      previous = p.offsets.lowerBound
    }
  }
}

/// Reads fuzzer-chosen parameters off the front of the input.
public struct ByteReader {
  public private(set) var rest: Data

  public init(_ data: Data) { rest = data }

  /// The next byte, or 0 when the input is used up.
  public mutating func byte() -> UInt8 {
    guard let b = rest.first else { return 0 }
    rest = rest.dropFirst()
    return b
  }

  /// Splits the rest at `fraction / 256` of its length.
  public func split(at fraction: UInt8) -> (Data, Data) {
    let cut = rest.startIndex + rest.count * Int(fraction) / 256
    return (Data(rest[rest.startIndex..<cut]), Data(rest[cut...]))
  }
}

/// Serves fuzz inputs as a real file would be read: an unlinked scratch file, rewritten for
/// each input, opened afresh as a `FileHandle` positioned at its start.
public final class ScratchFile: Sendable {
  private let fd: Int32

  public init(_ name: String) {
    var template = Array((NSTemporaryDirectory() + "/bertscope-fuzz-\(name).XXXXXX").utf8CString)
    let fd = mkstemp(&template)
    guard fd >= 0 else { Fuzz.fail("cannot create a scratch file in \(NSTemporaryDirectory())") }
    unlink(template)
    self.fd = fd
  }

  /// Replaces the contents with `bytes` and returns a new handle reading them from the start.
  public func handle(with bytes: [UInt8]) -> FileHandle {
    guard ftruncate(fd, 0) == 0 else { Fuzz.fail("ftruncate failed") }
    var written = 0
    while written < bytes.count {
      let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + written, bytes.count - written, off_t(written)) }
      guard n > 0 else { Fuzz.fail("write to the scratch file failed") }
      written += n
    }
    let copy = dup(fd)
    lseek(copy, 0, SEEK_SET)
    return FileHandle(fileDescriptor: copy, closeOnDealloc: true)
  }
}
