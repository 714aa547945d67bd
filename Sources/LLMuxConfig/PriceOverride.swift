/// A price from `[prices."provider/model"]` or `[prices."model"]` in the
/// config, in USD per million tokens. It replaces the built-in table's entry.
package struct PriceOverride: Sendable, Hashable {
    package var inputPerMillion: Double
    /// `nil`: cached prompt tokens cost as much as the others.
    package var cachedInputPerMillion: Double?
    package var outputPerMillion: Double
    /// `nil`: prompt tokens written to the cache cost as much as the others.
    package var cacheWritePerMillion: Double?
    /// `nil`: 1-hour cache writes cost as much as the other cache writes.
    package var cacheWrite1hPerMillion: Double?

    package init(
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
