import BertScope
import CZlib
import Foundation

/// An 8-bit image in memory, rows top to bottom, pixels interleaved (RGB or RGBA).
public struct Bitmap: Equatable, Sendable {
  /// Width in pixels.
  public let width: Int
  /// Height in pixels.
  public let height: Int
  /// 3 (RGB) or 4 (RGBA, straight alpha).
  public let channels: Int
  /// (height, width, channels) bytes.
  public var bytes: [UInt8]

  /// A bitmap filled with `background` (opaque when `channels` is 4).
  public init(width: Int, height: Int, channels: Int = 3, background: RGB = .white) {
    precondition(width >= 0 && height >= 0 && (channels == 3 || channels == 4))
    self.width = width
    self.height = height
    self.channels = channels
    let pixel =
      channels == 3 ? [background.r, background.g, background.b] : [background.r, background.g, background.b, 255]
    var bytes = [UInt8](repeating: 0, count: width * height * channels)
    for i in stride(from: 0, to: bytes.count, by: channels) {
      for c in 0..<channels { bytes[i + c] = pixel[c] }
    }
    self.bytes = bytes
  }

  /// Wraps existing bytes; throws when their count is not width × height × channels.
  public init(width: Int, height: Int, channels: Int, bytes: [UInt8]) throws {
    guard width >= 0, height >= 0, channels == 3 || channels == 4, bytes.count == width * height * channels else {
      throw BertScopeError.invalidInput(
        "bitmap: \(bytes.count) bytes do not make a \(width)×\(height) image with \(channels) channels")
    }
    self.width = width
    self.height = height
    self.channels = channels
    self.bytes = bytes
  }

  /// The colour at (x, y), ignoring alpha.
  public subscript(x: Int, y: Int) -> RGB {
    let i = (y * width + x) * channels
    return RGB(bytes[i], bytes[i + 1], bytes[i + 2])
  }

  /// Alpha at (x, y): 255 for RGB bitmaps.
  public func alpha(x: Int, y: Int) -> UInt8 { channels == 4 ? bytes[(y * width + x) * channels + 3] : 255 }
}

/// PNG encoding (ISO/IEC 15948), limited to what the figures need: 8-bit RGB and RGBA, no
/// interlacing. (The tests carry a decoder to read back the pixels written.)
public enum PNG {
  /// The 8 bytes every PNG file starts with.
  public static let signature: [UInt8] = [137, 80, 78, 71, 13, 10, 26, 10]

  /// Encodes `bitmap` as a PNG file: IHDR, one IDAT (zlib `compress2`), IEND. Each row gets
  /// filter 0 (None) or 1 (Sub), whichever has the smaller sum of absolute values of its bytes
  /// read as signed: the PNG specification's minimum-sum heuristic, over two of its five filters.
  /// - Parameters:
  ///   - compressionLevel: zlib level, 0 (none) to 9 (smallest).
  ///   - dotsPerInch: when given, recorded in a pHYs chunk (what image viewers and LaTeX read
  ///     as the print size).
  /// - Throws: ``BertScopeError/invalidInput(_:)`` for an empty bitmap or a zlib failure.
  public static func encode(_ bitmap: Bitmap, compressionLevel: Int32 = 6, dotsPerInch: Double? = nil) throws -> [UInt8]
  {
    let (w, h, n) = (bitmap.width, bitmap.height, bitmap.channels)
    guard w > 0, h > 0, w < 1 << 31, h < 1 << 31 else {
      throw BertScopeError.invalidInput("PNG: cannot encode a \(w)×\(h) image")
    }
    let stride = w * n
    var raw = [UInt8](repeating: 0, count: h * (stride + 1))
    bitmap.bytes.withUnsafeBufferPointer { src in
      raw.withUnsafeMutableBufferPointer { dst in
        var sub = [UInt8](repeating: 0, count: stride)
        for y in 0..<h {
          let row = src.baseAddress! + y * stride
          var costNone = 0
          var costSub = 0
          for i in 0..<stride {
            let left: UInt8 = i >= n ? row[i - n] : 0
            let s = row[i] &- left
            sub[i] = s
            costNone += Int(Int8(bitPattern: row[i]).magnitude)
            costSub += Int(Int8(bitPattern: s).magnitude)
          }
          let out = dst.baseAddress! + y * (stride + 1)
          if costSub < costNone {
            out[0] = 1
            for i in 0..<stride { out[i + 1] = sub[i] }
          } else {
            out[0] = 0
            (out + 1).update(from: row, count: stride)
          }
        }
      }
    }
    var compressedCount = compressBound(uLong(raw.count))
    var compressed = [UInt8](repeating: 0, count: Int(compressedCount))
    let status = compress2(&compressed, &compressedCount, raw, uLong(raw.count), compressionLevel)
    guard status == Z_OK else { throw BertScopeError.invalidInput("PNG: zlib compress2 failed with status \(status)") }
    compressed.removeSubrange(Int(compressedCount)...)

    var file = signature
    var header = [UInt8]()
    header.appendBigEndian(UInt32(w))
    header.appendBigEndian(UInt32(h))
    // Bit depth 8; colour type 2 (RGB) or 6 (RGBA); deflate; adaptive filtering; no interlace.
    header += [8, n == 4 ? 6 : 2, 0, 0, 0]
    appendChunk("IHDR", header, to: &file)
    if let dpi = dotsPerInch, dpi.isFinite, dpi > 0, dpi < 1e6 {
      // Pixels per metre on both axes; unit 1 (metre).
      let ppm = UInt32((dpi / 0.0254).rounded())
      var phys = [UInt8]()
      phys.appendBigEndian(ppm)
      phys.appendBigEndian(ppm)
      phys.append(1)
      appendChunk("pHYs", phys, to: &file)
    }
    appendChunk("IDAT", compressed, to: &file)
    appendChunk("IEND", [], to: &file)
    return file
  }

  /// Encodes `bitmap` and writes it to `url` atomically.
  public static func write(_ bitmap: Bitmap, to url: URL) throws {
    try AtomicFile.write(Data(try encode(bitmap)), to: url)
  }

  /// CRC-32 (ISO 3309, as PNG and zlib define it) of `bytes`.
  public static func crc(_ bytes: [UInt8]) -> UInt32 {
    UInt32(crc32(0, bytes, uInt(bytes.count)))
  }

  static func appendChunk(_ type: String, _ data: [UInt8], to file: inout [UInt8]) {
    let typeBytes = Array(type.utf8)
    file.appendBigEndian(UInt32(data.count))
    file += typeBytes
    file += data
    file.appendBigEndian(crc(typeBytes + data))
  }
}

extension [UInt8] {
  mutating func appendBigEndian(_ v: UInt32) {
    append(UInt8(v >> 24))
    append(UInt8((v >> 16) & 0xff))
    append(UInt8((v >> 8) & 0xff))
    append(UInt8(v & 0xff))
  }

  func readBigEndian(_ at: Int) -> UInt32 {
    UInt32(self[at]) << 24 | UInt32(self[at + 1]) << 16 | UInt32(self[at + 2]) << 8 | UInt32(self[at + 3])
  }
}
