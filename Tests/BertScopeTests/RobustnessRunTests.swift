import Foundation
import Testing

@testable import BertScope

#if canImport(Glibc)
  import Glibc
#endif

/// A child `bertscope` started with posix_spawn and reaped with wait4, so that a test can
/// signal it mid-run and read its own peak memory (`ru_maxrss`), which `Process` hides.
struct Child {
  let pid: pid_t

  struct Exit {
    /// Exit code, or nil when a signal ended it.
    var status: Int32?
    var signal: Int32?
    /// Peak resident memory, bytes (the last `VmHWM` sampled while it ran).
    var maxRSS: Int
    var stderr: String
  }

  let stderrURL: URL

  /// Starts `bertscope args…`, stdin from `stdin` (else /dev/null), stdout to /dev/null.
  static func spawn(_ args: [String], stdin: URL? = nil, env: [String: String] = [:]) throws -> Child {
    let stderrURL = Fixtures.temporaryDirectory("bertscope-child").appendingPathComponent("stderr.txt")
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, stdin?.path ?? "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, stderrURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    var environment = ProcessInfo.processInfo.environment
    for (k, v) in env { environment[k] = v }
    let argv = ([CLI.binary.path] + args).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      argv.forEach { free($0) }
      envp.forEach { free($0) }
    }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, CLI.binary.path, &actions, nil, argv, envp)
    guard rc == 0 else { throw BertScopeError.io(path: CLI.binary.path, problem: "posix_spawn: \(rc)") }
    return Child(pid: pid, stderrURL: stderrURL)
  }

  /// Waits for the child to end, sampling its peak memory every 20 ms.
  ///
  /// The peak is the child's own `VmHWM` from /proc, not `wait4`'s `ru_maxrss`: posix_spawn
  /// starts the child in the parent's address space (vfork), and Linux carries that address
  /// space's high-water mark into the child's `ru_maxrss` at exec — so a test process that
  /// holds loaded models would be counted as the child's memory.
  func wait() -> Exit {
    var status: Int32 = 0
    var usage = rusage()
    var peak = 0
    while true {
      let r = wait4(pid, &status, WNOHANG, &usage)
      if r == pid { break }
      if r < 0 && errno != EINTR { break }
      if let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kib = line.split(separator: " ").compactMap({ Int($0) }).first
      {
        peak = max(peak, kib * 1024)
      }
      usleep(20_000)
    }
    let signal = status & 0x7F
    let stderr = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
    return Exit(
      status: signal == 0 ? (status >> 8) & 0xFF : nil, signal: signal == 0 ? nil : signal, maxRSS: peak, stderr: stderr
    )
  }

  /// Runs to the end.
  static func run(_ args: [String], stdin: URL? = nil, env: [String: String] = [:]) throws -> Exit {
    try spawn(args, stdin: stdin, env: env).wait()
  }
}

/// Writes `count` short lines ("w17 x" … ; 5–8 bytes each) to a new file.
func writeLines(_ count: Int, to url: URL) throws {
  _ = FileManager.default.createFile(atPath: url.path, contents: nil)
  let handle = try FileHandle(forWritingTo: url)
  var chunk = ""
  for i in 0..<count {
    chunk += "w\(i % 100) x\n"
    if chunk.utf8.count > 1 << 20 {
      try handle.write(contentsOf: Data(chunk.utf8))
      chunk = ""
    }
  }
  try handle.write(contentsOf: Data(chunk.utf8))
  try handle.close()
}

/// The rows of an NPY header, read without loading the data.
func npyShape(_ url: URL) throws -> [Int] {
  let handle = try FileHandle(forReadingFrom: url)
  defer { try? handle.close() }
  let head = try handle.read(upToCount: 256) ?? Data()
  let text = String(decoding: head, as: UTF8.self)
  guard let open = text.range(of: "'shape': ("), let close = text[open.upperBound...].firstIndex(of: ")") else {
    return []
  }
  return text[open.upperBound..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
}

/// Limits of the running tool: corpora of millions of lines in flat memory, batches larger
/// than memory allows, over-long lines; and interruption: nothing truncated is ever left at
/// an output's path, and the run says how far it got.
@Suite(
  "Robustness: limits and interruptions", .serialized,
  .enabled(if: CLI.available, "the bertscope binary is not built next to the tests"))
struct RobustnessRunTests {
  let tiny = Fixtures.tiny.path

  @Test(
    "embed streams 2,000,000 lines from stdin in flat memory", .enabled(if: Build.optimized, Build.skipReason),
    .timeLimit(.minutes(10)))
  func millionsOfLines() throws {
    let dir = Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let small = dir.appendingPathComponent("small.txt"), large = dir.appendingPathComponent("large.txt")
    try writeLines(200_000, to: small)
    try writeLines(2_000_000, to: large)
    let out = dir.appendingPathComponent("e.npy")
    let args = ["embed", "--model", tiny, "--input", "-", "--out", out.path, "--batch-size", "256", "-q"]
    let base = try Child.run(args, stdin: small)
    #expect(base.status == 0, "\(base.stderr)")
    #expect(try npyShape(out) == [200_000, 32])
    let run = try Child.run(args, stdin: large)
    #expect(run.status == 0, "\(run.stderr)")
    #expect(try npyShape(out) == [2_000_000, 32])
    // Holding the outputs would add 2M × 32 floats = 244 MiB, a leak of 25 bytes a line 48 MiB.
    let growth = run.maxRSS - base.maxRSS
    #expect(growth < 48 << 20, "peak RSS \(run.maxRSS >> 20) MiB for 2M lines vs \(base.maxRSS >> 20) MiB for 200k")
  }

  @Test("--batch-size 100000000: an upper bound on a small corpus, a clear refusal when the batch would not fit")
  func hugeBatch() throws {
    let dir = Fixtures.temporaryDirectory()
    let out = dir.appendingPathComponent("e.npy")
    let few = dir.appendingPathComponent("few.txt")
    try Data("one\ntwo three\nfour\n".utf8).write(to: few)
    let ok = try Child.run([
      "embed", "--model", tiny, "--input", few.path, "--out", out.path, "--batch-size", "100000000", "-q",
    ])
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(try npyShape(out) == [3, 32])

    let many = dir.appendingPathComponent("many.txt")
    try writeLines(50_000, to: many)
    let refused = try Child.run(
      [
        "embed", "--model", tiny, "--input", many.path, "--out", dir.appendingPathComponent("big.npy").path,
        "--batch-size", "100000000",
      ],
      env: ["BERTSCOPE_MEMORY_LIMIT": "16M"])
    #expect(refused.status == 1)
    #expect(refused.stderr.hasPrefix("error: device out of memory allocating"), "\(refused.stderr)")
    #expect(refused.stderr.contains("a forward pass over 50000 sequences"))
    #expect(refused.stderr.contains("over the budget of 16.0 MiB"))
    #expect(refused.stderr.contains("encode at most"))
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["e.npy", "few.txt", "many.txt"],
      "no output, no temporary")
  }

  @Test("a corpus line over 16 MiB is refused with its line number")
  func overLongLine() throws {
    let dir = Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = dir.appendingPathComponent("binary.txt")
    var data = Data("fine\n".utf8)
    data.append(Data(repeating: 0x61, count: CorpusReader.maxLineBytes + 1))
    try data.write(to: input)
    let r = try Child.run(["tokenize", "--model", tiny, "--input", input.path])
    #expect(r.status == 1)
    #expect(r.stderr == "error: \(input.path):2: line longer than 16777216 bytes (is this a text file?)\n")
  }

  /// Starts a long embed into `out`, waits until it is writing, sends `signal`, waits for the end.
  func interrupt(with signal: Int32, out: URL, lines: Int = 600_000) throws -> Child.Exit {
    let input = out.deletingLastPathComponent().appendingPathComponent("corpus.txt")
    if !FileManager.default.fileExists(atPath: input.path) { try writeLines(lines, to: input) }
    let child = try Child.spawn([
      "embed", "--model", tiny, "--input", input.path, "--out", out.path, "--batch-size", "64",
    ])
    let folder = out.deletingLastPathComponent()
    let deadline = Date().addingTimeInterval(60)
    // Wait until the temporary output holds some rows: the run is well under way.
    while Date() < deadline {
      let partial = (try? FileManager.default.contentsOfDirectory(atPath: folder.path))?.first {
        $0.hasSuffix(".partial")
      }
      if let partial,
        let size = try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(partial).path)[.size]
          as? Int,
        size > 64 << 10
      {
        break
      }
      usleep(20_000)
    }
    kill(child.pid, signal)
    return child.wait()
  }

  @Test(
    "SIGINT and SIGTERM mid-run: the old output stays, no temporary is left, the run says how far it got",
    arguments: [SIGINT, SIGTERM])
  func interrupted(_ signal: Int32) throws {
    let dir = Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("e.npy")
    try Data("old output\n".utf8).write(to: out)
    let exit = try interrupt(with: signal, out: out)
    #expect(exit.status == 128 + signal, "\(exit)")
    #expect(try String(contentsOf: out, encoding: .utf8) == "old output\n")
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["corpus.txt", "e.npy"])
    let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
    let last = exit.stderr.split(separator: "\n").last.map(String.init) ?? ""
    #expect(last.hasPrefix("interrupted (\(name)): read "), "\(exit.stderr)")
    #expect(last.contains(" lines of \(dir.path)/corpus.txt ("), "\(last)")
    #expect(last.contains("; embed: ") && last.hasSuffix("; not written: \(out.path) (left as it was)"), "\(last)")

    // With no earlier output, nothing at all appears.
    let fresh = dir.appendingPathComponent("new.npy")
    let second = try interrupt(with: signal, out: fresh)
    #expect(second.status == 128 + signal)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["corpus.txt", "e.npy"])
  }

  @Test("SIGKILL mid-run: the old output stays intact; a hidden .partial is left until the next run writes the file")
  func killed() throws {
    let dir = Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("e.npy")
    try Data("old output\n".utf8).write(to: out)
    let exit = try interrupt(with: SIGKILL, out: out)
    #expect(exit.signal == SIGKILL)
    #expect(try String(contentsOf: out, encoding: .utf8) == "old output\n")
    let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter {
      $0 != "corpus.txt" && $0 != "e.npy"
    }
    #expect(left.allSatisfy { $0.hasPrefix(".e.npy.") && $0.hasSuffix(".partial") }, "\(left)")

    // The next run that writes e.npy removes what the killed one left.
    let small = dir.appendingPathComponent("small.txt")
    try writeLines(3, to: small)
    let rerun = try Child.spawn(["embed", "--model", tiny, "--input", small.path, "--out", out.path]).wait()
    #expect(rerun.status == 0, "\(rerun)")
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["corpus.txt", "e.npy", "small.txt"])
  }
}

/// The memory budget of a forward pass, without a child process.
@Suite("Robustness: memory budget")
struct MemoryBudgetTests {
  @Test("a batch over the budget is refused before allocation, with how many sequences fit")
  func refuses() throws {
    let model = try BertModel.load(from: Fixtures.tiny)
    let encodings = try (0..<1000).map { _ in try model.tokenizer.encode(String(repeating: "word ", count: 100)) }
    #expect(encodings[0].count == 64)
    let budget = 1 << 20
    #expect(throws: Never.self) {
      try MemoryBudget.check(
        Array(encodings.prefix(2)), config: model.config, options: EncodeOptions(), hostActivations: true,
        budget: budget)
    }
    do {
      try MemoryBudget.check(
        encodings, config: model.config, options: EncodeOptions(maps: .all), hostActivations: true, budget: budget)
      Issue.record("accepted")
    } catch BertScopeError.outOfDeviceMemory(let bytes, let detail) {
      #expect(bytes > budget)
      let fit = Int(detail.split(separator: " ").drop { $0 != "most" }.dropFirst().first ?? "") ?? -1
      #expect(fit >= 1 && fit < 1000, "\(detail)")
      #expect(throws: Never.self) {
        try MemoryBudget.check(
          Array(encodings.prefix(fit)), config: model.config, options: EncodeOptions(maps: .all), hostActivations: true,
          budget: budget)
      }
    }
    #expect(throws: BertScopeError.self) {
      try MemoryBudget.check(
        [encodings[0]], config: model.config, options: EncodeOptions(maps: .all), hostActivations: true, budget: 1024)
    }
  }

  @Test("BERTSCOPE_MEMORY_LIMIT syntax")
  func parse() {
    #expect(MemoryBudget.parse("512M") == 512 << 20)
    #expect(MemoryBudget.parse("2g") == 2 << 30)
    #expect(MemoryBudget.parse("12345") == 12345)
    #expect(MemoryBudget.parse("lots") == nil && MemoryBudget.parse("-1G") == nil && MemoryBudget.parse("0") == nil)
  }

  @Test("the estimate tracks the CPU pass: activations, scratch and held attention maps")
  func estimate() throws {
    let c = BertConfig(vocabSize: 10, hiddenSize: 384, numLayers: 6, numHeads: 12, intermediateSize: 1536)
    // Without maps, features or distances no layer keeps probabilities (attentionContextOnly).
    let none = MemoryBudget.estimate(lengths: [128], config: c, mapLayers: 0, mapHeads: 0, hostActivations: true)
    #expect(none == 4 * (128 * 384 * 6 + 128 * 1536))
    let all = MemoryBudget.estimate(lengths: [128], config: c, mapLayers: 6, mapHeads: 12, hostActivations: true)
    #expect(all - none == 4 * 6 * 128 * 128 * 12)
    // Features need one scratch map buffer for the layers whose maps are not kept.
    let features = MemoryBudget.estimate(
      lengths: [128], config: c, mapLayers: 2, mapHeads: 12, hostActivations: true, features: true)
    #expect(features - none == 4 * 3 * 128 * 128 * 12)
    let allFeatures = MemoryBudget.estimate(
      lengths: [128], config: c, mapLayers: 6, mapHeads: 12, hostActivations: true, features: true)
    #expect(allFeatures == all)
  }
}
