import PluginAPI

extension EngineEvent {
    /// The event as one line of JSON: the replay output contract and the live event log.
    public var jsonLine: String { String(decoding: jsonBytes, as: UTF8.self) }

    /// The same line as UTF-8 bytes, without a line end.
    public var jsonBytes: [UInt8] {
        var bytes: [UInt8] = []
        appendJSON(to: &bytes)
        return bytes
    }

    /// Appends the line (without a line end) to `output`, building it in place.
    public func appendJSON(to output: inout [UInt8]) {
        var line = JSONLine(appendingTo: &output)
        defer { line.finish(into: &output) }
        switch self {
        case .flow(let e):
            line.add("timestamp", e.timestamp)
            line.add("event_type", "flow")
            line.add("proto", e.transport.description)
            line.add("src_ip", e.source.address)
            line.add("src_port", e.source.port)
            line.add("dest_ip", e.destination.address)
            line.add("dest_port", e.destination.port)
            line.add("app_proto", e.appProto)
            line.add("verdict", e.verdict.pastTense)
            line.add("reason", e.reason)
            line.add("pkts_toserver", e.packetsToServer)
            line.add("pkts_toclient", e.packetsToClient)
            line.add("bytes_toserver", e.bytesToServer)
            line.add("bytes_toclient", e.bytesToClient)
            line.add("dropped_pkts", e.droppedPackets)
            line.add("start", e.start)
            line.add("end", e.end)
            line.add("ending", e.ending)
        case .alert(let e):
            line.add("timestamp", e.timestamp)
            line.add("event_type", "alert")
            line.add("proto", e.transport.description)
            line.add("src_ip", e.source.address)
            line.add("src_port", e.source.port)
            line.add("dest_ip", e.destination.address)
            line.add("dest_port", e.destination.port)
            line.add("client", e.client)
            var alert = JSONLine()
            alert.add("plugin", e.plugin)
            alert.add("signature_id", e.signature)
            alert.add("action", e.action == .accept ? "alert" : e.action.pastTense)
            alert.add("verdict", e.verdict.pastTense)
            if !e.facts.isEmpty {
                alert.add("facts", pairs: e.facts.map { ($0.key, $0.value) })
            }
            line.add("alert", object: alert)
        case .learn(let e):
            line.add("timestamp", e.timestamp)
            line.add("event_type", "learn")
            line.add("ip", e.address.description)
            line.add("port", e.port)
            line.add("list", e.list)
            line.add("origin", e.origin)
            line.add("expiry", e.expires)
            line.add("refreshed", e.refreshed)
        case .lock(let e):
            line.add("timestamp", e.timestamp)
            line.add("event_type", "lock")
            line.add("client", e.client)
            line.add("until", e.until)
            line.add("reason", e.reason)
            line.add("rearmed", e.rearmed)
        case .unlock(let e):
            line.add("timestamp", e.timestamp)
            line.add("event_type", "unlock")
            line.add("client", e.client)
            line.add("until", e.timestamp)
            line.add("reason", e.reason)
            line.add("locked_at", e.lockedAt)
        case .inject(let e):
            line.add("timestamp", e.timestamp)
            line.add("event_type", "inject")
            line.add("kind", e.kind)
            line.add("plugin", e.plugin)
            line.add("proto", e.packet.transport.description)
            line.add("src_ip", e.packet.source.address)
            line.add("src_port", e.packet.source.port)
            line.add("dest_ip", e.packet.destination.address)
            line.add("dest_port", e.packet.destination.port)
            line.add("payload_len", e.packet.payload.count)
        case .stats(let e):
            line.add("timestamp", e.timestamp)
            line.add("event_type", "stats")
            var stats = JSONLine()
            stats.add("packets", e.packets)
            stats.add("malformed", e.malformed)
            stats.add("anomalies", counts: e.anomalies)
            stats.add("flows", e.flows)
            stats.add("flows_evicted", e.flowsEvicted)
            stats.add("drops", e.drops)
            stats.add("rejects", e.rejects)
            stats.add("would_drop", e.wouldDrop)
            stats.add("locks", e.locks)
            stats.add("learned", e.learned)
            stats.add("learn_refused", e.learnRefused)
            stats.add("injected", e.injected)
            stats.add("plugins", counts: e.perPlugin)
            stats.add("signatures", counts: e.perSignature)
            line.add("stats", object: stats)
        }
    }
}
