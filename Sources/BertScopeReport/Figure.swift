import BertScope
import Foundation

/// A figure that draws itself on any `Surface`, and so renders to PNG, SVG and PDF alike.
public protocol Figure: Sendable {
  /// Width and height in figure units (pixels of a PNG at scale 1).
  var size: (width: Double, height: Double) { get }
  /// Draws the whole figure, background excluded, within (0, 0, size).
  func draw(on surface: any Surface)
}

extension Figure {
  /// The figure as a bitmap, `scale` pixels per figure unit (96 × `scale` dpi: 2 suits
  /// screens, 3.125 is 300 dpi for papers). Needs Cairo and Pango (``Graphics``).
  public func bitmap(scale: Double = 2) throws -> Bitmap {
    let surface = try CairoSurface(width: size.width, height: size.height, target: .image(scale: scale))
    draw(on: surface)
    return try surface.bitmap()
  }

  /// The figure as PNG file bytes, its resolution (96 × `scale` dpi) recorded in the file.
  public func png(scale: Double = 2) throws -> [UInt8] {
    try PNG.encode(bitmap(scale: scale), dotsPerInch: 96 * scale)
  }

  /// The figure as a standalone SVG document.
  public func svg() -> String { svgCanvas().document() }

  /// The `<svg>` element alone, to inline in HTML; `attributes` go on the root element.
  public func svgElement(attributes: [(String, String)] = []) -> String { svgCanvas().element(attributes: attributes) }

  func svgCanvas() -> SVGCanvas {
    let canvas = SVGCanvas(width: size.width, height: size.height)
    draw(on: canvas)
    return canvas
  }

  /// The figure as a one-page vector PDF (0.75 pt per figure unit; fonts embedded as subsets,
  /// text extractable). Needs Cairo and Pango (``Graphics``).
  public func pdf(title: String? = nil) throws -> Data {
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("bertscope-\(UUID().uuidString).pdf")
    defer { try? FileManager.default.removeItem(at: tmp) }
    let surface = try CairoSurface(width: size.width, height: size.height, target: .pdf(path: tmp.path, title: title))
    draw(on: surface)
    try surface.finish()
    do {
      return try Data(contentsOf: tmp)
    } catch {
      throw BertScopeError.io(path: tmp.path, problem: "cannot read back the PDF: \(error.localizedDescription)")
    }
  }

  /// Writes the PNG to `url` (atomically).
  public func writePNG(to url: URL, scale: Double = 2) throws {
    try AtomicFile.write(Data(try png(scale: scale)), to: url)
  }

  /// Writes the SVG to `url` (atomically).
  public func writeSVG(to url: URL) throws { try AtomicFile.write(Data(svg().utf8), to: url) }

  /// Writes the PDF to `url` (atomically).
  public func writePDF(to url: URL, title: String? = nil) throws {
    try AtomicFile.write(try pdf(title: title), to: url)
  }
}

/// A dense row-major matrix of Float, the plain input of map figures (an attention map
/// (L, L), rows = queries, or a (layers, heads) table of values).
public struct Matrix: Sendable, Equatable {
  /// Number of rows (queries of an attention map, or layers).
  public let rows: Int
  /// Number of columns (keys of an attention map, or heads).
  public let columns: Int
  /// (rows, columns), row-major.
  public var values: [Float]

  /// A matrix over row-major `values`.
  /// - Throws: ``BertScopeError/invalidInput(_:)`` unless `values` holds exactly `rows × columns` floats.
  public init(rows: Int, columns: Int, values: [Float]) throws {
    guard rows >= 0, columns >= 0, values.count == rows * columns else {
      throw BertScopeError.invalidInput("matrix: \(values.count) values do not fill \(rows) × \(columns)")
    }
    self.rows = rows
    self.columns = columns
    self.values = values
  }

  /// From nested rows; throws when the rows differ in length.
  public init(_ nested: [[Float]]) throws {
    let columns = nested.first?.count ?? 0
    guard nested.allSatisfy({ $0.count == columns }) else {
      throw BertScopeError.invalidInput("matrix: rows have different lengths \(Set(nested.map(\.count)).sorted())")
    }
    try self.init(rows: nested.count, columns: columns, values: nested.flatMap { $0 })
  }

  /// A matrix of `value`.
  public init(rows: Int, columns: Int, repeating value: Float) {
    self.rows = rows
    self.columns = columns
    values = [Float](repeating: value, count: rows * columns)
  }

  /// The cell at 0-based `row` and `column`.
  public subscript(row: Int, column: Int) -> Float {
    get { values[row * columns + column] }
    set { values[row * columns + column] = newValue }
  }

  /// How blocks of cells are merged when a matrix is shrunk.
  public enum Reduction: Sendable {
    /// The block average: keeps total mass, blurs single sharp columns.
    case mean
    /// The block maximum: keeps sharp patterns (one strong [SEP] column) visible in thumbnails.
    case max
  }

  /// Shrinks by merging square blocks of `ceil(side / maxSide)` × `ceil(side / maxSide)` cells,
  /// so that neither side exceeds `maxSide`; returns the matrix itself when it already fits.
  /// NaN cells are skipped; a block of NaN only stays NaN.
  public func downsampled(maxSide: Int, reduction: Reduction = .mean) -> Matrix {
    let side = Swift.max(rows, columns)
    guard maxSide > 0, side > maxSide else { return self }
    let block = (side + maxSide - 1) / maxSide
    let (outRows, outColumns) = ((rows + block - 1) / block, (columns + block - 1) / block)
    var out = Matrix(rows: outRows, columns: outColumns, repeating: 0)
    for r in 0..<outRows {
      for c in 0..<outColumns {
        var acc: Float = reduction == .max ? -.infinity : 0
        var n = 0
        for i in (r * block)..<Swift.min(rows, (r + 1) * block) {
          for j in (c * block)..<Swift.min(columns, (c + 1) * block) {
            let v = values[i * columns + j]
            if v.isNaN { continue }
            acc = reduction == .max ? Swift.max(acc, v) : acc + v
            n += 1
          }
        }
        out[r, c] = n == 0 ? .nan : (reduction == .max ? acc : acc / Float(n))
      }
    }
    return out
  }

  /// One pixel per cell, coloured by `colourMap` over `range`.
  public func bitmap(colourMap: ColourMap, range: ClosedRange<Double> = 0...1) -> Bitmap {
    var b = Bitmap(width: columns, height: rows)
    for (k, v) in values.enumerated() {
      let c = colourMap.colour(for: Double(v), in: range)
      b.bytes[3 * k] = c.r
      b.bytes[3 * k + 1] = c.g
      b.bytes[3 * k + 2] = c.b
    }
    return b
  }

  /// The smallest and largest finite values, or nil when there are none.
  public var finiteRange: ClosedRange<Float>? {
    var lo = Float.infinity
    var hi = -Float.infinity
    for v in values where v.isFinite {
      lo = Swift.min(lo, v)
      hi = Swift.max(hi, v)
    }
    return lo <= hi ? lo...hi : nil
  }
}
