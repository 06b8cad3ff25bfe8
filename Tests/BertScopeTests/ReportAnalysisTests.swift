import BertScopeAnalysis
import Foundation
import Testing

@testable import BertScope
@testable import BertScopeReport

/// A CSV file as plain rows of cells, header first, parsed here independently of the library.
func readCSV(_ url: URL) throws -> [[String]] {
  try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
    $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
  }
}

/// The value of attribute `name` of the `figure` element of `html` whose data-figure is `id`.
func figureAttribute(_ html: String, id: String, _ name: String) -> String? {
  guard let start = html.range(of: "data-figure=\"\(id)\"") else { return nil }
  let tagStart = html[..<start.lowerBound].range(of: "<figure", options: .backwards)!.lowerBound
  let tag = html[tagStart..<html[start.upperBound...].range(of: ">")!.upperBound]
  guard let a = tag.range(of: " \(name)=\"") else { return nil }
  return String(tag[a.upperBound..<tag[a.upperBound...].range(of: "\"")!.lowerBound])
}

/// Un-escapes the five entities `escapeXML` writes.
func unescapeXML(_ s: String) -> String {
  s.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(
    of: "&lt;", with: "<"
  )
  .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
}

@Suite("report from analysis outputs")
struct ReportAnalysisTests {
  static func write(_ text: String, _ name: String, in dir: URL) throws {
    let url = dir.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try text.write(to: url, atomically: true, encoding: .utf8)
  }

  @Test("malformed or mismatched analysis files are errors that name the file and line")
  func badFiles() throws {
    let dir = temporaryFolder("bad-analysis")
    defer { try? FileManager.default.removeItem(at: dir) }
    #expect(throws: BertScopeError.self) { try AnalysisResults.load(from: dir) }

    let header = "layer,head,vertical,diagonal,vertical+diagonal,block,heterogeneous\n"
    try Self.write(header + "1,1,1,0,0,0,0\n1,2,0.5,0.5,0,0,0\n", "patterns.csv", in: dir)
    let ok = try AnalysisResults.load(from: dir)
    #expect(ok.patterns?.perHead.count == 1 && ok.patterns?.perHead[0].count == 2)
    #expect(
      ok.patterns?.perLayer[0].values == [0.75, 0.25, 0, 0, 0], "per-layer shares default to the mean over heads")

    func message(_ body: () throws -> Void) -> String {
      do {
        try body()
        return "no error"
      } catch { return "\(error)" }
    }
    try Self.write(header + "1,1,1,0,0,0,0\n1,2,0.5,x,0,0,0\n", "patterns.csv", in: dir)
    #expect(
      message { _ = try AnalysisResults.load(from: dir) }.contains("patterns.csv:3: diagonal \"x\" is not a number"))
    try Self.write("layer,head,vertical\n1,1,1\n", "patterns.csv", in: dir)
    #expect(message { _ = try AnalysisResults.load(from: dir) }.contains("patterns.csv:1: header is"))
    try Self.write(header + "1,1,1,0,0,0,0\n2,2,1,0,0,0,0\n", "patterns.csv", in: dir)
    #expect(message { _ = try AnalysisResults.load(from: dir) }.contains("no row for layer 1 head 2"))
    // Two files from models of different shapes.
    try Self.write(header + "1,1,1,0,0,0,0\n1,2,1,0,0,0,0\n", "patterns.csv", in: dir)
    try Self.write("layer,head,cosine\n1,1,1\n", "compare.csv", in: dir)
    #expect(message { _ = try AnalysisResults.load(from: dir) }.contains("different models"))
  }

  /// A synthetic (L, L) map whose cells take 11 distinct levels, so that a misplaced cell shows.
  static func levels(_ l: Int, seed: Int) -> Matrix {
    var m = Matrix(rows: l, columns: l, repeating: 0)
    for i in 0..<l {
      for j in 0..<l { m[i, j] = Float((i * 7 + j * 3 + seed) % 11) / 10 }
    }
    return m
  }

  @Test("a 512-token example: small thumbnails, every token in the full map (cells only), a bounded head view")
  func longExample() throws {
    let l = 512
    let tokens = ["[CLS]"] + (1..<(l - 1)).map { "w\($0)" } + ["[SEP]"]
    let maps = [[Self.levels(l, seed: 0), Self.levels(l, seed: 5)]]
    let example = AnalysisResults.Example(
      tokens: tokens, segments: Array(repeating: 0, count: l), maps: maps, source: "test")
    let dir = temporaryFolder("long-example")
    defer { try? FileManager.default.removeItem(at: dir) }
    let index = try Report.write(try AnalysisReport.content(AnalysisResults(folder: dir, example: example)), to: dir)
    let html = try String(contentsOf: index, encoding: .utf8)
    #expect(html.utf8.count < 400_000, "two 512-token thumbnails keep the page small: \(html.utf8.count) bytes")

    // Thumbnails: at most 2 × 56 pixels a side, block maxima of the map.
    let uris = html.components(separatedBy: "src=\"data:image/png;base64,").dropFirst().map { $0.prefix { $0 != "\"" } }
    #expect(uris.count == 2)
    for uri in uris {
      let thumb = try PNG.decode(Array(try #require(Data(base64Encoded: String(uri)))))
      #expect(thumb.width <= 112 && thumb.height <= 112 && thumb.width >= 100)
    }

    // The full map keeps every token, 2 pixels a cell, and the page knows where the cells are.
    let rect = try #require(figureAttribute(html, id: AnalysisReport.ID.modelView, "data-map")).split(separator: " ")
      .map { Double($0)! }
    // Cells only, one pixel each (the viewer scales it up and labels it with HTML text).
    #expect(rect == [0, 0, 512, 512])
    let tokenJSON = unescapeXML(try #require(figureAttribute(html, id: AnalysisReport.ID.modelView, "data-tokens")))
    #expect(try JSONSerialization.jsonObject(with: Data(tokenJSON.utf8)) as? [String] == tokens)
    for (h, map) in maps[0].enumerated() {
      let image = try PNG.decode(
        Array(try Data(contentsOf: dir.appendingPathComponent("maps/model-view/L1-H\(h + 1).png"))))
      for (i, j) in [(0, 0), (0, 511), (511, 0), (255, 256), (100, 37), (511, 511)] {
        let x = Int(rect[0] + (Double(j) + 0.5) * rect[2] / Double(l))
        let y = Int(rect[1] + (Double(i) + 0.5) * rect[3] / Double(l))
        #expect(
          image[x, y] == ColourMap.viridis.colour(for: Double(map[i, j]), in: 0...1), "head \(h + 1) cell (\(i), \(j))")
      }
    }
    #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("figures/model-view.svg").path))
    #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("figures/model-view.png").path))
    // The head view keeps the first 128 tokens and says so.
    let n = try #require(figureAttribute(html, id: AnalysisReport.ID.headView, "data-n"))
    #expect(n == "128")
    #expect(html.contains("Only the first 128 of the 512 tokens are shown"))
  }

  @Test("relations and rollout sections appear when their files are in the folder, and not otherwise")
  func relationsAndRollout() throws {
    let dir = temporaryFolder("relations-rollout")
    defer { try? FileManager.default.removeItem(at: dir) }
    let tokens = ["[CLS]", "the", "cat", "sat", "[SEP]"]
    let l = tokens.count
    let maps = (0..<2).map { layer in
      (0..<2).map { h in SampleData.attentionMap(tokens: tokens, kind: h, seed: UInt64(layer)) }
    }
    let example = AnalysisResults.Example(tokens: tokens, segments: Array(repeating: 0, count: l), maps: maps)
    let without = try AnalysisReport.content(AnalysisResults(folder: dir, example: example))
    let titles = without.sections.map(\.title)
    #expect(
      !titles.contains(AnalysisReport.SectionTitle.relations) && !titles.contains(AnalysisReport.SectionTitle.rollout))

    // relations.csv as `bertscope relations` writes it (2 × 2 heads), rollout.npy + tokens.json as `bertscope rollout`.
    try Self.write("layer,head,score\n1,1,0.1\n1,2,0.25\n2,1,0.5\n2,2,0.125\n", "relations.csv", in: dir)
    let layerMaps = maps.map { heads in (0..<(l * l)).map { k in heads.map { Double($0.values[k]) }.reduce(0, +) / 2 } }
    let rollout = Rollout.compute(layerMaps: layerMaps, length: l)
    try NPY.write(rollout, shape: [2, l, l], to: dir.appendingPathComponent("rollout.npy"))
    let tokensJSON = try JSONSerialization.data(withJSONObject: [
      "tokens": tokens, "ids": Array(0..<l), "segments": Array(repeating: 0, count: l), "text": "the cat sat",
    ])
    try tokensJSON.write(to: dir.appendingPathComponent("tokens.json"))
    var results = try AnalysisResults.load(from: dir)
    let relations = try #require(results.relations)
    #expect(relations.scores.values == [[0.1, 0.25], [0.5, 0.125]])
    let ro = try #require(results.rollout)
    #expect(ro.layers.count == 2 && ro.tokens == tokens && ro.layers[1][0, 2] == rollout[l * l + 2])
    results.example = example
    let content = try AnalysisReport.content(results)
    let sectionTitles = content.sections.map(\.title)
    #expect(sectionTitles.contains(AnalysisReport.SectionTitle.relations))
    #expect(sectionTitles.contains(AnalysisReport.SectionTitle.rollout))
    let index = try Report.write(content, to: dir)
    let html = try String(contentsOf: index, encoding: .utf8)
    for id in [AnalysisReport.ID.relations, AnalysisReport.ID.rollout, AnalysisReport.ID.rolloutFirstToken] {
      #expect(html.contains("data-figure=\"\(id)\""), "figure \(id)")
      #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("figures/\(id).svg").path))
    }
    // The best head first in the relations table; rows of the rollout sum to 1.
    #expect(html.contains("<tr><td class=\"num\">2</td><td class=\"num\">1</td><td class=\"num\">0.5000</td></tr>"))
    let rowSum: Float = (0..<l).map { ro.layers[1][3, $0] }.reduce(0, +)
    #expect(abs(rowSum - 1) < 1e-4)
    #expect(html.contains("relations.csv, relations.json") && html.contains("rollout.npy, tokens.json"))

    // A rollout whose tokens.json is missing is an error naming it.
    try FileManager.default.removeItem(at: dir.appendingPathComponent("tokens.json"))
    #expect(throws: (any Error).self) { try AnalysisResults.load(from: dir) }
  }
}

/// `bertscope report` and `bertscope plot` end to end on the tiny model (2 layers × 4 heads).
@Suite("bertscope report and plot", .enabled(if: CLI.available, "the bertscope binary is not built next to the tests"))
struct ReportCommandTests {
  let tiny = Fixtures.tiny.path

  static let corpus = """
    the cat sat on the mat .
    she said , " yes " and left
    we will go there\tthey are not here !
    a b c d e f g
    it is what it is\tis it ?

    time and time again , and again
    how are you\ti am fine , thank you .
    the end
    first of all\tlast but not least
    so it goes

    """

  /// One report on the tiny model, made once for the tests that read it.
  static let made: Result<URL, CLITestError> = {
    do { return .success(try makeReport()) } catch { return .failure(CLITestError(message: "\(error)")) }
  }()

  static func makeReport() throws -> URL {
    let dir = Fixtures.temporaryDirectory("bertscope-report")
    let input = dir.appendingPathComponent("corpus.txt")
    try corpus.write(to: input, atomically: true, encoding: .utf8)
    let out = dir.appendingPathComponent("report")
    let r = try CLI.run([
      "report", "--model", Fixtures.tiny.path, "--model-b", Fixtures.tiny.path, "--input", input.path, "--out",
      out.path,
      "--example", "3", "--ablation-limit", "6", "--batch-size", "4", "--conllu",
      Fixtures.root.appendingPathComponent("linguistic/sample.conllu").path, "--relations",
      Fixtures.root.appendingPathComponent("analysis/written-by-v1/rel.jsonl").path, "--rollout",
    ])
    guard r.status == 0 else { throw CLITestError(message: "report failed (\(r.status)): \(r.stderr)") }
    guard r.stdout == out.appendingPathComponent("index.html").absoluteString + "\n" else {
      throw CLITestError(message: "stdout is not the page's URL: \(r.stdout)")
    }
    return out
  }

  @Test("the report has every section and every figure, as SVG and PNG, and the maps of the example")
  func sections() throws {
    let dir = try Self.made.get()
    let html = try String(contentsOf: dir.appendingPathComponent("index.html"), encoding: .utf8)
    let titles = [
      AnalysisReport.SectionTitle.modelView, AnalysisReport.SectionTitle.patterns, AnalysisReport.SectionTitle.special,
      AnalysisReport.SectionTitle.ablation, AnalysisReport.SectionTitle.comparison,
      AnalysisReport.SectionTitle.linguistic, AnalysisReport.SectionTitle.clsFeatures,
      AnalysisReport.SectionTitle.syntacticHeads, AnalysisReport.SectionTitle.relations,
      AnalysisReport.SectionTitle.rollout, AnalysisReport.SectionTitle.files,
    ]
    for t in titles { #expect(html.contains("<h2>\(escapeXML(t))</h2>"), "section \(t)") }
    #expect(html.contains("<h2>Summary</h2>"))
    #expect(html.contains("data-figure=\"\(AnalysisReport.ID.headView)\""))
    for row in [
      "model", "backend", "corpus", "time: load model", "time: ablation (6 texts × 11 passes)", "time: total",
    ] {
      #expect(html.contains("<td>\(escapeXML(row))</td>"), "summary row \(row)")
    }
    let ids =
      [
        AnalysisReport.ID.modelView, AnalysisReport.ID.patternTypes, AnalysisReport.ID.specialTokens,
        AnalysisReport.ID.clsRow,
        AnalysisReport.ID.ablationHeads, AnalysisReport.ID.ablationLayers, AnalysisReport.ID.comparison,
        AnalysisReport.clsFeaturesID, AnalysisReport.syntacticHeadsID, AnalysisReport.ID.relations,
        AnalysisReport.ID.rollout, AnalysisReport.ID.rolloutFirstToken,
      ] + LinguisticFeature.allCases.map(AnalysisReport.featureFigureID)
    for id in ids {
      #expect(html.contains("data-figure=\"\(id)\""), "figure \(id)")
      _ = try parseXML(try String(contentsOf: dir.appendingPathComponent("figures/\(id).svg"), encoding: .utf8))
      let png = try PNG.decode(Array(try Data(contentsOf: dir.appendingPathComponent("figures/\(id).png"))))
      #expect(png.width > 200 && png.height > 150, "figures/\(id).png")
    }
    for l in 1...2 {
      for h in 1...4 {
        #expect(
          FileManager.default.fileExists(atPath: dir.appendingPathComponent("maps/model-view/L\(l)-H\(h).png").path))
      }
    }
    // The example is line 3, a pair: its tokens are in the page.
    let tokens =
      try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("example/tokens.json")))
      as? [String: Any]
    #expect((tokens?["source"] as? String)?.hasPrefix("line 3 of") == true)
    #expect((tokens?["segments"] as? [Int])?.last == 1)
    // Every file but the two-checkpoint linguistic comparison (`linguistic --model-b` writes it).
    for name in AnalysisResults.fileNames where !LinguisticComparisonResult.fileNames.contains(name) {
      #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path), "\(name)")
    }
  }

  @Test("Figure 2's bars are as tall as patterns_by_layer.csv says, in SVG and in PNG pixels")
  func barsEqualCSV() throws {
    let dir = try Self.made.get()
    let rows = try readCSV(dir.appendingPathComponent("patterns_by_layer.csv"))
    #expect(rows[0] == ["layer", "vertical", "diagonal", "vertical+diagonal", "block", "heterogeneous"])
    let values = rows.dropFirst().map { $0.dropFirst().map { Double($0)! } }
    #expect(values.count == 2)
    for row in values { #expect(abs(row.reduce(0, +) - 1) < 1e-5) }

    let figure = try AnalysisReport.patternFigure(try #require(try AnalysisResults.load(from: dir).patterns))
    let plot = figure.plotRect
    let svg = try parseXML(
      try String(contentsOf: dir.appendingPathComponent("figures/pattern-types.svg"), encoding: .utf8))
    let image = try PNG.decode(Array(try Data(contentsOf: dir.appendingPathComponent("figures/pattern-types.png"))))
    let colours = HeadGrid.patternTypes.map(\.colour)
    for (layer, row) in values.enumerated() {
      let bar = svg.filter { $0.attributes["class"] == "segment" && $0.classes.last == "bar" }
        .filter { abs(Double($0.attributes["x"]!)! - figure.segmentRect(group: layer, series: 0).x) < 1e-3 }
      for (k, v) in row.enumerated() {
        let drawn =
          bar.first { $0.attributes["data-series"] == figure.series[k] }.map { Double($0.attributes["height"]!)! } ?? 0
        #expect(
          abs(drawn - v * plot.height) < 0.01, "layer \(layer + 1) \(figure.series[k]): \(drawn) vs \(v * plot.height)")
      }
      // PNG at 300 dpi: count each colour's pixels down the middle of the bar.
      let scale = Report.paperScale
      let x = Int(figure.segmentRect(group: layer, series: 0).midX * scale)
      let column = (0..<image.height).map { image[x, $0] }
      for (k, v) in row.enumerated() {
        let pixels = column.filter { $0 == colours[k] }.count
        #expect(
          abs(Double(pixels) - v * plot.height * scale) <= 1, "layer \(layer + 1) \(figure.series[k]): \(pixels) px")
      }
    }
  }

  @Test("Figures 6, 8 and 5 draw the numbers of special.csv, ablation.csv and compare.csv")
  func otherFiguresEqualCSV() throws {
    let dir = try Self.made.get()
    // Figure 6: the per-layer mean over heads of special.csv's cls, sep, punct.
    let special = try readCSV(dir.appendingPathComponent("special.csv"))
    #expect(special[0] == ["layer", "head", "cls", "sep", "punct", "self", "prev", "next", "entropy"])
    let chart = try AnalysisReport.specialFigure(try #require(try AnalysisResults.load(from: dir).special))
    let lines = try parseXML(
      try String(contentsOf: dir.appendingPathComponent("figures/special-tokens.svg"), encoding: .utf8)
    )
    .filter { $0.name == "polyline" && $0.classes.last == "series" }
    #expect(lines.count == 3)
    for (k, column) in [2, 3, 4].enumerated() {
      let ys = lines[k].attributes["points"]!.split(separator: " ").map { Double($0.split(separator: ",")[1])! }
      for layer in 1...2 {
        let cells = special.dropFirst().filter { $0[0] == "\(layer)" }.map { Double($0[column])! }
        let mean = cells.reduce(0, +) / Double(cells.count)
        #expect(abs(ys[layer - 1] - chart.y(of: mean)) < 0.01, "series \(k) layer \(layer)")
      }
    }

    // Figure 8: each head's cell carries its delta from ablation.csv; the layer bars theirs.
    let ablation = try readCSV(dir.appendingPathComponent("ablation.csv"))
    #expect(ablation[0] == ["layer", "head", "metric", "delta"] && ablation.count == 1 + 2 * 5)
    let cells = try parseXML(
      try String(contentsOf: dir.appendingPathComponent("figures/ablation-heads.svg"), encoding: .utf8)
    )
    .filter { $0.attributes["data-value"] != nil && $0.classes.contains("matrix") }
    #expect(cells.count == 8)
    for row in ablation.dropFirst() where row[1] != "all" {
      let cell = try #require(
        cells.first {
          $0.attributes["data-row"] == "\(Int(row[0])! - 1)" && $0.attributes["data-col"] == "\(Int(row[1])! - 1)"
        })
      #expect(abs(Double(cell.attributes["data-value"]!)! - Double(row[3])!) < 1e-6, "layer \(row[0]) head \(row[1])")
    }
    let bars = try parseXML(
      try String(contentsOf: dir.appendingPathComponent("figures/ablation-layers.svg"), encoding: .utf8)
    )
    .filter { $0.attributes["class"] == "bar" && $0.classes.last == "series" }
    let layerDeltas = ablation.dropFirst().filter { $0[1] == "all" }.map { Double($0[3])! }
    #expect(bars.prefix(2).map { Double($0.attributes["data-value"]!)! } == layerDeltas)

    // Figure 5: a model compared with itself gives 1 in every cell.
    let compare = try readCSV(dir.appendingPathComponent("compare.csv"))
    #expect(compare.count == 9 && compare.dropFirst().allSatisfy { abs(Double($0[2])! - 1) < 1e-5 })
    let similarity = try parseXML(
      try String(contentsOf: dir.appendingPathComponent("figures/comparison.svg"), encoding: .utf8)
    )
    .filter { $0.attributes["data-value"] != nil && $0.classes.contains("matrix") }
    #expect(similarity.count == 8 && similarity.allSatisfy { abs(Double($0.attributes["data-value"]!)! - 1) < 1e-5 })
  }

  @Test("--from redraws the same page from the files alone, without the model")
  func redraw() throws {
    let dir = try Self.made.get()
    let again = Fixtures.temporaryDirectory("bertscope-redraw")
    defer { try? FileManager.default.removeItem(at: again) }
    let r = try CLI.run(["report", "--from", dir.path, "--out", again.path, "--model", "/nonexistent/model", "--quiet"])
    #expect(r.status == 0, "\(r.stderr)")
    let a = try String(contentsOf: dir.appendingPathComponent("index.html"), encoding: .utf8)
    let b = try String(contentsOf: again.appendingPathComponent("index.html"), encoding: .utf8)
    #expect(a == b, "the page depends only on the files")
    #expect(
      try Data(contentsOf: again.appendingPathComponent("patterns.csv"))
        == Data(contentsOf: dir.appendingPathComponent("patterns.csv")))

    let bad = try CLI.run(["report", "--from", dir.path, "--out", again.path, "--model-b", tiny])
    #expect(bad.status != 0 && bad.stderr.contains("--from only redraws"))
    let relations = try CLI.run(["report", "--from", dir.path, "--out", again.path, "--relations", "x.jsonl"])
    #expect(relations.status != 0 && relations.stderr.contains("--relations goes with --input"))
    // --rollout needs no model: it is computed from the example's maps, the same numbers again.
    let rollout = try CLI.run([
      "report", "--from", dir.path, "--out", again.path, "--rollout", "--model", "/nonexistent/model", "--quiet",
    ])
    #expect(rollout.status == 0, "\(rollout.stderr)")
    #expect(
      try Data(contentsOf: again.appendingPathComponent("rollout.npy"))
        == Data(contentsOf: dir.appendingPathComponent("rollout.npy")))
    let none = try CLI.run(["report", "--out", again.path])
    #expect(none.status != 0 && none.stderr.contains("--input"))
  }

  @Test("plot: the PNG's cells have the map's viridis colours; the SVG carries its values")
  func plot() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-plot")
    defer { try? FileManager.default.removeItem(at: dir) }
    let text = "the cat sat on the mat ."
    let png = dir.appendingPathComponent("map.png"), svg = dir.appendingPathComponent("sub/map.svg")
    for out in [png, svg] {
      let r = try CLI.run(["plot", "--model", tiny, "--text", text, "--layer", "2", "--head", "3", "--out", out.path])
      #expect(r.status == 0, "\(r.stderr)")
    }
    // The expected map, computed in-process by the encoder.
    let model = try BertModel.load(from: Fixtures.tiny)
    let encoding = try model.tokenizer.encode(text)
    let output = try Encoder(model: model).encode([encoding], options: EncodeOptions(maps: .all))
    let l = encoding.count
    let map = try Matrix(rows: l, columns: l, values: Array(try #require(output.maps[0].map(layer: 1, head: 2))))
    let pattern = PatternClassifier().classify(
      MapFeatures.compute(map.values, context: try MapContext(encoding, tokenizer: model.tokenizer)))
    let figure = try AnalysisReport.mapFigure(tokens: encoding.tokens, map: map, layer: 1, head: 2, pattern: pattern)

    let image = try PNG.decode(Array(try Data(contentsOf: png)))
    #expect(
      image.width == Int((figure.size.width * 2).rounded(.up))
        && image.height == Int((figure.size.height * 2).rounded(.up)))
    let rect = figure.mapRect
    let cell = rect.width / Double(l)
    for i in 0..<l {
      for j in 0..<l {
        let x = Int((rect.x + (Double(j) + 0.5) * cell) * 2), y = Int((rect.y + (Double(i) + 0.5) * cell) * 2)
        #expect(image[x, y] == ColourMap.viridis.colour(for: Double(map[i, j]), in: 0...1), "cell (\(i), \(j))")
      }
    }
    let elements = try parseXML(try String(contentsOf: svg, encoding: .utf8))
    let values = elements.filter { $0.attributes["data-value"] != nil && $0.classes.contains("heatmap") }
    #expect(values.count == l * l)
    for v in values {
      let (i, j) = (Int(v.attributes["data-row"]!)!, Int(v.attributes["data-col"]!)!)
      #expect(abs(Double(v.attributes["data-value"]!)! - Double(map[i, j])) < 1e-4)
    }
    #expect(elements.contains { $0.name == "text" && $0.text == "Layer 2, head 3 (\(pattern.name))" })
    #expect(elements.filter { $0.name == "text" && $0.text == "[CLS]" }.count == 2, "token labels on both axes")
  }

  @Test("plot refuses other formats and layers or heads out of range, in one line")
  func plotErrors() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-plot-errors")
    defer { try? FileManager.default.removeItem(at: dir) }
    let base = ["plot", "--model", tiny, "--text", "hello"]
    let jpg = try CLI.run(base + ["--layer", "1", "--head", "1", "--out", dir.appendingPathComponent("map.jpg").path])
    #expect(jpg.status != 0 && jpg.stderr.contains(".png, .svg or .pdf"), "\(jpg.stderr)")
    let layer = try CLI.run(base + ["--layer", "3", "--head", "1", "--out", dir.appendingPathComponent("m.png").path])
    #expect(layer.status == 1 && layer.stderr == "error: --layer 3: tiny-bert has layers 1–2\n", "\(layer.stderr)")
    let head = try CLI.run(base + ["--layer", "1", "--head", "5", "--out", dir.appendingPathComponent("m.svg").path])
    #expect(head.status == 1 && head.stderr.contains("has heads 1–4"), "\(head.stderr)")
    let zero = try CLI.run(base + ["--layer", "0", "--head", "1", "--out", dir.appendingPathComponent("m.svg").path])
    #expect(zero.status != 0 && zero.stderr.contains("--layer counts from 1"), "\(zero.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("m.png").path))
  }
}

struct CLITestError: Error, CustomStringConvertible {
  var message: String
  var description: String { message }
}
