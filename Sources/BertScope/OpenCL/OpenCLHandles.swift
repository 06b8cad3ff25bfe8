import BertScopeKernels
import COpenCL
import Foundation

// OpenCL objects, each owned by a final class that releases it in deinit.

/// A command queue (in order: a forward pass is queued and waited on once).
final class CLQueue: @unchecked Sendable {
  let handle: cl_command_queue
  init(_ handle: cl_command_queue) { self.handle = handle }
  deinit { clReleaseCommandQueue(handle) }
}

/// An event, released in deinit.
final class CLEvent: @unchecked Sendable {
  let handle: cl_event
  init(_ handle: cl_event) { self.handle = handle }
  deinit { clReleaseEvent(handle) }
}

/// A program built for one device with one set of build options.
final class CLProgram: @unchecked Sendable {
  let handle: cl_program
  let file: String
  init(_ handle: cl_program, file: String) {
    self.handle = handle
    self.file = file
  }
  deinit { clReleaseProgram(handle) }
}

/// A kernel object. `clSetKernelArg` mutates it: callers set arguments and enqueue under one lock.
final class CLKernel: @unchecked Sendable {
  let handle: cl_kernel
  let name: String
  let program: CLProgram  // keeps the program alive
  init(_ handle: cl_kernel, name: String, program: CLProgram) {
    self.handle = handle
    self.name = name
    self.program = program
  }
  deinit { clReleaseKernel(handle) }
}

/// Bytes held by one backend's live buffers, for out-of-memory messages and the simulated limit.
final class DeviceMemoryLedger: @unchecked Sendable {
  private let lock = NSLock()
  private var live = 0
  var bytes: Int { lock.withLock { live } }
  func add(_ n: Int) { lock.withLock { live += n } }
  func remove(_ n: Int) { lock.withLock { live -= n } }
}

/// `count` floats (or 32-bit integers) in device memory.
public final class OpenCLBuffer: @unchecked Sendable {
  let mem: cl_mem
  /// Elements (4 bytes each).
  public let count: Int
  private let bytes: Int
  private let ledger: DeviceMemoryLedger
  /// On a CPU device, the host memory the buffer lives in (`CL_MEM_USE_HOST_PTR`): read back
  /// by mapping it in place, and handed out as it is. The memory object keeps it alive until
  /// the runtime deletes the object (a destructor callback), not only until this deinit.
  let host: FloatStorage?
  init(mem: cl_mem, count: Int, bytes: Int, ledger: DeviceMemoryLedger, host: FloatStorage? = nil) {
    self.mem = mem
    self.count = count
    self.bytes = bytes
    self.ledger = ledger
    self.host = host
    ledger.add(bytes)
  }
  // NOTE: OpenCL defers the release until queued commands that use the buffer have finished.
  deinit {
    clReleaseMemObject(mem)
    ledger.remove(bytes)
  }
}

/// A linear layer's weight `[rows, cols]` = `[out, in]` on the device, laid out for the GEMM
/// variant: packed into `[ceil(rows/panelWidth)][cols][panelWidth]` panels for the CPU kernel,
/// as stored (`[rows, cols]`) for the GPU kernel (`panelWidth == nil`).
public final class OpenCLMatrix: @unchecked Sendable {
  let buffer: OpenCLBuffer
  /// Output features: rows of the `[out, in]` weight.
  public let rows: Int
  /// Input features: columns of the `[out, in]` weight.
  public let cols: Int
  /// CPU devices: the packed panels' width (gemm_cpu.cl).
  let panelWidth: Int?
  /// GPUs with kernel_gemm_gpu_vec: the weight is stored transposed, `[Kp, transposedStride]`
  /// (`OpenCLBackend.transposePadded`); nil: as given, `[out, in]`.
  let transposedStride: Int?
  init(buffer: OpenCLBuffer, rows: Int, cols: Int, panelWidth: Int?, transposedStride: Int? = nil) {
    self.buffer = buffer
    self.rows = rows
    self.cols = cols
    self.panelWidth = panelWidth
    self.transposedStride = transposedStride
  }
}

/// The blocks of `rows` query rows of a batch: each block's sequence and first row, `[count]`.
struct RowBlocks {
  let sequence, row: OpenCLBuffer
  let count: Int
}

/// A batch's integer data on the device (`Int32` each), and the scratch its attention needs.
public final class OpenCLLayout: @unchecked Sendable {
  let ids, segments, positions: OpenCLBuffer  // [T]
  /// [T] the embedding's token-type rows: `segments` itself unless the model takes none.
  let tokenTypes: OpenCLBuffer
  let tokenSequence: OpenCLBuffer  // [T] sequence of each token
  let lengths, tokenOffsets, probOffsets: OpenCLBuffer  // [sequences]
  /// [sequences] prefix sums of the lengths rounded up to 16 (the transposed keys' layout).
  let paddedOffsets: OpenCLBuffer
  /// [blocks] sequence and first row of each block of `blockRows` query rows (CPU attention).
  let blockSequence, blockRow: OpenCLBuffer
  /// [T] token kinds and [sequences] uniform within-segment shares (`attentionFeatures`).
  let kinds, withinUniform: OpenCLBuffer
  let blockRows: Int
  let blockCount: Int
  /// Blocks of other row counts than `blockRows` (kernel_attention_flash_gpu,
  /// kernel_attention_context_gpu), made on first use by `OpenCLBackend.rowBlocks`.
  /// Guarded by the owning backend's lock.
  var otherBlocks: [Int: RowBlocks] = [:]
  /// The lengths, kept to make `otherBlocks`.
  let sequenceLengths: [Int]
  let tokenCount: Int
  let sequenceCount: Int
  let paddedTokenCount: Int
  /// Transposed keys, `[paddedTokenCount · H]`, allocated by the first CPU attention call.
  /// Guarded by the owning backend's lock.
  var keysT: OpenCLBuffer?

  init(
    ids: OpenCLBuffer, segments: OpenCLBuffer, tokenTypes: OpenCLBuffer?, positions: OpenCLBuffer,
    tokenSequence: OpenCLBuffer,
    lengths: OpenCLBuffer, tokenOffsets: OpenCLBuffer, probOffsets: OpenCLBuffer, paddedOffsets: OpenCLBuffer,
    blockSequence: OpenCLBuffer, blockRow: OpenCLBuffer, kinds: OpenCLBuffer, withinUniform: OpenCLBuffer,
    blockRows: Int, blockCount: Int, sequenceLengths: [Int], tokenCount: Int, sequenceCount: Int,
    paddedTokenCount: Int
  ) {
    self.sequenceLengths = sequenceLengths
    self.kinds = kinds
    self.withinUniform = withinUniform
    self.ids = ids
    self.segments = segments
    self.tokenTypes = tokenTypes ?? segments
    self.positions = positions
    self.tokenSequence = tokenSequence
    self.lengths = lengths
    self.tokenOffsets = tokenOffsets
    self.probOffsets = probOffsets
    self.paddedOffsets = paddedOffsets
    self.blockSequence = blockSequence
    self.blockRow = blockRow
    self.blockRows = blockRows
    self.blockCount = blockCount
    self.tokenCount = tokenCount
    self.sequenceCount = sequenceCount
    self.paddedTokenCount = paddedTokenCount
  }
}

/// One device's context and its programs, shared by every backend on that device in this
/// process, so that each program is built once per device (PoCL's disk cache then spares the
/// next process the build).
final class OpenCLDeviceContext: @unchecked Sendable {
  let info: OpenCLDeviceInfo
  let device: cl_device_id?
  let context: cl_context
  /// Guards `programs`; builds run under it so that a program is never built twice.
  private let lock = NSLock()
  private var programs: [String: CLProgram] = [:]

  private init(info: OpenCLDeviceInfo, device: cl_device_id?, context: cl_context) {
    self.info = info
    self.device = device
    self.context = context
  }
  deinit { clReleaseContext(context) }

  private final class Registry: @unchecked Sendable {
    let lock = NSLock()
    var contexts: [Int: OpenCLDeviceContext] = [:]
  }
  private static let registry = Registry()

  /// The context of device `index` (as `OpenCLDevices.all()` numbers them), created once.
  static func shared(index: Int) throws -> OpenCLDeviceContext {
    let registry = Self.registry
    registry.lock.lock()
    defer { registry.lock.unlock() }
    if let context = registry.contexts[index] { return context }
    let all = try OpenCLRuntime.enumerate()
    guard all.indices.contains(index) else {
      throw BertScopeError.backendUnavailable(
        all.isEmpty
          ? "no OpenCL device found (install an OpenCL driver, e.g. pocl-opencl-icd for the CPU)"
          : "OpenCL device \(index) does not exist; devices are 0…\(all.count - 1) (see `bertscope devices`)")
    }
    let entry = all[index]
    var platformName = ""
    platformName = (try? OpenCLRuntime.platformString(entry.platform, CL_PLATFORM_NAME)) ?? ""
    let info = try OpenCLDevices.info(
      entry.device, index: index, platformIndex: entry.platformIndex, platformName: platformName)
    var status: cl_int = 0
    var device = entry.device
    guard let context = clCreateContext(nil, 1, &device, nil, nil, &status), status == CL_SUCCESS else {
      throw BertScopeError.openCL(call: "clCreateContext", status: status, detail: info.name)
    }
    let shared = OpenCLDeviceContext(info: info, device: entry.device, context: context)
    registry.contexts[index] = shared
    return shared
  }

  /// The files every program starts with: the codes, reductions, row normalisation and GEMM
  /// epilogues that the ops share.
  static let commonFiles = ["common.cl"]

  /// The op files of a program name: `"layer_norm.cl"`, or several joined by `+`
  /// (`"attention_context.cl+attention_probs.cl"`).
  static func files(of program: String) -> [String] {
    program.split(separator: "+").map(String.init)
  }

  /// `file` built with `options`, from the cache when it was built before. The program's source
  /// is `commonFiles` and then the files `file` names (`a.cl+b.cl`: several, in that order), each
  /// after a `#line 1 "name"` so that build logs give the file and line. `appending` is added to
  /// the source (fault injection); such builds are not cached.
  func program(file: String, options: String, appending extra: String = "") throws -> CLProgram {
    let key = file + "|" + options
    lock.lock()
    defer { lock.unlock() }
    if extra.isEmpty, let program = programs[key] { return program }

    var texts: [String] = []
    for part in Self.commonFiles + Self.files(of: file) {
      switch KernelSource.text(named: part) {
      case .success(let text): texts.append("#line 1 \"\(part)\"\n" + text)
      case .failure(let missing): throw BertScopeError.backendUnavailable(missing.description)
      }
    }
    let source = texts.joined(separator: "\n") + extra
    var status: cl_int = 0
    let created = source.withCString { text -> cl_program? in
      var pointer: UnsafePointer<CChar>? = text
      return clCreateProgramWithSource(context, 1, &pointer, nil, &status)
    }
    guard let handle = created, status == CL_SUCCESS else {
      throw BertScopeError.openCL(call: "clCreateProgramWithSource", status: status, detail: file)
    }
    let program = CLProgram(handle, file: file)
    var device = self.device
    let built = clBuildProgram(handle, 1, &device, options, nil, nil)
    if built != CL_SUCCESS {
      let log = buildLog(handle)
      if built == CL_BUILD_PROGRAM_FAILURE || built == CL_COMPILE_PROGRAM_FAILURE {
        throw BertScopeError.kernelBuildFailed(file: file, device: info.name, log: log)
      }
      throw BertScopeError.openCL(
        call: "clBuildProgram", status: built, detail: "\(file) with options \"\(options)\"\n\(log)")
    }
    if extra.isEmpty { programs[key] = program }
    return program
  }

  private func buildLog(_ program: cl_program) -> String {
    var size = 0
    guard
      clGetProgramBuildInfo(program, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size)
        == CL_SUCCESS, size > 0
    else { return "(no build log)" }
    var bytes = [CChar](repeating: 0, count: size + 1)
    _ = clGetProgramBuildInfo(program, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil)
    let end = bytes.firstIndex(of: 0) ?? bytes.count
    return String(decoding: bytes[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
      .trimmingCharacters(in: .whitespacesAndNewlines)
  }
}
