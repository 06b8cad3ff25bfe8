import Foundation
import Testing

@testable import BertScope

@Suite("NPY, atomic files and the corpus reader")
struct IOTests {
  @Test("NPY round-trips float32 arrays and numpy's header rules hold")
  func npyRoundTrip() throws {
    let values: [Float] = (0..<24).map { Float($0) * 0.5 - 3 }
    let data = NPY.encode(values, shape: [2, 3, 4])
    #expect(data.count % 64 == 0 || (data.count - values.count * 4) % 64 == 0)
    #expect(Array(data.prefix(8)) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
    let header = String(decoding: data[10..<(data.count - 96)], as: UTF8.self)
    #expect(header.contains("'descr': '<f4'") && header.contains("'shape': (2, 3, 4)") && header.hasSuffix("\n"))
    let back = try NPY.decode(data)
    #expect(back.shape == [2, 3, 4] && back.values == values)
    let one = try NPY.decode(NPY.encode([1, 2, 3] as [Float], shape: [3]))
    #expect(one.shape == [3])
  }

  @Test("NPY decoding rejects truncated or lying files")
  func npyBad() {
    let good = NPY.encode([1, 2, 3, 4] as [Float], shape: [2, 2])
    for bad in [Data(), good.prefix(9), good.prefix(good.count - 1), Data("hello".utf8)] {
      #expect(throws: BertScopeError.self) { try NPY.decode(bad) }
    }
    var lying = good
    lying.append(contentsOf: [0, 0, 0, 0])
    #expect(throws: BertScopeError.self) { try NPY.decode(lying) }
  }

  @Test("the streaming row writer patches the header with the final row count")
  func rowWriter() throws {
    let url = Fixtures.temporaryDirectory().appendingPathComponent("rows.npy")
    let writer = try NPY.RowWriter(url: url, columns: 3)
    #expect(!FileManager.default.fileExists(atPath: url.path), "nothing visible before finish()")
    try writer.append([1, 2, 3][...])
    try writer.append([4, 5, 6, 7, 8, 9][...])
    try writer.finish()
    let back = try NPY.read(url)
    #expect(back.shape == [3, 3] && back.values == [1, 2, 3, 4, 5, 6, 7, 8, 9])
  }

  @Test("an abandoned or failed write leaves no file and no temporary behind")
  func atomicAbandon() throws {
    let dir = Fixtures.temporaryDirectory()
    let url = dir.appendingPathComponent("out.csv")
    try AtomicFile.write("old\n", to: url)
    let writer = try AtomicFile.Writer(url: url)
    try writer.write(Data("new but partial".utf8))
    writer.abandon()
    #expect(try String(contentsOf: url, encoding: .utf8) == "old\n")
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.csv"])
    do {
      let w2 = try AtomicFile.Writer(url: url)
      try w2.write(Data("dropped".utf8))
    }
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.csv"], "deinit removes the temporary")
    #expect(try String(contentsOf: url, encoding: .utf8) == "old\n")
  }

  @Test("the next write removes temporaries of killed writers, not those of live ones")
  func staleTemporaries() throws {
    let dir = Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("e.npy")
    let finished = Process()
    finished.executableURL = URL(fileURLWithPath: "/bin/true")
    try finished.run()
    finished.waitUntilExit()
    let dead = finished.processIdentifier
    let live = getppid()
    let names = [
      ".e.npy.\(dead).17.partial",  // a killed writer's: removed
      ".e.npy.\(live).18.partial",  // another process still writing e.npy: kept
      ".f.npy.\(dead).19.partial",  // another file's: kept
      ".e.npy.notapid.partial",  // not ours: kept
    ]
    for name in names { try Data("x".utf8).write(to: dir.appendingPathComponent(name)) }
    let inFlight = try AtomicFile.Writer(url: url)  // our own temporary, still being written: kept
    try AtomicFile.write("new\n", to: url)
    let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
    #expect(left == Set(["e.npy", inFlight.temporary.lastPathComponent] + names.dropFirst()))
    inFlight.abandon()
  }

  @Test("FileBytes: empty and ordinary files, the size limit, folders and named pipes refused without blocking")
  func fileBytes() throws {
    let dir = Fixtures.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let empty = dir.appendingPathComponent("empty.csv"), text = dir.appendingPathComponent("t.csv")
    try Data().write(to: empty)
    let bytes = Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 % 251) })
    try bytes.write(to: text)
    #expect(try FileBytes.read(empty, limit: 10) == Data())
    #expect(try FileBytes.read(text, limit: bytes.count) == bytes)
    #expect(throws: BertScopeError.self) { try FileBytes.read(text, limit: bytes.count - 1) }
    #expect(throws: BertScopeError.self) { try FileBytes.read(dir, limit: 1 << 20) }
    let fifo = dir.appendingPathComponent("pipe.csv")
    #expect(mkfifo(fifo.path, 0o600) == 0)
    #expect(throws: BertScopeError.self) { try FileBytes.read(fifo, limit: 1 << 20) }
    try Data([0x61, 0xFF, 0x62]).write(to: text)
    #expect(throws: BertScopeError.invalidInput("\(text.path): not UTF-8 text")) { try FileBytes.text(text, limit: 10) }
  }

  @Test("corpus lines: pairs, CRLF, BOM, empty lines, no final newline")
  func corpusLines() throws {
    let url = Fixtures.temporaryDirectory().appendingPathComponent("c.txt")
    try Data("\u{FEFF}first\r\nsecond\tpair\n\nlast".utf8).write(to: url)
    let reader = try CorpusReader(path: url.path)
    var lines: [CorpusLine] = []
    while let l = try reader.nextLine() { lines.append(l) }
    #expect(lines.map(\.text) == ["first", "second", "", "last"])
    #expect(lines[1].pair == "pair" && lines[0].pair == nil)
    #expect(lines.map(\.number) == [1, 2, 3, 4])
  }

  @Test("invalid UTF-8 in a corpus names the line")
  func corpusInvalidUTF8() throws {
    let url = Fixtures.temporaryDirectory().appendingPathComponent("bad.txt")
    var data = Data("ok line\nanother ok\n".utf8)
    data.append(contentsOf: [0x62, 0x61, 0xC3, 0x28, 0x0A])
    try data.write(to: url)
    let reader = try CorpusReader(path: url.path)
    _ = try reader.nextLine()
    _ = try reader.nextLine()
    #expect(throws: BertScopeError.invalidInput("\(url.path):3: not valid UTF-8")) { try reader.nextLine() }
  }

  @Test("a missing corpus or a folder gives a clear error")
  func corpusMissing() {
    #expect(throws: BertScopeError.self) { try CorpusReader(path: "/nonexistent/corpus.txt") }
    #expect(throws: BertScopeError.self) { try CorpusReader(path: NSTemporaryDirectory()) }
  }
}
