import Foundation
import NIOCore

/// Writes a JSON answer straight into the bytes of the response: the embeddings and maps are
/// thousands of floats, which `JSONEncoder` makes slowly. Floats are written in their shortest
/// form that reads back to the same float (Swift's `description`: `0.0123`, `1e-05`), so a
/// client parsing them as float32 gets exactly the server's values.
struct JSONWriter {
  private(set) var buffer: ByteBuffer
  private static let hex = Array("0123456789abcdef".utf8)

  /// An empty writer with room for `capacity` bytes (it grows as needed).
  init(capacity: Int = 256) {
    buffer = ByteBufferAllocator().buffer(capacity: capacity)
  }

  /// JSON text written as is: punctuation and keys (`{"object":`).
  mutating func raw(_ text: StaticString) {
    text.withUTF8Buffer { _ = buffer.writeBytes($0) }
  }

  mutating func int(_ value: Int) {
    buffer.writeString(String(value))
  }

  /// A JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.
  mutating func string(_ text: String) {
    buffer.writeInteger(UInt8(ascii: "\""))
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "\""): raw("\\\"")
      case UInt8(ascii: "\\"): raw("\\\\")
      case UInt8(ascii: "\n"): raw("\\n")
      case UInt8(ascii: "\t"): raw("\\t")
      case UInt8(ascii: "\r"): raw("\\r")
      case 0..<0x20:
        raw("\\u00")
        buffer.writeInteger(Self.hex[Int(byte >> 4)])
        buffer.writeInteger(Self.hex[Int(byte & 15)])
      default: buffer.writeInteger(byte)
      }
    }
    buffer.writeInteger(UInt8(ascii: "\""))
  }

  /// A number; NaN and infinities have no JSON form and are refused.
  mutating func float(_ value: Float) throws {
    guard value.isFinite else { throw NonFiniteFloat() }
    buffer.writeString(value.description)
  }

  /// `[a,b,…]`.
  mutating func floats(_ values: some Collection<Float>) throws {
    raw("[")
    var first = true
    for value in values {
      if !first { raw(",") }
      first = false
      try float(value)
    }
    raw("]")
  }

  mutating func ints(_ values: some Collection<Int>) {
    raw("[")
    var first = true
    for value in values {
      if !first { raw(",") }
      first = false
      int(value)
    }
    raw("]")
  }

  mutating func strings(_ values: [String]) {
    raw("[")
    for (i, value) in values.enumerated() {
      if i > 0 { raw(",") }
      string(value)
    }
    raw("]")
  }

  /// `[[…],[…]]`: one array of floats per row.
  mutating func rows(_ rows: [[Float]]) throws {
    raw("[")
    for (i, row) in rows.enumerated() {
      if i > 0 { raw(",") }
      try floats(row)
    }
    raw("]")
  }
}

/// A NaN or infinity in an answer (the encoder went wrong).
struct NonFiniteFloat: Error, CustomStringConvertible {
  var description: String { "the encoder produced a NaN or infinite value" }
}
