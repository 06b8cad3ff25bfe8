import Testing

@testable import BertScopeReport

@Suite("colour maps")
struct ReportColourMapTests {
  @Test("viridis has matplotlib's colours at the ends and at known points")
  func viridisKnownValues() {
    let v = ColourMap.viridis
    #expect(v.count == 256)
    #expect(rgb(v.colour(at: 0)) == [68, 1, 84])
    #expect(rgb(v.colour(at: 0.25)) == [59, 82, 139])
    #expect(rgb(v.colour(at: 0.5)) == [33, 145, 140])
    #expect(rgb(v.colour(at: 0.75)) == [94, 201, 98])
    #expect(rgb(v.colour(at: 1)) == [253, 231, 37])
    let mid = v.components(at: 0.5)
    #expect(mid.r == 0.127568 && mid.g == 0.566949 && mid.b == 0.550556)
    // Clamped outside 0...1; NaN is visibly "missing", not a data colour.
    #expect(v.colour(at: -3) == v.colour(at: 0))
    #expect(v.colour(at: 7) == v.colour(at: 1))
    #expect(v.colour(at: .nan) == RGB.missing)
    #expect(v.colour(for: 5, in: 0...10) == v.colour(at: 0.5))
  }

  @Test("viridis grows lighter monotonically from dark to light")
  func viridisLightness() {
    let v = ColourMap.viridis
    let exact = v.entries.map { cieLightness(srgb: $0.0, $0.1, $0.2) }
    for i in 1..<exact.count { #expect(exact[i] > exact[i - 1], "entry \(i)") }
    // 8-bit rounding may tie neighbours or dip by a few hundredths of L*, never more.
    let rounded = v.colours.map(\.lightness)
    for i in 1..<rounded.count { #expect(rounded[i] > rounded[i - 1] - 0.05, "entry \(i)") }
    #expect(rounded.first! < 16 && rounded.last! > 90)
  }

  @Test("cool-warm runs from Moreland's blue through neutral grey to his red, lightest in the middle")
  func coolWarm() {
    let m = ColourMap.coolWarm
    #expect(m.isDiverging)
    #expect(rgb(m.colour(at: 0)) == [59, 76, 192])
    #expect(rgb(m.colour(at: 1)) == [180, 4, 38])
    let centre = m.colour(at: 0.5)
    #expect(max(centre.r, centre.g, centre.b) - min(centre.r, centre.g, centre.b) <= 2, "centre \(centre) is not grey")
    #expect(abs(centre.lightness - 88) < 1)
    let l = (0...256).map { m.components(at: Double($0) / 256) }.map { cieLightness(srgb: $0.r, $0.g, $0.b) }
    for i in 1...128 { #expect(l[i] > l[i - 1], "lighter towards the centre at \(i)") }
    for i in 129...256 { #expect(l[i] < l[i - 1], "darker away from the centre at \(i)") }
    // The two halves are equally light at equal distances, so neither sign looks stronger.
    for d in stride(from: 0, through: 128, by: 16) { #expect(abs(l[128 - d] - l[128 + d]) < 6, "at ±\(d)") }
    // Signed values on a symmetric range: 0 is the centre.
    #expect(m.colour(for: 0, in: -0.04...0.04) == centre)
  }

  @Test("cool-warm agrees with the published samples of Moreland's map")
  func coolWarmReference() {
    // matplotlib's "coolwarm" (built from Moreland's published table), rounded to 8 bits.
    let reference: [(Double, [Int])] = [
      (0.125, [98, 130, 234]), (0.25, [141, 176, 254]), (0.375, [185, 208, 249]), (0.5, [221, 220, 220]),
      (0.625, [245, 196, 172]), (0.75, [244, 152, 122]), (0.875, [221, 95, 75]),
    ]
    for (t, expected) in reference {
      let c = ColourMap.coolWarm.colour(at: t)
      let error = zip([c.r, c.g, c.b].map(Int.init), expected).map { abs($0 - $1) }.max()!
      #expect(error <= 3, "at \(t): \(c) vs \(expected)")
    }
  }

  @Test("text on a fill is black or white, whichever contrasts")
  func contrast() {
    #expect(ColourMap.viridis.colour(at: 0).contrastingText == .white)
    #expect(ColourMap.viridis.colour(at: 1).contrastingText == .black)
    #expect(RGB.white.hex == "#ffffff" && RGB(0, 114, 178).hex == "#0072b2")
  }
}
