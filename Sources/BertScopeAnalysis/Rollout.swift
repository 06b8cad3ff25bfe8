import BertScope
import Foundation

/// Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers"):
/// `Ã_l = rownorm(mean_heads(A_l) + I)`, `R_l = Ã_l · Ã_{l−1} ⋯ Ã_1`. Row i of `R_l` says how
/// much of layer l's token i is attributed to each input token, residual path included.
public enum Rollout {
  /// `R_1 … R_layers` of one sequence as `[layers, L, L]` (rows = queries). `maps` must hold
  /// every head of layers `0..<maps.layers.count` in order.
  public static func compute(_ maps: AttentionMaps) throws -> [Float] {
    guard maps.layers == Array(0..<maps.layers.count), !maps.heads.isEmpty else {
      throw BertScopeError.invalidInput("rollout needs every layer from the first, and at least one head")
    }
    let n = maps.length
    var layerMaps: [[Double]] = []
    for li in maps.layers.indices {
      var mean = [Double](repeating: 0, count: n * n)
      for hi in maps.heads.indices {
        let m = maps.map(li, hi)
        for k in 0..<(n * n) { mean[k] += Double(m[k]) }
      }
      layerMaps.append(mean.map { $0 / Double(maps.heads.count) })
    }
    return compute(layerMaps: layerMaps, length: n)
  }

  /// Rollout of already head-averaged maps, one row-major L×L map per layer in order.
  /// - Parameters:
  ///   - layerMaps: `[layers][L·L]`, rows = queries.
  ///   - n: the sequence length L.
  /// - Returns: `R_1 … R_layers` as `[layers, L, L]`.
  public static func compute(layerMaps: [[Double]], length n: Int) -> [Float] {
    var out: [Float] = []
    out.reserveCapacity(layerMaps.count * n * n)
    var r = [Double](repeating: 0, count: n * n)
    for i in 0..<n { r[i * n + i] = 1 }
    for mean in layerMaps {
      var a = mean
      for i in 0..<n {
        a[i * n + i] += 1
        var s = 0.0
        for j in 0..<n { s += a[i * n + j] }
        if s > 0 { for j in 0..<n { a[i * n + j] /= s } }
      }
      var next = [Double](repeating: 0, count: n * n)
      for i in 0..<n {
        for k in 0..<n {
          let x = a[i * n + k]
          if x == 0 { continue }
          for j in 0..<n { next[i * n + j] += x * r[k * n + j] }
        }
      }
      r = next
      out += r.map { Float($0) }
    }
    return out
  }
}
