import Foundation

/// `bertscope tune`: times a bounded set of kernel parameters on one device at one model's
/// real shapes and keeps the fastest, as a tuning entry (`OpenCLTuning`).
///
/// The parameters are tuned in groups (`Group`: the candidates, how one is applied to the
/// config, the ops that verify and time it), one after the other, each group starting from
/// the best of those before it. Every candidate is first checked against the CPU backend on
/// the same inputs (within the op tests' tolerances); one that the device cannot run, fails to
/// build or run, or gives wrong results is skipped and reported, never chosen. The defaults are
/// timed first in every group, and a candidate replaces the best so far only when it is
/// at least 3 % faster, so the result is never slower than the defaults by more than noise.
/// Timing: one warm-up, then the median of several runs (5, or more for fast ops: up to 50,
/// about 50 ms in all), each ended by `finish()`.
public enum OpenCLTuner {
  /// The model shape tuned on: the linear layers' and attention's sizes at `batch × length`
  /// tokens.
  public struct Shape: Sendable, Equatable {
    public var hidden: Int
    public var intermediate: Int
    public var heads: Int
    public var batch: Int
    public var length: Int
    /// The model folder, recorded in the entry.
    public var model: String?

    public init(hidden: Int, intermediate: Int, heads: Int, batch: Int, length: Int, model: String? = nil) {
      self.hidden = hidden
      self.intermediate = intermediate
      self.heads = heads
      self.batch = batch
      self.length = length
      self.model = model
    }

    /// The shape of the model `config` describes, at `batch` sequences of `length` tokens.
    public init(config: BertConfig, batch: Int, length: Int, model: String? = nil) {
      self.init(
        hidden: config.hiddenSize, intermediate: config.intermediateSize, heads: config.numHeads, batch: batch,
        length: length, model: model)
    }

    var tokens: Int { batch * length }
    var headDim: Int { hidden / max(heads, 1) }
  }

  /// What to tune and how long.
  public struct Options: Sendable {
    /// The OpenCL device index (`bertscope devices`).
    public var device: Int
    public var shape: Shape
    /// Stop trying candidates after this many seconds (every group's defaults and the final
    /// comparison still run).
    public var budgetSeconds: Double
    public var warmups = 1
    public var runs = 5
    /// Tune this variant instead of the device type's (tests run the GPU one on PoCL).
    var variant: OpenCLKernelConfig.Variant?
    var hooks = Hooks()

    public init(device: Int, shape: Shape, budgetSeconds: Double = 180) {
      self.device = device
      self.shape = shape
      self.budgetSeconds = budgetSeconds
    }
  }

  /// Test hooks: extra candidates per group, faults per candidate, outputs made wrong.
  struct Hooks: Sendable {
    var extraCandidates: [String: [OpenCLTuningParameters]] = [:]
    var faults: @Sendable (OpenCLTuningParameters) -> OpenCLFaults = { _ in OpenCLFaults() }
    var corrupts: @Sendable (OpenCLTuningParameters) -> Bool = { _ in false }
  }

  /// What happened to one candidate.
  public enum Outcome: Sendable, Equatable {
    /// Verified and timed: the median milliseconds of the group's ops.
    case timed(ms: Double)
    /// Not built: a parameter the device cannot run (work-group size, local memory, range).
    case invalid(String)
    /// The kernels failed to build, or an op failed to run.
    case failed(String)
    /// Built and ran, but its results differ from the CPU backend's.
    case wrong(String)
    /// The same configuration as a candidate already timed.
    case duplicate
  }

  /// One candidate of one group.
  public struct Candidate: Sendable {
    public let group: String
    /// e.g. "gemmMR=4 gemmNR=32".
    public let parameters: String
    public let isDefault: Bool
    public let outcome: Outcome
    /// True when this candidate was chosen for its group.
    public internal(set) var chosen = false

    public var ms: Double? {
      if case .timed(let ms) = outcome { return ms }
      return nil
    }

    /// One line: group, parameters, then the milliseconds or why it was skipped.
    public var line: String {
      let head = "[\(group)] \(parameters)\(isDefault ? " (default)" : "")"
      switch outcome {
      case .timed(let ms): return head + String(format: ": %.3f ms", ms)
      case .invalid(let why): return head + ": skipped, invalid on this device (\(why))"
      case .failed(let why): return head + ": skipped, failed to build or run (\(why))"
      case .wrong(let why): return head + ": skipped, failed to verify against the CPU backend (\(why))"
      case .duplicate: return head + ": skipped, same configuration as one already timed"
      }
    }
  }

  /// The result of a tuning run.
  public struct Report: Sendable {
    public let device: OpenCLDeviceInfo
    /// "cpu" or "gpu".
    public let variant: String
    public let shape: Shape
    /// Every candidate tried, in order.
    public let candidates: [Candidate]
    /// Candidates not tried because the budget ran out.
    public let untried: Int
    /// The chosen parameters, e.g. "gemmMR=4 gemmNR=32 gemmLocal=4 attentionRows=8".
    public let chosen: String
    /// Milliseconds of every group's ops with the defaults and with the chosen parameters.
    public let defaultMs: Double
    public let bestMs: Double
    public var speedup: Double { defaultMs / bestMs }
    let entry: OpenCLTuningEntry

    /// Stores the entry in the database at `url` (replacing this device's earlier one);
    /// returns notes on what was replaced or ignored.
    public func store(to url: URL) throws -> [String] {
      try OpenCLTuning.store(entry, to: url)
    }
  }

  // MARK: - Groups

  /// The ops a group is verified and timed on.
  enum Workload: Hashable {
    /// The four linear layers of an encoder layer at `rows` tokens.
    case linear(rows: Int)
    /// Attention (probabilities and P·V) over the batch, and a layer norm of its tokens.
    case attention
    /// Attention without maps (`attentionContextOnly`: the flash kernel on GPUs) over the batch.
    case attentionNoMaps
  }

  /// One parameter group: its candidates (each setting this group's fields), how a candidate
  /// is applied to the config, and the ops it is verified and timed on.
  struct Group {
    let name: String
    /// The `OpenCLTuningParameters.fields` it tunes (the default candidate reads them).
    let fields: [String]
    let candidates: [OpenCLTuningParameters]
    let workload: Workload
    /// Applies a candidate; returns why fields were ignored (then it is not built).
    var apply: (inout OpenCLKernelConfig, OpenCLTuningParameters, OpenCLTuningParameters.Limits) -> [String] = {
      $0.apply($1, limits: $2)
    }
  }

  /// The groups of `variant` on `device`.
  static func groups(variant: OpenCLKernelConfig.Variant, device: OpenCLDeviceInfo, shape: Shape) -> [Group] {
    let rows = [4, 8, 16].map { OpenCLTuningParameters(attentionRows: $0) }
    switch variant {
    case .cpu:
      let blocks = [(4, 32), (6, 16), (8, 16), (4, 16), (2, 32)].map {
        OpenCLTuningParameters(gemmMR: $0.0, gemmNR: $0.1)
      }
      return [
        Group(
          name: "gemm MRxNR", fields: ["gemmMR", "gemmNR"], candidates: blocks, workload: .linear(rows: shape.tokens)),
        Group(
          name: "gemm local", fields: ["gemmLocal"],
          candidates: [1, 2, 4, 8, 16].map { OpenCLTuningParameters(gemmLocal: $0) },
          workload: .linear(rows: shape.tokens)),
        Group(name: "attention rows", fields: ["attentionRows"], candidates: rows, workload: .attention),
      ]
    case .gpu:
      let tiles = GPUGemmTiles.candidates(
        maxWorkGroupSize: device.maxWorkGroupSize, localMemoryBytes: device.localMemoryBytes)
      let groupSizes = [64, 128, 256].filter { $0 <= device.maxWorkGroupSize }
      let limits = OpenCLTuningParameters.Limits(device)
      // Flash attention: 32–128 query rows per work-group × 16–64 keys per tile.
      let flash = [64, 32, 128].flatMap { rows in
        [32, 16, 64].map { OpenCLTuningParameters(flashRows: rows, flashKeys: $0) }
      }
      // P·V: rows per work-group and per work-item, then keys per tile.
      let context = [(16, 4), (8, 2), (16, 2), (16, 8), (32, 4), (32, 8)].flatMap { rows in
        [32, 16, 64].map {
          OpenCLTuningParameters(contextRows: rows.0, contextRowsPerItem: rows.1, contextKeys: $0)
        }
      }
      // The most important groups first, so that a short budget spends itself on them.
      return [
        Group(
          name: "gemm tiles", fields: ["gemmTiles"], candidates: tiles.map { OpenCLTuningParameters(gemmTiles: $0) },
          workload: .linear(rows: shape.tokens)),
        // kernel_gemm_gpu_vec with every tile set it can run, against the tiled kernel with the
        // tiles just chosen (the group's default).
        Group(
          name: "gemm vector", fields: ["gemmVector", "gemmTiles"],
          candidates: tiles.filter { $0.canRunVector(limits) }.map {
            OpenCLTuningParameters(gemmTiles: $0, gemmVector: true)
          }, workload: .linear(rows: shape.tokens)),
        Group(
          name: "flash tiles", fields: ["flashRows", "flashKeys"], candidates: flash, workload: .attentionNoMaps),
        Group(
          name: "context tiles", fields: ["contextRows", "contextRowsPerItem", "contextKeys"], candidates: context,
          workload: .attention),
        // The small tiles serve GEMMs with few large tiles: time them at one sequence.
        Group(
          name: "gemm small tiles", fields: ["gemmSmallTiles"],
          candidates: tiles.map { OpenCLTuningParameters(gemmSmallTiles: $0) }, workload: .linear(rows: shape.length)),
        Group(
          name: "reduction group", fields: ["reductionGroup"],
          candidates: groupSizes.map { OpenCLTuningParameters(reductionGroup: $0) }, workload: .attention),
        Group(name: "attention rows", fields: ["attentionRows"], candidates: rows, workload: .attention),
      ]
    }
  }

  // MARK: - Tuning

  /// Tunes `options.device`; `progress` gets one line per candidate.
  public static func tune(_ options: Options, progress: (String) -> Void = { _ in }) throws -> Report {
    let devices = try OpenCLDevices.all()
    _ = try OpenCLDevices.resolve(options.device, in: devices)
    let shape = options.shape
    guard shape.hidden > 0, shape.heads > 0, shape.hidden % shape.heads == 0, shape.intermediate > 0,
      shape.batch > 0, shape.length > 0
    else {
      throw BertScopeError.invalidInput(
        "tune: shape hidden \(shape.hidden), intermediate \(shape.intermediate), heads \(shape.heads), "
          + "\(shape.batch) × \(shape.length) tokens is not one an encoder has")
    }
    let info = devices[options.device]
    let limits = OpenCLTuningParameters.Limits(info)
    var defaults = OpenCLKernelConfig.defaults(for: info)
    if let variant = options.variant, variant != defaults.variant {
      defaults = OpenCLKernelConfig.defaults(
        for: variant == .cpu ? .cpu : .gpu, maxWorkGroupSize: info.maxWorkGroupSize,
        vendor: info.vendor + " " + info.platformName, localMemoryBytes: info.localMemoryBytes)
    }
    let variant = defaults.variant
    let start = DispatchTime.now().uptimeNanoseconds
    let elapsed = { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
    var context = Context(options: options, shape: shape)

    var base = defaults
    var results: [Candidate] = []
    var untried = 0
    var tunedFields: [String] = []
    var workloads: [Workload] = []
    for group in groups(variant: variant, device: info, shape: shape) {
      let extra = options.hooks.extraCandidates[group.name] ?? []
      let own = OpenCLTuningParameters.reading(group.fields, from: base)
      let candidates = [own] + extra + group.candidates.filter { $0 != own }
      tunedFields += group.fields
      if !workloads.contains(group.workload) { workloads.append(group.workload) }
      var tried: [OpenCLKernelConfig] = []
      var best: (config: OpenCLKernelConfig, ms: Double, index: Int)?
      for (i, candidate) in candidates.enumerated() {
        if i > 0 && elapsed() >= options.budgetSeconds {
          untried += candidates.count - i
          progress("[\(group.name)] budget of \(Int(options.budgetSeconds)) s spent: \(candidates.count - i) not tried")
          break
        }
        var config = base
        let ignored = group.apply(&config, candidate, limits)
        let outcome: Outcome
        if !ignored.isEmpty {
          outcome = .invalid(ignored.joined(separator: "; "))
        } else if tried.contains(config) {
          outcome = .duplicate
        } else {
          tried.append(config)
          outcome = context.measure(
            config, on: group.workload, faults: options.hooks.faults(candidate),
            corrupt: options.hooks.corrupts(candidate))
        }
        let result = Candidate(
          group: group.name, parameters: candidate.description, isDefault: i == 0, outcome: outcome)
        progress(result.line)
        results.append(result)
        if let ms = result.ms, best.map({ ms < 0.97 * $0.ms }) ?? true {
          best = (config, ms, results.count - 1)
        }
      }
      if let best {
        base = best.config
        results[best.index].chosen = true
      }
    }

    // The chosen configuration against the defaults on every workload tuned, verified again.
    var defaultMs = 0.0
    var bestMs = 0.0
    for workload in workloads {
      guard case .timed(let d) = context.measure(defaults, on: workload, faults: OpenCLFaults(), corrupt: false)
      else { continue }
      defaultMs += d
      switch context.measure(base, on: workload, faults: OpenCLFaults(), corrupt: false) {
      case .timed(let b): bestMs += b
      default:
        progress("the combined parameters failed on \(workload); keeping the defaults")
        base = defaults
        bestMs = defaultMs
      }
    }
    if bestMs > defaultMs {
      progress(
        String(format: "combined: %.3f ms against %.3f ms with the defaults; keeping the defaults", bestMs, defaultMs))
      base = defaults
      bestMs = defaultMs
    }
    guard defaultMs > 0, bestMs > 0 else {
      throw BertScopeError.invalidInput(
        "tune: nothing could be timed on \(info.name) (the defaults failed; see the lines above); nothing stored")
    }
    let parameters = OpenCLTuningParameters.reading(tunedFields, from: base)
    let entry = OpenCLTuningEntry(
      device: info.name, vendor: info.vendor, driverVersion: info.driverVersion, kernelHash: OpenCLTuning.kernelHash,
      variant: variant.rawValue, parameters: parameters, measured: ISO8601DateFormatter().string(from: Date()),
      shape: .init(
        model: shape.model, hidden: shape.hidden, intermediate: shape.intermediate, heads: shape.heads,
        batch: shape.batch, length: shape.length),
      defaultMs: defaultMs, bestMs: bestMs)
    return Report(
      device: info, variant: variant.rawValue, shape: shape, candidates: results, untried: untried,
      chosen: parameters.description, defaultMs: defaultMs, bestMs: bestMs, entry: entry)
  }

  /// The CPU backend's outputs per workload (computed once) and the timing settings.
  struct Context {
    let options: Options
    let shape: Shape
    var references: [Workload: [Output]] = [:]

    init(options: Options, shape: Shape) {
      self.options = options
      self.shape = shape
    }

    /// Builds a backend with `config`, runs `workload` once and compares it with the CPU
    /// backend, then times it.
    mutating func measure(_ config: OpenCLKernelConfig, on workload: Workload, faults: OpenCLFaults, corrupt: Bool)
      -> Outcome
    {
      do {
        if references[workload] == nil {
          let cpu = try CPUBackend()
          let prepared = try OpenCLTuner.prepare(workload, on: cpu, shape: shape)
          try prepared.run()
          references[workload] = try prepared.outputs()
        }
      } catch {
        return .failed("the CPU reference failed: \(error)")
      }
      let expected = references[workload] ?? []
      let backend: OpenCLBackend
      let prepared: Prepared
      do {
        backend = try OpenCLBackend(device: options.device, config: config, faults: faults)
        prepared = try OpenCLTuner.prepare(workload, on: backend, shape: shape)
        try prepared.run()
        var actual = try prepared.outputs()
        if corrupt {
          for i in actual.indices where !actual[i].values.isEmpty { actual[i].values[0] += 1 }
        }
        if let problem = OpenCLTuner.compare(actual, expected) { return .wrong(problem) }
      } catch let BertScopeError.kernelBuildFailed(file, _, log) {
        return .failed("\(file) did not build: " + (log.split(separator: "\n").first.map(String.init) ?? ""))
      } catch {
        return .failed("\(error)")
      }
      do {
        var warm = 0.0
        for _ in 0..<max(options.warmups, 1) {
          let t0 = DispatchTime.now().uptimeNanoseconds
          try prepared.run()
          try backend.finish()
          warm = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        // Fast ops are noisy: more runs (up to 50) until they add up to about 50 ms.
        let runs = max(options.runs, min(50, Int(0.05 / max(warm, 1e-6))))
        var times: [Double] = []
        for _ in 0..<runs {
          let t0 = DispatchTime.now().uptimeNanoseconds
          try prepared.run()
          try backend.finish()
          times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        times.sort()
        return .timed(ms: times[times.count / 2])
      } catch {
        return .failed("\(error)")
      }
    }
  }

  /// One output of a workload and its absolute tolerance (plus 1e-4 · |reference|).
  struct Output {
    let name: String
    var values: [Float]
    let atol: Double
  }

  /// A workload's inputs uploaded to one backend: the ops to run and how to read the results.
  struct Prepared {
    let run: () throws -> Void
    let outputs: () throws -> [Output]
  }

  /// The same inputs (fixed seeds) on any backend.
  static func prepare<B: ComputeBackend>(_ workload: Workload, on backend: B, shape: Shape) throws -> Prepared {
    let h = shape.hidden
    switch workload {
    case .linear(let rows):
      var rng = SplitMix64(seed: 0x7475_6E65 &+ UInt64(rows))
      // The encoder layer's four: QKV (bias), attention output (+ residual), intermediate
      // (+ GELU), output (+ residual).
      let layers: [(name: String, k: Int, n: Int, residual: Bool, act: Bool)] = [
        ("qkv", h, 3 * h, false, false), ("attention output", h, h, true, false),
        ("intermediate", h, shape.intermediate, false, true), ("output", shape.intermediate, h, true, false),
      ]
      var ops: [() throws -> Void] = []
      var reads: [() throws -> Output] = []
      for layer in layers {
        let x = try backend.makeBuffer(rng.floats(rows * layer.k))
        let w = try backend.makeMatrix(rng.floats(layer.n * layer.k), rows: layer.n, cols: layer.k)
        let bias = try backend.makeBuffer(rng.floats(layer.n))
        let out = try backend.makeBuffer(count: rows * layer.n)
        var epilogue: Epilogue<B.Buffer> = layer.act ? .biasActivation : .bias
        if layer.residual { epilogue = .biasResidual(try backend.makeBuffer(rng.floats(rows * layer.n))) }
        ops.append {
          try backend.linear(
            out: out, input: x, rows: rows, weight: w, bias: bias, epilogue: epilogue, activation: .gelu)
        }
        let count = rows * layer.n, atol = 1e-5 * Double(layer.k).squareRoot()
        reads.append {
          Output(name: "linear \(layer.name)", values: try backend.read(out, range: 0..<count), atol: atol)
        }
      }
      return Prepared(run: { for op in ops { try op() } }, outputs: { try reads.map { try $0() } })
    case .attentionNoMaps:
      var rng = SplitMix64(seed: 0x666C_6173)
      let heads = shape.heads, d = shape.headDim
      let batch = rng.batch(lengths: Array(repeating: shape.length, count: shape.batch), heads: heads, vocab: 100)
      let tokens = batch.tokenCount
      let layout = try backend.makeLayout(batch)
      let qkv = try backend.makeBuffer(rng.floats(tokens * 3 * h, in: -2...2))
      let context = try backend.makeBuffer(count: tokens * h)
      let modes = [HeadMode](repeating: .normal, count: heads)
      let scale = Float(1 / Double(d).squareRoot())
      return Prepared(
        run: {
          try backend.attentionContextOnly(
            context: context, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d, scale: scale,
            modes: modes)
        },
        outputs: {
          [Output(name: "attention context", values: try backend.read(context, range: 0..<(tokens * h)), atol: 1e-4)]
        })
    case .attention:
      var rng = SplitMix64(seed: 0x6174_746E)
      let heads = shape.heads, d = shape.headDim
      let batch = rng.batch(lengths: Array(repeating: shape.length, count: shape.batch), heads: heads, vocab: 100)
      let tokens = batch.tokenCount
      let layout = try backend.makeLayout(batch)
      let qkv = try backend.makeBuffer(rng.floats(tokens * 3 * h, in: -2...2))
      let probs = try backend.makeBuffer(count: batch.probCount)
      let context = try backend.makeBuffer(count: tokens * h)
      let gamma = try backend.makeBuffer(rng.floats(h)), beta = try backend.makeBuffer(rng.floats(h))
      let y = try backend.makeBuffer(rng.floats(tokens * h, in: -3...5))
      let normed = try backend.makeBuffer(count: tokens * h)
      let modes = [HeadMode](repeating: .normal, count: heads)
      let scale = Float(1 / Double(d).squareRoot())
      return Prepared(
        run: {
          try backend.attention(
            probs: probs, context: context, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: d,
            scale: scale, modes: modes)
          try backend.layerNorm(out: normed, input: y, rows: tokens, cols: h, gamma: gamma, beta: beta, eps: 1e-12)
        },
        outputs: {
          [
            Output(
              name: "attention probabilities", values: try backend.read(probs, range: 0..<batch.probCount), atol: 1e-5),
            Output(name: "attention context", values: try backend.read(context, range: 0..<(tokens * h)), atol: 1e-4),
            Output(name: "layer norm", values: try backend.read(normed, range: 0..<(tokens * h)), atol: 1e-4),
          ]
        })
    }
  }

  /// nil when every output is within |a − b| ≤ atol + 1e-4·|b| of the reference, else the
  /// first output that is not, with its largest error.
  static func compare(_ actual: [Output], _ expected: [Output]) -> String? {
    guard actual.count == expected.count else { return "\(actual.count) outputs, expected \(expected.count)" }
    for (a, e) in zip(actual, expected) {
      guard a.values.count == e.values.count else {
        return "\(a.name): \(a.values.count) values, expected \(e.values.count)"
      }
      var worst = 0.0, at = -1
      for i in a.values.indices {
        let b = Double(e.values[i]), d = abs(Double(a.values[i]) - b)
        if !(d <= a.atol + 1e-4 * abs(b)) && (d.isNaN || d > worst || at < 0) {
          worst = d.isNaN ? .infinity : d
          at = i
        }
      }
      if at >= 0 {
        return "\(a.name): |error| " + String(format: "%.3g at %d (tolerance %.1e", worst, at, a.atol)
          + " + 1e-4·|reference|)"
      }
    }
    return nil
  }
}
