import Foundation
import Testing

@testable import BertScope

/// `OpProfiler` (`bertscope profile`): one layer's ops timed alone, with FLOPs and bytes from the
/// shapes, and the OpenCL device's measured FMA peak.
@Suite("Op profiler")
struct OpProfilerTests {
  /// The tiny model's sizes (hidden 32, intermediate 64, 4 heads, 2 layers) at 2 × 16 tokens.
  static let shape = OpProfiler.Shape(hidden: 32, intermediate: 64, heads: 4, layers: 2, batch: 2, length: 16)
  static let ops = [
    "linear qkv", "attention (no maps)", "attention (maps written)", "linear attention output", "layer norm",
    "linear intermediate (GELU)", "linear output",
  ]

  /// What every report must satisfy: the ops in order, FLOPs and bytes from the shapes, times
  /// measured, the layer totals and shares consistent.
  static func check(_ r: OpProfiler.Report) {
    #expect(r.rows.map(\.op) == ops)
    let t = 32.0, h = 32.0, i = 64.0
    let flops = Dictionary(uniqueKeysWithValues: r.rows.map { ($0.op, $0.flops) })
    #expect(flops["linear qkv"] == 2 * t * 3 * h * h)
    #expect(flops["linear intermediate (GELU)"] == 2 * t * i * h)
    #expect(flops["linear output"] == 2 * t * h * i)
    // QKᵀ and P·V: 2 × (batch · heads · L² · headDim) multiply-adds.
    #expect(flops["attention (no maps)"] == Double(4 * 2 * 4 * 16 * 16 * 8))
    #expect(flops["layer norm"] == 0)
    let bytes = Dictionary(uniqueKeysWithValues: r.rows.map { ($0.op, $0.bytes) })
    // x, W, bias, out and the residual, 4 bytes each.
    #expect(bytes["linear attention output"] == 4 * (t * h + h * h + h + t * h + t * h))
    #expect(bytes["attention (maps written)"]! - bytes["attention (no maps)"]! == 4 * 2 * 4 * 16 * 16)
    #expect(r.rows.allSatisfy { $0.ms > 0 && $0.ms.isFinite }, "\(r.rows)")
    let expected = r.rows.reduce(0) { $0 + $1.ms * Double($1.perLayer) }
    #expect(abs(r.layerMs - expected) < 1e-9)
    let noMaps = r.rows[1].ms, maps = r.rows[2].ms
    #expect(abs(r.layerWithMapsMs - (r.layerMs - noMaps + maps)) < 1e-9)
    let shares = r.rows.compactMap { r.share($0) }
    #expect(shares.count == 6 && abs(shares.reduce(0, +) - 1) < 1e-9)
    #expect(r.share(r.rows[2]) == nil)
  }

  @Test("the CPU backend: every op timed, FLOPs and bytes from the shapes; no peak unless given")
  func cpu() throws {
    let report = try OpProfiler.profile(.cpu, device: nil, shape: Self.shape, repeats: 3)
    Self.check(report)
    #expect(report.peakGFLOPS == nil && report.rows.allSatisfy { report.percentOfPeak($0) == nil })
    let given = report.withPeak(1000)
    let qkv = given.rows[0]
    #expect(abs(given.percentOfPeak(qkv)! - qkv.gflops / 10) < 1e-9)
    #expect(given.percentOfPeak(given.rows[4]) == nil, "the layer norm has no FLOPs")
  }

  @Test("a shape no encoder has is refused")
  func badShape() {
    var shape = Self.shape
    shape.heads = 5
    #expect(throws: BertScopeError.self) { try OpProfiler.profile(.cpu, device: nil, shape: shape) }
  }

  @Test(
    "OpenCL: the FMA peak is measured and within what the device's cores can do; every op timed",
    .enabled(if: OpenCLTest.available, OpenCLTest.skipReason))
  func openCL() throws {
    let report = try OpProfiler.profile(.opencl, device: OpenCLTest.deviceIndex, shape: Self.shape, repeats: 3)
    Self.check(report)
    let peak = try #require(report.peakGFLOPS)
    let info = try OpenCLDevices.all()[OpenCLTest.deviceIndex]
    #expect(peak > 0.5, "peak \(peak) GFLOP/s")
    if info.type == .cpu {
      // At most 2 FMA units × 16 lanes × 2 FLOPs per cycle per core at 6 GHz: a peak above that
      // means the kernel's FLOPs are over-counted.
      #expect(peak < Double(info.computeUnits) * 6 * 64, "peak \(peak) GFLOP/s on \(info.computeUnits) cores")
    }
    #expect(report.rows.allSatisfy { $0.flops == 0 || report.percentOfPeak($0)! > 0 })
  }

  @Test("bertscope profile prints the table and writes the JSON")
  func command() throws {
    let out = Fixtures.temporaryDirectory("bertscope-profile").appendingPathComponent("profile.json")
    let r = try CLI.run([
      "profile", "--backend", "cpu", "--model", Fixtures.tiny.path, "--batch", "2", "--length", "16", "--repeats", "2",
      "--peak-gflops", "100", "--json", out.path,
    ])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("linear intermediate (GELU)") && r.stdout.contains("layer: "), "\(r.stdout)")
    #expect(r.stdout.contains("FMA peak 100 GFLOP/s"), "\(r.stdout)")
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Any]
    let reports = json?["reports"] as? [[String: Any]] ?? []
    #expect(reports.count == 1)
    let rows = reports.first?["rows"] as? [[String: Any]] ?? []
    #expect(rows.map { $0["op"] as? String ?? "" } == Self.ops)
    #expect(rows.first?["percent_of_peak"] as? Double != nil && reports.first?["layer_ms"] as? Double != nil)
    let bad = try CLI.run(["profile", "--backend", "cpu", "--model", Fixtures.tiny.path, "--length", "1"])
    #expect(bad.status != 0 && bad.stderr.contains("lengths must be between 2"), "\(bad.stderr)")
  }
}
