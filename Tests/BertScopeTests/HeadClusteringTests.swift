import BertScopeAnalysis
import Foundation
import Testing

@testable import BertScope

/// `clusters` (Clark et al. 2019 §6): the Jensen–Shannon distance of every pair of heads over
/// all layers, computed next to the maps, and its classical MDS.
enum ClusterCheck {
  /// JS of two rows, from the KL form in double (not the entropy identity the backends use).
  static func js(_ p: [Double], _ q: [Double]) -> Double {
    var sum = 0.0
    for (x, y) in zip(p, q) {
      let m = (x + y) / 2
      sum += 0.5 * x * log(x / m) + 0.5 * y * log(y / m)
    }
    return sum
  }

  /// d(a, b) of two row-major n × n maps, smoothed 0.999·A + 0.001/n, by the KL form.
  static func distance(_ a: [Float], _ b: [Float], n: Int) -> Double {
    (0..<n).reduce(0.0) { sum, i in
      let p = (0..<n).map { 0.999 * Double(a[i * n + $0]) + 0.001 / Double(n) }
      let q = (0..<n).map { 0.999 * Double(b[i * n + $0]) + 0.001 / Double(n) }
      return sum + js(p, q)
    }
  }

  /// A deterministic generator (SplitMix64).
  struct Generator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }

  /// Runs the backend op on random maps (`layers` × `heads` per sequence of `lengths`, some rows
  /// one-hot, some exactly uniform) and compares every pair with `distance`.
  static func checkOp<B: ComputeBackend>(_ backend: B, layers: Int = 3, heads: Int = 2, lengths: [Int] = [1, 5, 17])
    throws -> Double
  {
    let encodings = lengths.map { n in
      Encoding(
        tokens: Array(repeating: "x", count: n), ids: [Int32](repeating: 1, count: n),
        segments: [Int32](repeating: 0, count: n), offsets: Array(repeating: nil, count: n))
    }
    let batch = PackedBatch(encodings, heads: heads)
    var rng = Generator(state: 42)
    var probs = [Float](repeating: 0, count: layers * batch.probCount)
    for l in 0..<layers {
      for (s, n) in lengths.enumerated() {
        for h in 0..<heads {
          for i in 0..<n {
            let row = l * batch.probCount + batch.probOffsets[s] + (h * n + i) * n
            let kind = Int.random(in: 0..<6, using: &rng)
            if kind == 0 {
              probs[row + Int.random(in: 0..<n, using: &rng)] = 1
            } else if kind == 1 {
              for j in 0..<n { probs[row + j] = 1 / Float(n) }
            } else {
              let e = (0..<n).map { _ in exp(Float.random(in: -4...4, using: &rng)) }
              let total = e.reduce(0, +)
              for j in 0..<n { probs[row + j] = e[j] / total }
            }
          }
        }
      }
    }
    let k = layers * heads
    let layout = try backend.makeLayout(batch)
    let out = try backend.makeBuffer(count: batch.count * k * k)
    let entropies = try backend.makeBuffer(count: batch.count * k * 2)
    let p = try backend.makeBuffer(probs)
    try backend.headDistances(
      out: out, entropies: entropies, probs: p, layers: layers, layout: layout, batch: batch, heads: heads)
    let got = try backend.read(out, range: 0..<(batch.count * k * k))
    var worst = 0.0
    for (s, n) in lengths.enumerated() {
      func map(_ m: Int) -> [Float] {
        let start = (m / heads) * batch.probCount + batch.probOffsets[s] + (m % heads) * n * n
        return Array(probs[start..<(start + n * n)])
      }
      for a in 0..<k {
        for b in (a + 1)..<k {
          let want = distance(map(a), map(b), n: n)
          let have = Double(got[(s * k + a) * k + b])
          worst = max(worst, abs(have - want) / max(abs(want), 1e-3))
        }
      }
    }
    return worst
  }
}

/// The head-distance op on `backend` against the KL-form reference (`BackendCheckMutationTests`
/// runs it on a backend that gets the op wrong).
func checkHeadDistances<B: ComputeBackend>(_ backend: B, label: String) throws {
  let worst: Double = try ClusterCheck.checkOp(backend)
  #expect(worst < 1e-5, "\(label): worst relative difference \(worst)")
}

@Suite("Head distances: the definition, on hand-checked and random maps")
struct HeadDistanceDefinitionTests {
  @Test("two 2 × 2 maps: identity vs swap = 2 (ln 2 − H(0.9995, 0.0005)) ≈ 1.37769 nats; a map with itself = 0")
  func handChecked() throws {
    let identity: [Float] = [1, 0, 0, 1], swap: [Float] = [0, 1, 1, 0]
    // Smoothed rows (0.9995, 0.0005) and (0.0005, 0.9995): m = (½, ½), so JS = ln 2 − H(p) per row.
    let h = -(0.9995 * log(0.9995) + 0.0005 * log(0.0005))
    let expected: Double = 2 * (log(2) - h)
    #expect(abs(expected - 1.377694) < 1e-6)
    let d: Double = HeadDistances.distance(identity, swap, length: 2)
    #expect(abs(d - expected) < 1e-12)
    let same: Double = HeadDistances.distance(identity, identity, length: 2)
    #expect(abs(same) < 1e-15)
    // A uniform map against the identity: m = (0.74975, 0.25025) per row.
    let uniform: [Float] = [0.5, 0.5, 0.5, 0.5]
    let u: Double = HeadDistances.distance(identity, uniform, length: 2)
    let reference: Double = ClusterCheck.distance(identity, uniform, n: 2)
    #expect(abs(u - reference) < 1e-12)
    #expect(abs(u - 0.427772) < 1e-5)
  }

  @Test("pairs are packed a < b over all heads in order")
  func pairIndex() {
    var k = 0
    for a in 0..<7 {
      for b in (a + 1)..<7 {
        #expect(HeadDistances.pairIndex(a, b, count: 7) == k)
        k += 1
      }
    }
    #expect(k == HeadDistances.pairCount(7))
  }

  @Test(
    "the backend op equals the KL-form reference within 1e-5 relative on every variant",
    arguments: BackendVariant.runnable)
  func backendOp(_ variant: BackendVariant) throws {
    try checkHeadDistances(try variant.makeBackend(), label: variant.testDescription)
  }
}

@Suite("Classical MDS")
struct ClassicalMDSTests {
  @Test("recovers 2-D points from their distances (up to rotation and reflection): same pairwise distances")
  func recoversPoints() throws {
    let points: [(Double, Double)] = [(0, 0), (3, 1), (-1, 2), (2, -2), (5, 4), (-3, -1), (1, 1)]
    let n = points.count
    var d = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
      for j in 0..<n {
        let (dx, dy) = (points[i].0 - points[j].0, points[i].1 - points[j].1)
        d[i * n + j] = (dx * dx + dy * dy).squareRoot()
      }
    }
    let e = try ClassicalMDS.embed(d, count: n)
    var worst = 0.0
    for i in 0..<n {
      for j in 0..<n {
        let (dx, dy) = (e.coordinates[i][0] - e.coordinates[j][0], e.coordinates[i][1] - e.coordinates[j][1])
        worst = max(worst, abs((dx * dx + dy * dy).squareRoot() - d[i * n + j]))
      }
    }
    #expect(worst < 1e-9)
    #expect(abs(e.explainedShare - 1) < 1e-9)
    #expect(e.stress < 1e-9)
    #expect(e.eigenvalues[0] >= e.eigenvalues[1])
    // Deterministic signs: each dimension's largest-magnitude component is positive.
    for k in 0..<2 {
      let column = e.coordinates.map { $0[k] }
      let big = column.indices.max { abs(column[$0]) < abs(column[$1]) }!
      #expect(column[big] > 0)
    }
  }

  @Test("eigenpairs of a symmetric matrix by Jacobi: A v = λ v")
  func jacobi() {
    let n = 5
    var a = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
      for j in 0...i {
        let v = sin(Double(3 * i + 7 * j + 1))
        a[i * n + j] = v
        a[j * n + i] = v
      }
    }
    let (values, vectors) = ClassicalMDS.symmetricEigen(a, count: n)
    var worst = 0.0
    for k in 0..<n {
      for i in 0..<n {
        let av = (0..<n).reduce(0.0) { $0 + a[i * n + $1] * vectors[$1 * n + k] }
        worst = max(worst, abs(av - values[k] * vectors[i * n + k]))
      }
    }
    #expect(worst < 1e-10)
  }

  @Test("a malformed matrix is a clear error, not a crash")
  func errors() {
    #expect(throws: BertScopeError.self) { try ClassicalMDS.embed([0, 1, 2, 0], count: 2) }
    #expect(throws: BertScopeError.self) { try ClassicalMDS.embed([0, 1, 1], count: 2) }
    #expect(throws: BertScopeError.self) { try ClassicalMDS.embed([0, .nan, .nan, 0], count: 2) }
  }
}

/// The clustering pass against Hugging Face: `scripts/goldens/make_cluster_goldens.py`
/// computes the distances from transformers' eager attention maps by the KL form.
enum ClusterGolden {
  static let texts = Fixtures.root.appendingPathComponent("goldens/clusters/texts.txt")
  static func folder(_ model: String) -> URL {
    Fixtures.root.appendingPathComponent("goldens/clusters/\(model)", isDirectory: true)
  }

  struct Summary: Decodable {
    var texts: Int
    var rows: Int
    var eigenvalues: [Double]
  }

  /// Runs the analysis over the golden texts and compares every pair within 1e-4 relative.
  static func check(_ session: AnalysisSession, model: String) throws -> ClustersResult {
    let source = CorpusSource(path: texts.path, batchSize: 4)
    let (state, count) = try session.run(HeadClusteringAnalysis(), on: source)
    let result = try ClustersResult(state, info: session.runInfo(count, options: source.options))
    let dir = folder(model)
    let summary = try JSONDecoder().decode(
      Summary.self, from: Data(contentsOf: dir.appendingPathComponent("summary.json")))
    #expect(result.texts == summary.texts && result.rows == summary.rows, "\(model): texts and rows")
    let golden = try LinguisticGolden.rows(dir.appendingPathComponent("head_distances.csv"))
    #expect(golden.count == result.distances.count)
    var worst = 0.0
    for g in golden {
      let a = (Int(g["layer_a"]!)! - 1) * result.heads + Int(g["head_a"]!)! - 1
      let b = (Int(g["layer_b"]!)! - 1) * result.heads + Int(g["head_b"]!)! - 1
      let want = Double(g["js"]!)!
      let have = result.distances[HeadDistances.pairIndex(a, b, count: result.count)]
      worst = max(worst, abs(have - want) / max(want, 1e-9))
    }
    #expect(worst <= 1e-4, "\(model): worst relative difference \(worst)")
    for k in 0..<2 {
      let (ours, theirs) = (result.eigenvalues[k], summary.eigenvalues[k])
      #expect(abs(ours - theirs) <= 1e-4 * abs(theirs), "\(model): eigenvalue \(k + 1) \(ours) vs \(theirs)")
    }
    return result
  }
}

@Suite("clusters vs Hugging Face: tiny-bert")
struct ClusterTinyGoldenTests {
  @Test("every pair's distance within 1e-4 relative, the two eigenvalues too (CPU)")
  func cpu() throws {
    _ = try ClusterGolden.check(try AnalysisSession.load(directory: Fixtures.tiny), model: "tiny")
  }

  @Test(
    "the same on the OpenCL backend, and within 1e-5 of the CPU backend",
    .enabled(if: OpenCLTest.available, OpenCLTest.skipReason))
  func opencl() throws {
    let cpu = try ClusterGolden.check(try AnalysisSession.load(directory: Fixtures.tiny), model: "tiny")
    let session = try AnalysisSession.load(directory: Fixtures.tiny, backend: .opencl, device: OpenCLTest.deviceIndex)
    let cl = try ClusterGolden.check(session, model: "tiny")
    let worst = zip(cpu.distances, cl.distances).map { abs($0 - $1) / max($0, 1e-9) }.max() ?? 0
    #expect(worst <= 1e-5, "CPU vs OpenCL: worst relative difference \(worst)")
    #expect(cpu.patterns == cl.patterns)
  }
}

@Suite(
  "clusters vs Hugging Face: all-MiniLM-L6-v2",
  .enabled(if: Fixtures.hasMiniLM, "the default model is not installed (scripts/setup installs it)"))
struct ClusterMiniLMGoldenTests {
  @Test("every pair's distance within 1e-4 relative, the two eigenvalues too (CPU)")
  func cpu() throws {
    _ = try ClusterGolden.check(try AnalysisSession.load(directory: Fixtures.miniLM!), model: "minilm")
  }

  @Test(
    "CPU and OpenCL agree within 1e-5 on every pair", .enabled(if: OpenCLTest.available, OpenCLTest.skipReason))
  func opencl() throws {
    let cpu = try ClusterGolden.check(try AnalysisSession.load(directory: Fixtures.miniLM!), model: "minilm")
    let session = try AnalysisSession.load(
      directory: Fixtures.miniLM!, backend: .opencl, device: OpenCLTest.deviceIndex)
    let cl = try ClusterGolden.check(session, model: "minilm")
    let worst = zip(cpu.distances, cl.distances).map { abs($0 - $1) / max($0, 1e-9) }.max() ?? 0
    #expect(worst <= 1e-5, "CPU vs OpenCL: worst relative difference \(worst)")
  }
}

@Suite("clusters: state, files and errors")
struct ClusterResultTests {
  @Test("a result written and read back gives the same numbers; the CSV headers are exact")
  func roundTrip() throws {
    let session = try AnalysisSession.load(directory: Fixtures.tiny)
    let source = CorpusSource(path: ClusterGolden.texts.path, batchSize: 3)
    let (state, count) = try session.run(HeadClusteringAnalysis(), on: source)
    let result = try ClustersResult(state, info: session.runInfo(count, options: source.options))
    let dir = Fixtures.temporaryDirectory("bertscope-clusters")
    defer { try? FileManager.default.removeItem(at: dir) }
    try result.write(to: dir)
    let text = try String(contentsOf: dir.appendingPathComponent("head_distances.csv"), encoding: .utf8)
    #expect(text.hasPrefix("layer_a,head_a,layer_b,head_b,js\n"))
    let mds = try String(contentsOf: dir.appendingPathComponent("head_mds.csv"), encoding: .utf8)
    #expect(mds.hasPrefix("layer,head,x,y,pattern\n"))
    let back = try ClustersResult.read(from: dir)
    #expect(back.layers == result.layers && back.heads == result.heads)
    #expect(back.texts == result.texts && back.rows == result.rows)
    #expect(back.patterns == result.patterns)
    let worst = zip(back.distances, result.distances).map { abs($0 - $1) }.max() ?? 0
    #expect(worst <= 1e-6)
  }

  @Test("merging two halves' states equals the state of the whole")
  func mergeStates() throws {
    let session = try AnalysisSession.load(directory: Fixtures.tiny)
    let lines = try String(contentsOf: ClusterGolden.texts, encoding: .utf8).split(separator: "\n").map(String.init)
    let encodings = try lines.map { line -> Encoding in
      let f = line.split(separator: "\t").map(String.init)
      return try session.encode(f[0], pair: f.count > 1 ? f[1] : nil, where: "test")
    }
    var whole = HeadClusteringAnalysis().makeState(for: session)
    try HeadClusteringAnalysis.add(encodings, encoder: session.encoder, to: &whole)
    var first = HeadClusteringAnalysis().makeState(for: session)
    var second = first
    try HeadClusteringAnalysis.add(Array(encodings[..<4]), encoder: session.encoder, to: &first)
    try HeadClusteringAnalysis.add(Array(encodings[4...]), encoder: session.encoder, to: &second)
    try first.merge(second)
    #expect(first.texts == whole.texts && first.rows == whole.rows)
    // The packed AVX-512 GEMM gives each row the same bits whatever it is batched with, so the
    // halves' maps equal the whole's and the sums agree to rounding. Where the CPU backend
    // uses OpenBLAS (AVX2-only machines), whose kernels depend on the batch's shape, the maps
    // themselves differ in the last bits (~1e-8 relative) before anything is merged.
    let limit = HostGemmTest.packedAvailable ? 1e-12 : 1e-6
    #expect(first.statistics.patterns == whole.statistics.patterns)
    let features = zip(first.statistics.features.sums, whole.statistics.features.sums)
    #expect((features.map { abs($0 - $1) / max(abs($1), 1e-9) }.max() ?? 0) < limit)
    if HostGemmTest.packedAvailable { #expect(first.statistics == whole.statistics) }
    let worst = zip(first.sums, whole.sums).map { abs($0 - $1) / max($1, 1e-9) }.max() ?? 0
    #expect(worst < limit)
    // Through JSON, as a shard's state.json holds it.
    let data = try JSONEncoder().encode(first)
    #expect(try JSONDecoder().decode(HeadDistanceState.self, from: data) == first)
    var other = HeadDistanceState(layers: 3, heads: 2)
    #expect(throws: BertScopeError.self) { try other.merge(first) }
  }

  @Test("malformed head_distances.csv: a missing pair or a negative distance is an error naming the file")
  func malformed() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-clusters")
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("head_distances.csv")
    try "layer_a,head_a,layer_b,head_b,js\n1,1,1,2,0.5\n1,1,2,1,0.5\n".write(to: url, atomically: true, encoding: .utf8)
    #expect(throws: BertScopeError.self) { try ClustersResult.read(from: dir) }
    try "layer_a,head_a,layer_b,head_b,js\n1,1,1,2,-0.5\n".write(to: url, atomically: true, encoding: .utf8)
    #expect(throws: BertScopeError.self) { try ClustersResult.read(from: dir) }
    try "layer_a,head_a,layer_b,head_b,js\n1,2,1,1,0.5\n".write(to: url, atomically: true, encoding: .utf8)
    #expect(throws: BertScopeError.self) { try ClustersResult.read(from: dir) }
    try "layer_a,head_a,layer_b,head_b,js\n1,1,1,2,0.5\n".write(to: url, atomically: true, encoding: .utf8)
    let one = try ClustersResult.read(from: dir)
    #expect(one.count == 2 && one.distances == [0.5])
  }
}

@Suite("bertscope clusters", .enabled(if: CLI.available, "the bertscope binary is not built next to the tests"))
struct ClustersCLITests {
  @Test("writes head_distances.csv with exactly its header, head_mds.csv and clusters.json, one row per pair")
  func files() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-clusters")
    defer { try? FileManager.default.removeItem(at: dir) }
    let r = try CLI.run([
      "clusters", "--model", Fixtures.tiny.path, "--input", ClusterGolden.texts.path, "--out", dir.path,
      "--batch-size", "3", "-q",
    ])
    try #require(r.status == 0, "\(r.stderr)")
    let lines = try String(contentsOf: dir.appendingPathComponent("head_distances.csv"), encoding: .utf8)
      .split(separator: "\n")
    #expect(lines.first == "layer_a,head_a,layer_b,head_b,js")
    #expect(lines.count == 1 + HeadDistances.pairCount(8))
    let mds = try String(contentsOf: dir.appendingPathComponent("head_mds.csv"), encoding: .utf8)
      .split(separator: "\n")
    #expect(mds.first == "layer,head,x,y,pattern")
    #expect(mds.count == 1 + 8)
    let json =
      try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("clusters.json")))
      as? [String: Any]
    #expect(json?["texts"] as? Int == 10)
    #expect((json?["eigenvalues"] as? [Double])?.count == 2)
    #expect(json?["meanPerToken"] is Double)
    #expect((json?["model"] as? [String: Any])?["layers"] as? Int == 2)
  }

  @Test("an empty input is a clear error")
  func empty() throws {
    let dir = Fixtures.temporaryDirectory("bertscope-clusters")
    defer { try? FileManager.default.removeItem(at: dir) }
    let input = dir.appendingPathComponent("empty.txt")
    try "\n\n".write(to: input, atomically: true, encoding: .utf8)
    let r = try CLI.run([
      "clusters", "--model", Fixtures.tiny.path, "--input", input.path, "--out", dir.appendingPathComponent("o").path,
      "-q",
    ])
    #expect(r.status == 1)
    #expect(r.stderr.hasPrefix("error: "))
  }
}
