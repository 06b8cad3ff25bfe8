import Foundation

/// Finds the OpenCL C sources at run time without `Bundle.module`, whose generated
/// accessor traps when the resource bundle is missing.
///
/// Search order: `$BERTSCOPE_KERNELS`, the resource bundle beside the executable (or the
/// test bundle), then this source folder (a development checkout).
public enum KernelSource {
  public static let bundleName = "BertScope_BertScopeKernels.resources"

  /// Folders searched, in order.
  public static var searchPaths: [URL] {
    var paths: [URL] = []
    if let env = ProcessInfo.processInfo.environment["BERTSCOPE_KERNELS"], !env.isEmpty {
      paths.append(URL(fileURLWithPath: env, isDirectory: true))
    }
    let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
    let exeDir = exe.deletingLastPathComponent()
    paths.append(exeDir.appendingPathComponent(bundleName, isDirectory: true))
    paths.append(Bundle.main.bundleURL.appendingPathComponent(bundleName, isDirectory: true))
    paths.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent())
    return paths
  }

  /// The text of `name` (e.g. `"gemm_cpu.cl"`), or nil with the folders searched.
  public static func text(named name: String) -> Result<String, KernelNotFound> {
    let paths = searchPaths
    for dir in paths {
      let url = dir.appendingPathComponent(name)
      if let data = FileManager.default.contents(atPath: url.path),
        let text = String(data: data, encoding: .utf8)
      {
        return .success(text)
      }
    }
    return .failure(KernelNotFound(name: name, searched: paths.map(\.path)))
  }

  public struct KernelNotFound: Error, CustomStringConvertible {
    public let name: String
    public let searched: [String]
    public var description: String {
      "OpenCL kernel source \(name) not found; looked in \(searched.joined(separator: ", ")) "
        + "(set BERTSCOPE_KERNELS to the folder holding the .cl files)"
    }
  }
}
