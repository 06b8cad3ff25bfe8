import BertScope
import Foundation

/// A CSV file as the analyses write it (`CSVTable`): a header line, then comma-separated
/// cells without quoting (numbers, and `all` in ablation.csv). Errors name the file and line.
struct CSVFile {
  let path: String
  let header: [String]
  /// (line number from 1, cells).
  let rows: [(line: Int, cells: [String])]

  typealias Row = (line: Int, cells: [String])

  /// Reads `url`, which must have exactly the header `expected`.
  init(url: URL, header expected: [String]) throws {
    path = url.path
    let text = try FileBytes.text(url, limit: AnalysisJSON.maxFileBytes)
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
      $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
    }
    while lines.last?.isEmpty == true { lines.removeLast() }
    guard let first = lines.first else { throw BertScopeError.invalidInput("\(url.path): empty file") }
    header = first.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    guard header == expected else {
      throw BertScopeError.invalidInput(
        "\(url.path):1: header is \"\(printable(first))\", expected \"\(expected.joined(separator: ","))\"")
    }
    var rows: [Row] = []
    for (i, line) in lines.enumerated().dropFirst() {
      let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
      guard cells.count == expected.count else {
        throw BertScopeError.invalidInput(
          "\(url.path):\(i + 1): \(cells.count) cells, the header has \(expected.count)")
      }
      rows.append((i + 1, cells))
    }
    guard !rows.isEmpty else { throw BertScopeError.invalidInput("\(url.path): no rows after the header") }
    self.rows = rows
  }

  /// A layer or head number (from 1).
  func index(_ row: Row, _ column: Int) throws -> Int {
    guard let v = Int(row.cells[column]), v >= 1 else {
      throw BertScopeError.invalidInput(
        "\(path):\(row.line): \(header[column]) \"\(printable(row.cells[column]))\" is not a number from 1")
    }
    return v
  }

  /// A number; "nan" reads as NaN (the writers print non-finite values so).
  func number(_ row: Row, _ column: Int) throws -> Double {
    let cell = row.cells[column].trimmingCharacters(in: .whitespaces)
    if cell == "nan" { return .nan }
    guard let v = Double(cell), v.isFinite else {
      throw BertScopeError.invalidInput(
        "\(path):\(row.line): \(header[column]) \"\(printable(row.cells[column]))\" is not a number")
    }
    return v
  }

  /// Rows keyed by (layer, head), 1-based, checked to cover every head of a full
  /// layers × heads grid exactly once; returns the grid of `columns` values, 0-based.
  func headGrid(columns: [Int]) throws -> [[[Double]]] {
    var cells: [Int: [Int: [Double]]] = [:]
    for row in rows {
      let (l, h) = (try index(row, 0), try index(row, 1))
      guard cells[l]?[h] == nil else {
        throw BertScopeError.invalidInput("\(path):\(row.line): layer \(l) head \(h) appears twice")
      }
      cells[l, default: [:]][h] = try columns.map { try number(row, $0) }
    }
    return try CSVFile.grid(cells, path: path)
  }

  /// `cells[layer][head]` (1-based) as a full 0-based grid; a missing cell is an error.
  static func grid<T>(_ cells: [Int: [Int: T]], path: String) throws -> [[T]] {
    let layers = cells.keys.max() ?? 0
    let heads = cells.values.flatMap(\.keys).max() ?? 0
    return try (1...max(layers, 1)).map { l in
      try (1...max(heads, 1)).map { h in
        guard let v = cells[l]?[h] else {
          throw BertScopeError.invalidInput(
            "\(path): no row for layer \(l) head \(h) (expected \(layers) layers × \(heads) heads)")
        }
        return v
      }
    }
  }
}

/// An analysis' files in a folder: the JSON record beside its CSV tables.
public protocol AnalysisResult: Sendable, Encodable {
  /// The JSON file's name without `.json`, e.g. `patterns`.
  static var name: String { get }
  /// The CSV files written beside the JSON, in order.
  static var tableFiles: [String] { get }
  /// The run that made the numbers.
  var info: RunInfo { get }
  /// The CSV tables, in `tableFiles` order.
  var tables: [CSVTable] { get }
  /// Reads the result from `folder`: the numbers from its CSV tables, the run and the
  /// analysis' settings from its JSON when present (a CSV copied alone still reads).
  static func read(from folder: URL) throws -> Self
}

extension AnalysisResult {
  /// Every file of the result: the tables, then the JSON.
  public static var fileNames: [String] { tableFiles + ["\(name).json"] }

  /// Writes the tables and `name.json` atomically into `folder`; returns the files written.
  @discardableResult
  public func write(to folder: URL) throws -> [URL] {
    var written: [URL] = []
    for (file, table) in zip(Self.tableFiles, tables) {
      let url = folder.appendingPathComponent(file)
      try AtomicFile.write(table.text, to: url)
      written.append(url)
    }
    let json = folder.appendingPathComponent("\(Self.name).json")
    try AnalysisJSON.write(self, to: json)
    return written + [json]
  }

  /// The run information in `folder/name.json`, checked against the shape of the CSV, or a
  /// stand-in when the JSON is missing.
  static func info(in folder: URL, layers: Int, heads: Int) throws -> RunInfo {
    let url = folder.appendingPathComponent("\(name).json")
    guard FileManager.default.fileExists(atPath: url.path) else { return .unknown(layers: layers, heads: heads) }
    let info = try AnalysisJSON.read(RunInfo.self, from: url)
    guard info.model.layers == layers, info.model.heads == heads else {
      throw BertScopeError.invalidInput(
        "\(url.path): the model has \(info.model.layers) layers × \(info.model.heads) heads but \(tableFiles[0]) covers \(layers) × \(heads)"
      )
    }
    return info
  }

  /// `folder/name.json` decoded as `T` (the analysis' own keys), nil when the file is missing.
  static func json<T: Decodable>(_ type: T.Type, in folder: URL) throws -> T? {
    let url = folder.appendingPathComponent("\(name).json")
    guard FileManager.default.fileExists(atPath: url.path) else { return nil }
    return try AnalysisJSON.read(type, from: url)
  }
}
