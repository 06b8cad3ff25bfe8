import BertScope
import Foundation
import FuzzSupport

/// `NPY.decode` on arbitrary bytes. An accepted array has as many values as its shape says;
/// a float32 array re-encoded by `NPY.encode` decodes to the same values.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
  let data = Fuzz.data(start, count)
  guard let array = Fuzz.expectTypedError({ try NPY.decode(data, path: "fuzz.npy") }) else { return 0 }
  Fuzz.check(array.shape.allSatisfy { $0 >= 0 }, "negative dimension in \(array.shape)")
  Fuzz.check(array.shape.reduce(1, *) == array.values.count, "\(array.values.count) values for shape \(array.shape)")
  if array.dtype == .float32 {
    guard let back = Fuzz.expectTypedError({ try NPY.decode(NPY.encode(array.values, shape: array.shape)) }) else {
      Fuzz.fail("re-encoded array does not decode")
    }
    Fuzz.check(back.shape == array.shape, "shape \(back.shape) after a round trip, was \(array.shape)")
    Fuzz.check(
      zip(back.values, array.values).allSatisfy { $0.bitPattern == $1.bitPattern }, "values changed in a round trip")
  }
  return 0
}
