import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes files so that a reader never sees a partial one: data goes to a hidden temporary
/// file in the same folder, is flushed to disk, and is renamed over the destination
/// (atomic on POSIX file systems). An interrupted run leaves at most a `.*.partial` file.
public enum AtomicFile {
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
    public let url: URL
    let temporary: URL
    private var fd: Int32
    private var done = false

    public init(url: URL) throws {
      self.url = url
      let folder = url.deletingLastPathComponent()
      do {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
      } catch {
        throw BertScopeError.io(path: folder.path, problem: "cannot create folder: \(error.localizedDescription)")
      }
      temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).partial")
      fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
      if fd < 0 {
        throw BertScopeError.io(path: url.path, problem: "cannot create: \(String(cString: strerror(errno)))")
      }
    }

    /// Appends `data`.
    public func write(_ data: Data) throws {
      try data.withUnsafeBytes { try write(raw: $0) }
    }

    /// Appends raw bytes.
    public func write(raw: UnsafeRawBufferPointer) throws {
      guard var p = raw.baseAddress, !done else { return }
      var left = raw.count
      while left > 0 {
        let n = Glibc.write(fd, p, left)
        if n < 0 {
          if errno == EINTR { continue }
          throw BertScopeError.io(path: url.path, problem: "write failed: \(String(cString: strerror(errno)))")
        }
        left -= n
        p += n
      }
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
        unlink(temporary.path)
        throw BertScopeError.io(path: url.path, problem: "fsync failed: \(message)")
      }
      close(fd)
      if rename(temporary.path, url.path) != 0 {
        let message = String(cString: strerror(errno))
        unlink(temporary.path)
        throw BertScopeError.io(path: url.path, problem: "rename failed: \(message)")
      }
    }

    /// Removes the temporary file; the destination is left untouched.
    public func abandon() {
      guard !done else { return }
      done = true
      close(fd)
      unlink(temporary.path)
    }

    deinit { abandon() }
  }
}
