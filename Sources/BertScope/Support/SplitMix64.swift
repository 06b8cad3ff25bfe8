import Foundation

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny deterministic generator, so that random
/// test inputs, self-test data and sample figures are the same on every run and machine.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  /// The generator's whole state; two generators with equal states yield the same sequence.
  public var state: UInt64

  /// Starts a sequence; the same `seed` always gives the same numbers.
  public init(seed: UInt64) { state = seed }

  /// The next 64 uniformly distributed bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in [0, 1).
  public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

  /// Standard normal (Box–Muller).
  public mutating func normal() -> Double {
    let (u, v) = (max(unit(), 1e-12), unit())
    return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
  }

  /// `count` floats uniform in `range`.
  public mutating func floats(_ count: Int, in range: ClosedRange<Float> = -1...1) -> [Float] {
    (0..<count).map { _ in Float.random(in: range, using: &self) }
  }
}
