import Foundation
import Testing

@testable import BertScope

/// The three ways results reach the host (`OpenCLKernelConfig.Readback`) on the test device:
/// they give the same numbers, bit for bit; zero-copy hands out the buffer's own memory and
/// keeps it alive exactly as long as the runtime needs it; pinned reads overlap and are timed.
@Suite("OpenCL readback", .enabled(if: OpenCLTest.available, OpenCLTest.skipReason))
struct OpenCLReadbackTests {
  typealias Readback = OpenCLKernelConfig.Readback

  /// 160 random sequences of 40–64 tokens for tiny-bert: each kept layer's probabilities are
  /// ~7 MB, over the zero-copy (4 MiB) and pinned (1 MiB) thresholds.
  static func encodings(_ config: BertConfig) -> [Encoding] {
    var random = SplitMix64(seed: 15)
    return (0..<160).map { _ in
      let n = 40 + Int(random.next() % 25)
      let ids = (0..<n).map { i in Int32(i == 0 ? 2 : 5 + Int(random.next() % UInt64(config.vocabSize - 5))) }
      return Encoding(
        tokens: ids.map { "t\($0)" }, ids: ids, segments: (0..<n).map { Int32($0 < n / 2 ? 0 : 1) },
        offsets: Array(repeating: nil, count: n))
    }
  }

  @Test(
    "every readback gives the same hidden states, maps (all heads and a selection) and features, on both kernel variants",
    arguments: OpenCLKernelConfig.Variant.allCases)
  func sameResults(variant: OpenCLKernelConfig.Variant) async throws {
    let model = try await ModelCache.shared.model(Fixtures.model("tiny-bert"))
    let encodings = Self.encodings(model.config)
    let kinds = encodings.map { e in (0..<e.count).map { Int32($0 == 0 ? 1 : 0) } }
    let selected = EncodeOptions(maps: .select(layers: [1], heads: [0, 2]))
    var reference: (all: EncoderOutput, selected: EncoderOutput)?
    for mode in Readback.allCases {
      let backend = try OpenCLTest.backend(variant) { $0.readback = mode }
      let forward = try Forward(backend: backend, weights: model.weights)
      var options = EncodeOptions(maps: .all)
      options.featureKinds = kinds
      let all = try forward.run(encodings, options: options)
      let some = try forward.run(encodings, options: selected)
      #expect(all.mapBytes / 2 > 4 << 20, "each layer's maps must be over the thresholds")
      guard let (a, s) = reference else {
        reference = (all, some)
        continue
      }
      #expect(Array(all.hidden.buffer) == Array(a.hidden.buffer), "hidden \(mode) \(variant)")
      #expect(all.features == a.features, "features \(mode) \(variant)")
      for b in [0, 1, 80, 159] {
        #expect(all.maps[b].values() == a.maps[b].values(), "maps #\(b) \(mode) \(variant)")
        #expect(some.maps[b].values() == s.maps[b].values(), "selected maps #\(b) \(mode) \(variant)")
      }
      if mode == .pinned {
        let seconds = try #require(all.mapTransferSeconds, "pinned reads are timed on the device")
        #expect(seconds > 0)
      } else {
        #expect(all.mapTransferSeconds == nil)
      }
    }
  }

  @Test("a pinned pass that fails part way (device lost after N calls) throws and leaves no read in flight")
  func failingPinnedPass() async throws {
    let model = try await ModelCache.shared.model(Fixtures.model("tiny-bert"))
    let encodings = Self.encodings(model.config)
    var failures = 0
    for calls in stride(from: 10, through: 130, by: 8) {
      let backend = try OpenCLTest.backend(.gpu, faults: OpenCLFaults(loseDeviceAfterCalls: calls)) {
        $0.readback = .pinned
      }
      // Weights first: a lost device during the upload is another test's concern.
      guard let forward = try? Forward(backend: backend, weights: model.weights) else { continue }
      do {
        _ = try forward.run(encodings, options: EncodeOptions(maps: .all))
      } catch let error as BertScopeError {
        guard case .openCL = error else {
          Issue.record("after \(calls) calls: \(error)")
          continue
        }
        failures += 1
      }
    }
    #expect(failures > 0, "some pass must have failed part way")
  }

  @Test("zero-copy hands out the buffer's own memory, kept until the runtime deletes the buffer")
  func zeroCopyIsTheBuffer() throws {
    let backend = try OpenCLTest.backend(.cpu) { $0.readback = .zeroCopy }
    let count = 2 << 20  // 8 MiB
    weak var weakStorage: FloatStorage?
    do {
      let source = try backend.makeBuffer((0..<count).map { Float($0 % 1000) })
      let buffer = try backend.makeBuffer(count: count)
      let host = try #require(buffer.host, "a large buffer on the zero-copy readback lives in host memory")
      weakStorage = host
      try backend.copy(source, count: count, to: buffer, at: 0)
      let storage = try backend.readStorage(buffer, count: count)
      #expect(storage === host, "the whole buffer is handed out as it is, not copied")
      #expect(storage.pointer[999] == 999 && storage.pointer[count - 1] == Float((count - 1) % 1000))
      let part = try backend.readStorage(buffer, ranges: [10..<20, 1000..<1005])
      #expect(part !== host && part.array() == (10..<20).map(Float.init) + (0..<5).map(Float.init))
    }
    // The buffer is gone; the runtime's destructor callback gives the storage back.
    try backend.finish()
    var waited = 0
    while weakStorage != nil && waited < 200 {
      usleep(10_000)
      waited += 1
    }
    #expect(weakStorage == nil, "the storage outlived its buffer: the destructor callback did not run")
  }

  @Test("small buffers and the pageable readback use ordinary device buffers")
  func smallBuffersAreDeviceBuffers() throws {
    let zeroCopy = try OpenCLTest.backend(.cpu) { $0.readback = .zeroCopy }
    #expect(try zeroCopy.makeBuffer(count: 1000).host == nil)
    let pageable = try OpenCLTest.backend(.cpu) { $0.readback = .pageable }
    #expect(try pageable.makeBuffer(count: 2 << 20).host == nil)
  }

  @Test("BERTSCOPE_OPENCL_READBACK names one of the three, or the backend refuses it with one line")
  func environmentOverride() throws {
    let bad = try CLI.run(
      ["attention", "--backend", "opencl", "--text", "hello", "--model", Fixtures.tiny.path, "--out", "/nonexistent"],
      env: ["BERTSCOPE_OPENCL_READBACK": "fast"])
    #expect(bad.status != 0 && bad.stderr.contains("zero-copy, pinned, pageable"), "\(bad.stderr)")
  }
}
