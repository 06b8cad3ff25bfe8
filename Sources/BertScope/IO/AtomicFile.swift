import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes files so that a reader never sees a partial one: data goes to a hidden temporary
/// file in the same folder, is flushed to disk, and is renamed over the destination
/// (atomic on POSIX file systems). An interrupted run leaves at most a `.*.partial` file, and
/// none when the process gets to call `removeTemporaries()` (the CLI does on SIGINT/SIGTERM);
/// the next write of the same file deletes what a killed writer left.
public enum AtomicFile {
  /// Creates `folder` and its parents (`mkdir -p`); the error names the folder and the
  /// system's reason for the first part that could not be made (e.g. "…/x is a file, not a
  /// folder", "Read-only file system").
  public static func createFolder(_ folder: URL) throws {
    var missing: [URL] = []
    var at = folder.standardizedFileURL
    var isFolder: ObjCBool = false
    while !FileManager.default.fileExists(atPath: at.path, isDirectory: &isFolder) {
      missing.append(at)
      let parent = at.deletingLastPathComponent()
      if parent.path == at.path { break }
      at = parent
    }
    if FileManager.default.fileExists(atPath: at.path), !isFolder.boolValue {
      throw BertScopeError.io(path: folder.path, problem: "cannot create folder: \(at.path) is a file, not a folder")
    }
    for part in missing.reversed() where mkdir(part.path, 0o755) != 0 && errno != EEXIST {
      let reason = String(cString: strerror(errno))
      throw BertScopeError.io(
        path: folder.path,
        problem: "cannot create folder" + (part.path == folder.standardizedFileURL.path ? "" : " \(part.path)")
          + ": \(reason)")
    }
  }

  /// Temporaries being written → their destinations.
  private static let inFlight = Mutex<[String: String]>([:])

  /// Removes every temporary file still being written and returns the destinations they were
  /// for, which are left as they were. Safe from any thread (not from a signal handler itself:
  /// the CLI calls it from a dispatch source). Writers still running afterwards fail to commit.
  public static func removeTemporaries() -> [String] {
    inFlight.withLock { files in
      for temporary in files.keys { unlink(temporary) }
      defer { files.removeAll() }
      return files.values.sorted()
    }
  }

  /// Counts `temporary` (a file being written for `destination`) among those
  /// `removeTemporaries()` deletes: a `ResumableFile` of a run that cannot resume.
  static func track(_ temporary: String, for destination: String) {
    inFlight.withLock { $0[temporary] = destination }
  }

  /// The file is committed or gone: no longer one to remove.
  static func untrack(_ temporary: String) { _ = inFlight.withLock { $0.removeValue(forKey: temporary) } }

  /// Deletes the temporaries that earlier writers of `url` left behind when they were killed
  /// outright (SIGKILL, power loss): `.<name>.<pid>.<n>.partial` files whose process no longer
  /// exists. A temporary of a live process (another run writing the same file) is left alone.
  static func removeStaleTemporaries(of url: URL) {
    let folder = url.deletingLastPathComponent()
    let prefix = "." + url.lastPathComponent + "."
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
    let ours = inFlight.withLock { Set($0.keys) }
    for name in names where name.hasPrefix(prefix) && name.hasSuffix(".partial") {
      let middle = name.dropFirst(prefix.count).dropLast(".partial".count).split(separator: ".")
      guard middle.count == 2, let pid = pid_t(middle[0]), pid > 0, UInt32(middle[1]) != nil else { continue }
      let path = folder.appendingPathComponent(name).path
      let dead = pid == getpid() ? !ours.contains(path) : (kill(pid, 0) != 0 && errno == ESRCH)
      if dead { unlink(path) }
    }
  }

  /// Writes all of `raw` to `fd` (retrying short writes and EINTR); a failure names `path`.
  static func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer, path: String) throws {
    guard var p = raw.baseAddress else { return }
    var left = raw.count
    while left > 0 {
      let n = Glibc.write(fd, p, left)
      if n < 0 {
        if errno == EINTR { continue }
        throw BertScopeError.io(path: path, problem: "write failed: \(String(cString: strerror(errno)))")
      }
      left -= n
      p += n
    }
  }

  /// Writes `data` to `url` atomically, creating the parent folder if needed.
  public static func write(_ data: Data, to url: URL) throws {
    let writer = try Writer(url: url)
    do {
      try writer.write(data)
      try writer.commit()
    } catch {
      writer.abandon()
      throw error
    }
  }

  /// Writes UTF-8 `text` to `url` atomically.
  public static func write(_ text: String, to url: URL) throws {
    try write(Data(text.utf8), to: url)
  }

  /// A file being written under a temporary name; `commit()` renames it into place.
  /// If neither `commit()` nor `abandon()` is called, deinit removes the temporary file.
  public final class Writer {
    /// The destination the file is renamed to on ``commit()``.
    public let url: URL
    let temporary: URL
    private var fd: Int32
    private var done = false

    /// Creates the temporary file next to `url`, creating the parent folder if needed, and
    /// deletes temporaries that killed writers of `url` left behind.
    public init(url: URL) throws {
      self.url = url
      let folder = url.deletingLastPathComponent()
      try AtomicFile.createFolder(folder)
      AtomicFile.removeStaleTemporaries(of: url)
      temporary = folder.appendingPathComponent(
        ".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).partial")
      let (path, destination) = (temporary.path, url.path)
      let (fd, code) = AtomicFile.inFlight.withLock { files -> (Int32, Int32) in
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd >= 0 { files[path] = destination }
        return (fd, errno)
      }
      if fd < 0 {
        throw BertScopeError.io(path: url.path, problem: "cannot create: \(String(cString: strerror(code)))")
      }
      self.fd = fd
    }

    /// Appends `data`.
    public func write(_ data: Data) throws {
      try data.withUnsafeBytes { try write(raw: $0) }
    }

    /// Appends raw bytes.
    public func write(raw: UnsafeRawBufferPointer) throws {
      guard !done else { return }
      try writeAll(fd, raw, path: url.path)
    }

    /// Overwrites bytes at `offset` (used to patch an NPY header once the row count is known).
    public func write(_ data: Data, at offset: Int) throws {
      let written = data.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
      guard written == data.count else {
        throw BertScopeError.io(path: url.path, problem: "write failed: \(String(cString: strerror(errno)))")
      }
    }

    /// Flushes to disk and renames into place.
    public func commit() throws {
      guard !done else { return }
      done = true
      if fsync(fd) != 0 && errno != EINVAL {
        let message = String(cString: strerror(errno))
        close(fd)
        forget(unlinking: true)
        throw BertScopeError.io(path: url.path, problem: "fsync failed: \(message)")
      }
      close(fd)
      // Renamed under the registry's lock: an interruption sees the file either still in
      // flight (and removes it) or in place, never half-way.
      let (path, destination) = (temporary.path, url.path)
      let failure: String? = AtomicFile.inFlight.withLock { files in
        guard files.removeValue(forKey: path) != nil else { return "the temporary file was removed (interrupted)" }
        guard rename(path, destination) == 0 else {
          let message = String(cString: strerror(errno))
          unlink(path)
          return message
        }
        return nil
      }
      if let failure {
        throw BertScopeError.io(path: url.path, problem: "rename failed: \(failure)")
      }
    }

    /// Removes the temporary file; the destination is left untouched.
    public func abandon() {
      guard !done else { return }
      done = true
      close(fd)
      forget(unlinking: true)
    }

    private func forget(unlinking: Bool) {
      let path = temporary.path
      AtomicFile.inFlight.withLock { files in
        files.removeValue(forKey: path)
        if unlinking { unlink(path) }
      }
    }

    deinit { abandon() }
  }
}
