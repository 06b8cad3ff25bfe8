import Foundation
import Testing

/// Runs the `bertscope` binary built next to the test bundle.
enum CLI {
  static var binary: URL {
    URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
      .appendingPathComponent("bertscope")
  }
  static var available: Bool { FileManager.default.isExecutableFile(atPath: binary.path) }

  struct Result {
    let status: Int32
    let stdout: String
    let stderr: String
  }

  /// Runs `bertscope args…` (or `executable args…`) with `stdin` fed in, the environment
  /// extended by `env` and without the variables named in `unset`.
  static func run(
    _ args: [String], stdin: String? = nil, env: [String: String] = [:], unset: Set<String> = [],
    executable: String? = nil
  ) throws -> Result {
    let process = Process()
    process.executableURL = executable.map { URL(fileURLWithPath: $0) } ?? binary
    process.arguments = args
    var environment = ProcessInfo.processInfo.environment
    for k in unset { environment[k] = nil }
    for (k, v) in env { environment[k] = v }
    process.environment = environment
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    // Read both pipes concurrently so a chatty child cannot block on a full pipe.
    nonisolated(unsafe) var errData = Data()
    let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    return Result(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData, as: UTF8.self))
  }
}

/// Whether this test bundle (and the `bertscope` beside it) was built optimised: heavy tests
/// (millions of lines, the real model at 512 tokens) only run there; `scripts/test` builds
/// in release mode.
enum Build {
  static let optimized = !_isDebugAssertConfiguration()
  static let skipReason: Comment =
    "needs an optimised build (scripts/test: swift test -c release -Xswiftc -enable-testing)"
}
