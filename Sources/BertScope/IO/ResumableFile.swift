import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A file written in appends under a fixed hidden name beside its destination
/// (`.NAME.resume`) that, unlike `AtomicFile`'s temporaries, outlives an interrupted run:
/// `sync()` makes what was appended durable (a checkpoint records `length` after it), reopening
/// at a recorded length drops whatever was appended after that checkpoint, and `commit()`
/// renames the finished file into place. The destination is never seen half-written.
public final class ResumableFile {
  /// Where the finished file goes.
  public let url: URL
  /// The file being written.
  public let partial: URL
  /// Bytes written.
  public private(set) var length: Int
  private var fd: Int32
  private var closed = false
  /// Whether the partial file outlives an interruption (false: a signal removes it, like an
  /// `AtomicFile` temporary).
  public let resumable: Bool

  /// The partial file of `url`: `.NAME.resume` in the same folder.
  public static func partialURL(of url: URL) -> URL {
    url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).resume")
  }

  /// Opens the partial file of `url`: empty, or — `resumingAt` a checkpoint's length — with
  /// what the checkpoint had and nothing after it. Unless `resumable`, SIGINT/SIGTERM remove
  /// it (`AtomicFile.removeTemporaries()`).
  public init(url: URL, resumingAt resume: Int? = nil, resumable: Bool = true) throws {
    self.url = url
    self.resumable = resumable
    partial = Self.partialURL(of: url)
    let folder = url.deletingLastPathComponent()
    try AtomicFile.createFolder(folder)
    let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (resume == nil ? O_TRUNC : 0)
    fd = open(partial.path, flags, 0o644)
    guard fd >= 0 else {
      throw BertScopeError.io(path: partial.path, problem: "cannot create: \(String(cString: strerror(errno)))")
    }
    length = 0
    if let resume {
      var info = stat()
      guard fstat(fd, &info) == 0, Int(info.st_size) >= resume else {
        Glibc.close(fd)
        throw BertScopeError.io(
          path: partial.path,
          problem: "holds fewer bytes than the checkpoint recorded (\(resume)): it was changed or removed")
      }
      guard ftruncate(fd, off_t(resume)) == 0, lseek(fd, off_t(resume), SEEK_SET) >= 0 else {
        let message = String(cString: strerror(errno))
        Glibc.close(fd)
        throw BertScopeError.io(path: partial.path, problem: "cannot go back to the checkpoint: \(message)")
      }
      length = resume
    }
    if !resumable { AtomicFile.track(partial.path, for: url.path) }
  }

  /// Appends raw bytes.
  public func append(_ raw: UnsafeRawBufferPointer) throws {
    try AtomicFile.writeAll(fd, raw, path: partial.path)
    length += raw.count
  }

  /// Appends `data`.
  public func append(_ data: Data) throws { try data.withUnsafeBytes { try append($0) } }

  /// Overwrites bytes at `offset` (an NPY header patched at the end).
  public func write(_ data: Data, at offset: Int) throws {
    let written = data.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
    guard written == data.count else {
      throw BertScopeError.io(path: partial.path, problem: "write failed: \(String(cString: strerror(errno)))")
    }
  }

  /// Makes everything appended so far durable.
  public func sync() throws {
    guard fsync(fd) == 0 || errno == EINVAL else {
      throw BertScopeError.io(path: partial.path, problem: "fsync failed: \(String(cString: strerror(errno)))")
    }
  }

  /// Flushes, closes and renames the file into place.
  public func commit() throws {
    try sync()
    close()
    if !resumable { AtomicFile.untrack(partial.path) }
    guard rename(partial.path, url.path) == 0 else {
      throw BertScopeError.io(path: url.path, problem: "rename failed: \(String(cString: strerror(errno)))")
    }
  }

  /// Closes the file, leaving it for a later resumption.
  public func close() {
    guard !closed else { return }
    closed = true
    Glibc.close(fd)
  }

  /// Closes and removes the partial file (the run failed for good).
  public func abandon() {
    close()
    if !resumable { AtomicFile.untrack(partial.path) }
    unlink(partial.path)
  }

  deinit { close() }
}

extension NPY {
  /// An NPY file of float32 or float16 elements appended as they come, `[rows, columns]` or
  /// 1-D, on a `ResumableFile`: the header is patched with the final shape at `finish()`.
  public final class ResumableWriter {
    public let dtype: DType
    /// Elements per row; nil for a 1-D array.
    public let columns: Int?
    /// Elements written.
    public private(set) var elements: Int
    public let file: ResumableFile
    private let headerLength: Int

    /// Starts `url`'s partial file, or continues it after `resumingElements` elements.
    public init(
      url: URL, dtype: DType = .float32, columns: Int?, resumingElements: Int? = nil, resumable: Bool = true
    ) throws {
      precondition(dtype == .float32 || dtype == .float16)
      self.dtype = dtype
      self.columns = columns
      let placeholder = NPY.header(
        shape: columns.map { [Int(Int32.max), $0] } ?? [1 << 40], dtype: dtype, minimumLength: 128)
      headerLength = placeholder.count
      if let resumingElements {
        file = try ResumableFile(
          url: url, resumingAt: headerLength + resumingElements * dtype.size, resumable: resumable)
        elements = resumingElements
      } else {
        file = try ResumableFile(url: url, resumable: resumable)
        try file.append(placeholder)
        elements = 0
      }
    }

    /// Rows written (elements / columns).
    public var rows: Int { columns.map { elements / $0 } ?? elements }

    /// Appends `values`, converted to the file's type.
    public func append(_ values: UnsafeBufferPointer<Float>) throws {
      if let columns { precondition(values.count % columns == 0) }
      switch dtype {
      case .float16:
        let halves = values.map { Float16($0).bitPattern.littleEndian }
        try halves.withUnsafeBytes { try file.append($0) }
      default:
        try file.append(UnsafeRawBufferPointer(values))
      }
      elements += values.count
    }

    /// Appends `count` elements already in the file's type and byte order (a merge copying
    /// blocks between files of one dtype).
    public func appendRaw(_ raw: UnsafeRawBufferPointer, count: Int) throws {
      precondition(raw.count == count * dtype.size)
      try file.append(raw)
      elements += count
    }

    /// Makes what was appended durable: a checkpoint may record `elements` after this.
    public func sync() throws { try file.sync() }

    /// Writes the final shape into the header and renames the file into place.
    public func finish() throws {
      let shape = columns.map { [elements / $0, $0] } ?? [elements]
      let header = NPY.header(shape: shape, dtype: dtype, minimumLength: headerLength)
      precondition(header.count == headerLength)
      try file.write(header, at: 0)
      try file.commit()
    }
  }
}
