import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A memory-mapped `.safetensors` file with a validated header.
///
/// Layout: 8-byte little-endian header length `n`, `n` bytes of JSON
/// (`{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}`),
/// then the raw tensor data; offsets are relative to the end of the header.
/// Every entry is checked before any byte of it is read: offsets inside the file, byte
/// count equal to `shape.product * dtype.size` (overflow-checked), no two tensors overlapping.
public final class SafeTensorsFile: @unchecked Sendable {
  // Immutable after init; the mapping is read-only and freed in deinit.

  /// A tensor element type, spelled as in the header's `"dtype"` field.
  public enum DType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"
    case u16 = "U16", u32 = "U32", u64 = "U64", f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"

    /// Bytes per element.
    public var size: Int {
      switch self {
      case .f64, .i64, .u64: return 8
      case .f32, .i32, .u32: return 4
      case .f16, .bf16, .i16, .u16: return 2
      case .i8, .u8, .bool, .f8e4m3, .f8e5m2: return 1
      }
    }
    /// Float types BertScope converts to F32.
    public var isConvertibleFloat: Bool { self == .f32 || self == .f16 || self == .bf16 || self == .f64 }
  }

  /// One tensor of the header, validated.
  public struct Entry: Sendable, Equatable {
    /// The tensor's name as the header spells it (e.g. `bert.encoder.layer.0.attention.self.query.weight`).
    public let name: String
    /// The element type of the stored bytes.
    public let dtype: DType
    /// Dimensions, outermost first (row-major); `[]` is a scalar.
    public let shape: [Int]
    /// Absolute byte range in the file.
    public let byteRange: Range<Int>
    /// Number of elements: the product of ``shape`` (1 for a scalar).
    public var count: Int { shape.reduce(1, *) }
  }

  /// The file's path, for error messages.
  public let path: String
  /// The tensors, keyed by name.
  public let entries: [String: Entry]
  /// The header's `__metadata__` object, values converted to strings; empty when absent.
  public let metadata: [String: String]
  private let base: UnsafeRawPointer?
  private let mappedLength: Int

  /// The largest header accepted (the format's own reference implementation uses 100 MB).
  public static let maxHeaderBytes = 100_000_000

  /// Maps `url` read-only and validates its header.
  ///
  /// Refuses, with a ``BertScopeError`` naming the file, a missing file, a broken link or link
  /// loop, anything but a regular file, and any header problem described on the type.
  public convenience init(contentsOf url: URL) throws {
    let path = url.path
    // O_NONBLOCK: opening a named pipe must not wait for a writer (fstat then refuses it).
    let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else {
      if errno == ELOOP {
        throw BertScopeError.badModelFile(path: path, problem: "is a symbolic link loop")
      }
      if errno == ENOENT {
        if ModelFile.exists(url) {
          throw BertScopeError.badModelFile(path: path, problem: "is a symbolic link to a file that does not exist")
        }
        throw BertScopeError.modelNotFound(path: path, hint: "the model folder must hold model.safetensors")
      }
      throw BertScopeError.io(path: path, problem: String(cString: strerror(errno)))
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      throw BertScopeError.io(path: path, problem: String(cString: strerror(errno)))
    }
    switch info.st_mode & S_IFMT {
    case S_IFREG: break
    case S_IFDIR: throw BertScopeError.badModelFile(path: path, problem: "is a folder, expected a file")
    default: throw BertScopeError.badModelFile(path: path, problem: "is not a regular file (a device, pipe or socket)")
    }
    let length = Int(info.st_size)
    guard length >= 8 else {
      throw BertScopeError.badModelFile(
        path: path, problem: "file is \(length) bytes, too short for a safetensors header (truncated?)")
    }
    guard let mapped = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
      throw BertScopeError.io(path: path, problem: "mmap failed: \(String(cString: strerror(errno)))")
    }
    do {
      try self.init(bytes: UnsafeRawBufferPointer(start: mapped, count: length), path: path, mapped: true)
    } catch {
      munmap(mapped, length)
      throw error
    }
  }

  /// Parses a safetensors image held in memory, for tests and fuzzers.
  ///
  /// The bytes are copied, so the object stays valid after the caller frees its buffer.
  /// - Parameter path: used only in error messages.
  public convenience init(bytes: UnsafeRawBufferPointer, path: String) throws {
    try self.init(bytes: bytes, path: path, mapped: false)
  }

  private init(bytes: UnsafeRawBufferPointer, path: String, mapped: Bool) throws {
    self.path = path
    let length = bytes.count
    guard length >= 8, let start = bytes.baseAddress else {
      throw BertScopeError.badModelFile(
        path: path, problem: "file is \(length) bytes, too short for a safetensors header")
    }
    let headerLength = UInt64(littleEndian: start.loadUnaligned(as: UInt64.self))
    guard headerLength <= UInt64(Self.maxHeaderBytes) else {
      throw BertScopeError.badModelFile(
        path: path,
        problem: "header length \(headerLength) exceeds the \(Self.maxHeaderBytes)-byte limit (not a safetensors file?)"
      )
    }
    guard headerLength <= UInt64(length - 8) else {
      throw BertScopeError.badModelFile(
        path: path, problem: "header length \(headerLength) is larger than the file (\(length) bytes; truncated?)")
    }
    let dataStart = 8 + Int(headerLength)
    let dataLength = length - dataStart
    let headerData = Data(bytes: start + 8, count: Int(headerLength))
    let json: Any
    do {
      json = try JSONSerialization.jsonObject(with: headerData)
    } catch {
      throw BertScopeError.badModelFile(path: path, problem: "header is not valid JSON")
    }
    guard let table = json as? [String: Any] else {
      throw BertScopeError.badModelFile(path: path, problem: "header must be a JSON object")
    }
    var entries: [String: Entry] = [:]
    var metadata: [String: String] = [:]
    for (name, value) in table {
      let shown = printable(name)
      if name == "__metadata__" {
        guard let dict = value as? [String: Any] else {
          throw BertScopeError.badModelFile(path: path, problem: "__metadata__ must be an object")
        }
        for (key, item) in dict { metadata[key] = "\(item)" }
        continue
      }
      guard let info = value as? [String: Any] else {
        throw BertScopeError.badModelFile(path: path, problem: "tensor \(shown): entry must be an object")
      }
      guard let dtypeName = info["dtype"] as? String else {
        throw BertScopeError.badModelFile(path: path, problem: "tensor \(shown): missing dtype")
      }
      guard let dtype = DType(rawValue: dtypeName) else {
        throw BertScopeError.badModelFile(
          path: path, problem: "tensor \(shown): unknown dtype \"\(printable(dtypeName))\"")
      }
      guard let shapeList = info["shape"] as? [Any] else {
        throw BertScopeError.badModelFile(path: path, problem: "tensor \(shown): missing shape")
      }
      var shape: [Int] = []
      var elements = 1
      for dim in shapeList {
        guard let value = JSONValue.integer(dim), value >= 0 else {
          throw BertScopeError.badModelFile(
            path: path, problem: "tensor \(shown): shape \(printable("\(shapeList)")) is not a list of sizes")
        }
        let (product, overflow) = elements.multipliedReportingOverflow(by: value)
        guard !overflow, product <= Int(Int32.max) * 16 else {
          throw BertScopeError.badModelFile(
            path: path, problem: "tensor \(shown): shape \(printable("\(shapeList)")) is too large")
        }
        elements = product
        shape.append(value)
      }
      guard let offsets = info["data_offsets"] as? [Any], offsets.count == 2,
        let begin = JSONValue.integer(offsets[0]), let end = JSONValue.integer(offsets[1])
      else {
        throw BertScopeError.badModelFile(path: path, problem: "tensor \(shown): data_offsets must be two integers")
      }
      guard begin >= 0, begin <= end else {
        throw BertScopeError.badModelFile(
          path: path, problem: "tensor \(shown): data_offsets [\(begin), \(end)] are not a range")
      }
      guard end <= dataLength else {
        throw BertScopeError.badModelFile(
          path: path,
          problem:
            "tensor \(shown): data_offsets [\(begin), \(end)] run past the end of the data (\(dataLength) bytes; truncated file?)"
        )
      }
      let expected = elements * dtype.size
      guard end - begin == expected else {
        throw BertScopeError.badModelFile(
          path: path,
          problem: "tensor \(shown): \(end - begin) bytes for shape \(shape) of \(dtypeName), expected \(expected)")
      }
      entries[name] = Entry(name: name, dtype: dtype, shape: shape, byteRange: (dataStart + begin)..<(dataStart + end))
    }
    let sorted = entries.values.filter { !$0.byteRange.isEmpty }.sorted {
      $0.byteRange.lowerBound < $1.byteRange.lowerBound
    }
    for (a, b) in zip(sorted, sorted.dropFirst()) where b.byteRange.lowerBound < a.byteRange.upperBound {
      throw BertScopeError.badModelFile(
        path: path, problem: "tensors \(printable(a.name)) and \(printable(b.name)) overlap")
    }
    self.entries = entries
    self.metadata = metadata
    if mapped {
      self.base = UnsafeRawPointer(start)
      self.mappedLength = length
    } else {
      // Not owned: copy so the object stays valid after the caller frees its buffer.
      let copy = UnsafeMutableRawPointer.allocate(byteCount: length, alignment: 16)
      copy.copyMemory(from: start, byteCount: length)
      self.base = UnsafeRawPointer(copy)
      self.mappedLength = -length
    }
  }

  deinit {
    guard let base else { return }
    if mappedLength > 0 {
      munmap(UnsafeMutableRawPointer(mutating: base), mappedLength)
    } else {
      UnsafeMutableRawPointer(mutating: base).deallocate()
    }
  }

  /// The tensor `name` converted to F32, row-major.
  public func floats(_ name: String) throws -> [Float] {
    guard let entry = entries[name] else {
      throw BertScopeError.badModelFile(path: path, problem: "tensor \(printable(name)) is missing")
    }
    return try floats(entry)
  }

  /// The data of `entry` converted to F32, row-major.
  public func floats(_ entry: Entry) throws -> [Float] {
    guard entry.dtype.isConvertibleFloat else {
      throw BertScopeError.badModelFile(
        path: path, problem: "tensor \(printable(entry.name)) has dtype \(entry.dtype.rawValue), expected a float type")
    }
    guard let base else { return [] }
    let count = entry.count
    let source = base + entry.byteRange.lowerBound
    return [Float](unsafeUninitializedCapacity: count) { out, initialized in
      switch entry.dtype {
      case .f32:
        for i in 0..<count {
          out[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        }
      case .f64:
        for i in 0..<count {
          out[i] = Float(
            Double(bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
        }
      case .f16:
        for i in 0..<count {
          out[i] = halfToFloat(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        }
      case .bf16:
        for i in 0..<count {
          let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
          out[i] = Float(bitPattern: UInt32(bits) << 16)
        }
      default:
        break
      }
      initialized = count
    }
  }
}

/// IEEE 754 binary16 to binary32, exact (subnormals, infinities and NaN included).
@inline(__always)
func halfToFloat(_ h: UInt16) -> Float {
  let sign = UInt32(h & 0x8000) << 16
  let exponent = UInt32(h >> 10) & 0x1F
  let mantissa = UInt32(h & 0x3FF)
  if exponent == 0 {
    // Zero or subnormal: mantissa * 2^-24.
    let magnitude = Float(mantissa) * 0x1p-24
    return sign != 0 ? -magnitude : magnitude
  }
  if exponent == 0x1F {
    return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
  }
  return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
}
