import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The host memory one forward pass may take. A batch too large for it is refused before
/// anything is allocated, with what to reduce, rather than ending in an allocation trap or
/// the kernel's OOM killer. (Device memory is the OpenCL backend's concern; it reports
/// `outOfDeviceMemory` itself.)
public enum MemoryBudget {
  /// `BERTSCOPE_MEMORY_LIMIT` (bytes, or with a K/M/G suffix, powers of 1024) when set, else
  /// half of the machine's physical memory.
  public static var bytes: Int {
    if let raw = getenv("BERTSCOPE_MEMORY_LIMIT"), let limit = parse(String(cString: raw)) { return limit }
    let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
    return pages > 0 && size > 0 ? pages * size / 2 : 8 << 30
  }

  /// "512M" → 536870912; nil when malformed.
  static func parse(_ text: String) -> Int? {
    let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
    let shifts: [Character: Int] = ["K": 10, "M": 20, "G": 30, "T": 40]
    if let last = trimmed.last, let shift = shifts[last], let value = Int(trimmed.dropLast()), value > 0 {
      return value << shift
    }
    return Int(trimmed).flatMap { $0 > 0 ? $0 : nil }
  }

  /// Host bytes of a forward pass over sequences of `lengths` tokens. On the CPU backend (and
  /// OpenCL on a CPU device, whose buffers are host memory):
  /// activations `x, y, context` `[T, H]`, `qkv` `[T, 3H]`, `ffn` `[T, FFN]`, one probability
  /// buffer `[Σ heads·L²]` per layer whose maps are returned, plus one scratch buffer for the
  /// other layers when map `features` or `headDistances` need their probabilities (without
  /// them those layers run `attentionContextOnly`, which keeps none). Elsewhere
  /// only what comes back: the hidden state and the maps. Both: `hiddenStates` layer
  /// boundaries `[T, H]` when they are kept; with `headDistances`, every layer's
  /// probabilities (`layers · heads · Σ L²`, on the host for the CPU backend) and the pairwise
  /// sums read back (`count · (layers·heads)²`).
  static func estimate(
    lengths: [Int], config c: BertConfig, mapLayers: Int, mapHeads: Int, hostActivations: Bool, hiddenStates: Int = 0,
    headDistances: Bool = false, features: Bool = false
  ) -> Int {
    let tokens = lengths.reduce(0, +)
    let squares = lengths.reduce(0) { $0 + $1 * $1 }
    var floats = tokens * c.hiddenSize * (1 + hiddenStates)
    if hostActivations {
      let scratch = (features || headDistances) && mapLayers < c.numLayers ? 1 : 0
      floats += tokens * (5 * c.hiddenSize + c.intermediateSize) + squares * c.numHeads * (scratch + mapLayers)
    } else {
      floats += squares * mapHeads * mapLayers
    }
    if headDistances {
      let k = c.numLayers * c.numHeads
      floats += lengths.count * k * (k + 2) + (hostActivations ? squares * k : 0)
    }
    return floats * 4
  }

  /// Throws `outOfDeviceMemory` naming the batch, the estimate, the budget and how many
  /// sequences of this size would fit, when a pass over `encodings` would exceed `budget`.
  /// `fromLayer`: the first layer the pass runs (it keeps `layers − fromLayer + 1` boundaries
  /// when `options.hiddenStates` is set).
  static func check(
    _ encodings: [Encoding], config: BertConfig, options: EncodeOptions, hostActivations: Bool, fromLayer: Int = 0,
    budget: Int? = nil
  ) throws {
    guard !encodings.isEmpty else { return }
    let (layers, heads) = try options.maps.resolve(config)
    let lengths = encodings.map(\.count)
    let boundaries = options.hiddenStates ? max(config.numLayers - fromLayer + 1, 0) : 0
    let need = estimate(
      lengths: lengths, config: config, mapLayers: layers.count, mapHeads: heads.count,
      hostActivations: hostActivations,
      hiddenStates: boundaries, headDistances: options.headDistances, features: options.featureKinds != nil)
    let limit = budget ?? bytes
    guard need > limit else { return }
    let tokens = lengths.reduce(0, +)
    let fit = Int(Double(limit) / Double(need) * Double(encodings.count))
    let maps = layers.isEmpty ? "" : ", with the attention maps of \(layers.count) layer\(layers.count == 1 ? "" : "s")"
    var detail =
      "a forward pass over \(encodings.count) sequences (\(tokens) tokens\(maps)) needs about "
      + "\(RunProgress.formatBytes(need)) of host memory, over the budget of \(RunProgress.formatBytes(limit)) "
      + "(half the machine's memory unless BERTSCOPE_MEMORY_LIMIT sets it); "
    if fit >= 1 {
      detail += "encode at most \(fit) sequence\(fit == 1 ? "" : "s") of this length at a time (a smaller batch size)"
    } else {
      detail += "even one sequence is too large: shorten the input or request fewer attention maps"
    }
    throw BertScopeError.outOfDeviceMemory(bytes: need, detail: detail)
  }
}
