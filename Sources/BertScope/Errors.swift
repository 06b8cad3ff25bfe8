import Foundation

/// Every failure BertScope reports. Messages name the file, tensor, shape, line or OpenCL
/// call involved, so that the CLI can print `error: \(description)` and exit non-zero.
public enum BertScopeError: Error, CustomStringConvertible, Sendable, Equatable {
  /// The model folder (or a file the model needs) does not exist.
  case modelNotFound(path: String, hint: String)
  /// A model file exists but is malformed: corrupt header, offsets out of range, bad JSON…
  case badModelFile(path: String, problem: String)
  /// A tensor's shape disagrees with `config.json`.
  case shapeMismatch(path: String, tensor: String, expected: [Int], found: [Int])
  /// User input that cannot be processed (empty text, invalid UTF-8, malformed line…).
  case invalidInput(String)
  /// A sequence longer than the model's maximum and truncation is off.
  case sequenceTooLong(length: Int, maximum: Int)
  /// The requested backend or device does not exist here.
  case backendUnavailable(String)
  /// An OpenCL call returned an error status.
  case openCL(call: String, status: Int32, detail: String)
  /// An OpenCL program failed to compile; `log` is the device's build log.
  case kernelBuildFailed(file: String, device: String, log: String)
  /// A device buffer could not be allocated.
  case outOfDeviceMemory(bytes: Int, detail: String)
  /// Reading or writing a file failed.
  case io(path: String, problem: String)
  /// A run stopped on a signal (`signal`: its name) after saving what it had done; the
  /// message says where and how to go on.
  case interrupted(signal: Int32, message: String)

  /// The one-line message (several lines for a kernel build log) the CLI prints after `error: `.
  public var description: String {
    switch self {
    case .modelNotFound(let path, let hint):
      return "model not found: \(path) (\(hint))"
    case .badModelFile(let path, let problem):
      return "\(path): \(problem)"
    case .shapeMismatch(let path, let tensor, let expected, let found):
      return "\(path): tensor \(tensor) has shape \(found), config.json implies \(expected)"
    case .invalidInput(let message):
      return message
    case .sequenceTooLong(let length, let maximum):
      return "input is \(length) tokens, the model takes at most \(maximum) (truncation is off)"
    case .backendUnavailable(let message):
      return message
    case .openCL(let call, let status, let detail):
      let name = openCLStatusName(status)
      return detail.isEmpty ? "\(call) failed: \(name) (\(status))" : "\(call) failed: \(name) (\(status)): \(detail)"
    case .kernelBuildFailed(let file, let device, let log):
      return "OpenCL build of \(file) failed on \(device):\n\(log)"
    case .outOfDeviceMemory(let bytes, let detail):
      let mib = Double(bytes) / 1_048_576
      return String(format: "device out of memory allocating %.1f MiB: ", mib) + detail
    case .io(let path, let problem):
      return "\(path): \(problem)"
    case .interrupted(_, let message):
      return message
    }
  }
}

/// The symbolic name of an OpenCL status code (OpenCL 1.2 `cl.h`), or "OpenCL status" for a code it does not know.
public func openCLStatusName(_ status: Int32) -> String {
  switch status {
  case 0: return "CL_SUCCESS"
  case -1: return "CL_DEVICE_NOT_FOUND"
  case -2: return "CL_DEVICE_NOT_AVAILABLE"
  case -3: return "CL_COMPILER_NOT_AVAILABLE"
  case -4: return "CL_MEM_OBJECT_ALLOCATION_FAILURE"
  case -5: return "CL_OUT_OF_RESOURCES"
  case -6: return "CL_OUT_OF_HOST_MEMORY"
  case -7: return "CL_PROFILING_INFO_NOT_AVAILABLE"
  case -8: return "CL_MEM_COPY_OVERLAP"
  case -9: return "CL_IMAGE_FORMAT_MISMATCH"
  case -10: return "CL_IMAGE_FORMAT_NOT_SUPPORTED"
  case -11: return "CL_BUILD_PROGRAM_FAILURE"
  case -12: return "CL_MAP_FAILURE"
  case -13: return "CL_MISALIGNED_SUB_BUFFER_OFFSET"
  case -14: return "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST"
  case -15: return "CL_COMPILE_PROGRAM_FAILURE"
  case -16: return "CL_LINKER_NOT_AVAILABLE"
  case -17: return "CL_LINK_PROGRAM_FAILURE"
  case -18: return "CL_DEVICE_PARTITION_FAILED"
  case -19: return "CL_KERNEL_ARG_INFO_NOT_AVAILABLE"
  case -30: return "CL_INVALID_VALUE"
  case -31: return "CL_INVALID_DEVICE_TYPE"
  case -32: return "CL_INVALID_PLATFORM"
  case -33: return "CL_INVALID_DEVICE"
  case -34: return "CL_INVALID_CONTEXT"
  case -35: return "CL_INVALID_QUEUE_PROPERTIES"
  case -36: return "CL_INVALID_COMMAND_QUEUE"
  case -37: return "CL_INVALID_HOST_PTR"
  case -38: return "CL_INVALID_MEM_OBJECT"
  case -39: return "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR"
  case -40: return "CL_INVALID_IMAGE_SIZE"
  case -41: return "CL_INVALID_SAMPLER"
  case -42: return "CL_INVALID_BINARY"
  case -43: return "CL_INVALID_BUILD_OPTIONS"
  case -44: return "CL_INVALID_PROGRAM"
  case -45: return "CL_INVALID_PROGRAM_EXECUTABLE"
  case -46: return "CL_INVALID_KERNEL_NAME"
  case -47: return "CL_INVALID_KERNEL_DEFINITION"
  case -48: return "CL_INVALID_KERNEL"
  case -49: return "CL_INVALID_ARG_INDEX"
  case -50: return "CL_INVALID_ARG_VALUE"
  case -51: return "CL_INVALID_ARG_SIZE"
  case -52: return "CL_INVALID_KERNEL_ARGS"
  case -53: return "CL_INVALID_WORK_DIMENSION"
  case -54: return "CL_INVALID_WORK_GROUP_SIZE"
  case -55: return "CL_INVALID_WORK_ITEM_SIZE"
  case -56: return "CL_INVALID_GLOBAL_OFFSET"
  case -57: return "CL_INVALID_EVENT_WAIT_LIST"
  case -58: return "CL_INVALID_EVENT"
  case -59: return "CL_INVALID_OPERATION"
  case -60: return "CL_INVALID_GL_OBJECT"
  case -61: return "CL_INVALID_BUFFER_SIZE"
  case -62: return "CL_INVALID_MIP_LEVEL"
  case -63: return "CL_INVALID_GLOBAL_WORK_SIZE"
  case -64: return "CL_INVALID_PROPERTY"
  case -65: return "CL_INVALID_IMAGE_DESCRIPTOR"
  case -66: return "CL_INVALID_COMPILER_OPTIONS"
  case -67: return "CL_INVALID_LINKER_OPTIONS"
  case -68: return "CL_INVALID_DEVICE_PARTITION_COUNT"
  case -1001: return "CL_PLATFORM_NOT_FOUND_KHR"
  default: return "OpenCL status"
  }
}
