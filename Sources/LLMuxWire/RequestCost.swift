/// What a request cost, as the terminal frame reports it.
public struct RequestCost: Sendable, Hashable {
    /// US dollars; `nil` when the model has no known price (`price_unknown`).
    public var usd: Double?
    /// The token counts behind it were estimated (the upstream reported no
    /// usage, or the stream was cut before its usage chunk).
    public var estimated: Bool

    public init(usd: Double?, estimated: Bool) {
        self.usd = usd
        self.estimated = estimated
    }

    public var priceUnknown: Bool { self.usd == nil }
}
