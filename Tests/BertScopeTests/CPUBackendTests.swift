import Testing

@testable import BertScope

@Suite("CPU backend ops")
struct CPUBackendTests {
  @Test("attentionProbs: no head modes means every head normal; a wrong count is invalid input")
  func headModes() throws {
    let backend = CPUBackend()
    var rng = SplitMix64(seed: 7)
    let (heads, d) = (3, 8)
    let batch = OpenCLTest.batch(lengths: [5, 1, 9], heads: heads, rng: &rng)
    let qkv = try backend.makeBuffer(rng.floats(batch.tokenCount * 3 * heads * d))
    let layout = try backend.makeLayout(batch)
    func probs(_ modes: [HeadMode]) throws -> [Float] {
      let out = try backend.makeBuffer(count: batch.probCount)
      try backend.attentionProbs(
        probs: out, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d, scale: 0.35, modes: modes)
      return try backend.read(out, range: 0..<batch.probCount)
    }
    let implicit = try probs([])
    #expect(implicit == (try probs(Array(repeating: .normal, count: heads))))
    #expect(implicit != (try probs([.normal, .uniform, .normal])))
    #expect(throws: BertScopeError.self) { try probs([.normal, .normal]) }
  }
}
