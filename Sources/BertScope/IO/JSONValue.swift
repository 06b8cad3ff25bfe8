import Foundation

/// Typed access to values from `JSONSerialization`, whose numbers and booleans are both
/// `NSNumber` on Linux (`1 is Bool` is true there): booleans are told apart by their
/// Objective-C type code `c`.
enum JSONValue {
  static func isBool(_ value: Any) -> Bool {
    guard let number = value as? NSNumber else { return false }
    return String(cString: number.objCType) == "c"
  }

  /// An integral number (not a boolean), e.g. `3` or `3.0`.
  static func integer(_ value: Any) -> Int? {
    guard let number = value as? NSNumber, !isBool(value) else { return nil }
    let d = number.doubleValue
    guard d.isFinite, d.rounded() == d, abs(d) < 9.0e15 else { return nil }
    return Int(d)
  }

  /// Any number (not a boolean).
  static func number(_ value: Any) -> Double? {
    guard let number = value as? NSNumber, !isBool(value) else { return nil }
    return number.doubleValue
  }

  /// A boolean.
  static func bool(_ value: Any) -> Bool? {
    guard isBool(value), let number = value as? NSNumber else { return nil }
    return number.boolValue
  }
}
