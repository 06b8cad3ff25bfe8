import Foundation
import Testing

@testable import BertScope

/// Each injected fault surfaces as the right `BertScopeError` with a useful message.
@Suite("OpenCL faults", .enabled(if: OpenCLTest.available, OpenCLTest.skipReason))
struct OpenCLFaultTests {
  @Test("a kernel that fails to compile reports its file, device and build log")
  func brokenBuild() throws {
    let backend = try OpenCLTest.backend(.cpu, faults: OpenCLFaults(brokenKernels: ["layer_norm.cl"]))
    let x = try backend.makeBuffer([1, 2, 3, 4])
    #expect {
      try backend.layerNorm(out: x, input: x, rows: 1, cols: 4, gamma: x, beta: x, eps: 1e-5)
    } throws: { error in
      guard case .kernelBuildFailed(let file, let device, let log) = error as? BertScopeError else { return false }
      return file == "layer_norm.cl" && device == backend.device.name && log.contains("meant to fail")
    }
    // Other kernels still build.
    let batch = PackedBatch([Encoding(tokens: ["a"], ids: [0], segments: [0], offsets: [nil])], heads: 1)
    let qkv = try backend.makeBuffer([1, 2, 3])
    let probs = try backend.makeBuffer(count: 1)
    try backend.attentionProbs(
      probs: probs, qkv: qkv, layout: try backend.makeLayout(batch), batch: batch, heads: 1, headDim: 1, scale: 1,
      modes: [])
    #expect(try backend.read(probs, range: 0..<1) == [1])
  }

  @Test("an allocation over the device's memory is out of device memory, with advice")
  func outOfMemory() throws {
    let backend = try OpenCLTest.backend(.cpu, faults: OpenCLFaults(allocationLimit: 1 << 20))
    _ = try backend.makeBuffer(count: 1000)
    #expect {
      try backend.makeBuffer(count: 1 << 20)
    } throws: { error in
      guard case .outOfDeviceMemory(let bytes, let detail) = error as? BertScopeError else { return false }
      return bytes == 4 << 20 && detail.contains("reduce the batch size or the sequence length")
    }
  }

  /// The device's largest allocation, when one float more than it is still a count the
  /// backend takes (≤ 2³¹ − 1 floats, 8 GiB): only then can a buffer exceed it.
  static var maxAllocationBelowCountLimit: Bool {
    guard OpenCLTest.available, let devices = try? OpenCLDevices.all(), devices.indices.contains(OpenCLTest.deviceIndex)
    else { return false }
    return devices[OpenCLTest.deviceIndex].maxAllocationBytes / 4 < UInt64(Int32.max)
  }

  @Test(
    "a buffer larger than the device's largest allocation is out of device memory",
    .enabled(if: maxAllocationBelowCountLimit, "the device allocates 8 GiB or more at once: no buffer count exceeds it")
  )
  func overMaxAllocation() throws {
    let backend = try OpenCLTest.backend(.cpu)
    let tooMany = Int(backend.device.maxAllocationBytes / 4 + 1)
    #expect {
      try backend.makeBuffer(count: tooMany)
    } throws: { error in
      guard case .outOfDeviceMemory(let bytes, let detail) = error as? BertScopeError else { return false }
      return bytes == tooMany * 4 && detail.contains("largest allocation")
    }
  }

  @Test("a buffer of 2³¹ floats or more is invalid input, before any allocation")
  func overCountLimit() throws {
    let backend = try OpenCLTest.backend(.cpu, faults: OpenCLFaults(allocationLimit: 1 << 20))
    #expect {
      try backend.makeBuffer(count: Int(Int32.max) + 1)
    } throws: { error in
      guard case .invalidInput(let message) = error as? BertScopeError else { return false }
      return message.contains("more than 2³¹ elements")
    }
  }

  @Test("a lost device fails every later call with CL_DEVICE_NOT_AVAILABLE")
  func lostDevice() throws {
    let backend = try OpenCLTest.backend(.cpu, faults: OpenCLFaults(loseDeviceAfterCalls: 3))
    let x = try backend.makeBuffer([1, 2, 3, 4])  // call 1
    let g = try backend.makeBuffer([1, 1, 1, 1])  // call 2
    func isLost(_ error: any Error) -> Bool {
      guard case .openCL(_, let status, let detail) = error as? BertScopeError else { return false }
      return status == -2 && detail.contains("lost")
    }
    #expect(
      performing: { try backend.layerNorm(out: x, input: x, rows: 1, cols: 4, gamma: g, beta: g, eps: 1e-5) },
      throws: isLost)
    #expect(performing: { try backend.read(x, range: 0..<4) }, throws: isLost)
    #expect(performing: { try backend.makeBuffer(count: 4) }, throws: isLost)
    #expect(performing: { try backend.finish() }, throws: isLost)
    let message = "\(BertScopeError.openCL(call: "clFinish", status: -2, detail: "x"))"
    #expect(message.contains("CL_DEVICE_NOT_AVAILABLE"))
  }

  @Test("losing the device mid-run is reported by the next call")
  func loseMidRun() throws {
    let backend = try OpenCLTest.backend(.cpu)
    let x = try backend.makeBuffer([1, 2, 3, 4])
    try backend.layerNorm(out: x, input: x, rows: 1, cols: 4, gamma: x, beta: x, eps: 1e-5)
    backend.simulateDeviceLoss()
    #expect(throws: BertScopeError.self) { try backend.read(x, range: 0..<4) }
  }
}
