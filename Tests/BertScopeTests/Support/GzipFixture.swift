import CZlib
import Foundation

/// Large text fixtures (golden `cases.jsonl`, big `tokenizer.json`s) are committed gzipped
/// (`gzip -9n`, as the golden scripts write them) to keep the repository small.
enum GzipFixture {
  /// The bytes of `url`, or of `url` + `.gz` decompressed when only that exists.
  static func read(_ url: URL) throws -> Data {
    if FileManager.default.fileExists(atPath: url.path) { return try Data(contentsOf: url) }
    return try gunzip(Data(contentsOf: URL(fileURLWithPath: url.path + ".gz")))
  }

  /// Whether `url` or `url` + `.gz` exists.
  static func exists(_ url: URL) -> Bool {
    FileManager.default.fileExists(atPath: url.path) || FileManager.default.fileExists(atPath: url.path + ".gz")
  }

  struct Failure: Error, CustomStringConvertible {
    let description: String
  }

  /// Decompresses a gzip stream.
  static func gunzip(_ data: Data) throws -> Data {
    var stream = z_stream()
    // 16 + MAX_WBITS: expect a gzip header.
    guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw Failure(description: "inflateInit2 failed")
    }
    defer { inflateEnd(&stream) }
    var input = [UInt8](data)
    var out = Data()
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    var status: Int32 = Z_OK
    input.withUnsafeMutableBufferPointer { source in
      stream.next_in = source.baseAddress
      stream.avail_in = uInt(source.count)
      while status == Z_OK {
        buffer.withUnsafeMutableBufferPointer { chunk in
          stream.next_out = chunk.baseAddress
          stream.avail_out = uInt(chunk.count)
          status = inflate(&stream, Z_NO_FLUSH)
          out.append(chunk.baseAddress!, count: chunk.count - Int(stream.avail_out))
        }
      }
    }
    guard status == Z_STREAM_END else { throw Failure(description: "not a complete gzip stream (zlib \(status))") }
    return out
  }
}
