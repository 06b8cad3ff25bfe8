import COpenCL
import Foundation

/// The encoder's ops on one OpenCL device (`Kernels/*.cl`), with kernel variants chosen by
/// device type: register-blocked, barrier-free kernels on CPU devices (PoCL), local-memory
/// tiled kernels with work-group reductions on GPUs. On PoCL, GPU-style kernels (local-memory
/// tiles, barriers, big work-groups) run 10–100× slower than register-blocked ones with one
/// work-item per output tile; on GPUs the opposite holds.
///
/// The ops live in one extension per facet: `+Buffers` (buffers, batch layouts, readback),
/// `+Linear` (GEMM and weight packing), `+Attention` (probabilities, P·V, fused), `+Norm`
/// (embeddings, layer norm), `+Features` (attention-map features); this file holds the
/// plumbing they share.
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
  /// Whether the kernel parameters are tuned (`bertscope tune`, the built-in database) or the
  /// per-vendor defaults, with the notes on tuning files or entries that were ignored.
  public let tuning: OpenCLTuningStatus
  let faults: OpenCLFaults
  let shared: OpenCLDeviceContext
  let queue: CLQueue
  let ledger = DeviceMemoryLedger()
  /// The pinned readback's second queue (profiled, to time the copies) and staging blocks,
  /// made on first use.
  var transferQueue: CLQueue?
  var staging: PinnedStaging?

  private let lock = NSLock()
  // Guarded by `lock`:
  private var kernels: [String: CLKernel] = [:]
  private var callCount = 0
  private var lost = false
  private var normalModes: OpenCLBuffer?

  /// A backend on device `index` of `OpenCLDevices.all()`; ``Precision/tf32`` is checked on the
  /// device first (`checkTF32`) and is an error where it cannot run.
  public convenience init(device index: Int = 0, precision: Precision = .fp32) throws {
    try self.init(device: index, config: nil, precision: precision)
  }

  /// `config` overrides the kernel variant and tile sizes (tests run both variants on PoCL);
  /// without one, the device's tuning entry (`OpenCLTuning`: the user's file, then the built-in
  /// database, as `tuning` says) is applied over the per-vendor defaults.
  /// `faults` injects failures (tests only).
  init(
    device index: Int, config: OpenCLKernelConfig?, faults: OpenCLFaults = OpenCLFaults(),
    tuning lookup: OpenCLTuning.Lookup = .environment, precision: Precision? = nil
  ) throws {
    let shared = try OpenCLDeviceContext.shared(index: index)
    self.shared = shared
    self.device = shared.info
    var chosen: OpenCLKernelConfig
    if let config {
      chosen = config
      tuning = OpenCLTuningStatus(source: .explicit, parameters: "", file: nil, notes: [])
    } else {
      (chosen, tuning) = OpenCLTuning.configuration(for: shared.info, lookup: lookup)
    }
    if config == nil, let name = ProcessInfo.processInfo.environment["BERTSCOPE_OPENCL_READBACK"], !name.isEmpty {
      guard let mode = OpenCLKernelConfig.Readback(rawValue: name) else {
        throw BertScopeError.invalidInput(
          "BERTSCOPE_OPENCL_READBACK=\(printable(name)): use "
            + OpenCLKernelConfig.Readback.allCases.map(\.rawValue).joined(separator: ", "))
      }
      chosen.readback = mode
    }
    // The GPU GEMM kernel, over the tuning (benchmarks run both side by side).
    if config == nil, chosen.variant == .gpu, let name = ProcessInfo.processInfo.environment["BERTSCOPE_OPENCL_GEMM"],
      !name.isEmpty
    {
      guard name == "tiled" || name == "vector" else {
        throw BertScopeError.invalidInput("BERTSCOPE_OPENCL_GEMM=\(printable(name)): use tiled or vector")
      }
      chosen.gemmVector = name == "vector"
      if chosen.gemmVector,
        let bad = [chosen.gemmTiles, chosen.gemmSmallTiles].first(where: { !$0.canRunVector(.init(shared.info)) })
      {
        throw BertScopeError.invalidInput(
          "BERTSCOPE_OPENCL_GEMM=vector: the vector GEMM cannot run tiles \(bad) on \(shared.info.name)")
      }
    }
    if let precision { chosen.precision = precision }
    self.config = chosen
    self.faults = faults
    var status: cl_int = 0
    guard let handle = clCreateCommandQueue(shared.context, shared.device, 0, &status), status == CL_SUCCESS
    else {
      throw BertScopeError.openCL(call: "clCreateCommandQueue", status: status, detail: shared.info.name)
    }
    queue = CLQueue(handle)
    if chosen.precision == .tf32 { try checkTF32() }
  }

  /// e.g. "opencl (pthread-skylake-avx512-AMD EPYC, Portable Computing Language, cpu kernels)",
  /// with ", tuned" or ", built-in tuning" before the parenthesis when a tuning entry applies.
  public var name: String {
    "opencl (\(device.name), \(device.platformName), \(config.variant.rawValue) kernels"
      + (config.precision == .tf32 ? ", tf32 linear layers" : "") + (tuning.isTuned ? ", \(tuning.label))" : ")")
  }

  /// A CPU device's buffers are host memory (zero-copy or not).
  var activationsInHostMemory: Bool { device.type == .cpu }

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

  // MARK: - Plumbing (callers hold `lock`, except `locked` and `require`)

  /// Runs `body` holding `lock`.
  func locked<T>(_ body: () throws -> T) rethrows -> T {
    lock.lock()
    defer { lock.unlock() }
    return try body()
  }

  /// Counts an OpenCL call and fails it if the (simulated) device is lost.
  func useDevice(_ call: String) throws {
    if let limit = faults.loseDeviceAfterCalls, callCount >= limit { lost = true }
    callCount += 1
    if lost {
      throw BertScopeError.openCL(
        call: call, status: CL_DEVICE_NOT_AVAILABLE,
        detail: "the device \(device.name) was lost (simulated fault); create a new backend")
    }
  }

  /// Runs one OpenCL call and turns a failure into a `BertScopeError` naming it.
  func call(_ name: String, _ detail: @autoclosure () -> String = "", _ body: () -> cl_int) throws {
    try useDevice(name)
    let status = body()
    guard status != CL_SUCCESS else { return }
    if status == CL_MEM_OBJECT_ALLOCATION_FAILURE {
      // Drivers may allocate lazily, at the first kernel that touches a buffer.
      throw outOfMemory(bytes: ledger.bytes, "\(name) (\(detail())) could not allocate device memory")
    }
    throw BertScopeError.openCL(call: name, status: status, detail: detail())
  }

  func outOfMemory(bytes: Int, _ what: String) -> BertScopeError {
    let held = Double(ledger.bytes) / 1_048_576
    let total = Double(device.globalMemoryBytes) / 1_048_576
    return .outOfDeviceMemory(
      bytes: bytes,
      detail: what + String(format: " (this backend holds %.1f MiB of %.0f MiB on %@); ", held, total, device.name)
        + "reduce the batch size or the sequence length")
  }

  /// A buffer of `count` floats, initialised from `host` when given. `hostVisible` (with the
  /// zero-copy readback, for large buffers): in host memory the device uses in place.
  func allocate(count: Int, copying host: UnsafeRawPointer?, hostVisible: Bool = false) throws -> OpenCLBuffer {
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
    if hostVisible && host == nil && config.readback == .zeroCopy && bytes >= LargeBlocks.threshold {
      return try allocateInHostMemory(count: count, bytes: bytes)
    }
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

  func upload<T>(_ values: [T]) throws -> OpenCLBuffer {
    precondition(MemoryLayout<T>.stride == 4)
    return try values.withUnsafeBytes { try allocate(count: values.count, copying: $0.baseAddress) }
  }

  /// The kernel `name` of `file` built with `options`, built and created on first use. `file` is
  /// the op's source, or several joined by `+`; common.cl always comes first
  /// (`OpenCLDeviceContext.program`).
  func kernel(_ file: String, _ name: String, options: String) throws -> CLKernel {
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

  /// A kernel argument, in the kernel's parameter order.
  enum Arg {
    case buffer(OpenCLBuffer)
    case int(Int)
    case float(Float)
  }

  /// Sets `args` and enqueues `kernel` over `global` (rounded up to multiples of `local`).
  /// The local size is always explicit: PoCL compiles a work-group function per local size.
  func enqueue(_ kernel: CLKernel, _ args: [Arg], global: [Int], local: [Int]) throws {
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

  func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw BertScopeError.invalidInput("OpenCL backend: " + message()) }
  }

  /// The head modes of the attention kernels as an `Int32` buffer; the all-normal one is cached.
  func modesBuffer(_ modes: [HeadMode], heads: Int) throws -> OpenCLBuffer {
    if modes.allSatisfy({ $0 == .normal }) {
      if let buffer = normalModes, buffer.count >= heads { return buffer }
      let buffer = try upload([Int32](repeating: 0, count: max(heads, 64)))
      normalModes = buffer
      return buffer
    }
    // Released right after the enqueue; OpenCL keeps it until the kernel has run.
    return try upload(modes.map(\.rawValue))
  }
}

extension OpenCLBackend: ComputeBackend {
  typealias Buffer = OpenCLBuffer
  typealias Matrix = OpenCLMatrix
  typealias Layout = OpenCLLayout
}
