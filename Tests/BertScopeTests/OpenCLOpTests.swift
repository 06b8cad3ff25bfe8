import Foundation
import Testing

@testable import BertScope

/// What only the OpenCL backend has: kernel tile sizes other than the defaults, one queue
/// shared by several threads, and bounds checks that turn bad shapes into invalid input. Every
/// op against the Double reference, for both kernel variants, is in `BackendOpTests`.
@Suite("OpenCL ops", .enabled(if: OpenCLTest.available, OpenCLTest.skipReason))
struct OpenCLOpTests {
  /// (rows, k, n): rows 1, 6, 7, 13, 64, 129, 131; k odd and multiples of 16; n below, between
  /// and above multiples of the tile widths 8, 16, 32.
  static let tileShapes: [(Int, Int, Int)] = [
    (1, 1, 1), (7, 33, 17), (131, 65, 40), (13, 384, 100), (6, 16, 32), (64, 31, 63), (129, 97, 65),
  ]

  @Test(
    "the CPU GEMM is right for other tile sizes (MR × NR)",
    arguments: [(1, 8), (6, 16), (8, 16), (5, 8)])
  func gemmTiles(mr: Int, nr: Int) throws {
    let backend = try OpenCLTest.backend(.cpu) {
      $0.gemmMR = mr
      $0.gemmNR = nr
      $0.gemmLocal = 1
    }
    try checkLinear(backend, shapes: Self.tileShapes, seed: UInt64(10 * mr + nr), label: "cpu kernels \(mr)×\(nr)")
  }

  @Test("the GPU GEMM is right with the small 32 × 32 tiles")
  func gemmSmallTiles() throws {
    let backend = try OpenCLTest.backend(.gpu) { $0.useSmallTiles() }
    try checkLinear(backend, shapes: Self.tileShapes, seed: 21, label: "gpu kernels, 32×32 tiles")
  }

  @Test("one backend used from several threads at once gives each caller its own result")
  func concurrentUse() async throws {
    let backend = try OpenCLTest.backend(.cpu)
    let (rows, k, n) = (33, 48, 40)
    var rng = SplitMix64(seed: 11)
    let w = rng.floats(n * k), bias = rng.floats(n)
    let matrix = try backend.makeMatrix(w, rows: n, cols: k)
    let db = try backend.makeBuffer(bias)
    let inputs = (0..<8).map { _ in rng.floats(rows * k) }
    let results = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
      for (i, x) in inputs.enumerated() {
        group.addTask {
          let out = try backend.makeBuffer(count: rows * n)
          for _ in 0..<5 {
            try backend.linear(
              out: out, input: try backend.makeBuffer(x), rows: rows, weight: matrix, bias: db, epilogue: .bias,
              activation: .gelu)
          }
          return (i, try backend.read(out, range: 0..<(rows * n)))
        }
      }
      var all: [Int: [Float]] = [:]
      for try await (i, r) in group { all[i] = r }
      return all
    }
    #expect(results.count == inputs.count)
    for (i, x) in inputs.enumerated() {
      let expected = Reference.linear(
        product: Reference.product(x, rows: rows, w, n: n, k: k), n: n, bias: bias, .bias)
      expectMatches(results[i] ?? [], expected, "caller \(i)")
    }
  }

  @Test("a read outside the buffer is invalid input")
  func readOutside() throws {
    let backend = try OpenCLTest.backend(.cpu)
    let buffer = try backend.makeBuffer((0..<100).map(Float.init))
    #expect(throws: BertScopeError.self) { try backend.read(buffer, range: 90..<101) }
    #expect(throws: BertScopeError.self) { try backend.read(buffer, ranges: [0..<4, 99..<102]) }
    #expect(throws: BertScopeError.self) { try backend.readStorage(buffer, count: 101) }
  }

  @Test("shapes that do not fit are invalid input, not a device fault")
  func badShapes() throws {
    let backend = try OpenCLTest.backend(.cpu)
    let small = try backend.makeBuffer(count: 10)
    let matrix = try backend.makeMatrix([Float](repeating: 1, count: 12), rows: 3, cols: 4)
    #expect(throws: BertScopeError.self) {
      try backend.linear(
        out: small, input: small, rows: 5, weight: matrix, bias: small, epilogue: .bias, activation: .gelu)
    }
    #expect(throws: BertScopeError.self) { try backend.makeMatrix([1, 2, 3], rows: 2, cols: 2) }
    var rng = SplitMix64(seed: 9)
    let batch = TestInputs.batch(lengths: [4], heads: 2, vocab: 1000, rng: &rng)
    let word = try backend.makeBuffer(count: 10 * 4)
    #expect(throws: BertScopeError.self) {
      try backend.embed(
        out: small, layout: try backend.makeLayout(batch), batch: batch, word: word, position: word, type: word,
        gamma: small, beta: small, hidden: 4, eps: 1e-12)
    }
  }
}
