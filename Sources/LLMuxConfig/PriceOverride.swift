/// A price from `[prices."provider/model"]` or `[prices."model"]` in the
/// config, in USD per million tokens. It replaces the built-in table's entry.
public struct PriceOverride: Sendable, Hashable {
    public var inputPerMillion: Double
    /// `nil`: cached prompt tokens cost as much as the others.
    public var cachedInputPerMillion: Double?
    public var outputPerMillion: Double

    public init(inputPerMillion: Double, cachedInputPerMillion: Double? = nil, outputPerMillion: Double) {
        self.inputPerMillion = inputPerMillion
        self.cachedInputPerMillion = cachedInputPerMillion
        self.outputPerMillion = outputPerMillion
    }
}
