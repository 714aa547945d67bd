/// A price from `[prices."provider/model"]` or `[prices."model"]` in the
/// config, in USD per million tokens. It replaces the built-in table's entry.
public struct PriceOverride: Sendable, Hashable {
    public var inputPerMillion: Double
    /// `nil`: cached prompt tokens cost as much as the others.
    public var cachedInputPerMillion: Double?
    public var outputPerMillion: Double
    /// `nil`: prompt tokens written to the cache cost as much as the others.
    public var cacheWritePerMillion: Double?
    /// `nil`: 1-hour cache writes cost as much as the other cache writes.
    public var cacheWrite1hPerMillion: Double?

    public init(
        inputPerMillion: Double,
        cachedInputPerMillion: Double? = nil,
        outputPerMillion: Double,
        cacheWritePerMillion: Double? = nil,
        cacheWrite1hPerMillion: Double? = nil
    ) {
        self.inputPerMillion = inputPerMillion
        self.cachedInputPerMillion = cachedInputPerMillion
        self.outputPerMillion = outputPerMillion
        self.cacheWritePerMillion = cacheWritePerMillion
        self.cacheWrite1hPerMillion = cacheWrite1hPerMillion
    }
}
