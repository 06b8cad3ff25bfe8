import Foundation

/// CSV text with a fixed header; numbers printed with 6 decimals so outputs are byte-stable.
public struct CSVTable: Sendable {
  /// The column names, the first line of ``text``.
  public let header: [String]
  /// The rows appended so far, each with one cell per header column.
  public private(set) var rows: [[String]] = []

  /// An empty table with the column names `header`.
  public init(_ header: [String]) { self.header = header }

  /// Appends a row; it must have one cell per header column (a precondition).
  ///
  /// Cells are written as given, unquoted, so they must hold no comma, quote or newline.
  public mutating func append(_ cells: [String]) {
    precondition(cells.count == header.count, "CSV row has \(cells.count) cells, header \(header.count)")
    rows.append(cells)
  }

  /// The CSV text: header and rows joined with commas, each line ending in `\n`.
  public var text: String {
    ([header] + rows).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
  }

  /// `x` with 6 decimals, or `nan` for NaN and ±infinity.
  public static func cell(_ x: Double) -> String { x.isFinite ? String(format: "%.6f", x) : "nan" }
  /// `x` in decimal.
  public static func cell(_ x: Int) -> String { String(x) }
}
