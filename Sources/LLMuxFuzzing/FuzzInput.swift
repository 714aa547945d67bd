/// What each libFuzzer target's `LLVMFuzzerTestOneInput` does with one input:
/// runs the checks and crashes on a broken invariant, so libFuzzer keeps the input.
public enum FuzzInput {
    public static func check(_ data: UnsafePointer<UInt8>?, _ size: Int, with checks: ([UInt8]) -> [String]) -> Int32 {
        let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        let violations = checks(input)
        if !violations.isEmpty { fatalError(violations.joined(separator: "; ")) }
        return 0
    }
}
