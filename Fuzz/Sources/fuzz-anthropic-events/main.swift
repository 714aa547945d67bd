import LLMuxFuzzing

/// libFuzzer's entry point: one input, checked by `StreamInterpreterFuzzTarget.anthropic`; a broken invariant crashes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let violations = StreamInterpreterFuzzTarget.anthropic(input)
    if !violations.isEmpty { fatalError(violations.joined(separator: "; ")) }
    return 0
}
