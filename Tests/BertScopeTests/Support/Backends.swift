import Foundation

@testable import BertScope

/// The backends every encoder test runs on: the CPU one always, OpenCL where a device exists.
enum TestBackends {
  static var available: [BackendKind] { [.cpu] }
}
