import BertScope
import Foundation

/// Every attention map of a corpus, as `bertscope attention --input` writes it into a folder:
///
/// | file | content |
/// |---|---|
/// | `attention.npy` | one 1-D array (float32 or float16): every text's `[layers, heads, L, L]` block back to back, in input order |
/// | `index.csv` | `line,tokens,offset`: the text's line (from 1), its length L, and where its block starts (in elements) |
/// | `tokens.jsonl` | one object per text: `tokens`, `ids`, `segments` |
///
/// Text i's maps: `a[offset : offset + layers·heads·L·L].reshape(layers, heads, L, L)` with
/// `a = numpy.load("attention.npy", mmap_mode="r")`. Blank lines are skipped (their numbers are
/// missing from `index.csv`).
public enum AttentionDump {
  public static let attention = "attention.npy"
  public static let index = "index.csv"
  public static let tokens = "tokens.jsonl"
  public static let fileNames = [attention, index, tokens]
  /// The header of `index.csv`.
  public static let indexHeader = "line,tokens,offset"
  /// The name of the dump's part in its state file.
  public static let part = "attention"

  /// The element types a dump can hold.
  public static let dtypes: [NPY.DType] = [.float32, .float16]

  /// `float32` or `float16`, as the options record it.
  public static func name(of dtype: NPY.DType) -> String { dtype == .float16 ? "float16" : "float32" }

  /// One row of `index.csv`.
  public struct Entry: Sendable, Equatable {
    public var line: Int
    public var tokens: Int
    public var offset: Int
  }

  /// Reads `index.csv` of a dump; throws on a header or row that is not the format.
  public static func readIndex(_ url: URL) throws -> [Entry] {
    let text = String(decoding: try FileBytes.read(url, limit: NPY.maxFileBytes), as: UTF8.self)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    if lines.last == "" { lines.removeLast() }
    guard lines.first == Substring(indexHeader) else {
      throw BertScopeError.invalidInput("\(url.path): expected the header \(indexHeader)")
    }
    return try lines.dropFirst().enumerated().map { k, row in
      let cells = row.split(separator: ",").compactMap { Int($0) }
      guard cells.count == 3, cells[0] >= 1, cells[1] >= 0, cells[2] >= 0 else {
        throw BertScopeError.invalidInput("\(url.path):\(k + 2): expected line,tokens,offset")
      }
      return Entry(line: cells[0], tokens: cells[1], offset: cells[2])
    }
  }
}

extension AnalysisSession {
  /// Writes every map of the selected layers and heads (nil: all) of every text of `source`
  /// into `folder` (`AttentionDump`), streaming: one batch in memory at a time, the files under
  /// hidden names until the end. With a `recorder` (sharded or checkpointing) the partial files
  /// outlive an interruption and `--resume` continues them after the last checkpoint.
  @discardableResult
  public func dumpAttention(
    _ source: CorpusSource, layers: [Int]? = nil, heads: [Int]? = nil, dtype: NPY.DType = .float32, to folder: URL,
    recorder: RunRecorder? = nil
  ) throws -> RunCount {
    guard AttentionDump.dtypes.contains(dtype) else {
      throw BertScopeError.invalidInput("--dtype \(dtype.rawValue): a dump is float32 or float16")
    }
    for l in layers ?? [] where !(0..<config.numLayers).contains(l) {
      throw BertScopeError.invalidInput("--layers: the model has layers 1–\(config.numLayers), not \(l + 1)")
    }
    for h in heads ?? [] where !(0..<config.numHeads).contains(h) {
      throw BertScopeError.invalidInput("--heads: the model has heads 1–\(config.numHeads), not \(h + 1)")
    }
    var options = source.options
    options.layers = layers.map { $0.map { $0 + 1 } }
    options.heads = heads.map { $0.map { $0 + 1 } }
    options.dtype = AttentionDump.name(of: dtype)
    let urls = AttentionDump.fileNames.map { folder.appendingPathComponent($0) }
    var resuming: (rows: RowsState, position: CorpusPosition)?
    if let recorder, let saved = recorder.saved(AttentionDump.part) {
      guard RunRecorder.sameDefinition(saved.options, options), let rows = RowsState(saved.state) else {
        throw BertScopeError.invalidInput("--resume: \(recorder.url.path): the dump was made with other options")
      }
      if saved.complete && urls.allSatisfy({ FileManager.default.fileExists(atPath: $0.path) }) {
        try recorder.finish()
        return RunCount(saved.position)
      }
      guard let files = rows.files, files[AttentionDump.index] != nil, files[AttentionDump.tokens] != nil else {
        throw BertScopeError.invalidInput(
          "--resume: \(recorder.url.path): the checkpoint does not record the dump's files")
      }
      try saved.input?.checkPrefix(of: source.path)
      resuming = (rows, saved.position)
    }
    let resumable = recorder != nil
    let npy = try NPY.ResumableWriter(
      url: urls[0], dtype: dtype, columns: nil, resumingElements: resuming?.rows.elements, resumable: resumable)
    let index = try ResumableFile(
      url: urls[1], resumingAt: resuming?.rows.files?[AttentionDump.index], resumable: resumable)
    let tokens = try ResumableFile(
      url: urls[2], resumingAt: resuming?.rows.files?[AttentionDump.tokens], resumable: resumable)
    var rows = resuming?.rows.rows ?? 0
    let hasher = StreamHasher()
    func part(_ position: CorpusPosition, complete: Bool) -> RunState.Part {
      // What was read so far: at the end, the whole input.
      let input = hasher.snapshot(path: source.path)
      var state = RowsState()
      (state.rows, state.elements) = (rows, npy.elements)
      state.files = [AttentionDump.index: index.length, AttentionDump.tokens: tokens.length]
      return RunState.Part(
        name: AttentionDump.part, options: options, input: input, modelB: nil, position: position,
        complete: complete, state: state.part)
    }
    let checkpoint = recorder.map { recorder in
      Checkpointing(everyBatches: recorder.checkpointEvery) { position in
        try npy.sync()
        try index.sync()
        try tokens.sync()
        try recorder.record(part(position, complete: false))
      }
    }
    do {
      if resuming == nil { try index.append(Data((AttentionDump.indexHeader + "\n").utf8)) }
      let select = EncodeOptions(maps: .select(layers: layers, heads: heads))
      let count = try CorpusRun.forEachBatch(
        source, progress: progress("attention"), from: resuming?.position ?? CorpusPosition(), checkpoint: checkpoint,
        observeBytes: resumable ? { hasher.update($0) } : nil
      ) { lines, path in
        let encodings = try lines.map { try encode($0, path: path) }
        let output = try encoder.encode(encodings, options: select)
        var indexText = "", tokensText = ""
        for (k, line) in lines.enumerated() {
          indexText += "\(line.number),\(encodings[k].count),\(npy.elements)\n"
          try output.maps[k].values().withUnsafeBufferPointer { try npy.append($0) }
          tokensText += try AnalysisJSON.text(TokensFile(encodings[k]), pretty: false) + "\n"
        }
        try index.append(Data(indexText.utf8))
        try tokens.append(Data(tokensText.utf8))
        rows += lines.count
        return tokenCount(encodings)
      }
      try npy.finish()
      try index.commit()
      try tokens.commit()
      if let recorder {
        try recorder.record(part(count.position, complete: true))
        try recorder.finish()
      }
      return count
    } catch {
      for file in [npy.file, index, tokens] {
        if resumable { file.close() } else { file.abandon() }
      }
      throw error
    }
  }
}

extension MergedRun {
  /// Writes the shards' attention dumps into `folder` as the unsharded run would: the texts in
  /// input order (by line number), blocks copied as stored, offsets recomputed. Streams.
  ///
  /// - Returns: the texts written.
  @discardableResult
  public func writeAttentionDump(to folder: URL) throws -> Int {
    guard command == "attention", part(AttentionDump.part) != nil else {
      throw BertScopeError.invalidInput("merge: the shards ran `\(command)`, not attention --input")
    }
    struct Source {
      var name: String
      var entries: [AttentionDump.Entry]
      var next = 0
      var blocks: FileHandle
      var tokens: CorpusReader
      var blockSize: (Int) -> Int
    }
    var sources: [Source] = []
    var dtype: NPY.DType?
    let perToken =
      (part(AttentionDump.part)?.options.layers?.count ?? model.info.layers)
      * (part(AttentionDump.part)?.options.heads?.count ?? model.info.heads)
    for shard in shards {
      let dir = URL(fileURLWithPath: shard.name, isDirectory: true)
      let entries = try AttentionDump.readIndex(dir.appendingPathComponent(AttentionDump.index))
      guard let rows = shard.state.part(AttentionDump.part).flatMap({ RowsState($0.state) }), rows.rows == entries.count
      else {
        throw BertScopeError.invalidInput(
          "merge: \(shard.name): its index.csv has \(entries.count) rows, not what its state records")
      }
      let npyURL = dir.appendingPathComponent(AttentionDump.attention)
      let header = try NPY.header(of: npyURL)
      guard header.shape.count == 1, header.count == rows.elements, dtype == nil || dtype == header.dtype else {
        throw BertScopeError.invalidInput(
          "merge: \(npyURL.path): \(header.dtype.rawValue) \(header.shape), its state records \(rows.elements) elements"
        )
      }
      dtype = header.dtype
      var expected = 0
      for e in entries {
        guard e.offset == expected else {
          throw BertScopeError.invalidInput(
            "merge: \(shard.name): index.csv line \(e.line): offset \(e.offset), expected \(expected)")
        }
        expected += perToken * e.tokens * e.tokens
      }
      guard expected == rows.elements else {
        throw BertScopeError.invalidInput(
          "merge: \(shard.name): index.csv adds up to \(expected) elements, attention.npy has \(rows.elements)")
      }
      guard let handle = FileHandle(forReadingAtPath: npyURL.path) else {
        throw BertScopeError.io(path: npyURL.path, problem: "cannot open for reading")
      }
      try handle.seek(toOffset: UInt64(header.dataStart))
      let reader = try CorpusReader(path: dir.appendingPathComponent(AttentionDump.tokens).path)
      sources.append(Source(name: shard.name, entries: entries, blocks: handle, tokens: reader) { perToken * $0 * $0 })
    }
    defer { for s in sources { try? s.blocks.close() } }
    let type = dtype ?? .float32
    let npy = try NPY.ResumableWriter(
      url: folder.appendingPathComponent(AttentionDump.attention), dtype: type, columns: nil, resumable: false)
    let index = try ResumableFile(url: folder.appendingPathComponent(AttentionDump.index), resumable: false)
    let tokens = try ResumableFile(url: folder.appendingPathComponent(AttentionDump.tokens), resumable: false)
    var written = 0
    do {
      try index.append(Data((AttentionDump.indexHeader + "\n").utf8))
      var indexText = "", tokensText = ""
      while true {
        var best: Int?
        for (k, s) in sources.enumerated() where s.next < s.entries.count {
          if best == nil || s.entries[s.next].line < sources[best!].entries[sources[best!].next].line { best = k }
        }
        guard let k = best else { break }
        let entry = sources[k].entries[sources[k].next]
        sources[k].next += 1
        let elements = sources[k].blockSize(entry.tokens)
        let bytes = try sources[k].blocks.read(upToCount: elements * type.size) ?? Data()
        guard bytes.count == elements * type.size else {
          throw BertScopeError.invalidInput(
            "merge: \(sources[k].name)/attention.npy ends inside line \(entry.line)'s block")
        }
        indexText += "\(entry.line),\(entry.tokens),\(npy.elements)\n"
        try bytes.withUnsafeBytes { try npy.appendRaw($0, count: elements) }
        guard let line = try sources[k].tokens.nextLine() else {
          throw BertScopeError.invalidInput("merge: \(sources[k].name)/tokens.jsonl has fewer lines than its index.csv")
        }
        tokensText += line.fields.joined(separator: "\t") + "\n"
        written += 1
        if indexText.utf8.count > 1 << 16 || tokensText.utf8.count > 1 << 20 {
          try index.append(Data(indexText.utf8))
          try tokens.append(Data(tokensText.utf8))
          (indexText, tokensText) = ("", "")
        }
      }
      try index.append(Data(indexText.utf8))
      try tokens.append(Data(tokensText.utf8))
      try npy.finish()
      try index.commit()
      try tokens.commit()
    } catch {
      for file in [npy.file, index, tokens] { file.abandon() }
      throw error
    }
    return written
  }
}
