#if canImport(Glibc)
import Glibc
#endif

/// Whether this test binary was built with a sanitizer (`scripts/sanitize`), whose
/// own memory use makes resident-memory bounds meaningless: AddressSanitizer keeps
/// freed memory in quarantine (256 MB by default) and adds shadow memory.
enum SanitizedBuild {
    /// AddressSanitizer's runtime is linked in.
    static let address: Bool = dlsym(nil, "__asan_init") != nil
    /// ThreadSanitizer's runtime is linked in.
    static let thread: Bool = dlsym(nil, "__tsan_init") != nil
}
