import BertScope
import Foundation
import FuzzSupport

/// `SafeTensorsFile(bytes:path:)` on arbitrary bytes: the header length, the JSON header and
/// the tensor table. Whatever is accepted must be readable: every float tensor converts
/// without reading outside the image (ASan checks), ranges lie inside the data and do not overlap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
  let bytes = UnsafeRawBufferPointer(start: start, count: start == nil ? 0 : count)
  guard let file = Fuzz.expectTypedError({ try SafeTensorsFile(bytes: bytes, path: "fuzz.safetensors") }) else {
    return 0
  }
  var ranges: [Range<Int>] = []
  for (name, entry) in file.entries {
    Fuzz.check(entry.name == name, "entry \(name) is named \(entry.name)")
    Fuzz.check(
      entry.byteRange.lowerBound >= 8 && entry.byteRange.upperBound <= count,
      "tensor \(name): \(entry.byteRange) outside the image")
    Fuzz.check(entry.byteRange.count == entry.count * entry.dtype.size, "tensor \(name): size disagrees with shape")
    if !entry.byteRange.isEmpty { ranges.append(entry.byteRange) }
    if entry.dtype.isConvertibleFloat {
      guard let values = Fuzz.expectTypedError({ try file.floats(entry) }) else {
        Fuzz.fail("float tensor \(name) not readable")
      }
      Fuzz.check(values.count == entry.count, "tensor \(name): \(values.count) values for \(entry.count) elements")
    } else {
      Fuzz.check(Fuzz.expectTypedError({ try file.floats(entry) }) == nil, "non-float tensor \(name) read as floats")
    }
  }
  ranges.sort { $0.lowerBound < $1.lowerBound }
  for (a, b) in zip(ranges, ranges.dropFirst()) {
    Fuzz.check(a.upperBound <= b.lowerBound, "ranges \(a) and \(b) overlap")
  }
  return 0
}
