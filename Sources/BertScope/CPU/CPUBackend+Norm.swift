import CHostKernels

// LayerNorm and the embeddings (a sum of three table rows, then LayerNorm), in chunks of
// rows on `hostThreads` threads.
extension CPUBackend {
  func embed(
    out: FloatStorage, layout: Layout, batch: PackedBatch, word: FloatStorage, position: FloatStorage,
    type: FloatStorage, gamma: FloatStorage, beta: FloatStorage, hidden: Int, eps: Float
  ) throws {
    let level = kernels.level
    let o = out.pointer, w = word.pointer, p = position.pointer, ty = type.pointer
    let g = gamma.pointer, b = beta.pointer
    batch.ids.withUnsafeBufferPointer { ids in
      batch.positions.withUnsafeBufferPointer { positions in
        batch.tokenTypes.withUnsafeBufferPointer { segments in
          parallelChunks(batch.tokenCount, grain: 16) { range in
            let t = range.lowerBound
            bs_embed_rows(
              level, o + t * hidden, range.count, hidden, w, p, ty, ids.baseAddress! + t, positions.baseAddress! + t,
              segments.baseAddress! + t, g, b, eps)
          }
        }
      }
    }
  }

  func layerNorm(
    out: FloatStorage, input: FloatStorage, rows: Int, cols: Int, gamma: FloatStorage, beta: FloatStorage, eps: Float
  ) throws {
    let level = kernels.level
    let o = out.pointer, x = input.pointer, g = gamma.pointer, b = beta.pointer
    parallelChunks(rows, grain: 16) { range in
      let r = range.lowerBound
      bs_layer_norm_rows(level, o + r * cols, x + r * cols, range.count, cols, g, b, eps)
    }
  }
}
