import ArgumentParser
import BertScope
import Foundation

struct DevicesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "devices",
    abstract: "List OpenCL platforms and devices (the numbers --device takes).",
    discussion:
      "Each line: [index] name (vendor; type, compute units, memory, max allocation; OpenCL version; platform) "
      + "[tuned | built-in tuning | defaults]: whether `bertscope tune` or the built-in database has an entry "
      + "for the device, its driver and these kernels.")

  @Flag(help: "Print JSON instead of lines.") var json = false

  func run() throws {
    let platforms = try OpenCLDevices.platforms()
    if json {
      let data = try JSONEncoder().encode(platforms.map(PlatformJSON.init))
      print(String(decoding: data, as: UTF8.self))
      return
    }
    if platforms.isEmpty {
      print(
        "no OpenCL platform found: the CPU backend will be used (install an OpenCL driver, e.g. pocl-opencl-icd, or a GPU vendor's)"
      )
      return
    }
    for p in platforms {
      print("platform \(p.index): \(p.name) (\(p.vendor); \(p.version))")
      if p.devices.isEmpty { print("  no devices") }
      for d in p.devices {
        let tuning = OpenCLTuning.status(for: d)
        for note in OpenCLTuning.notesOnce(tuning.notes) { printError("note: \(note)") }
        print("  \(d.description) [\(tuning.label)]")
      }
    }
  }

  /// A platform as `OpenCLPlatformInfo` encodes it, each device with a "tuning" object added.
  struct PlatformJSON: Encodable {
    let platform: OpenCLPlatformInfo
    init(_ platform: OpenCLPlatformInfo) { self.platform = platform }

    struct Device: Encodable {
      let info: OpenCLDeviceInfo
      enum Key: String, CodingKey { case tuning }
      func encode(to encoder: any Swift.Encoder) throws {
        try info.encode(to: encoder)
        let status = OpenCLTuning.status(for: info)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(
          ["source": status.source.rawValue, "label": status.label, "parameters": status.parameters], forKey: .tuning)
      }
    }

    enum Key: String, CodingKey { case index, name, vendor, version, devices }
    func encode(to encoder: any Swift.Encoder) throws {
      var container = encoder.container(keyedBy: Key.self)
      try container.encode(platform.index, forKey: .index)
      try container.encode(platform.name, forKey: .name)
      try container.encode(platform.vendor, forKey: .vendor)
      try container.encode(platform.version, forKey: .version)
      try container.encode(platform.devices.map(Device.init), forKey: .devices)
    }
  }
}

struct SelftestCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "selftest",
    abstract: "Run every OpenCL op on a device against the CPU backend and print the largest errors.",
    discussion: "Exits non-zero if any op is outside its tolerance (|a − b| ≤ tol + 1e-4·|b|).")

  @Option(help: "Only opencl is checked against the CPU reference.") var backend: BackendKind = .opencl
  @Option(help: "OpenCL device index (see `bertscope devices`).") var device = 0

  func run() throws {
    guard backend == .opencl else { throw ValidationError("selftest checks --backend opencl against the CPU backend") }
    let devices = try OpenCLDevices.all()
    guard devices.indices.contains(device) else {
      throw BertScopeError.backendUnavailable(
        devices.isEmpty
          ? "no OpenCL device found" : "no OpenCL device \(device); `bertscope devices` lists 0–\(devices.count - 1)")
    }
    print("device \(device): \(devices[device].name)")
    let results = try SelfTest.openCL(device: device)
    for r in results {
      print(
        pad(r.op, 22)
          + String(
            format: " max |error| %.3g  (tolerance %.0e)  %@", r.maxAbsError, r.tolerance, r.passed ? "ok" : "FAILED"))
    }
    if results.contains(where: { !$0.passed }) {
      throw BertScopeError.invalidInput("selftest failed: some ops differ from the CPU backend beyond tolerance")
    }
    print("all \(results.count) ops agree with the CPU backend")
  }
}
