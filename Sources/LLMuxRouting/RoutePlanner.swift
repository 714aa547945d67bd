package import LLMuxConfig

/// Orders a route's targets for one request according to its strategy.
/// Availability (cooldowns, breakers) is checked later, target by target, at
/// the moment each would be tried.
package struct RoutePlanner: Sendable {
    package let board: TargetHealthBoard
    package let exploration: Double

    package init(board: TargetHealthBoard, exploration: Double) {
        self.board = board
        self.exploration = exploration
    }

    package func order(_ route: RouteConfig) -> [RouteTarget] {
        var generator = SystemRandomNumberGenerator()
        return self.order(route, using: &generator)
    }

    package func order(_ route: RouteConfig, using generator: inout some RandomNumberGenerator) -> [RouteTarget] {
        switch route.strategy {
        case .fallback, .hedge, .cost:
            // `cost` needs the request and the prices: the engine orders it.
            return route.targets
        case .weighted(let weights):
            return Self.weightedOrder(route.targets, weights: weights, using: &generator)
        case .latency:
            return self.latencyOrder(route.targets, using: &generator)
        }
    }

    /// Draws targets one by one without replacement, each with probability
    /// proportional to its weight; zero-weight targets come last, in order.
    static func weightedOrder(_ targets: [RouteTarget], weights: [Double], using generator: inout some RandomNumberGenerator) -> [RouteTarget] {
        var pool = Array(zip(targets, weights))
        var ordered: [RouteTarget] = []
        while let total = Optional(pool.reduce(0) { $0 + $1.1 }), total > 0 {
            var point = Double.random(in: 0..<total, using: &generator)
            var chosen = pool.count - 1
            for (index, entry) in pool.enumerated() where entry.1 > 0 {
                if point < entry.1 {
                    chosen = index
                    break
                }
                point -= entry.1
            }
            ordered.append(pool.remove(at: chosen).0)
        }
        return ordered + pool.map(\.0)
    }

    /// Fastest smoothed time to first token first; targets never measured
    /// count as fastest, so each gets tried. With probability `exploration`
    /// a random other target goes first, so a recovered target is noticed.
    func latencyOrder(_ targets: [RouteTarget], using generator: inout some RandomNumberGenerator) -> [RouteTarget] {
        var ordered = targets.enumerated()
            .map { (offset: $0.offset, target: $0.element, ttft: self.board.ewmaTTFTMs(of: $0.element) ?? -1) }
            .sorted { ($0.ttft, $0.offset) < ($1.ttft, $1.offset) }
            .map(\.target)
        if ordered.count > 1, self.exploration > 0, Double.random(in: 0..<1, using: &generator) < self.exploration {
            let pick = Int.random(in: 1..<ordered.count, using: &generator)
            ordered.insert(ordered.remove(at: pick), at: 0)
        }
        return ordered
    }
}
