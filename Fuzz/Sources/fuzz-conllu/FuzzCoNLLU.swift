import BertScope
import BertScopeAnalysis
import Foundation
import FuzzSupport

#if canImport(Glibc)
  import Glibc
#endif

/// CoNLL-U files as `bertscope linguistic` reads them (`CoNLLUSentences` over `CorpusReader`),
/// then each sentence aligned to the real vocabulary's pieces (`WordAlignment`), made
/// word-level from a uniform map and scored (`LinguisticState`).
///
/// Checks: every error is a one-line `BertScopeError` naming `in.conllu:<line>`; a sentence
/// has words, its line lies within what was read, every HEAD is 0…n; an alignment starts with
/// [CLS] and ends with [SEP], maps each token to a word 0…n + 1 in order and fits the maximum;
/// word-level rows sum to 1; predictions are words 1…n other than the row's own.
let tokenizer = Fuzz.load("the real vocabulary") {
  Tokenizer(
    try BertTokenizer(vocabulary: try Vocabulary(contentsOf: Fuzz.fixture("Tests/Fixtures/tokenizer/vocab.txt"))))
}

let scratch = ScratchFile("conllu")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCoNLLU(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
  let reader = CorpusReader(
    handle: scratch.handle(with: [UInt8](Fuzz.data(start, count))), name: "in.conllu", chunkSize: 89)
  let sentences = CoNLLUSentences(reader)
  while true {
    let unit: CorpusUnit<CoNLLUSentence>?
    do {
      unit = try sentences.nextUnit()
    } catch let error as BertScopeError {
      _ = Fuzz.expectTypedError { throw error }
      if case .invalidInput(let message) = error {
        Fuzz.check(message.hasPrefix("in.conllu:"), "error does not name the file: \(message)")
      }
      return 0
    } catch {
      Fuzz.fail("not a BertScopeError: \(error)")
    }
    guard let unit, let sentence = unit.value else { break }
    let n = sentence.words.count
    Fuzz.check(n > 0, "a sentence without words")
    Fuzz.check(sentence.line >= 1 && sentence.line <= unit.lastLine && unit.lastLine <= reader.linesRead, "lines")
    Fuzz.check(sentence.words.allSatisfy { ($0.head ?? 0) >= 0 && ($0.head ?? 0) <= n }, "HEAD out of range")
    guard case .success(let a) = WordAlignment.align(sentence.words.map(\.form), tokenizer: tokenizer, maxLength: 128)
    else { continue }
    let L = a.encoding.count
    Fuzz.check(
      L <= 128 && a.wordOfToken.count == L && a.encoding.ids.first == tokenizer.clsID
        && a.encoding.ids.last == tokenizer.sepID, "alignment shape")
    Fuzz.check(a.wordOfToken.first == 0 && a.wordOfToken.last == n + 1, "special words")
    Fuzz.check(zip(a.wordOfToken, a.wordOfToken.dropFirst()).allSatisfy { $1 == $0 || $1 == $0 + 1 }, "word order")
    let uniform = [Float](repeating: 1 / Float(L), count: L * L)
    let w = uniform.withUnsafeBufferPointer { a.wordMap($0) }
    let P = n + 2
    for r in 0..<P {
      let sum = w[(r * P)..<((r + 1) * P)].reduce(0, +)
      Fuzz.check(abs(sum - 1) < 1e-4, "row \(r) sums to \(sum)")
    }
    let targets = LinguisticFeature.allCases.map { $0.targets(in: sentence) }
    let scores = w.withUnsafeBufferPointer { LinguisticState.scores(wordMap: $0, words: n, targets: targets) }
    for x in stride(from: 1, through: n, by: 1) where n > 1 {
      let p = scores.prediction[x]
      Fuzz.check(p >= 1 && p <= n && p != x, "prediction \(p) for word \(x) of \(n)")
    }
    var state = LinguisticState(layers: 1, heads: 1)
    state.add(sentence, alignment: a, targets: targets, maps: [scores])
    Fuzz.check(state.arcs <= n, "more arcs than words")
  }
  return 0
}
