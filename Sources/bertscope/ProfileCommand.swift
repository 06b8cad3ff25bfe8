import ArgumentParser
import BertScope
import BertScopeAnalysis
import Foundation

struct ProfileCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "profile",
    abstract: "Where an encoder layer's time goes: each op timed alone, with GFLOP/s, GB/s and the device's FMA peak.",
    discussion: """
      Times the ops one encoder layer runs (QKV projection, attention with and without the \
      probabilities written, attention output, layer norm ×2, intermediate + GELU, output) at \
      the model's sizes and BATCH × LENGTH tokens, on random inputs: the median ms per call, \
      GFLOP/s (multiply-adds count 2), the least bytes each op must move and their GB/s, \
      FLOPs per byte (the op's place on the roofline) and each op's share of a layer. On \
      OpenCL devices the FP32 peak is measured first (chains of independent FMAs over the whole \
      device) and every op is given as a percent of it; for the CPU backend pass --peak-gflops \
      (e.g. from bench/fmapeak.c). The layer totals times the model's layers estimate a \
      forward pass without the embeddings (compare `bertscope bench`).
      """)

  @Option(help: "Hugging Face BERT model folder (default: $BERTSCOPE_MODEL, else the installed default).")
  var model: String?
  @Option(help: "Comma-separated backends: cpu, opencl, auto.") var backend = "opencl"
  @Option(help: "OpenCL device index (see `bertscope devices`; default: the first GPU, else device 0).")
  var device: Int?
  @Option(help: "Comma-separated batch sizes.") var batch = "32"
  @Option(help: "Comma-separated sequence lengths in tokens.") var length = "128"
  @Option(help: "Timed samples per op (each of enough calls to last about 2 ms).") var repeats = 10
  @Option(help: "The peak GFLOP/s to compare with where none is measured (the CPU backend).")
  var peakGflops: Double?
  @Option(help: "Also write the results as JSON here.") var json: String?
  @Flag(name: .shortAndLong, help: "No progress on stderr.") var quiet = false

  func validate() throws {
    guard repeats >= 1 else { throw ValidationError("--repeats must be ≥ 1") }
    if let peakGflops {
      guard peakGflops > 0, peakGflops.isFinite else { throw ValidationError("--peak-gflops must be > 0") }
    }
  }

  func run() throws {
    let directory = ModelLocator.resolve(model)
    let config = try BertConfig(contentsOf: directory.appendingPathComponent("config.json"))
    let backends = try backend.split(separator: ",").map { name -> BackendKind in
      guard let kind = BackendKind(rawValue: String(name)) else { throw ValidationError("unknown backend \(name)") }
      return kind
    }
    let batches = try list(batch, "--batch"), lengths = try list(length, "--length")
    guard let longest = lengths.max(), longest <= config.maxPositions, lengths.allSatisfy({ $0 >= 2 }) else {
      throw ValidationError("lengths must be between 2 and \(config.maxPositions)")
    }
    var reports: [OpProfiler.Report] = []
    for kind in backends {
      for b in batches {
        for l in lengths {
          let shape = OpProfiler.Shape(config: config, batch: b, length: l)
          var report = try OpProfiler.profile(kind, device: device, shape: shape, repeats: repeats) { line in
            if !quiet { printError("profile \(kind.rawValue) \(b)×\(l): " + line) }
          }
          if report.peakGFLOPS == nil, let peakGflops { report = report.withPeak(peakGflops) }
          print(Self.table(report))
          reports.append(report)
        }
      }
    }
    if let json {
      try AnalysisJSON.write(ProfileResults(model: directory.path, reports: reports), to: URL(fileURLWithPath: json))
    }
  }

  func list(_ text: String, _ name: String) throws -> [Int] {
    try text.split(separator: ",").map {
      guard let v = Int($0), v >= 1 else { throw ValidationError("\(name) takes positive integers: \(text)") }
      return v
    }
  }

  /// The report as a table with a header naming the backend, the shape and the peak.
  static func table(_ r: OpProfiler.Report) -> String {
    let s = r.shape
    var lines = [
      "\(r.backend): hidden \(s.hidden), intermediate \(s.intermediate), \(s.heads) heads, \(s.layers) layers, "
        + "\(s.batch) × \(s.length) tokens; FMA peak "
        + (r.peakGFLOPS.map { String(format: "%.0f GFLOP/s", $0) } ?? "not measured (--peak-gflops)"),
      pad("op", 28) + pad("per layer", 10, right: true) + pad("ms", 10, right: true) + pad("GFLOP/s", 10, right: true)
        + pad("% peak", 8, right: true) + pad("GB/s", 9, right: true) + pad("FLOP/B", 8, right: true)
        + pad("share", 8, right: true),
    ]
    for row in r.rows {
      lines.append(
        pad(row.op, 28) + pad("\(row.perLayer)", 10, right: true) + pad(String(format: "%.3f", row.ms), 10, right: true)
          + pad(row.flops > 0 ? String(format: "%.1f", row.gflops) : "-", 10, right: true)
          + pad(r.percentOfPeak(row).map { String(format: "%.1f", $0) } ?? "-", 8, right: true)
          + pad(String(format: "%.1f", row.gbPerS), 9, right: true)
          + pad(row.flops > 0 ? String(format: "%.1f", row.intensity) : "-", 8, right: true)
          + pad(r.share(row).map { String(format: "%.1f%%", 100 * $0) } ?? "-", 8, right: true))
    }
    let linearPeak = r.peakGFLOPS.map { String(format: " (%.1f %% of peak)", 100 * r.linearGFLOPS / $0) } ?? ""
    lines.append(
      String(
        format: "layer: %.3f ms without maps, %.3f ms with maps written; × %d layers: %.2f / %.2f ms; "
          + "linear layers %.1f GFLOP/s", r.layerMs, r.layerWithMapsMs, s.layers, r.layerMs * Double(s.layers),
        r.layerWithMapsMs * Double(s.layers), r.linearGFLOPS) + linearPeak)
    if let peak = r.peakGFLOPS, let top = r.rows.map(\.gflops).max(), top > peak {
      // An op above the FMA kernel's rate means the kernel did not reach this device's peak
      // (a CPU runtime that runs its chains narrower than the GEMM's), not that the op beats it.
      lines.append(
        String(
          format: "note: an op reached %.0f GFLOP/s, above the FMA kernel's %.0f: the measured peak is low for "
            + "this device (pass --peak-gflops with its clock × lanes × 2)", top, peak))
    }
    return lines.joined(separator: "\n")
  }
}

/// `bertscope profile --json`: per backend and shape, the peak, the layer totals and every op
/// with its derived rates.
struct ProfileResults: Encodable {
  struct Row: Encodable {
    let op: String
    let perLayer: Int
    let ms, flops, bytes, gflops, gbPerS, flopPerByte: Double
    let percentOfPeak, share: Double?
    enum CodingKeys: String, CodingKey {
      case op, ms, flops, bytes, gflops, share
      case perLayer = "per_layer", gbPerS = "gb_per_s", flopPerByte = "flop_per_byte", percentOfPeak = "percent_of_peak"
    }
  }
  struct Report: Encodable {
    let backend: String
    let shape: OpProfiler.Shape
    let peakGFLOPS: Double?
    let repeats: Int
    let layerMs, layerWithMapsMs, linearGFLOPS: Double
    let rows: [Row]
    enum CodingKeys: String, CodingKey {
      case backend, shape, repeats, rows
      case peakGFLOPS = "peak_gflops", layerMs = "layer_ms", layerWithMapsMs = "layer_with_maps_ms"
      case linearGFLOPS = "linear_gflops"
    }
  }
  let model: String
  let reports: [Report]

  init(model: String, reports: [OpProfiler.Report]) {
    self.model = model
    self.reports = reports.map { r in
      Report(
        backend: r.backend, shape: r.shape, peakGFLOPS: r.peakGFLOPS, repeats: r.repeats, layerMs: r.layerMs,
        layerWithMapsMs: r.layerWithMapsMs, linearGFLOPS: r.linearGFLOPS,
        rows: r.rows.map {
          Row(
            op: $0.op, perLayer: $0.perLayer, ms: $0.ms, flops: $0.flops, bytes: $0.bytes, gflops: $0.gflops,
            gbPerS: $0.gbPerS, flopPerByte: $0.intensity, percentOfPeak: r.percentOfPeak($0), share: r.share($0))
        })
    }
  }
}
