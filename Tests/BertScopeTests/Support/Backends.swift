import Foundation

@testable import BertScope

/// The backends every encoder test runs on: the CPU one always, OpenCL where a device exists
/// (PoCL gives one on any machine; the OpenCL suites say "skipped" where there is none).
enum TestBackends {
  static let available: [BackendKind] = OpenCLDevices.isAvailable ? [.cpu, .opencl] : [.cpu]
}
