import Foundation

/// A raster surface: draws figures into an RGB `Bitmap`, `scale` device pixels per figure unit.
/// No anti-aliasing: at scale 2 and above, text and lines are crisp and exact.
public final class Canvas: Surface {
  /// The pixels drawn so far: `ceil(width · scale)` × `ceil(height · scale)`, RGB.
  public private(set) var bitmap: Bitmap
  /// Device pixels per figure unit.
  public let scale: Int

  /// A canvas of `width` × `height` figure units, filled with `background`.
  public init(width: Double, height: Double, scale: Int = 2, background: RGB = .white) {
    precondition(scale >= 1)
    self.scale = scale
    bitmap = Bitmap(
      width: max(1, Int((width * Double(scale)).rounded(.up))),
      height: max(1, Int((height * Double(scale)).rounded(.up))),
      channels: 3, background: background)
  }

  /// Device pixel edge of figure coordinate `v`.
  @inline(__always) func px(_ v: Double) -> Int { Int((v * Double(scale)).rounded()) }

  /// Fills device pixels [x0, x1) × [y0, y1), clipped to the bitmap.
  func fillPixels(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: RGB) {
    let (xa, xb) = (max(0, x0), min(bitmap.width, x1))
    let (ya, yb) = (max(0, y0), min(bitmap.height, y1))
    guard xa < xb, ya < yb else { return }
    let w = bitmap.width
    bitmap.bytes.withUnsafeMutableBufferPointer { p in
      for y in ya..<yb {
        var i = (y * w + xa) * 3
        for _ in xa..<xb {
          p[i] = c.r
          p[i + 1] = c.g
          p[i + 2] = c.b
          i += 3
        }
      }
    }
  }

  /// Fills `rect`, its edges rounded to device pixels; `attributes` are ignored.
  public func fill(_ rect: Rect, _ colour: RGB, attributes: [(String, String)]) {
    fillPixels(px(rect.x), px(rect.y), px(rect.maxX), px(rect.maxY), colour)
  }

  /// Draws the outline of `rect` inside it, at least one device pixel thick.
  public func frame(_ rect: Rect, _ colour: RGB, width: Double) {
    let t = max(1, Int((width * Double(scale)).rounded()))
    let (x0, y0, x1, y1) = (px(rect.x), px(rect.y), px(rect.maxX), px(rect.maxY))
    fillPixels(x0, y0, x1, y0 + t, colour)
    fillPixels(x0, y1 - t, x1, y1, colour)
    fillPixels(x0, y0, x0 + t, y1, colour)
    fillPixels(x1 - t, y0, x1, y1, colour)
  }

  /// Draws the polyline by stamping a square pen of `width` (at least one device pixel) along each segment.
  public func line(_ points: [Point], _ colour: RGB, width: Double) {
    let t = max(1, Int((width * Double(scale)).rounded()))
    let half = Double(t) / 2
    for (a, b) in zip(points, points.dropFirst()) {
      let (ax, ay, bx, by) = (a.x * Double(scale), a.y * Double(scale), b.x * Double(scale), b.y * Double(scale))
      let steps = max(1, Int(max(abs(bx - ax), abs(by - ay)).rounded(.up)))
      for s in 0...steps {
        let f = Double(s) / Double(steps)
        let (x, y) = (ax + (bx - ax) * f, ay + (by - ay) * f)
        let (x0, y0) = (Int((x - half).rounded()), Int((y - half).rounded()))
        fillPixels(x0, y0, x0 + t, y0 + t, colour)
      }
    }
  }

  /// Fills the polygon by the even-odd rule, sampling at pixel centres; fewer than 3 points draw nothing.
  public func polygon(_ points: [Point], fill: RGB) {
    guard points.count >= 3 else { return }
    let s = Double(scale)
    let ys = points.map { $0.y * s }
    let (top, bottom) = (max(0, Int(ys.min()!.rounded(.down))), min(bitmap.height, Int(ys.max()!.rounded(.up))))
    guard top < bottom else { return }
    // Even-odd scanline fill, sampling at pixel centres.
    for y in top..<bottom {
      let cy = Double(y) + 0.5
      var xs: [Double] = []
      for i in points.indices {
        let (p, q) = (points[i], points[(i + 1) % points.count])
        let (py, qy) = (p.y * s, q.y * s)
        if (py <= cy && qy > cy) || (qy <= cy && py > cy) {
          xs.append(p.x * s + (cy - py) / (qy - py) * (q.x - p.x) * s)
        }
      }
      xs.sort()
      for k in stride(from: 0, to: xs.count - 1, by: 2) {
        fillPixels(Int((xs[k] - 0.5).rounded(.up)), y, Int((xs[k + 1] - 0.5).rounded(.up)), y + 1, fill)
      }
    }
  }

  /// Draws `text` with the built-in bitmap font, one glyph per character.
  public func text(_ text: String, at point: Point, style: TextStyle) {
    let k = style.size * scale
    let (along, across) = style.anchorOffsets(for: text)
    // Device position of the text's start/top corner, and the device directions of reading
    // (u) and of going down a line (v).
    let ox = px(point.x - (style.rotated ? across : along))
    let oy = px(point.y + (style.rotated ? along : -across))
    for (n, c) in text.enumerated() {
      let rows = BitmapFont.glyph(c)
      for (r, bits) in rows.enumerated() where bits != 0 {
        for col in 0..<BitmapFont.glyphWidth where bits & (1 << (BitmapFont.glyphWidth - 1 - col)) != 0 {
          let u = (n * BitmapFont.cellWidth + col) * k
          let v = (r + 1) * k
          let extra = style.bold ? max(1, k / 2) : 0
          if style.rotated {
            fillPixels(ox + v, oy - u - k - extra, ox + v + k, oy - u, style.colour)
          } else {
            fillPixels(ox + u, oy + v, ox + u + k + extra, oy + v + k, style.colour)
          }
        }
      }
    }
  }

  /// Fills the grid, cell edges rounded to device pixels so that cells tile without gaps; `value` is ignored.
  public func cells(
    _ rect: Rect, rows: Int, columns: Int, colour: (Int, Int) -> RGB, value: ((Int, Int) -> String)?
  ) {
    guard rows > 0, columns > 0 else { return }
    let (cw, ch) = (rect.width / Double(columns), rect.height / Double(rows))
    let xEdges = (0...columns).map { px(rect.x + Double($0) * cw) }
    let yEdges = (0...rows).map { px(rect.y + Double($0) * ch) }
    for r in 0..<rows where yEdges[r] < yEdges[r + 1] {
      for c in 0..<columns where xEdges[c] < xEdges[c + 1] {
        fillPixels(xEdges[c], yEdges[r], xEdges[c + 1], yEdges[r + 1], colour(r, c))
      }
    }
  }

  /// Copies `source` over `rect` by nearest neighbour, ignoring its alpha.
  public func image(_ source: Bitmap, in rect: Rect) {
    let (x0, y0, x1, y1) = (px(rect.x), px(rect.y), px(rect.maxX), px(rect.maxY))
    guard x1 > x0, y1 > y0, source.width > 0, source.height > 0 else { return }
    for y in max(0, y0)..<min(bitmap.height, y1) {
      let sy = (y - y0) * source.height / (y1 - y0)
      for x in max(0, x0)..<min(bitmap.width, x1) {
        let sx = (x - x0) * source.width / (x1 - x0)
        let (i, j) = ((y * bitmap.width + x) * 3, (sy * source.width + sx) * source.channels)
        bitmap.bytes[i] = source.bytes[j]
        bitmap.bytes[i + 1] = source.bytes[j + 1]
        bitmap.bytes[i + 2] = source.bytes[j + 2]
      }
    }
  }

  /// Does nothing: raster surfaces have no groups.
  public func beginGroup(_ attributes: [(String, String)]) {}
  /// Does nothing: raster surfaces have no groups.
  public func endGroup() {}
}
