import CFuzzDriver
import LLMuxFuzzing

// SwiftPM links `fuzz_json_parser_main` as `main`: hand over to libFuzzer's driver.
@_cdecl("fuzz_json_parser_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 { llmux_fuzz_main(argc, argv) }

// One input, checked by `JSONParserFuzzTarget.run`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 { FuzzInput.check(data, size, with: JSONParserFuzzTarget.run) }
