/// What an HTML report holds: sections of text, figures (inlined as SVG), tables and model
/// views (a layers × heads grid of thumbnails for one example, each opening its full map).
public struct ReportContent: Sendable {
  /// The page title, shown at the top and in the browser tab.
  public var title: String
  /// One line under the title: model, corpus, date.
  public var subtitle: String
  /// Key numbers shown first.
  public var summary: ReportTable?
  /// The sections in page order, each linked from the navigation bar.
  public var sections: [ReportSection]

  /// A report with the given title, subtitle, summary table and sections.
  public init(title: String, subtitle: String = "", summary: ReportTable? = nil, sections: [ReportSection] = []) {
    self.title = title
    self.subtitle = subtitle
    self.summary = summary
    self.sections = sections
  }
}

/// One titled section of a report: a description, then its items in order.
public struct ReportSection: Sendable {
  /// The section heading, also its entry in the navigation bar.
  public var title: String
  /// Plain text; a blank line starts a new paragraph.
  public var description: String
  /// The figures, tables, model views and text, in page order.
  public var items: [ReportItem]

  /// A section with a heading, a description and items.
  public init(title: String, description: String = "", items: [ReportItem] = []) {
    self.title = title
    self.description = description
    self.items = items
  }
}

/// One block of a section.
public enum ReportItem: Sendable {
  /// A numbered figure, inlined as SVG.
  case figure(ReportFigure)
  /// A table of text cells.
  case table(ReportTable)
  /// A numbered layers × heads grid of map thumbnails for one example.
  case modelView(ModelView)
  /// A numbered head view (bertviz's) of one example: lines between its tokens per layer.
  case headView(HeadView)
  /// Plain text; a blank line starts a new paragraph.
  case text(String)
}

/// A figure inlined as SVG, numbered in order, optionally also saved as `figures/<id>.svg`
/// and `.png` beside the page for use in papers.
public struct ReportFigure: Sendable {
  /// Unique in the report; letters, digits, '-' and '_' only (it names files).
  public var id: String
  /// Text after "Figure N." under the figure; also the SVG's accessible label.
  public var caption: String
  /// What is drawn.
  public var figure: any Figure
  /// Also save `figures/<id>.svg` and `figures/<id>.png` and link them from the caption.
  public var exportFiles: Bool

  /// A figure; exported as files unless `exportFiles` is false.
  public init(id: String, caption: String, figure: any Figure, exportFiles: Bool = true) {
    self.id = id
    self.caption = caption
    self.figure = figure
    self.exportFiles = exportFiles
  }
}

/// A table of text cells; columns listed in `numericColumns` are right-aligned.
public struct ReportTable: Sendable {
  /// Text shown above the table; empty for none.
  public var caption: String
  /// The column headings.
  public var columns: [String]
  /// The body rows, cells as displayed (already formatted).
  public var rows: [[String]]
  /// 0-based indices of the columns to right-align.
  public var numericColumns: Set<Int>

  /// A table with the given caption, headings, rows and right-aligned columns.
  public init(caption: String = "", columns: [String], rows: [[String]], numericColumns: Set<Int> = []) {
    self.caption = caption
    self.columns = columns
    self.rows = rows
    self.numericColumns = numericColumns
  }
}

/// Every head's attention map for one example: small thumbnails inline in the page (PNG data
/// URIs), and one full-size map per head in `maps/<id>/` (its cells only) that the page loads
/// only when its thumbnail is clicked; the viewer puts the token labels around it as HTML
/// text, so that any script the browser can show renders. Keeps the page small whatever the
/// corpus size.
public struct ModelView: Sendable {
  /// Unique in the report; letters, digits, '-' and '_' only (it names a folder).
  public var id: String
  /// Text after "Figure N." under the grid.
  public var caption: String
  /// The example's tokens, e.g. ["[CLS]", "the", …, "[SEP]"].
  public var tokens: [String]
  /// maps[layer][head], 0-based, each (L, L) with L = tokens.count, rows = queries; every
  /// layer has the same number of heads.
  public var maps: [[Matrix]]
  /// The categories ``assignments`` index into (pattern types by default), shown as a legend.
  public var categories: [HeadGrid.Category]
  /// assignments[layer][head] into `categories` (frames the thumbnail), or nil.
  public var assignments: [[Int?]]?
  /// Thumbnail side in CSS pixels. The thumbnail PNG has one pixel per map cell, block-max
  /// reduced to at most twice this side (for high-DPI screens); the browser scales it up.
  public var thumbnailSize: Int
  /// Also save the grid as a `HeadGrid` figure, `figures/<id>.svg` and `.png`.
  public var exportFiles: Bool
  /// The exported figure's title.
  public var title: String

  /// A model view; by default the categories are the pattern types, no thumbnail is framed
  /// and thumbnails are 56 CSS pixels.
  public init(
    id: String, caption: String = "", tokens: [String], maps: [[Matrix]],
    categories: [HeadGrid.Category] = HeadGrid.patternTypes, assignments: [[Int?]]? = nil, thumbnailSize: Int = 56,
    exportFiles: Bool = true, title: String = "Attention maps of one example by pattern type"
  ) {
    self.id = id
    self.caption = caption
    self.tokens = tokens
    self.maps = maps
    self.categories = categories
    self.assignments = assignments
    self.thumbnailSize = thumbnailSize
    self.exportFiles = exportFiles
    self.title = title
  }
}
