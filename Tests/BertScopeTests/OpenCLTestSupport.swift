import Foundation
import Testing

@testable import BertScope

/// Shared set-up of the OpenCL tests: which device, both kernel variants, references in Double.
enum OpenCLTest {
  /// Tests skip (never pass silently) when this machine has no OpenCL platform or device.
  static let available = OpenCLDevices.isAvailable
  static let skipReason: Comment = "no OpenCL platform or device on this machine (install pocl-opencl-icd)"
  /// `BERTSCOPE_TEST_DEVICE` picks the device (default 0).
  static let deviceIndex = Int(ProcessInfo.processInfo.environment["BERTSCOPE_TEST_DEVICE"] ?? "") ?? 0

  /// A backend running `variant`'s kernels on the test device, whatever its type.
  static func backend(
    _ variant: OpenCLKernelConfig.Variant, faults: OpenCLFaults = OpenCLFaults(),
    adjust: (inout OpenCLKernelConfig) -> Void = { _ in }
  ) throws -> OpenCLBackend {
    let info = try OpenCLDevices.all()[deviceIndex]
    var config = OpenCLKernelConfig.defaults(
      for: variant == .cpu ? .cpu : .gpu, maxWorkGroupSize: info.maxWorkGroupSize)
    adjust(&config)
    return try OpenCLBackend(device: deviceIndex, config: config, faults: faults)
  }

  static func batch(lengths: [Int], heads: Int, vocab: Int = 100, types: Int = 2, rng: inout SplitMix64) -> PackedBatch {
    let encodings = lengths.map { n in
      Encoding(
        tokens: Array(repeating: "x", count: n),
        ids: (0..<n).map { _ in Int32.random(in: 0..<Int32(vocab), using: &rng) },
        segments: (0..<n).map { _ in Int32.random(in: 0..<Int32(types), using: &rng) },
        offsets: Array(repeating: nil, count: n))
    }
    return PackedBatch(encodings, heads: heads)
  }
}

/// Expects `|actual - expected| <= atol + rtol·|expected|` everywhere; reports the worst element.
func expectMatches(
  _ actual: [Float], _ expected: [Double], rtol: Double = 1e-4, atol: Double = 1e-5, _ what: String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  guard actual.count == expected.count else {
    Issue.record("\(what): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    return
  }
  var worst = -1
  var worstExcess = 0.0
  for i in actual.indices {
    let error = abs(Double(actual[i]) - expected[i])
    let excess = error - (atol + rtol * abs(expected[i]))
    if !(excess <= 0) && (worst < 0 || !(excess <= worstExcess)) {
      worst = i
      worstExcess = excess
    }
  }
  if worst >= 0 {
    Issue.record(
      "\(what): element \(worst) is \(actual[worst]), expected \(expected[worst]) (rtol \(rtol), atol \(atol))",
      sourceLocation: sourceLocation)
  }
}

/// Straightforward references in Double precision.
enum Reference {
  static func activate(_ x: Double, _ act: Activation) -> Double {
    switch act {
    case .gelu: return 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
    case .geluTanh: return 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
    case .relu: return max(x, 0)
    }
  }

  /// out[r, n] = epilogue(Σ_k x[r, k] · w[n, k] + bias[n]); code 0 none, 1 bias, 2 act, 3 residual.
  static func linear(
    _ x: [Float], rows: Int, _ w: [Float], n: Int, k: Int, bias: [Float], code: Int, act: Activation,
    residual: [Float]
  ) -> [Double] {
    var out = [Double](repeating: 0, count: rows * n)
    for r in 0..<rows {
      for j in 0..<n {
        var s = 0.0
        for kk in 0..<k { s += Double(x[r * k + kk]) * Double(w[j * k + kk]) }
        if code >= 1 { s += Double(bias[j]) }
        if code == 2 { s = activate(s, act) }
        if code == 3 { s += Double(residual[r * n + j]) }
        out[r * n + j] = s
      }
    }
    return out
  }

  static func attentionProbs(
    qkv: [Float], batch: PackedBatch, heads: Int, headDim d: Int, scale: Double, modes: [HeadMode]
  ) -> [Double] {
    let hidden = heads * d, stride = 3 * hidden
    var probs = [Double](repeating: 0, count: batch.probCount)
    for s in 0..<batch.count {
      let L = batch.lengths[s], t0 = batch.tokenOffsets[s]
      for h in 0..<heads {
        for i in 0..<L {
          let base = batch.probOffsets[s] + (h * L + i) * L
          let mode = modes.isEmpty ? .normal : modes[h]
          if mode != .normal {
            for j in 0..<L { probs[base + j] = mode == .uniform ? 1 / Double(L) : 0 }
            continue
          }
          var scores = [Double](repeating: 0, count: L)
          for j in 0..<L {
            var dot = 0.0
            for c in 0..<d {
              dot += Double(qkv[(t0 + i) * stride + h * d + c]) * Double(qkv[(t0 + j) * stride + hidden + h * d + c])
            }
            scores[j] = dot * scale
          }
          let mx = scores.max()!
          let e = scores.map { Foundation.exp($0 - mx) }
          let sum = e.reduce(0, +)
          for j in 0..<L { probs[base + j] = e[j] / sum }
        }
      }
    }
    return probs
  }

  static func attentionContext(probs: [Float], qkv: [Float], batch: PackedBatch, heads: Int, headDim d: Int)
    -> [Double]
  {
    let hidden = heads * d, stride = 3 * hidden
    var context = [Double](repeating: 0, count: batch.tokenCount * hidden)
    for s in 0..<batch.count {
      let L = batch.lengths[s], t0 = batch.tokenOffsets[s]
      for h in 0..<heads {
        for i in 0..<L {
          let base = batch.probOffsets[s] + (h * L + i) * L
          for c in 0..<d {
            var acc = 0.0
            for j in 0..<L { acc += Double(probs[base + j]) * Double(qkv[(t0 + j) * stride + 2 * hidden + h * d + c]) }
            context[(t0 + i) * hidden + h * d + c] = acc
          }
        }
      }
    }
    return context
  }

  static func layerNorm(_ x: [Double], rows: Int, cols: Int, gamma: [Float], beta: [Float], eps: Double) -> [Double] {
    var out = [Double](repeating: 0, count: rows * cols)
    for r in 0..<rows {
      let row = x[(r * cols)..<((r + 1) * cols)]
      let mean = row.reduce(0, +) / Double(cols)
      let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(cols)
      let rstd = 1 / (variance + eps).squareRoot()
      for c in 0..<cols {
        out[r * cols + c] = (x[r * cols + c] - mean) * rstd * Double(gamma[c]) + Double(beta[c])
      }
    }
    return out
  }
}

/// Every epilogue and activation of `linear` on `backend` against `Reference.linear`, on each
/// of `shapes` (rows, k, n) with random inputs; `label` names the backend in failures.
func checkLinear<B: ComputeBackend>(_ backend: B, shapes: [(Int, Int, Int)], seed: UInt64, label: String) throws {
  var rng = SplitMix64(seed: seed)
  for (rows, k, n) in shapes {
    let x = rng.floats(rows * k), w = rng.floats(n * k), bias = rng.floats(n), residual = rng.floats(rows * n)
    let dx = try backend.makeBuffer(x), db = try backend.makeBuffer(bias), dr = try backend.makeBuffer(residual)
    let matrix = try backend.makeMatrix(w, rows: n, cols: k)
    let cases: [(String, Epilogue<B.Buffer>, Int, Activation)] = [
      ("bias", .bias, 1, .gelu), ("bias+gelu", .biasActivation, 2, .gelu),
      ("bias+gelu_tanh", .biasActivation, 2, .geluTanh), ("bias+relu", .biasActivation, 2, .relu),
      ("bias+residual", .biasResidual(dr), 3, .gelu),
    ]
    for (name, epilogue, code, act) in cases {
      let out = try backend.makeBuffer(count: rows * n)
      try backend.linear(out: out, input: dx, rows: rows, weight: matrix, bias: db, epilogue: epilogue, activation: act)
      let expected = Reference.linear(x, rows: rows, w, n: n, k: k, bias: bias, code: code, act: act, residual: residual)
      expectMatches(
        try backend.read(out, range: 0..<(rows * n)), expected, atol: 1e-5 * Double(k).squareRoot(),
        "\(label) linear \(name) [\(rows)×\(k)]·[\(n)×\(k)]ᵀ")
    }
  }
}

/// The activation epilogues of `linear` on `backend` within 5e-7 of the exact functions over
/// [-8, 8]: out[r][j] = act(x[r] · 1 + 0) for 32 columns j, so that the vectorised epilogues run
/// (a single column takes the scalar tails of the OpenBLAS path and of the OpenCL CPU kernel).
func checkActivationAccuracy<B: ComputeBackend>(_ backend: B, label: String) throws {
  let x = (0..<4001).map { Float(-8 + Double($0) * 0.004) }
  let n = 32
  let input = try backend.makeBuffer(x), bias = try backend.makeBuffer([Float](repeating: 0, count: n))
  let weight = try backend.makeMatrix([Float](repeating: 1, count: n), rows: n, cols: 1)
  for act in [Activation.gelu, .geluTanh, .relu] {
    let out = try backend.makeBuffer(count: x.count * n)
    try backend.linear(
      out: out, input: input, rows: x.count, weight: weight, bias: bias, epilogue: .biasActivation, activation: act)
    let expected = x.flatMap { [Double](repeating: Reference.activate(Double($0), act), count: n) }
    expectMatches(try backend.read(out, range: 0..<(x.count * n)), expected, rtol: 1e-6, atol: 5e-7, "\(label) \(act)")
  }
}

/// `linear` with `out` aliasing the residual (`x·Wᵀ + b + out` written over `out`), against the
/// reference: a small case at the default tolerance and an FFN-down-sized one (k = 1536).
func checkLinearInPlace<B: ComputeBackend>(_ backend: B, seed: UInt64, label: String) throws {
  var rng = SplitMix64(seed: seed)
  for (rows, k, n, atol) in [(9, 20, 35, 1e-5), (200, 1536, 384, 1e-5 * Double(1536).squareRoot())] {
    let x = rng.floats(rows * k), w = rng.floats(n * k), bias = rng.floats(n), residual = rng.floats(rows * n)
    let io = try backend.makeBuffer(residual)
    try backend.linear(
      out: io, input: try backend.makeBuffer(x), rows: rows, weight: try backend.makeMatrix(w, rows: n, cols: k),
      bias: try backend.makeBuffer(bias), epilogue: .biasResidual(io), activation: .gelu)
    let expected = Reference.linear(x, rows: rows, w, n: n, k: k, bias: bias, code: 3, act: .gelu, residual: residual)
    expectMatches(
      try backend.read(io, range: 0..<(rows * n)), expected, atol: atol,
      "\(label) in-place residual [\(rows)×\(k)]·[\(n)×\(k)]ᵀ")
  }
}
