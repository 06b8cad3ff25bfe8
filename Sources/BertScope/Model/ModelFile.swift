import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads the small files of a model folder (`config.json`, `tokenizer_config.json`,
/// `vocab.txt`) with the checks an untrusted folder needs: a file that is missing, a folder,
/// a link to nowhere or a link loop, a device (`/dev/zero` would never end) or a named pipe
/// (reading would block), or one larger than any real file of its kind, each gives one clear
/// error naming it instead of a hang, a misleading "not found" or memory exhaustion.
enum ModelFile {
  /// The largest `config.json` / `tokenizer_config.json` read (real ones are a few KB).
  static let maxJSONBytes = 16 << 20
  /// The largest `tokenizer.json` read (XLM-RoBERTa's is 17 MB).
  static let maxTokenizerJSONBytes = 512 << 20
  /// The largest `vocab.txt` read (bert-base-multilingual's is under 1 MB).
  static let maxVocabularyBytes = 256 << 20

  /// The bytes of `url`, or nil when it does not exist and `optional` is true.
  /// - Parameter hint: the `modelNotFound` hint when it is missing.
  static func read(_ url: URL, limit: Int, hint: String, optional: Bool = false) throws -> Data? {
    let path = url.path
    var info = stat()
    guard stat(path, &info) == 0 else {
      let code = errno
      var linkInfo = stat()
      if code == ELOOP {
        throw BertScopeError.badModelFile(path: path, problem: "is a symbolic link loop")
      }
      if code == ENOENT && lstat(path, &linkInfo) == 0 {
        throw BertScopeError.badModelFile(path: path, problem: "is a symbolic link to a file that does not exist")
      }
      if code == ENOENT || code == ENOTDIR {
        if optional { return nil }
        throw BertScopeError.modelNotFound(path: path, hint: hint)
      }
      throw BertScopeError.io(path: path, problem: String(cString: strerror(code)))
    }
    switch info.st_mode & S_IFMT {
    case S_IFREG: break
    case S_IFDIR: throw BertScopeError.badModelFile(path: path, problem: "is a folder, expected a file")
    default: throw BertScopeError.badModelFile(path: path, problem: "is not a regular file (a device, pipe or socket)")
    }
    guard Int(info.st_size) <= limit else {
      throw BertScopeError.badModelFile(
        path: path,
        problem: "is \(info.st_size) bytes, more than the \(limit)-byte limit for this file (is it the right file?)")
    }
    return try FileBytes.read(url, limit: limit)
  }

  /// True when something (even a broken link) is at `url`.
  static func exists(_ url: URL) -> Bool {
    var info = stat()
    return lstat(url.path, &info) == 0
  }
}
