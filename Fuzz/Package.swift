// swift-tools-version: 6.0
import PackageDescription

// libFuzzer targets for every BertScope parser that reads outside bytes. Build and run them
// with `scripts/fuzz` (it passes `-sanitize=fuzzer,address`); see Fuzz/README.md.
//
// Each target is an executable with a test function (`LLVMFuzzerTestOneInput`) and a main.swift
// that hands it to libFuzzer's driver (`LLVMFuzzerRunDriver`): SwiftPM renames an executable's
// entry point when it links it, which rules out libFuzzer's own `main`.
//
// The main package is reached through `.build/bertscope-root`, a link to the checkout that
// `scripts/fuzz` makes: a package's identity is its folder's name, and `..` would be named
// after the checkout (e.g. `fuzz`), which may collide with this package's own identity.

let targets = [
  "fuzz-safetensors", "fuzz-weights", "fuzz-config", "fuzz-tokenizer-config", "fuzz-vocab",
  "fuzz-tokenizer", "fuzz-corpus", "fuzz-npy", "fuzz-analysis-lines", "fuzz-report-inputs",
  "fuzz-run-state", "fuzz-tokenizer-json", "fuzz-conllu",
]

let package = Package(
  name: "BertScopeFuzz",
  dependencies: [.package(path: ".build/bertscope-root")],
  targets: [
    .systemLibrary(name: "CLibFuzzer", path: "Sources/CLibFuzzer"),
    .target(name: "FuzzSupport", dependencies: [.product(name: "BertScope", package: "bertscope-root")]),
  ]
    + targets.map { name in
      .executableTarget(
        name: name,
        dependencies: ["CLibFuzzer", "FuzzSupport", .product(name: "BertScope", package: "bertscope-root")]
          + (["fuzz-analysis-lines", "fuzz-run-state", "fuzz-conllu"].contains(name)
            ? [.product(name: "BertScopeAnalysis", package: "bertscope-root")] : [])
          + (name == "fuzz-report-inputs" ? [.product(name: "BertScopeReport", package: "bertscope-root")] : [])
      )
    }
)
