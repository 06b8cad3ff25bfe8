import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A 64-byte-aligned block of floats owned by a class, so that results (hidden states,
/// attention maps) can be handed out without copying. Mutated only by the backend that
/// filled it, before it is handed out; read-only afterwards (hence `@unchecked Sendable`).
public final class FloatStorage: @unchecked Sendable {
  /// The first float; 64-byte aligned (2 MiB for blocks of 4 MiB or more).
  public let pointer: UnsafeMutablePointer<Float>
  /// Number of floats held.
  public let count: Int

  /// Uninitialised storage for `count` floats.
  public init(count: Int) {
    self.count = count
    let bytes = max(count, 1) * 4
    if bytes >= LargeBlocks.threshold {
      let block = LargeBlocks.shared.take(bytes)
      pointer = block.pointer.bindMemory(to: Float.self, capacity: block.bytes / 4)
      capacity = block.bytes
    } else {
      pointer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        .bindMemory(to: Float.self, capacity: max(count, 1))
      capacity = 0
    }
    release = nil
  }

  /// `count` floats at `pointer`, memory someone else owns (a pinned staging block of an
  /// OpenCL backend): `release` runs once, when this storage is gone, and gives it back.
  init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int, release: @escaping @Sendable () -> Void) {
    self.pointer = pointer
    self.count = count
    capacity = 0
    self.release = release
  }

  /// A copy of `values`.
  public convenience init(_ values: [Float]) {
    self.init(count: values.count)
    if !values.isEmpty {
      values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }
  }

  /// Bytes of a large block (returned to `LargeBlocks` in deinit), 0 for a small one.
  private let capacity: Int
  /// For borrowed memory: what gives it back.
  private let release: (@Sendable () -> Void)?

  deinit {
    if let release {
      release()
    } else if capacity > 0 {
      LargeBlocks.shared.give(UnsafeMutableRawPointer(pointer), bytes: capacity)
    } else {
      pointer.deallocate()
    }
  }

  /// Frees the large blocks kept idle for reuse (they count in the process's resident memory
  /// until then); `bench` does this between configurations so each one's peak is its own.
  public static func releaseIdleMemory() { LargeBlocks.shared.releaseIdle() }

  /// All ``count`` floats, without copying; valid while the storage lives.
  public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }

  /// A copy of `range` as an array.
  public func array(_ range: Range<Int>? = nil) -> [Float] {
    let r = range ?? 0..<count
    return Array(UnsafeBufferPointer(start: pointer + r.lowerBound, count: r.count))
  }
}

/// Large blocks (≥ 4 MiB) are kept for reuse instead of being freed: a forward pass at
/// batch 32 × 128 allocates ~200 MB of activations and maps, and fresh pages cost a page
/// fault and a zeroing each (~10 % of the pass). Blocks are 2 MiB-aligned and advised as
/// transparent huge pages, since activations are read with large strides (one head's
/// columns of each token row) and 4 KiB pages make every row a TLB miss.
final class LargeBlocks: @unchecked Sendable {
  // The idle blocks are behind `IdleBlocks`'s lock; the rest is constant.
  static let shared = LargeBlocks()
  static let threshold = 4 << 20
  static let alignment = 2 << 20
  /// Most bytes kept idle: a quarter of the machine's memory, at most 8 GiB (a batch of
  /// 32 × 512 tokens with every map held needs ~2.5 GB).
  let limit = Int(min(ProcessInfo.processInfo.physicalMemory / 4, 8 << 30))
  private let idle: IdleBlocks<UnsafeMutableRawPointer>

  init() { idle = IdleBlocks(limit: limit) }

  /// A block of at least `bytes`: an idle one no more than twice as large, else a new one.
  func take(_ bytes: Int) -> (pointer: UnsafeMutableRawPointer, bytes: Int) {
    let rounded = (bytes + Self.alignment - 1) / Self.alignment * Self.alignment
    if let reused = idle.take(rounded) { return (reused.0, reused.bytes) }
    var raw: UnsafeMutableRawPointer? = nil
    guard posix_memalign(&raw, Self.alignment, rounded) == 0, let raw else {
      // Let the allocator report the failure the usual way.
      return (UnsafeMutableRawPointer.allocate(byteCount: rounded, alignment: 64), rounded)
    }
    #if os(Linux)
      _ = madvise(raw, rounded, 14)  // MADV_HUGEPAGE
    #endif
    return (raw, rounded)
  }

  /// Frees every idle block.
  func releaseIdle() {
    for block in idle.removeAll() { free(block) }
  }

  /// Keeps `pointer` for reuse, or frees it when the idle pool is full.
  func give(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
    if !idle.keep(pointer, bytes: bytes) { free(pointer) }
  }
}

/// Blocks of memory kept idle for reuse (`LargeBlocks`, an OpenCL backend's pinned staging),
/// at most `limit` bytes in all. Thread-safe.
final class IdleBlocks<Block>: @unchecked Sendable {
  let limit: Int
  private var idle: [(block: Block, bytes: Int)] = []
  private var idleBytes = 0
  private let lock = NSLock()

  init(limit: Int) { self.limit = limit }

  /// The smallest idle block of `bytes` to `2 · bytes`, taken out of the pool; nil when none.
  func take(_ bytes: Int) -> (Block, bytes: Int)? {
    lock.withLock {
      var best = -1
      for (i, entry) in idle.enumerated() where entry.bytes >= bytes && entry.bytes <= 2 * bytes {
        if best < 0 || entry.bytes < idle[best].bytes { best = i }
      }
      guard best >= 0 else { return nil }
      let entry = idle.remove(at: best)
      idleBytes -= entry.bytes
      return (entry.block, entry.bytes)
    }
  }

  /// Keeps `block` for reuse; false (the caller frees it) when the pool would exceed `limit`.
  func keep(_ block: Block, bytes: Int) -> Bool {
    lock.withLock {
      guard idleBytes + bytes <= limit else { return false }
      idle.append((block, bytes))
      idleBytes += bytes
      return true
    }
  }

  /// Every idle block, taken out of the pool.
  func removeAll() -> [Block] {
    lock.withLock {
      defer {
        idle = []
        idleBytes = 0
      }
      return idle.map(\.block)
    }
  }
}
