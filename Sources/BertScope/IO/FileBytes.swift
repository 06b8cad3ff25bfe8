import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Whole-file reads of files that come from outside (model folders, analysis outputs, NPY).
///
/// Refuses what is not a regular file (a named pipe would block, `/dev/zero` never ends) and
/// files over `limit` bytes, and reads with read(2). Foundation's `Data(contentsOf:)`,
/// `String(contentsOf:)` and `FileManager.contents(atPath:)` leak a 4 KB buffer on every empty
/// file with this toolchain (found by `fuzz-report-inputs` under LeakSanitizer).
public enum FileBytes {
  /// The bytes of the regular file at `url`; errors are `BertScopeError.io` naming it.
  /// - Parameter limit: the largest size accepted, in bytes (checked before and while reading).
  public static func read(_ url: URL, limit: Int) throws -> Data {
    let path = url.path
    func failure(_ problem: String) -> BertScopeError { .io(path: path, problem: problem) }
    var info = stat()
    guard stat(path, &info) == 0 else { throw failure("cannot read: \(String(cString: strerror(errno)))") }
    switch info.st_mode & S_IFMT {
    case S_IFREG: break
    case S_IFDIR: throw failure("is a folder, expected a file")
    default: throw failure("is not a regular file (a device, pipe or socket)")
    }
    guard Int(info.st_size) <= limit else {
      throw failure("is \(info.st_size) bytes, more than the \(limit)-byte limit")
    }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw failure("cannot open: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var data = Data(capacity: Int(info.st_size))
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw failure("read failed: \(String(cString: strerror(errno)))")
      }
      if n == 0 { return data }
      data.append(contentsOf: chunk[0..<n])
      guard data.count <= limit else { throw failure("grew past the \(limit)-byte limit while being read") }
    }
  }

  /// The file as UTF-8 text; invalid UTF-8 is `BertScopeError.invalidInput` naming the file.
  /// - Parameter limit: the largest size accepted, in bytes.
  public static func text(_ url: URL, limit: Int) throws -> String {
    let data = try read(url, limit: limit)
    guard let text = String(validating: data, as: UTF8.self) else {
      throw BertScopeError.invalidInput("\(url.path): not UTF-8 text")
    }
    return text
  }
}
