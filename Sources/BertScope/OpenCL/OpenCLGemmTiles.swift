/// The tile sizes of the GPU GEMM (`Kernels/gemm_gpu.cl`), passed as its `-D` build options:
/// a work-group computes a `tileM × tileN` block of C, each work-item `wptM × wptN` outputs of
/// it, and K advances `tileK` at a time through two `__local` tiles.
///
/// `candidates` is the bounded set an autotuner times on a device; every candidate `isValid`
/// accepts builds and is checked against the Double reference on PoCL
/// (`OpenCLGemmTilesTests`), so any of them may be chosen.
struct GPUGemmTiles: Sendable, Hashable, Codable, CustomStringConvertible {
  var tileM: Int
  var tileN: Int
  var tileK: Int
  var wptM: Int
  var wptN: Int

  /// 64 × 64 tiles of 4 × 4 per work-item (16 × 16 work-items): the default for large GEMMs.
  static let large = GPUGemmTiles(tileM: 64, tileN: 64, tileK: 32, wptM: 4, wptN: 4)
  /// 32 × 32 tiles of 2 × 2 per work-item, for GEMMs with few large tiles (small batches).
  static let small = GPUGemmTiles(tileM: 32, tileN: 32, tileK: 32, wptM: 2, wptN: 2)

  /// The work-group's shape: `(tileN / wptN, tileM / wptM)`.
  var localSize: (x: Int, y: Int) { (tileN / max(wptN, 1), tileM / max(wptM, 1)) }
  var workGroupSize: Int { localSize.x * localSize.y }
  /// Bytes of `__local` memory the kernel declares: `As[tileK][tileM + 1]`, `Bs[tileK][tileN + 1]`.
  var localMemoryBytes: Int { 4 * tileK * (tileM + 1 + tileN + 1) }

  /// Whether the kernel can be built and run with these tiles on a device with these limits:
  /// positive sizes, tiles divisible by the outputs per work-item, at most 64 accumulators per
  /// work-item (register pressure), the work-group and the local tiles within the device's.
  func isValid(maxWorkGroupSize: Int, localMemoryBytes limit: UInt64) -> Bool {
    guard tileM > 0, tileN > 0, tileK > 0, wptM > 0, wptN > 0 else { return false }
    guard tileM % wptM == 0, tileN % wptN == 0, wptM * wptN <= 64 else { return false }
    return workGroupSize <= maxWorkGroupSize && UInt64(localMemoryBytes) <= limit
  }

  /// Bytes of `__local` memory kernel_gemm_gpu_vec declares: two buffers each of
  /// `As[tileK][tileM]` and `Bs[tileK][tileN]`.
  var vectorLocalMemoryBytes: Int { 4 * 2 * tileK * (tileM + tileN) }

  /// Whether kernel_gemm_gpu_vec can run these tiles: `isValid`'s rules with its double
  /// buffers' local memory, a K step of a multiple of 4 (float4 loads) and tiles dividing the
  /// transposed weight's padding (`OpenCLBackend.transposePadding`).
  func isValidVector(maxWorkGroupSize: Int, localMemoryBytes limit: UInt64) -> Bool {
    isValid(maxWorkGroupSize: maxWorkGroupSize, localMemoryBytes: limit) && tileK % 4 == 0 && tileN % 4 == 0
      && OpenCLBackend.transposePadding.n % tileN == 0 && OpenCLBackend.transposePadding.k % tileK == 0
      && UInt64(vectorLocalMemoryBytes) <= limit
  }

  /// These tiles with the K step halved until kernel_gemm_gpu_vec's double buffers fit in
  /// `limit` bytes of local memory (what `linear` runs).
  func fittedVector(localMemoryBytes limit: UInt64) -> GPUGemmTiles {
    var tiles = self
    while tiles.tileK > 4 && UInt64(tiles.vectorLocalMemoryBytes) > limit { tiles.tileK /= 2 }
    return tiles
  }

  /// Whether kernel_gemm_gpu_vec can run these tiles, once fitted, on a device with `limits`.
  func canRunVector(_ limits: OpenCLTuningParameters.Limits) -> Bool {
    fittedVector(localMemoryBytes: limits.localMemoryBytes).isValidVector(
      maxWorkGroupSize: limits.maxWorkGroupSize, localMemoryBytes: limits.localMemoryBytes)
  }

  /// Output tiles (work-groups) of an `m × n` GEMM.
  func workGroups(m: Int, n: Int) -> Int { (m + tileM - 1) / tileM * ((n + tileN - 1) / tileN) }

  /// The kernel's build options.
  var options: String { "-D TS_M=\(tileM) -D TS_N=\(tileN) -D TS_K=\(tileK) -D WPT_M=\(wptM) -D WPT_N=\(wptN)" }

  /// e.g. "64x64k32/4x4".
  var description: String { "\(tileM)x\(tileN)k\(tileK)/\(wptM)x\(wptN)" }

  /// The bounded candidate set (at most 32) for a device: square and rectangular tiles of
  /// 32–128, K steps of 16 and 32, 2 × 2 to 8 × 8 outputs per work-item, work-groups of 64 to
  /// 256 work-items; the two defaults always first.
  static func candidates(maxWorkGroupSize: Int, localMemoryBytes: UInt64) -> [GPUGemmTiles] {
    var out = [large, small]
    let shapes = [(64, 64), (32, 32), (64, 32), (32, 64), (128, 64), (64, 128), (128, 128)]
    let perItem = [(4, 4), (2, 2), (8, 4), (4, 8), (8, 8)]
    for (tm, tn) in shapes {
      for (wm, wn) in perItem {
        for tk in [16, 32] {
          let t = GPUGemmTiles(tileM: tm, tileN: tn, tileK: tk, wptM: wm, wptN: wn)
          guard !out.contains(t), (64...256).contains(t.workGroupSize) else { continue }
          out.append(t)
        }
      }
    }
    return Array(
      out.filter { $0.isValid(maxWorkGroupSize: maxWorkGroupSize, localMemoryBytes: localMemoryBytes) }.prefix(32))
  }
}
