import CHostKernels
import COpenBLAS

// The linear layers: `out = epilogue(input · weightᵀ)` on the packed GEMM (epilogue in its
// registers) or on OpenBLAS sgemm followed by `bs_epilogue` while the block is in cache.
extension CPUBackend {
  func linear(
    out: FloatStorage, input: FloatStorage, rows: Int, weight: Matrix, bias: FloatStorage,
    epilogue: Epilogue<FloatStorage>, activation: Activation
  ) throws {
    let n = weight.rows
    let k = weight.cols
    guard rows > 0 else { return }
    let o = out.pointer, x = input.pointer, w = weight.storage.pointer, b = bias.pointer
    let residual = { () -> UnsafeMutablePointer<Float>? in
      if case .biasResidual(let r) = epilogue { return r.pointer }
      return nil
    }()
    switch gemm {
    case .packed: packedLinear(o, x, rows: rows, n: n, k: k, w, b, residual, epilogue.code, activation)
    case .openBLAS: blasLinear(o, x, rows: rows, n: n, k: k, w, b, residual, epilogue.code, activation)
    }
  }

  /// `linear` on OpenBLAS: o[rows][n] = epilogue(x[rows][k] · w[n][k]ᵀ).
  private func blasLinear(
    _ o: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, k: Int,
    _ w: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ residual: UnsafeMutablePointer<Float>?,
    _ kind: Int32, _ activation: Activation
  ) {
    // sgemm overwrites `out` before the epilogue reads the residual: when they are the same
    // buffer, the epilogue reads a copy.
    let saved = residual == o ? FloatStorage(Array(UnsafeBufferPointer(start: o, count: rows * n))) : nil
    let blasResidual = saved?.pointer ?? residual
    defer { withExtendedLifetime(saved) {} }  // the copy outlives the blocks that read it
    let level = kernels.level
    // sgemm on rows r0..<r0+m, columns c0..<c0+width, then the epilogue while the block is
    // still in cache.
    func block(rows r0: Int, _ m: Int, columns c0: Int, _ width: Int) {
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(width), Int32(k), 1,
        x + r0 * k, Int32(k), w + c0 * k, Int32(k), 0, o + r0 * n + c0, Int32(n))
      bs_epilogue(
        level, o + r0 * n + c0, m, width, n, b + c0, blasResidual.map { $0 + r0 * n + c0 }, n, kind,
        activation.rawValue)
    }
    // Blocks on our own threads, each a single-threaded sgemm. (OpenBLAS's own pool would spin
    // between calls and fight the attention kernels' threads for the cores.) Many rows: blocks
    // of rows; few rows (short single inputs), where a row block would leave cores idle:
    // blocks of columns.
    if rows >= 2 * 64 || hostThreads == 1 {
      let rowBlock = max(64, (rows + 2 * hostThreads - 1) / (2 * hostThreads))
      parallelItems((rows + rowBlock - 1) / rowBlock) { i in
        block(rows: i * rowBlock, min(rowBlock, rows - i * rowBlock), columns: 0, n)
      }
    } else {
      let columnBlock = max(16, (n / hostThreads + 15) / 16 * 16)
      parallelItems((n + columnBlock - 1) / columnBlock) { i in
        block(rows: 0, rows, columns: i * columnBlock, min(columnBlock, n - i * columnBlock))
      }
    }
  }

  /// `linear` on the packed GEMM: blocks of rows on our threads (columns, in whole 64-wide
  /// panels, when there are too few rows to share), the epilogue fused into the kernel.
  private func packedLinear(
    _ o: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, k: Int,
    _ w: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ residual: UnsafeMutablePointer<Float>?,
    _ kind: Int32, _ activation: Activation
  ) {
    let panel = Int(BS_GEMM_PANEL)
    func run(rows r0: Int, _ m: Int, columns c0: Int, _ width: Int) {
      bs_gemm(
        Int32(m), Int32(width), Int32(k), x + r0 * k, Int32(k), w + c0 * k, b + c0,
        residual.map { $0 + r0 * n + c0 }, Int32(n), kind, activation.rawValue, o + r0 * n + c0, Int32(n))
    }
    let panels = (n + panel - 1) / panel
    if rows >= 512 || hostThreads == 1 || panels == 1 {
      // About two blocks per thread for balance, in whole 6-row micro-panels.
      let rowBlock = (max(64, (rows + 2 * hostThreads - 1) / (2 * hostThreads)) + 5) / 6 * 6
      parallelItems((rows + rowBlock - 1) / rowBlock) { i in
        let r0 = i * rowBlock
        run(rows: r0, min(rowBlock, rows - r0), columns: 0, n)
      }
    } else {
      // Few rows (a sentence or two): one item per 64-column panel, so that the work spreads
      // evenly even when a worker thread wakes late (with one block per thread, a call of
      // half a millisecond often ran on one core).
      parallelItems(panels) { i in
        run(rows: 0, rows, columns: i * panel, min(panel, n - i * panel))
      }
    }
  }
}
