import Foundation

/// Which backend runs the encoder.
public enum BackendKind: String, Sendable, CaseIterable, Codable {
  /// The host: our packed AVX-512 GEMM (OpenBLAS without AVX-512) + vectorised C kernels.
  case cpu
  /// Our OpenCL kernels on an OpenCL device (`--device N`).
  case opencl
  /// A GPU OpenCL device when there is one, the CPU backend otherwise.
  case auto
}

/// The arithmetic of the linear layers.
public enum Precision: String, Sendable, CaseIterable, Codable {
  /// fp32 everywhere (the default; every tolerance of the tests is for it).
  case fp32
  /// Linear layers on NVIDIA tensor cores: inputs rounded to TF32 (10-bit mantissa), products
  /// summed in fp32 (`Kernels/gemm_gpu_tf32.cl`). OpenCL backend on NVIDIA GPUs of compute
  /// capability 8.0 or later only; attention, layer norm and everything else stay fp32.
  case tf32
}

/// A BERT encoder with its weights uploaded to a backend. Thread-safe: `encode` may be
/// called from several threads at once (each call uses its own activation buffers).
public final class Encoder: Sendable {
  /// The architecture of the loaded model.
  public let config: BertConfig
  /// The model's tokenizer, used by ``encode(texts:options:)``.
  public let tokenizer: Tokenizer
  /// The backend actually used (`auto` resolved).
  public let backend: BackendKind
  /// The backend in words, e.g. "cpu (packed AVX-512 GEMM, AVX2+FMA kernels, 2 threads)" or
  /// "opencl (NVIDIA H100 …, NVIDIA CUDA, gpu kernels)".
  public let backendDescription: String
  /// Seconds spent preparing and uploading the weights.
  public let uploadSeconds: Double
  let engine: any EncoderEngine
  let head: ClassificationHead?

  /// Uploads `model`'s weights to `backend`.
  /// - Parameters:
  ///   - device: OpenCL device index (as `bertscope devices` lists them); nil picks the first GPU, else the first device.
  ///   - precision: ``Precision/tf32`` runs the linear layers on tensor cores (OpenCL on an
  ///     NVIDIA GPU only; anything else is an error, never a silent fp32 run).
  ///   - note: receives one-line notes for the user (e.g. which backend `auto` took).
  public init(
    model: BertModel, backend: BackendKind = .cpu, device: Int? = nil, precision: Precision = .fp32,
    note: (String) -> Void = { _ in }
  ) throws {
    let start = DispatchTime.now().uptimeNanoseconds
    config = model.config
    tokenizer = model.tokenizer
    head = model.weights.head
    let resolved = try Self.makeEngine(
      weights: model.weights, kind: backend, device: device, precision: precision, note: note)
    engine = resolved.engine
    self.backend = resolved.kind
    backendDescription = engine.backendName
    uploadSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
  }

  static func makeEngine(
    weights: BertWeights, kind: BackendKind, device: Int?, precision: Precision = .fp32, note: (String) -> Void
  ) throws -> (engine: any EncoderEngine, kind: BackendKind) {
    let noTF32 = BertScopeError.invalidInput(
      "--precision tf32 runs on NVIDIA tensor cores: it needs --backend opencl on an NVIDIA GPU (the CPU backend computes in fp32)"
    )
    // The OpenCL backend's notes on tuning files it ignored, each once per process.
    func openCL(_ index: Int) throws -> Forward<OpenCLBackend> {
      let backend = try OpenCLBackend(device: index, precision: precision)
      for message in OpenCLTuning.notesOnce(backend.tuning.notes) { note(message) }
      return try Forward(backend: backend, weights: weights)
    }
    switch kind {
    case .cpu:
      if precision == .tf32 { throw noTF32 }
      return (try Forward(backend: try CPUBackend(), weights: weights), .cpu)
    case .opencl, .auto:
      let devices: [OpenCLDeviceInfo]
      do {
        devices = try OpenCLDevices.all()
      } catch {
        if kind == .opencl { throw error }
        devices = []
      }
      if let device {
        return (try openCL(try OpenCLDevices.resolve(device, in: devices)), .opencl)
      }
      let gpu = devices.first(where: { $0.type == .gpu && $0.available })
      if kind == .auto {
        guard let gpu else {
          if precision == .tf32 { throw noTF32 }
          note("backend auto: no OpenCL GPU found; using the CPU backend")
          return (try Forward(backend: try CPUBackend(), weights: weights), .cpu)
        }
        note("backend auto: using OpenCL device \(gpu.index), \(gpu.name)")
        return (try openCL(gpu.index), .opencl)
      }
      guard let chosen = gpu ?? devices.first(where: \.available) else {
        throw BertScopeError.backendUnavailable(
          "no OpenCL device found (install an OpenCL driver, e.g. pocl-opencl-icd; see `bertscope devices`)")
      }
      note("backend opencl: using device \(chosen.index), \(chosen.name)")
      return (try openCL(chosen.index), .opencl)
    }
  }

  /// Runs the encoder on already tokenized inputs.
  public func encode(_ encodings: [Encoding], options: EncodeOptions = EncodeOptions()) throws -> EncoderOutput {
    try MemoryBudget.check(encodings, config: config, options: options, hostActivations: engine.activationsInHostMemory)
    return try engine.run(encodings, options: options, fromLayer: 0, hidden: nil)
  }

  /// Runs only layers `layer..<numLayers` on `hidden`, the input of layer `layer` (0-based)
  /// for these `encodings`: `[T, hiddenSize]`, `T = Σ` their lengths, rows packed in order as
  /// in ``EncoderOutput/hidden`` — typically `HiddenStates.input(ofLayer:)` of an earlier pass
  /// over the same encodings with ``EncodeOptions/hiddenStates`` set. Layer `l` depends only
  /// on its input, so with the same head modes from `layer` on, the result is what a full
  /// pass gives; the embeddings and the layers below are not run, which is what makes an
  /// ablation of layer `layer` cheap.
  ///
  /// `options.headModes` rows below `layer` are not used (the given state already reflects
  /// them); maps can be asked for layers `layer…` only, and map features (which cover every
  /// layer) not at all unless `layer` is 0. `layer == numLayers` runs nothing and returns
  /// `hidden` as the last hidden state. Throws when `hidden` has the wrong size or `layer`
  /// is out of range.
  public func encode(
    _ encodings: [Encoding], options: EncodeOptions = EncodeOptions(), fromLayer layer: Int,
    hidden: UnsafeBufferPointer<Float>
  ) throws -> EncoderOutput {
    try MemoryBudget.check(
      encodings, config: config, options: options, hostActivations: engine.activationsInHostMemory, fromLayer: layer)
    return try engine.run(encodings, options: options, fromLayer: layer, hidden: hidden)
  }

  /// ``encode(_:options:fromLayer:hidden:)`` from boundary `layer` of `states`, the hidden
  /// states an earlier pass over the same `encodings` kept; throws when it does not hold it.
  public func encode(
    _ encodings: [Encoding], options: EncodeOptions = EncodeOptions(), fromLayer layer: Int, states: HiddenStates
  ) throws -> EncoderOutput {
    guard let input = states.input(ofLayer: layer) else {
      throw BertScopeError.invalidInput(
        "these hidden states hold the inputs of layers \(states.firstLayer + 1)–\(states.layers) and the last hidden state, not the input of layer \(layer + 1)"
      )
    }
    return try withExtendedLifetime(states) {
      try encode(encodings, options: options, fromLayer: layer, hidden: input)
    }
  }

  /// Tokenizes `texts` (truncating to the model's maximum) and runs the encoder.
  public func encode(texts: [String], options: EncodeOptions = EncodeOptions()) throws -> EncoderOutput {
    try encode(texts.map { try tokenizer.encode($0) }, options: options)
  }

  /// True when the checkpoint has a sequence-classification head (``BertWeights/head``).
  public var hasClassifier: Bool { head != nil }

  /// Class logits `[count, labels]` of a `…ForSequenceClassification` checkpoint from the
  /// first token's last hidden state (``ClassificationHead``; BERT:
  /// `classifier(tanh(pooler(h_[CLS])))`).
  public func logits(_ output: EncoderOutput) throws -> [Float] {
    guard let head else {
      throw BertScopeError.invalidInput(
        "this checkpoint has no sequence-classification head (a …ForSequenceClassification checkpoint has one)")
    }
    var logits: [Float] = []
    logits.reserveCapacity(output.count * head.labels)
    for s in 0..<output.count {
      logits += head.logits(output.hidden.pointer + output.tokenOffsets[s] * output.hiddenSize)
    }
    return logits
  }
}
