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
    if config.gemmVector {
      let (transposed, stride) = Self.transposePadded(weight, rows: rows, cols: cols)
      let buffer = try locked { try upload(transposed) }
      return OpenCLMatrix(buffer: buffer, rows: rows, cols: cols, panelWidth: nil, transposedStride: stride)
    }
    let buffer = try locked { try upload(weight) }
    return OpenCLMatrix(buffer: buffer, rows: rows, cols: cols, panelWidth: nil)
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
