import COpenCL
import Foundation

/// Process-wide OpenCL plumbing: the PoCL cache folder, platform and device enumeration, and
/// the conversion of OpenCL statuses into `BertScopeError`.
enum OpenCLRuntime {
  /// Points PoCL's kernel cache at a writable folder before the first OpenCL call, unless the
  /// user set `POCL_CACHE_DIR`: a cold PoCL build takes ~1 s per program, a cached one ms.
  static let environmentPrepared: Void = {
    let env = ProcessInfo.processInfo.environment
    guard env["POCL_CACHE_DIR"] == nil else { return }
    let base: String
    if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty {
      base = xdg
    } else if let home = env["HOME"], !home.isEmpty {
      base = home + "/.cache"
    } else {
      base = NSTemporaryDirectory()
    }
    let dir = base + "/bertscope/pocl"
    if (try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)) != nil {
      setenv("POCL_CACHE_DIR", dir, 0)
    }
  }()

  /// Throws `BertScopeError.openCL` naming `call` unless `status` is `CL_SUCCESS`.
  static func check(_ status: cl_int, _ call: String, _ detail: @autoclosure () -> String = "") throws {
    guard status != CL_SUCCESS else { return }
    throw BertScopeError.openCL(call: call, status: status, detail: detail())
  }

  /// Every platform's id; none (not an error) when the ICD loader finds no platform.
  static func platformIDs() throws -> [cl_platform_id?] {
    _ = environmentPrepared
    var count: cl_uint = 0
    let status = clGetPlatformIDs(0, nil, &count)
    if status == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || count == 0 { return [] }
    try check(status, "clGetPlatformIDs")
    var ids = [cl_platform_id?](repeating: nil, count: Int(count))
    try check(clGetPlatformIDs(count, &ids, nil), "clGetPlatformIDs")
    return ids
  }

  /// A platform's devices of every type; none when it has none.
  static func deviceIDs(_ platform: cl_platform_id?) throws -> [cl_device_id?] {
    var count: cl_uint = 0
    let status = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &count)
    if status == CL_DEVICE_NOT_FOUND || count == 0 { return [] }
    try check(status, "clGetDeviceIDs")
    var ids = [cl_device_id?](repeating: nil, count: Int(count))
    try check(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), count, &ids, nil), "clGetDeviceIDs")
    return ids
  }

  /// Every device of every platform, in the order `OpenCLDevices.all()` numbers them.
  static func enumerate() throws -> [(platformIndex: Int, platform: cl_platform_id?, device: cl_device_id?)] {
    var result: [(Int, cl_platform_id?, cl_device_id?)] = []
    for (p, platform) in try platformIDs().enumerated() {
      for device in try deviceIDs(platform) { result.append((p, platform, device)) }
    }
    return result
  }

  static func platformString(_ platform: cl_platform_id?, _ param: Int32) throws -> String {
    try infoString("clGetPlatformInfo") { clGetPlatformInfo(platform, cl_platform_info(param), $0, $1, $2) }
  }

  static func deviceString(_ device: cl_device_id?, _ param: Int32) throws -> String {
    try infoString("clGetDeviceInfo") { clGetDeviceInfo(device, cl_device_info(param), $0, $1, $2) }
  }

  /// A string property through `get(size, buffer, sizeOut)`: its size first, then its bytes.
  private static func infoString(
    _ call: String, _ get: (Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> cl_int
  ) throws -> String {
    var size = 0
    try check(get(0, nil, &size), call)
    var bytes = [CChar](repeating: 0, count: size + 1)
    try check(bytes.withUnsafeMutableBytes { get(size, $0.baseAddress, nil) }, call)
    return trimmed(bytes)
  }

  /// A fixed-size device property (`cl_uint`, `cl_ulong`, `size_t`, `cl_bool`, bit fields).
  static func deviceValue<T: FixedWidthInteger>(_ device: cl_device_id?, _ param: Int32, as: T.Type) throws -> T {
    var value: T = 0
    try check(
      clGetDeviceInfo(device, cl_device_info(param), MemoryLayout<T>.size, &value, nil), "clGetDeviceInfo")
    return value
  }

  private static func trimmed(_ bytes: [CChar]) -> String {
    let end = bytes.firstIndex(of: 0) ?? bytes.count
    let text = String(decoding: bytes[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return text.trimmingCharacters(in: .whitespacesAndNewlines)
  }
}
