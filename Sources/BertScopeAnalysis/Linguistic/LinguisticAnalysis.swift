import BertScope
import Foundation

/// `bertscope linguistic` over a CoNLL-U corpus: each sentence's words aligned to the model's
/// pieces (`WordAlignment`), every map of every layer and head made word-level, and the
/// feature and dependency statistics added to a `LinguisticState`.
public struct LinguisticAnalysis: CorpusAnalysis {
  public var label: String
  /// The model to run instead of the run's own (the second checkpoint of `--model-b`).
  public var model: AnalysisSession?

  /// The analysis on the run's model, or on `model`; `label` names the progress line.
  public init(label: String = "linguistic", on model: AnalysisSession? = nil) {
    self.label = label
    self.model = model
  }

  public func makeState(for session: AnalysisSession) -> LinguisticState {
    let session = model ?? session
    return LinguisticState(layers: session.config.numLayers, heads: session.config.numHeads)
  }

  public func units(of reader: CorpusReader) -> CoNLLUSentences { CoNLLUSentences(reader) }

  /// Aligns each sentence (skipping, with a count, those longer than the model's maximum or
  /// with a word that gives no piece), runs the batch with every map, and adds the word-level
  /// statistics; returns the tokens encoded.
  public func add(
    _ sentences: [CoNLLUSentence], path: String, session: AnalysisSession, to state: inout LinguisticState
  )
    throws -> Int
  {
    let session = model ?? session
    let maxLength = min(session.tokenizer.maxLength, session.config.maxPositions)
    var aligned: [(sentence: CoNLLUSentence, alignment: WordAlignment)] = []
    for sentence in sentences {
      switch WordAlignment.align(sentence.words.map(\.form), tokenizer: session.tokenizer, maxLength: maxLength) {
      case .success(let a): aligned.append((sentence, a))
      case .failure(let failure):
        state.skip(failure)
        // The first few by name; the rest are counted in the notes and JSON at the end.
        guard state.skippedLong + state.skippedUnaligned <= 3 else { continue }
        switch failure {
        case .tooLong(let tokens, let maximum):
          session.note(
            "\(path):\(sentence.line): skipped a sentence of \(tokens) tokens (the model takes \(maximum))")
        case .noPieces(let word):
          session.note(
            "\(path):\(sentence.line): skipped a sentence: word \(word) (\(printable(sentence.words[word - 1].form))) gives no token"
          )
        }
      }
    }
    let kept = aligned
    let c = session.config
    let maps = c.numLayers * c.numHeads
    let encodings = kept.map(\.alignment.encoding)
    for run in Analysis.mapBatches(encodings.map(\.count), mapsPerSequence: maps) {
      let output = try session.encoder.encode(Array(encodings[run]), options: EncodeOptions(maps: .all))
      let batch = Array(run)
      let targets = batch.map { i in LinguisticFeature.allCases.map { $0.targets(in: kept[i].sentence) } }
      // Every (sentence, map) on its own core; the sums are added in order afterwards.
      let results = ScoreSlots(count: batch.count * maps)
      DispatchQueue.concurrentPerform(iterations: batch.count) { k in
        let a = kept[batch[k]].alignment
        var w = [Double](repeating: 0, count: a.positions * a.positions)
        var scratch = [Double](repeating: 0, count: a.encoding.count * a.positions)
        let sequence = output.maps[k]
        for m in 0..<maps {
          let map = sequence.map(m / c.numHeads, m % c.numHeads)
          w.withUnsafeMutableBufferPointer { wp in
            scratch.withUnsafeMutableBufferPointer { a.wordMap(map, into: wp, scratch: $0) }
          }
          let scores = w.withUnsafeBufferPointer {
            LinguisticState.scores(wordMap: $0, words: a.words, targets: targets[k])
          }
          results.set(k * maps + m, scores)
        }
      }
      for (k, i) in batch.enumerated() {
        state.add(
          kept[i].sentence, alignment: kept[i].alignment, targets: targets[k],
          maps: Array(results.values[(k * maps)..<((k + 1) * maps)]).map { $0! })
      }
    }
    return tokenCount(encodings)
  }
}

/// Slots written by `concurrentPerform` iterations, each its own.
private final class ScoreSlots: @unchecked Sendable {
  var values: [LinguisticState.MapScores?]
  private let lock = NSLock()
  init(count: Int) { values = Array(repeating: nil, count: count) }
  func set(_ i: Int, _ v: LinguisticState.MapScores) {
    lock.lock()
    values[i] = v
    lock.unlock()
  }
}
