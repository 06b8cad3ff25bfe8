import Foundation
import Testing

@testable import BertScope

/// Writes small model folders for tests, including deliberately broken ones.
struct SafeTensorsBuilder {
  struct Tensor {
    var name: String
    var dtype: String = "F32"
    var shape: [Int]
    var data: Data
  }
  var tensors: [Tensor] = []

  mutating func add(_ name: String, shape: [Int], values: [Float]? = nil) {
    let count = shape.reduce(1, *)
    let v: [Float] = values ?? (0..<count).map { (i: Int) -> Float in Float((i * 7919) % 97) / 97 - 0.5 }
    var data = Data(capacity: count * 4)
    for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
    tensors.append(Tensor(name: name, shape: shape, data: data))
  }

  /// The file image; `header` lets a test replace the JSON header with anything.
  func build(header override: String? = nil, headerLength: UInt64? = nil) -> Data {
    var entries: [String] = []
    var offset = 0
    var body = Data()
    for t in tensors {
      entries.append(
        "\"\(t.name)\": {\"dtype\": \"\(t.dtype)\", \"shape\": \(t.shape), \"data_offsets\": [\(offset), \(offset + t.data.count)]}"
      )
      offset += t.data.count
      body.append(t.data)
    }
    let header = override ?? "{" + entries.joined(separator: ", ") + "}"
    var out = Data()
    let n = headerLength ?? UInt64(header.utf8.count)
    withUnsafeBytes(of: n.littleEndian) { out.append(contentsOf: $0) }
    out.append(Data(header.utf8))
    out.append(body)
    return out
  }
}

/// A complete tiny BERT folder (hidden 8, 2 heads, 1 layer, vocab of `vocabSize`).
struct TinyModelFolder {
  var hidden = 8, heads = 2, layers = 1, inner = 16, positions = 16, vocabSize = 120
  var configOverride: String? = nil
  var vocabOverride: String? = nil

  var config: String {
    configOverride ?? """
      {"vocab_size": \(vocabSize), "hidden_size": \(hidden), "num_hidden_layers": \(layers), \
      "num_attention_heads": \(heads), "intermediate_size": \(inner), "max_position_embeddings": \(positions), \
      "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu", "bos_token_id": null}
      """
  }

  var vocab: String {
    if let vocabOverride { return vocabOverride }
    var tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    var i = 0
    while tokens.count < vocabSize {
      tokens.append("w\(i)")
      i += 1
    }
    return tokens.joined(separator: "\n") + "\n"
  }

  func tensors() -> SafeTensorsBuilder {
    var b = SafeTensorsBuilder()
    b.add("embeddings.word_embeddings.weight", shape: [vocabSize, hidden])
    b.add("embeddings.position_embeddings.weight", shape: [positions, hidden])
    b.add("embeddings.token_type_embeddings.weight", shape: [2, hidden])
    b.add("embeddings.LayerNorm.weight", shape: [hidden])
    b.add("embeddings.LayerNorm.bias", shape: [hidden])
    for l in 0..<layers {
      let p = "encoder.layer.\(l)."
      for n in ["query", "key", "value"] {
        b.add(p + "attention.self.\(n).weight", shape: [hidden, hidden])
        b.add(p + "attention.self.\(n).bias", shape: [hidden])
      }
      b.add(p + "attention.output.dense.weight", shape: [hidden, hidden])
      b.add(p + "attention.output.dense.bias", shape: [hidden])
      b.add(p + "attention.output.LayerNorm.weight", shape: [hidden])
      b.add(p + "attention.output.LayerNorm.bias", shape: [hidden])
      b.add(p + "intermediate.dense.weight", shape: [inner, hidden])
      b.add(p + "intermediate.dense.bias", shape: [inner])
      b.add(p + "output.dense.weight", shape: [hidden, inner])
      b.add(p + "output.dense.bias", shape: [hidden])
      b.add(p + "output.LayerNorm.weight", shape: [hidden])
      b.add(p + "output.LayerNorm.bias", shape: [hidden])
    }
    return b
  }

  /// Writes the folder; `weights` replaces model.safetensors' bytes.
  @discardableResult
  func write(to dir: URL, weights: Data? = nil) throws -> URL {
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try Data(config.utf8).write(to: dir.appendingPathComponent("config.json"))
    try Data(vocab.utf8).write(to: dir.appendingPathComponent("vocab.txt"))
    try (weights ?? tensors().build()).write(to: dir.appendingPathComponent("model.safetensors"))
    return dir
  }
}

/// Loads the model folder `dir` and returns the error it gives (nil if it loads); any error
/// that is not a `BertScopeError` is recorded as a test issue.
func modelLoadFailure(_ dir: URL) -> BertScopeError? {
  do {
    _ = try BertModel.load(from: dir)
    return nil
  } catch let error as BertScopeError {
    return error
  } catch {
    Issue.record("not a BertScopeError: \(error)")
    return nil
  }
}
