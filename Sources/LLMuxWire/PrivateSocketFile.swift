#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Puts a listening Unix socket at its path only once it is private: the
/// listener binds a staging name beside the path, which is set to mode 0600
/// and then renamed onto the path (rename(2) is atomic). A client that can
/// connect to the path therefore always finds it at 0600; binding the path
/// itself and chmod-ing afterwards leaves a moment where it is connectable at
/// the umask's mode.
public enum PrivateSocketFile {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Where to bind before `publish`; a leftover from an earlier run is removed.
    public static func staging(for path: String) -> String {
        let staging = Self.stagingName(path)
        unlink(staging)
        return staging
    }

    private static func stagingName(_ path: String) -> String { path + "~" }

    /// Makes the socket bound at `staging(for: path)` private and moves it onto `path`.
    public static func publish(_ path: String) throws(Failure) {
        let staging = Self.stagingName(path)
        guard chmod(staging, 0o600) == 0, rename(staging, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(staging)
            throw Failure(description: "cannot put the socket in place at \(path): \(reason)")
        }
    }
}
