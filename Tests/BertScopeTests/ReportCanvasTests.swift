import Testing

@testable import BertScopeReport

@Suite("canvas and bitmap font")
struct ReportCanvasTests {
  /// The glyph's ink as rows of '#' and '.', read back from a canvas.
  static func ink(_ canvas: Canvas, x: Int, y: Int, width: Int, height: Int) -> [String] {
    (y..<(y + height)).map { yy in
      String((x..<(x + width)).map { xx in canvas.bitmap[xx, yy] == .black ? "#" : "." })
    }
  }

  @Test("every printable ASCII character has its own glyph within the 5 × 9 box")
  func glyphs() {
    var seen: [[UInt8]: Character] = [:]
    for code in 32...126 {
      let c = Character(UnicodeScalar(UInt8(code)))
      #expect(BitmapFont.covers(c), "no glyph for \(c)")
      let rows = BitmapFont.glyph(c)
      #expect(rows.count == 7 || rows.count == 9, "\(c) has \(rows.count) rows")
      #expect(rows.allSatisfy { $0 < 32 }, "\(c) is wider than 5")
      if code != 32 {
        #expect(seen[rows] == nil, "\(c) looks like \(seen[rows].map(String.init) ?? "")")
        seen[rows] = c
      }
    }
  }

  @Test("text lands at its anchor, scaled, with descenders below the baseline")
  func textPlacement() {
    let canvas = Canvas(width: 20, height: 12, scale: 1)
    canvas.text("Ag", at: Point(2, 1), style: TextStyle(size: 1, colour: .black))
    // Cell row 0 is spacing: the glyph starts one row below the anchor.
    #expect(
      Self.ink(canvas, x: 2, y: 2, width: 5, height: 7)
        == BitmapFont.source.first { $0.0 == "A" }!.1.split(separator: " ").map(String.init))
    // 'g' hangs two rows below the baseline (cell rows 8 and 9).
    #expect(Self.ink(canvas, x: 8, y: 9, width: 5, height: 2) == ["....#", ".###."])

    let big = Canvas(width: 10, height: 12, scale: 1)
    big.text("I", at: Point(0, 0), style: TextStyle(size: 2, colour: .black))
    // The top bar of 'I' (.###.) doubled: columns 2..7 of rows 2..3.
    #expect(Self.ink(big, x: 0, y: 2, width: 10, height: 2) == ["..######..", "..######.."])
  }

  @Test("rotated text reads upwards")
  func rotated() {
    let canvas = Canvas(width: 12, height: 12, scale: 1)
    canvas.text("L", at: Point(0, 10), style: TextStyle(colour: .black, rotated: true))
    // 'L' turned 90° anticlockwise: its vertical stroke becomes the bottom row, its foot the right column.
    let ink = Self.ink(canvas, x: 0, y: 5, width: 9, height: 5)
    #expect(ink == [".......#.", ".......#.", ".......#.", ".......#.", ".#######."])
  }

  @Test("characters outside the font draw a placeholder box, one per character")
  func placeholder() {
    let canvas = Canvas(width: 30, height: 10, scale: 1)
    canvas.text("é東", at: Point(0, 0), style: TextStyle(colour: .black))
    let box = ["#####", "#...#", "#...#", "#...#", "#...#", "#...#", "#####"]
    #expect(Self.ink(canvas, x: 0, y: 1, width: 5, height: 7) == box)
    #expect(Self.ink(canvas, x: 6, y: 1, width: 5, height: 7) == box)
    #expect(TextStyle().length(of: "é東") == 12)
  }

  @Test("rectangles cover exactly their pixels at any scale")
  func fills() {
    let canvas = Canvas(width: 10, height: 10, scale: 3)
    canvas.fill(Rect(x: 1, y: 2, width: 3, height: 4), .black)
    let black = (0..<30).flatMap { y in (0..<30).map { x in (x, y) } }.filter { canvas.bitmap[$0.0, $0.1] == .black }
    #expect(black.count == 9 * 12)
    #expect(black.allSatisfy { (3..<12).contains($0.0) && (6..<18).contains($0.1) })
  }
}
