import BertScope
import Foundation

/// The file formats a figure is saved in, chosen by the file name's extension.
public enum FigureFormat: String, Sendable, CaseIterable {
  case png
  case svg
  case pdf

  /// The format of `path` by its extension (case-insensitive); throws for any other.
  public init(path: String) throws {
    let ext = (path as NSString).pathExtension.lowercased()
    guard let format = FigureFormat(rawValue: ext) else {
      let shown = ext.isEmpty ? "no extension" : "extension .\(ext)"
      throw BertScopeError.invalidInput("\(path): \(shown); the format is chosen by the extension: .png, .svg or .pdf")
    }
    self = format
  }
}

extension Figure {
  /// Writes the figure to `url` (atomically) as PNG (`scale` pixels per figure unit), SVG or
  /// PDF, by `format` or else by the file's extension.
  public func write(to url: URL, format: FigureFormat? = nil, scale: Double = 2) throws {
    switch try format ?? FigureFormat(path: url.path) {
    case .png: try writePNG(to: url, scale: scale)
    case .svg: try writeSVG(to: url)
    case .pdf: try writePDF(to: url)
    }
  }
}
