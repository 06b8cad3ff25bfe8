import Foundation
import Testing

@testable import BertScope

/// The autotuner and the tuning database (`OpenCLTuner`, `OpenCLTuning`) on the test device,
/// at the tiny model's shapes: the tuner finds, stores and reloads an entry; a backend runs it
/// and still matches the CPU backend; a corrupt, wrong-version, foreign or stale file or entry
/// is ignored with a note; a candidate that fails to verify or to build is reported and never
/// chosen; `bertscope tune` and `bertscope devices`.
@Suite("OpenCLTuning", .enabled(if: OpenCLTest.available, OpenCLTest.skipReason))
struct OpenCLTuningTests {
  typealias Parameters = OpenCLTuningParameters

  static var device: OpenCLDeviceInfo { get throws { try OpenCLDevices.all()[OpenCLTest.deviceIndex] } }
  /// The tiny model's shapes (hidden 32, intermediate 64, 4 heads) at 2 × 16 tokens.
  static let shape = OpenCLTuner.Shape(hidden: 32, intermediate: 64, heads: 4, batch: 2, length: 16)

  /// The default budget is only a cap (the CPU variant's candidates take ~5 s here, kernel builds
  /// included); 20 s ran out once with a cold PoCL cache while other suites built their kernels,
  /// leaving the injected candidates untried.
  static func options(
    _ variant: OpenCLKernelConfig.Variant = .cpu, budget: Double = 120, hooks: OpenCLTuner.Hooks = .init()
  ) -> OpenCLTuner.Options {
    var options = OpenCLTuner.Options(device: OpenCLTest.deviceIndex, shape: shape, budgetSeconds: budget)
    options.variant = variant
    options.runs = 3
    options.hooks = hooks
    return options
  }

  /// One CPU-variant run with three injected bad candidates: a wrong result (gemmLocal=3,
  /// outputs corrupted), a failing build (attentionRows=2, attention_probs.cl broken) and a
  /// parameter the kernel does not take (gemmNR=12).
  static let injected: Result<OpenCLTuner.Report, any Error> = Result {
    var hooks = OpenCLTuner.Hooks()
    hooks.extraCandidates = [
      "gemm MRxNR": [Parameters(gemmMR: 4, gemmNR: 12)], "gemm local": [Parameters(gemmLocal: 3)],
      "attention rows": [Parameters(attentionRows: 2)],
    ]
    hooks.corrupts = { $0.gemmLocal == 3 }
    hooks.faults = { $0.attentionRows == 2 ? OpenCLFaults(brokenKernels: ["attention_probs.cl"]) : OpenCLFaults() }
    return try OpenCLTuner.tune(options(hooks: hooks))
  }

  static func temporaryFile(_ name: String = "tuning.json") -> URL {
    Fixtures.temporaryDirectory("bertscope-tuning").appendingPathComponent(name)
  }

  static func lookup(_ url: URL?, builtin: URL? = nil, hash: String = OpenCLTuning.kernelHash) -> OpenCLTuning.Lookup {
    OpenCLTuning.Lookup(enabled: true, userFile: url, builtinFile: builtin, kernelHash: hash)
  }

  static func entry(
    _ info: OpenCLDeviceInfo, variant: OpenCLKernelConfig.Variant, parameters: Parameters,
    device: String? = nil, driver: String? = nil, hash: String = OpenCLTuning.kernelHash
  ) -> OpenCLTuningEntry {
    OpenCLTuningEntry(
      device: device ?? info.name, vendor: info.vendor, driverVersion: driver ?? info.driverVersion, kernelHash: hash,
      variant: variant.rawValue, parameters: parameters)
  }

  // MARK: - Tuner

  @Test("the tuner times the defaults first, chooses only verified candidates, and stores the entry")
  func tunesAndStores() throws {
    let report = try Self.injected.get()
    let info = try Self.device
    #expect(report.variant == "cpu")
    for group in ["gemm MRxNR", "gemm local", "attention rows"] {
      let first = report.candidates.first { $0.group == group }
      #expect(first?.isDefault == true && first?.ms != nil, "\(group): the defaults were not timed first")
      #expect(report.candidates.filter { $0.group == group && $0.chosen }.count == 1, "\(group): not one chosen")
    }
    #expect(report.candidates.allSatisfy { !$0.chosen || $0.ms != nil })
    #expect(report.candidates.filter { $0.ms != nil }.count >= 4, "\(report.candidates.map(\.line))")
    #expect(report.bestMs > 0 && report.bestMs <= report.defaultMs)
    for key in ["gemmMR=", "gemmNR=", "gemmLocal=", "attentionRows="] {
      #expect(report.chosen.contains(key), "\(report.chosen)")
    }

    let url = Self.temporaryFile()
    #expect(try report.store(to: url).isEmpty)
    let loaded = OpenCLTuning.load(url, label: "tuning.json")
    #expect(loaded.notes.isEmpty && loaded.entries.count == 1)
    let entry = try #require(loaded.entries.first)
    #expect(entry.matches(OpenCLTuning.Key(info, variant: .cpu)))
    #expect(entry.parameters.description == report.chosen)
    #expect(entry.shape?.hidden == 32 && entry.shape?.batch == 2 && entry.defaultMs == report.defaultMs)
    #expect(entry.measured != nil)
    // Storing again replaces this device's entry; another device's stays.
    let other = Self.entry(info, variant: .cpu, parameters: Parameters(gemmLocal: 1), device: "Another Device")
    try OpenCLTuning.write([other], to: url)
    let notes = try report.store(to: url)
    #expect(notes.isEmpty)
    _ = try report.store(to: url)
    let twice = OpenCLTuning.load(url, label: "tuning.json").entries
    #expect(twice.count == 2 && twice.filter { $0.device == info.name }.count == 1)
    let text = try String(contentsOf: url, encoding: .utf8)
    #expect(text.contains("\"version\" : 1"))
  }

  @Test("a candidate that fails to verify is reported and never chosen")
  func wrongCandidate() throws {
    let report = try Self.injected.get()
    let bad = try #require(report.candidates.first { $0.parameters == "gemmLocal=3" })
    guard case .wrong(let why) = bad.outcome else {
      Issue.record("gemmLocal=3 was \(bad.outcome), not rejected")
      return
    }
    #expect(why.contains("linear") && why.contains("|error|"), "\(why)")
    #expect(!bad.chosen && !report.chosen.contains("gemmLocal=3"))
    #expect(bad.line.contains("failed to verify against the CPU backend"))
  }

  @Test("a candidate that fails to build, or that the device cannot run, is skipped")
  func brokenCandidates() throws {
    let report = try Self.injected.get()
    let broken = try #require(report.candidates.first { $0.parameters == "attentionRows=2" })
    guard case .failed(let why) = broken.outcome else {
      Issue.record("attentionRows=2 was \(broken.outcome), not a build failure")
      return
    }
    #expect(why.contains("attention_probs.cl") || why.contains("build"), "\(why)")
    #expect(!broken.chosen && !report.chosen.contains("attentionRows=2"))
    let invalid = try #require(report.candidates.first { $0.parameters == "gemmMR=4 gemmNR=12" })
    #expect(invalid.outcome == .invalid(invalid.outcome.invalidReason ?? "-"), "\(invalid.outcome)")
    #expect(invalid.line.contains("gemmNR=12 is not valid"))
    #expect(!report.chosen.contains("gemmNR=12"))
  }

  @Test("the GPU variant's groups on the test device, within a tiny budget")
  func gpuVariant() throws {
    let report = try OpenCLTuner.tune(Self.options(.gpu, budget: 1))
    #expect(report.variant == "gpu")
    let groups = [
      "gemm tiles", "gemm vector", "flash tiles", "context tiles", "gemm small tiles", "reduction group",
      "attention rows",
    ]
    for group in groups {
      let first = report.candidates.first { $0.group == group }
      #expect(first?.isDefault == true && first?.ms != nil, "\(group): \(first?.line ?? "no candidate")")
    }
    #expect(report.untried > 0, "a budget of 1 s tried everything")
    #expect(report.chosen.contains("gemmTiles=") && report.chosen.contains("reductionGroup="))
  }

  @Test(
    "the GPU kernels' parameters (vector GEMM, flash and P·V tiles) apply and verify on every workload the tuner times"
  )
  func gpuKernelParameters() throws {
    let info = try Self.device
    let limits = Parameters.Limits(info)
    var config = OpenCLKernelConfig.defaults(
      for: .gpu, maxWorkGroupSize: info.maxWorkGroupSize, vendor: info.vendor, localMemoryBytes: info.localMemoryBytes)
    let defaults = config
    let vectorTiles = try #require(
      GPUGemmTiles.candidates(maxWorkGroupSize: info.maxWorkGroupSize, localMemoryBytes: info.localMemoryBytes)
        .first { $0.canRunVector(limits) && $0 != config.gemmTiles })
    let parameters = Parameters(
      gemmTiles: vectorTiles, gemmSmallTiles: vectorTiles, gemmVector: true, flashRows: 32, flashKeys: 16,
      contextRows: 8, contextRowsPerItem: 2, contextKeys: 16)
    #expect(config.apply(parameters, limits: limits).isEmpty)
    #expect(config.gemmVector && config.flashRows == 32 && config.flashKeys == 16)
    #expect(config.contextRows == 8 && config.contextRowsPerItem == 2 && config.contextKeys == 16)
    #expect(
      Parameters.reading(["gemmVector", "flashRows", "contextKeys"], from: config).description
        == "gemmVector=true flashRows=32 contextKeys=16")
    // Every workload on a backend running them, against the CPU backend.
    let cpu = try CPUBackend()
    let backend = try OpenCLBackend(device: OpenCLTest.deviceIndex, config: config)
    for workload in [OpenCLTuner.Workload.linear(rows: 37), .attention, .attentionNoMaps] {
      let expected = try OpenCLTuner.prepare(workload, on: cpu, shape: Self.shape)
      try expected.run()
      let actual = try OpenCLTuner.prepare(workload, on: backend, shape: Self.shape)
      try actual.run()
      let problem = OpenCLTuner.compare(try actual.outputs(), try expected.outputs())
      #expect(problem == nil, "\(workload): \(problem ?? "")")
    }
    // Values the kernels cannot take are refused; the vector GEMM with tiles it cannot run is
    // turned off, with a note.
    var refused = defaults
    let notes = refused.apply(
      Parameters(flashRows: 48, flashKeys: 256, contextRows: 128, contextRowsPerItem: 3, contextKeys: 2), limits: limits
    )
    #expect(notes.count == 5, "\(notes)")
    #expect(refused == defaults)
    var notVector = defaults
    let odd = GPUGemmTiles(tileM: 48, tileN: 48, tileK: 16, wptM: 3, wptN: 3)
    let vectorNotes = notVector.apply(Parameters(gemmTiles: odd, gemmVector: true), limits: limits)
    #expect(!notVector.gemmVector)
    #expect(vectorNotes.contains { $0.contains("gemmVector=true cannot run") }, "\(vectorNotes)")
    // The new fields survive a file; files without them still decode.
    let url = Self.temporaryFile()
    try OpenCLTuning.write([Self.entry(info, variant: .gpu, parameters: parameters)], to: url)
    #expect(OpenCLTuning.load(url, label: "t").entries.first?.parameters == parameters)
  }

  // MARK: - Database

  @Test("a new backend loads the entry, runs with its parameters and matches the CPU backend")
  func backendRunsTuned() async throws {
    let info = try Self.device
    let variant = OpenCLKernelConfig.defaults(for: info).variant
    // Not the defaults, so that the backend visibly runs the entry.
    let parameters =
      variant == .cpu
      ? Parameters(gemmMR: 2, gemmNR: 16, gemmLocal: 2, attentionRows: 16)
      : Parameters(gemmTiles: .small, attentionRows: 4, reductionGroup: 64)
    let url = Self.temporaryFile()
    try OpenCLTuning.write([Self.entry(info, variant: variant, parameters: parameters)], to: url)
    let backend = try OpenCLBackend(device: OpenCLTest.deviceIndex, config: nil, tuning: Self.lookup(url))
    #expect(backend.tuning.source == .user && backend.tuning.isTuned && backend.tuning.notes.isEmpty)
    #expect(backend.tuning.file == url.path && backend.tuning.parameters == parameters.description)
    #expect(backend.name.contains(", tuned)"))
    var expected = OpenCLKernelConfig.defaults(for: info)
    #expect(expected.apply(parameters, limits: .init(info)).isEmpty)
    #expect(backend.config == expected)
    #expect(backend.config != OpenCLKernelConfig.defaults(for: info))
    try checkLinear(backend, shapes: [(7, 64, 96), (130, 33, 70)], seed: 41, label: "tuned")

    let model = try await ModelCache.shared.model(Fixtures.model("tiny-bert"))
    let golden = try GoldenCase(Fixtures.golden("tiny", "batch"))
    let cpu = try Forward(backend: try CPUBackend(), weights: model.weights).run(
      golden.encodings, options: EncodeOptions())
    let cl = try Forward(backend: backend, weights: model.weights).run(golden.encodings, options: EncodeOptions())
    for b in 0..<golden.lengths.count {
      expectClose(cl.hiddenState(b), cpu.hiddenState(b), atol: 1e-4, "tuned hidden #\(b)")
    }

    // Disabled: the defaults.
    var off = Self.lookup(url)
    off.enabled = false
    let plain = try OpenCLBackend(device: OpenCLTest.deviceIndex, config: nil, tuning: off)
    #expect(plain.tuning.source == .defaults && plain.config == OpenCLKernelConfig.defaults(for: info))
    // The built-in database when the user's file has nothing.
    let builtin = try OpenCLBackend(
      device: OpenCLTest.deviceIndex, config: nil, tuning: Self.lookup(Self.temporaryFile("none.json"), builtin: url))
    #expect(builtin.tuning.source == .builtin && builtin.name.contains("built-in tuning"))
  }

  @Test("a corrupt file, a wrong version and a missing entries list are ignored with a note")
  func badFiles() throws {
    let info = try Self.device
    let cases: [(String, String)] = [
      ("{\"version\": 1, \"entries\": [", "not JSON"),
      ("[1, 2]", "not a JSON object"),
      ("{\"version\": 2, \"entries\": []}", "version 2, expected 1"),
      ("{\"entries\": []}", "version missing"),
      ("{\"version\": 1}", "no \"entries\" list"),
    ]
    for (text, note) in cases {
      let url = Self.temporaryFile()
      try Data(text.utf8).write(to: url)
      let backend = try OpenCLBackend(device: OpenCLTest.deviceIndex, config: nil, tuning: Self.lookup(url))
      #expect(backend.tuning.source == .defaults, "\(text)")
      #expect(backend.config == OpenCLKernelConfig.defaults(for: info))
      #expect(backend.tuning.notes.count == 1, "\(backend.tuning.notes)")
      let first = backend.tuning.notes.first ?? ""
      #expect(first.hasPrefix("tuning.json: ignored (") && first.contains(note), "\(first)")
      #expect(first.hasSuffix("; using defaults"))
    }
    // A malformed entry among good ones: that one is ignored, with a note.
    let url = Self.temporaryFile()
    let good = Self.entry(info, variant: .cpu, parameters: Parameters(gemmLocal: 2))
    let goodJSON = String(decoding: try JSONEncoder().encode(good), as: UTF8.self)
    try Data("{\"version\": 1, \"entries\": [{\"device\": 3}, \(goodJSON)]}".utf8).write(to: url)
    let loaded = OpenCLTuning.load(url, label: "tuning.json")
    #expect(loaded.entries == [good] && loaded.notes == ["tuning.json: 1 malformed entry ignored"])
    // Storing into a corrupt file replaces it.
    try Data("garbage".utf8).write(to: url)
    let notes = try OpenCLTuning.store(good, to: url)
    #expect(notes.first?.contains("replacing it") == true, "\(notes)")
    #expect(OpenCLTuning.load(url, label: "x").entries == [good])
  }

  @Test("entries for another device, driver, kernel-source hash or variant are ignored with a note")
  func foreignEntries() throws {
    let info = try Self.device
    let p = Parameters(gemmLocal: 2, attentionRows: 8)
    let key = OpenCLTuning.Key(info, variant: .cpu)
    let cases: [(OpenCLTuningEntry, String)] = [
      (Self.entry(info, variant: .cpu, parameters: p, device: "Some Other GPU"), "1 for other devices"),
      (Self.entry(info, variant: .cpu, parameters: p, driver: "0.0-old"), "another driver version"),
      (Self.entry(info, variant: .cpu, parameters: p, hash: "0123456789abcdef"), "other kernel sources (stale"),
      (Self.entry(info, variant: .gpu, parameters: p), "other kernel variants"),
    ]
    for (entry, note) in cases {
      let url = Self.temporaryFile()
      try OpenCLTuning.write([entry], to: url)
      let found = OpenCLTuning.resolve(key, lookup: Self.lookup(url))
      #expect(found.entry == nil && found.source == .defaults)
      #expect(found.notes.count == 1 && found.notes.first?.contains(note) == true, "\(found.notes)")
      #expect(found.notes.first?.hasPrefix("tuning.json: entries ignored for \(info.name)") == true)
    }
    // The kernel hash a backend computes is the one entries are matched against.
    #expect(OpenCLTuning.kernelHash.count == 16 && OpenCLTuning.kernelHash != "no-kernels")
    let url = Self.temporaryFile()
    try OpenCLTuning.write([Self.entry(info, variant: .cpu, parameters: p, hash: "0123456789abcdef")], to: url)
    let stale = OpenCLTuning.resolve(
      OpenCLTuning.Key(info, variant: .cpu, kernelHash: "0123456789abcdef"), lookup: Self.lookup(url))
    #expect(stale.entry != nil && stale.source == .user)
    // The built-in database notes only this device's mismatches.
    let quiet = OpenCLTuning.resolve(
      key,
      lookup: Self.lookup(
        nil, builtin: Self.writeEntries([Self.entry(info, variant: .cpu, parameters: p, device: "X")])))
    #expect(quiet.notes.isEmpty)
    // Notes are handed out once per process.
    let unique = "test note \(UUID())"
    #expect(OpenCLTuning.notesOnce([unique, unique]) == [unique])
    #expect(OpenCLTuning.notesOnce([unique]).isEmpty)
  }

  static func writeEntries(_ entries: [OpenCLTuningEntry]) -> URL {
    let url = temporaryFile()
    try? OpenCLTuning.write(entries, to: url)
    return url
  }

  @Test("parameters the device cannot run are ignored with a note; the rest apply")
  func invalidParameters() throws {
    let limits = Parameters.Limits(maxWorkGroupSize: 128, localMemoryBytes: 16 * 1024)
    var config = OpenCLKernelConfig.defaults(for: .gpu, maxWorkGroupSize: 128, localMemoryBytes: 16 * 1024)
    let before = config
    let huge = GPUGemmTiles(tileM: 128, tileN: 128, tileK: 32, wptM: 8, wptN: 8)
    let notes = config.apply(
      Parameters(gemmTiles: huge, gemmNR: 12, attentionRows: 3, reductionGroup: 256), limits: limits)
    #expect(notes.count == 4, "\(notes)")
    #expect(config == before)
    #expect(config.apply(Parameters(reductionGroup: 64), limits: limits).isEmpty && config.reductionGroup == 64)
    // Fields absent from a file decode as nil (files from older versions).
    let decoded = try JSONDecoder().decode(Parameters.self, from: Data("{\"gemmMR\": 6}".utf8))
    #expect(decoded == Parameters(gemmMR: 6) && decoded.description == "gemmMR=6")
    #expect(
      Parameters().isEmpty
        && Parameters(gemmLocal: 2).merging(Parameters(gemmMR: 8)).description == "gemmMR=8 gemmLocal=2")
  }

  @Test("per-vendor defaults fit the device's limits")
  func vendorDefaults() {
    let nvidia = OpenCLKernelConfig.defaults(for: .gpu, maxWorkGroupSize: 1024, vendor: "NVIDIA Corporation")
    #expect(nvidia.gemmTiles == .large && nvidia.reductionGroup == 128 && nvidia.attentionRows == 8)
    let amd = OpenCLKernelConfig.defaults(
      for: .gpu, maxWorkGroupSize: 256, vendor: "Advanced Micro Devices, Inc.", localMemoryBytes: 64 * 1024)
    #expect(amd.reductionGroup == 256 && amd.gemmTiles.workGroupSize == 256)
    let intel = OpenCLKernelConfig.defaults(for: .gpu, maxWorkGroupSize: 512, vendor: "Intel(R) Corporation")
    #expect(intel.gemmTiles.workGroupSize == 128 && intel.gemmSmallTiles.workGroupSize == 64)
    #expect(intel.reductionGroup == 64 && intel.attentionRows == 4)
    let cpu = OpenCLKernelConfig.defaults(for: .cpu, maxWorkGroupSize: 4096, vendor: "Intel(R) Corporation")
    #expect(cpu.variant == .cpu && cpu == OpenCLKernelConfig.defaults(for: .cpu, maxWorkGroupSize: 4096))
    for vendor in ["NVIDIA", "AMD", "Intel", "ARM"] {
      for (wg, local) in [(64, UInt64(16 * 1024)), (128, UInt64(32 * 1024)), (1024, UInt64(48 * 1024))] {
        let c = OpenCLKernelConfig.defaults(for: .gpu, maxWorkGroupSize: wg, vendor: vendor, localMemoryBytes: local)
        #expect(c.gemmTiles.isValid(maxWorkGroupSize: wg, localMemoryBytes: local), "\(vendor) \(wg)")
        #expect(c.gemmSmallTiles.isValid(maxWorkGroupSize: wg, localMemoryBytes: local), "\(vendor) \(wg)")
        #expect(c.reductionGroup <= wg)
      }
    }
  }

  @Test("the built-in database ships with the kernels and is valid")
  func builtinDatabase() throws {
    let url = try #require(OpenCLTuning.builtinURL, "tuning-builtin.json is not beside the kernels")
    let loaded = OpenCLTuning.load(url, label: "built-in tuning")
    #expect(loaded.notes.isEmpty, "\(loaded.notes)")
    let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
    #expect((object?["comment"] as? String)?.isEmpty == false)
  }

  // MARK: - Command line

  @Test(
    "bertscope tune writes its entry to --out; devices then says tuned",
    .enabled(if: CLI.available, "the bertscope binary is not built next to the tests"))
  func tuneCommand() throws {
    let out = Self.temporaryFile("cli-tuning.json")
    let device = String(OpenCLTest.deviceIndex)
    let r = try CLI.run([
      "tune", "--model", Fixtures.tiny.path, "--device", device, "--budget", "1", "--batch", "2", "--length", "16",
      "--out", out.path,
    ])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("(default): "), "\(r.stdout)")
    #expect(
      r.stdout.contains("chosen (") && r.stdout.contains("speed-up") && r.stdout.contains("stored in \(out.path)"))
    let entries = OpenCLTuning.load(out, label: "x")
    #expect(entries.notes.isEmpty && entries.entries.count == 1)
    #expect(entries.entries.first?.device == (try Self.device).name)

    let listed = try CLI.run(["devices"], env: ["BERTSCOPE_TUNING_FILE": out.path])
    let line = listed.stdout.split(separator: "\n").first { $0.contains("[\(device)] ") }
    #expect(line?.hasSuffix("[tuned]") == true, "\(listed.stdout)")
    let json = try CLI.run(["devices", "--json"], env: ["BERTSCOPE_TUNING_FILE": out.path])
    let platforms = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
    let devices = platforms?.flatMap { $0["devices"] as? [[String: Any]] ?? [] } ?? []
    let mine = devices.first { $0["index"] as? Int == OpenCLTest.deviceIndex }
    #expect((mine?["tuning"] as? [String: String])?["source"] == "user", "\(json.stdout)")
    #expect(mine?["name"] as? String == (try Self.device).name)
    let off = try CLI.run(["devices"], env: ["BERTSCOPE_TUNING_FILE": out.path, "BERTSCOPE_TUNING": "off"])
    #expect(off.stdout.split(separator: "\n").first { $0.contains("[\(device)] ") }?.hasSuffix("[defaults]") == true)

    // A corrupt file: noted once on stderr, the defaults used.
    try Data("{".utf8).write(to: out)
    let corrupt = try CLI.run(["devices"], env: ["BERTSCOPE_TUNING_FILE": out.path])
    #expect(corrupt.status == 0 && corrupt.stderr.contains("ignored (not JSON"), "\(corrupt.stderr)")

    // Bad input: one line, non-zero exit.
    let noDevice = try CLI.run([
      "tune", "--model", Fixtures.tiny.path, "--device", "99", "--length", "16", "--out", out.path,
    ])
    #expect(noDevice.status != 0 && noDevice.stderr.contains("no OpenCL device 99"), "\(noDevice.stderr)")
    let noModel = try CLI.run(["tune", "--model", "/nonexistent/model", "--out", out.path])
    #expect(noModel.status != 0 && noModel.stderr.contains("/nonexistent/model"), "\(noModel.stderr)")
    #expect(noModel.stderr.split(separator: "\n").count == 1)
  }
}

extension OpenCLTuner.Outcome {
  var invalidReason: String? {
    if case .invalid(let why) = self { return why }
    return nil
  }
}
