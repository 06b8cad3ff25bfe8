import Foundation
import Testing

@testable import BertScope

/// One `Encoder` used from many threads at once gives exactly the single-threaded results.
@Suite("Concurrent use")
struct ConcurrencyTests {
  @Test("many concurrent encodes equal the single-threaded ones", arguments: TestBackends.available)
  func concurrentEncodes(backend: BackendKind) async throws {
    let model = try await ModelCache.shared.model(Fixtures.tiny)
    let encoder = try Encoder(model: model, backend: backend)
    let texts = (0..<24).map { i in (0...(i % 9)).map { "word\($0 * i % 7) token" }.joined(separator: " ") }
    let inputs = try texts.map { try model.tokenizer.encode($0) }
    let expected = try inputs.map { try encoder.encode([$0], options: EncodeOptions(maps: .all)) }
    let results = try await withThrowingTaskGroup(of: (Int, EncoderOutput).self) { group in
      for round in 0..<4 {
        for (i, e) in inputs.enumerated() {
          group.addTask { (i, try encoder.encode([e], options: EncodeOptions(maps: .all))) }
        }
        _ = round
      }
      var all: [(Int, EncoderOutput)] = []
      for try await r in group { all.append(r) }
      return all
    }
    #expect(results.count == 4 * inputs.count)
    for (i, out) in results {
      #expect(out.hiddenState(0) == expected[i].hiddenState(0), "input \(i)")
      #expect(out.maps[0].values() == expected[i].maps[0].values(), "input \(i)")
      #expect(Array(out.pooled) == Array(expected[i].pooled))
    }
  }
}
