import CFuzzDriver
import LLMuxFuzzing

/// The executable's entry point (SwiftPM links `fuzz_sse_parser_main` as `main`): libFuzzer's driver.
@_cdecl("fuzz_sse_parser_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    llmux_fuzz_main(argc, argv)
}

/// libFuzzer's entry point: one input, checked by `SSEParserFuzzTarget.run`; a broken invariant crashes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let violations = SSEParserFuzzTarget.run(input)
    if !violations.isEmpty { fatalError(violations.joined(separator: "; ")) }
    return 0
}
