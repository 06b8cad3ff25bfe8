import Foundation
import Testing

@testable import BertScope

/// The command-line contract: file names, shapes, JSON keys, one-line errors, exit codes.
@Suite("bertscope command line", .enabled(if: CLI.available, "the bertscope binary is not built next to the tests"))
struct CLITests {
  let tiny = Fixtures.tiny.path

  @Test("tokenize prints one JSON object per text, pairs from --pair or a TAB")
  func tokenize() throws {
    let r = try CLI.run(["tokenize", "--model", tiny, "--text", "hello world", "--pair", "is this"])
    #expect(r.status == 0, "\(r.stderr)")
    let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
    #expect((object?["tokens"] as? [String])?.first == "[CLS]")
    #expect((object?["segments"] as? [Int])?.last == 1)
    let many = try CLI.run(["tokenize", "--model", tiny, "--input", "-"], stdin: "a b\nc\td\n")
    let lines = many.stdout.split(separator: "\n")
    #expect(lines.count == 2)
    #expect(lines[1].contains("\"segments\":[0,0,0,1,1]"))
  }

  @Test("attention writes attention.npy [layers, heads, L, L], hidden.npy and tokens.json")
  func attention() throws {
    let dir = Fixtures.temporaryDirectory()
    let r = try CLI.run([
      "attention", "--model", tiny, "--text", "the cat sat", "--out", dir.path, "--layers", "2", "--heads", "1,3",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    let a = try NPY.read(dir.appendingPathComponent("attention.npy"))
    let h = try NPY.read(dir.appendingPathComponent("hidden.npy"))
    let info =
      try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("tokens.json")))
      as? [String: Any]
    let expected = try BertTokenizer.load(from: Fixtures.tiny).encode("the cat sat")
    let l = expected.count
    #expect(a.shape == [1, 2, l, l])
    #expect(h.shape == [l, 32])
    #expect(info?["layers"] as? [Int] == [2] && info?["heads"] as? [Int] == [1, 3])
    #expect(info?["tokens"] as? [String] == expected.tokens)
    #expect(
      info?["ids"] as? [Int] == expected.ids.map(Int.init)
        && info?["segments"] as? [Int] == expected.segments.map(Int.init))
    #expect(info?["text"] as? String == "the cat sat" && info?["pair"] == nil)
    #expect(
      info?["model"] as? String == Fixtures.tiny.path && (info?["backend"] as? String)?.hasPrefix("cpu (") == true)
    #expect(
      Set(try #require(info).keys) == ["tokens", "ids", "segments", "layers", "heads", "text", "model", "backend"])
  }

  @Test("embed writes float32 [n, hidden], one row per line, from a file or stdin")
  func embed() throws {
    let out = Fixtures.temporaryDirectory().appendingPathComponent("e.npy")
    let r = try CLI.run(
      ["embed", "--model", tiny, "--input", "-", "--out", out.path, "--batch-size", "2"],
      stdin: "one\ntwo three\n\nfour\tfive\nsix\n")
    #expect(r.status == 0, "\(r.stderr)")
    let e = try NPY.read(out)
    #expect(e.shape == [5, 32])
    for row in 0..<5 {
      let norm = (0..<32).reduce(0.0) { $0 + Double(e.values[row * 32 + $1] * e.values[row * 32 + $1]) }.squareRoot()
      #expect(abs(norm - 1) < 1e-5)
    }
  }

  @Test("bench times each backend and, with maps, their readback alone (JSON and table)")
  func bench() throws {
    let json = Fixtures.temporaryDirectory().appendingPathComponent("bench.json")
    let r = try CLI.run([
      "bench", "--model", tiny, "--batch", "2", "--length", "16", "--maps", "none,all", "--repeats", "3", "--warmup",
      "1",
      "--json", json.path, "-q", "--input",
      Fixtures.root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
        "samples/wordnet-sentences.txt"
      ).path,
    ])
    #expect(r.status == 0, "\(r.stderr)")
    let object = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any]
    let rows = try #require(object?["results"] as? [[String: Any]])
    #expect(rows.count == 2)
    let none = try #require(rows.first { $0["maps"] as? String == "none" })
    let all = try #require(rows.first { $0["maps"] as? String == "all" })
    #expect(none["readback_ms"] == nil && none["readback_bytes"] == nil)
    // Two sequences of 16 tokens, 2 layers × 4 heads of 16 × 16 float32.
    #expect(all["readback_bytes"] as? Int == 2 * 2 * 4 * 16 * 16 * 4)
    let ms = try #require(all["readback_ms"] as? Double)
    #expect(ms > 0 && ms <= (all["median_ms"] as? Double ?? 0) * 1.5)
    #expect(r.stdout.split(separator: "\n").first?.hasSuffix("readback ms     GB/s") == true, "\(r.stdout)")
  }

  @Test("errors are one line on stderr and a non-zero exit")
  func errors() throws {
    let missing = try CLI.run(["attention", "--model", "/nonexistent/model", "--text", "x", "--out", "/tmp/x"])
    #expect(missing.status != 0)
    #expect(missing.stderr.hasPrefix("error: model not found: /nonexistent/model"))
    #expect(missing.stderr.split(separator: "\n").count == 1)

    let bad = Fixtures.temporaryDirectory().appendingPathComponent("bad.txt")
    try Data([0x61, 0x0A, 0xFF, 0x0A]).write(to: bad)
    let utf8 = try CLI.run(["embed", "--model", tiny, "--input", bad.path, "--out", "/tmp/never.npy"])
    #expect(utf8.status != 0)
    #expect(utf8.stderr.contains("bad.txt:2: not valid UTF-8"))
    #expect(!FileManager.default.fileExists(atPath: "/tmp/never.npy"))

    let layer = try CLI.run(["attention", "--model", tiny, "--text", "x", "--out", "/tmp/x", "--layers", "9"])
    #expect(layer.status != 0 && layer.stderr.contains("layer 9 does not exist"))

    // TF32 where it cannot run (the CPU backend): refused, not run in fp32; a bad value too.
    let tf32 = try CLI.run([
      "attention", "--model", tiny, "--text", "x", "--out", "/tmp/never-tf32", "--precision", "tf32",
    ])
    #expect(tf32.status != 0 && tf32.stderr.hasPrefix("error: --precision tf32"), "\(tf32.stderr)")
    #expect(tf32.stderr.split(separator: "\n").count == 1)
    let bf16 = try CLI.run(["bench", "--model", tiny, "--precision", "bf16"])
    #expect(bf16.status != 0 && bf16.stderr.contains("bf16"), "\(bf16.stderr)")
  }

  @Test("over-long text is truncated with a note, or refused with --no-truncate")
  func overLong() throws {
    let long = Array(repeating: "word", count: 200).joined(separator: " ")
    let note = try CLI.run(["tokenize", "--model", tiny, "--text", long])
    #expect(note.status == 0)
    #expect(note.stderr.contains("truncated to 64 tokens"))
    let refused = try CLI.run(["tokenize", "--model", tiny, "--text", long, "--no-truncate"])
    #expect(refused.status != 0)
    #expect(refused.stderr.contains("the model takes at most 64"))
  }

  @Test("where no OpenCL platform exists: auto falls back to the CPU with a note, opencl fails clearly")
  func noOpenCL() throws {
    let empty = Fixtures.temporaryDirectory("no-icd")
    let env = ["OCL_ICD_VENDORS": empty.path]
    let devices = try CLI.run(["devices"], env: env)
    #expect(devices.status == 0)
    #expect(devices.stdout.contains("no OpenCL platform found"))
    let dir = Fixtures.temporaryDirectory()
    let auto = try CLI.run(
      ["attention", "--model", tiny, "--text", "a b", "--out", dir.path, "--backend", "auto"], env: env)
    #expect(auto.status == 0, "\(auto.stderr)")
    #expect(auto.stderr.contains("backend auto: no OpenCL GPU found; using the CPU backend"))
    let forced = try CLI.run(
      ["attention", "--model", tiny, "--text", "a b", "--out", dir.path, "--backend", "opencl"], env: env)
    #expect(forced.status != 0)
    #expect(forced.stderr.hasPrefix("error: no OpenCL device found"))
    #expect(forced.stderr.split(separator: "\n").count == 1)
  }

  @Test(
    "devices lists PoCL's CPU device; the OpenCL backend gives the CPU backend's maps",
    .enabled(if: OpenCLDevices.isAvailable, "no OpenCL platform or device on this machine (install pocl-opencl-icd)"))
  func openCLBackend() throws {
    let devices = try CLI.run(["devices"])
    #expect(devices.status == 0 && devices.stdout.contains("[0] "))
    let a = Fixtures.temporaryDirectory(), b = Fixtures.temporaryDirectory()
    let cl = try CLI.run([
      "attention", "--model", tiny, "--text", "the cat sat", "--out", a.path, "--backend", "opencl", "--device", "0",
    ])
    let cpu = try CLI.run(["attention", "--model", tiny, "--text", "the cat sat", "--out", b.path])
    #expect(cl.status == 0 && cpu.status == 0, "\(cl.stderr) \(cpu.stderr)")
    let x = try NPY.read(a.appendingPathComponent("attention.npy")),
      y = try NPY.read(b.appendingPathComponent("attention.npy"))
    #expect(x.shape == y.shape)
    #expect(maxAbsDiff(x.values, y.values) <= 1e-5)
    let bad = try CLI.run([
      "attention", "--model", tiny, "--text", "x", "--out", a.path, "--backend", "opencl", "--device", "99",
    ])
    #expect(bad.status != 0 && bad.stderr.contains("no OpenCL device 99"))
    let selftest = try CLI.run(["selftest", "--device", "0"])
    #expect(selftest.status == 0, "\(selftest.stdout)")
    #expect(selftest.stdout.contains("agree with the CPU backend"))
  }
}
