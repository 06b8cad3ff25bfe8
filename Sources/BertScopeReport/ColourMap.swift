import Foundation

/// A colour map: a table of colours sampled along 0...1, looked up the way matplotlib's
/// `ListedColormap` does (entry `min(n - 1, floor(t * n))`), so that a value gets exactly the
/// colour matplotlib would give it.
public struct ColourMap: Sendable {
  /// A short name for legends and file names ("viridis", "coolwarm").
  public let name: String
  /// Whether the map is diverging (a neutral centre at 0.5), i.e. meant for signed values.
  public let isDiverging: Bool
  /// (n, 3) sRGB components in 0...1.
  let entries: [(Double, Double, Double)]
  /// The same entries rounded to 8 bits, which is what ends up in PNG pixels and SVG fills.
  let colours: [RGB]

  init(name: String, isDiverging: Bool, entries: [(Double, Double, Double)]) {
    self.name = name
    self.isDiverging = isDiverging
    self.entries = entries
    self.colours = entries.map { RGB(unit: $0.0, $0.1, $0.2) }
  }

  /// Number of distinct colours in the table.
  public var count: Int { colours.count }

  /// The table index that `t` falls in. NaN maps to nil; values outside 0...1 are clamped.
  public func index(at t: Double) -> Int? {
    guard !t.isNaN else { return nil }
    let n = colours.count
    let x = (min(1, max(0, t)) * Double(n)).rounded(.down)
    return min(n - 1, Int(x))
  }

  /// The colour of `t` in 0...1 (clamped); NaN gets `RGB.missing`.
  public func colour(at t: Double) -> RGB {
    guard let i = index(at: t) else { return .missing }
    return colours[i]
  }

  /// The colour of `value` on the scale `range` (its lower bound maps to 0, its upper to 1,
  /// values outside clamped); a range of zero width gives every non-NaN value the middle colour.
  public func colour(for value: Double, in range: ClosedRange<Double>) -> RGB {
    let width = range.upperBound - range.lowerBound
    guard width > 0 else { return colour(at: value.isNaN ? .nan : 0.5) }
    return colour(at: (value - range.lowerBound) / width)
  }

  /// The unrounded sRGB components (0...1) of the table entry that `t` falls in.
  public func components(at t: Double) -> (r: Double, g: Double, b: Double) {
    let e = entries[index(at: t) ?? 0]
    return (e.0, e.1, e.2)
  }

  /// Viridis (van der Walt & Smith 2015): sequential, perceptually uniform, readable in grey
  /// scale and by colour-blind readers. For attention weights in 0...1.
  public static let viridis = ColourMap(name: "viridis", isDiverging: false, entries: viridisTable)

  /// Moreland's "cool to warm" diverging map (K. Moreland, "Diverging Color Maps for Scientific
  /// Visualization", ISVC 2009): blue (59, 76, 192) to red (180, 4, 38) through a neutral
  /// light grey, interpolated in his Msh space (polar CIELAB) so that lightness rises evenly
  /// towards the centre from both ends. Blue and red stay apart under deuteranopia and
  /// protanopia. 257 entries so that the centre (t = 0.5) is exactly neutral. For signed
  /// deltas on a symmetric range.
  public static let coolWarm = ColourMap(
    name: "coolwarm", isDiverging: true,
    entries: (0...256).map { i in Moreland.interpolate(Double(i) / 256) })
}

/// Moreland's Msh colour space and diverging interpolation (ISVC 2009, section 4).
enum Moreland {
  // D65 reference white for CIELAB.
  static let white = (x: 0.95047, y: 1.0, z: 1.08883)
  static let cold = msh(srgb: 59.0 / 255, 76.0 / 255, 192.0 / 255)
  static let warm = msh(srgb: 180.0 / 255, 4.0 / 255, 38.0 / 255)

  static func msh(srgb r: Double, _ g: Double, _ b: Double) -> (m: Double, s: Double, h: Double) {
    let (rl, gl, bl) = (srgbToLinear(r), srgbToLinear(g), srgbToLinear(b))
    let x = 0.4124564 * rl + 0.3575761 * gl + 0.1804375 * bl
    let y = 0.2126729 * rl + 0.7151522 * gl + 0.0721750 * bl
    let z = 0.0193339 * rl + 0.1191920 * gl + 0.9503041 * bl
    func f(_ t: Double) -> Double { t > 216.0 / 24389.0 ? cbrt(t) : (24389.0 / 27.0 * t + 16) / 116 }
    let (fx, fy, fz) = (f(x / white.x), f(y / white.y), f(z / white.z))
    let (l, a, bb) = (116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz))
    let m = (l * l + a * a + bb * bb).squareRoot()
    return (m, m > 0 ? acos(l / m) : 0, atan2(bb, a))
  }

  static func srgb(msh: (m: Double, s: Double, h: Double)) -> (Double, Double, Double) {
    let l = msh.m * cos(msh.s)
    let a = msh.m * sin(msh.s) * cos(msh.h)
    let bb = msh.m * sin(msh.s) * sin(msh.h)
    let fy = (l + 16) / 116
    let (fx, fz) = (fy + a / 500, fy - bb / 200)
    func finv(_ t: Double) -> Double { t * t * t > 216.0 / 24389.0 ? t * t * t : (116 * t - 16) * 27.0 / 24389.0 }
    let (x, y, z) = (finv(fx) * white.x, finv(fy) * white.y, finv(fz) * white.z)
    let rl = 3.2404542 * x - 1.5371385 * y - 0.4985314 * z
    let gl = -0.9692660 * x + 1.8760108 * y + 0.0415560 * z
    let bl = 0.0556434 * x - 0.2040259 * y + 1.0572252 * z
    func c(_ v: Double) -> Double { min(1, max(0, linearToSRGB(min(1, max(0, v))))) }
    return (c(rl), c(gl), c(bl))
  }

  /// Hue of the unsaturated end, spun so that the path towards it does not bend sharply.
  static func adjustHue(saturated: (m: Double, s: Double, h: Double), unsaturatedM: Double) -> Double {
    if saturated.m >= unsaturatedM { return saturated.h }
    let spin =
      saturated.s * (unsaturatedM * unsaturatedM - saturated.m * saturated.m).squareRoot()
      / (saturated.m * sin(saturated.s))
    return saturated.h > -Double.pi / 3 ? saturated.h + spin : saturated.h - spin
  }

  static func interpolate(_ t: Double) -> (Double, Double, Double) {
    var (a, b, u) = (cold, warm, t)
    // Far-apart saturated ends: pass through a white point as bright as the brighter end (>= 88).
    let mid = max(a.m, b.m, 88)
    if u < 0.5 {
      b = (mid, 0, 0)
      u *= 2
    } else {
      a = (mid, 0, 0)
      u = 2 * u - 1
    }
    if a.s < 0.05 && b.s > 0.05 { a.h = adjustHue(saturated: b, unsaturatedM: a.m) }
    if b.s < 0.05 && a.s > 0.05 { b.h = adjustHue(saturated: a, unsaturatedM: b.m) }
    let m = (1 - u) * a.m + u * b.m
    let s = (1 - u) * a.s + u * b.s
    let h = (1 - u) * a.h + u * b.h
    return srgb(msh: (m, s, h))
  }
}
