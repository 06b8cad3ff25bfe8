import COpenCL
import Foundation

// How results reach the host: three ways (`OpenCLKernelConfig.Readback`), by device type.
//
// - zero-copy (CPU devices): large buffers are host memory the device uses in place
//   (`CL_MEM_USE_HOST_PTR` on a pooled, 2 MiB-aligned `FloatStorage`). Reading one is a map,
//   which only synchronises, and the storage itself is handed out: no second copy of the maps
//   and, since the blocks are pooled, no fresh pages (and their faults) per pass.
// - pinned (GPUs): reads go into pinned staging blocks (`CL_MEM_ALLOC_HOST_PTR`, mapped once,
//   pooled), and a kept layer's maps are read on a second queue as soon as its attention has
//   run, while the later layers compute; the staging block is handed out as the storage.
// - pageable: `clEnqueueReadBuffer` into fresh host memory after the pass.
extension OpenCLBackend {
  /// A buffer in a pooled host block (callers hold `lock`). The memory object keeps the
  /// storage alive until the runtime deletes it: OpenCL defers that until queued commands
  /// that use it have run, which may be after this buffer's deinit.
  func allocateInHostMemory(count: Int, bytes: Int) throws -> OpenCLBuffer {
    let storage = FloatStorage(count: count)
    var status: cl_int = 0
    let flags = cl_mem_flags(CL_MEM_READ_WRITE) | cl_mem_flags(CL_MEM_USE_HOST_PTR)
    guard let mem = clCreateBuffer(shared.context, flags, bytes, storage.pointer, &status), status == CL_SUCCESS
    else {
      switch status {
      case CL_MEM_OBJECT_ALLOCATION_FAILURE, CL_OUT_OF_RESOURCES, CL_OUT_OF_HOST_MEMORY, CL_INVALID_BUFFER_SIZE:
        throw outOfMemory(bytes: bytes, "clCreateBuffer (host memory) failed with \(openCLStatusName(status))")
      default:
        throw BertScopeError.openCL(call: "clCreateBuffer", status: status, detail: "\(bytes) bytes of host memory")
      }
    }
    let retained = Unmanaged.passRetained(storage).toOpaque()
    let callback: @convention(c) (cl_mem?, UnsafeMutableRawPointer?) -> Void = { _, user in
      if let user { Unmanaged<FloatStorage>.fromOpaque(user).release() }
    }
    let set = clSetMemObjectDestructorCallback(mem, callback, retained)
    guard set == CL_SUCCESS else {
      clReleaseMemObject(mem)
      Unmanaged<FloatStorage>.fromOpaque(retained).release()
      throw BertScopeError.openCL(call: "clSetMemObjectDestructorCallback", status: set, detail: "\(bytes) bytes")
    }
    return OpenCLBuffer(mem: mem, count: count, bytes: bytes, ledger: ledger, host: storage)
  }

  func readStorage(_ buffer: OpenCLBuffer, count: Int) throws -> FloatStorage {
    try readStorage(buffer, ranges: [0..<count])
  }

  func readStorage(_ buffer: OpenCLBuffer, ranges: [Range<Int>]) throws -> FloatStorage {
    for range in ranges {
      try require(
        range.lowerBound >= 0 && range.upperBound <= buffer.count,
        "read: range \(range) outside a buffer of \(buffer.count) floats")
    }
    if let host = buffer.host { return try readInPlace(buffer, host: host, ranges: ranges) }
    let total = ranges.reduce(0) { $0 + $1.count }
    if config.readback == .pinned, total * 4 >= PinnedStaging.threshold {
      return try startPinnedRead(buffer, ranges: ranges).result()
    }
    let storage = FloatStorage(count: total)
    try read(buffer, ranges: ranges, into: storage.pointer)
    return storage
  }

  func startRead(_ buffer: OpenCLBuffer, _ extent: ReadExtent) throws -> PendingRead {
    let ranges: [Range<Int>]
    switch extent {
    case .first(let count): ranges = [0..<count]
    case .ranges(let r): ranges = r
    }
    let total = ranges.reduce(0) { $0 + $1.count }
    guard buffer.host == nil, config.readback == .pinned, total * 4 >= PinnedStaging.threshold else {
      // Read when asked: in place (zero-copy), or after the pass.
      return PendingRead { (try self.readStorage(buffer, ranges: ranges), nil) }
    }
    for range in ranges {
      try require(
        range.lowerBound >= 0 && range.upperBound <= buffer.count,
        "read: range \(range) outside a buffer of \(buffer.count) floats")
    }
    return try startPinnedRead(buffer, ranges: ranges)
  }

  /// Synchronises a host-memory buffer by mapping it, and gives its storage itself when the
  /// whole buffer is asked for (else the ranges, copied).
  private func readInPlace(_ buffer: OpenCLBuffer, host: FloatStorage, ranges: [Range<Int>]) throws -> FloatStorage {
    try locked {
      try useDevice("clEnqueueMapBuffer")
      var status: cl_int = 0
      let bytes = buffer.count * 4
      guard
        let mapped = clEnqueueMapBuffer(
          queue.handle, buffer.mem, cl_bool(CL_TRUE), cl_map_flags(CL_MAP_READ), 0, bytes, 0, nil, nil, &status),
        status == CL_SUCCESS
      else {
        throw BertScopeError.openCL(call: "clEnqueueMapBuffer", status: status, detail: "\(bytes) bytes (zero-copy)")
      }
      defer {
        clEnqueueUnmapMemObject(queue.handle, buffer.mem, mapped, 0, nil, nil)
        clFinish(queue.handle)
      }
      let source = mapped.assumingMemoryBound(to: Float.self)
      // A map of a CL_MEM_USE_HOST_PTR buffer is the host pointer, synchronised (OpenCL 1.2
      // §5.4.2); should a runtime give another pointer, copy from it.
      if ranges.count == 1, ranges[0] == 0..<host.count, source == host.pointer { return host }
      let storage = FloatStorage(count: ranges.reduce(0) { $0 + $1.count })
      var at = 0
      for range in ranges where !range.isEmpty {
        (storage.pointer + at).update(from: source + range.lowerBound, count: range.count)
        at += range.count
      }
      return storage
    }
  }

  /// Queues reads of `ranges` into one pinned staging block on the transfer queue, after
  /// everything queued so far on the compute queue (a marker event), and returns at once.
  private func startPinnedRead(_ buffer: OpenCLBuffer, ranges: [Range<Int>]) throws -> PendingRead {
    let total = ranges.reduce(0) { $0 + $1.count }
    return try locked {
      if staging == nil { staging = PinnedStaging(context: shared, queue: queue) }
      if transferQueue == nil {
        var status: cl_int = 0
        let properties = cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE)
        guard let handle = clCreateCommandQueue(shared.context, shared.device, properties, &status),
          status == CL_SUCCESS
        else {
          throw BertScopeError.openCL(call: "clCreateCommandQueue", status: status, detail: "transfer queue")
        }
        transferQueue = CLQueue(handle)
      }
      let transfer = transferQueue!
      let block = try staging!.take(bytes: max(total, 1) * 4)
      let storage = FloatStorage(
        borrowing: block.pointer.assumingMemoryBound(to: Float.self), count: total,
        release: { [staging = staging!] in staging.give(block) })
      try useDevice("clEnqueueMarkerWithWaitList")
      var marker: cl_event? = nil
      try OpenCLRuntime.check(
        clEnqueueMarkerWithWaitList(queue.handle, 0, nil, &marker), "clEnqueueMarkerWithWaitList", "before a read")
      let ready = CLEvent(marker!)
      var events: [CLEvent] = []
      var at = 0
      for range in ranges where !range.isEmpty {
        var wait: cl_event? = ready.handle
        var done: cl_event? = nil
        try call("clEnqueueReadBuffer", "\(range.count) floats at \(range.lowerBound) (pinned)") {
          clEnqueueReadBuffer(
            transfer.handle, buffer.mem, cl_bool(CL_FALSE), range.lowerBound * 4, range.count * 4,
            storage.pointer + at, 1, &wait, &done)
        }
        events.append(CLEvent(done!))
        at += range.count
      }
      clFlush(queue.handle)
      clFlush(transfer.handle)
      // The buffer is kept until the copies have run (OpenCL would keep it too; this keeps
      // the staging block, in `storage`, from being reused before then).
      return PendingRead(waitsWhenDropped: true) { [events] in
        var handles = events.map { Optional($0.handle) }
        if !handles.isEmpty {
          try OpenCLRuntime.check(clWaitForEvents(cl_uint(handles.count), &handles), "clWaitForEvents", "pinned read")
        }
        _ = buffer
        return (storage, OpenCLBackend.deviceSeconds(events))
      }
    }
  }

  /// The summed start-to-end device time of profiled events; nil when a runtime gives none.
  static func deviceSeconds(_ events: [CLEvent]) -> Double? {
    var total: UInt64 = 0
    for event in events {
      var start: cl_ulong = 0, end: cl_ulong = 0
      guard
        clGetEventProfilingInfo(event.handle, cl_profiling_info(CL_PROFILING_COMMAND_START), 8, &start, nil)
          == CL_SUCCESS,
        clGetEventProfilingInfo(event.handle, cl_profiling_info(CL_PROFILING_COMMAND_END), 8, &end, nil) == CL_SUCCESS,
        end >= start
      else { return nil }
      total += end - start
    }
    return Double(total) / 1e9
  }
}

/// Pinned host blocks for the readback (`CL_MEM_ALLOC_HOST_PTR`, mapped once for their
/// lifetime), kept for reuse like `LargeBlocks`: pinning memory costs far more than a copy.
/// Handed out as `FloatStorage`s that give their block back when they go.
final class PinnedStaging: @unchecked Sendable {
  struct Block: @unchecked Sendable {
    let mem: cl_mem
    let pointer: UnsafeMutableRawPointer
    let bytes: Int
  }
  /// Reads smaller than this go to pageable memory (pinning is not worth it).
  static let threshold = 1 << 20
  private let context: OpenCLDeviceContext
  private let queue: CLQueue
  /// At most as many bytes kept idle as `LargeBlocks` keeps.
  private let idle = IdleBlocks<Block>(limit: LargeBlocks.shared.limit)

  init(context: OpenCLDeviceContext, queue: CLQueue) {
    self.context = context
    self.queue = queue
  }

  /// An idle block of `bytes` to twice that, else a new one (rounded up to 1 MiB).
  func take(bytes: Int) throws -> Block {
    let rounded = (bytes + Self.threshold - 1) / Self.threshold * Self.threshold
    if let reused = idle.take(rounded) { return reused.0 }
    var status: cl_int = 0
    let flags = cl_mem_flags(CL_MEM_READ_WRITE) | cl_mem_flags(CL_MEM_ALLOC_HOST_PTR)
    guard let mem = clCreateBuffer(context.context, flags, rounded, nil, &status), status == CL_SUCCESS else {
      throw BertScopeError.outOfDeviceMemory(
        bytes: rounded,
        detail: "could not pin \(rounded) bytes of host memory for the readback (\(openCLStatusName(status))); "
          + "reduce the batch size, or set BERTSCOPE_OPENCL_READBACK=pageable")
    }
    guard
      let pointer = clEnqueueMapBuffer(
        queue.handle, mem, cl_bool(CL_TRUE), cl_map_flags(CL_MAP_READ) | cl_map_flags(CL_MAP_WRITE), 0, rounded, 0,
        nil, nil, &status), status == CL_SUCCESS
    else {
      clReleaseMemObject(mem)
      throw BertScopeError.openCL(
        call: "clEnqueueMapBuffer", status: status, detail: "pinned staging of \(rounded) bytes")
    }
    return Block(mem: mem, pointer: pointer, bytes: rounded)
  }

  /// Keeps `block` for reuse, or unpins it when the idle pool is full.
  func give(_ block: Block) {
    if !idle.keep(block, bytes: block.bytes) { release(block) }
  }

  private func release(_ block: Block) {
    clEnqueueUnmapMemObject(queue.handle, block.mem, block.pointer, 0, nil, nil)
    clFinish(queue.handle)
    clReleaseMemObject(block.mem)
  }

  deinit { idle.removeAll().forEach(release) }
}
