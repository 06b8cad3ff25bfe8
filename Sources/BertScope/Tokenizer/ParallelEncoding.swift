import Foundation

/// Encodes `count` inputs on all cores, in chunks of 64 with one `State` (scratch buffers)
/// per chunk: `encode(i, &state)` gives input `i`'s encoding. Throws the error of the first
/// input (by index) that fails; other errors become ``BertScopeError/invalidInput(_:)``.
func encodeInParallel<State>(
  count: Int, makeState: @escaping @Sendable () -> State,
  _ encode: @escaping @Sendable (Int, inout State) throws -> Encoding
) throws -> [Encoding] {
  let chunkSize = 64
  let chunks = (count + chunkSize - 1) / chunkSize
  var results = [Result<Encoding, BertScopeError>?](repeating: nil, count: count)
  results.withUnsafeMutableBufferPointer { buffer in
    nonisolated(unsafe) let out = buffer
    let work: @Sendable (Int) -> Void = { chunk in
      var state = makeState()
      for i in (chunk * chunkSize)..<min(count, (chunk + 1) * chunkSize) {
        do {
          out[i] = .success(try encode(i, &state))
        } catch let error as BertScopeError {
          out[i] = .failure(error)
        } catch {
          out[i] = .failure(.invalidInput("\(error)"))
        }
      }
    }
    if chunks > 1 {
      DispatchQueue.concurrentPerform(iterations: chunks, execute: work)
    } else if chunks == 1 {
      work(0)
    }
  }
  return try results.map { try $0!.get() }
}
