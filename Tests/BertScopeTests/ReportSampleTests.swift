import Foundation
import Testing

@testable import BertScopeReport

@Suite("sample report")
struct ReportSampleTests {
  /// `scripts/browser-check --sample` runs this with BERTSCOPE_SAMPLE_REPORT_DIR set and opens the result.
  @Test("writes the sample report with every figure type and a model view")
  func writesSample() throws {
    // The full sample (6 × 12 heads) when asked for; a smaller one in ordinary test runs.
    let env = ProcessInfo.processInfo.environment["BERTSCOPE_SAMPLE_REPORT_DIR"]
    let dir = env.map { URL(fileURLWithPath: $0) } ?? temporaryFolder("sample")
    defer { if env == nil { try? FileManager.default.removeItem(at: dir) } }
    let (layers, heads) = env == nil ? (2, 3) : (6, 12)
    let index = try Report.write(try SampleData.content(layers: layers, heads: heads), to: dir)
    let html = try String(contentsOf: index, encoding: .utf8)
    #expect(html.contains("data-figure=\"pattern-types\""))
    #expect(html.contains("data-figure=\"example-1\""))
    for name in ["pattern-types", "head-grid", "heatmap", "special-tokens", "ablation", "fine-tuning"] {
      for ext in ["svg", "png"] {
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("figures/\(name).\(ext)").path))
      }
    }
    #expect(
      FileManager.default.fileExists(atPath: dir.appendingPathComponent("maps/example-1/L\(layers)-H\(heads).png").path)
    )
  }
}

/// A fresh folder under the system's temporary directory.
func temporaryFolder(_ name: String) -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("bertscope-\(name)-\(UUID().uuidString)")
  try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}
