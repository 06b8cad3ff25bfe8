import BertScope
import CZlib
import Foundation
import Testing

@testable import BertScopeReport

@Suite("PNG writer (and the tests' reader)")
struct ReportPNGTests {
  static func pattern(width: Int, height: Int, channels: Int) throws -> Bitmap {
    var rng = SplitMix64(seed: 99)
    let bytes = (0..<(width * height * channels)).map { i in
      // Smooth gradients (filter Sub wins) mixed with noise (filter None wins).
      i % 7 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : UInt8((i / channels) % width * 255 / max(1, width - 1))
    }
    return try Bitmap(width: width, height: height, channels: channels, bytes: bytes)
  }

  @Test("RGB and RGBA bitmaps survive encoding and decoding byte for byte")
  func roundTrip() throws {
    for channels in [3, 4] {
      let bitmap = try Self.pattern(width: 37, height: 23, channels: channels)
      let file = try PNG.encode(bitmap)
      #expect(Array(file.prefix(8)) == [137, 80, 78, 71, 13, 10, 26, 10])
      #expect(try PNG.decode(file) == bitmap)
    }
  }

  @Test("the file is IHDR, IDAT, IEND with correct CRCs and the right header")
  func chunks() throws {
    let file = try PNG.encode(try Self.pattern(width: 300, height: 2, channels: 4))
    let chunks = try PNG.chunks(of: file)
    #expect(chunks.map(\.type) == ["IHDR", "IDAT", "IEND"])
    for c in chunks { #expect(c.storedCRC == c.computedCRC, "CRC of \(c.type)") }
    // Width 300, height 2, depth 8, colour type 6 (RGBA), deflate, filter method 0, no interlace.
    #expect(chunks[0].data == [0, 0, 1, 44, 0, 0, 0, 2, 8, 6, 0, 0, 0])
    #expect(chunks[2].data.isEmpty)
    // CRC-32 of "IEND" is the constant every PNG ends with.
    #expect(chunks[2].storedCRC == 0xAE42_6082)
  }

  @Test("a flipped byte is caught by the CRC check")
  func corruption() throws {
    var file = try PNG.encode(try Self.pattern(width: 8, height: 8, channels: 3))
    file[8 + 8 + 13 + 4 + 8 + 2] ^= 0x40  // inside the IDAT data
    #expect(throws: BertScopeError.self) { try PNG.decode(file) }
    #expect(throws: BertScopeError.self) { try PNG.decode(Array(file.dropFirst())) }
  }

  @Test("rows use only filters 0 and 1, and the reader undoes filters 2, 3 and 4 too")
  func filters() throws {
    let bitmap = try Self.pattern(width: 5, height: 6, channels: 3)
    let file = try PNG.encode(bitmap)
    let idat = try PNG.chunks(of: file).filter { $0.type == "IDAT" }.flatMap(\.data)
    var raw = [UInt8](repeating: 0, count: 6 * 16)
    var count = uLong(raw.count)
    #expect(uncompress(&raw, &count, idat, uLong(idat.count)) == Z_OK)
    let used = Set(stride(from: 0, to: raw.count, by: 16).map { raw[$0] })
    #expect(used.isSubset(of: [0, 1]))

    // Hand-filter the same pixels with Up, Average and Paeth rows, then decode.
    let stride = 15
    let px = bitmap.bytes
    var filtered: [UInt8] = []
    for y in 0..<6 {
      let type = UInt8([2, 3, 4][y % 3])
      filtered.append(type)
      for i in 0..<stride {
        let a = i >= 3 ? Int(px[y * stride + i - 3]) : 0
        let b = y > 0 ? Int(px[(y - 1) * stride + i]) : 0
        let c = i >= 3 && y > 0 ? Int(px[(y - 1) * stride + i - 3]) : 0
        let p = a + b - c
        let paeth = abs(p - a) <= abs(p - b) && abs(p - a) <= abs(p - c) ? a : (abs(p - b) <= abs(p - c) ? b : c)
        let predictor = [2: b, 3: (a + b) / 2, 4: paeth][Int(type)]!
        filtered.append(px[y * stride + i] &- UInt8(truncatingIfNeeded: predictor))
      }
    }
    var compressedCount = compressBound(uLong(filtered.count))
    var compressed = [UInt8](repeating: 0, count: Int(compressedCount))
    #expect(compress2(&compressed, &compressedCount, filtered, uLong(filtered.count), 9) == Z_OK)
    var handMade = PNG.signature
    PNG.appendChunk("IHDR", [0, 0, 0, 5, 0, 0, 0, 6, 8, 2, 0, 0, 0], to: &handMade)
    PNG.appendChunk("IDAT", Array(compressed.prefix(Int(compressedCount))), to: &handMade)
    PNG.appendChunk("IEND", [], to: &handMade)
    #expect(try PNG.decode(handMade) == bitmap)
  }

  @Test("a 4 × 4 map is drawn with matplotlib's viridis colours in the expected cells")
  func heatmapPixels() throws {
    var m = Matrix(rows: 4, columns: 4, repeating: 0)
    m[1, 2] = 0.25
    m[2, 1] = 0.5
    m[3, 3] = 1
    let tokens = ["[CLS]", "a", "b", "[SEP]"]
    let figure = try Heatmap(values: m, rowLabels: tokens, title: "test", resolution: .full(cellSize: 10))
    let scale = 2.0
    let image = try PNG.decode(try figure.png(scale: scale))
    #expect(image.width == Int((figure.size.width * 2).rounded(.up)))
    #expect(image.height == Int((figure.size.height * 2).rounded(.up)))
    // matplotlib: (cm.viridis(v)[:3] * 255).round() for v = 0, 0.25, 0.5, 1.
    let expected: [Float: [UInt8]] = [0: [68, 1, 84], 0.25: [59, 82, 139], 0.5: [33, 145, 140], 1: [253, 231, 37]]
    let map = figure.mapRect
    for r in 0..<4 {
      for c in 0..<4 {
        // Every device pixel of the cell, not just its centre.
        let x0 = Int(((map.x + Double(c) * 10) * Double(scale)).rounded())
        let y0 = Int(((map.y + Double(r) * 10) * Double(scale)).rounded())
        for y in y0..<(y0 + 20) {
          for x in x0..<(x0 + 20) where rgb(image[x, y]) != expected[m[r, c]]! {
            Issue.record("cell (\(r), \(c)) pixel (\(x), \(y)) is \(image[x, y]), expected \(expected[m[r, c]]!)")
            return
          }
        }
      }
    }
    // Just outside the map: the frame, not a cell colour.
    let outside = image[Int(map.x * 2) - 1, Int(map.y * 2) + 5]
    #expect(!expected.values.contains(rgb(outside)))
  }

  @Test(
    "Python's zlib reads the file: CRCs, size and pixels agree",
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")))
  func independentDecoder() throws {
    let bitmap = try Self.pattern(width: 19, height: 11, channels: 3)
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("bertscope-png-\(UUID().uuidString).png")
    defer { try? FileManager.default.removeItem(at: url) }
    try PNG.write(bitmap, to: url)
    // A decoder written from the PNG specification with Python's standard library only.
    let script = """
      import struct, sys, zlib
      d = open(sys.argv[1], 'rb').read()
      assert d[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
      i, idat = 8, b''
      while i < len(d):
          n, t = struct.unpack('>I4s', d[i:i+8]); body = d[i+8:i+8+n]
          assert struct.unpack('>I', d[i+8+n:i+12+n])[0] == zlib.crc32(t + body) & 0xffffffff, t
          if t == b'IHDR': w, h, depth, ct = struct.unpack('>IIBB', body[:10])
          if t == b'IDAT': idat += body
          i += 12 + n
      raw, bpp, s = zlib.decompress(idat), 3 if ct == 2 else 4, None
      out = bytearray()
      for y in range(h):
          f, row = raw[y*(w*bpp+1)], bytearray(raw[y*(w*bpp+1)+1:(y+1)*(w*bpp+1)])
          for x in range(len(row)):
              a = row[x-bpp] if x >= bpp else 0
              b = out[(y-1)*w*bpp+x] if y else 0
              row[x] = (row[x] + (a if f == 1 else b if f == 2 else 0)) & 255
          out += row
      print(w, h, depth, ct, bytes(out).hex())
      """
    // Foundation's Process traps in this test runner on Linux; the C library's system() does not.
    let scriptURL = url.appendingPathExtension("py")
    let outputURL = url.appendingPathExtension("txt")
    defer {
      try? FileManager.default.removeItem(at: scriptURL)
      try? FileManager.default.removeItem(at: outputURL)
    }
    try script.write(to: scriptURL, atomically: true, encoding: .utf8)
    let status = system("/usr/bin/python3 '\(scriptURL.path)' '\(url.path)' > '\(outputURL.path)' 2>&1")
    let output = try String(contentsOf: outputURL, encoding: .utf8)
    let hex = { (b: ArraySlice<UInt8>) in b.map { String(format: "%02x", $0) }.joined() }
    #expect(status == 0, "\(output)")
    // Every pixel byte, not a sample of them.
    #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "19 11 8 2 \(hex(bitmap.bytes[...]))")
  }
}
