// swift-tools-version:6.1
// libFuzzer targets for llmux. Build and run with Fuzz/run (see README, "Fuzzing").
// Each target checks the invariants in Sources/LLMuxFuzzing of the main package
// and crashes (so libFuzzer saves the input) when one breaks.
import PackageDescription

let fuzzers = ["fuzz-frame-decoder", "fuzz-sse-parser", "fuzz-openai-chunks", "fuzz-anthropic-events", "fuzz-json-parser"]

let package = Package(
    name: "llmux-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "llmux", path: "..")],
    targets: [.target(name: "CFuzzDriver")] + fuzzers.map { name in
        .executableTarget(
            name: name,
            dependencies: ["CFuzzDriver", .product(name: "LLMuxFuzzing", package: "llmux")]
        )
    },
    swiftLanguageModes: [.v6]
)
