import Foundation

/// An opaque 8-bit sRGB colour.
public struct RGB: Hashable, Sendable, CustomStringConvertible {
  /// Red, 0–255.
  public var r: UInt8
  /// Green, 0–255.
  public var g: UInt8
  /// Blue, 0–255.
  public var b: UInt8

  /// The colour with 8-bit sRGB components `r`, `g`, `b`.
  public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
    self.r = r
    self.g = g
    self.b = b
  }

  /// Rounds components in 0...1 (clamped) to 8 bits.
  public init(unit r: Double, _ g: Double, _ b: Double) {
    func q(_ x: Double) -> UInt8 { UInt8((min(1, max(0, x)) * 255).rounded()) }
    self.init(q(r), q(g), q(b))
  }

  /// `#rrggbb`, as SVG, CSS and HTML take it.
  public var hex: String {
    let digits = Array("0123456789abcdef")
    var s = "#"
    for c in [r, g, b] {
      s.append(digits[Int(c >> 4)])
      s.append(digits[Int(c & 15)])
    }
    return s
  }

  /// The ``hex`` form, `#rrggbb`.
  public var description: String { hex }

  /// CIE L* (D65) in 0...100: perceived lightness, used to pick black or white text on a fill
  /// and to check that sequential maps grow monotonically lighter.
  public var lightness: Double { cieLightness(srgb: Double(r) / 255, Double(g) / 255, Double(b) / 255) }

  /// Black or white, whichever reads better on top of this colour.
  public var contrastingText: RGB { lightness > 55 ? .black : .white }

  /// `#000000`.
  public static let black = RGB(0, 0, 0)
  /// `#ffffff`, the figures' background.
  public static let white = RGB(255, 255, 255)
  /// Axis lines, ticks and frames.
  public static let ink = RGB(34, 34, 34)
  /// Secondary text (axis titles, captions).
  public static let mutedInk = RGB(85, 85, 85)
  /// Grid lines.
  public static let grid = RGB(225, 225, 225)
  /// Cells whose value is missing (NaN).
  public static let missing = RGB(200, 200, 200)
}

/// sRGB component (0...1) to linear light.
func srgbToLinear(_ c: Double) -> Double {
  c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4)
}

/// Linear light to an sRGB component (0...1).
func linearToSRGB(_ c: Double) -> Double {
  c <= 0.0031308 ? 12.92 * c : 1.055 * pow(c, 1 / 2.4) - 0.055
}

/// CIE L* of an sRGB colour whose components are in 0...1.
func cieLightness(srgb r: Double, _ g: Double, _ b: Double) -> Double {
  let y = 0.2126 * srgbToLinear(r) + 0.7152 * srgbToLinear(g) + 0.0722 * srgbToLinear(b)
  let f = y > 216.0 / 24389.0 ? cbrt(y) : (24389.0 / 27.0 * y + 16) / 116
  return 116 * f - 16
}

/// Categorical colours for lines, bar segments and pattern types.
public enum Palette {
  /// Okabe & Ito (2008), "Color Universal Design": eight colours that stay distinct under the
  /// common forms of colour blindness. Black is last so that it is used only when needed.
  public static let okabeIto: [RGB] = [
    RGB(0, 114, 178),  // blue
    RGB(230, 159, 0),  // orange
    RGB(0, 158, 115),  // bluish green
    RGB(204, 121, 167),  // reddish purple
    RGB(86, 180, 233),  // sky blue
    RGB(213, 94, 0),  // vermillion
    RGB(240, 228, 66),  // yellow
    RGB(0, 0, 0),  // black
  ]

  /// The i-th categorical colour, cycling through `okabeIto`.
  public static func categorical(_ i: Int) -> RGB { okabeIto[((i % okabeIto.count) + okabeIto.count) % okabeIto.count] }
}
