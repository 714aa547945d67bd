package import LLMuxConfig
import TOMLKit

/// USD per million tokens for one model.
package struct ModelPrice: Sendable, Hashable {
    package var inputPerMillion: Double
    package var cachedInputPerMillion: Double
    package var outputPerMillion: Double
    /// Prompt tokens written to the provider's cache (Anthropic's 5-minute cache).
    package var cacheWritePerMillion: Double
    /// Prompt tokens written to the 1-hour cache.
    package var cacheWrite1hPerMillion: Double

    /// A missing cached price is the input price (no discount); a missing cache-write price is
    /// the input price too, and a missing 1-hour one the cache-write price.
    package init(
        inputPerMillion: Double,
        cachedInputPerMillion: Double? = nil,
        outputPerMillion: Double,
        cacheWritePerMillion: Double? = nil,
        cacheWrite1hPerMillion: Double? = nil
    ) {
        self.inputPerMillion = inputPerMillion
        self.cachedInputPerMillion = cachedInputPerMillion ?? inputPerMillion
        self.outputPerMillion = outputPerMillion
        self.cacheWritePerMillion = cacheWritePerMillion ?? inputPerMillion
        self.cacheWrite1hPerMillion = cacheWrite1hPerMillion ?? cacheWritePerMillion ?? inputPerMillion
    }

    /// The most one prompt token can cost, for worst-case reservations.
    package var dearestPromptPerMillion: Double {
        max(self.inputPerMillion, self.cachedInputPerMillion, self.cacheWritePerMillion, self.cacheWrite1hPerMillion)
    }
}

/// The prices llmux charges requests at: the built-in table (`prices.toml`,
/// compiled into the binary) under the config's `[prices]` overrides.
package struct PriceTable: Sendable {
    /// When the built-in prices were taken from the providers' pages.
    package let taken: String
    private let sections: [String: [String: ModelPrice]]
    private let overrides: [String: ModelPrice]

    package init(overrides: [String: PriceOverride] = [:]) {
        let builtIn = Self.builtIn
        self.taken = builtIn.taken
        self.sections = builtIn.sections
        self.overrides = overrides.mapValues {
            ModelPrice(
                inputPerMillion: $0.inputPerMillion,
                cachedInputPerMillion: $0.cachedInputPerMillion,
                outputPerMillion: $0.outputPerMillion,
                cacheWritePerMillion: $0.cacheWritePerMillion,
                cacheWrite1hPerMillion: $0.cacheWrite1hPerMillion
            )
        }
    }

    /// The price of `model` at `provider`: a config override for
    /// `provider/model`, then for `model`; the table's section named like the
    /// provider, then any section. Exact ids win over the undated prefix of a
    /// dated id (`gpt-4o-2024-08-06` is priced as `gpt-4o`).
    package func price(provider: String, model: String) -> ModelPrice? {
        if let exact = self.overrides["\(provider)/\(model)"] ?? self.overrides[model] { return exact }
        if let section = self.sections[provider], let price = Self.lookup(model, in: section) { return price }
        for name in self.sections.keys.sorted() where name != provider {
            if let price = Self.lookup(model, in: self.sections[name]!) { return price }
        }
        return nil
    }

    /// Exact id, else the longest entry that `model` extends with a version:
    /// `-` then a digit (`-2024-08-06`, `-20241022`, `-001`) or `-latest`. Any
    /// other suffix names a different model (`gpt-4o-mini` is not `gpt-4o`).
    static func lookup(_ model: String, in entries: [String: ModelPrice]) -> ModelPrice? {
        if let exact = entries[model] { return exact }
        var best: (length: Int, price: ModelPrice)?
        for (id, price) in entries where model.hasPrefix(id + "-") && id.count > (best?.length ?? 0) {
            let suffix = model.dropFirst(id.count + 1)
            guard suffix.first?.isNumber == true || suffix == "latest" else { continue }
            best = (id.count, price)
        }
        return best?.price
    }

    // MARK: - The built-in table

    struct Parsed: Sendable {
        var taken: String
        var sections: [String: [String: ModelPrice]]
    }

    /// `prices.toml`, parsed once. A malformed file is a build defect, caught by the tests.
    static let builtIn: Parsed = {
        let text = String(decoding: PackageResources.prices_toml, as: UTF8.self)
        do {
            return try Self.parse(text)
        } catch {
            preconditionFailure("the built-in prices.toml is malformed: \(error)")
        }
    }()

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ text: String) throws -> Parsed {
        let root = try TOMLTable(string: text)
        guard let taken = root["taken"]?.string else { throw Malformed(description: "missing 'taken'") }
        var sections: [String: [String: ModelPrice]] = [:]
        for name in root.keys where name != "taken" && name != "source" {
            guard let section = root[name]?.table else { throw Malformed(description: "'\(name)' is not a table") }
            var entries: [String: ModelPrice] = [:]
            for model in section.keys {
                guard let entry = section[model]?.table,
                    let input = entry["input"].flatMap({ $0.double ?? $0.int.map(Double.init) }),
                    let output = entry["output"].flatMap({ $0.double ?? $0.int.map(Double.init) })
                else {
                    throw Malformed(description: "\(name).\(model) needs input and output")
                }
                func number(_ key: String) -> Double? { entry[key].flatMap { $0.double ?? $0.int.map(Double.init) } }
                entries[model] = ModelPrice(
                    inputPerMillion: input,
                    cachedInputPerMillion: number("cached_input"),
                    outputPerMillion: output,
                    cacheWritePerMillion: number("cache_write"),
                    cacheWrite1hPerMillion: number("cache_write_1h")
                )
            }
            sections[name] = entries
        }
        return Parsed(taken: taken, sections: sections)
    }
}
