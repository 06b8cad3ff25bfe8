import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// How far a long run has got, kept current at the cost of an atomic store per line, so that
/// an interrupted run (Ctrl-C, `kill`) can say where it stopped: the position of the latest
/// `CorpusReader` and the count of the latest `Progress`. Read from any thread.
public enum RunProgress {
  /// A reader's position: lines returned and bytes consumed.
  final class Position: Sendable {
    let path: String
    /// Size of the input when it is a regular file (also a redirected stdin), else nil.
    let totalBytes: Int?
    let lines = Atomic<Int>(0)
    let bytes = Atomic<Int>(0)

    init(path: String, fileDescriptor: Int32) {
      self.path = path
      var info = stat()
      if fstat(fileDescriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG {
        totalBytes = Int(info.st_size)
      } else {
        totalBytes = nil
      }
    }
  }

  private struct Tracked: Sendable {
    var position: Position?
    var progress: Progress?
  }

  private static let tracked = Mutex(Tracked())

  static func track(_ position: Position) { tracked.withLock { $0.position = position } }
  static func track(_ progress: Progress) { tracked.withLock { $0.progress = progress } }

  /// A one-line account of how far the run got, e.g. "read 12032 lines of corpus.txt (31% of
  /// 4.1 MiB); embed: 11968 of 20000 done", or nil when nothing was tracked.
  public static func summary() -> String? {
    let (position, progress) = tracked.withLock { ($0.position, $0.progress) }
    var parts: [String] = []
    if let position {
      let lines = position.lines.load(ordering: .relaxed)
      var text = "read \(lines) line\(lines == 1 ? "" : "s") of \(position.path)"
      if let total = position.totalBytes, total > 0 {
        let bytes = position.bytes.load(ordering: .relaxed)
        text += String(format: " (%.0f%% of %@)", 100 * Double(bytes) / Double(total), formatBytes(total))
      }
      parts.append(text)
    }
    if let progress, let (label, done, total) = progress.snapshot() {
      parts.append("\(label): \(done)\(total.map { " of \($0)" } ?? "") done")
    }
    return parts.isEmpty ? nil : parts.joined(separator: "; ")
  }

  /// "4.1 MiB": binary units, as `outOfDeviceMemory` reports.
  static func formatBytes(_ bytes: Int) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    return unit == 0 ? "\(bytes) bytes" : String(format: "%.1f %@", value, units[unit])
  }
}

/// A request, from a signal, that the run in progress stop after its current batch once it has
/// saved a checkpoint (Slurm sends SIGTERM before it pre-empts or times out a job). Only runs
/// that can checkpoint arm it; otherwise a signal interrupts at once.
public enum StopRequest {
  private static let armed = Atomic<Int>(0)
  private static let signal = Atomic<Int32>(0)

  /// Marks a checkpointing run as in progress (balanced by `disarm()`).
  public static func arm() { armed.add(1, ordering: .relaxed) }
  public static func disarm() { armed.subtract(1, ordering: .relaxed) }

  /// Records `signal` for the run to act on; false when no run is armed, or a signal is
  /// already pending (a second Ctrl-C stops at once).
  public static func request(_ signal: Int32) -> Bool {
    guard armed.load(ordering: .relaxed) > 0 else { return false }
    return self.signal.compareExchange(expected: 0, desired: signal, ordering: .relaxed).exchanged
  }

  /// The signal a stop was requested with, if any.
  public static var pending: Int32? {
    let s = signal.load(ordering: .relaxed)
    return s == 0 ? nil : s
  }

  /// The usual name of `signal` ("SIGTERM").
  public static func name(_ signal: Int32) -> String {
    [SIGINT: "SIGINT", SIGTERM: "SIGTERM", SIGHUP: "SIGHUP"][signal] ?? "signal \(signal)"
  }
}
