#if canImport(Glibc)
public import Glibc
#elseif canImport(Darwin)
public import Darwin
#endif

/// Starts a program with posix_spawn: standard streams redirected to files,
/// no other descriptor inherited, optionally in a process group of its own,
/// without a shell.
///
/// Used to start llmuxd in the background. (Foundation's `Process` is avoided
/// on purpose: on Linux it can miss the exit of one of several children that
/// end at the same moment, leaving its termination handler never called.)
public enum ProcessSpawner {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc 2.34's `posix_spawn_file_actions_addclosefrom_np`, which Swift's Glibc module does not
    /// declare; looked up once.
    private static let addCloseFrom: AddCloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: AddCloseFrom.self) }

    /// Adds the actions that close every descriptor from 3 up in the child (after the dup2s).
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        if let addCloseFrom = Self.addCloseFrom, addCloseFrom(&actions, 3) == 0 { return }
        // Older glibc: close what is open now (a descriptor closed meanwhile is skipped by the child).
        guard let directory = opendir("/proc/self/fd") else { return }
        defer { closedir(directory) }
        let own = dirfd(directory)
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let fd = Int32(name), fd > 2, fd != own { posix_spawn_file_actions_addclose(&actions, fd) }
        }
    }

    /// The sanitizer runtimes' settings, passed on to every child: a sanitized test run's
    /// suppressions then reach the llmuxd it starts. Only sanitizer runtimes read them.
    public static let inheritedVariables = ["ASAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS", "UBSAN_OPTIONS"]

    /// Spawns `executable` with `arguments` (argv[0] is added) and `environment`, plus the
    /// parent's `inheritedVariables` it does not set. Returns the pid.
    /// `stdoutDescriptor`, when given, becomes the child's stdout instead of the file `stdout`
    /// (the write end of a pipe, say; open it close-on-exec so the child keeps only its copy).
    public static func spawn(
        _ executable: String,
        arguments: [String],
        environment: [String: String],
        stdin: String = "/dev/null",
        stdout: String = "/dev/null",
        stdoutDescriptor: Int32? = nil,
        stderr: String? = nil,
        ownProcessGroup: Bool = false
    ) throws(Failure) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        if let stdoutDescriptor {
            posix_spawn_file_actions_adddup2(&actions, stdoutDescriptor, 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        }
        if let stderr {
            posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // Nothing else the parent holds reaches the child: descriptors opened without
        // close-on-exec (by us or a library) would otherwise live on in a long-running llmuxd.
        Self.closeInheritedDescriptors(&actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Start with default signal handling whatever the parent ignores (the CLI ignores SIGINT).
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGPIPE)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // And with no signal blocked: a thread of the parent may block some, and the mask is inherited.
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        var flags = Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETSIGMASK)
        if ownProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var environment = environment
        for name in Self.inheritedVariables where environment[name] == nil {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw Failure(description: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        return pid
    }
}
