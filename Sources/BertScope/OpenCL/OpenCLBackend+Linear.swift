import Foundation

// Linear layers: the GEMM kernels (gemm_cpu.cl, gemm_gpu.cl) and the weight packing of the CPU one.
extension OpenCLBackend {
  func makeMatrix(_ weight: [Float], rows: Int, cols: Int) throws -> OpenCLMatrix {
    try require(
      rows > 0 && cols > 0 && weight.count == rows * cols,
      "weight of \(weight.count) floats is not [\(rows), \(cols)]")
    if config.variant == .cpu {
      let packed = Self.packPanels(weight, rows: rows, cols: cols, panelWidth: config.gemmNR)
      let buffer = try locked { try upload(packed) }
      return OpenCLMatrix(buffer: buffer, rows: rows, cols: cols, panelWidth: config.gemmNR)
    }
    if config.gemmVector || config.precision == .tf32 {
      let (transposed, stride) = Self.transposePadded(weight, rows: rows, cols: cols)
      let buffer = try locked { try upload(transposed) }
      return OpenCLMatrix(buffer: buffer, rows: rows, cols: cols, panelWidth: nil, transposedStride: stride)
    }
    let buffer = try locked { try upload(weight) }
    return OpenCLMatrix(buffer: buffer, rows: rows, cols: cols, panelWidth: nil)
  }

  /// kernel_gemm_gpu_tf32's output tile: 64 × 64 per work-group of 128 (4 warps of 32 × 32).
  static let tf32Tile = 64

  /// Whether kernel_gemm_gpu_tf32 builds on this device and gives a right GEMM: called when a
  /// backend is made with ``Precision/tf32``, before any weight is uploaded. A device whose
  /// compiler rejects the inline PTX (anything but NVIDIA, or an NVIDIA GPU before compute
  /// capability 8.0) or whose result is off gets a clear error, never a silent fp32 run.
  func checkTF32() throws {
    let what = "--precision tf32 (tensor cores through inline PTX mma.sync: NVIDIA GPUs of compute capability 8.0+)"
    if !config.tf32Emulate {
      guard device.type == .gpu, OpenCLKernelConfig.Vendor(device.vendor + " " + device.platformName) == .nvidia else {
        throw BertScopeError.backendUnavailable("\(what) cannot run on \(device.name) (\(device.platformName))")
      }
    }
    do {
      _ = try locked { try kernel("gemm_gpu_tf32.cl", "kernel_gemm_gpu_tf32", options: config.tf32Options) }
    } catch BertScopeError.kernelBuildFailed(_, _, let log) {
      let first = log.split(separator: "\n").prefix(3).joined(separator: " | ")
      throw BertScopeError.backendUnavailable("\(what): \(device.name)'s OpenCL compiler rejected the kernel: \(first)")
    }
    // One GEMM with ragged edges against a host sum in Double: TF32 rounds each input to a
    // relative 2⁻¹¹, so a product's error is at most ~2⁻¹⁰ of Σ|a·w| (plus fp32 summation).
    let (m, n, k) = (70, 130, 100)
    func values(_ count: Int, _ seed: Int) -> [Float] {
      (0..<count).map { Float(((($0 &* 2_654_435_761) &+ seed) % 2001) - 1000) / 1000 }
    }
    let a = values(m * k, 1), w = values(n * k, 7)
    let out = try makeBuffer(count: m * n)
    try linear(
      out: out, input: try makeBuffer(a), rows: m, weight: try makeMatrix(w, rows: n, cols: k),
      bias: try makeBuffer([Float](repeating: 0, count: n)), epilogue: .bias, activation: .gelu)
    let got = try read(out, range: 0..<(m * n))
    var worst = 0.0
    for i in 0..<m {
      for j in 0..<n {
        var exact = 0.0, magnitude = 0.0
        for kk in 0..<k {
          let p = Double(a[i * k + kk]) * Double(w[j * k + kk])
          exact += p
          magnitude += abs(p)
        }
        worst = max(worst, abs(Double(got[i * n + j]) - exact) / (magnitude + 1e-6))
      }
    }
    guard worst <= 2e-3 else {
      throw BertScopeError.backendUnavailable(
        "\(what): the tensor-core GEMM on \(device.name) is wrong (error \(worst) of Σ|a·w|, allowed 2e-3)")
    }
  }

  /// What kernel_gemm_gpu_vec's transposed weights are padded to: K to a multiple of 32, N of
  /// 128, so that every valid tile divides them and its W loads need no bounds checks.
  static let transposePadding = (k: 32, n: 128)

  /// `weight` [n, k] → Wᵀ `[kp, np]`, zero past k and n; returns it and np.
  static func transposePadded(_ weight: [Float], rows n: Int, cols k: Int) -> ([Float], Int) {
    let kp = (k + transposePadding.k - 1) / transposePadding.k * transposePadding.k
    let np = (n + transposePadding.n - 1) / transposePadding.n * transposePadding.n
    var out = [Float](repeating: 0, count: kp * np)
    weight.withUnsafeBufferPointer { w in
      out.withUnsafeMutableBufferPointer { t in
        for row in 0..<n {
          for col in 0..<k { t[col * np + row] = w[row * k + col] }
        }
      }
    }
    return (out, np)
  }

  func linear(
    out: OpenCLBuffer, input: OpenCLBuffer, rows: Int, weight: OpenCLMatrix, bias: OpenCLBuffer,
    epilogue: Epilogue<OpenCLBuffer>, activation: Activation
  ) throws {
    let n = weight.rows, k = weight.cols
    try require(
      rows >= 0 && input.count >= rows * k, "linear: input holds \(input.count) floats, needs [\(rows), \(k)]")
    try require(out.count >= rows * n, "linear: out holds \(out.count) floats, needs [\(rows), \(n)]")
    try require(bias.count >= n, "linear: bias holds \(bias.count) floats, needs \(n)")
    var residual = out
    if case .biasResidual(let r) = epilogue {
      try require(r.count >= rows * n, "linear: residual holds \(r.count) floats, needs [\(rows), \(n)]")
      residual = r
    }
    guard rows > 0 else { return }
    try locked {
      let args: [Arg] = [
        .buffer(out), .buffer(input), .buffer(weight.buffer), .buffer(bias), .buffer(residual), .int(rows), .int(n),
        .int(k), .int(Int(epilogue.code)), .int(Int(activation.rawValue)),
      ]
      if let nr = weight.panelWidth {
        var cpu = config
        cpu.gemmNR = nr
        let kern = try kernel("gemm_cpu.cl", "kernel_gemm_cpu", options: cpu.gemmOptions)
        let tiles = (rows + cpu.gemmMR - 1) / cpu.gemmMR
        let panels = (n + nr - 1) / nr
        try enqueue(kern, args, global: [tiles, panels], local: [cpu.gemmLocal, 1])
      } else if let np = weight.transposedStride, config.precision == .tf32 {
        let kern = try kernel("gemm_gpu_tf32.cl", "kernel_gemm_gpu_tf32", options: config.tf32Options)
        let vectorArgs: [Arg] = [
          .buffer(out), .buffer(input), .buffer(weight.buffer), .buffer(bias), .buffer(residual), .int(rows), .int(n),
          .int(k), .int(np), .int(Int(epilogue.code)), .int(Int(activation.rawValue)),
        ]
        let tile = Self.tf32Tile
        try enqueue(
          kern, vectorArgs, global: [(n + tile - 1) / tile * 128, (rows + tile - 1) / tile], local: [128, 1])
      } else if let np = weight.transposedStride {
        // Double buffers take twice the local memory: halve the K step until they fit.
        let tiles = config.gpuGemmTiles(m: rows, n: n, computeUnits: device.computeUnits).fittedVector(
          localMemoryBytes: device.localMemoryBytes)
        try require(
          tiles.isValidVector(maxWorkGroupSize: device.maxWorkGroupSize, localMemoryBytes: device.localMemoryBytes),
          "linear: GEMM tiles \(tiles) cannot run kernel_gemm_gpu_vec on \(device.name)")
        let kern = try kernel(
          "gemm_gpu_vec.cl", "kernel_gemm_gpu_vec", options: OpenCLKernelConfig.gpuGemmOptions(tiles))
        let (lx, ly) = tiles.localSize
        let global = [(n + tiles.tileN - 1) / tiles.tileN * lx, (rows + tiles.tileM - 1) / tiles.tileM * ly]
        let vectorArgs: [Arg] = [
          .buffer(out), .buffer(input), .buffer(weight.buffer), .buffer(bias), .buffer(residual), .int(rows), .int(n),
          .int(k), .int(np), .int(Int(epilogue.code)), .int(Int(activation.rawValue)),
        ]
        try enqueue(kern, vectorArgs, global: global, local: [lx, ly])
      } else {
        // Few output tiles (small batches) leave most of a GPU idle: use smaller ones.
        let tiles = config.gpuGemmTiles(m: rows, n: n, computeUnits: device.computeUnits)
        let kern = try kernel("gemm_gpu.cl", "kernel_gemm_gpu", options: OpenCLKernelConfig.gpuGemmOptions(tiles))
        let (lx, ly) = tiles.localSize
        let global = [(n + tiles.tileN - 1) / tiles.tileN * lx, (rows + tiles.tileM - 1) / tiles.tileM * ly]
        try enqueue(kern, args, global: global, local: [lx, ly])
      }
    }
  }

  // MARK: - Weight packing

  /// `weight` [n, k] → `[ceil(n/nr)][k][nr]` panels, zero-padded past `n`.
  static func packPanels(_ weight: [Float], rows n: Int, cols k: Int, panelWidth nr: Int) -> [Float] {
    let panels = (n + nr - 1) / nr
    var packed = [Float](repeating: 0, count: panels * k * nr)
    weight.withUnsafeBufferPointer { w in
      packed.withUnsafeMutableBufferPointer { p in
        for panel in 0..<panels {
          let width = min(nr, n - panel * nr)
          for j in 0..<width {
            let src = (panel * nr + j) * k
            var dst = panel * k * nr + j
            for kk in 0..<k {
              p[dst] = w[src + kk]
              dst += nr
            }
          }
        }
      }
    }
    return packed
  }
}
