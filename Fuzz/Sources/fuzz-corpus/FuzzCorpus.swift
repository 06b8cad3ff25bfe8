import BertScope
import Foundation
import FuzzSupport

#if canImport(Glibc)
  import Glibc
#endif

/// `CorpusReader` on arbitrary bytes served from a memory file, with a fuzzer-chosen read
/// chunk (byte 0: 1–256 bytes, so lines cross chunk boundaries) and line limit (byte 1).
/// Checked against a byte-level reading: lines split at `\n`, one final `\r` dropped, a BOM
/// dropped from line 1, fields split at TAB, numbered from 1; invalid UTF-8 and over-long
/// lines stop the reader with an error naming the line.
let scratch = ScratchFile("corpus")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCorpus(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
  var input = ByteReader(Fuzz.data(start, count))
  let chunk = Int(input.byte()) + 1
  let maxLine = Int(input.byte()) * 4 + 1
  let bytes = [UInt8](input.rest)

  // Expected lines, by bytes, and their raw lengths (before `\n`: what the limit applies to).
  var expected: [[UInt8]] = []
  var line: [UInt8] = []
  for b in bytes {
    if b == 0x0A {
      expected.append(line)
      line = []
    } else {
      line.append(b)
    }
  }
  if !line.isEmpty { expected.append(line) }
  let rawLengths = expected.map(\.count)
  for i in expected.indices where expected[i].last == 0x0D { expected[i].removeLast() }
  if let first = expected.first, first.starts(with: [0xEF, 0xBB, 0xBF]) { expected[0].removeFirst(3) }

  let reader = CorpusReader(
    handle: scratch.handle(with: bytes), name: "fuzz.txt", chunkSize: chunk, maxLineBytes: maxLine)

  var number = 0
  while true {
    let result: CorpusLine?
    do {
      result = try reader.nextLine()
    } catch BertScopeError.invalidInput(let message) {
      Fuzz.check(number < expected.count, "error after the last line: \(message)")
      let bad = expected[number]
      let tooLong = rawLengths[number] > maxLine
      let invalid = String(validating: bad, as: UTF8.self) == nil
      Fuzz.check(tooLong || invalid, "line \(number + 1) rejected (\(message)) but it is valid and short")
      Fuzz.check(message.hasPrefix("fuzz.txt:\(number + 1): "), "error does not name line \(number + 1): \(message)")
      return 0
    } catch {
      Fuzz.fail("unexpected error \(error)")
    }
    guard let got = result else { break }
    number += 1
    Fuzz.check(got.number == number, "line numbered \(got.number), expected \(number)")
    Fuzz.check(number <= expected.count, "more lines than the input has")
    let want = expected[number - 1]
    Fuzz.check(
      rawLengths[number - 1] <= maxLine,
      "line \(number) of \(rawLengths[number - 1]) bytes over the \(maxLine)-byte limit accepted")
    Fuzz.check(!got.fields.isEmpty, "line \(number) has no fields")
    Fuzz.check(Array(got.fields.joined(separator: "\t").utf8) == want, "line \(number) differs from the input")
    Fuzz.check(got.text == got.fields[0] && got.pair == (got.fields.count > 1 ? got.fields[1] : nil), "text/pair")
  }
  Fuzz.check(number == expected.count, "read \(number) of \(expected.count) lines")
  return 0
}
