import BertScope
import BertScopeAnalysis

/// Namespace of the figures and the HTML report.
///
/// Figures take plain inputs (`Matrix`, label arrays, tables of numbers) and render to PNG
/// (`Figure.png(scale:)`) and PDF (`Figure.pdf()`) through Cairo and Pango, and to SVG
/// (`Figure.svg()`, our own writer), all laid out with DejaVu Sans's metrics:
/// - `Heatmap`: one attention map with token labels, full resolution or thumbnail.
/// - `HeadGrid`: layers × heads thumbnails framed by pattern type (Kovaleva et al. 2019, Fig. 1).
/// - `StackedBars`: pattern-type proportions per layer (Fig. 2).
/// - `LineChart`: a value per layer for several series, lines or grouped bars (Fig. 6).
/// - `MatrixChart`: layers × heads values, e.g. ablation deltas (Fig. 8) or cosine similarity (Fig. 5).
///
/// `Report.write(_:to:)` writes a self-contained `index.html` from a `ReportContent`;
/// `AnalysisReport` builds that content from the analyses' files, and `ReportRun` runs the
/// analyses of `bertscope report` first.
public enum Report {}
