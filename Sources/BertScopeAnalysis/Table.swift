import Foundation

/// CSV text with a fixed header; numbers printed with 6 decimals so outputs are byte-stable.
public struct CSVTable: Sendable {
  public let header: [String]
  public private(set) var rows: [[String]] = []

  public init(_ header: [String]) { self.header = header }

  public mutating func append(_ cells: [String]) {
    precondition(cells.count == header.count, "CSV row has \(cells.count) cells, header \(header.count)")
    rows.append(cells)
  }

  public var text: String {
    ([header] + rows).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
  }

  public static func cell(_ x: Double) -> String { x.isFinite ? String(format: "%.6f", x) : "nan" }
  public static func cell(_ x: Int) -> String { String(x) }
}
