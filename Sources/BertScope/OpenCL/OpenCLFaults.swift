/// Failures a test injects into an `OpenCLBackend` to check that each surfaces as the right
/// `BertScopeError` (never a crash). The default injects nothing.
struct OpenCLFaults: Sendable {
  /// Kernel files (e.g. `"layer_norm.cl"`) whose programs get an `#error` line appended to their
  /// source, so that their build fails with a real build log → `.kernelBuildFailed`.
  var brokenKernels: Set<String> = []
  /// A single allocation larger than this many bytes fails as the device's would when out of
  /// memory → `.outOfDeviceMemory`.
  var allocationLimit: Int? = nil
  /// After this many OpenCL calls have been made through the backend, the device is lost:
  /// every later call fails with `CL_DEVICE_NOT_AVAILABLE` → `.openCL(status: -2)`.
  var loseDeviceAfterCalls: Int? = nil

  init(brokenKernels: Set<String> = [], allocationLimit: Int? = nil, loseDeviceAfterCalls: Int? = nil) {
    self.brokenKernels = brokenKernels
    self.allocationLimit = allocationLimit
    self.loseDeviceAfterCalls = loseDeviceAfterCalls
  }

  static let breakingSource = "\n#error \"BertScope fault injection: this build is meant to fail\"\n"
}
