import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A 64-byte-aligned block of floats owned by a class, so that results (hidden states,
/// attention maps) can be handed out without copying. Mutated only by the backend that
/// filled it, before it is handed out; read-only afterwards (hence `@unchecked Sendable`).
public final class FloatStorage: @unchecked Sendable {
  public let pointer: UnsafeMutablePointer<Float>
  public let count: Int

  /// Uninitialised storage for `count` floats.
  public init(count: Int) {
    self.count = count
    let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
    pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
  }

  /// A copy of `values`.
  public convenience init(_ values: [Float]) {
    self.init(count: values.count)
    values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
  }

  deinit { pointer.deallocate() }

  public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }

  /// A copy of `range` as an array.
  public func array(_ range: Range<Int>? = nil) -> [Float] {
    let r = range ?? 0..<count
    return Array(UnsafeBufferPointer(start: pointer + r.lowerBound, count: r.count))
  }
}
