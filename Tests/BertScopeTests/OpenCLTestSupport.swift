import Foundation
import Testing

@testable import BertScope

/// Shared set-up of the OpenCL tests: which device, and a backend running either kernel
/// variant on it. (The op checks and their Double references, shared with the CPU backend, are
/// in `BackendOpTests.swift` and `Support/Reference.swift`.)
enum OpenCLTest {
  /// Tests skip (never pass silently) when this machine has no OpenCL platform or device.
  static let available = OpenCLDevices.isAvailable
  static let skipReason: Comment = "no OpenCL platform or device on this machine (install pocl-opencl-icd)"
  /// `BERTSCOPE_TEST_DEVICE` picks the device (default 0).
  static let deviceIndex = Int(ProcessInfo.processInfo.environment["BERTSCOPE_TEST_DEVICE"] ?? "") ?? 0

  /// A backend running `variant`'s kernels on the test device, whatever its type.
  static func backend(
    _ variant: OpenCLKernelConfig.Variant, faults: OpenCLFaults = OpenCLFaults(),
    adjust: (inout OpenCLKernelConfig) -> Void = { _ in }
  ) throws -> OpenCLBackend {
    let info = try OpenCLDevices.all()[deviceIndex]
    var config = OpenCLKernelConfig.defaults(
      for: variant == .cpu ? .cpu : .gpu, maxWorkGroupSize: info.maxWorkGroupSize)
    adjust(&config)
    return try OpenCLBackend(device: deviceIndex, config: config, faults: faults)
  }
}
