import ArgumentParser
import BertScope
import BertScopeAnalysis
import Foundation

struct AttentionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "attention",
    abstract: "Write the attention maps of one text (--text) or of every text of a corpus (--input).",
    discussion: """
      --text: DIR/attention.npy (float32 [layers, heads, L, L]: rows are queries, columns keys, \
      each row sums to 1), DIR/hidden.npy (float32 [L, hidden], last layer) and DIR/tokens.json \
      (tokens, ids, segments, and the layers/heads held, numbered from 1). Load them with numpy.load.

      --input: DIR/attention.npy, one 1-D array (--dtype float32 or float16) holding every \
      text's [layers, heads, L, L] block back to back in input order; DIR/index.csv \
      (line,tokens,offset: the line from 1, L, and the block's start in elements); \
      DIR/tokens.jsonl (tokens, ids, segments per text). Blank lines are skipped. Streams with \
      flat memory; the files appear when complete. Text i's maps: \
      a = numpy.load("DIR/attention.npy", mmap_mode="r"); a[offset:offset + layers*heads*L*L]\
      .reshape(layers, heads, L, L).
      """)

  @OptionGroup var options: ModelOptions
  @Option(help: "Text to encode.") var text: String?
  @Option(help: "Corpus: every text's maps into one dump (one text per line, TAB separates a pair; - for stdin).")
  var input: String?
  @Option(help: "Second text of a pair (segment 1).") var pair: String?
  @Option(help: "Output folder.") var out: String
  @Option(help: "Layers to keep, numbered from 1, e.g. 1,3 or 2-4 (default: all).") var layers: String?
  @Option(help: "Heads to keep, numbered from 1, e.g. 2,5 (default: all).") var heads: String?
  @Option(help: "With --input: float32 or float16 (half the bytes; maps within 5e-4).") var dtype: DumpType = .float32
  @Option(help: "With --input: sequences per forward pass.") var batchSize = 32
  @OptionGroup var sharding: ShardOptions

  enum DumpType: String, ExpressibleByArgument, CaseIterable {
    case float32, float16
    var npy: NPY.DType { self == .float16 ? .float16 : .float32 }
  }

  func validate() throws {
    guard (text == nil) != (input == nil) else {
      throw ValidationError("give --text (one text) or --input (a corpus), not both")
    }
    if pair != nil && text == nil { throw ValidationError("--pair goes with --text") }
    if text != nil && (sharding.shard != nil || sharding.checkpointEvery != nil || sharding.resume) {
      throw ValidationError("--shard, --checkpoint-every and --resume go with --input")
    }
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
  }

  func run() throws {
    let layerList = try layers.map { try parseIndexList($0, name: "layers") }
    let headList = try heads.map { try parseIndexList($0, name: "heads") }
    if let input {
      let control = try sharding.control(input: input)
      let session = try options.session()
      let folder = URL(fileURLWithPath: out, isDirectory: true)
      let recorder = try control.recorder(
        url: RunState.url(for: folder, isFolder: true), command: "attention", session: session)
      let count = try session.dumpAttention(
        CorpusSource(path: input, batchSize: batchSize, shard: control.shard), layers: layerList, heads: headList,
        dtype: dtype.npy, to: folder, recorder: recorder)
      let bytes =
        (try? FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(AttentionDump.attention).path)[
          .size] as? Int) ?? 0
      options.note(
        String(
          format: "wrote %@/attention.npy (%d texts, %.2f GB, %.2f GB/s), index.csv, tokens.jsonl", folder.path,
          count.examples, Double(bytes) / 1e9, Double(bytes) / 1e9 / max(count.seconds, 1e-9)))
      if control.sharded {
        options.note("shard \(control.shard): combine the shards with `bertscope merge --out DIR SHARD…`")
      }
      return
    }
    let text = text ?? ""
    let session = try options.session()
    let encoding = try session.encode(text, pair: pair, where: "--text")
    let output = try session.encoder.encode(
      [encoding], options: EncodeOptions(maps: .select(layers: layerList, heads: headList)))
    let maps = output.maps[0]
    let tokens = TokensFile(
      encoding, maps: maps, text: text, pair: pair, model: session.model.directory.path,
      backend: session.encoder.backendDescription)
    let folder = URL(fileURLWithPath: out, isDirectory: true)
    try AttentionExport.write(output, encoding: encoding, tokens: tokens, hidden: true, to: folder)
    let l = encoding.count
    options.note(
      "wrote \(folder.path)/attention.npy [\(maps.layers.count), \(maps.heads.count), \(l), \(l)], hidden.npy, tokens.json"
    )
  }
}
