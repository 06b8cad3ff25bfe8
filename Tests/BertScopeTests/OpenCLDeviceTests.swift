import Foundation
import Testing

@testable import BertScope

@Suite("OpenCL devices", .enabled(if: OpenCLTest.available, OpenCLTest.skipReason))
struct OpenCLDeviceTests {
  @Test("lists every device with its properties, numbered in order")
  func listsDevices() throws {
    let platforms = try OpenCLDevices.platforms()
    let all = try OpenCLDevices.all()
    #expect(!all.isEmpty)
    #expect(all.map(\.index) == Array(all.indices))
    #expect(platforms.flatMap(\.devices) == all)
    for device in all {
      #expect(!device.name.isEmpty && !device.vendor.isEmpty && !device.platformName.isEmpty)
      #expect(device.computeUnits > 0 && device.globalMemoryBytes > 0 && device.maxAllocationBytes > 0)
      #expect(device.version.hasPrefix("OpenCL"))
      #expect(device.description.contains(device.name))
    }
  }

  @Test("PoCL's kernel cache points at a writable folder before the first OpenCL call")
  func poclCache() throws {
    _ = try OpenCLDevices.all()
    let dir = try #require(getenv("POCL_CACHE_DIR").map { String(cString: $0) })
    #expect(FileManager.default.isWritableFile(atPath: dir))
  }

  @Test("a device that does not exist is reported as unavailable")
  func missingDevice() throws {
    let count = try OpenCLDevices.all().count
    #expect {
      try OpenCLBackend(device: count + 3)
    } throws: { error in
      guard case .backendUnavailable(let message) = error as? BertScopeError else { return false }
      return message.contains("does not exist")
    }
  }

  @Test("the backend picks its kernel variant by device type")
  func variantByType() throws {
    let backend = try OpenCLBackend(device: OpenCLTest.deviceIndex)
    #expect(backend.config.variant == (backend.device.type == .cpu ? .cpu : .gpu))
    #expect(backend.name.contains(backend.device.name))
  }
}
