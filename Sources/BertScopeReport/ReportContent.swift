/// What an HTML report holds: sections of text, figures (inlined as SVG), tables and model
/// views (a layers × heads grid of thumbnails for one example, each opening its full map).
public struct ReportContent: Sendable {
  public var title: String
  /// One line under the title: model, corpus, date.
  public var subtitle: String
  /// Key numbers shown first.
  public var summary: ReportTable?
  public var sections: [ReportSection]

  public init(title: String, subtitle: String = "", summary: ReportTable? = nil, sections: [ReportSection] = []) {
    self.title = title
    self.subtitle = subtitle
    self.summary = summary
    self.sections = sections
  }
}

public struct ReportSection: Sendable {
  public var title: String
  /// Plain text; a blank line starts a new paragraph.
  public var description: String
  public var items: [ReportItem]

  public init(title: String, description: String = "", items: [ReportItem] = []) {
    self.title = title
    self.description = description
    self.items = items
  }
}

public enum ReportItem: Sendable {
  case figure(ReportFigure)
  case table(ReportTable)
  case modelView(ModelView)
  /// Plain text; a blank line starts a new paragraph.
  case text(String)
}

/// A figure inlined as SVG, numbered in order, optionally also saved as `figures/<id>.svg`
/// and `.png` beside the page for use in papers.
public struct ReportFigure: Sendable {
  /// Unique in the report; letters, digits, '-' and '_' only (it names files).
  public var id: String
  public var caption: String
  public var figure: any Figure
  public var exportFiles: Bool

  public init(id: String, caption: String, figure: any Figure, exportFiles: Bool = true) {
    self.id = id
    self.caption = caption
    self.figure = figure
    self.exportFiles = exportFiles
  }
}

/// A table of text cells; columns listed in `numericColumns` are right-aligned.
public struct ReportTable: Sendable {
  public var caption: String
  public var columns: [String]
  public var rows: [[String]]
  public var numericColumns: Set<Int>

  public init(caption: String = "", columns: [String], rows: [[String]], numericColumns: Set<Int> = []) {
    self.caption = caption
    self.columns = columns
    self.rows = rows
    self.numericColumns = numericColumns
  }
}

/// Every head's attention map for one example: small thumbnails inline in the page (PNG data
/// URIs), and one full-size labelled map per head in `maps/<id>/` that the page loads only
/// when its thumbnail is clicked. Keeps the page small whatever the corpus size.
public struct ModelView: Sendable {
  /// Unique in the report; letters, digits, '-' and '_' only (it names a folder).
  public var id: String
  public var caption: String
  /// The example's tokens, e.g. ["[CLS]", "the", …, "[SEP]"].
  public var tokens: [String]
  /// maps[layer][head], each (L, L) with L = tokens.count, rows = queries.
  public var maps: [[Matrix]]
  public var categories: [HeadGrid.Category]
  /// assignments[layer][head] into `categories` (frames the thumbnail), or nil.
  public var assignments: [[Int?]]?
  /// Thumbnail side in CSS pixels (the PNG has twice as many, for high-DPI screens).
  public var thumbnailSize: Int

  public init(
    id: String, caption: String = "", tokens: [String], maps: [[Matrix]],
    categories: [HeadGrid.Category] = HeadGrid.patternTypes, assignments: [[Int?]]? = nil, thumbnailSize: Int = 56
  ) {
    self.id = id
    self.caption = caption
    self.tokens = tokens
    self.maps = maps
    self.categories = categories
    self.assignments = assignments
    self.thumbnailSize = thumbnailSize
  }
}
