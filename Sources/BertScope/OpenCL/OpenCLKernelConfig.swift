/// Which family of kernels a backend runs, and their tile sizes (passed as `-D` build options).
///
/// On PoCL (a CPU device) GPU-style kernels (local-memory tiles, barriers, big work-groups) run
/// 10–100× slower than register-blocked ones with one work-item per output tile; on GPUs the
/// opposite holds.
struct OpenCLKernelConfig: Sendable, Equatable {
  enum Variant: String, Sendable, CaseIterable { case cpu, gpu }
  var variant: Variant

  // CPU variant (gemm_cpu.cl): a work-item computes gemmMR × gemmNR outputs; weights packed in
  // gemmNR-column panels; gemmLocal row tiles per work-group share one panel.
  // 4 × 32 (8 float16 accumulators) measured 5–10 % faster than 6 × 16 on PoCL (Zen 4, AVX-512).
  var gemmMR = 4
  var gemmNR = 32
  var gemmLocal = 4
  /// Local size of the one-row-per-work-item kernels (layer norm, embeddings).
  var rowLocal = 8
  /// Query rows per work-item (CPU) or work-group (GPU) of the attention kernels; local size (CPU).
  var attentionRows = 4
  var attentionLocal = 4

  // GPU variant (gemm_gpu.cl): the tiles of large GEMMs, and of GEMMs with fewer than two
  // large tiles per compute unit (small batches), which would leave most of a GPU idle.
  var gemmTiles = GPUGemmTiles.large
  var gemmSmallTiles = GPUGemmTiles.small
  /// Work-group size of the reduction kernels (a power of two).
  var reductionGroup = 128
  /// GPU variant: kernel_gemm_gpu_vec (weights transposed and padded once at upload, float4
  /// loads, double-buffered tiles) instead of kernel_gemm_gpu. Off by default until measured
  /// faster on a real GPU; `bertscope tune` times both.
  var gemmVector = false
  /// The linear layers' arithmetic: ``Precision/tf32`` runs kernel_gemm_gpu_tf32 (tensor cores,
  /// inline PTX; NVIDIA only) on the transposed, padded weights of kernel_gemm_gpu_vec. Not a
  /// tuning field: only the caller chooses it.
  var precision = Precision.fp32
  /// Tests only: builds kernel_gemm_gpu_tf32 with `-D TF32_EMULATE` (the PTX done in OpenCL C), so
  /// that it runs on any device.
  var tf32Emulate = false

  // Attention without maps (attention_flash.cl, both variants; on CPU devices only for
  // sequences too long for kernel_attention_rows_cpu): query rows per work-group (a work-item
  // each) and keys per __local K/V tile.
  var flashRows = 64
  var flashKeys = 32
  // P·V on GPUs (kernel_attention_context_gpu): query rows per work-group, rows per work-item,
  // keys per __local tile (contextRows a multiple of contextRowsPerItem).
  var contextRows = 16
  var contextRowsPerItem = 4
  var contextKeys = 32
  /// Floats of the __private array that holds kernel_attention_rows_cpu's attentionRows × L
  /// probabilities (CPU devices, no maps); longer sequences go to the flash kernel.
  var privateRowsFloats = 4096
  /// The longest sequence kernel_attention_rows_cpu takes.
  var privateRowsLimit: Int { privateRowsFloats / max(attentionRows, 1) }

  /// How results reach the host (not a kernel setting, but chosen by device type the same way).
  enum Readback: String, Sendable, CaseIterable {
    /// Activations and maps live in host memory the device uses in place
    /// (`CL_MEM_USE_HOST_PTR`); reading them is a map, no copy. For CPU devices (PoCL), where
    /// "device memory" is host memory anyway.
    case zeroCopy = "zero-copy"
    /// Reads go into pinned staging blocks (`CL_MEM_ALLOC_HOST_PTR`, mapped once, reused), on a
    /// second queue, each kept layer's maps as soon as its attention has run, so the copies
    /// overlap the later layers' compute. For GPUs, where pageable reads run at a fraction of
    /// the link's speed.
    case pinned
    /// `clEnqueueReadBuffer` into fresh pageable memory after the pass (the old way; for
    /// comparison).
    case pageable
  }
  var readback: Readback = .pinned

  /// The defaults for a device: its type picks the kernel variant, its vendor the GPU tiles
  /// and work-group sizes (`Vendor`); anything the device cannot run falls back to smaller sizes.
  static func defaults(for device: OpenCLDeviceInfo) -> OpenCLKernelConfig {
    defaults(
      for: device.type, maxWorkGroupSize: device.maxWorkGroupSize,
      vendor: device.vendor + " " + device.platformName, localMemoryBytes: device.localMemoryBytes)
  }

  /// GPU vendors whose defaults differ; from `CL_DEVICE_VENDOR` (and the platform's name).
  enum Vendor: String, Sendable {
    case nvidia, amd, intel, other
    init(_ text: String) {
      let t = text.lowercased()
      if t.contains("nvidia") {
        self = .nvidia
      } else if t.contains("advanced micro devices") || t.contains("amd") {
        self = .amd
      } else if t.contains("intel") {
        self = .intel
      } else {
        self = .other
      }
    }
  }

  /// Per device type and vendor. CPU devices (PoCL, Intel's CPU runtime): the CPU variant, the
  /// same everywhere (its sizes are about caches and vector registers, measured on PoCL). GPUs:
  /// - NVIDIA: warps of 32. 64 × 64 tiles of 4 × 4 per work-item are 256 work-items (8 warps)
  ///   with 16 accumulators each: enough warps per SM to hide memory latency without spilling;
  ///   reductions over 128 (4 warps). These are the generic GPU defaults, measured on an H200.
  /// - AMD: wavefronts of 64 (GCN/CDNA; RDNA runs wave64 too). The same 256-work-item GEMM tiles
  ///   are 4 wavefronts, one per SIMD of a compute unit; reductions over 256 (4 wavefronts),
  ///   since a 128 group would leave half the SIMDs of a CU without a wavefront of it.
  /// - Intel GPUs: SIMD-8/16/32 EUs with small register files and subgroups of 8–32, where big
  ///   work-groups limit occupancy: 128-work-item GEMM tiles (64 × 64 of 8 × 4, K steps of 16,
  ///   halving the local tiles), 64-work-item small tiles and reductions, 4 attention rows.
  /// - Others (Apple, ARM, Qualcomm, unknown): the generic GPU defaults.
  /// All of them are then fitted to the device's work-group and local-memory limits.
  static func defaults(
    for type: OpenCLDeviceType, maxWorkGroupSize: Int, vendor: String = "", localMemoryBytes: UInt64 = 32 * 1024
  ) -> OpenCLKernelConfig {
    var config = OpenCLKernelConfig(variant: type == .cpu ? .cpu : .gpu)
    config.readback = type == .cpu ? .zeroCopy : .pinned
    if config.variant == .gpu {
      config.attentionRows = 8
      switch Vendor(vendor) {
      case .nvidia, .other: break
      case .amd:
        config.reductionGroup = 256
      case .intel:
        config.gemmTiles.tileK = 16
        config.gemmTiles.wptM = 8
        config.gemmSmallTiles.wptM = 4
        config.gemmSmallTiles.wptN = 4
        config.reductionGroup = 64
        config.attentionRows = 4
      }
    }
    // 16 × 16 work-items per GEMM tile by default; smaller devices get 8 × 8, then 4 × 4.
    for path in [\OpenCLKernelConfig.gemmTiles, \.gemmSmallTiles] {
      var tiles = config[keyPath: path]
      if !tiles.isValid(maxWorkGroupSize: maxWorkGroupSize, localMemoryBytes: localMemoryBytes) {
        tiles.tileM = 32
        tiles.tileN = 32
        tiles.wptM = 4
        tiles.wptN = 4
      }
      if !tiles.isValid(maxWorkGroupSize: maxWorkGroupSize, localMemoryBytes: localMemoryBytes) {
        tiles.tileK = 16
        tiles.wptM = 8
        tiles.wptN = 8
      }
      config[keyPath: path] = tiles
    }
    while config.reductionGroup > maxWorkGroupSize { config.reductionGroup /= 2 }
    while config.flashRows > maxWorkGroupSize { config.flashRows /= 2 }
    return config
  }

  /// Applies the fields `parameters` sets, each only if the device can run it (re-validated
  /// against `limits`: a file may come from another machine or an older BertScope); returns a
  /// note for each field ignored.
  mutating func apply(_ parameters: OpenCLTuningParameters, limits: OpenCLTuningParameters.Limits) -> [String] {
    var notes = OpenCLTuningParameters.fields.compactMap { $0.apply(parameters, &self, limits) }
    // The vector GEMM needs tiles it can run (after halving the K step, as `linear` does).
    if gemmVector, let bad = [gemmTiles, gemmSmallTiles].first(where: { !$0.canRunVector(limits) }) {
      gemmVector = false
      notes.append("gemmVector=true cannot run GEMM tiles \(bad) on this device; ignored")
    }
    if contextRowsPerItem > contextRows {
      contextRowsPerItem = contextRows
      notes.append("contextRowsPerItem is larger than contextRows; set to \(contextRows)")
    }
    return notes
  }

  /// The small tiles for every GEMM (tests).
  mutating func useSmallTiles() { gemmTiles = gemmSmallTiles }

  /// The tiles of an `m × n` GEMM on a device with `computeUnits` compute units: the large
  /// ones unless they give fewer than two work-groups per compute unit.
  func gpuGemmTiles(m: Int, n: Int, computeUnits: Int) -> GPUGemmTiles {
    gemmTiles.workGroups(m: m, n: n) < 2 * computeUnits ? gemmSmallTiles : gemmTiles
  }

  /// The CPU GEMM's build options. The GPU GEMM keeps the built-in erf (`-D EXACT_ERF`), which GPU
  /// compilers inline; the rational fit in common.cl exists for PoCL, whose erf is a scalar call.
  var gemmOptions: String { "-D MR=\(gemmMR) -D NR=\(gemmNR)" }
  /// The GPU GEMM's build options for `tiles`.
  static func gpuGemmOptions(_ tiles: GPUGemmTiles) -> String { tiles.options + " -D EXACT_ERF" }
  /// kernel_gemm_gpu_tf32's build options.
  var tf32Options: String { "-D EXACT_ERF" + (tf32Emulate ? " -D TF32_EMULATE" : "") }
  var reductionOptions: String { "-D WG=\(reductionGroup)" }
  func attentionOptions(headDim: Int) -> String {
    "-D HEAD_DIM=\(headDim) -D ROWS=\(attentionRows)" + (variant == .cpu ? "" : " " + reductionOptions)
  }
  /// Build options of kernel_attention_context_gpu for heads of `headDim`.
  func contextOptions(headDim: Int) -> String {
    attentionOptions(headDim: headDim) + " -D CR=\(contextRows) -D CRI=\(contextRowsPerItem) -D CK=\(contextKeys)"
  }
  /// Build options of attention_flash.cl for heads of `headDim`.
  func flashOptions(headDim: Int) -> String { "-D HEAD_DIM=\(headDim) -D BR=\(flashRows) -D BC=\(flashKeys)" }
  /// Bytes of __local memory kernel_attention_flash_gpu declares (a K and a V tile).
  func flashLocalBytes(headDim: Int) -> Int { 2 * flashKeys * headDim * 4 }

  /// kernel_attention_context_gpu's __local bytes: a CK × HEAD_DIM tile of V and CR × (CK + 1)
  /// probabilities.
  func contextLocalBytes(headDim: Int) -> Int { (contextKeys * headDim + contextRows * (contextKeys + 1)) * 4 }
  var suffix: String { "_" + variant.rawValue }
}
