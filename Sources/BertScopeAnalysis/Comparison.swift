import BertScope
import Foundation

/// Kovaleva et al. 2019 §4.3: how much fine-tuning changed each head — the cosine similarity
/// of two checkpoints' flattened maps on the same input (cropped to the real tokens), per
/// head, averaged over examples.
public struct MapComparison: Sendable {
  /// Sums of per-example cosines, width 1.
  public private(set) var cosines: HeadAccumulator

  public init(layers: Int, heads: Int) {
    cosines = HeadAccumulator(layers: layers, heads: heads, width: 1)
  }

  /// Throws unless the two checkpoints have the same architecture (layers, heads, hidden and
  /// FFN sizes, positions) and the same vocabulary and tokenizer settings, so that the same
  /// text gives the same tokens and maps of the same shape.
  public static func checkComparable(_ a: BertModel, _ b: BertModel) throws {
    let ca = a.config, cb = b.config
    let fields: [(String, Int, Int)] = [
      ("layers", ca.numLayers, cb.numLayers), ("attention heads", ca.numHeads, cb.numHeads),
      ("hidden size", ca.hiddenSize, cb.hiddenSize), ("FFN size", ca.intermediateSize, cb.intermediateSize),
      ("max positions", ca.maxPositions, cb.maxPositions), ("vocabulary size", ca.vocabSize, cb.vocabSize),
    ]
    for (name, x, y) in fields where x != y {
      throw BertScopeError.invalidInput(
        "cannot compare \(a.directory.path) and \(b.directory.path): different architecture (\(name) \(x) vs \(y))")
    }
    if a.vocabulary != b.vocabulary {
      let first = zip(a.vocabulary.tokens, b.vocabulary.tokens).enumerated().first { $0.element.0 != $0.element.1 }
      let detail = first.map { "token \($0.offset) is \"\(printable($0.element.0))\" vs \"\(printable($0.element.1))\"" } ?? "different lengths"
      throw BertScopeError.invalidInput(
        "cannot compare \(a.directory.path) and \(b.directory.path): different vocabularies (\(detail))")
    }
    if a.tokenizer.options != b.tokenizer.options {
      throw BertScopeError.invalidInput(
        "cannot compare \(a.directory.path) and \(b.directory.path): different tokenizer settings (tokenizer_config.json)")
    }
  }

  /// Adds one example per sequence: the outputs of the two checkpoints on the same encodings,
  /// both holding every layer and head.
  public mutating func add(_ a: EncoderOutput, _ b: EncoderOutput) throws {
    guard a.count == b.count, a.lengths == b.lengths, a.maps.count == a.count, b.maps.count == b.count else {
      throw BertScopeError.invalidInput("compare: the two outputs do not hold the maps of the same sequences")
    }
    for s in 0..<a.count {
      let ma = a.maps[s], mb = b.maps[s]
      guard ma.layers.count == cosines.layers, ma.heads.count == cosines.heads, ma.layers == mb.layers, ma.heads == mb.heads
      else { throw BertScopeError.invalidInput("compare needs every layer and head of both models") }
      for li in ma.layers.indices {
        for hi in ma.heads.indices {
          cosines.add(CollectionOfOne(Float(Statistics.cosine(ma.map(li, hi), mb.map(li, hi)))), layer: ma.layers[li], head: ma.heads[hi])
        }
      }
    }
  }

  public static func merge(_ a: MapComparison, _ b: MapComparison) -> MapComparison {
    var out = a
    out.cosines = HeadAccumulator.merge(a.cosines, b.cosines)
    return out
  }

  public var examples: Int { cosines.count(layer: 0, head: 0) }

  public func cosine(layer: Int, head: Int) -> Double { cosines.mean(layer: layer, head: head, 0) }

  /// `compare.csv`: `layer,head,cosine`.
  public var csv: CSVTable {
    var t = CSVTable(["layer", "head", "cosine"])
    for l in 0..<cosines.layers {
      for h in 0..<cosines.heads { t.append([CSVTable.cell(l + 1), CSVTable.cell(h + 1), CSVTable.cell(cosine(layer: l, head: h))]) }
    }
    return t
  }

  public var json: [String: Any] {
    var heads: [[String: Any]] = []
    for l in 0..<cosines.layers {
      for h in 0..<cosines.heads { heads.append(["layer": l + 1, "head": h + 1, "cosine": jsonNumber(cosine(layer: l, head: h))]) }
    }
    let layers: [[String: Any]] = (0..<cosines.layers).map { l in
      let mean = (0..<cosines.heads).reduce(0.0) { $0 + cosine(layer: l, head: $1) } / Double(max(cosines.heads, 1))
      return ["layer": l + 1, "cosine": jsonNumber(mean)]
    }
    return ["examples": examples, "heads": heads, "layers": layers]
  }
}
