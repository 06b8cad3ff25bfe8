import Foundation

/// NumPy `.npy` files: magic `\x93NUMPY`, a version, a little-endian header length, an ASCII
/// Python-dict header padded with spaces to a multiple of 64 and ending in `\n`, then the
/// C-order data.
///
/// Writes format version 1.0 (UInt16 header length); reads 1.0 and also 2.0 and 3.0
/// (UInt32 header length).
public enum NPY {
  /// The element types BertScope reads and writes, by their little-endian NumPy `descr`.
  public enum DType: String, Sendable {
    case float32 = "<f4", int32 = "<i4", float64 = "<f8", int64 = "<i8", float16 = "<f2"
    /// Bytes per element.
    public var size: Int {
      switch self {
      case .float16: return 2
      case .float32, .int32: return 4
      case .float64, .int64: return 8
      }
    }
  }

  /// A decoded array, converted to Float (the dtype it was stored as is kept).
  public struct Array: Sendable, Equatable {
    /// Dimensions, outermost first (C order).
    public var shape: [Int]
    /// The elements in C order, converted to Float (64-bit values lose precision beyond 24 bits).
    public var values: [Float]
    /// The element type the file stored.
    public var dtype: DType
    /// Number of elements: the product of ``shape``.
    public var count: Int { values.count }
  }

  static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

  /// The header bytes (magic … `\n`) for `shape`; padded to `minimumLength` when given so a
  /// streaming writer can patch the row count in place.
  public static func header(shape: [Int], dtype: DType = .float32, minimumLength: Int = 0) -> Data {
    let dims = shape.map(String.init)
    let shapeText = dims.count == 1 ? "(\(dims[0]),)" : "(\(dims.joined(separator: ", ")))"
    var dict = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
    let prefix = 10
    var total = prefix + dict.utf8.count + 1
    let target = max(minimumLength, total)
    total = (target + 63) / 64 * 64
    dict += String(repeating: " ", count: total - prefix - dict.utf8.count - 1) + "\n"
    var data = Data(magic)
    data.append(contentsOf: [1, 0])
    let length = UInt16(dict.utf8.count)
    data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
    data.append(contentsOf: Swift.Array(dict.utf8))
    return data
  }

  /// Encodes float32 `values` with `shape` (product must equal the count).
  public static func encode(_ values: [Float], shape: [Int]) -> Data {
    precondition(shape.reduce(1, *) == values.count, "NPY shape \(shape) does not match \(values.count) values")
    var data = header(shape: shape)
    values.withUnsafeBufferPointer {
      data.append(
        UnsafeBufferPointer(
          start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: UInt8.self), count: $0.count * 4))
    }
    return data
  }

  /// Encodes int32 `values` with `shape`.
  public static func encode(_ values: [Int32], shape: [Int]) -> Data {
    precondition(shape.reduce(1, *) == values.count, "NPY shape \(shape) does not match \(values.count) values")
    var data = header(shape: shape, dtype: .int32)
    values.withUnsafeBufferPointer {
      data.append(
        UnsafeBufferPointer(
          start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: UInt8.self), count: $0.count * 4))
    }
    return data
  }

  /// Writes float32 `values` to `url` atomically. Throws if the shape and count disagree.
  public static func write(_ values: [Float], shape: [Int], to url: URL) throws {
    guard shape.reduce(1, *) == values.count else {
      throw BertScopeError.invalidInput("NPY shape \(shape) does not match \(values.count) values for \(url.path)")
    }
    try AtomicFile.write(encode(values, shape: shape), to: url)
  }

  /// The header of an NPY file: what its data is and where it starts.
  public struct Header: Sendable, Equatable {
    public var shape: [Int]
    public var dtype: DType
    /// Byte offset of the first element.
    public var dataStart: Int
    /// Elements: the product of `shape`.
    public var count: Int
  }

  /// Parses the header at the start of `bytes` (the file, or at least its first bytes).
  public static func parseHeader(_ bytes: [UInt8], path: String) throws -> Header {
    func bad(_ problem: String) -> BertScopeError { .invalidInput("\(path): not a readable .npy file: \(problem)") }
    guard bytes.count >= 10, Swift.Array(bytes[0..<6]) == magic else { throw bad("missing magic") }
    let major = bytes[6]
    var headerStart = 10
    var headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
    if major == 2 || major == 3 {
      guard bytes.count >= 12 else { throw bad("truncated header") }
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
      headerStart = 12
    } else if major != 1 {
      throw bad("unsupported version \(major)")
    }
    guard headerLength >= 0, headerStart + headerLength <= bytes.count else { throw bad("header runs past the end") }
    guard let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: .ascii) else {
      throw bad("header is not ASCII")
    }
    func field(_ key: String) -> Substring? {
      guard let r = header.range(of: "'\(key)':") else { return nil }
      return header[r.upperBound...].drop(while: { $0 == " " })
    }
    guard let descrField = field("descr"), descrField.first == "'",
      let end = descrField.dropFirst().firstIndex(of: "'")
    else { throw bad("no descr") }
    let descr = String(descrField[descrField.index(after: descrField.startIndex)..<end])
    let normalized = descr.replacingOccurrences(of: "|", with: "<").replacingOccurrences(of: "=", with: "<")
    guard let dtype = DType(rawValue: normalized) else { throw bad("dtype \(printable(descr)) is not supported") }
    if let fortran = field("fortran_order"), fortran.hasPrefix("True") { throw bad("Fortran order is not supported") }
    guard let shapeField = field("shape"), shapeField.first == "(", let close = shapeField.firstIndex(of: ")") else {
      throw bad("no shape")
    }
    let inner = shapeField[shapeField.index(after: shapeField.startIndex)..<close]
    var shape: [Int] = []
    var count = 1
    for part in inner.split(separator: ",") {
      // numpy reads the header with ast.literal_eval, which allows newlines inside the tuple.
      let trimmed = part.trimmingCharacters(in: .whitespacesAndNewlines)
      if trimmed.isEmpty { continue }
      guard let dim = Int(trimmed), dim >= 0 else { throw bad("bad shape \(printable(inner))") }
      let (product, overflow) = count.multipliedReportingOverflow(by: dim)
      guard !overflow, product <= 1 << 34 else { throw bad("shape \(printable(inner)) too large") }
      count = product
      shape.append(dim)
    }
    return Header(shape: shape, dtype: dtype, dataStart: headerStart + headerLength, count: count)
  }

  /// The header of the NPY file at `url`, reading only its start.
  public static func header(of url: URL) throws -> Header {
    guard let handle = FileHandle(forReadingAtPath: url.path) else {
      throw BertScopeError.io(path: url.path, problem: "cannot open for reading")
    }
    defer { try? handle.close() }
    let start = (try? handle.read(upToCount: 1 << 16)) ?? Data()
    return try parseHeader([UInt8](start), path: url.path)
  }

  /// Parses an NPY image. Accepts `<f2`, `<f4`, `<f8`, `<i4`, `<i8` in C order.
  public static func decode(_ data: Data, path: String = "array.npy") throws -> Array {
    func bad(_ problem: String) -> BertScopeError { .invalidInput("\(path): not a readable .npy file: \(problem)") }
    let bytes = [UInt8](data)
    let h = try parseHeader(bytes, path: path)
    let (shape, dtype, count, dataStart) = (h.shape, h.dtype, h.count, h.dataStart)
    guard bytes.count - dataStart == count * dtype.size else {
      throw bad("expected \(count * dtype.size) data bytes for shape \(shape), found \(bytes.count - dataStart)")
    }
    var values = [Float](repeating: 0, count: count)
    bytes.withUnsafeBytes { raw in
      let base = raw.baseAddress! + dataStart
      for i in 0..<count {
        switch dtype {
        case .float32:
          values[i] = Float(
            bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        case .int32: values[i] = Float(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
        case .float64:
          values[i] = Float(
            Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
        case .int64: values[i] = Float(Int64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
        case .float16:
          values[i] = Float(
            Float16(bitPattern: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
        }
      }
    }
    return Array(shape: shape, values: values, dtype: dtype)
  }

  /// The largest `.npy` file `read` loads (an attention map of 512 tokens × 144 heads is 150 MB).
  public static let maxFileBytes = 4 << 30

  /// Reads an `.npy` file.
  public static func read(_ url: URL) throws -> Array {
    try decode(try FileBytes.read(url, limit: maxFileBytes), path: url.path)
  }

  /// Streams rows of a float32 `[n, columns]` array whose `n` is not known up front (e.g. a
  /// corpus read from stdin). The header reserves room and is patched by `finish()`.
  public final class RowWriter {
    /// Elements per row: the second dimension of the array.
    public let columns: Int
    /// Rows appended so far: the first dimension written by ``finish()``.
    public private(set) var rows = 0
    private let file: AtomicFile.Writer
    private let headerLength: Int

    /// Opens a temporary file for `url` and writes a placeholder header with room for any row count.
    /// - Parameter columns: elements per row.
    public init(url: URL, columns: Int) throws {
      self.columns = columns
      file = try AtomicFile.Writer(url: url)
      let header = NPY.header(shape: [Int(Int32.max), columns], minimumLength: 128)
      headerLength = header.count
      try file.write(header)
    }

    /// Appends `values.count / columns` rows.
    public func append(_ values: ArraySlice<Float>) throws {
      precondition(values.count % columns == 0)
      try values.withUnsafeBytes { try file.write(raw: $0) }
      rows += values.count / columns
    }

    /// Patches the header with the final row count and renames the file into place.
    public func finish() throws {
      let header = NPY.header(shape: [rows, columns], minimumLength: headerLength)
      precondition(header.count == headerLength)
      try file.write(header, at: 0)
      try file.commit()
    }

    /// Drops the partial file.
    public func abandon() { file.abandon() }
  }
}
