import BertScope
import BertScopeAnalysis
import Foundation
import FuzzSupport

#if canImport(Glibc)
  import Glibc
#endif

/// The line parsers of the analyses on arbitrary files, read as the CLI reads them (through
/// `CorpusReader`): `relations` JSON Lines (`RelationExample.parse`, then the spans mapped to
/// the tokens of the text, with the real vocabulary), and `ablate`'s labelled TSVs
/// (`AblationInput.similarity` and `.classification`).
///
/// Input: byte 0 picks the parser (and, for classification, the number of classes and whether
/// the checkpoint names its labels); the rest is the file. Checks: every error is a one-line
/// `BertScopeError` naming the file and line; parsed spans lie inside the text and map only to
/// tokens whose source range overlaps them; scores are finite; labels are valid class indices.
let tokenizer = Fuzz.load("the real vocabulary") {
  try BertTokenizer(vocabulary: try Vocabulary(contentsOf: Fuzz.fixture("Tests/Fixtures/tokenizer/vocab.txt")))
}

let scratch = ScratchFile("lines")

/// Errors must name the file and the line they are about.
func expectNamed<T>(_ line: Int, _ body: () throws -> T) -> T? {
  do {
    return try body()
  } catch let error as BertScopeError {
    _ = Fuzz.expectTypedError { throw error }
    if case .invalidInput(let message) = error {
      Fuzz.check(message.hasPrefix("in.txt:\(line): "), "error does not name line \(line): \(message)")
    }
    return nil
  } catch {
    Fuzz.fail("not a BertScopeError: \(error)")
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAnalysisLines(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
  var input = ByteReader(Fuzz.data(start, count))
  let choice = input.byte()
  let lines = CorpusReader(handle: scratch.handle(with: [UInt8](input.rest)), name: "in.txt", chunkSize: 97)
  while true {
    let next: CorpusLine?
    do { next = try lines.nextLine() } catch { return 0 }  // the reader itself has its own target
    guard let line = next else { break }
    switch choice % 3 {
    case 0:
      let raw = line.fields.joined(separator: "\t")
      guard
        let example = expectNamed(line.number, { try RelationExample.parse(raw, line: line.number, path: "in.txt") })
      else { continue }
      let length = example.text.unicodeScalars.count
      Fuzz.check(example.line == line.number, "line number")
      guard let encoding = Fuzz.expectTypedError({ try tokenizer.encode(example.text) }) else { continue }
      for (a, b) in example.pairs {
        for span in [a, b] {
          Fuzz.check(span.lowerBound >= 0 && span.upperBound <= length && !span.isEmpty, "span \(span) of \(length)")
          for i in RelationExample.tokens(covering: span, in: encoding) {
            Fuzz.check(i >= 0 && i < encoding.count, "token \(i) of \(encoding.count)")
            Fuzz.check(encoding.offsets[i].map { $0.overlaps(span) } == true, "token \(i) does not overlap \(span)")
          }
        }
      }
    case 1:
      guard let parsed = expectNamed(line.number, { try AblationInput.similarity(line, path: "in.txt") }) else {
        continue
      }
      Fuzz.check(parsed.score.isFinite, "score \(parsed.score)")
      Fuzz.check(parsed.a == line.fields[0] && parsed.b == line.fields[1], "texts")
    default:
      let classes = Int(choice / 3 % 8) + 1
      let names: [String]? = choice & 0x80 != 0 ? (0..<classes).map { "L\($0)" } : nil
      guard
        let parsed = expectNamed(
          line.number,
          {
            try AblationInput.classification(line, classes: classes, names: names, path: "in.txt")
          })
      else { continue }
      Fuzz.check(parsed.label >= 0 && parsed.label < classes, "label \(parsed.label) of \(classes)")
      Fuzz.check(parsed.text == line.fields[0], "text")
    }
  }
  return 0
}
