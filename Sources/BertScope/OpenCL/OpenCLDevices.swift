import COpenCL
import Foundation

/// What kind of processor an OpenCL device is; BertScope picks kernel variants by it.
public enum OpenCLDeviceType: String, Sendable, Codable {
  /// `CL_DEVICE_TYPE_GPU`, `_CPU` or `_ACCELERATOR` (checked in that order), else `other`.
  case cpu, gpu, accelerator, other
}

/// One OpenCL device as `bertscope devices` lists it.
public struct OpenCLDeviceInfo: Sendable, Equatable, Codable, CustomStringConvertible {
  /// Position in `OpenCLDevices.all()`, 0-based: what `--device N` selects.
  public let index: Int
  /// Position of its platform in `OpenCLDevices.platforms()`, 0-based.
  public let platformIndex: Int
  /// `CL_PLATFORM_NAME` of its platform, e.g. "Portable Computing Language".
  public let platformName: String
  /// `CL_DEVICE_NAME`, e.g. "NVIDIA H100 80GB HBM3".
  public let name: String
  /// `CL_DEVICE_VENDOR`.
  public let vendor: String
  /// The kind of processor, which selects the kernel variants.
  public let type: OpenCLDeviceType
  /// `CL_DEVICE_MAX_COMPUTE_UNITS`: streaming multiprocessors, compute units or CPU cores.
  public let computeUnits: Int
  /// Device memory in bytes (`CL_DEVICE_GLOBAL_MEM_SIZE`).
  public let globalMemoryBytes: UInt64
  /// Largest single buffer (`CL_DEVICE_MAX_MEM_ALLOC_SIZE`).
  public let maxAllocationBytes: UInt64
  /// Work-group local memory in bytes (`CL_DEVICE_LOCAL_MEM_SIZE`).
  public let localMemoryBytes: UInt64
  /// Most work-items in one work-group (`CL_DEVICE_MAX_WORK_GROUP_SIZE`).
  public let maxWorkGroupSize: Int
  /// `CL_DEVICE_VERSION`, e.g. "OpenCL 3.0 PoCL HSTR: …".
  public let version: String
  /// `CL_DEVICE_OPENCL_C_VERSION`, e.g. "OpenCL C 1.2 PoCL".
  public let openCLCVersion: String
  /// `CL_DRIVER_VERSION`.
  public let driverVersion: String
  /// `CL_DEVICE_AVAILABLE`: false for a device that is listed but cannot be used now.
  public let available: Bool

  /// One line for `bertscope devices`: index, name, vendor, type, compute units, memory in GiB,
  /// version and platform.
  public var description: String {
    let gib = Double(globalMemoryBytes) / 1_073_741_824
    let maxAlloc = Double(maxAllocationBytes) / 1_073_741_824
    return "[\(index)] \(name) (\(vendor); \(type.rawValue), \(computeUnits) compute units, "
      + String(format: "%.1f GiB, max allocation %.1f GiB", gib, maxAlloc)
      + "; \(version); platform \(platformName))" + (available ? "" : " [not available]")
  }
}

/// One OpenCL platform (an installed driver) and its devices.
public struct OpenCLPlatformInfo: Sendable, Equatable, Codable {
  /// Position in `OpenCLDevices.platforms()`, 0-based.
  public let index: Int
  /// `CL_PLATFORM_NAME`.
  public let name: String
  /// `CL_PLATFORM_VENDOR`.
  public let vendor: String
  /// `CL_PLATFORM_VERSION`, e.g. "OpenCL 3.0 PoCL 6.0".
  public let version: String
  /// Its devices, with their global indices.
  public let devices: [OpenCLDeviceInfo]
}

/// Discovery of the OpenCL platforms and devices this machine has.
///
/// No platform (no ICD installed, or none that loads) is an empty list, not an error.
public enum OpenCLDevices {
  /// Every platform with its devices, numbered as `--device` takes them.
  public static func platforms() throws -> [OpenCLPlatformInfo] {
    var next = 0
    var result: [OpenCLPlatformInfo] = []
    for (p, platform) in try OpenCLRuntime.platformIDs().enumerated() {
      let name = try OpenCLRuntime.platformString(platform, CL_PLATFORM_NAME)
      var devices: [OpenCLDeviceInfo] = []
      for device in try OpenCLRuntime.deviceIDs(platform) {
        devices.append(try info(device, index: next, platformIndex: p, platformName: name))
        next += 1
      }
      result.append(
        OpenCLPlatformInfo(
          index: p, name: name, vendor: try OpenCLRuntime.platformString(platform, CL_PLATFORM_VENDOR),
          version: try OpenCLRuntime.platformString(platform, CL_PLATFORM_VERSION), devices: devices))
    }
    return result
  }

  /// Every device of every platform, in `--device` order.
  public static func all() throws -> [OpenCLDeviceInfo] {
    try platforms().flatMap(\.devices)
  }

  /// The `--device` index to use: `requested` when `devices` has it, or, when nil, the first
  /// available GPU, else device 0. Throws `backendUnavailable` (one line saying what exists)
  /// when that index is not among `devices`.
  public static func resolve(_ requested: Int?, in devices: [OpenCLDeviceInfo]) throws -> Int {
    let index = requested ?? devices.first(where: { $0.type == .gpu && $0.available })?.index ?? 0
    guard devices.indices.contains(index) else {
      throw BertScopeError.backendUnavailable(
        devices.isEmpty
          ? "no OpenCL device found (install an OpenCL driver, e.g. pocl-opencl-icd; see `bertscope devices`)"
          : "no OpenCL device \(index); `bertscope devices` lists 0–\(devices.count - 1)")
    }
    return index
  }

  /// Whether at least one OpenCL device exists (false on any enumeration error).
  public static var isAvailable: Bool {
    ((try? all()) ?? []).isEmpty == false
  }

  static func info(_ device: cl_device_id?, index: Int, platformIndex: Int, platformName: String) throws
    -> OpenCLDeviceInfo
  {
    typealias R = OpenCLRuntime
    let rawType = try R.deviceValue(device, CL_DEVICE_TYPE, as: cl_device_type.self)
    let type: OpenCLDeviceType =
      rawType & cl_device_type(CL_DEVICE_TYPE_GPU) != 0
      ? .gpu
      : rawType & cl_device_type(CL_DEVICE_TYPE_CPU) != 0
        ? .cpu : rawType & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 ? .accelerator : .other
    return OpenCLDeviceInfo(
      index: index, platformIndex: platformIndex, platformName: platformName,
      name: try R.deviceString(device, CL_DEVICE_NAME),
      vendor: try R.deviceString(device, CL_DEVICE_VENDOR),
      type: type,
      computeUnits: Int(try R.deviceValue(device, CL_DEVICE_MAX_COMPUTE_UNITS, as: cl_uint.self)),
      globalMemoryBytes: try R.deviceValue(device, CL_DEVICE_GLOBAL_MEM_SIZE, as: cl_ulong.self),
      maxAllocationBytes: try R.deviceValue(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, as: cl_ulong.self),
      localMemoryBytes: try R.deviceValue(device, CL_DEVICE_LOCAL_MEM_SIZE, as: cl_ulong.self),
      maxWorkGroupSize: Int(try R.deviceValue(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, as: Int.self)),
      version: try R.deviceString(device, CL_DEVICE_VERSION),
      openCLCVersion: try R.deviceString(device, CL_DEVICE_OPENCL_C_VERSION),
      driverVersion: try R.deviceString(device, CL_DRIVER_VERSION),
      available: try R.deviceValue(device, CL_DEVICE_AVAILABLE, as: cl_bool.self) != 0)
  }
}
