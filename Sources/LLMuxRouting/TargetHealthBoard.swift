package import LLMuxConfig
package import LLMuxWire
import NIOConcurrencyHelpers

/// What the daemon has learned about every provider/model target, shared by
/// all its clients: Retry-After cooldowns, circuit breakers, time to first
/// token, and recent errors.
///
/// A cooldown set by one client's 429 makes every other client skip that
/// target until it ends; a breaker opened by failures in one request keeps
/// all requests off the target until it half-opens and one probe succeeds.
package final class TargetHealthBoard: Sendable {
    /// Whether a target may be tried now.
    package enum Availability: Sendable, Hashable {
        case available
        /// Rate limited by the upstream until `until`.
        case coolingDown(until: ContinuousClock.Instant)
        /// The breaker is open (or half-open with its probe running) until `until`.
        case circuitOpen(until: ContinuousClock.Instant)
    }

    /// How an attempt on a target ended, as far as the target's health goes.
    package enum Report: Sendable {
        /// It produced its first token after `ttft` (measured from the attempt's start).
        case firstToken(ttft: Duration)
        /// It completed.
        case success
        /// The target failed (connect, timeout, 5xx, broken stream).
        case failure
        /// The upstream asked to be left alone for `retryAfterMs`.
        case rateLimited(retryAfterMs: Int)
        /// It ended without saying anything about the target's health (client
        /// error, cancellation, a lost hedge race). Releases a half-open probe.
        case neutral
    }

    private enum Breaker: Sendable {
        case closed
        case open(until: ContinuousClock.Instant)
        case halfOpen(probing: Bool)
    }

    private struct Entry: Sendable {
        var consecutiveFailures = 0
        var breaker = Breaker.closed
        var cooldownUntil: ContinuousClock.Instant?
        var ewmaTTFTMs: Double?
        var recentErrors: [ContinuousClock.Instant] = []
        var successes = 0
        var failures = 0
    }

    /// Weight of the newest sample in the time-to-first-token average.
    static let ewmaWeight = 0.3
    /// The slowest a failing target can look to the latency strategy: one hour.
    static let maxFailurePenaltyMs = 3_600_000.0
    /// How far back `recentErrors` looks.
    static let errorWindow: Duration = .seconds(300)

    private let settings: NIOLockedValueBox<RouterConfig>
    private let entries = NIOLockedValueBox<[RouteTarget: Entry]>([:])

    package init(settings: RouterConfig) {
        self.settings = NIOLockedValueBox(settings)
    }

    /// New `[router]` settings (after a reload); what was learned is kept.
    package func update(settings: RouterConfig) {
        self.settings.withLockedValue { $0 = settings }
    }

    /// Forgets what was learned about the targets of `providers` (their config changed).
    package func forget(providers: Set<String>) {
        self.entries.withLockedValue { entries in
            for key in entries.keys where providers.contains(key.provider) { entries[key] = nil }
        }
    }

    /// Whether `target` may be tried now, without claiming it.
    package func availability(of target: RouteTarget, now: ContinuousClock.Instant = .now) -> Availability {
        self.entries.withLockedValue { entries in
            guard var entry = entries[target] else { return .available }
            let result = Self.availability(&entry, now: now, claim: false)
            entries[target] = entry
            return result
        }
    }

    /// Claims `target` for one attempt. A half-open breaker lets exactly one
    /// claim through (the probe) until that attempt reports back.
    package func claim(_ target: RouteTarget, now: ContinuousClock.Instant = .now) -> Availability {
        self.entries.withLockedValue { entries in
            var entry = entries[target] ?? Entry()
            let result = Self.availability(&entry, now: now, claim: true)
            entries[target] = entry
            return result
        }
    }

    private static func availability(_ entry: inout Entry, now: ContinuousClock.Instant, claim: Bool) -> Availability {
        if let until = entry.cooldownUntil {
            if until > now { return .coolingDown(until: until) }
            entry.cooldownUntil = nil
        }
        switch entry.breaker {
        case .closed:
            return .available
        case .open(let until):
            if until > now { return .circuitOpen(until: until) }
            entry.breaker = .halfOpen(probing: claim)
            return .available
        case .halfOpen(let probing):
            // The probe's own timeouts bound how long it runs; others wait a moment.
            if probing { return .circuitOpen(until: now + .seconds(1)) }
            if claim { entry.breaker = .halfOpen(probing: true) }
            return .available
        }
    }

    package func report(_ report: Report, for target: RouteTarget, now: ContinuousClock.Instant = .now) {
        let settings = self.settings.withLockedValue { $0 }
        self.entries.withLockedValue { entries in
            var entry = entries[target] ?? Entry()
            switch report {
            case .firstToken(let ttft):
                let ms = Double(ttft.components.seconds) * 1000 + Double(ttft.components.attoseconds) / 1e15
                entry.ewmaTTFTMs = entry.ewmaTTFTMs.map { $0 + Self.ewmaWeight * (ms - $0) } ?? ms
                Self.healthy(&entry)
            case .success:
                entry.successes += 1
                Self.healthy(&entry)
            case .failure:
                entry.failures += 1
                entry.consecutiveFailures += 1
                // Only the last `errorWindow` counts: older errors are dropped here, so a target
                // failing for days keeps a bounded list.
                if let kept = entry.recentErrors.firstIndex(where: { now - $0 <= Self.errorWindow }) {
                    entry.recentErrors.removeFirst(kept)
                } else {
                    entry.recentErrors.removeAll()
                }
                entry.recentErrors.append(now)
                // A failing target looks slow to the latency strategy until it answers again; the
                // penalty doubles per failure up to a cap, which keeps it finite for `status`.
                entry.ewmaTTFTMs = min(max((entry.ewmaTTFTMs ?? 0) * 2, 1_000), Self.maxFailurePenaltyMs)
                switch entry.breaker {
                case .halfOpen:
                    entry.breaker = .open(until: now + .milliseconds(settings.breakerOpenMs))
                case .closed where entry.consecutiveFailures >= settings.breakerFailures:
                    entry.breaker = .open(until: now + .milliseconds(settings.breakerOpenMs))
                case .closed, .open:
                    break
                }
            case .rateLimited(let retryAfterMs):
                entry.failures += 1
                entry.recentErrors.append(now)
                let until = now + .milliseconds(retryAfterMs > 0 ? retryAfterMs : settings.defaultCooldownMs)
                entry.cooldownUntil = max(entry.cooldownUntil ?? until, until)
                if case .halfOpen = entry.breaker { entry.breaker = .halfOpen(probing: false) }
            case .neutral:
                if case .halfOpen = entry.breaker { entry.breaker = .halfOpen(probing: false) }
            }
            entry.recentErrors.removeAll { now - $0 > Self.errorWindow }
            entries[target] = entry
        }
    }

    private static func healthy(_ entry: inout Entry) {
        entry.consecutiveFailures = 0
        entry.breaker = .closed
    }

    /// The smoothed time to first token, in milliseconds; `nil` before any sample.
    package func ewmaTTFTMs(of target: RouteTarget) -> Double? {
        self.entries.withLockedValue { $0[target]?.ewmaTTFTMs }
    }

    package func snapshot(now: ContinuousClock.Instant = .now) -> [TargetHealthInfo] {
        return self.entries.withLockedValue { entries in
            entries.map { target, entry in
                var state = "ok"
                var retryIn: Int?
                if let until = entry.cooldownUntil, until > now {
                    state = "cooldown"
                    retryIn = (until - now).wholeMilliseconds
                }
                switch entry.breaker {
                case .closed: break
                case .open(let until) where until > now:
                    state = "open"
                    retryIn = max(retryIn ?? 0, (until - now).wholeMilliseconds)
                case .open, .halfOpen:
                    if state == "ok" { state = "half_open" }
                }
                return TargetHealthInfo(
                    target: target.description,
                    state: state,
                    retryInMs: retryIn,
                    ewmaTTFTMs: entry.ewmaTTFTMs.map { Int($0.rounded()) },
                    recentErrors: entry.recentErrors.filter { now - $0 <= Self.errorWindow }.count,
                    successes: entry.successes,
                    failures: entry.failures
                )
            }.sorted { $0.target < $1.target }
        }
    }
}
