import BertScopeKernels
import Foundation
import Synchronization

/// Where the kernel parameters a backend runs with came from.
public enum OpenCLTuningSource: String, Sendable, Codable {
  /// An entry of the user's tuning file (`bertscope tune`), for this device, driver and kernels.
  case user
  /// An entry of the built-in database shipped with the kernels (`Kernels/tuning-builtin.json`).
  case builtin = "built-in"
  /// The per-vendor defaults (`OpenCLKernelConfig.defaults`): no entry matched, or tuning is off.
  case defaults
  /// A configuration given by the caller (tests, the tuner's candidates).
  case explicit
}

/// Whether a backend (or a device) runs tuned parameters, and from where.
public struct OpenCLTuningStatus: Sendable, Equatable, Codable {
  /// Where the parameters came from.
  public let source: OpenCLTuningSource
  /// The tuned parameters applied, e.g. "gemmMR=4 gemmNR=32 attentionRows=8"; empty for defaults.
  public let parameters: String
  /// The file the entry was read from (nil for defaults).
  public let file: String?
  /// Why files or entries were ignored (for stderr, once; `OpenCLTuning.notesOnce`).
  public let notes: [String]

  /// True when an entry (user or built-in) was applied.
  public var isTuned: Bool { source == .user || source == .builtin }

  /// "tuned", "built-in tuning", "defaults" or "explicit config": what `bertscope devices` prints.
  public var label: String {
    switch source {
    case .user: return "tuned"
    case .builtin: return "built-in tuning"
    case .defaults: return "defaults"
    case .explicit: return "explicit config"
    }
  }
}

/// The kernel parameters a tuning entry sets. Every field is optional: an entry sets only what
/// was tuned, and files written before a field existed still decode. Adding a parameter: one
/// property here and one row in `fields` (its config key path and validity check).
struct OpenCLTuningParameters: Codable, Sendable, Equatable, CustomStringConvertible {
  var gemmTiles: GPUGemmTiles?
  var gemmSmallTiles: GPUGemmTiles?
  var gemmMR: Int?
  var gemmNR: Int?
  var gemmLocal: Int?
  var attentionRows: Int?
  var reductionGroup: Int?
  // Added with the vector GEMM and the GPU attention kernels; absent in older files.
  var gemmVector: Bool?
  var flashRows: Int?
  var flashKeys: Int?
  var contextRows: Int?
  var contextRowsPerItem: Int?
  var contextKeys: Int?

  /// The device limits a parameter is checked against before it is used.
  struct Limits: Sendable {
    var maxWorkGroupSize: Int
    var localMemoryBytes: UInt64
    init(maxWorkGroupSize: Int, localMemoryBytes: UInt64) {
      self.maxWorkGroupSize = maxWorkGroupSize
      self.localMemoryBytes = localMemoryBytes
    }
    init(_ device: OpenCLDeviceInfo) {
      self.init(maxWorkGroupSize: device.maxWorkGroupSize, localMemoryBytes: device.localMemoryBytes)
    }
  }

  /// One parameter: its name, how it is applied to a config when present and valid, merged and
  /// printed.
  struct Field {
    let name: String
    /// nil when absent or applied; else why it was ignored.
    let apply: (OpenCLTuningParameters, inout OpenCLKernelConfig, Limits) -> String?
    let merge: (inout OpenCLTuningParameters, OpenCLTuningParameters) -> Void
    let describe: (OpenCLTuningParameters) -> String?
    let read: (inout OpenCLTuningParameters, OpenCLKernelConfig) -> Void
  }

  static func field<T: CustomStringConvertible>(
    _ name: String, _ own: WritableKeyPath<OpenCLTuningParameters, T?>,
    _ config: WritableKeyPath<OpenCLKernelConfig, T>,
    valid: @escaping (T, Limits) -> Bool
  ) -> Field {
    Field(
      name: name,
      apply: { p, c, limits in
        guard let value = p[keyPath: own] else { return nil }
        guard valid(value, limits) else {
          return "\(name)=\(value) is not valid on this device (max work-group \(limits.maxWorkGroupSize), "
            + "\(limits.localMemoryBytes) bytes of local memory); ignored"
        }
        c[keyPath: config] = value
        return nil
      },
      merge: { into, from in
        if let v = from[keyPath: own] { into[keyPath: own] = v }
      },
      describe: { p in p[keyPath: own].map { "\(name)=\($0)" } },
      read: { p, c in p[keyPath: own] = c[keyPath: config] })
  }

  /// Every parameter, in the order they are printed.
  static var fields: [Field] {
    let powerOfTwo = { (v: Int) in v > 0 && v & (v - 1) == 0 }
    return [
      field("gemmTiles", \.gemmTiles, \.gemmTiles) {
        $0.isValid(maxWorkGroupSize: $1.maxWorkGroupSize, localMemoryBytes: $1.localMemoryBytes)
      },
      field("gemmSmallTiles", \.gemmSmallTiles, \.gemmSmallTiles) {
        $0.isValid(maxWorkGroupSize: $1.maxWorkGroupSize, localMemoryBytes: $1.localMemoryBytes)
      },
      // gemm_cpu.cl: MR 1…8 rows per work-item, NR 8, 16 or 32 (its #error otherwise).
      field("gemmMR", \.gemmMR, \.gemmMR) { v, _ in (1...8).contains(v) },
      field("gemmNR", \.gemmNR, \.gemmNR) { v, _ in [8, 16, 32].contains(v) },
      field("gemmLocal", \.gemmLocal, \.gemmLocal) { v, l in v >= 1 && v <= min(l.maxWorkGroupSize, 64) },
      field("attentionRows", \.attentionRows, \.attentionRows) { v, _ in powerOfTwo(v) && v <= 16 },
      // The reductions' tree needs a power of two; at least a warp / SIMD width.
      field("reductionGroup", \.reductionGroup, \.reductionGroup) { v, l in
        powerOfTwo(v) && v >= 16 && v <= l.maxWorkGroupSize
      },
      // Whether the tiles can run kernel_gemm_gpu_vec is checked on the whole config
      // (`OpenCLKernelConfig.apply`): it depends on gemmTiles too.
      field("gemmVector", \.gemmVector, \.gemmVector) { _, _ in true },
      // attention_flash.cl: BR work-items per group (one query row each); BC keys per __local
      // tile (halved at run time until 2 · BC · headDim floats fit the local memory).
      field("flashRows", \.flashRows, \.flashRows) { v, l in powerOfTwo(v) && v >= 8 && v <= l.maxWorkGroupSize },
      field("flashKeys", \.flashKeys, \.flashKeys) { v, _ in powerOfTwo(v) && (4...128).contains(v) },
      // kernel_attention_context_gpu: CR rows per group, CRI per work-item (CR a multiple of
      // CRI, else the backend runs the per-row kernel), CK keys per tile; its __local use is
      // checked against the device at run time (`contextLocalBytes`).
      field("contextRows", \.contextRows, \.contextRows) { v, _ in powerOfTwo(v) && (1...64).contains(v) },
      field("contextRowsPerItem", \.contextRowsPerItem, \.contextRowsPerItem) { v, _ in
        powerOfTwo(v) && (1...16).contains(v)
      },
      field("contextKeys", \.contextKeys, \.contextKeys) { v, _ in powerOfTwo(v) && (4...128).contains(v) },
    ]
  }

  /// True when no field is set.
  var isEmpty: Bool { description.isEmpty }

  /// `other`'s fields over these.
  func merging(_ other: OpenCLTuningParameters) -> OpenCLTuningParameters {
    var out = self
    for f in Self.fields { f.merge(&out, other) }
    return out
  }

  /// The fields named in `names` as `config` has them (a tuner's default candidate).
  static func reading(_ names: [String], from config: OpenCLKernelConfig) -> OpenCLTuningParameters {
    var out = OpenCLTuningParameters()
    for f in fields where names.contains(f.name) { f.read(&out, config) }
    return out
  }

  /// e.g. "gemmMR=4 gemmNR=32 attentionRows=8"; "" when empty.
  var description: String { Self.fields.compactMap { $0.describe(self) }.joined(separator: " ") }
}

/// One measured entry of a tuning database.
struct OpenCLTuningEntry: Codable, Sendable, Equatable {
  /// `CL_DEVICE_NAME`.
  var device: String
  /// `CL_DEVICE_VENDOR` (informational; not part of the key).
  var vendor: String?
  /// `CL_DRIVER_VERSION`.
  var driverVersion: String
  /// `OpenCLTuning.kernelHash()` of the sources tuned.
  var kernelHash: String
  /// The kernel variant, "cpu" or "gpu".
  var variant: String
  var parameters: OpenCLTuningParameters
  /// When it was measured (ISO 8601).
  var measured: String?
  /// The model shape it was tuned on.
  var shape: Shape?
  /// Milliseconds of the tuned ops with the defaults and with these parameters.
  var defaultMs: Double?
  var bestMs: Double?

  struct Shape: Codable, Sendable, Equatable {
    var model: String?
    var hidden: Int
    var intermediate: Int
    var heads: Int
    var batch: Int
    var length: Int
  }

  func matches(_ key: OpenCLTuning.Key) -> Bool {
    device == key.device && driverVersion == key.driverVersion && kernelHash == key.kernelHash
      && variant == key.variant.rawValue
  }
}

/// The tuning database: `{"version": 1, "entries": [...]}` files, the user's
/// (`${XDG_CACHE_HOME:-~/.cache}/bertscope/tuning.json`, written by `bertscope tune`) and the
/// built-in one shipped with the kernels (`tuning-builtin.json`). Lookup: the user's file, then
/// the built-in one, then the per-vendor defaults. Any problem with a file (unreadable, not
/// JSON, another version) or its entries (other device, driver, kernels) is a note, never an
/// error.
public enum OpenCLTuning {
  /// The file format's version.
  public static let version = 1
  /// The built-in database's file name, in the kernels' resource folder.
  public static let builtinName = "tuning-builtin.json"

  /// What identifies an entry: device, driver, kernel sources and variant.
  struct Key: Sendable, Equatable {
    var device: String
    var driverVersion: String
    var kernelHash: String
    var variant: OpenCLKernelConfig.Variant

    init(device: String, driverVersion: String, kernelHash: String, variant: OpenCLKernelConfig.Variant) {
      self.device = device
      self.driverVersion = driverVersion
      self.kernelHash = kernelHash
      self.variant = variant
    }

    init(_ info: OpenCLDeviceInfo, variant: OpenCLKernelConfig.Variant, kernelHash: String = OpenCLTuning.kernelHash) {
      self.init(device: info.name, driverVersion: info.driverVersion, kernelHash: kernelHash, variant: variant)
    }
  }

  /// Which files a backend consults.
  struct Lookup: Sendable {
    var enabled = true
    var userFile: URL?
    var builtinFile: URL?
    var kernelHash = OpenCLTuning.kernelHash

    /// `BERTSCOPE_TUNING=off` disables tuning; the user file is `defaultURL`.
    static var environment: Lookup {
      let off = ProcessInfo.processInfo.environment["BERTSCOPE_TUNING"]?.lowercased()
      return Lookup(
        enabled: !["off", "0", "no", "false"].contains(off ?? ""), userFile: defaultURL, builtinFile: builtinURL)
    }
  }

  /// `$BERTSCOPE_TUNING_FILE` if set, else `${XDG_CACHE_HOME:-~/.cache}/bertscope/tuning.json`.
  public static var defaultURL: URL {
    let env = ProcessInfo.processInfo.environment
    if let file = env["BERTSCOPE_TUNING_FILE"], !file.isEmpty { return URL(fileURLWithPath: file) }
    let base: URL
    if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty {
      base = URL(fileURLWithPath: xdg, isDirectory: true)
    } else {
      base = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache", isDirectory: true)
    }
    return base.appendingPathComponent("bertscope/tuning.json")
  }

  /// The folder holding the kernel sources (the first of `KernelSource.searchPaths` with common.cl).
  static var kernelFolder: URL? {
    KernelSource.searchPaths.first {
      FileManager.default.fileExists(atPath: $0.appendingPathComponent("common.cl").path)
    }
  }

  /// The built-in database beside the kernel sources, if there is one.
  public static var builtinURL: URL? {
    guard let url = kernelFolder?.appendingPathComponent(builtinName),
      FileManager.default.fileExists(atPath: url.path)
    else { return nil }
    return url
  }

  /// FNV-1a 64 over every `*.cl` file of the kernel folder, sorted by name (name, NUL, text,
  /// NUL each), as 16 hex digits: entries tuned on other sources do not apply.
  public static let kernelHash: String = {
    guard let folder = kernelFolder,
      let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path)
    else { return "no-kernels" }
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for name in names.filter({ $0.hasSuffix(".cl") }).sorted() {
      let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) ?? Data()
      for byte in Array(name.utf8) + [0] + Array(data) + [0] {
        hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
      }
    }
    return String(format: "%016llx", hash)
  }()

  // MARK: - Files

  /// The entries of the database at `url`; a missing file is no entries and no note, any
  /// other problem no entries and a note. `label` names the file in notes.
  static func load(_ url: URL, label: String) -> (entries: [OpenCLTuningEntry], notes: [String]) {
    guard FileManager.default.fileExists(atPath: url.path) else { return ([], []) }
    let ignored = "; using defaults"
    guard let data = FileManager.default.contents(atPath: url.path) else {
      return ([], ["\(label): ignored (cannot read \(url.path))" + ignored])
    }
    let object: Any
    do {
      object = try JSONSerialization.jsonObject(with: data)
    } catch {
      return ([], ["\(label): ignored (not JSON: \(url.path))" + ignored])
    }
    guard let top = object as? [String: Any] else {
      return ([], ["\(label): ignored (not a JSON object: \(url.path))" + ignored])
    }
    guard let v = top["version"] as? Int, v == version else {
      return (
        [],
        ["\(label): ignored (version \(top["version"].map { "\($0)" } ?? "missing"), expected \(version))" + ignored]
      )
    }
    guard let list = top["entries"] as? [Any] else {
      return ([], ["\(label): ignored (no \"entries\" list)" + ignored])
    }
    var entries: [OpenCLTuningEntry] = []
    var malformed = 0
    for item in list {
      guard let itemData = try? JSONSerialization.data(withJSONObject: item),
        let entry = try? JSONDecoder().decode(OpenCLTuningEntry.self, from: itemData)
      else {
        malformed += 1
        continue
      }
      entries.append(entry)
    }
    let notes = malformed == 0 ? [] : ["\(label): \(malformed) malformed entr\(malformed == 1 ? "y" : "ies") ignored"]
    return (entries, notes)
  }

  /// The entry of `entries` for `key`, with notes on the entries for this device that do not
  /// match (another driver, kernel sources or variant) and, when `foreign`, on the count of
  /// entries for other devices.
  static func find(_ key: Key, in entries: [OpenCLTuningEntry], label: String, noteForeign: Bool)
    -> (entry: OpenCLTuningEntry?, notes: [String])
  {
    if let entry = entries.last(where: { $0.matches(key) }) { return (entry, []) }
    var reasons: [String] = []
    let mine = entries.filter { $0.device == key.device }
    let other = entries.count - mine.count
    if noteForeign && other > 0 { reasons.append("\(other) for other devices") }
    let drivers = mine.filter { $0.driverVersion != key.driverVersion }.count
    if drivers > 0 { reasons.append("\(drivers) for another driver version than \(key.driverVersion)") }
    let stale = mine.filter { $0.driverVersion == key.driverVersion && $0.kernelHash != key.kernelHash }.count
    if stale > 0 { reasons.append("\(stale) tuned on other kernel sources (stale; run `bertscope tune` again)") }
    let variants =
      mine.filter {
        $0.driverVersion == key.driverVersion && $0.kernelHash == key.kernelHash && $0.variant != key.variant.rawValue
      }.count
    if variants > 0 { reasons.append("\(variants) for other kernel variants than \(key.variant.rawValue)") }
    guard !reasons.isEmpty else { return (nil, []) }
    return (nil, ["\(label): entries ignored for \(key.device): " + reasons.joined(separator: ", ")])
  }

  /// The entry that applies to `key` under `lookup` (user file, then built-in), its source and
  /// file, and the notes on everything ignored.
  static func resolve(_ key: Key, lookup: Lookup) -> (
    entry: OpenCLTuningEntry?, source: OpenCLTuningSource, file: URL?, notes: [String]
  ) {
    guard lookup.enabled else { return (nil, .defaults, nil, []) }
    var notes: [String] = []
    if let url = lookup.userFile {
      let loaded = load(url, label: url.lastPathComponent)
      notes += loaded.notes
      let found = find(key, in: loaded.entries, label: url.lastPathComponent, noteForeign: true)
      if let entry = found.entry { return (entry, .user, url, notes) }
      notes += found.notes
    }
    if let url = lookup.builtinFile {
      let loaded = load(url, label: "built-in tuning")
      notes += loaded.notes
      // The built-in database holds entries for many devices: only this device's are noted.
      let found = find(key, in: loaded.entries, label: "built-in tuning", noteForeign: false)
      if let entry = found.entry { return (entry, .builtin, url, notes) }
      notes += found.notes
    }
    return (nil, .defaults, nil, notes)
  }

  /// The configuration a backend with no explicit config runs on `device`: the per-vendor
  /// defaults with the matching entry applied (fields the device cannot run are ignored,
  /// with a note).
  static func configuration(for device: OpenCLDeviceInfo, lookup: Lookup) -> (
    config: OpenCLKernelConfig, status: OpenCLTuningStatus
  ) {
    var config = OpenCLKernelConfig.defaults(for: device)
    let found = resolve(Key(device, variant: config.variant, kernelHash: lookup.kernelHash), lookup: lookup)
    var notes = found.notes
    guard let entry = found.entry else {
      return (config, OpenCLTuningStatus(source: .defaults, parameters: "", file: nil, notes: notes))
    }
    notes += config.apply(entry.parameters, limits: .init(device))
    return (
      config,
      OpenCLTuningStatus(
        source: found.source, parameters: entry.parameters.description, file: found.file?.path, notes: notes)
    )
  }

  /// The tuning a backend on `device` would run with (`bertscope devices`), from the
  /// environment's files.
  public static func status(for device: OpenCLDeviceInfo) -> OpenCLTuningStatus {
    configuration(for: device, lookup: .environment).status
  }

  /// Adds `entry` to the database at `url` (atomically: temp file + rename), replacing the
  /// entries for the same device, driver and variant (whatever their kernel hash). A file that
  /// cannot be used is replaced, with a note.
  static func store(_ entry: OpenCLTuningEntry, to url: URL) throws -> [String] {
    let loaded = load(url, label: url.lastPathComponent)
    var notes = loaded.notes.map { $0.replacingOccurrences(of: "; using defaults", with: "; replacing it") }
    var entries = loaded.entries.filter {
      !($0.device == entry.device && $0.driverVersion == entry.driverVersion && $0.variant == entry.variant)
    }
    if entries.count < loaded.entries.count { notes.append("replaced the earlier entry for \(entry.device)") }
    entries.append(entry)
    try write(entries, to: url)
    return notes
  }

  /// Writes a database of `entries` to `url` atomically.
  static func write(_ entries: [OpenCLTuningEntry], to url: URL, comment: String? = nil) throws {
    struct File: Encodable {
      let version: Int
      let comment: String?
      let entries: [OpenCLTuningEntry]
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let data = try encoder.encode(File(version: version, comment: comment, entries: entries))
    try AtomicFile.write(data + Data("\n".utf8), to: url)
  }

  private static let printed = Mutex<Set<String>>([])

  /// The notes of `notes` not returned before in this process: a caller prints each note once,
  /// however many backends it makes.
  public static func notesOnce(_ notes: [String]) -> [String] {
    printed.withLock { seen in
      notes.filter { seen.insert($0).inserted }
    }
  }
}
