import PluginAPI

/// Collects a replay's events into a short human summary: what each plugin found, which
/// clients were locked, and the flows that lost the most packets.
public final class TextSummarySink: EngineEventSink {
    private var findings: [String: [String: Int]] = [:]
    private var locks: [IPAddress: (count: Int, reasons: Set<String>)] = [:]
    private var dropped: [FlowEvent] = []
    private var flows = 0
    private var droppedFlows = 0
    private var learned: [String: Int] = [:]
    private var injected: [String: Int] = [:]
    private var stats: StatsEvent?

    public init() {}

    public func emit(_ event: EngineEvent) {
        switch event {
        case .flow(let e):
            flows += 1
            if e.droppedPackets > 0 {
                droppedFlows += 1
                dropped.append(e)
            }
        case .alert(let e):
            findings[e.plugin, default: [:]][e.signature, default: 0] += 1
        case .learn(let e):
            if !e.refreshed { learned[e.list, default: 0] += 1 }
        case .lock(let e):
            var entry = locks[e.client] ?? (0, [])
            if !e.rearmed { entry.count += 1 }
            entry.reasons.insert(e.reason)
            locks[e.client] = entry
        case .inject(let e):
            injected[e.kind, default: 0] += 1
        case .unlock:
            break
        case .stats(let e):
            stats = e
        }
    }

    /// The summary text; `top` bounds the list of dropped flows.
    public func render(top: Int = 10) -> String {
        var out: [String] = []
        if let stats {
            out.append("packets: \(stats.packets)  flows: \(flows)  dropped packets: \(stats.drops)  dropped flows: \(droppedFlows)  malformed: \(stats.malformed)")
            if stats.wouldDrop > 0 { out.append("monitor-only: \(stats.wouldDrop) packets would have been dropped") }
        }
        out.append("")
        out.append("Findings by plugin:")
        if findings.isEmpty { out.append("  none") }
        for plugin in findings.keys.sorted() {
            let signatures = findings[plugin] ?? [:]
            out.append("  \(plugin): \(signatures.values.reduce(0, +))")
            for (id, count) in signatures.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
                out.append("    \(id): \(count)")
            }
        }
        if !learned.isEmpty {
            out.append("")
            out.append("Learned addresses: " + learned.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        if !injected.isEmpty {
            out.append("Packets sent: " + injected.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        out.append("")
        out.append("Clients locked:")
        if locks.isEmpty { out.append("  none") }
        for (client, entry) in locks.sorted(by: { $0.key < $1.key }) {
            out.append("  \(client): \(entry.count) lock(s), \(entry.reasons.sorted().joined(separator: ", "))")
        }
        out.append("")
        out.append("Top dropped flows:")
        if dropped.isEmpty { out.append("  none") }
        let ranked = dropped.sorted {
            $0.droppedPackets != $1.droppedPackets ? $0.droppedPackets > $1.droppedPackets : $0.start < $1.start
        }
        for flow in ranked.prefix(top) {
            out.append("  \(flow.transport) \(flow.source) -> \(flow.destination)  \(flow.appProto ?? "-")  \(flow.reason ?? "-")  dropped \(flow.droppedPackets)/\(flow.packetsToServer + flow.packetsToClient)")
        }
        return out.joined(separator: "\n")
    }
}
