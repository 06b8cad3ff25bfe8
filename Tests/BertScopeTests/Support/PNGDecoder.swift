import CZlib
import Foundation

@testable import BertScope
@testable import BertScopeReport

/// Reading PNG files back, for the tests only: the chunks of a file and an 8-bit RGB/RGBA
/// decoder, so that tests can check the pixels the figures wrote.
extension PNG {
  /// One chunk as found in a file.
  struct Chunk: Sendable {
    let type: String
    let data: [UInt8]
    /// The CRC stored in the file.
    let storedCRC: UInt32
    /// The CRC computed over type and data: equal to `storedCRC` in a sound file.
    let computedCRC: UInt32
  }

  /// The chunks of a PNG file, in order, with stored and computed CRCs.
  static func chunks(of file: [UInt8]) throws -> [Chunk] {
    guard file.count >= 8, Array(file[0..<8]) == signature else {
      throw BertScopeError.invalidInput("PNG: missing signature")
    }
    var chunks: [Chunk] = []
    var at = 8
    while at < file.count {
      guard at + 12 <= file.count else { throw BertScopeError.invalidInput("PNG: truncated chunk at byte \(at)") }
      let length = Int(file.readBigEndian(at))
      guard length <= file.count - at - 12 else {
        throw BertScopeError.invalidInput("PNG: chunk at byte \(at) claims \(length) bytes past the end")
      }
      let typeBytes = Array(file[(at + 4)..<(at + 8)])
      let data = Array(file[(at + 8)..<(at + 8 + length)])
      let stored = file.readBigEndian(at + 8 + length)
      let computed = crc(typeBytes + data)
      chunks.append(
        Chunk(type: String(decoding: typeBytes, as: UTF8.self), data: data, storedCRC: stored, computedCRC: computed))
      at += 12 + length
      if chunks.last?.type == "IEND" { break }
    }
    return chunks
  }

  /// Decodes an 8-bit, non-interlaced RGB or RGBA PNG (any of the five row filters). Throws on
  /// a bad signature, a CRC mismatch, a missing chunk or an unsupported format.
  static func decode(_ file: [UInt8]) throws -> Bitmap {
    let chunks = try chunks(of: file)
    for c in chunks where c.storedCRC != c.computedCRC {
      throw BertScopeError.invalidInput("PNG: CRC mismatch in chunk \(c.type)")
    }
    guard let ihdr = chunks.first, ihdr.type == "IHDR", ihdr.data.count == 13 else {
      throw BertScopeError.invalidInput("PNG: first chunk is not a 13-byte IHDR")
    }
    guard chunks.last?.type == "IEND" else { throw BertScopeError.invalidInput("PNG: no IEND chunk") }
    let w = Int(ihdr.data.readBigEndian(0))
    let h = Int(ihdr.data.readBigEndian(4))
    let (depth, colourType, interlace) = (ihdr.data[8], ihdr.data[9], ihdr.data[12])
    guard depth == 8, colourType == 2 || colourType == 6, interlace == 0, w > 0, h > 0 else {
      throw BertScopeError.invalidInput(
        "PNG: unsupported format (bit depth \(depth), colour type \(colourType), interlace \(interlace))")
    }
    let n = colourType == 6 ? 4 : 3
    let stride = w * n
    let idat = chunks.filter { $0.type == "IDAT" }.flatMap(\.data)
    var raw = [UInt8](repeating: 0, count: h * (stride + 1))
    var rawCount = uLong(raw.count)
    let status = uncompress(&raw, &rawCount, idat, uLong(idat.count))
    guard status == Z_OK, Int(rawCount) == raw.count else {
      throw BertScopeError.invalidInput("PNG: image data does not inflate to \(h) rows of \(stride + 1) bytes")
    }
    var out = [UInt8](repeating: 0, count: h * stride)
    for y in 0..<h {
      let filter = raw[y * (stride + 1)]
      for i in 0..<stride {
        let x = raw[y * (stride + 1) + 1 + i]
        let a = i >= n ? Int(out[y * stride + i - n]) : 0
        let b = y > 0 ? Int(out[(y - 1) * stride + i]) : 0
        let c = i >= n && y > 0 ? Int(out[(y - 1) * stride + i - n]) : 0
        let predictor: Int
        switch filter {
        case 0: predictor = 0
        case 1: predictor = a
        case 2: predictor = b
        case 3: predictor = (a + b) / 2
        case 4:
          let p = a + b - c
          let (pa, pb, pc) = (abs(p - a), abs(p - b), abs(p - c))
          predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
        default: throw BertScopeError.invalidInput("PNG: unknown filter type \(filter) in row \(y)")
        }
        out[y * stride + i] = x &+ UInt8(truncatingIfNeeded: predictor)
      }
    }
    return try Bitmap(width: w, height: h, channels: n, bytes: out)
  }

}
