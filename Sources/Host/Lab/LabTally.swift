/// What the daemon's event log said during a lab run, counted per LAN client.
public struct LabTally: Sendable {
    public struct LockSpan: Sendable {
        public var start: Double
        public var end: Double?
        public var rearms = 0
    }

    /// Alerts by client, then signature id.
    public private(set) var alerts: [String: [String: Int]] = [:]
    /// Lock spans by client, in order.
    public private(set) var locks: [String: [LockSpan]] = [:]
    /// Injected packets by destination address, then kind ("reply", "probe", "reset").
    public private(set) var injected: [String: [String: Int]] = [:]
    /// Dropped (or rejected) flows by originator address, then reason.
    public private(set) var droppedFlows: [String: [String: Int]] = [:]
    /// Dropped packets by originator address.
    public private(set) var droppedPackets: [String: Int] = [:]
    /// Lock probes the daemon saw answered, by client.
    public private(set) var probeAnswers: [String: Int] = [:]
    /// Learned ip[:port] entries, in order.
    public private(set) var learned: [String] = []
    public private(set) var events = 0

    public init() {}

    public mutating func add(_ event: DaemonEvent) {
        events += 1
        switch event.eventType {
        case "alert":
            guard let client = event.client, let signature = event.alert?.signatureID else { return }
            alerts[client, default: [:]][signature, default: 0] += 1
            if event.alert?.facts?["probe_answer"] == "true" { probeAnswers[client, default: 0] += 1 }
        case "lock":
            guard let client = event.client else { return }
            if event.rearmed == true, var spans = locks[client], let last = spans.indices.last, spans[last].end == nil {
                spans[last].rearms += 1
                locks[client] = spans
            } else {
                locks[client, default: []].append(LockSpan(start: event.time))
            }
        case "unlock":
            guard let client = event.client, var spans = locks[client], let last = spans.indices.last, spans[last].end == nil else { return }
            spans[last].end = event.time
            locks[client] = spans
        case "inject":
            if let destination = event.destinationIP, let kind = event.kind { injected[destination, default: [:]][kind, default: 0] += 1 }
        case "flow":
            guard event.verdict == "dropped" || event.verdict == "rejected", let source = event.sourceIP else { return }
            droppedFlows[source, default: [:]][event.reason ?? "?", default: 0] += 1
            droppedPackets[source, default: 0] += event.droppedPackets ?? 0
        case "learn":
            if event.refreshed != true, let ip = event.ip { learned.append(LabText.endpoint(ip, event.port)) }
        default:
            break
        }
    }

    /// Whether `client` was locked at `time` (seconds since 1970).
    public func isLocked(_ client: String, at time: Double) -> Bool {
        (locks[client] ?? []).contains { $0.start <= time && ($0.end.map { time < $0 } ?? true) }
    }

    /// When `client`'s first lock began, or nil.
    public func firstLock(_ client: String) -> Double? { locks[client]?.first?.start }

    /// Seconds `client` spent locked up to `now`.
    public func lockedSeconds(_ client: String, now: Double) -> Double {
        (locks[client] ?? []).reduce(0) { $0 + (($1.end ?? now) - $1.start) }
    }
}
