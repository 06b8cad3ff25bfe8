import BertScope
import Foundation

extension AnalysisSession {
  /// Sentence embeddings of every line of `source` (blank lines included: one row per line),
  /// streamed into `url` as float32 `[n, hidden]` (`bertscope embed`). The file is renamed into
  /// place only when complete.
  ///
  /// With a `recorder` (a sharded or checkpointing run) the rows are the lines of the source's
  /// shard, written to a partial file that outlives an interruption; a checkpoint records how
  /// many rows it holds, `--resume` continues after them, and the state beside `url` says what
  /// `bertscope merge` needs to put the shards' rows back in input order.
  @discardableResult
  public func embed(_ source: CorpusSource, pooling: Pooling, to url: URL, recorder: RunRecorder? = nil) throws
    -> RunCount
  {
    guard let recorder else { return try embedPlainly(source, pooling: pooling, to: url) }
    var options = source.options
    options.pooling = pooling
    var resuming: (rows: RowsState, position: CorpusPosition)?
    if let saved = recorder.saved(Self.rowsPart) {
      guard RunRecorder.sameDefinition(saved.options, options), let rows = RowsState(saved.state) else {
        throw BertScopeError.invalidInput("--resume: \(recorder.url.path): the embeddings were made with other options")
      }
      if saved.complete && FileManager.default.fileExists(atPath: url.path) {
        try recorder.finish()
        return RunCount(saved.position)
      }
      try saved.input?.checkPrefix(of: source.path)
      resuming = (rows, saved.position)
    }
    let columns = config.hiddenSize
    let writer = try NPY.ResumableWriter(url: url, columns: columns, resumingElements: resuming?.rows.elements)
    var keep = false
    defer { if !keep { writer.file.close() } }
    let hasher = StreamHasher()
    func part(_ position: CorpusPosition, complete: Bool) -> RunState.Part {
      var rows = RowsState()
      (rows.rows, rows.elements) = (writer.rows, writer.elements)
      // What was read so far: at the end, the whole input.
      let input = hasher.snapshot(path: source.path)
      return RunState.Part(
        name: Self.rowsPart, options: options, input: input, modelB: nil, position: position, complete: complete,
        state: rows.part)
    }
    let checkpoint = Checkpointing(everyBatches: recorder.checkpointEvery) { position in
      try writer.sync()
      try recorder.record(part(position, complete: false))
    }
    let count = try CorpusRun.forEachBatch(
      source, progress: progress("embed"), skipBlank: false, allowEmpty: true,
      from: resuming?.position ?? CorpusPosition(), checkpoint: checkpoint, observeBytes: { hasher.update($0) }
    ) { lines, path in
      let encodings = try lines.map { try encode($0, path: path) }
      let result = try encoder.encode(encodings, options: EncodeOptions(pooling: pooling))
      try result.pooled.withUnsafeBufferPointer { try writer.append($0) }
      return tokenCount(encodings)
    }
    try writer.finish()
    keep = true
    try recorder.record(part(count.position, complete: true))
    try recorder.finish()
    return count
  }

  /// The name of `embed`'s part in its state file.
  public static let rowsPart = "rows"

  private func embedPlainly(_ source: CorpusSource, pooling: Pooling, to url: URL) throws -> RunCount {
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
