import Core
import Foundation

/// Gateway settings read from the environment: providers declared with `LLM_PROVIDERS` and browser-like headers.
/// Like `AppConfig`, every problem is collected before failing.
public struct GatewayEnvironment: Sendable {
    public var providers: [ProviderSettings]
    /// Extra headers sent to every upstream when `MASK_AS_BROWSER=true`.
    public var browserHeaders: [String: String]
    public var breaker: BreakerSettings
    /// How long an `X-Session-Id` keeps its upstream after its last use.
    public var stickyTTL: Duration
    public var healthProbes: HealthProbeSettings
    public var routing: RoutingSettings

    public init(
        providers: [ProviderSettings] = [], browserHeaders: [String: String] = [:], breaker: BreakerSettings = BreakerSettings(),
        stickyTTL: Duration = .seconds(7200), healthProbes: HealthProbeSettings = HealthProbeSettings(), routing: RoutingSettings = RoutingSettings()
    ) {
        self.providers = providers
        self.browserHeaders = browserHeaders
        self.breaker = breaker
        self.stickyTTL = stickyTTL
        self.healthProbes = healthProbes
        self.routing = routing
    }

    public static func load(from env: [String: String]) throws(ConfigError) -> GatewayEnvironment {
        var problems: [String] = []
        var providers: [ProviderSettings] = []
        let ids = (env["LLM_PROVIDERS"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var seen = Set<String>()
        for id in ids {
            guard seen.insert(id.lowercased()).inserted else {
                problems.append("LLM_PROVIDERS: '\(id)' is listed twice")
                continue
            }
            if let provider = EnvProviderReader(id: id, env: env).read(into: &problems) { providers.append(provider) }
        }
        var browser: [String: String] = [:]
        if ["1", "true", "yes"].contains((env["MASK_AS_BROWSER"] ?? "").lowercased()) {
            browser["user-agent"] = env["MASK_USER_AGENT"] ?? Self.defaultUserAgent
            if let origin = env["MASK_ORIGIN"], !origin.isEmpty { browser["origin"] = origin }
            if let referer = env["MASK_REFERER"], !referer.isEmpty { browser["referer"] = referer }
        }
        let breaker = BreakerSettings.read(env, into: &problems)
        let sticky = EnvInteger.read(env, "AIHIGRESS_STICKY_SESSION_TTL_SECONDS", default: 7200, 1...604_800, into: &problems)
        let healthProbes = HealthProbeSettings.read(env, into: &problems)
        let routing = RoutingSettings.read(env, into: &problems)
        if !problems.isEmpty { throw ConfigError(problems: problems) }
        return GatewayEnvironment(
            providers: providers, browserHeaders: browser, breaker: breaker, stickyTTL: .seconds(sticky), healthProbes: healthProbes,
            routing: routing
        )
    }

    static let defaultUserAgent =
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
}

/// Reads `LLM_PROVIDER_{id}_*` for one provider.
struct EnvProviderReader {
    let id: String
    let env: [String: String]

    private func value(_ suffix: String) -> String? {
        let v = env["LLM_PROVIDER_\(id)_\(suffix)"]?.trimmingCharacters(in: .whitespaces)
        return (v?.isEmpty ?? true) ? nil : v
    }

    private func name(_ suffix: String) -> String { "LLM_PROVIDER_\(id)_\(suffix)" }

    func read(into problems: inout [String]) -> ProviderSettings? {
        let before = problems.count
        let slug = id.lowercased()
        if slug.range(of: "^[a-z0-9][a-z0-9_-]{0,62}$", options: .regularExpression) == nil {
            problems.append("LLM_PROVIDERS: provider id '\(id)' must be letters, digits, '-' or '_'")
        }
        let baseURL = value("BASE_URL")
        if baseURL == nil {
            problems.append("\(name("BASE_URL")): required for provider '\(id)'")
        } else if let url = URL(string: baseURL!), ["http", "https"].contains(url.scheme ?? ""), url.host != nil {
        } else {
            problems.append("\(name("BASE_URL")): must be an http(s) URL")
        }
        let secrets = (value("API_KEY") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if secrets.isEmpty { problems.append("\(name("API_KEY")): required for provider '\(id)' (comma-separated for several keys)") }
        var kind = ProviderKind.openai
        if let text = value("KIND") {
            if let k = ProviderKind(rawValue: text.lowercased()) { kind = k } else {
                problems.append("\(name("KIND")): expected openai|anthropic|gemini, got '\(text)'")
            }
        }
        var weight = 1.0
        if let text = value("WEIGHT") {
            if let w = Double(text), w > 0, w.isFinite { weight = w } else { problems.append("\(name("WEIGHT")): expected a positive number") }
        }
        var billingFactor = 10_000
        if let text = value("BILLING_FACTOR") {
            // Four decimals at most, read exactly (no floating point for money).
            if let factor = Credits(parsing: text), factor.micros > 0, factor.micros % 100 == 0, factor.micros <= 100 * Credits.microPerCredit {
                billingFactor = Int(factor.micros / 100)
            } else {
                problems.append("\(name("BILLING_FACTOR")): expected a factor such as 1.2 (up to 4 decimals, at most 100)")
            }
        }
        var maxQPS: Int?
        if let text = value("MAX_QPS") {
            if let q = Int(text), q > 0 { maxQPS = q } else { problems.append("\(name("MAX_QPS")): expected a positive integer") }
        }
        var keyQPS: Int?
        if let text = value("KEY_MAX_QPS") {
            if let q = Int(text), q > 0 { keyQPS = q } else { problems.append("\(name("KEY_MAX_QPS")): expected a positive integer") }
        }
        var retryable = ProviderSettings.defaultRetryable
        if let text = value("RETRYABLE_STATUS_CODES") {
            if let codes = StatusCodeList.parse(text) { retryable = codes } else {
                problems.append("\(name("RETRYABLE_STATUS_CODES")): expected codes and ranges like 429,500,502-504")
            }
        }
        var headers: [String: String] = [:]
        if let text = value("HEADERS") {
            if case .object(let o)? = try? JSONText.parse(Array(text.utf8)), o.values.allSatisfy({ $0.stringValue != nil }) {
                for (k, v) in o { headers[k.lowercased()] = v.stringValue! }
            } else {
                problems.append("\(name("HEADERS")): expected a JSON object of string values")
            }
        }
        var aliases: [String: String] = [:]
        if let text = value("MODEL_ALIASES") {
            for pair in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !pair.isEmpty {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !parts[0].contains("/") { aliases[parts[0]] = parts[1] } else {
                    problems.append("\(name("MODEL_ALIASES")): expected alias=model pairs separated by commas (an alias has no '/'), got '\(pair)'")
                }
            }
        }
        let timeouts = ["CONNECT_TIMEOUT": 10.0, "FIRST_BYTE_TIMEOUT": 120.0, "READ_TIMEOUT": 300.0].mapValues { Duration.seconds($0) }
        var resolved: [String: Duration] = timeouts
        for (suffix, _) in timeouts {
            if let text = value(suffix) {
                if let s = Double(text), s > 0, s <= 3600 { resolved[suffix] = .milliseconds(Int64(s * 1000)) } else {
                    problems.append("\(name(suffix)): expected seconds between 0 and 3600")
                }
            }
        }
        for suffix in ["CHAT_PATH", "RESPONSES_PATH", "MESSAGES_PATH", "EMBEDDINGS_PATH", "IMAGES_PATH", "MODELS_PATH"] {
            if let path = value(suffix), !path.hasPrefix("/") { problems.append("\(name(suffix)): must start with '/'") }
        }
        guard problems.count == before, let baseURL else { return nil }
        let models = value("MODELS").map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        let isOpenAI = URL(string: baseURL)?.host == "api.openai.com"
        return ProviderSettings(
            id: "",
            slug: slug,
            name: value("NAME") ?? id,
            kind: kind,
            baseURL: baseURL,
            ownerOrgId: nil,
            status: "active",
            approval: "approved",
            weight: weight,
            region: value("REGION"),
            modelsPath: value("MODELS_PATH") ?? kind.defaultModelsPath,
            staticModels: models,
            maxQPS: maxQPS,
            retryableStatusCodes: retryable,
            extraHeaders: headers,
            authHeader: value("AUTH_HEADER")?.lowercased() ?? kind.defaultAuthHeader,
            chatPath: value("CHAT_PATH") ?? "/v1/chat/completions",
            responsesPath: value("RESPONSES_PATH") ?? (kind == .openai && isOpenAI ? "/v1/responses" : nil),
            messagesPath: value("MESSAGES_PATH") ?? "/v1/messages",
            embeddingsPath: value("EMBEDDINGS_PATH") ?? "/v1/embeddings",
            imagesPath: value("IMAGES_PATH") ?? "/v1/images/generations",
            connectTimeout: resolved["CONNECT_TIMEOUT"]!,
            firstByteTimeout: resolved["FIRST_BYTE_TIMEOUT"]!,
            readTimeout: resolved["READ_TIMEOUT"]!,
            keys: secrets.enumerated().map { UpstreamKey(id: "", label: "env-\($0.offset + 1)", secret: $0.element, maxQPS: keyQPS) },
            billingFactorBasisPoints: billingFactor,
            modelAliases: aliases
        )
    }
}

/// `429,500,502-504` ⇄ a set of status codes.
public enum StatusCodeList {
    public static func parse(_ text: String) -> Set<Int>? {
        var codes = Set<Int>()
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            let bounds = part.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard (1...2).contains(bounds.count), let low = bounds[0], let high = bounds.last!, (100...599).contains(low),
                (100...599).contains(high), low <= high
            else { return nil }
            codes.formUnion(low...high)
        }
        return codes.isEmpty ? nil : codes
    }
}
