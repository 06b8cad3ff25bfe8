import BertScope
import Foundation

extension AnalysisSession {
  /// Sentence embeddings of every line of `source` (blank lines included: one row per line),
  /// streamed into `url` as float32 `[n, hidden]` (`bertscope embed`). The file is renamed into
  /// place only when complete.
  @discardableResult
  public func embed(_ source: CorpusSource, pooling: Pooling, to url: URL) throws -> RunCount {
    let writer = try NPY.RowWriter(url: url, columns: config.hiddenSize)
    do {
      let count = try CorpusRun.forEachBatch(source, progress: progress("embed"), skipBlank: false, allowEmpty: true) {
        lines, path in
        let encodings = try lines.map { try encode($0, path: path) }
        let result = try encoder.encode(encodings, options: EncodeOptions(pooling: pooling))
        try writer.append(result.pooled[...])
        return tokenCount(encodings)
      }
      try writer.finish()
      return count
    } catch {
      writer.abandon()
      throw error
    }
  }
}
