import CFuzzDriver
import LLMuxFuzzing

// SwiftPM links `fuzz_frame_decoder_main` as `main`: hand over to libFuzzer's driver.
@_cdecl("fuzz_frame_decoder_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 { llmux_fuzz_main(argc, argv) }

// One input, checked by `FrameDecoderFuzzTarget.run`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 { FuzzInput.check(data, size, with: FrameDecoderFuzzTarget.run) }
