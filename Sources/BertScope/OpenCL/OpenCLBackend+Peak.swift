import Foundation

// The device's measured FP32 peak (Kernels/fma_peak.cl), the roof of `bertscope profile`.
extension OpenCLBackend {
  /// GFLOP/s of chains of independent multiply-adds over the whole device: the best of
  /// `trials` runs, each sized to take about `seconds`, over vector widths 4, 8 and 16 (a CPU
  /// runtime fills an AVX-512 unit only with the widest; GPUs run any width at the same
  /// rate). What the device's FMA units sustain with no memory traffic, the ceiling every
  /// op's GFLOP/s is compared with.
  public func fmaPeakGFLOPS(seconds: Double = 0.02, trials: Int = 5) throws -> Double {
    // PoCL on a 2-core AVX-512 machine: 50–110 GFLOP/s with float4, 170–220 with float8 or
    // float16, depending on the work-group size as well; so every combination, the best kept.
    let largest = min(device.maxWorkGroupSize, 256)
    let locals = Set([largest, min(largest, 64)] + (device.type == .cpu ? [1] : [])).sorted()
    var best = 0.0
    for width in [4, 8, 16] {
      for local in locals {
        best = max(best, try fmaPeakGFLOPS(width: width, local: local, seconds: seconds, trials: trials))
      }
    }
    return best
  }

  func fmaPeakGFLOPS(width: Int, local: Int, seconds: Double, trials: Int) throws -> Double {
    // Enough work-groups to fill every compute unit several times over.
    let items = max(device.computeUnits, 1) * max(local, 16) * (device.type == .cpu ? 4 : 16)
    let out = try makeBuffer(count: items)
    let k = try locked { try kernel("fma_peak.cl", "kernel_fma_peak", options: "-DWIDTH=\(width)") }
    func run(_ iters: Int) throws -> Double {
      let start = DispatchTime.now().uptimeNanoseconds
      try locked {
        try enqueue(k, [.buffer(out), .int(iters), .float(0.9999), .float(0.001)], global: [items], local: [local])
      }
      try finish()
      return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
    // Warm-up (builds, first launch), then scale the loop to the target time.
    var iters = 256
    var elapsed = try run(iters)
    while elapsed < seconds / 4 && iters < 1 << 24 {
      iters *= 4
      elapsed = try run(iters)
    }
    iters = max(1, min(1 << 26, Int(Double(iters) * seconds / max(elapsed, 1e-6))))
    var best = 0.0
    for _ in 0..<max(trials, 1) {
      let t = try run(iters)
      best = max(best, Double(items) * Double(iters) * 8 * Double(width) * 2 / t / 1e9)
    }
    return best
  }
}
