import COpenCL
import Foundation

/// The encoder's ops on one OpenCL device (`Kernels/*.cl`), with kernel variants chosen by
/// device type: register-blocked, barrier-free kernels on CPU devices (PoCL), local-memory
/// tiled kernels with work-group reductions on GPUs (DESIGN.md §3).
///
/// Calls only enqueue work on one in-order queue; `read` (or `finish`) waits. Weights are packed
/// and uploaded once by `makeMatrix`.
///
/// Thread safety: every method takes `lock`, which serialises argument setting + enqueue
/// (OpenCL kernel objects are not thread-safe), reads and the backend's bookkeeping.
public final class OpenCLBackend: @unchecked Sendable {
  /// The device this backend runs on.
  public let device: OpenCLDeviceInfo
  let config: OpenCLKernelConfig
  let faults: OpenCLFaults
  private let shared: OpenCLDeviceContext
  private let queue: CLQueue
  private let ledger = DeviceMemoryLedger()

  private let lock = NSLock()
  // Guarded by `lock`:
  private var kernels: [String: CLKernel] = [:]
  private var callCount = 0
  private var lost = false
  private var normalModes: OpenCLBuffer?

  /// A backend on device `index` of `OpenCLDevices.all()`.
  public convenience init(device index: Int = 0) throws {
    try self.init(device: index, config: nil)
  }

  /// `config` overrides the kernel variant and tile sizes (tests run both variants on PoCL);
  /// `faults` injects failures (tests only).
  init(device index: Int, config: OpenCLKernelConfig?, faults: OpenCLFaults = OpenCLFaults()) throws {
    let shared = try OpenCLDeviceContext.shared(index: index)
    self.shared = shared
    self.device = shared.info
    self.config = config ?? .defaults(for: shared.info.type, maxWorkGroupSize: shared.info.maxWorkGroupSize)
    self.faults = faults
    var status: cl_int = 0
    guard let handle = clCreateCommandQueue(shared.context, shared.device, 0, &status), status == CL_SUCCESS
    else {
      throw BertScopeError.openCL(call: "clCreateCommandQueue", status: status, detail: shared.info.name)
    }
    queue = CLQueue(handle)
  }

  /// e.g. "opencl (pthread-skylake-avx512-AMD EPYC, Portable Computing Language, cpu kernels)".
  public var name: String {
    "opencl (\(device.name), \(device.platformName), \(config.variant.rawValue) kernels)"
  }

  /// Bytes held by this backend's live buffers.
  public var allocatedBytes: Int { ledger.bytes }

  /// Waits for everything queued so far.
  public func finish() throws {
    try locked { try call("clFinish") { clFinish(queue.handle) } }
  }

  /// Makes every later OpenCL call fail with `CL_DEVICE_NOT_AVAILABLE` (tests only).
  func simulateDeviceLoss() {
    locked { lost = true }
  }

  // MARK: - Plumbing (callers hold `lock`)

  private func locked<T>(_ body: () throws -> T) rethrows -> T {
    lock.lock()
    defer { lock.unlock() }
    return try body()
  }

  /// Counts an OpenCL call and fails it if the (simulated) device is lost.
  private func useDevice(_ call: String) throws {
    if let limit = faults.loseDeviceAfterCalls, callCount >= limit { lost = true }
    callCount += 1
    if lost {
      throw BertScopeError.openCL(
        call: call, status: CL_DEVICE_NOT_AVAILABLE,
        detail: "the device \(device.name) was lost (simulated fault); create a new backend")
    }
  }

  /// Runs one OpenCL call and turns a failure into a `BertScopeError` naming it.
  private func call(_ name: String, _ detail: @autoclosure () -> String = "", _ body: () -> cl_int) throws {
    try useDevice(name)
    let status = body()
    guard status != CL_SUCCESS else { return }
    if status == CL_MEM_OBJECT_ALLOCATION_FAILURE {
      // Drivers may allocate lazily, at the first kernel that touches a buffer.
      throw outOfMemory(bytes: ledger.bytes, "\(name) (\(detail())) could not allocate device memory")
    }
    throw BertScopeError.openCL(call: name, status: status, detail: detail())
  }

  private func outOfMemory(bytes: Int, _ what: String) -> BertScopeError {
    let held = Double(ledger.bytes) / 1_048_576
    let total = Double(device.globalMemoryBytes) / 1_048_576
    return .outOfDeviceMemory(
      bytes: bytes,
      detail: what + String(format: " (this backend holds %.1f MiB of %.0f MiB on %@); ", held, total, device.name)
        + "reduce the batch size or the sequence length")
  }

  private func allocate(count: Int, copying host: UnsafeRawPointer?) throws -> OpenCLBuffer {
    guard count >= 0, count <= Int(Int32.max) else {
      throw BertScopeError.invalidInput("OpenCL buffer of \(count) floats: more than 2³¹ elements")
    }
    let bytes = max(count, 1) * 4
    if let limit = faults.allocationLimit, bytes > limit {
      throw outOfMemory(bytes: bytes, "clCreateBuffer failed: over the simulated limit of \(limit) bytes")
    }
    if UInt64(bytes) > device.maxAllocationBytes {
      throw outOfMemory(
        bytes: bytes,
        String(
          format: "one buffer would exceed the device's largest allocation (%.0f MiB)",
          Double(device.maxAllocationBytes) / 1_048_576))
    }
    try useDevice("clCreateBuffer")
    var status: cl_int = 0
    let copy = host != nil && count > 0
    let flags = cl_mem_flags(CL_MEM_READ_WRITE) | (copy ? cl_mem_flags(CL_MEM_COPY_HOST_PTR) : 0)
    let mem = clCreateBuffer(
      shared.context, flags, bytes, copy ? UnsafeMutableRawPointer(mutating: host) : nil, &status)
    guard let mem, status == CL_SUCCESS else {
      if let m = mem { clReleaseMemObject(m) }
      switch status {
      case CL_MEM_OBJECT_ALLOCATION_FAILURE, CL_OUT_OF_RESOURCES, CL_OUT_OF_HOST_MEMORY, CL_INVALID_BUFFER_SIZE:
        throw outOfMemory(bytes: bytes, "clCreateBuffer failed with \(openCLStatusName(status))")
      default:
        throw BertScopeError.openCL(call: "clCreateBuffer", status: status, detail: "\(bytes) bytes")
      }
    }
    return OpenCLBuffer(mem: mem, count: count, bytes: bytes, ledger: ledger)
  }

  private func upload<T>(_ values: [T]) throws -> OpenCLBuffer {
    precondition(MemoryLayout<T>.stride == 4)
    return try values.withUnsafeBytes { try allocate(count: values.count, copying: $0.baseAddress) }
  }

  /// The kernel `name` of `file` built with `options`, built and created on first use. `file` is
  /// the op's source, or several joined by `+`; common.cl always comes first
  /// (`OpenCLDeviceContext.program`).
  private func kernel(_ file: String, _ name: String, options: String) throws -> CLKernel {
    let key = file + "|" + options + "|" + name
    if let kernel = kernels[key] { return kernel }
    try useDevice("clBuildProgram")
    let broken = OpenCLDeviceContext.files(of: file).contains { faults.brokenKernels.contains($0) }
    let program = try shared.program(
      file: file, options: options, appending: broken ? OpenCLFaults.breakingSource : "")
    var status: cl_int = 0
    guard let handle = clCreateKernel(program.handle, name, &status), status == CL_SUCCESS else {
      throw BertScopeError.openCL(call: "clCreateKernel", status: status, detail: "\(name) in \(file)")
    }
    let kernel = CLKernel(handle, name: name, program: program)
    kernels[key] = kernel
    return kernel
  }

  private enum Arg {
    case buffer(OpenCLBuffer)
    case int(Int)
    case float(Float)
  }

  /// Sets `args` and enqueues `kernel` over `global` (rounded up to multiples of `local`).
  /// The local size is always explicit: PoCL compiles a work-group function per local size.
  private func enqueue(_ kernel: CLKernel, _ args: [Arg], global: [Int], local: [Int]) throws {
    for (index, arg) in args.enumerated() {
      let status: cl_int
      switch arg {
      case .buffer(let buffer):
        var mem: cl_mem? = buffer.mem
        status = clSetKernelArg(kernel.handle, cl_uint(index), MemoryLayout<cl_mem?>.size, &mem)
      case .int(let value):
        var v = Int32(truncatingIfNeeded: value)
        status = clSetKernelArg(kernel.handle, cl_uint(index), 4, &v)
      case .float(let value):
        var v = value
        status = clSetKernelArg(kernel.handle, cl_uint(index), 4, &v)
      }
      try OpenCLRuntime.check(status, "clSetKernelArg", "\(kernel.name) argument \(index)")
    }
    var globalSize = zip(global, local).map { (g, l) in (g + l - 1) / l * l }
    var localSize = local
    try call("clEnqueueNDRangeKernel", "\(kernel.name), global \(globalSize), local \(localSize)") {
      clEnqueueNDRangeKernel(
        queue.handle, kernel.handle, cl_uint(globalSize.count), nil, &globalSize, &localSize, 0, nil, nil)
    }
  }

  private func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw BertScopeError.invalidInput("OpenCL backend: " + message()) }
  }

  private func modesBuffer(_ modes: [HeadMode], heads: Int) throws -> OpenCLBuffer {
    if modes.allSatisfy({ $0 == .normal }) {
      if let buffer = normalModes, buffer.count >= heads { return buffer }
      let buffer = try upload([Int32](repeating: 0, count: max(heads, 64)))
      normalModes = buffer
      return buffer
    }
    // Released right after the enqueue; OpenCL keeps it until the kernel has run.
    return try upload(modes.map(\.rawValue))
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

extension OpenCLBackend: ComputeBackend {
  typealias Buffer = OpenCLBuffer
  typealias Matrix = OpenCLMatrix
  typealias Layout = OpenCLLayout

  func makeBuffer(count: Int) throws -> OpenCLBuffer {
    try locked { try allocate(count: count, copying: nil) }
  }

  func makeBuffer(_ values: [Float]) throws -> OpenCLBuffer {
    try locked { try upload(values) }
  }

  func makeMatrix(_ weight: [Float], rows: Int, cols: Int) throws -> OpenCLMatrix {
    try require(
      rows > 0 && cols > 0 && weight.count == rows * cols,
      "weight of \(weight.count) floats is not [\(rows), \(cols)]")
    if config.variant == .cpu {
      let packed = Self.packPanels(weight, rows: rows, cols: cols, panelWidth: config.gemmNR)
      let buffer = try locked { try upload(packed) }
      return OpenCLMatrix(buffer: buffer, rows: rows, cols: cols, panelWidth: config.gemmNR)
    }
    let buffer = try locked { try upload(weight) }
    return OpenCLMatrix(buffer: buffer, rows: rows, cols: cols, panelWidth: nil)
  }

  func makeLayout(_ batch: PackedBatch) throws -> OpenCLLayout {
    try require(
      batch.probCount <= Int(Int32.max) && batch.tokenCount <= Int(Int32.max),
      "batch of \(batch.count) sequences needs \(batch.probCount) attention probabilities per layer, "
        + "more than 2³¹; reduce the batch size or the sequence length")
    let rows = config.attentionRows
    var tokenSequence = [Int32](repeating: 0, count: batch.tokenCount)
    var paddedOffsets: [Int32] = [], blockSequence: [Int32] = [], blockRow: [Int32] = []
    var padded = 0
    for (s, (offset, length)) in zip(batch.tokenOffsets, batch.lengths).enumerated() {
      for t in offset..<(offset + length) { tokenSequence[t] = Int32(s) }
      paddedOffsets.append(Int32(padded))
      padded += (length + 15) / 16 * 16
      for row in stride(from: 0, to: length, by: rows) {
        blockSequence.append(Int32(s))
        blockRow.append(Int32(row))
      }
    }
    return try locked {
      OpenCLLayout(
        ids: try upload(batch.ids), segments: try upload(batch.segments), positions: try upload(batch.positions),
        tokenSequence: try upload(tokenSequence),
        lengths: try upload(batch.lengths.map { Int32($0) }),
        tokenOffsets: try upload(batch.tokenOffsets.map { Int32($0) }),
        probOffsets: try upload(batch.probOffsets.map { Int32($0) }),
        paddedOffsets: try upload(paddedOffsets), blockSequence: try upload(blockSequence),
        blockRow: try upload(blockRow), kinds: try upload(batch.kinds), withinUniform: try upload(batch.withinUniform),
        blockRows: rows, blockCount: blockSequence.count,
        tokenCount: batch.tokenCount, sequenceCount: batch.count, paddedTokenCount: padded)
    }
  }

  func embed(
    out: OpenCLBuffer, layout: OpenCLLayout, batch: PackedBatch, word: OpenCLBuffer, position: OpenCLBuffer,
    type: OpenCLBuffer, gamma: OpenCLBuffer, beta: OpenCLBuffer, hidden: Int, eps: Float
  ) throws {
    let tokens = batch.tokenCount
    try require(
      hidden > 0 && layout.tokenCount == tokens, "embed: layout of \(layout.tokenCount) tokens, batch of \(tokens)")
    try require(out.count >= tokens * hidden, "embed: out holds \(out.count) floats, needs [\(tokens), \(hidden)]")
    try require(gamma.count >= hidden && beta.count >= hidden, "embed: gamma/beta shorter than hidden size \(hidden)")
    let vocab = word.count / hidden, maxPosition = position.count / hidden, types = type.count / hidden
    if let bad = batch.ids.first(where: { $0 < 0 || Int($0) >= vocab }) {
      throw BertScopeError.invalidInput("token id \(bad) is outside the vocabulary of \(vocab)")
    }
    if let bad = batch.positions.first(where: { $0 < 0 || Int($0) >= maxPosition }) {
      throw BertScopeError.sequenceTooLong(length: Int(bad) + 1, maximum: maxPosition)
    }
    if let bad = batch.segments.first(where: { $0 < 0 || Int($0) >= types }) {
      throw BertScopeError.invalidInput("segment id \(bad) is outside the model's \(types) token types")
    }
    guard tokens > 0 else { return }
    try locked {
      let args: [Arg] = [
        .buffer(out), .buffer(layout.ids), .buffer(layout.positions), .buffer(layout.segments), .buffer(word),
        .buffer(position), .buffer(type), .buffer(gamma), .buffer(beta), .int(tokens), .int(hidden), .float(eps),
      ]
      if config.variant == .cpu {
        let k = try kernel("embed.cl", "kernel_embed_cpu", options: "")
        try enqueue(k, args, global: [tokens], local: [config.rowLocal])
      } else {
        let k = try kernel("embed.cl", "kernel_embed_gpu", options: config.reductionOptions)
        try enqueue(k, args, global: [tokens * config.reductionGroup], local: [config.reductionGroup])
      }
    }
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
      } else {
        // Few output tiles (small batches) leave most of a GPU idle: use smaller ones.
        var gpu = config
        if (rows + gpu.tileM - 1) / gpu.tileM * ((n + gpu.tileN - 1) / gpu.tileN) < 2 * device.computeUnits {
          gpu.useSmallTiles()
        }
        let kern = try kernel("gemm_gpu.cl", "kernel_gemm_gpu", options: gpu.gemmOptions)
        let lx = gpu.tileN / gpu.wptN, ly = gpu.tileM / gpu.wptM
        let global = [(n + gpu.tileN - 1) / gpu.tileN * lx, (rows + gpu.tileM - 1) / gpu.tileM * ly]
        try enqueue(kern, args, global: global, local: [lx, ly])
      }
    }
  }

  private func checkAttention(
    qkv: OpenCLBuffer, probs: OpenCLBuffer, layout: OpenCLLayout, batch: PackedBatch, heads: Int, headDim: Int,
    op: String
  ) throws {
    try require(heads > 0 && headDim > 0, "\(op): \(heads) heads of dimension \(headDim)")
    try require(
      layout.tokenCount == batch.tokenCount && layout.sequenceCount == batch.count,
      "\(op): layout and batch disagree")
    try require(
      qkv.count >= batch.tokenCount * 3 * heads * headDim,
      "\(op): qkv holds \(qkv.count) floats, needs [\(batch.tokenCount), \(3 * heads * headDim)]")
    try require(
      batch.heads == heads && probs.count >= batch.probCount,
      "\(op): probs holds \(probs.count) floats, the batch needs \(batch.probCount) (\(batch.heads) heads)")
  }

  func attentionProbs(
    probs: OpenCLBuffer, qkv: OpenCLBuffer, layout: OpenCLLayout, batch: PackedBatch, heads: Int, headDim: Int,
    scale: Float, modes: [HeadMode]
  ) throws {
    try checkAttention(
      qkv: qkv, probs: probs, layout: layout, batch: batch, heads: heads, headDim: headDim, op: "attentionProbs")
    try require(modes.isEmpty || modes.count == heads, "attentionProbs: \(modes.count) head modes for \(heads) heads")
    guard batch.tokenCount > 0 else { return }
    try locked {
      let (args, options) = try probsArguments(
        probs: probs, context: nil, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim,
        scale: scale, modes: modes, op: "attentionProbs")
      if config.variant == .cpu {
        let k = try kernel("attention_probs.cl", "kernel_attention_probs_cpu", options: options)
        try enqueue(k, args, global: [layout.blockCount, heads], local: [config.attentionLocal, 1])
      } else {
        let k = try kernel("attention_probs.cl", "kernel_attention_probs_gpu", options: options)
        try enqueue(
          k, args, global: [layout.blockCount * config.reductionGroup, heads], local: [config.reductionGroup, 1])
      }
    }
  }

  /// On CPU devices one kernel computes each block of query rows' probabilities and then their
  /// P·V while the rows are in cache; GPUs run the two kernels.
  func attention(
    probs: OpenCLBuffer, context: OpenCLBuffer, qkv: OpenCLBuffer, layout: OpenCLLayout, batch: PackedBatch,
    heads: Int, headDim: Int, scale: Float, modes: [HeadMode]
  ) throws {
    guard config.variant == .cpu else {
      try attentionProbs(
        probs: probs, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim, scale: scale, modes: modes)
      try attentionContext(
        context: context, probs: probs, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim)
      return
    }
    try checkAttention(
      qkv: qkv, probs: probs, layout: layout, batch: batch, heads: heads, headDim: headDim, op: "attention")
    try require(modes.isEmpty || modes.count == heads, "attention: \(modes.count) head modes for \(heads) heads")
    let tokens = batch.tokenCount
    try require(
      context.count >= tokens * heads * headDim,
      "attention: context holds \(context.count) floats, needs [\(tokens), \(heads * headDim)]")
    guard tokens > 0 else { return }
    try locked {
      let (args, options) = try probsArguments(
        probs: probs, context: context, qkv: qkv, layout: layout, batch: batch, heads: heads, headDim: headDim,
        scale: scale, modes: modes, op: "attention")
      let k = try kernel(
        "attention_context.cl+attention_probs.cl", "kernel_attention_fused_cpu", options: options + " -D WITH_CONTEXT")
      try enqueue(k, args, global: [layout.blockCount, heads], local: [config.attentionLocal, 1])
    }
  }

  /// Transposes the keys (kernel_attention_keys) and returns the arguments of the
  /// probabilities kernels (with `context` after `probs` for the fused one) and their build
  /// options. Call inside `locked`.
  private func probsArguments(
    probs: OpenCLBuffer, context: OpenCLBuffer?, qkv: OpenCLBuffer, layout: OpenCLLayout, batch: PackedBatch,
    heads: Int, headDim: Int, scale: Float, modes: [HeadMode], op: String
  ) throws -> ([Arg], String) {
    let tokens = batch.tokenCount
    let modeBuffer = try modesBuffer(modes, heads: heads)
    let hidden = heads * headDim
    let options = config.attentionOptions(headDim: headDim)
    try require(layout.blockRows == config.attentionRows, "\(op): layout made by another backend")
    let keysT: OpenCLBuffer
    if let scratch = layout.keysT, scratch.count >= layout.paddedTokenCount * hidden {
      keysT = scratch
    } else {
      keysT = try allocate(count: layout.paddedTokenCount * hidden, copying: nil)
      layout.keysT = keysT
    }
    let keys = try kernel("attention_probs.cl", "kernel_attention_keys", options: options)
    try enqueue(
      keys,
      [
        .buffer(keysT), .buffer(qkv), .buffer(layout.tokenSequence), .buffer(layout.lengths),
        .buffer(layout.tokenOffsets), .buffer(layout.paddedOffsets), .int(tokens), .int(hidden),
      ], global: [tokens, heads], local: [config.variant == .cpu ? config.rowLocal : 64, 1])
    let args: [Arg] =
      [.buffer(probs)] + (context.map { [Arg.buffer($0)] } ?? []) + [
        .buffer(qkv), .buffer(keysT), .buffer(layout.blockSequence), .buffer(layout.blockRow),
        .buffer(layout.lengths), .buffer(layout.tokenOffsets), .buffer(layout.probOffsets),
        .buffer(layout.paddedOffsets), .buffer(modeBuffer), .int(layout.blockCount), .int(hidden), .float(scale),
      ]
    return (args, options)
  }

  func attentionContext(
    context: OpenCLBuffer, probs: OpenCLBuffer, qkv: OpenCLBuffer, layout: OpenCLLayout, batch: PackedBatch,
    heads: Int, headDim: Int
  ) throws {
    try checkAttention(
      qkv: qkv, probs: probs, layout: layout, batch: batch, heads: heads, headDim: headDim, op: "attentionContext")
    let tokens = batch.tokenCount, hidden = heads * headDim
    try require(
      context.count >= tokens * hidden,
      "attentionContext: context holds \(context.count) floats, needs [\(tokens), \(hidden)]")
    guard tokens > 0 else { return }
    try locked {
      let options = config.attentionOptions(headDim: headDim)
      if config.variant == .cpu {
        try require(layout.blockRows == config.attentionRows, "attentionContext: layout made by another backend")
        let k = try kernel("attention_context.cl", "kernel_attention_context_cpu", options: options)
        try enqueue(
          k,
          [
            .buffer(context), .buffer(probs), .buffer(qkv), .buffer(layout.blockSequence), .buffer(layout.blockRow),
            .buffer(layout.lengths), .buffer(layout.tokenOffsets), .buffer(layout.probOffsets),
            .int(layout.blockCount), .int(hidden),
          ], global: [layout.blockCount, heads], local: [config.attentionLocal, 1])
      } else {
        let k = try kernel("attention_context.cl", "kernel_attention_context_gpu", options: options)
        try enqueue(
          k,
          [
            .buffer(context), .buffer(probs), .buffer(qkv), .buffer(layout.tokenSequence), .buffer(layout.lengths),
            .buffer(layout.tokenOffsets), .buffer(layout.probOffsets), .int(tokens), .int(hidden),
          ], global: [tokens * headDim, heads], local: [headDim, 1])
      }
    }
  }

  func attentionFeatures(
    out: OpenCLBuffer, offset: Int, probs: OpenCLBuffer, layout: OpenCLLayout, batch: PackedBatch, heads: Int
  ) throws {
    let needed = offset + batch.count * heads * AttentionFeatures.count
    try require(offset >= 0 && out.count >= needed, "attentionFeatures: out holds \(out.count) floats, needs \(needed)")
    try require(
      batch.heads == heads && probs.count >= batch.probCount && layout.sequenceCount == batch.count,
      "attentionFeatures: probs or layout do not match the batch")
    guard batch.count > 0 else { return }
    try locked {
      let args: [Arg] = [
        .buffer(out), .int(offset), .buffer(probs), .buffer(layout.kinds), .buffer(layout.segments),
        .buffer(layout.lengths), .buffer(layout.tokenOffsets), .buffer(layout.probOffsets),
        .buffer(layout.withinUniform), .int(batch.count), .int(heads),
      ]
      if config.variant == .cpu {
        let k = try kernel("attention_features.cl", "kernel_attention_features_cpu", options: "")
        try enqueue(k, args, global: [batch.count, heads], local: [1, 1])
      } else {
        let k = try kernel("attention_features.cl", "kernel_attention_features_gpu", options: config.reductionOptions)
        try enqueue(k, args, global: [batch.count * config.reductionGroup, heads], local: [config.reductionGroup, 1])
      }
    }
  }

  func layerNorm(
    out: OpenCLBuffer, input: OpenCLBuffer, rows: Int, cols: Int, gamma: OpenCLBuffer, beta: OpenCLBuffer, eps: Float
  ) throws {
    try require(rows >= 0 && cols > 0, "layerNorm: [\(rows), \(cols)]")
    try require(
      input.count >= rows * cols && out.count >= rows * cols,
      "layerNorm: input holds \(input.count), out \(out.count) floats, both need [\(rows), \(cols)]")
    try require(gamma.count >= cols && beta.count >= cols, "layerNorm: gamma/beta shorter than \(cols)")
    guard rows > 0 else { return }
    try locked {
      let args: [Arg] = [
        .buffer(out), .buffer(input), .buffer(gamma), .buffer(beta), .int(rows), .int(cols), .float(eps),
      ]
      if config.variant == .cpu {
        let k = try kernel("layer_norm.cl", "kernel_layer_norm_cpu", options: "")
        try enqueue(k, args, global: [rows], local: [config.rowLocal])
      } else {
        let k = try kernel("layer_norm.cl", "kernel_layer_norm_gpu", options: config.reductionOptions)
        try enqueue(k, args, global: [rows * config.reductionGroup], local: [config.reductionGroup])
      }
    }
  }

  func read(_ buffer: OpenCLBuffer, range: Range<Int>) throws -> [Float] {
    try read(buffer, ranges: [range])[0]
  }

  func read(_ buffer: OpenCLBuffer, ranges: [Range<Int>]) throws -> [[Float]] {
    let total = ranges.reduce(0) { $0 + $1.count }
    let host = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(total, 1))
    defer { host.deallocate() }
    try read(buffer, ranges: ranges, into: host.baseAddress!)
    var results: [[Float]] = []
    var offset = 0
    for range in ranges {
      results.append(Array(host[offset..<(offset + range.count)]))
      offset += range.count
    }
    return results
  }

  func readStorage(_ buffer: OpenCLBuffer, count: Int) throws -> FloatStorage {
    try readStorage(buffer, ranges: [0..<count])
  }

  func readStorage(_ buffer: OpenCLBuffer, ranges: [Range<Int>]) throws -> FloatStorage {
    let storage = FloatStorage(count: ranges.reduce(0) { $0 + $1.count })
    try read(buffer, ranges: ranges, into: storage.pointer)
    return storage
  }

  /// Copies `ranges` of `buffer` back to back into `host`: reads are queued without blocking
  /// and waited on once.
  private func read(_ buffer: OpenCLBuffer, ranges: [Range<Int>], into host: UnsafeMutablePointer<Float>) throws {
    for range in ranges {
      try require(
        range.lowerBound >= 0 && range.upperBound <= buffer.count,
        "read: range \(range) outside a buffer of \(buffer.count) floats")
    }
    try locked {
      var queued = false
      // Never leave a read in flight into memory the caller may free.
      defer { if queued { clFinish(queue.handle) } }
      var offset = 0
      for range in ranges where !range.isEmpty {
        try call("clEnqueueReadBuffer", "\(range.count) floats at \(range.lowerBound)") {
          clEnqueueReadBuffer(
            queue.handle, buffer.mem, cl_bool(CL_FALSE), range.lowerBound * 4, range.count * 4, host + offset, 0, nil,
            nil)
        }
        queued = true
        offset += range.count
      }
      try call("clFinish") { clFinish(queue.handle) }
      queued = false
    }
  }
}
