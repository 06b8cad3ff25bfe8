import CHostKernels
import Foundation
import Testing

@testable import BertScope

/// The GEMM epilogue and activation codes have one numbering: `bs_codes.h` (host C kernels),
/// `Kernels/common.cl` (OpenCL kernels) and Swift (`Epilogue.code`, `Activation.rawValue`).
@Suite("Kernel codes")
struct KernelCodesTests {
  /// Each code: its name in common.cl, its value in bs_codes.h, and in Swift (none for
  /// `EPILOGUE_NONE`: Swift's linear layers always add a bias).
  static let codes: [(name: String, c: Int, swift: Int32?)] = [
    ("EPILOGUE_NONE", Int(BS_EPILOGUE_NONE), nil),
    ("EPILOGUE_BIAS", Int(BS_EPILOGUE_BIAS), Epilogue<Int>.bias.code),
    ("EPILOGUE_BIAS_ACTIVATION", Int(BS_EPILOGUE_BIAS_ACTIVATION), Epilogue<Int>.biasActivation.code),
    ("EPILOGUE_BIAS_RESIDUAL", Int(BS_EPILOGUE_BIAS_RESIDUAL), Epilogue<Int>.biasResidual(0).code),
    ("ACTIVATION_GELU", Int(BS_ACTIVATION_GELU), Activation.gelu.rawValue),
    ("ACTIVATION_GELU_TANH", Int(BS_ACTIVATION_GELU_TANH), Activation.geluTanh.rawValue),
    ("ACTIVATION_RELU", Int(BS_ACTIVATION_RELU), Activation.relu.rawValue),
  ]

  /// Every `#define EPILOGUE_* n` and `#define ACTIVATION_* n` of common.cl, by name; a name
  /// defined twice is recorded once per definition.
  static func commonDefines() throws -> [String: [Int]] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../../Kernels/common.cl").standardizedFileURL
    let text = try String(contentsOf: url, encoding: .utf8)
    let define = /^\s*#\s*define\s+((?:EPILOGUE|ACTIVATION)_\w+)\s+(-?\d+)\b/
    var values: [String: [Int]] = [:]
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      if let match = line.firstMatch(of: define), let value = Int(match.2) {
        values[String(match.1), default: []].append(value)
      }
    }
    return values
  }

  @Test("common.cl defines each code once, with bs_codes.h's value and Swift's")
  func codesAgree() throws {
    let defines = try Self.commonDefines()
    #expect(Set(defines.keys) == Set(Self.codes.map(\.name)), "common.cl's EPILOGUE_*/ACTIVATION_* names")
    for code in Self.codes {
      let values = defines[code.name] ?? []
      #expect(values == [code.c], "common.cl \(code.name) = \(values), bs_codes.h BS_\(code.name) = \(code.c)")
      if let swift = code.swift {
        #expect(Int(swift) == code.c, "Swift's \(code.name) = \(swift), bs_codes.h BS_\(code.name) = \(code.c)")
      }
    }
  }
}
