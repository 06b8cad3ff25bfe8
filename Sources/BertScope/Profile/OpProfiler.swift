import Foundation

/// Where an encoder layer's time goes: each op of one layer timed alone on one backend at a
/// model's shapes (`bertscope profile`), with its FLOPs, the bytes it must move at least, and —
/// on OpenCL devices — the device's measured FMA peak (`OpenCLBackend.fmaPeakGFLOPS`), so that
/// every op can be placed on the device's roofline.
///
/// The ops are the ones `Forward` runs per layer: the QKV projection, attention (with the
/// probabilities written, as when maps or map features are kept, and without, as for `embed`),
/// the attention output projection (+ residual), two layer norms, the intermediate projection
/// (+ GELU) and the output projection (+ residual). Inputs are random (fixed seeds); each op is
/// run once to warm up, then `repeats` samples are taken, each of enough back-to-back calls to
/// last about 2 ms, ended by waiting for the device; the median per call is reported.
public enum OpProfiler {
  /// The shapes profiled: a model's sizes at `batch` sequences of `length` tokens.
  public struct Shape: Sendable, Equatable, Codable {
    public var hidden: Int
    public var intermediate: Int
    public var heads: Int
    public var layers: Int
    public var batch: Int
    public var length: Int

    public init(hidden: Int, intermediate: Int, heads: Int, layers: Int, batch: Int, length: Int) {
      self.hidden = hidden
      self.intermediate = intermediate
      self.heads = heads
      self.layers = layers
      self.batch = batch
      self.length = length
    }

    public init(config: BertConfig, batch: Int, length: Int) {
      self.init(
        hidden: config.hiddenSize, intermediate: config.intermediateSize, heads: config.numHeads,
        layers: config.numLayers, batch: batch, length: length)
    }

    var tokens: Int { batch * length }
    var headDim: Int { hidden / max(heads, 1) }
  }

  /// One op of the layer.
  public struct Row: Sendable, Codable, Equatable {
    /// e.g. "linear qkv", "attention (no maps)", "layer norm".
    public let op: String
    /// How many times a layer runs it (2 for the layer norm; 0 for the maps variant of
    /// attention, which replaces the no-maps one when maps are kept).
    public let perLayer: Int
    /// Median milliseconds per call.
    public let ms: Double
    /// FLOPs per call (multiply-adds count 2; softmax, GELU and norms count 0).
    public let flops: Double
    /// The least bytes a call must read and write (inputs, weights, outputs, once each).
    public let bytes: Double
    public var gflops: Double { flops / ms / 1e6 }
    public var gbPerS: Double { bytes / ms / 1e6 }
    /// FLOPs per byte: where the op sits on the roofline.
    public var intensity: Double { bytes > 0 ? flops / bytes : 0 }
  }

  /// The profile of one backend.
  public struct Report: Sendable, Codable {
    /// The backend's name, as `bench` prints it.
    public let backend: String
    public let shape: Shape
    public let rows: [Row]
    /// The measured FP32 FMA peak in GFLOP/s (OpenCL devices); nil where not measured.
    public let peakGFLOPS: Double?
    public let repeats: Int

    public init(backend: String, shape: Shape, rows: [Row], peakGFLOPS: Double?, repeats: Int) {
      self.backend = backend
      self.shape = shape
      self.rows = rows
      self.peakGFLOPS = peakGFLOPS
      self.repeats = repeats
    }

    /// The same measurements against another peak (one measured elsewhere, for the CPU backend).
    public func withPeak(_ peak: Double) -> Report {
      Report(backend: backend, shape: shape, rows: rows, peakGFLOPS: peak, repeats: repeats)
    }

    /// One layer without maps: every op with its count per layer.
    public var layerMs: Double { rows.reduce(0) { $0 + $1.ms * Double($1.perLayer) } }
    /// One layer with its maps written: the no-maps attention replaced by the maps one.
    public var layerWithMapsMs: Double {
      let noMaps = rows.first { $0.op == OpProfiler.attentionNoMaps }?.ms ?? 0
      let maps = rows.first { $0.op == OpProfiler.attentionMaps }?.ms ?? 0
      return layerMs - noMaps + maps
    }
    /// Share of one layer without maps (nil for the maps attention, which is not in it).
    public func share(_ row: Row) -> Double? {
      row.perLayer > 0 && layerMs > 0 ? row.ms * Double(row.perLayer) / layerMs : nil
    }
    /// Percent of the measured peak (nil without a peak or for ops without FLOPs).
    public func percentOfPeak(_ row: Row) -> Double? {
      guard let peak = peakGFLOPS, peak > 0, row.flops > 0 else { return nil }
      return 100 * row.gflops / peak
    }
    /// The linear layers' FLOPs over their time, per layer.
    public var linearGFLOPS: Double {
      let linear = rows.filter { $0.op.hasPrefix("linear") }
      let ms = linear.reduce(0) { $0 + $1.ms * Double($1.perLayer) }
      return ms > 0 ? linear.reduce(0) { $0 + $1.flops * Double($1.perLayer) } / ms / 1e6 : 0
    }
  }

  static let attentionMaps = "attention (maps written)"
  static let attentionNoMaps = "attention (no maps)"

  /// Profiles `kind` (`.cpu` or `.opencl` on `device`) at `shape`; `progress` gets one line per op.
  public static func profile(
    _ kind: BackendKind, device: Int?, shape: Shape, repeats: Int = 10, progress: (String) -> Void = { _ in }
  ) throws -> Report {
    guard shape.hidden > 0, shape.heads > 0, shape.hidden % shape.heads == 0, shape.intermediate > 0,
      shape.layers > 0, shape.batch > 0, shape.length > 0
    else {
      throw BertScopeError.invalidInput(
        "profile: hidden \(shape.hidden), intermediate \(shape.intermediate), \(shape.heads) heads, "
          + "\(shape.batch) × \(shape.length) tokens is not a shape an encoder has")
    }
    // auto: an OpenCL GPU when there is one, else the CPU backend (as `Encoder` chooses).
    let devices = kind == .cpu ? [] : ((try? OpenCLDevices.all()) ?? [])
    let useCPU = kind == .cpu || (kind == .auto && !devices.contains { $0.type == .gpu && $0.available })
    if useCPU {
      let backend = try CPUBackend()
      return try profile(backend, name: backend.name, peak: nil, shape: shape, repeats: repeats, sync: {}, progress)
    }
    let index = try OpenCLDevices.resolve(device, in: devices)
    let backend = try OpenCLBackend(device: index)
    progress("measuring the FMA peak of \(backend.device.name)")
    let peak = try backend.fmaPeakGFLOPS()
    return try profile(
      backend, name: backend.name, peak: peak, shape: shape, repeats: repeats, sync: { try backend.finish() },
      progress)
  }

  /// The ops of one layer on `backend`, timed.
  static func profile<B: ComputeBackend>(
    _ backend: B, name: String, peak: Double?, shape: Shape, repeats: Int, sync: () throws -> Void,
    _ progress: (String) -> Void
  ) throws -> Report {
    let h = shape.hidden, i = shape.intermediate, t = shape.tokens, d = shape.headDim, heads = shape.heads
    var rng = SplitMix64(seed: 0x7072_6F66)
    let batch = rng.batch(lengths: Array(repeating: shape.length, count: shape.batch), heads: heads, vocab: 100)
    let layout = try backend.makeLayout(batch)
    let x = try backend.makeBuffer(rng.floats(t * h))
    let qkv = try backend.makeBuffer(rng.floats(t * 3 * h, in: -2...2))
    let context = try backend.makeBuffer(count: t * h)
    let probs = try backend.makeBuffer(count: batch.probCount)
    let wide = try backend.makeBuffer(rng.floats(t * i))
    let out = try backend.makeBuffer(count: t * max(3 * h, i))
    let residual = try backend.makeBuffer(rng.floats(t * h))
    let gamma = try backend.makeBuffer(rng.floats(h)), beta = try backend.makeBuffer(rng.floats(h))
    let modes = [HeadMode](repeating: .normal, count: heads)
    let scale = Float(1 / Double(d).squareRoot())

    func linear(_ label: String, n: Int, k: Int, input: B.Buffer, epilogue: Epilogue<B.Buffer>) throws -> (
      String, Int, Double, Double, () throws -> Void
    ) {
      let w = try backend.makeMatrix(rng.floats(n * k, in: -0.1...0.1), rows: n, cols: k)
      let bias = try backend.makeBuffer(rng.floats(n))
      var residualBytes = 0.0
      if case .biasResidual = epilogue { residualBytes = Double(t * n) }
      return (
        label, 1, 2 * Double(t) * Double(n) * Double(k), 4 * (Double(t * k + n * k + n + t * n) + residualBytes),
        {
          try backend.linear(
            out: out, input: input, rows: t, weight: w, bias: bias, epilogue: epilogue, activation: .gelu)
        }
      )
    }
    let attentionFlops = 4 * Double(shape.batch) * Double(heads) * Double(shape.length * shape.length) * Double(d)
    let attentionBytes = 4 * Double(t * 3 * h + t * h)
    let ops: [(String, Int, Double, Double, () throws -> Void)] = [
      try linear("linear qkv", n: 3 * h, k: h, input: x, epilogue: .bias),
      (
        attentionNoMaps, 1, attentionFlops, attentionBytes,
        {
          try backend.attentionContextOnly(
            context: context, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d, scale: scale,
            modes: modes)
        }
      ),
      (
        attentionMaps, 0, attentionFlops, attentionBytes + 4 * Double(batch.probCount),
        {
          try backend.attention(
            probs: probs, context: context, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d,
            scale: scale, modes: modes)
        }
      ),
      try linear("linear attention output", n: h, k: h, input: x, epilogue: .biasResidual(residual)),
      (
        "layer norm", 2, 0, 4 * Double(2 * t * h + 2 * h),
        { try backend.layerNorm(out: context, input: x, rows: t, cols: h, gamma: gamma, beta: beta, eps: 1e-12) }
      ),
      try linear("linear intermediate (GELU)", n: i, k: h, input: x, epilogue: .biasActivation),
      try linear("linear output", n: h, k: i, input: wide, epilogue: .biasResidual(residual)),
    ]
    var rows: [Row] = []
    for (label, perLayer, flops, bytes, run) in ops {
      let ms = try time(run, repeats: repeats, sync: sync)
      let row = Row(op: label, perLayer: perLayer, ms: ms, flops: flops, bytes: bytes)
      progress(String(format: "%@: %.3f ms, %.1f GFLOP/s", label, ms, row.gflops))
      rows.append(row)
    }
    return Report(backend: name, shape: shape, rows: rows, peakGFLOPS: peak, repeats: repeats)
  }

  /// Median milliseconds per call of `run`: a warm-up, then `repeats` samples of back-to-back
  /// calls (as many as last about 2 ms, at most 100), each ended by `sync`.
  static func time(_ run: () throws -> Void, repeats: Int, sync: () throws -> Void) throws -> Double {
    func sample(_ calls: Int) throws -> Double {
      let start = DispatchTime.now().uptimeNanoseconds
      for _ in 0..<calls { try run() }
      try sync()
      return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(calls)
    }
    let first = try sample(1)
    let calls = max(1, min(100, Int(2 / max(first, 1e-3))))
    var times: [Double] = []
    for _ in 0..<max(repeats, 1) { times.append(try sample(calls)) }
    times.sort()
    return times[times.count / 2]
  }
}
