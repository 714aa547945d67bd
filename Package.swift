// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// How the release executables are linked (README "Benchmarks" has the effect: scenario e,
/// `llmux "hi"` to first byte, 13.4 -> 9.4 ms; scenario f, idle RSS 40.0 -> 30.6 MB):
/// - the Swift runtime and Foundation linked in: build with `--static-swift-stdlib` (as the README
///   and scripts/quickstart.sh do; SwiftPM's flag also brings Foundation's ICU archives, which a
///   bare `-static-stdlib` here would not): no shared Swift libraries to load and relocate;
/// - lld with packed relative relocations (DT_RELR, glibc >= 2.36): 3 MB of relocation records
///   become 25 KB that the loader reads at start;
/// - identical code folded and the executable's own symbols kept out of the dynamic symbol table
///   (nothing loads llmux as a library), so fewer pages are touched at start.
let releaseLinking: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-use-ld=lld",
            "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
            "-Xlinker", "--icf=all",
            "-Xlinker", "--no-export-dynamic",
        ],
        .when(configuration: .release)
    )
]

/// llmuxd's release link also places the functions it runs from exec to listening next to each
/// other, in the order file scripts/startup-order generates from callgrind runs: each start-up
/// page fault maps 64 KB around it, and scattered start-up code kept 17.5 MB of text resident
/// for 1.4 MB run (now 10.4 MB; scenario f, idle RSS: 31.7 -> 22.6 MB). Names the file does not
/// find in the binary (code changed since it was generated) are skipped; the link never fails.
let daemonReleaseLinking: [LinkerSetting] = releaseLinking + [
    .unsafeFlags(
        [
            "-Xlinker", "--symbol-ordering-file=\(String(#filePath.dropLast("Package.swift".count)))Linker/llmuxd.order",
            "-Xlinker", "--no-warn-symbol-ordering",
        ],
        .when(configuration: .release)
    )
]

/// `LLMUX_WITHOUT_OTEL=1` builds llmuxd without swift-otel: `scripts/sanitize thread` sets it,
/// because Swift 6.3.1's `-sanitize=thread` build of swift-otel 1.6.0 fails (its batch
/// processors' `sending 'logger' risks causing data races`, an error only in that mode). Such a
/// build still traces through `LLMuxTelemetry`'s API, but `[telemetry] traces = true` is refused
/// at start with a config error that says why; the OTLP tests are left out of it.
let withOTel = Context.environment["LLMUX_WITHOUT_OTEL"] != "1"
let otelSettings: [SwiftSetting] = withOTel ? [.define("LLMUX_OTLP")] : []
let otelDependency: [Package.Dependency] =
    withOTel ? [.package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"])] : []
let otelTargets: [Target] =
    withOTel
    ? [
        // The OTLP/HTTP exporter of the traces (swift-otel), built from resolved TracingSettings.
        .target(
            name: "LLMuxOTLP",
            dependencies: [
                "LLMuxTelemetry",
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        )
    ] : []
let otelTargetDependency: [Target.Dependency] = withOTel ? ["LLMuxOTLP"] : []

let package = Package(
    name: "llmux",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "llmuxd", targets: ["llmuxd"]),
        .executable(name: "llmux", targets: ["llmux"]),
        .executable(name: "llmux-mock", targets: ["llmux-mock"]),
        .library(name: "LLMuxClient", targets: ["LLMuxClient"]),
        .library(name: "LLMuxWire", targets: ["LLMuxWire"]),
        // The fuzz targets' checks, for the libFuzzer package in Fuzz/ and the corpus replay test.
        .library(name: "LLMuxFuzzing", targets: ["LLMuxFuzzing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
    ] + otelDependency,
    targets: [
        // Wire protocol: frames, NDJSON codec, stable error codes. No networking.
        .target(
            name: "LLMuxWire",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Upstream providers: byte-level SSE parser, OpenAI-compatible adapter,
        // normalized stream events, upstream error classification.
        .target(
            name: "LLMuxUpstream",
            dependencies: [
                "LLMuxWire",
                "LLMuxConfig",
                "LLMuxConcurrency",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Routing: target health (cooldowns, circuit breakers, time to first
        // token), route ordering strategies, per-provider queues.
        .target(
            name: "LLMuxRouting",
            dependencies: [
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                "LLMuxConfig",
                "LLMuxWire",
            ],
            swiftSettings: swiftSettings
        ),
        // Metrics: request counts, time to first token, tokens, in flight
        // (swift-metrics into a Prometheus registry, served at GET /metrics).
        .target(
            name: "LLMuxMetrics",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // Cost: the built-in price table (prices.toml, compiled in), cost
        // arithmetic and usage estimates.
        .target(
            name: "LLMuxCost",
            dependencies: [
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                "LLMuxConfig",
                "LLMuxLedger",
                "LLMuxWire",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            resources: [.embedInCode("prices.toml")],
            swiftSettings: swiftSettings
        ),
        // The usage ledger: SQLite through GRDB (WAL, migrations, batched writes).
        .target(
            name: "LLMuxLedger",
            dependencies: [
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Request engine: model resolution, one task per request, timeouts,
        // cancellation, turning upstream events into wire frames.
        .target(
            name: "LLMuxEngine",
            dependencies: [
                "LLMuxConcurrency",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                "LLMuxWire",
                "LLMuxCost",
                "LLMuxLedger",
                "LLMuxRouting",
                "LLMuxMetrics",
                "LLMuxUpstream",
                "LLMuxConfig",
                "LLMuxTelemetry",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Traces of requests and attempts with the GenAI semantic conventions, on any Tracer
        // (swift-distributed-tracing); the settings from [telemetry] and OTEL_* variables.
        .target(
            name: "LLMuxTelemetry",
            dependencies: [
                "LLMuxWire",
                "LLMuxConfig",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        // Configuration: TOML file, zero-config environment discovery, credentials.
        .target(
            name: "LLMuxConfig",
            dependencies: [
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // libsystemd (socket activation, sd_notify), from Debian's libsystemd-dev.
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // glibc's malloc.h (malloc_trim), which the Glibc module leaves out.
        .systemLibrary(name: "CMalloc"),
        // The hand-off from producers to one consumer task, used by every single-consumer queue.
        .target(
            name: "LLMuxConcurrency",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Daemon: Unix socket server, per-connection sessions, socket path rules.
        .target(
            name: "LLMuxDaemon",
            dependencies: [
                "LLMuxConcurrency",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                "LLMuxWire",
                "LLMuxEngine",
                "LLMuxConfig",
                "LLMuxUpstream",
                "LLMuxMockScript",
                "LLMuxHTTPFront",
                "LLMuxMetrics",
                "LLMuxLedger",
                "LLMuxCost",
                "LLMuxTelemetry",
                "CSystemd",
                .target(name: "CMalloc", condition: .when(platforms: [.linux])),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ] + otelTargetDependency,
            swiftSettings: swiftSettings + otelSettings
        ),
        // The OpenAI-compatible HTTP front (Hummingbird): chat completions streamed
        // as OpenAI chunks, models, health; runs requests on the same engine.
        .target(
            name: "LLMuxHTTPFront",
            dependencies: [
                "LLMuxConcurrency",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                "LLMuxWire",
                "LLMuxMetrics",
                "LLMuxEngine",
                "LLMuxCost",
                "LLMuxConfig",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Client library used by the CLI (and usable by other Swift clients).
        .target(
            name: "LLMuxClient",
            dependencies: [
                "LLMuxWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fuzzing: the invariants each fuzz target checks (NDJSON frame decoder, SSE parser,
        // OpenAI chunk and Anthropic event decoders), shared by Fuzz/ and the corpus replay test.
        .target(
            name: "LLMuxFuzzing",
            dependencies: [
                "LLMuxWire",
                "LLMuxUpstream",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Scripts for a scripted upstream (chunks, delays, faults, `mock:` model specs): values only,
        // played by the mock HTTP upstream and by the in-process demo provider.
        .target(
            name: "LLMuxMockScript",
            swiftSettings: swiftSettings
        ),
        // Test support: a scriptable OpenAI-compatible mock upstream with fault injection.
        .target(
            name: "LLMuxMockUpstream",
            dependencies: [
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                "LLMuxMockScript",
                "LLMuxWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Command-line conventions shared by the executables (usage exit status).
        .target(
            name: "LLMuxCommandLine",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // What `llmux setup` writes for each tool (claude-code, codex, aider, ...), and how it
        // merges that into a file the user already has.
        .target(
            name: "LLMuxSetup",
            dependencies: [
                "LLMuxConfig",
                "LLMuxWire",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: swiftSettings
        ),
        // `llmux doctor`: the config, the socket, the daemon, the systemd units, and each
        // provider's key and one cheap call to it.
        .target(
            name: "LLMuxDoctor",
            dependencies: [
                "LLMuxClient",
                "LLMuxConfig",
                "LLMuxUpstream",
                "LLMuxWire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "llmuxd",
            dependencies: [
                "LLMuxCommandLine",
                "LLMuxDaemon",
                "LLMuxConfig",
                "LLMuxTelemetry",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: daemonReleaseLinking
        ),
        .executableTarget(
            name: "llmux",
            dependencies: [
                "LLMuxClient",
                "LLMuxConfig",
                "LLMuxCost",
                "LLMuxLedger",
                "LLMuxSetup",
                "LLMuxDoctor",
                .product(name: "Logging", package: "swift-log"),
                "LLMuxCommandLine",
                "LLMuxWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: releaseLinking
        ),
        .executableTarget(
            name: "llmux-mock",
            dependencies: [
                "LLMuxMockUpstream",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: releaseLinking
        ),
        // Benchmarks: `swift run -c release llmux-bench` (README has the latest figures).
        .executableTarget(
            name: "llmux-bench",
            dependencies: [
                "LLMuxDaemon",
                "LLMuxClient",
                "LLMuxConfig",
                "LLMuxUpstream",
                "LLMuxMockUpstream",
                "LLMuxWire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: releaseLinking
        ),
        .testTarget(
            name: "LLMuxTests",
            dependencies: [
                "LLMuxConcurrency",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                "LLMuxWire",
                "LLMuxUpstream",
                "LLMuxEngine",
                "LLMuxRouting",
                "LLMuxCost",
                "LLMuxConfig",
                "LLMuxDaemon",
                "LLMuxClient",
                "LLMuxMockUpstream",
                "LLMuxFuzzing",
                "llmux",
                "llmuxd",
                "llmux-bench",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                "LLMuxHTTPFront",
                "LLMuxLedger",
                "LLMuxSetup",
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "GRDB", package: "GRDB.swift"),
                "LLMuxTelemetry",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            // Provider stream recordings, read from the source tree by ProviderFixtureTests.
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings + otelSettings
        ),
    ] + otelTargets,
    swiftLanguageModes: [.v6]
)
