import BertScope
import BertScopeReport
import Foundation
import FuzzSupport

/// `bertscope report --from DIR` on arbitrary analysis files: `AnalysisResults.load(from:)`
/// over a scratch folder, then every figure of the page built (`AnalysisReport.content`) and
/// drawn as SVG and as a bitmap.
///
/// Input: byte 0 is a mask of which of eight files exist; the rest is split at "\n--\n" into
/// their contents, in the order of `files`. Checks: errors are one-line `BertScopeError`s;
/// loaded grids are rectangular and agree in shape; every figure draws without trapping
/// (NaN, ±huge values, negative proportions) and yields a well-formed SVG document.
let files = [
  "patterns.csv", "patterns_by_layer.csv", "special.csv", "cls_row.csv", "ablation.csv", "ablation.json", "compare.csv",
  "report.json",
]

let folder: URL = {
  let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("bertscope-fuzz-report-\(getpid())")
  try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReportInputs(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
  var input = ByteReader(Fuzz.data(start, count))
  let mask = input.byte()
  let parts = input.rest.split(separator: Array("\n--\n".utf8))
  var next = 0
  for (i, name) in files.enumerated() {
    let url = folder.appendingPathComponent(name)
    unlink(url.path)
    guard mask & (1 << i) != 0 else { continue }
    let content = next < parts.count ? Data(parts[next]) : Data()
    next += 1
    guard FileManager.default.createFile(atPath: url.path, contents: content) else {
      Fuzz.fail("cannot write \(url.path)")
    }
  }
  guard let results = Fuzz.expectTypedError({ try AnalysisResults.load(from: folder) }) else { return 0 }

  func rectangular<T>(_ grid: [[T]], _ what: String) -> (Int, Int) {
    Fuzz.check(!grid.isEmpty && !grid[0].isEmpty, "\(what): empty grid")
    Fuzz.check(grid.allSatisfy { $0.count == grid[0].count }, "\(what): ragged grid")
    return (grid.count, grid[0].count)
  }
  var shapes: [(Int, Int)] = []
  if let p = results.patterns { shapes.append(rectangular(p.perHead, "patterns")) }
  if let s = results.special { shapes.append(rectangular(s.perHead, "special")) }
  if let a = results.ablation { shapes.append(rectangular(a.headDelta, "ablation")) }
  if let c = results.comparison { shapes.append(rectangular(c.cosine.values, "compare")) }
  Fuzz.check(shapes.allSatisfy { $0 == shapes[0] }, "shapes disagree but loaded: \(shapes)")

  guard let content = Fuzz.expectTypedError({ try AnalysisReport.content(results) }) else { return 0 }
  for section in content.sections {
    for item in section.items {
      guard case .figure(let f) = item else { continue }
      let svg = f.figure.svg()
      Fuzz.check(svg.hasPrefix("<svg") || svg.hasPrefix("<?xml"), "figure \(f.id): SVG starts \(svg.prefix(20))")
      Fuzz.check(svg.hasSuffix("</svg>\n") || svg.hasSuffix("</svg>"), "figure \(f.id): SVG not closed")
      // Cairo + Pango draw the PNG; a drawing error must be a typed error, never a crash.
      guard let bitmap = Fuzz.expectTypedError({ try f.figure.bitmap(scale: 1) }) else { continue }
      Fuzz.check(bitmap.width > 0 && bitmap.height > 0, "figure \(f.id): empty bitmap")
    }
  }
  return 0
}
