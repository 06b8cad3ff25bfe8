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

  /// `OpenCLRuntime.environmentPrepared` picks PoCL's cache folder once per process, before
  /// the first OpenCL call, and `scripts/test` exports POCL_CACHE_DIR itself, so this process
  /// cannot show the choice: `bertscope` runs in child processes with an environment of our
  /// own, in a fresh temporary folder (the first run builds the encoder's five programs cold,
  /// ~7 s on PoCL).
  @Test(
    "PoCL's kernel cache goes to $XDG_CACHE_HOME/bertscope/pocl, else ~/.cache/bertscope/pocl, unless POCL_CACHE_DIR is set; PoCL writes its programs there",
    .enabled(if: CLI.available, "the bertscope binary is not built next to the tests"))
  func poclCache() throws {
    let root = Fixtures.temporaryDirectory("bertscope-pocl-cache")
    defer { try? FileManager.default.removeItem(at: root) }
    func path(_ name: String) -> String { root.appendingPathComponent(name).path }
    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }
    try Data("hello world\n".utf8).write(to: root.appendingPathComponent("in.txt"))
    let device = ["--device", "\(OpenCLTest.deviceIndex)"]

    // XDG_CACHE_HOME set: a run that builds kernels leaves PoCL's compiled programs in our folder.
    let built = try CLI.run(
      ["embed", "--backend", "opencl"] + device + [
        "--model", Fixtures.tiny.path, "--input", path("in.txt"), "--out", path("out.npy"), "-q",
      ], env: ["XDG_CACHE_HOME": path("xdg"), "HOME": path("home1")], unset: ["POCL_CACHE_DIR"])
    #expect(built.status == 0, "\(built.stderr)")
    let cache = path("xdg/bertscope/pocl")
    let programs = (FileManager.default.enumerator(atPath: cache)?.allObjects as? [String] ?? [])
      .filter { $0.hasSuffix("program.bc") }
    #expect(!programs.isEmpty, "no program.bc under \(cache) after a run that built kernels")
    #expect(!exists("home1/.cache/bertscope"), "XDG_CACHE_HOME was set, yet the cache went under HOME")

    // No XDG_CACHE_HOME: under HOME. (`devices` makes the first OpenCL call and builds nothing.)
    let listed = try CLI.run(["devices"], env: ["HOME": path("home2")], unset: ["POCL_CACHE_DIR", "XDG_CACHE_HOME"])
    #expect(listed.status == 0, "\(listed.stderr)")
    #expect(exists("home2/.cache/bertscope/pocl"), "no cache folder under HOME")

    // POCL_CACHE_DIR set: the user's choice stands, no folder of ours is made.
    let chosen = try CLI.run(
      ["devices"], env: ["POCL_CACHE_DIR": path("chosen"), "XDG_CACHE_HOME": path("xdg3"), "HOME": path("home3")])
    #expect(chosen.status == 0, "\(chosen.stderr)")
    #expect(!exists("xdg3/bertscope") && !exists("home3/.cache/bertscope"), "POCL_CACHE_DIR was overridden")

    // And in this process, whoever chose it, the folder is set and writable by the first OpenCL call.
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
